"""Accuracy metrics and the rolling-origin evaluation, against hand-worked values."""

import numpy as np
import pytest

from elastic.errors import ParameterError
from elastic.forecast import LastValue, SeasonalNaive, mae, mase, rolling_origin, smape


@pytest.mark.parametrize(
    ("metric", "args", "expected"),
    [
        pytest.param(mae, ([1.0, 2.0, 4.0], [2.0, 2.0, 1.0]), 4 / 3, id="MAE: (1 + 0 + 3) / 3"),
        pytest.param(smape, ([100.0], [50.0]), 100 * 2 * 50 / 150, id="sMAPE: 2|e| / (|a| + |p|)"),
        pytest.param(smape, ([0.0, 10.0], [0.0, 10.0]), 0.0, id="sMAPE: 0/0 counts as exact"),
        pytest.param(smape, ([0.0], [5.0]), 200.0, id="sMAPE: its upper bound"),
        pytest.param(
            mase,
            ([5.0, 7.0], [6.0, 6.0], [1.0, 2.0, 4.0, 5.0]),
            1.0 / (4 / 3),
            id="MASE: MAE 1 over the naive in-sample MAE 4/3",
        ),
        pytest.param(
            lambda a, p, t: mase(a, p, t, period=2),
            ([5.0], [3.0], [1.0, 2.0, 4.0, 6.0]),
            2.0 / 3.5,
            id="MASE, seasonal: in-sample |4-1|, |6-2|",
        ),
    ],
)
def test_metrics_by_hand(metric, args, expected):
    assert metric(*args) == pytest.approx(expected)


def test_rolling_origin_by_hand():
    y = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0]
    run = rolling_origin(LastValue(), y, horizon=2, initial=2, every=2, level=(80,))
    # origins 2 and 4: forecasts 3 (last of [1, 3]) and 5 (last of [.., 5])
    assert run.origins.tolist() == [2.0, 4.0]
    assert run.forecasts.tolist() == [[3.0, 3.0], [5.0, 5.0]]
    assert run.actuals.tolist() == [[2.0, 5.0], [4.0, 6.0]]
    assert run.mae().tolist() == [1.0, 1.5]
    assert run.mase().tolist() == pytest.approx([1.0 / 2.0, 1.5 / 2.0])  # naive MAE of [1, 3]: 2
    assert run.coverage().shape == (1, 2)


def test_rolling_origin_does_not_touch_the_forecaster():
    model = SeasonalNaive(period=2)
    rolling_origin(model, np.arange(10.0), horizon=2, initial=4)
    assert model.n_ == 0


def test_rolling_origin_needs_a_horizon_of_actuals():
    with pytest.raises(ParameterError, match="initial=5"):
        rolling_origin(LastValue(), [1.0] * 6, horizon=2, initial=5)
