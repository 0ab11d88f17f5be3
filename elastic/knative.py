"""Knative's KPA: the decider with stable and panic windows, and a policy built on it.

Written from Knative Serving's ``pkg/autoscaler/scaling/autoscaler.go``
(``Scale``, ``newAutoscaler``) and the max time window of
``pkg/autoscaler/aggregation/max``; defaults from
``config/core/configmaps/autoscaler.yaml`` and ``pkg/autoscaler/config/config.go``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from elastic.core.loop import DecisionLoop
from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError, PolicyError
from elastic.policies.base import BasePolicy

__all__ = ["TICK_SECONDS", "Decider", "DeciderSpec", "KnativeKPA", "ScaleResult"]

#: the autoscaler's decision tick, also the granularity of the scale-down delay window
TICK_SECONDS = 2


@dataclass(frozen=True, slots=True)
class DeciderSpec:
    """What the KPA decides with (``scaling.DeciderSpec``).

    ``target_value`` is the per-pod target of the scaling metric (for
    concurrency: the container concurrency target times the target
    utilization), ``total_value`` a pod's full capacity, ``panic_threshold``
    a ratio (2.0 = 200 %), windows in seconds. Upstream's zero values are
    valid: an ``activation_scale`` of 0 acts as 1, and a ``stable_window`` of
    0 leaves panic mode at the first decision under the threshold.
    """

    target_value: float
    total_value: float
    target_burst_capacity: float
    panic_threshold: float
    max_scale_up_rate: float
    max_scale_down_rate: float
    activator_capacity: float
    stable_window: float
    scale_down_delay: float = 0.0
    reachable: bool = True
    activation_scale: int = 1
    scaling_metric: Literal["concurrency", "rps"] = "concurrency"

    def __post_init__(self) -> None:
        owner = "DeciderSpec"
        check_number(self.target_value, "target_value", owner=owner, gt=0)
        check_number(self.total_value, "total_value", owner=owner, gt=0)
        check_number(self.target_burst_capacity, "target_burst_capacity", owner=owner, ge=-1)
        check_number(self.panic_threshold, "panic_threshold", owner=owner, gt=0)
        check_number(self.max_scale_up_rate, "max_scale_up_rate", owner=owner, gt=1)
        check_number(self.max_scale_down_rate, "max_scale_down_rate", owner=owner, gt=1)
        check_number(self.activator_capacity, "activator_capacity", owner=owner, gt=0)
        check_number(self.stable_window, "stable_window", owner=owner, ge=0)
        check_number(self.scale_down_delay, "scale_down_delay", owner=owner, ge=0)
        check_int(self.activation_scale, "activation_scale", owner=owner, ge=0)
        check_choice(self.scaling_metric, "scaling_metric", ("concurrency", "rps"), owner=owner)

    @classmethod
    def defaults(cls, **changes: Any) -> DeciderSpec:
        """Knative's defaults for concurrency: target 100 at 70 %, burst capacity 211,
        panic at 200 %, up 1000x, down 2x, a 60 s stable window.

        Examples
        --------
        >>> DeciderSpec.defaults().target_value
        70.0
        """
        values: dict[str, Any] = {
            "target_value": 70.0,
            "total_value": 100.0,
            "target_burst_capacity": 211.0,
            "panic_threshold": 2.0,
            "max_scale_up_rate": 1000.0,
            "max_scale_down_rate": 2.0,
            "activator_capacity": 100.0,
            "stable_window": 60.0,
        }
        return cls(**(values | changes))


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """``desired_pod_count``, ``excess_burst_capacity`` and whether the result is valid."""

    desired_pod_count: int
    excess_burst_capacity: int
    scale_valid: bool


INVALID = ScaleResult(0, 0, False)


def _usable(value: float | None) -> bool:
    """Whether ``value`` is a metric the KPA can decide on: a finite number >= 0."""
    return value is not None and math.isfinite(value) and value >= 0


def _ceil(x: float) -> float:
    """``math.ceil`` as Go's: a float, infinite for an infinite ``x``."""
    return float(math.ceil(x)) if math.isfinite(x) else x


class _MaxWindow:
    """Knative's max time window: the largest value recorded in the last ``duration`` s,
    in buckets of :data:`TICK_SECONDS` (a monotonic deque, as upstream)."""

    def __init__(self, duration: float) -> None:
        self.size = math.ceil(duration / TICK_SECONDS)
        self.maxima: list[tuple[int, int]] = []  # (bucket, value), values descending

    def record(self, now: float, value: int) -> None:
        index = int(now) // TICK_SECONDS
        while self.maxima and self.maxima[-1][1] <= value:
            self.maxima.pop()
        self.maxima.append((index, value))
        while self.maxima and self.maxima[0][0] + self.size <= index:
            self.maxima.pop(0)

    def current(self) -> int:
        return self.maxima[0][1] if self.maxima else 0


class Decider:
    """The KPA for one revision.

    It starts in panic mode when it finds more than one ready pod (so that a
    restart does not scale down before it has data), with that many pods as
    the panic floor.

    Examples
    --------
    >>> spec = DeciderSpec.defaults(target_value=10.0, target_burst_capacity=0.0)
    >>> decider = Decider(spec, ready_pods=1)
    >>> decider.scale(0.0, 1, observed_stable=10.0, observed_panic=10.0).desired_pod_count
    1
    >>> burst = decider.scale(2.0, 1, observed_stable=15.0, observed_panic=50.0)
    >>> burst.desired_pod_count, decider.panicking
    (5, True)
    """

    def __init__(self, spec: DeciderSpec, ready_pods: int, *, now: float = 0.0) -> None:
        self.spec = spec
        ready = check_int(ready_pods, "ready_pods", owner="Decider", ge=0)
        self.panic_time: float | None = float(now) if ready > 1 else None
        self.max_panic_pods = ready
        self.delay = _MaxWindow(spec.scale_down_delay) if spec.scale_down_delay > 0 else None

    @property
    def panicking(self) -> bool:
        return self.panic_time is not None

    def scale(
        self,
        now: float,
        ready_pods: int,
        observed_stable: float | None,
        observed_panic: float | None,
    ) -> ScaleResult:
        """Decide at ``now``; ``None`` observations (or values that are not finite numbers
        >= 0) mean no data: an invalid result."""
        spec = self.spec
        if not (_usable(observed_stable) and _usable(observed_panic)):
            return INVALID
        assert observed_stable is not None and observed_panic is not None
        ready = max(1.0, float(ready_pods))
        max_up = math.ceil(spec.max_scale_up_rate * ready)
        max_down = math.floor(ready / spec.max_scale_down_rate) if spec.reachable else 0.0
        # as Go's math.Ceil, infinite for a ratio too large for a float; the rates bound it
        dspc = _ceil(observed_stable / spec.target_value)
        dppc = _ceil(observed_panic / spec.target_value)
        stable = int(min(max(dspc, max_down), max_up))
        panic = int(min(max(dppc, max_down), max_up))
        if spec.activation_scale > 1:
            if dspc > 0 and spec.activation_scale > stable:
                stable = spec.activation_scale
            if dppc > 0 and spec.activation_scale > panic:
                panic = spec.activation_scale
        over = dppc / ready >= spec.panic_threshold
        if over:  # enter panic, or extend it
            self.panic_time = now
        elif self.panic_time is not None and self.panic_time + spec.stable_window < now:
            self.panic_time = None  # the surge has reached the stable window
            self.max_panic_pods = 0
        desired = stable
        if self.panic_time is not None:
            desired = max(desired, panic)
            self.max_panic_pods = max(self.max_panic_pods, desired)  # never down while panicking
            desired = self.max_panic_pods
        if self.delay is not None and spec.reachable:  # upstream: unreachable goes at once
            self.delay.record(now, desired)
            desired = self.delay.current()
        if spec.target_burst_capacity == 0:
            excess = 0.0
        elif spec.target_burst_capacity > 0:
            capacity = float(ready_pods) * spec.total_value
            excess = math.floor(capacity - spec.target_burst_capacity - observed_panic)
        else:
            excess = -1.0
        return ScaleResult(desired, int(excess), True)


class KnativeKPA(BasePolicy):
    """Knative's pod autoscaler as a policy: window averages of a metric fed to a :class:`Decider`.

    Each observation adds the service's total ``metric`` (the per-replica
    value times the ready replicas when ``per_replica``); the stable value is
    the mean over ``stable_window`` seconds and the panic value the mean over
    ``panic_window_percentage`` % of it (the last value if none falls in
    it). Run it every :data:`TICK_SECONDS` seconds to decide as often as
    Knative does.

    Examples
    --------
    >>> from elastic import Observation
    >>> kpa = KnativeKPA("concurrency", 10.0, target_burst_capacity=0.0)
    >>> for t in range(0, 10, 2):
    ...     obs = Observation(float(t), 1, {"concurrency": 50.0 if t >= 6 else 10.0})
    ...     kpa.observe(obs)
    >>> kpa.recommend(obs).replicas, kpa.decider_.panicking  # panic window mean 36.7 -> 4 pods
    (4, True)
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [
            {},
            {"metric": "rps", "target": 150.0, "per_replica": False, "scale_down_delay": 30.0},
        ]

    def __init__(
        self,
        metric: str = "concurrency",
        target: float = 70.0,
        *,
        per_replica: bool = True,
        total: float = 100.0,
        target_burst_capacity: float = 211.0,
        panic_threshold: float = 2.0,
        max_scale_up_rate: float = 1000.0,
        max_scale_down_rate: float = 2.0,
        stable_window: float = 60.0,
        panic_window_percentage: float = 10.0,
        scale_down_delay: float = 0.0,
        activation_scale: int = 1,
        activator_capacity: float = 100.0,
        reachable: bool = True,
    ) -> None:
        self.metric = metric
        self.target = target
        self.per_replica = per_replica
        self.total = total
        self.target_burst_capacity = target_burst_capacity
        self.panic_threshold = panic_threshold
        self.max_scale_up_rate = max_scale_up_rate
        self.max_scale_down_rate = max_scale_down_rate
        self.stable_window = stable_window
        self.panic_window_percentage = panic_window_percentage
        self.scale_down_delay = scale_down_delay
        self.activation_scale = activation_scale
        self.activator_capacity = activator_capacity
        self.reachable = reachable
        self.validate()
        self.samples_: list[tuple[float, float]] = []
        self.decider_: Decider | None = None
        self.last_: tuple[float, ScaleResult] | None = None
        self.rejected_: str | None = None

    def spec(self) -> DeciderSpec:
        """The decider's spec from these parameters."""
        return DeciderSpec(
            target_value=float(self.target),
            total_value=float(self.total),
            target_burst_capacity=float(self.target_burst_capacity),
            panic_threshold=float(self.panic_threshold),
            max_scale_up_rate=float(self.max_scale_up_rate),
            max_scale_down_rate=float(self.max_scale_down_rate),
            activator_capacity=float(self.activator_capacity),
            stable_window=float(self.stable_window),
            scale_down_delay=float(self.scale_down_delay),
            reachable=bool(self.reachable),
            activation_scale=int(self.activation_scale),
            scaling_metric="rps" if self.metric == "rps" else "concurrency",
        )

    def validate(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.metric, str) or not self.metric:
            raise PolicyError("metric", self.metric, "a non-empty metric name", owner=owner)
        check_number(
            self.panic_window_percentage,
            "panic_window_percentage",
            owner=owner,
            gt=0,
            le=100,
            error=PolicyError,
        )
        for name in ("per_replica", "reachable"):
            if not isinstance(getattr(self, name), bool):
                raise PolicyError(name, getattr(self, name), "True or False", owner=owner)
        try:
            self.spec()
        except ParameterError as error:  # named as the user wrote it, not as the spec does
            name = {"target_value": "target", "total_value": "total"}.get(error.name, error.name)
            raise PolicyError(name, error.value, error.expected, owner=owner) from None
        except (TypeError, ValueError) as error:
            raise PolicyError("spec", self.get_params(), str(error), owner=owner) from None

    def loop(self, min_scale: int = 0, max_scale: int = 1000) -> DecisionLoop:
        """A loop that runs the KPA alone, within the ``min-scale``/``max-scale`` annotations."""
        return DecisionLoop(self, min_replicas=min_scale, max_replicas=max_scale)

    def _windows(self, now: float) -> tuple[float | None, float | None]:
        stable_from = now - float(self.stable_window)
        panic_from = now - float(self.stable_window) * float(self.panic_window_percentage) / 100
        # a window of 0 s holds the value observed now
        stable = [v for t, v in self.samples_ if t > stable_from or t == now]
        panic = [v for t, v in self.samples_ if t > panic_from or t == now] or stable[-1:]
        if not stable:
            return None, None
        return sum(stable) / len(stable), sum(panic) / len(panic)

    def observe(self, obs: Observation) -> None:
        now = float(obs.time)
        if self.last_ is not None and now <= self.last_[0]:
            return  # a time seen already teaches nothing (the Policy contract)
        value = obs.metric(self.metric, nonnegative=True)
        ready = obs.ready_replicas
        self.rejected_ = None
        if value is not None:
            total = value * ready if self.per_replica else value
            if math.isfinite(total):
                self.samples_.append((now, total))
            else:
                self.rejected_ = (
                    f"{self.metric}={value!r} over {ready} ready pods overflows; taken as missing"
                )
        elif self.metric in obs.metrics:
            self.rejected_ = f"{obs.missing(self.metric, nonnegative=True)}; taken as missing"
        cutoff = now - float(self.stable_window)
        self.samples_ = [(t, v) for t, v in self.samples_ if t > cutoff or t == now]
        if self.decider_ is None:
            self.decider_ = Decider(self.spec(), ready, now=now)
        stable, panic = self._windows(now)
        self.last_ = (now, self.decider_.scale(now, ready, stable, panic))

    def recommend(self, obs: Observation) -> Recommendation:
        if self.last_ is None or self.last_[0] != float(obs.time):
            return Recommendation(None, Reason.NO_DATA, "the KPA has not observed this time")
        result = self.last_[1]
        rejected = "" if self.rejected_ is None else f"; {self.rejected_}"
        if not result.scale_valid:
            return Recommendation(None, Reason.NO_DATA, f"no {self.metric} data yet{rejected}")
        mode = "panic" if self.decider_ is not None and self.decider_.panicking else "stable"
        return Recommendation(
            result.desired_pod_count,
            Reason.TARGET_TRACKING,
            f"{mode} mode: {result.desired_pod_count} pods; "
            f"excess burst capacity {result.excess_burst_capacity}{rejected}",
        )
