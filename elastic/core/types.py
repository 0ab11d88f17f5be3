"""The values that flow through a decision loop: observations in, decisions out."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from elastic.core.frozen import fast_init
from elastic.errors import ParameterError

__all__ = [
    "Decision",
    "Forecast",
    "Observation",
    "Reason",
    "Recommendation",
    "Stage",
    "unusable",
]


class Reason(enum.Enum):
    """Why a policy or a stage of the loop produced its number.

    Policies explain their recommendation with the first group, the loop's
    stages with the second. A stage that left the number alone says
    ``UNCHANGED``.
    """

    # Policies
    TARGET_TRACKING = "target_tracking"
    """Proportional to the ratio of the metric to its target."""
    WITHIN_TOLERANCE = "within_tolerance"
    """The metric is inside the tolerance band around the target: hold."""
    SCALE_IN_MARGIN = "scale_in_margin"
    """The metric is below target but not by the scale-in margin: hold."""
    SCALE_IN_DISABLED = "scale_in_disabled"
    """The policy would scale in but may not; it abstains."""
    STEP_ADJUSTMENT = "step_adjustment"
    """A step of a step-scaling policy matched the metric."""
    NO_BREACH = "no_breach"
    """No step matches the metric (no alarm): the policy abstains."""
    EVALUATING = "evaluating"
    """The alarm is breached but not yet for enough periods: the policy abstains."""
    NO_DATA = "no_data"
    """The metric the policy needs is missing: the policy abstains."""
    SCHEDULED = "scheduled"
    """A scheduled action set the capacity or the bounds."""
    FORECAST = "forecast"
    """A predictive policy sized the capacity for the forecast load."""
    NO_FORECAST = "no_forecast"
    """The forecaster cannot forecast yet (too little history) or failed: the policy
    abstains (without blocking scale-in, unlike ``NO_DATA``)."""
    FORECAST_ONLY = "forecast_only"
    """A predictive policy in forecast-only mode: it abstains; the detail says what it
    would have done."""
    FALLBACK = "fallback"
    """The primary policy could not decide; its fallback did."""
    COMBINED = "combined"
    """Not produced any more: the loop's combine stage and the combinators keep the
    reason of the recommendation they took. Kept so that older records still read."""
    # Stages of the loop
    UNCHANGED = "unchanged"
    """The stage did not change the number."""
    HOLD = "hold"
    """No policy had a recommendation: keep the current count."""
    SCALE_IN_BLOCKED = "scale_in_blocked"
    """The AWS rule: scale in only when every policy wants to."""
    STABILIZED = "stabilized"
    """A stabilization window kept an earlier recommendation."""
    SCALE_UP_LIMIT = "scale_up_limit"
    """The scale-up rate limit capped the increase."""
    SCALE_DOWN_LIMIT = "scale_down_limit"
    """The scale-down rate limit capped the decrease."""
    SCALING_DISABLED = "scaling_disabled"
    """Scaling in this direction is disabled (``select_policy="Disabled"``)."""
    TOO_FEW = "too_few"
    """Raised to the minimum number of replicas."""
    TOO_MANY = "too_many"
    """Lowered to the maximum number of replicas."""
    COOLDOWN = "cooldown"
    """A cooldown after an earlier scaling activity holds the count."""
    WARMUP = "warmup"
    """Replicas are still warming up: scale-in is held."""
    # Controllers
    POLICY_ERROR = "policy_error"
    """A policy raised: a controller holds the count and keeps running (the detail
    says what was raised)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What a controller knows at one instant.

    Parameters
    ----------
    time
        Seconds, on whatever clock the caller runs (simulation time, Unix time).
    replicas
        The current desired replica count (what was last asked for).
    metrics
        Aggregated metric values by name, e.g. ``{"cpu": 63.0, "rps": 812.0}``.
        Per-replica aggregates are over ready replicas that are not warming up.
    ready
        Replicas ready to serve; ``None`` when unknown (then taken as ``replicas``).
    pending
        Replicas requested but still provisioning.
    warming
        Ready replicas still inside their warm-up period.
    startup
        Seconds a new replica takes from being requested to serving (its
        expected boot time), when the controller knows it; ``None`` otherwise.
        Predictive policies plan that far ahead.
    terminating
        Replicas asked to stop that are still draining (not in ``replicas``).
        AWS counts them in the current capacity while scaling in
        (CloudWatch's ``GroupTerminatingInstances``).

    Every field is checked when the observation is made, so no policy ever
    sees an impossible one: the counts are integers ``>= 0`` (``ready`` at
    most ``replicas``, ``warming`` at most ``ready``), ``time`` and
    ``startup`` finite numbers, and every metric value a real number (not a
    bool or a string). A metric value that is NaN or infinite is kept as
    given but reads as missing (:meth:`metric` returns ``None``), as a
    failed scrape does.

    Examples
    --------
    >>> obs = Observation(time=60.0, replicas=4, metrics={"cpu": 75.0})
    >>> obs.metric("cpu"), obs.metric("memory")
    (75.0, None)
    >>> obs.ready_replicas
    4
    >>> Observation(time=0.0, replicas=4, metrics={"cpu": float("inf")}).metric("cpu") is None
    True
    >>> Observation(time=0.0, replicas=4, metrics={"cpu": "50"})
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: Observation: metrics['cpu']='50' is invalid; expected a real ...
    """

    time: float
    replicas: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    ready: int | None = None
    pending: int = 0
    warming: int = 0
    startup: float | None = None
    terminating: int = 0

    def __post_init__(self) -> None:
        time = self.time
        if not (type(time) is float or _is_float(time)) or not math.isfinite(time):
            raise ParameterError("time", time, "a finite number of seconds", owner="Observation")
        for name in ("replicas", "pending", "warming", "terminating"):
            _check_count(name, getattr(self, name))
        if self.ready is not None:
            _check_count("ready", self.ready)
            if self.ready > self.replicas:
                raise ParameterError(
                    "ready", self.ready, f"at most replicas ({self.replicas})", owner="Observation"
                )
        ready = self.replicas if self.ready is None else self.ready
        if self.warming > ready:
            raise ParameterError(
                "warming",
                self.warming,
                f"at most the ready replicas ({ready}): warming ones are ready ones",
                owner="Observation",
            )
        startup = self.startup
        if startup is not None and (not _is_float(startup) or not 0 <= startup < math.inf):
            raise ParameterError("startup", startup, "None or seconds >= 0", owner="Observation")
        metrics = self.metrics
        if type(metrics) is not dict and not isinstance(metrics, Mapping):
            raise ParameterError(
                "metrics", metrics, "a mapping of metric names to numbers", owner="Observation"
            )
        for key, value in metrics.items():
            if type(key) is str and type(value) is float:
                continue
            if type(key) is not str:
                raise ParameterError(
                    "metrics", metrics, "metric names that are strings", owner="Observation"
                )
            if not _is_float(value):
                raise ParameterError(
                    f"metrics[{key!r}]",
                    value,
                    "a real number within a float's range (NaN or inf for a missing value)",
                    owner="Observation",
                )

    def metric(self, name: str, *, nonnegative: bool = False) -> float | None:
        """The value of metric ``name``, or ``None`` when it is missing, NaN or infinite
        (or negative, with ``nonnegative=True``: a utilization or a count cannot be);
        :meth:`missing` says why."""
        value = self.metrics.get(name)
        if value is None:
            return None
        value = float(value)
        if -math.inf < value < math.inf and (value >= 0 or not nonnegative):
            return value
        return None

    def missing(self, name: str, *, nonnegative: bool = False) -> str | None:
        """Why :meth:`metric` has no value for ``name``, as a phrase (``None`` if it has one).

        Examples
        --------
        >>> obs = Observation(0.0, 2, {"cpu": float("inf"), "rps": -3.0})
        >>> obs.missing("cpu"), obs.missing("rps", nonnegative=True), obs.missing("queue")
        ('cpu=inf is not a finite number', 'rps=-3.0 is negative', 'no value for queue')
        """
        if self.metric(name, nonnegative=nonnegative) is not None:
            return None
        value = self.metrics.get(name)
        return f"no value for {name}" if value is None else unusable(name, value, nonnegative)

    @property
    def ready_replicas(self) -> int:
        """Ready replicas, taking ``ready=None`` to mean all of them."""
        return self.replicas if self.ready is None else self.ready


def unusable(name: str, value: float, nonnegative: bool = False) -> str | None:
    """Why ``value`` is no value of metric ``name`` (NaN, infinite, or negative where it
    must not be), as a phrase; ``None`` when it is a usable value.

    Examples
    --------
    >>> unusable("cpu", float("nan")), unusable("cpu", -1.0, nonnegative=True)
    ('cpu=nan is not a finite number', 'cpu=-1.0 is negative')
    >>> unusable("cpu", 42.0) is None
    True
    """
    value = float(value)
    if not math.isfinite(value):
        return f"{name}={value!r} is not a finite number"
    if nonnegative and value < 0:
        return f"{name}={value!r} is negative"
    return None


def _is_float(value: object) -> bool:
    """Whether ``value`` is a real number a float can hold (not a bool, not 10**400)."""
    if not isinstance(value, Real) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _check_count(name: str, value: object) -> None:
    if type(value) is int:
        if value >= 0:
            return
    elif isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= 0:
        return
    raise ParameterError(name, value, "an integer >= 0", owner="Observation")


@fast_init
@dataclass(frozen=True, slots=True)
class Recommendation:
    """What one policy wants.

    Parameters
    ----------
    replicas
        The replica count the policy wants, or ``None`` when it abstains
        (no data, no alarm, scale-in disabled); abstaining is not the same as
        asking to keep the current count.
    reason
        Why.
    detail
        A sentence for people, with the numbers that led here.
    min_replicas, max_replicas
        Bounds the policy imposes on the loop from now on (scheduled actions);
        ``None`` leaves the loop's own bound.
    """

    replicas: int | None
    reason: Reason
    detail: str = ""
    min_replicas: int | None = None
    max_replicas: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Stage:
    """The value one stage of the loop produced and why."""

    name: str
    replicas: int
    reason: Reason
    detail: str = ""


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one step of a :class:`~elastic.DecisionLoop`.

    ``replicas`` is final; ``stages`` holds, in order, what each stage made of
    it, so that every number can be explained.
    """

    time: float
    current: int
    replicas: int
    recommendations: tuple[Recommendation, ...]
    stages: tuple[Stage, ...]

    @property
    def changed(self) -> bool:
        """Whether the decision asks for a different replica count."""
        return self.replicas != self.current

    @property
    def reason(self) -> Reason:
        """Why the decision is what it is: the reason of the last stage that changed the
        number, or, when no later stage did, the reason of the recommendation the combine
        stage took (the policy's own: ``TARGET_TRACKING``, ``WITHIN_TOLERANCE``,
        ``NO_DATA``...)."""
        for stage in reversed(self.stages):
            if stage.reason is not Reason.UNCHANGED:
                return stage.reason
        return Reason.UNCHANGED

    def stage(self, name: str) -> Stage:
        """The stage called ``name`` (``"combine"``, ``"stabilize"``, ``"rate_limit"``,
        ``"bounds"``, ``"cooldown"``)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        names = ", ".join(s.name for s in self.stages)
        raise KeyError(f"no stage {name!r}; the stages are {names}")


@dataclass(frozen=True, slots=True)
class Forecast:
    """Point forecasts and prediction intervals for the next ``len(mean)`` steps.

    Parameters
    ----------
    mean
        The point forecast for steps ``1..h`` ahead.
    level
        The interval levels, in percent (``(80.0, 95.0)``), possibly empty.
    lower, upper
        Interval bounds, one row per level (shape ``(len(level), h)``).
    times
        The time each step stands for (the forecaster's clock).

    Examples
    --------
    >>> import numpy as np
    >>> f = Forecast(np.array([10.0, 11.0]), (90.0,), np.array([[8.0, 8.5]]),
    ...              np.array([[12.0, 13.5]]), np.array([60.0, 120.0]))
    >>> f.interval(90)[1].tolist()
    [12.0, 13.5]
    """

    mean: np.ndarray
    level: tuple[float, ...]
    lower: np.ndarray
    upper: np.ndarray
    times: np.ndarray

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The lower and upper bounds at ``level`` percent (one of :attr:`level`)."""
        for i, have in enumerate(self.level):
            if abs(have - level) < 1e-9:
                return self.lower[i], self.upper[i]
        raise KeyError(f"no {level:g} % interval; the forecast has {list(self.level)}")
