"""Any forecasting library behind the forecaster contract, without depending on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from elastic.core.types import Forecast
from elastic.core.validate import check_int
from elastic.errors import ForecastError, ParameterError
from elastic.forecast.base import BaseForecaster, FloatArray, check_horizon

__all__ = ["External"]


class External(BaseForecaster):
    """Wrap a model from another library as a forecaster.

    ``model`` is either

    - an object with ``fit(y)`` and ``predict(h)`` (statsforecast models,
      or a small class around any other library); ``predict`` returns the
      ``h`` point forecasts, or a mapping with ``"mean"`` and, when it was
      called with ``level=[...]``, ``"lo-80"``/``"hi-80"``-style bounds;
    - or a function ``(history, h) -> forecasts`` that fits and predicts in
      one go, e.g. for statsmodels or sktime::

          def holt_winters(y, h):
              model = ExponentialSmoothing(y, trend="add", seasonal="add",
                                           seasonal_periods=24)
              return model.fit().forecast(h)

    The object is refitted on the history every ``refit_every`` values (in
    :meth:`learn_one`, the only mutator). Intervals come from the model when
    it gives them for the requested levels; otherwise they are normal, from
    one-step errors (one every ``refit_every`` values, since each costs a
    call of the model), widening like a random walk's (``sqrt(h)``). Any
    exception of the model becomes a :class:`~elastic.errors.ForecastError`,
    so a predictive policy can fall back.

    Parameters
    ----------
    model
        The object or function.
    min_samples
        Values needed before the first fit.
    window
        Keep only the last ``window`` values (``None``: all).
    refit_every
        Refit an object model, and score a one-step error, every this many values.

    Examples
    --------
    >>> def mean_of_last_three(y, h):
    ...     return np.full(h, y[-3:].mean())
    >>> f = External(mean_of_last_three, min_samples=3).fit([1.0, 2.0, 3.0, 4.0])
    >>> f.forecast(2).mean.tolist()
    [3.0, 3.0]
    """

    def __init__(
        self,
        model: Any,
        *,
        min_samples: int = 2,
        window: int | None = None,
        refit_every: int = 1,
    ) -> None:
        self.model = model
        self._min_samples = min_samples
        self.window = window
        self.refit_every = refit_every
        owner = type(self).__name__
        if not self._has_fit() and not callable(model):
            raise ParameterError(
                "model",
                model,
                "an object with fit(y) and predict(h), or a function (y, h)",
                owner=owner,
            )
        check_int(min_samples, "min_samples", owner=owner, ge=1)
        if window is not None:
            check_int(window, "window", owner=owner, ge=min_samples)
        check_int(refit_every, "refit_every", owner=owner, ge=1)
        super().__init__()

    def _has_fit(self) -> bool:
        model = self.model
        return callable(getattr(model, "fit", None)) and callable(getattr(model, "predict", None))

    @property
    def min_samples(self) -> int:
        return int(self._min_samples)

    def _reset_model(self) -> None:
        self.history_: list[float] = []
        self.fitted_ = False
        self.since_fit_ = 0

    def _scores(self) -> bool:
        # a one-step forecast costs a call of the model: take one every refit_every values
        return self.since_fit_ + 1 >= self.refit_every

    def _learn(self, y: float) -> None:
        self.history_.append(y)
        if self.window is not None and len(self.history_) > self.window:
            del self.history_[0]
        self.since_fit_ += 1
        due = not self.fitted_ or self.since_fit_ >= self.refit_every
        if len(self.history_) >= self.min_samples and due:
            if self._has_fit():
                self._call(lambda: self.model.fit(np.array(self.history_)))
            self.fitted_, self.since_fit_ = True, 0

    def _call(self, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except Exception as error:
            raise ForecastError(
                f"{type(self).__name__}: the model failed: {type(error).__name__}: {error}"
            ) from error

    def _predict(self, horizon: int, levels: Sequence[float] = ()) -> Any:
        history = np.array(self.history_)
        if not self._has_fit():
            return self._call(lambda: self.model(history, horizon))
        if levels:
            return self._call(lambda: self.model.predict(horizon, level=list(levels)))
        return self._call(lambda: self.model.predict(horizon))

    def _as_array(self, values: Any, horizon: int, what: str) -> FloatArray:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(array) != horizon or not np.isfinite(array).all():
            raise ForecastError(
                f"{type(self).__name__}: the model gave {what} {array.tolist()!r}; "
                f"expected {horizon} finite numbers"
            )
        return array

    def _mean(self, horizon: int) -> FloatArray:
        out = self._predict(horizon)
        return self._as_array(out["mean"] if isinstance(out, dict) else out, horizon, "forecasts")

    def forecast(self, horizon: int, level: Sequence[float] = ()) -> Forecast:
        """Forecasts from the model; its own intervals when it gives them."""
        horizon = check_horizon(horizon, type(self).__name__)
        levels = tuple(level) if isinstance(level, Sequence) else (level,)
        if levels and self.ready and self._has_fit():
            out = self._predict(horizon, levels)
            keys = [(f"lo-{lv:g}", f"hi-{lv:g}") for lv in levels]
            if isinstance(out, dict) and all(lo in out and hi in out for lo, hi in keys):
                plain = super().forecast(horizon)
                mean = self._as_array(out["mean"], horizon, "forecasts")
                lower = np.array([self._as_array(out[lo], horizon, lo) for lo, _ in keys])
                upper = np.array([self._as_array(out[hi], horizon, hi) for _, hi in keys])
                return Forecast(mean, tuple(float(lv) for lv in levels), lower, upper, plain.times)
        return super().forecast(horizon, level)
