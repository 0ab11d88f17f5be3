"""A forecaster with the data rules of AWS predictive scaling.

AWS documents the rules (EC2 Auto Scaling user guide, "Predictive scaling":
https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-predictive-scaling.html):
hourly values, learned from the last 14 days, at least 24 hours of history
before the first forecast, a forecast of the next 48 hours refreshed every 6
hours, aimed at daily and weekly patterns. It does not publish its model; this one is a weighted
seasonal profile: the forecast of an hour is the weighted mean of the same
hour on each earlier day still in the history, the weight of the day ``d``
days back being ``decay ** (d - 1)``, times ``weekly`` when ``d`` is a whole
number of weeks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from elastic.core.types import Forecast
from elastic.core.validate import check_int, check_number
from elastic.errors import ForecastError, ParameterError
from elastic.forecast.base import BaseForecaster, FloatArray, checked_value

__all__ = ["AWSStyle"]

HOUR = 3600.0


class AWSStyle(BaseForecaster):
    """Hourly seasonal-profile forecasts with AWS predictive scaling's data rules.

    Values may come at any spacing: they are averaged per clock hour
    (``floor(t / 3600)``); an hour is learned with its last value (the next
    one, at the spacing of the last two, would fall in a later hour) or,
    failing that, when a value of a later hour arrives; a value that comes
    after its hour was learned (the spacing shrank) still joins its mean.
    Hours without values are gaps, not zeros.

    Parameters
    ----------
    history_days
        Days of hourly values kept (AWS: 14).
    min_history_hours
        Hours with values needed before the first forecast (AWS: 24).
    refresh_hours
        The forecast is recomputed every this many learned hours (AWS: 6)
        and held in between.
    max_horizon_hours
        How far each forecast reaches (AWS: 48); asking further raises
        :class:`~elastic.errors.ForecastError`.
    decay, weekly
        Weights of the seasonal profile (see the module).

    Examples
    --------
    >>> hours = np.arange(72)
    >>> load = 100.0 + 50.0 * np.sin(2 * np.pi * hours / 24)
    >>> f = AWSStyle().fit(load, step=3600.0)
    >>> [round(v) for v in f.forecast(3).mean]
    [100, 113, 125]
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [{}, {"history_days": 7, "refresh_hours": 1, "decay": 1.0}]

    def __init__(
        self,
        history_days: int = 14,
        min_history_hours: int = 24,
        refresh_hours: int = 6,
        max_horizon_hours: int = 48,
        decay: float = 0.8,
        weekly: float = 2.0,
    ) -> None:
        self.history_days = history_days
        self.min_history_hours = min_history_hours
        self.refresh_hours = refresh_hours
        self.max_horizon_hours = max_horizon_hours
        self.decay = decay
        self.weekly = weekly
        owner = type(self).__name__
        check_int(history_days, "history_days", owner=owner, ge=1)
        check_int(min_history_hours, "min_history_hours", owner=owner, ge=1)
        check_int(refresh_hours, "refresh_hours", owner=owner, ge=1)
        check_int(max_horizon_hours, "max_horizon_hours", owner=owner, ge=1)
        check_number(decay, "decay", owner=owner, gt=0, le=1)
        check_number(weekly, "weekly", owner=owner, gt=0)
        if min_history_hours > 24 * history_days:
            raise ParameterError(
                "min_history_hours",
                min_history_hours,
                f"at most the history kept ({24 * history_days} h)",
                owner=owner,
            )
        super().__init__()

    @property
    def min_samples(self) -> int:
        return int(self.min_history_hours)

    def _reset_model(self) -> None:
        self.step_ = HOUR
        self.hour_: int | None = None  # the clock hour being averaged
        self.t_last_: float | None = None
        self.spacing_: float | None = None  # between the last two values
        self.sum_ = 0.0
        self.count_ = 0
        self.hours_: list[float] = []  # hourly means, NaN for gaps, oldest first
        self.last_hour_: int | None = None  # the clock hour of hours_[-1]
        self.forecast_: list[float] = []  # from the hour after origin_
        self.origin_: int | None = None
        self.spread_ = math.nan

    @property
    def ready(self) -> bool:
        return bool(self.forecast_)

    @property
    def sigma(self) -> float:
        return self.spread_

    def learn_one(self, y: float, t: float | None = None) -> None:
        """Add ``y`` at ``t`` to its clock hour (the next hour when ``t`` is ``None``)."""
        owner = type(self).__name__
        y = checked_value(y, owner)
        if t is None:
            t = 0.0 if self.last_hour_ is None else (self.last_hour_ + 1) * HOUR
            t = t if self.hour_ is None else (self.hour_ + 1) * HOUR
        t = check_number(t, "t", owner=f"{owner}.learn_one")
        hour = math.floor(t / HOUR)
        if self.t_last_ is not None and t <= self.t_last_:
            raise ParameterError(
                "t", t, f"a time after the last one ({self.t_last_:g})", owner=f"{owner}.learn_one"
            )
        self.spacing_ = None if self.t_last_ is None else t - self.t_last_
        self.t_last_ = t
        if self.hour_ is None and hour == self.last_hour_:
            self._late(float(y))  # its hour was closed early: the spacing shrank
            return
        if self.hour_ is not None and hour > self.hour_:
            self._close(self.hour_)
        if self.hour_ is None or hour > self.hour_:
            self.hour_, self.sum_, self.count_ = hour, 0.0, 0
        if not math.isnan(float(y)):
            self.sum_ += float(y)
            self.count_ += 1
        if self.spacing_ is not None and t + self.spacing_ >= (hour + 1) * HOUR - 1e-6:
            self._close(hour)  # the next value, at the same spacing, is in a later hour
            self.hour_ = None

    def _late(self, y: float) -> None:
        """A value of the hour learned last: it joins that hour's mean (no refresh)."""
        if math.isnan(y):
            return
        mean, count = self.hours_[-1], self.count_
        if count == 0:
            self.n_ += 1
        self.hours_[-1] = y if count == 0 else (mean * count + y) / (count + 1)
        self.count_ += 1

    def _close(self, hour: int) -> None:
        """The values of ``hour`` are all in: learn their mean."""
        if self.last_hour_ is not None:
            # hours older than the history fall out below: a longer gap adds no more
            gap = min(hour - self.last_hour_ - 1, 24 * self.history_days)
            self.hours_.extend([math.nan] * gap)
        self.hours_.append(self.sum_ / self.count_ if self.count_ else math.nan)
        self.last_hour_ = hour
        old = self.hours_[: max(0, len(self.hours_) - 24 * self.history_days)]
        del self.hours_[: len(old)]
        self.n_ += bool(self.count_) - sum(1 for v in old if v == v)
        self.t_ = hour * HOUR
        due = self.origin_ is None or hour - self.origin_ >= self.refresh_hours
        if due and self.n_ >= self.min_history_hours:
            self._refresh(hour)

    def _profile(self, history: FloatArray, targets: np.ndarray) -> FloatArray:
        """The weighted same-hour mean for each target index of ``history``."""
        days = np.arange(1, self.history_days + 1)
        weights = self.decay ** (days - 1.0) * np.where(days % 7 == 0, self.weekly, 1.0)
        pad = 24 * self.history_days
        padded = np.concatenate((np.full(pad, np.nan), history))
        values = padded[targets[None, :] - 24 * days[:, None] + pad]  # one row per day back
        known = ~np.isnan(values)
        total = np.where(known, values, 0.0).T @ weights
        with np.errstate(invalid="ignore"):
            return np.asarray(total / (known.T @ weights))

    def _refresh(self, hour: int) -> None:
        history = np.array(self.hours_)
        size = len(history)
        ahead = self._profile(
            np.concatenate((history, np.full(self.max_horizon_hours, np.nan))),
            np.arange(size, size + self.max_horizon_hours),
        )
        if np.isnan(ahead).any():  # an hour of the day never seen: use the mean
            ahead[np.isnan(ahead)] = np.nanmean(history)
        past = self._profile(history, np.arange(size))
        errors = history - past
        errors = errors[~np.isnan(errors)]
        self.spread_ = float(np.sqrt(np.mean(errors**2))) if len(errors) else 0.0
        self.forecast_ = ahead.tolist()
        self.origin_ = hour

    def _mean(self, horizon: int) -> FloatArray:
        assert self.origin_ is not None and self.last_hour_ is not None
        offset = self.last_hour_ - self.origin_
        if offset + horizon > self.max_horizon_hours:
            raise ForecastError(
                f"{type(self).__name__}: {horizon} h ahead of hour {self.last_hour_} is past "
                f"the {self.max_horizon_hours}-h forecast made at hour {self.origin_}"
            )
        return np.array(self.forecast_[offset : offset + horizon])

    def _variance(self, horizon: int) -> FloatArray:
        return np.ones(horizon)

    def forecast(self, horizon: int, level: Sequence[float] = ()) -> Forecast:
        """The held forecast for the ``horizon`` hours after the last learned one.

        Raises :class:`~elastic.errors.ForecastError` before ``min_history_hours``
        hours were learned, or past ``max_horizon_hours`` from the last refresh.
        """
        if not self.ready:
            raise ForecastError(
                f"{type(self).__name__} has {self.n_} hours of history; "
                f"it needs {self.min_history_hours} to forecast"
            )
        return super().forecast(horizon, level)
