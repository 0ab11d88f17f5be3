"""Exponential smoothing: the EWMA level and additive Holt-Winters with one or two seasons.

Both are written in the error-correction form of their state space models
(Hyndman, Koehler, Ord & Snyder, *Forecasting with Exponential Smoothing*,
2008): with ``e`` the one-step error of a new value,

- level ``l <- l + b + alpha * e``,
- trend ``b <- b + alpha * beta * e``,
- each season ``s[t] <- s[t - m] + gamma * e``,

which is the same recursion as the textbook component form
(``l = alpha (y - s) + (1 - alpha)(l + b)``, ``b = beta (l - l') + (1 - beta) b``,
``s = gamma (y - l' - b) + (1 - gamma) s``). The ``h``-step error variance is
``sigma^2 (1 + sum_{j<h} c_j^2)`` with ``c_j = alpha (1 + beta j) + gamma [j
is a multiple of m]`` (per season), the exact one for these linear models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from elastic.errors import ParameterError
from elastic.forecast.base import BaseForecaster, FloatArray, check_period, check_smoothing

__all__ = ["EWMA", "HoltWinters"]


class EWMA(BaseForecaster):
    """Simple exponential smoothing: an exponentially weighted moving average level.

    Parameters
    ----------
    alpha
        Weight of the newest value, in [0, 1]; 1 is the last value.

    Examples
    --------
    >>> f = EWMA(alpha=0.5).fit([10.0, 20.0, 20.0])
    >>> f.forecast(2).mean.tolist()
    [17.5, 17.5]
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [{}, {"alpha": 0.8}]

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        check_smoothing(alpha, "alpha", type(self).__name__)
        super().__init__()

    def _reset_model(self) -> None:
        self.level_ = 0.0

    def _learn(self, y: float) -> None:
        self.level_ = y if self.n_ == 0 else self.level_ + self.alpha * (y - self.level_)

    def _mean(self, horizon: int) -> FloatArray:
        return np.full(horizon, self.level_)

    def _variance(self, horizon: int) -> FloatArray:
        return 1.0 + np.arange(horizon, dtype=np.float64) * self.alpha**2


class HoltWinters(BaseForecaster):
    """Additive Holt-Winters: level, optional trend and one or two additive seasons.

    With two periods (say daily and weekly) it is Taylor's double seasonal
    model. The model starts after the longest period: the level is the mean
    of those values, the trend 0, the shorter season the mean deviation at
    each of its positions and the longer season what is left.

    Parameters
    ----------
    periods
        One or two seasonal periods in steps (``(24,)``, ``(24, 168)``), or
        ``()`` for Holt's linear trend.
    alpha, beta, gamma
        Smoothing of the level, the trend (component form) and the seasons;
        ``gamma`` is one value for every season or one per period.
    trend
        Whether to model a trend (``False``: ``beta`` is unused).

    Examples
    --------
    >>> y = [10.0, 20.0, 30.0, 20.0] * 6
    >>> f = HoltWinters(periods=(4,), alpha=0.3, beta=0.05, gamma=0.2).fit(y)
    >>> f.forecast(4).mean.round(1).tolist()
    [10.0, 20.0, 30.0, 20.0]
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [
            {},
            {"periods": (24, 168), "gamma": (0.1, 0.05)},
            {"periods": (), "trend": True},
            {"periods": (7,), "trend": False},
        ]

    def __init__(
        self,
        periods: Sequence[int] = (24,),
        alpha: float = 0.2,
        beta: float = 0.02,
        gamma: float | Sequence[float] = 0.1,
        *,
        trend: bool = True,
    ) -> None:
        self.periods = periods
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.trend = trend
        self._validate()
        super().__init__()

    def _validate(self) -> None:
        owner = type(self).__name__
        if isinstance(self.periods, int | str) or not isinstance(self.periods, Sequence):
            raise ParameterError("periods", self.periods, "a sequence of periods", owner=owner)
        if len(self.periods) > 2:
            raise ParameterError("periods", self.periods, "at most two periods", owner=owner)
        for i, period in enumerate(self.periods):
            check_period(period, f"periods[{i}]", owner)
        check_smoothing(self.alpha, "alpha", owner)
        check_smoothing(self.beta, "beta", owner)
        for name, value in zip(self._gamma_names(), self._gammas(), strict=True):
            check_smoothing(value, name, owner)
        if not isinstance(self.trend, bool):
            raise ParameterError("trend", self.trend, "True or False", owner=owner)

    def _gamma_names(self) -> list[str]:
        if isinstance(self.gamma, Sequence):
            return [f"gamma[{i}]" for i in range(len(self.gamma))]
        return ["gamma"] * len(self.periods)

    def _gammas(self) -> list[float]:
        if isinstance(self.gamma, Sequence):
            if len(self.gamma) != len(self.periods):
                raise ParameterError(
                    "gamma",
                    self.gamma,
                    f"one value, or one per period ({len(self.periods)})",
                    owner=type(self).__name__,
                )
            return [float(g) for g in self.gamma]
        return [float(self.gamma)] * len(self.periods)

    @property
    def min_samples(self) -> int:
        return max([int(p) for p in self.periods], default=2)

    def _reset_model(self) -> None:
        self.level_ = self.slope_ = 0.0
        self.seasons_: list[list[float]] = [[0.0] * int(p) for p in self.periods]
        self.start_: list[float] = []  # the values before the model starts

    def _start(self) -> None:
        y = np.array(self.start_)
        self.level_ = float(y.mean())
        rest = y - self.level_
        for k, period in enumerate(self.periods):
            positions = np.arange(len(y)) % period
            season = np.bincount(positions, weights=rest, minlength=period) / np.bincount(
                positions, minlength=period
            )
            self.seasons_[k] = season.tolist()
            rest = rest - season[positions]
        if not self.periods:  # Holt: start from the first two values
            self.level_, self.slope_ = float(y[-1]), float(y[-1] - y[0]) if self.trend else 0.0
        self.start_ = []

    def _learn(self, y: float) -> None:
        if self.n_ < self.min_samples:
            self.start_.append(y)
            if self.n_ + 1 == self.min_samples:
                self._start()
            return
        n = self.n_
        error = y - self._one()
        alpha = self.alpha
        self.level_ += self.slope_ + alpha * error
        if self.trend:
            self.slope_ += alpha * self.beta * error
        for season, period, gamma in zip(self.seasons_, self.periods, self._gammas(), strict=True):
            season[n % period] += gamma * error

    def _one(self) -> float:
        if self.n_ < self.min_samples:
            return float(self._mean(1)[0])
        n = self.n_
        value = self.level_ + (self.slope_ if self.trend else 0.0)
        for season, period in zip(self.seasons_, self.periods, strict=True):
            value += season[n % period]
        return value

    def _mean(self, horizon: int) -> FloatArray:
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        mean = self.level_ + (self.slope_ * steps if self.trend else 0.0)
        future = self.n_ + np.arange(horizon)
        for season, period in zip(self.seasons_, self.periods, strict=True):
            mean = mean + np.asarray(season)[future % period]
        return np.asarray(mean, dtype=np.float64)

    def _variance(self, horizon: int) -> FloatArray:
        j = np.arange(1, horizon, dtype=np.float64)
        c = self.alpha * (1.0 + (self.beta * j if self.trend else 0.0))
        for period, gamma in zip(self.periods, self._gammas(), strict=True):
            c = c + gamma * (j % period == 0)
        return np.concatenate(([1.0], 1.0 + np.cumsum(c**2)))
