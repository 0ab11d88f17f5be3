"""Predictive scaling: provision now for the load forecast one startup time ahead."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from elastic.core.counts import ceil_replicas
from elastic.core.params import clone
from elastic.core.protocols import Forecaster, Policy
from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ForecastError, PolicyError
from elastic.policies.base import BasePolicy

__all__ = ["Plan", "Predictive"]

Mode = Literal["forecast_and_scale", "forecast_only"]
Kind = Literal["value", "average_value", "utilization"]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a :class:`Predictive` policy forecasts and wants at one observation.

    ``load`` is the forecast total load at ``at`` (the upper bound of the
    prediction interval when the policy has a ``level``), buffer included;
    ``replicas`` is ``ceil(load / target)``; ``steps`` is how many forecaster
    steps ahead ``at`` lies.
    """

    at: float
    steps: int
    load: float
    replicas: int


class Predictive(BasePolicy):
    """Scale ahead of the load a forecaster expects.

    The policy learns the total load of the service from each observation
    (``metric`` itself for ``kind="value"``, such as requests per second;
    the per-replica value times the ready replicas otherwise) and feeds it
    to its own clone of ``forecaster``, averaged over ``bucket`` seconds if
    given. At each decision it forecasts the load at ``now + lead_time`` and
    asks for ``ceil(load * (1 + buffer) / target)`` replicas, so that they
    are ready when the load comes. By default ``lead_time`` is the
    observation's ``startup`` (the replicas' boot time, which the simulator
    reports) plus the control interval (learned from the spacing of the
    observations).

    As AWS predictive scaling does (EC2 Auto Scaling user guide, "Predictive
    scaling": it raises capacity to the forecast and never lowers it), it never scales in
    unless ``scale_in=True``: where the forecast needs fewer replicas than
    there are, it abstains (``Reason.SCALE_IN_DISABLED``) and lets a
    reactive policy decide. Combine it with target tracking as AWS and GCP
    do, taking the larger of the two (``MaxOf([predictive, tracking])`` or
    both in one :class:`~elastic.DecisionLoop` with ``combine="max"``).

    Until the forecaster can forecast (and whenever it fails), ``fallback``
    decides with ``Reason.FALLBACK``; without one the policy abstains with
    ``Reason.NO_FORECAST``.

    Parameters
    ----------
    forecaster
        Any :class:`~elastic.core.protocols.Forecaster`; the policy learns
        into a clone, so the one given stays as it is.
    metric
        The load metric in :attr:`Observation.metrics`.
    target
        The load one replica should carry (in the metric's unit; for
        ``"utilization"``, percent of a replica).
    lead_time
        Seconds ahead to provision for; ``None``: startup plus control interval.
    level
        Size for the upper bound of this prediction interval (percent)
        instead of the mean forecast.
    buffer
        Extra share of the forecast load to provision (0.1 = 10 %).
    mode
        ``"forecast_and_scale"``, or ``"forecast_only"``: abstain with
        ``Reason.FORECAST_ONLY``, the detail saying what it would have done.
    scale_in
        Whether it may ask for fewer replicas than there are.
    max_capacity_behavior
        ``"honor"``: the loop's maximum holds. ``"increase"``: when the
        forecast needs more than ``max_capacity``, the maximum rises to
        ``forecast * (1 + max_capacity_buffer / 100)`` replicas and stays
        there (AWS ``IncreaseMaxCapacity``).
    max_capacity_buffer
        Percent above the forecast for the raised maximum (0 to 100).
    kind
        ``"value"`` (``metric`` is the total load) or ``"average_value"`` /
        ``"utilization"`` (a per-replica value).
    bucket
        Average the load over buckets of this many seconds and learn one
        value per bucket (``None``: one value per observation).
    fallback
        The policy that decides while the forecaster cannot.
    max_capacity
        The group's maximum (the loop's ``max_replicas``); needed by
        ``max_capacity_behavior="increase"``.
    history
        ``(times, loads)`` of the load before the first observation, learned
        at once (as AWS learns from the metric history it already has), so
        that the policy forecasts from its first step.

    Examples
    --------
    >>> from elastic import Observation
    >>> from elastic.forecast import Drift
    >>> policy = Predictive(Drift(), "rps", 100.0, lead_time=120.0)
    >>> for t, rps in [(0, 400.0), (60, 500.0), (120, 600.0)]:
    ...     policy.observe(Observation(time=t, replicas=4, metrics={"rps": rps}))
    >>> policy.plan(Observation(time=120, replicas=6, metrics={"rps": 600.0}))
    Plan(at=240.0, steps=2, load=800.0, replicas=8)
    >>> policy.recommend(Observation(time=120, replicas=6, metrics={"rps": 600.0})).replicas
    8
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        from elastic.forecast import EWMA, AWSStyle, HoltWinters
        from elastic.policies.target_tracking import TargetTracking

        return [
            {"forecaster": EWMA(), "metric": "rps", "target": 100.0},
            {
                "forecaster": HoltWinters(periods=(4,)),
                "metric": "cpu",
                "target": 60.0,
                "kind": "utilization",
                "bucket": 60.0,
                "level": 90.0,
                "fallback": TargetTracking("cpu", 60.0),
            },
            {
                "forecaster": AWSStyle(min_history_hours=1, refresh_hours=1),
                "metric": "rps",
                "target": 50.0,
                "scale_in": True,
                "max_capacity_behavior": "increase",
                "max_capacity": 10,
                "max_capacity_buffer": 10,
            },
            {"forecaster": EWMA(), "metric": "rps", "target": 100.0, "mode": "forecast_only"},
        ]

    def __init__(
        self,
        forecaster: Forecaster,
        metric: str,
        target: float,
        *,
        lead_time: float | None = None,
        level: float | None = None,
        buffer: float = 0.0,
        mode: Mode = "forecast_and_scale",
        scale_in: bool = False,
        max_capacity_behavior: Literal["honor", "increase"] = "honor",
        max_capacity_buffer: float = 0,
        kind: Kind = "value",
        bucket: float | None = None,
        fallback: Policy | None = None,
        max_capacity: int | None = None,
        history: tuple[ArrayLike, ArrayLike] | None = None,
    ) -> None:
        self.forecaster = forecaster
        self.metric = metric
        self.target = target
        self.lead_time = lead_time
        self.level = level
        self.buffer = buffer
        self.mode = mode
        self.scale_in = scale_in
        self.max_capacity_behavior = max_capacity_behavior
        self.max_capacity_buffer = max_capacity_buffer
        self.kind = kind
        self.bucket = bucket
        self.fallback = fallback
        self.max_capacity = max_capacity
        self.history = history
        self.validate()
        self.model_: Forecaster = clone(forecaster)
        self.time_: float | None = None
        self.interval_: float | None = None
        self.bucket_start_: float | None = None
        self.bucket_sum_ = 0.0
        self.bucket_count_ = 0
        self.learned_: tuple[float, float | None] | None = None  # last time fed, step
        self.error_: str | None = None  # the last failure of the forecaster's learning
        self.raised_max_: int | None = None
        if history is not None:
            times, loads = (np.asarray(part, dtype=np.float64) for part in history)
            for t, load in zip(times.tolist(), loads.tolist(), strict=True):
                self._learn(load, t)

    def validate(self) -> None:
        owner = type(self).__name__

        def fail(name: str, expected: str) -> PolicyError:
            return PolicyError(name, getattr(self, name), expected, owner=owner)

        if not isinstance(self.forecaster, Forecaster):
            raise fail("forecaster", "an object with learn_one(y, t) and forecast(horizon, level)")
        if not isinstance(self.metric, str) or not self.metric:
            raise fail("metric", "a non-empty metric name")
        check_number(self.target, "target", owner=owner, gt=0, error=PolicyError)
        if self.lead_time is not None:
            check_number(self.lead_time, "lead_time", owner=owner, ge=0, error=PolicyError)
        if self.level is not None:
            level = check_number(self.level, "level", owner=owner, gt=0, error=PolicyError)
            if level >= 100:
                raise fail("level", "a percentage < 100")
        check_number(self.buffer, "buffer", owner=owner, ge=0, error=PolicyError)
        modes = ("forecast_and_scale", "forecast_only")
        check_choice(self.mode, "mode", modes, owner=owner, error=PolicyError)
        if not isinstance(self.scale_in, bool):
            raise fail("scale_in", "True or False")
        behaviors = ("honor", "increase")
        check_choice(
            self.max_capacity_behavior,
            "max_capacity_behavior",
            behaviors,
            owner=owner,
            error=PolicyError,
        )
        check_number(
            self.max_capacity_buffer,
            "max_capacity_buffer",
            owner=owner,
            ge=0,
            le=100,
            error=PolicyError,
        )
        kinds = ("value", "average_value", "utilization")
        check_choice(self.kind, "kind", kinds, owner=owner, error=PolicyError)
        if self.bucket is not None:
            check_number(self.bucket, "bucket", owner=owner, gt=0, error=PolicyError)
        if self.fallback is not None and not isinstance(self.fallback, Policy):
            raise fail("fallback", "None or an object with observe() and recommend()")
        if self.max_capacity is not None:
            check_int(self.max_capacity, "max_capacity", owner=owner, ge=0, error=PolicyError)
        elif self.max_capacity_behavior == "increase":
            raise fail("max_capacity", "the group's maximum when max_capacity_behavior='increase'")
        if self.history is not None:
            expected = "None or (times, loads): two sequences of finite numbers, times increasing"
            try:
                times, loads = (np.asarray(part, dtype=np.float64) for part in self.history)
            except (TypeError, ValueError):
                raise fail("history", expected) from None
            if (
                times.ndim != 1
                or times.shape != loads.shape
                or not np.isfinite(times).all()
                or np.isinf(loads).any()
                or np.any(np.diff(times) <= 0)
            ):
                raise fail("history", expected)

    # --- learning ----------------------------------------------------------------------------

    def _load(self, obs: Observation) -> float | None:
        value = obs.metric(self.metric, nonnegative=True)
        if value is None or self.kind == "value":
            return value
        load = value * obs.ready_replicas
        return load if math.isfinite(load) else None

    def observe(self, obs: Observation) -> None:
        now = float(obs.time)
        if self.time_ is not None:
            if now <= self.time_:
                return  # a time seen already teaches nothing (the Policy contract)
            self.interval_ = now - self.time_
        self.time_ = now
        self._learn(self._load(obs), now)
        if self.fallback is not None:
            self.fallback.observe(obs)
        if self.max_capacity_behavior == "increase" and self.max_capacity is not None:
            try:
                plan = self.plan(obs)
            except ForecastError:
                return
            if plan.replicas > self.max_capacity:
                raised = ceil_replicas(plan.replicas * (1 + self.max_capacity_buffer / 100))
                self.raised_max_ = max(self.raised_max_ or 0, raised)

    def _learn(self, load: float | None, now: float) -> None:
        try:
            if self.bucket is None:
                if load is not None:
                    self._feed(load, now)
            else:
                self._add_to_bucket(load, now)
        except Exception as error:  # a failing forecaster must not stop the loop
            self.error_ = f"{type(error).__name__}: {error}"
        else:
            self.error_ = None

    def _feed(self, load: float, t: float) -> None:
        self.model_.learn_one(load, t)
        if self.learned_ is None:
            self.learned_ = (t, None)
        else:  # the step is the first spacing seen, as forecasters take it
            self.learned_ = (t, self.learned_[1] or t - self.learned_[0])

    def _add_to_bucket(self, load: float | None, now: float) -> None:
        assert self.bucket is not None
        start = math.floor(now / self.bucket + 1e-9) * self.bucket
        if self.bucket_start_ is not None and start > self.bucket_start_:
            if self.bucket_count_:
                self._feed(self.bucket_sum_ / self.bucket_count_, self.bucket_start_)
            self.bucket_sum_, self.bucket_count_ = 0.0, 0
        self.bucket_start_ = start
        if load is not None:
            self.bucket_sum_ += load
            self.bucket_count_ += 1

    # --- deciding ----------------------------------------------------------------------------

    def plan(self, obs: Observation) -> Plan:
        """The forecast and the replicas for it at ``obs`` (raises ``ForecastError`` if none).

        Reads the learned state only; :meth:`recommend` acts on it.
        """
        if self.error_ is not None:
            raise ForecastError(self.error_)
        model = self.model_
        # the forecaster's own clock when it has one (it may aggregate), else what was fed
        fed, fed_step = self.learned_ if self.learned_ is not None else (None, None)
        origin = getattr(model, "t_", fed)
        step = getattr(model, "step_", None) or fed_step
        if origin is None or not step:
            raise ForecastError("the forecaster has learned too little to know its time step")
        if self.lead_time is not None:
            lead = float(self.lead_time)
        else:
            lead = (obs.startup or 0.0) + (self.interval_ or 0.0)
        at = float(obs.time) + lead
        steps = max(1, math.floor((at - origin) / step + 1e-9))
        levels = () if self.level is None else (float(self.level),)
        out = model.forecast(steps, levels)
        value = float(out.mean[-1] if self.level is None else out.upper[0][-1])
        if value != value:
            raise ForecastError(f"{type(model).__name__} forecast NaN")
        load = max(0.0, value) * (1.0 + float(self.buffer))
        replicas = ceil_replicas(load / float(self.target))
        return Plan(at=at, steps=steps, load=load, replicas=replicas)

    def recommend(self, obs: Observation) -> Recommendation:
        raised = self.raised_max_
        try:
            plan = self.plan(obs)
        except ForecastError as error:
            return self._without_forecast(obs, str(error), raised)
        what = (
            f"forecast {self.metric} load {plan.load:g} at t={plan.at:g} "
            f"({plan.steps} steps ahead) needs {plan.replicas} at {float(self.target):g} each"
        )
        if self.mode == "forecast_only":
            return Recommendation(
                None, Reason.FORECAST_ONLY, f"would ask for {plan.replicas}: {what}"
            )
        if plan.replicas < obs.replicas and not self.scale_in:
            return Recommendation(
                None,
                Reason.SCALE_IN_DISABLED,
                f"{what}; fewer than {obs.replicas}, and predictive scaling does not scale in",
                max_replicas=raised,
            )
        return Recommendation(plan.replicas, Reason.FORECAST, what, max_replicas=raised)

    def _without_forecast(self, obs: Observation, why: str, raised: int | None) -> Recommendation:
        if self.fallback is None:
            return Recommendation(None, Reason.NO_FORECAST, why, max_replicas=raised)
        backup = self.fallback.recommend(obs)
        high = backup.max_replicas if raised is None else raised
        return Recommendation(
            backup.replicas,
            Reason.FALLBACK,
            f"no forecast ({why}); fallback: {backup.detail}",
            min_replicas=backup.min_replicas,
            max_replicas=high,
        )
