"""What every forecaster shares: the time grid, gaps, one-step errors and intervals."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from elastic.core.params import Params
from elastic.core.types import Forecast
from elastic.core.validate import check_int, check_number
from elastic.errors import ForecastError, ParameterError

__all__ = ["BaseForecaster", "z_score"]

FloatArray = NDArray[np.float64]


def z_score(level: float) -> float:
    """The standard normal quantile of a central ``level`` % interval.

    Examples
    --------
    >>> round(z_score(95), 3)
    1.96
    """
    return NormalDist().inv_cdf(0.5 + level / 200.0)


MAX_GAP = 100_000
"""The most missing steps a forecaster fills with its one-step forecasts (about half a
second of work); a longer gap starts the series again."""

MAX_HORIZON = 100_000
"""The most steps a forecast reaches ahead (a forecast array is as long as its horizon)."""


class BaseForecaster(Params):
    """Base class of the forecasters: a regular series learned one value at a time.

    The first two distinct times give the step; a later time more than one
    step after the last is a gap: each missing step is filled with the
    one-step forecast (the state moves on without a correction, as a state
    space model does with a missing value), and it does not count as an error.
    A NaN value is a missing one. ``t`` may be left out: the values are then
    taken one step apart. A gap of more than :data:`MAX_GAP` steps is not
    filled: the series starts again at the new value (the state and the error
    statistics are forgotten, the step is kept), since a forecast carried that
    far says nothing about the series.

    A forecast reaches at most :data:`MAX_HORIZON` steps ahead.

    Intervals are normal: ``mean ± z * sigma * sqrt(v[h])`` where ``sigma`` is
    the root mean square of the one-step forecast errors made while learning
    and ``v`` the variance factor of the model (:meth:`_variance`).

    Subclasses keep learned state in attributes ending with ``_`` (set in
    :meth:`_reset`), update it in :meth:`_learn`, and give :meth:`_mean`,
    :meth:`_variance` and :attr:`min_samples`.
    """

    def __init__(self) -> None:
        self._reset()

    # --- what a subclass provides ------------------------------------------------------------

    @property
    def min_samples(self) -> int:
        """Values needed before the first forecast."""
        return 1

    def _reset_model(self) -> None:
        """Forget the model's state."""

    def _learn(self, y: float) -> None:
        """Update the model with the next value."""
        raise NotImplementedError

    def _mean(self, horizon: int) -> FloatArray:
        """Point forecasts for steps ``1..horizon``."""
        raise NotImplementedError

    def _one(self) -> float:
        """The one-step forecast (a subclass may compute it faster than :meth:`_mean`)."""
        return float(self._mean(1)[0])

    def _scores(self) -> bool:
        """Whether the next value's one-step error counts toward :attr:`sigma`."""
        return True

    def _variance(self, horizon: int) -> FloatArray:
        """Forecast error variance for steps ``1..horizon``, in units of the one-step one."""
        return np.arange(1, horizon + 1, dtype=np.float64)

    # --- the contract --------------------------------------------------------------------------

    def _reset(self) -> None:
        self.n_ = 0  # values learned, gaps filled included
        self.t_: float | None = None  # time of the last value
        self.step_: float | None = None
        self.errors_ = 0  # one-step errors counted
        self.squared_error_ = 0.0
        self._reset_model()

    @property
    def ready(self) -> bool:
        """Whether enough values were learned to forecast."""
        return self.n_ >= self.min_samples

    @property
    def sigma(self) -> float:
        """Root mean square of the one-step forecast errors so far (NaN before the first)."""
        return math.sqrt(self.squared_error_ / self.errors_) if self.errors_ else math.nan

    def learn_one(self, y: float, t: float | None = None) -> None:
        """Learn ``y``, observed at time ``t`` (the next step when ``None``).

        Examples
        --------
        >>> from elastic.forecast import LastValue
        >>> f = LastValue()
        >>> f.learn_one(3.0, t=0.0); f.learn_one(5.0, t=60.0)
        >>> f.forecast(2).mean.tolist(), f.forecast(2).times.tolist()
        ([5.0, 5.0], [120.0, 180.0])
        """
        owner = type(self).__name__
        value = checked_value(y, owner)
        if t is None:
            t = 0.0 if self.t_ is None else self.t_ + (self.step_ or 1.0)
        t = check_number(t, "t", owner=f"{owner}.learn_one")
        missing = 0
        if self.t_ is not None:
            if t <= self.t_:
                raise ParameterError(
                    "t", t, f"a time after the last one ({self.t_:g})", owner=f"{owner}.learn_one"
                )
            if self.step_ is None:
                self.step_ = t - self.t_
            else:
                missing = max(0, round((t - self.t_) / self.step_) - 1)
                if missing > MAX_GAP:
                    step = self.step_
                    self._reset()
                    self.step_, missing = step, 0
        for _ in range(missing):
            self._learn(self._one())
            self.n_ += 1
        self.t_ = t
        if math.isnan(value):  # a missing value: move on with the forecast
            if self.n_ and self.ready:
                self._learn(self._one())
                self.n_ += 1
            return
        if self.ready and self._scores():
            try:
                error = value - self._one()
            except ForecastError:  # the value is still learned; only its error is not scored
                pass
            else:
                self.errors_ += 1
                self.squared_error_ += error * error
        self._learn(value)
        self.n_ += 1

    def fit(self, series: Iterable[float], *, start: float = 0.0, step: float = 1.0) -> Self:
        """Forget what was learned and learn ``series``, sampled every ``step`` from ``start``.

        Examples
        --------
        >>> from elastic.forecast import Drift
        >>> Drift().fit([1.0, 2.0, 3.0]).forecast(2).mean.tolist()
        [4.0, 5.0]
        """
        owner = type(self).__name__
        step = check_number(step, "step", owner=f"{owner}.fit", gt=0)
        start = check_number(start, "start", owner=f"{owner}.fit")
        self._reset()
        for i, y in enumerate(np.asarray(series, dtype=np.float64).tolist()):
            self.learn_one(y, start + i * step)
        return self

    def forecast(self, horizon: int, level: Sequence[float] = ()) -> Forecast:
        """Forecasts for the next ``horizon`` steps, with intervals at each ``level`` percent.

        Raises :class:`~elastic.errors.ForecastError` before :attr:`min_samples`
        values were learned.

        Examples
        --------
        >>> from elastic.forecast import LastValue
        >>> f = LastValue().fit([10.0, 12.0, 11.0, 13.0])
        >>> out = f.forecast(3, level=(95,))
        >>> out.mean.tolist()
        [13.0, 13.0, 13.0]
        >>> out.upper[0].round(2).tolist()
        [16.39, 17.8, 18.88]
        """
        owner = type(self).__name__
        horizon = check_horizon(horizon, owner)
        levels = tuple(
            check_number(lv, "level", owner=f"{owner}.forecast", gt=0, le=99.999)
            for lv in ([level] if isinstance(level, int | float) else level)
        )
        if not self.ready:
            raise ForecastError(
                f"{owner} has learned {self.n_} values; it needs {self.min_samples} to forecast"
            )
        mean = np.asarray(self._mean(horizon), dtype=np.float64)
        step = self.step_ or 1.0
        origin = self.t_ if self.t_ is not None else 0.0
        times = origin + step * np.arange(1, horizon + 1, dtype=np.float64)
        if not levels:
            empty = np.empty((0, horizon))
            return Forecast(mean, (), empty, empty.copy(), times)
        sigma = self.sigma
        if math.isnan(sigma):
            raise ForecastError(f"{owner} has made no one-step error yet: no interval width")
        spread = sigma * np.sqrt(self._variance(horizon))
        z = np.array([z_score(lv) for lv in levels])[:, None]
        return Forecast(mean, levels, mean - z * spread, mean + z * spread, times)


def check_horizon(horizon: Any, owner: str) -> int:
    """A forecast horizon: an integer from 1 to :data:`MAX_HORIZON` steps."""
    steps = check_int(horizon, "horizon", owner=f"{owner}.forecast", ge=1)
    if steps > MAX_HORIZON:
        raise ParameterError(
            "horizon", steps, f"at most {MAX_HORIZON} steps", owner=f"{owner}.forecast"
        )
    return steps


def checked_value(y: Any, owner: str) -> float:
    """A learned value: a finite number, or NaN for a missing one."""
    if not isinstance(y, int | float | np.number) or isinstance(y, bool) or math.isinf(y):
        raise ParameterError("y", y, "a finite number, or NaN if missing", owner=owner)
    return float(y)


def check_period(value: Any, name: str, owner: str) -> int:
    """A seasonal period: an integer >= 2 (in steps)."""
    return check_int(value, name, owner=owner, ge=2)


def check_smoothing(value: Any, name: str, owner: str) -> float:
    """A smoothing parameter in [0, 1]."""
    return check_number(value, name, owner=owner, ge=0, le=1)
