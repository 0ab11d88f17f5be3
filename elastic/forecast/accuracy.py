"""Forecast accuracy: MAE, sMAPE, MASE and a rolling-origin evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from elastic.core.params import clone
from elastic.core.protocols import Forecaster
from elastic.core.validate import check_int
from elastic.errors import ParameterError
from elastic.forecast.base import FloatArray

__all__ = ["Evaluation", "mae", "mase", "rolling_origin", "smape"]


def _pair(actual: ArrayLike, predicted: ArrayLike) -> tuple[FloatArray, FloatArray]:
    a, p = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if a.shape != p.shape:
        raise ParameterError(
            "predicted", p.shape, f"the shape of actual {a.shape}", owner="accuracy"
        )
    return a, p


def mae(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute error.

    Examples
    --------
    >>> mae([1.0, 2.0, 4.0], [2.0, 2.0, 1.0])
    1.3333333333333333
    """
    a, p = _pair(actual, predicted)
    return float(np.mean(np.abs(a - p)))


def smape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Symmetric mean absolute percentage error, in percent (0 to 200).

    ``100 * mean(2 |a - p| / (|a| + |p|))``, a term being 0 where both are 0.

    Examples
    --------
    >>> smape([100.0, 0.0], [50.0, 0.0])
    33.33333333333333
    """
    a, p = _pair(actual, predicted)
    scale = np.abs(a) + np.abs(p)
    terms = np.divide(2.0 * np.abs(a - p), scale, out=np.zeros_like(a), where=scale > 0)
    return float(100.0 * np.mean(terms))


def mase(actual: ArrayLike, predicted: ArrayLike, training: ArrayLike, period: int = 1) -> float:
    """Mean absolute scaled error: the MAE over the in-sample MAE of the seasonal naive forecast.

    Below 1, the forecast beats the one-step (seasonal) naive forecast on
    the training data (Hyndman & Koehler, 2006).

    Examples
    --------
    >>> mase([5.0, 7.0], [6.0, 6.0], training=[1.0, 2.0, 4.0, 5.0])
    0.75
    """
    period = check_int(period, "period", owner="mase", ge=1)
    history = np.asarray(training, dtype=np.float64)
    if len(history) <= period:
        raise ParameterError(
            "training", len(history), f"more than period={period} values", owner="mase"
        )
    scale = float(np.mean(np.abs(history[period:] - history[:-period])))
    return mae(actual, predicted) / scale if scale > 0 else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """Forecasts made from successive origins, against what happened.

    ``forecasts`` and ``actuals`` have one row per origin and one column per
    step ahead; ``lower``/``upper`` one more leading axis per level.
    """

    origins: FloatArray
    forecasts: FloatArray
    actuals: FloatArray
    level: tuple[float, ...]
    lower: FloatArray
    upper: FloatArray
    scale: float

    def mae(self) -> FloatArray:
        """MAE per step ahead."""
        return np.asarray(np.mean(np.abs(self.actuals - self.forecasts), axis=0))

    def smape(self) -> FloatArray:
        """sMAPE per step ahead, in percent."""
        return np.array(
            [smape(self.actuals[:, k], self.forecasts[:, k]) for k in range(self.actuals.shape[1])]
        )

    def mase(self) -> FloatArray:
        """MASE per step ahead, scaled by the naive in-sample MAE of the initial history."""
        return self.mae() / self.scale

    def coverage(self) -> FloatArray:
        """Share of actuals inside each interval, per level and step ahead."""
        inside = (self.lower <= self.actuals) & (self.actuals <= self.upper)
        return np.asarray(np.mean(inside, axis=1))


def rolling_origin(
    forecaster: Forecaster,
    series: ArrayLike,
    *,
    horizon: int,
    initial: int,
    every: int = 1,
    period: int = 1,
    level: Sequence[float] = (),
    start: float = 0.0,
    step: float = 1.0,
) -> Evaluation:
    """Evaluate ``forecaster`` on ``series`` from origins ``initial``, ``initial + every``, ...

    A clone of the forecaster learns the first ``initial`` values, forecasts
    ``horizon`` steps, learns ``every`` more, forecasts again, and so on
    while a whole horizon of actuals is left. MASE is scaled by the
    in-sample MAE of the seasonal naive forecast of ``period`` on the first
    ``initial`` values.

    Examples
    --------
    >>> from elastic.forecast import LastValue
    >>> run = rolling_origin(LastValue(), [1.0, 2.0, 3.0, 4.0, 5.0], horizon=2, initial=2)
    >>> run.forecasts.tolist(), run.mae().tolist()
    ([[2.0, 2.0], [3.0, 3.0]], [1.0, 2.0])
    """
    owner = "rolling_origin"
    y = np.asarray(series, dtype=np.float64)
    horizon = check_int(horizon, "horizon", owner=owner, ge=1)
    initial = check_int(initial, "initial", owner=owner, ge=1)
    every = check_int(every, "every", owner=owner, ge=1)
    if initial + horizon > len(y):
        raise ParameterError(
            "initial", initial, f"at most len(series) - horizon = {len(y) - horizon}", owner=owner
        )
    model = clone(forecaster)
    levels = tuple(float(lv) for lv in level)
    origins, forecasts, lowers, uppers, actuals = [], [], [], [], []
    learned = 0
    for origin in range(initial, len(y) - horizon + 1, every):
        for i in range(learned, origin):
            model.learn_one(float(y[i]), start + i * step)
        learned = origin
        out = model.forecast(horizon, levels)
        origins.append(start + origin * step)
        forecasts.append(out.mean)
        lowers.append(out.lower)
        uppers.append(out.upper)
        actuals.append(y[origin : origin + horizon])
    history = y[:initial]
    naive = np.abs(history[period:] - history[:-period]) if len(history) > period else np.array([])
    return Evaluation(
        origins=np.array(origins),
        forecasts=np.array(forecasts),
        actuals=np.array(actuals),
        level=levels,
        lower=np.moveaxis(np.array(lowers), 1, 0) if levels else np.empty((0, 0, horizon)),
        upper=np.moveaxis(np.array(uppers), 1, 0) if levels else np.empty((0, 0, horizon)),
        scale=float(naive.mean()) if len(naive) else float("nan"),
    )
