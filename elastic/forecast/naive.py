"""The simple benchmarks: the last value, the drift and the seasonal naive forecast.

Their interval widths are the textbook ones (Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice*, section on prediction intervals):
``sigma * sqrt(h)`` for the last value, ``sigma * sqrt(h * (1 + h / (T - 1)))``
for the drift over ``T`` values, ``sigma * sqrt(k + 1)`` with
``k = floor((h - 1) / m)`` for the seasonal naive forecast of period ``m``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from elastic.forecast.base import BaseForecaster, FloatArray, check_period

__all__ = ["Drift", "LastValue", "SeasonalNaive"]


class LastValue(BaseForecaster):
    """The naive forecast: every step ahead is the last value.

    Examples
    --------
    >>> f = LastValue().fit([4.0, 6.0, 5.0])
    >>> f.forecast(2).mean.tolist()
    [5.0, 5.0]
    """

    def __init__(self) -> None:
        super().__init__()

    def _reset_model(self) -> None:
        self.last_ = 0.0

    def _learn(self, y: float) -> None:
        self.last_ = y

    def _mean(self, horizon: int) -> FloatArray:
        return np.full(horizon, self.last_)


class Drift(BaseForecaster):
    """The last value plus the average change so far, per step ahead.

    The slope is ``(y[T] - y[1]) / (T - 1)``; its error adds ``h / (T - 1)``
    to the random walk's variance factor ``h``.

    Examples
    --------
    >>> f = Drift().fit([10.0, 12.0, 13.0, 16.0])
    >>> f.forecast(2).mean.tolist()
    [18.0, 20.0]
    """

    def __init__(self) -> None:
        super().__init__()

    @property
    def min_samples(self) -> int:
        return 2

    def _reset_model(self) -> None:
        self.first_ = self.last_ = 0.0

    def _learn(self, y: float) -> None:
        if self.n_ == 0:
            self.first_ = y
        self.last_ = y

    def _slope(self) -> float:
        return (self.last_ - self.first_) / (self.n_ - 1)

    def _mean(self, horizon: int) -> FloatArray:
        return self.last_ + self._slope() * np.arange(1, horizon + 1, dtype=np.float64)

    def _variance(self, horizon: int) -> FloatArray:
        h = np.arange(1, horizon + 1, dtype=np.float64)
        return h * (1.0 + h / (self.n_ - 1))


class SeasonalNaive(BaseForecaster):
    """Each step ahead is the value one season earlier.

    Parameters
    ----------
    period
        Steps per season: 24 for a daily season of hourly values, 168 for a
        weekly one, 1440 for a daily season of one-minute values.

    Examples
    --------
    >>> f = SeasonalNaive(period=3).fit([1.0, 5.0, 9.0, 2.0, 6.0, 10.0])
    >>> f.forecast(4).mean.tolist()
    [2.0, 6.0, 10.0, 2.0]
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [{"period": 24}, {"period": 7}]

    def __init__(self, period: int = 24) -> None:
        self.period = period
        check_period(period, "period", type(self).__name__)
        super().__init__()

    @property
    def min_samples(self) -> int:
        return int(self.period)

    def _reset_model(self) -> None:
        self.season_ = [0.0] * int(self.period)

    def _learn(self, y: float) -> None:
        self.season_[self.n_ % self.period] = y

    def _mean(self, horizon: int) -> FloatArray:
        m = self.period
        return np.array([self.season_[(self.n_ + j) % m] for j in range(horizon)])

    def _variance(self, horizon: int) -> FloatArray:
        k = np.arange(horizon) // self.period
        return (k + 1).astype(np.float64)
