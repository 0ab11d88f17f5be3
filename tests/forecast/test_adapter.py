"""The adapter runs models of other libraries: statsmodels for real, and the statsforecast shape."""

import numpy as np
import pytest

from elastic.errors import ForecastError, ParameterError
from elastic.forecast import External

holtwinters = pytest.importorskip("statsmodels.tsa.holtwinters")


def statsmodels_holt_winters(y, h):
    fitted = holtwinters.ExponentialSmoothing(
        y, trend="add", seasonal="add", seasonal_periods=24
    ).fit()
    return fitted.forecast(h)


def hourly(n=24 * 6, seed=0):
    rng = np.random.default_rng(seed)
    return 100 + 30 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, 2, n)


def test_a_statsmodels_function_forecasts_as_it_would_alone():
    y = hourly()
    f = External(statsmodels_holt_winters, min_samples=48, refit_every=12).fit(y[:-1])
    f.learn_one(float(y[-1]))
    np.testing.assert_allclose(f.forecast(6).mean, statsmodels_holt_winters(y, 6))
    out = f.forecast(6, level=(90,))  # no intervals from a function: normal, from its errors
    assert np.all(out.upper[0] > out.mean)


class StatsforecastShaped:
    """fit(y) / predict(h, level=[...]) returning a dict, as statsforecast models do."""

    def fit(self, y):
        self.last_ = float(y[-1])
        return self

    def predict(self, h, level=None):
        out = {"mean": np.full(h, self.last_)}
        for lv in level or []:
            out[f"lo-{lv}"], out[f"hi-{lv}"] = out["mean"] - lv, out["mean"] + lv
        return out


def test_an_object_model_is_refitted_and_its_intervals_are_used():
    f = External(StatsforecastShaped(), refit_every=2).fit([1.0, 2.0, 3.0])
    assert f.model.last_ == 2.0  # fitted at 2 values, refitted every 2
    f.learn_one(4.0)
    out = f.forecast(2, level=(80,))
    assert out.mean.tolist() == [4.0, 4.0]
    assert out.lower[0].tolist() == [-76.0, -76.0] and out.upper[0].tolist() == [84.0, 84.0]


def test_failures_of_the_model_are_forecast_errors():
    def broken(y, h):
        raise RuntimeError("singular matrix")

    with pytest.raises(ForecastError, match="singular matrix"):
        External(broken).fit([1.0, 2.0, 3.0]).forecast(1)
    with pytest.raises(ForecastError, match="expected 3 finite numbers"):
        External(lambda y, h: [1.0]).fit([1.0, 2.0]).forecast(3)


def test_a_model_must_fit_and_predict_or_be_called():
    with pytest.raises(ParameterError, match="model=42"):
        External(42)
