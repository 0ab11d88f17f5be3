"""An ``autoscaling/v2`` HorizontalPodAutoscaler as an elastic policy, computing what upstream does.

Each sync (each observation) runs upstream's ``reconcileAutoscaler``: every
metric proposes a count with the replica calculation of
:mod:`elastic.kubernetes.replicas` (the largest wins; a failed metric is
skipped unless all fail or the others would scale down), the proposal is
stabilized and normalized as :mod:`elastic.kubernetes.behavior` does, and
the scale events and recommendations are remembered as the controller keeps
them. The policy therefore does its own stabilization and rate limiting:
run it in a loop with no ``behavior`` (:meth:`HorizontalPodAutoscaler.loop`).

An :class:`~elastic.Observation` carries aggregates, so the pods are
rebuilt from it, as counts (a billion replicas are three pod groups, not a
billion pods): ``ready - warming`` running pods and ``warming`` pods in
their CPU initialization period, all with the observed per-pod value, and
``pending`` pods in phase Pending. Metric values are read from
``obs.metrics`` by metric name, in their natural unit (a Utilization metric
in percent, other values as plain numbers); targets are milli-units, as in
the API. A value that is not a finite number >= 0 (infinite, NaN, negative)
is a missing metric, with the reason in the detail: as upstream with a
metric it cannot read, the HPA then does not scale down. Milli-values
saturate at the int64 maximum, as the metrics APIs' do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from elastic.core.loop import DecisionLoop
from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_choice, check_int
from elastic.errors import MetricsError, ParameterError, PolicyError
from elastic.kubernetes.behavior import (
    Behavior,
    ScaleEvent,
    normalize,
    stabilize,
    store_scale_event,
)
from elastic.kubernetes.quantity import INT64_MAX
from elastic.kubernetes.replicas import (
    Pod,
    Tolerance,
    average_value_replicas,
    average_value_total_replicas,
    utilization_replicas,
    value_replicas,
)
from elastic.policies.base import BasePolicy

__all__ = ["DEFAULT_CPU_UTILIZATION", "HorizontalPodAutoscaler", "Metric"]

#: the target of an HPA that names no metric (``DefaultCPUUtilization``)
DEFAULT_CPU_UTILIZATION = 80
_REQUEST = 1000  # the rebuilt pods' request: utilization is usage / request

MetricType = Literal["Resource", "ContainerResource", "Pods", "Object", "External"]
TargetType = Literal["Utilization", "AverageValue", "Value"]
_TARGETS = {
    "Resource": ("Utilization", "AverageValue"),
    "ContainerResource": ("Utilization", "AverageValue"),
    "Pods": ("AverageValue",),
    "Object": ("Value", "AverageValue"),
    "External": ("Value", "AverageValue"),
}
_REASONS = {
    "ScaleUpLimit": Reason.SCALE_UP_LIMIT,
    "ScaleDownLimit": Reason.SCALE_DOWN_LIMIT,
    "TooFewReplicas": Reason.TOO_FEW,
    "TooManyReplicas": Reason.TOO_MANY,
}


def _milli(value: float) -> int:
    """A finite value >= 0 as a metrics API milli-value: rounded, saturating at int64."""
    return INT64_MAX if value >= INT64_MAX else round(value)


@dataclass(frozen=True, slots=True)
class Metric:
    """One entry of ``spec.metrics``.

    Parameters
    ----------
    type
        ``"Resource"``, ``"ContainerResource"``, ``"Pods"``, ``"Object"`` or ``"External"``.
    name
        The resource (``"cpu"``, ``"memory"``) or the metric name.
    target_type
        ``"Utilization"`` (Resource kinds), ``"AverageValue"`` or ``"Value"``
        (Object and External).
    target
        Percent for ``Utilization``; milli-units otherwise (``parse_quantity``).
    container, described_object, selector
        Kept for the manifest (the container of a ContainerResource metric,
        the object of an Object metric, the metric selector).
    """

    type: MetricType
    name: str
    target_type: TargetType
    target: int
    container: str | None = None
    described_object: Mapping[str, Any] | None = None
    selector: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        owner = "Metric"
        check_choice(self.type, "type", tuple(_TARGETS), owner=owner)
        check_choice(self.target_type, "target_type", _TARGETS[self.type], owner=owner)
        check_int(self.target, "target", owner=owner, ge=1)
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", self.name, "a metric or resource name", owner=owner)


@dataclass(frozen=True, slots=True)
class _State:
    recommendations: tuple[tuple[float, int], ...] = ()
    ups: tuple[ScaleEvent, ...] = ()
    downs: tuple[ScaleEvent, ...] = ()


class HorizontalPodAutoscaler(BasePolicy):
    """The Kubernetes HPA controller's decision for one target.

    Parameters
    ----------
    metrics
        The metrics (``()``: CPU at 80 % utilization, as the API defaults).
    min_replicas, max_replicas
        ``spec.minReplicas`` (default 1) and ``spec.maxReplicas``.
    behavior
        ``spec.behavior``; ``None`` is the no-behavior path (scale-up capped at
        ``max(2 * current, 4)``, a 300 s downscale stabilization).
    tolerance
        The controller's ``--horizontal-pod-autoscaler-tolerance`` (a float)
        or per-direction :class:`Tolerance`; a direction's ``tolerance`` in
        ``behavior`` wins over it.
    name, target_ref
        ``metadata.name`` and ``spec.scaleTargetRef``, kept for the manifest.

    Examples
    --------
    >>> from elastic import Observation
    >>> cpu = Metric("Resource", "cpu", "Utilization", 50)
    >>> hpa = HorizontalPodAutoscaler([cpu], max_replicas=10)
    >>> obs = Observation(0.0, 4, {"cpu": 90.0})
    >>> hpa.observe(obs)
    >>> rec = hpa.recommend(obs)
    >>> rec.replicas, rec.detail
    (8, 'cpu proposes 8; DesiredWithinRange')
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        from elastic.kubernetes.behavior import ScalingRules

        return [
            {"max_replicas": 12},
            {
                "metrics": [
                    Metric("Resource", "cpu", "Utilization", 60),
                    Metric("External", "rps", "AverageValue", 100_000),
                ],
                "min_replicas": 2,
                "max_replicas": 20,
                "behavior": Behavior(scale_down=ScalingRules(stabilization_window_seconds=60)),
            },
        ]

    def __init__(
        self,
        metrics: Sequence[Metric] = (),
        *,
        min_replicas: int = 1,
        max_replicas: int = 10,
        behavior: Behavior | None = None,
        tolerance: float | Tolerance = 0.1,
        name: str = "hpa",
        target_ref: Mapping[str, str] | None = None,
    ) -> None:
        self.metrics = metrics
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.behavior = behavior
        self.tolerance = tolerance
        self.name = name
        self.target_ref = target_ref
        self.validate()
        self.state_ = _State()
        self.last_: tuple[float, int, Recommendation] | None = None

    def validate(self) -> None:
        owner = type(self).__name__
        low = check_int(self.min_replicas, "min_replicas", owner=owner, ge=0, error=PolicyError)
        high = check_int(self.max_replicas, "max_replicas", owner=owner, ge=1, error=PolicyError)
        if low > high:
            raise PolicyError("min_replicas", low, f"at most max_replicas ({high})", owner=owner)
        for i, metric in enumerate(self.metrics):
            if not isinstance(metric, Metric):
                raise PolicyError(f"metrics[{i}]", metric, "a Metric", owner=owner)
        if self.behavior is not None and not isinstance(self.behavior, Behavior):
            raise PolicyError("behavior", self.behavior, "None or a Behavior", owner=owner)
        Tolerance.of(self.tolerance)

    def loop(self) -> DecisionLoop:
        """A decision loop that runs this HPA as the controller does (no extra stages)."""
        return DecisionLoop(self, min_replicas=0, max_replicas=max(self.max_replicas, 1))

    # --- the controller's sync ----------------------------------------------------------------

    @property
    def _metrics(self) -> Sequence[Metric]:
        return self.metrics or (Metric("Resource", "cpu", "Utilization", DEFAULT_CPU_UTILIZATION),)

    def _tolerance(self) -> Tolerance:
        base = Tolerance.of(self.tolerance)
        behavior = self.behavior
        if behavior is None:
            return base
        up = behavior.scale_up.tolerance if behavior.scale_up else None
        down = behavior.scale_down.tolerance if behavior.scale_down else None
        return Tolerance(
            base.scale_up if up is None else up, base.scale_down if down is None else down
        )

    def _pods(self, obs: Observation, value: float | None, utilization: bool) -> list[Pod]:
        """The pods as the HPA would list them, from the observation's aggregates, as groups
        of identical pods."""
        usage = None if value is None else _milli(value * (_REQUEST / 100 if utilization else 1000))
        ready = obs.ready_replicas
        warming = min(max(obs.warming, 0), ready)
        groups: list[Pod] = []
        for name, count, initializing in (("running", ready - warming, False),
                                          ("warming", warming, True)):  # fmt: skip
            if count > 0:
                groups.append(
                    Pod(name, request=_REQUEST, usage=usage, initializing=initializing, count=count)
                )
        if obs.pending > 0:
            groups.append(Pod("pending", phase="Pending", request=_REQUEST, count=obs.pending))
        return groups

    def _propose(self, metric: Metric, obs: Observation, current: int) -> int:
        """One metric's proposal (raises MetricsError where upstream fails)."""
        value = obs.metric(metric.name, nonnegative=True)
        if value is None and metric.name in obs.metrics:
            raise MetricsError(f"{obs.missing(metric.name, nonnegative=True)}; taken as missing")
        tolerance = self._tolerance()
        if metric.type in ("Resource", "ContainerResource"):
            cpu = metric.name == "cpu"
            if metric.target_type == "Utilization":
                pods = self._pods(obs, value, utilization=True)
                return utilization_replicas(
                    current, pods, metric.target, resource=metric.name, tolerance=tolerance
                ).replicas
            pods = self._pods(obs, value, utilization=False)
            return average_value_replicas(
                current, pods, metric.target, tolerance=tolerance, resource="cpu" if cpu else None
            ).replicas
        if metric.type == "Pods":
            pods = self._pods(obs, value, utilization=False)
            return average_value_replicas(
                current, pods, metric.target, tolerance=tolerance
            ).replicas
        if value is None:
            raise MetricsError(f"unable to get {metric.type} metric {metric.name}")
        milli = _milli(value * 1000)
        if metric.target_type == "Value":
            if current and not obs.ready_replicas + obs.pending:
                raise MetricsError("no pods returned by selector while calculating replica count")
            ready = obs.ready_replicas
            return value_replicas(
                current, milli, metric.target, ready, tolerance=tolerance
            ).replicas
        return average_value_total_replicas(
            current, milli, metric.target, tolerance=tolerance
        ).replicas

    def _reconcile(self, obs: Observation, state: _State) -> tuple[Recommendation, _State]:
        current = int(obs.replicas)
        low, high = int(self.min_replicas), int(self.max_replicas)
        if current == 0 and low != 0:
            return Recommendation(0, Reason.HOLD, "ScalingDisabled: the target is at zero"), state
        if current > high:
            return Recommendation(
                high, Reason.TOO_MANY, "current replicas above maxReplicas"
            ), state
        if current < low:
            return Recommendation(low, Reason.TOO_FEW, "current replicas below minReplicas"), state
        proposal, chosen, errors = 0, "", []
        for metric in self._metrics:
            try:
                replicas = self._propose(metric, obs, current)
            except MetricsError as error:
                errors.append(f"{metric.name}: {error}")
                continue
            if proposal == 0 or replicas > proposal:
                proposal, chosen = replicas, metric.name
        if len(errors) == len(self._metrics) or (errors and proposal < current):
            why = f"invalid metrics ({len(errors)} of {len(self._metrics)}): {errors[0]}"
            return Recommendation(None, Reason.NO_DATA, why), state
        desired = max(0, proposal)
        stabilized, kept = stabilize(
            state.recommendations, desired, current, float(obs.time), self.behavior
        )
        replicas, condition = normalize(
            current,
            stabilized,
            min_replicas=low,
            max_replicas=high,
            behavior=self.behavior,
            scale_up_events=state.ups,
            scale_down_events=state.downs,
            now=float(obs.time),
        )
        state = replace(state, recommendations=tuple(kept))
        if replicas != current and self.behavior is not None:
            if replicas > current:
                ups = store_scale_event(state.ups, replicas - current, obs.time, self.behavior.up)
                state = replace(state, ups=tuple(ups))
            else:
                downs = store_scale_event(
                    state.downs, current - replicas, obs.time, self.behavior.down
                )
                state = replace(state, downs=tuple(downs))
        if condition in _REASONS:
            reason = _REASONS[condition]
        elif stabilized != desired:
            reason = Reason.STABILIZED
        elif desired == current:
            reason = Reason.WITHIN_TOLERANCE
        else:
            reason = Reason.TARGET_TRACKING
        detail = f"{chosen} proposes {desired}"
        if stabilized != desired:
            detail += f", stabilized to {stabilized}"
        return Recommendation(replicas, reason, f"{detail}; {condition}"), state

    def observe(self, obs: Observation) -> None:
        if self.last_ is not None and float(obs.time) <= self.last_[0]:
            return  # a time seen already teaches nothing (the Policy contract)
        rec, self.state_ = self._reconcile(obs, self.state_)
        self.last_ = (float(obs.time), int(obs.replicas), rec)

    def recommend(self, obs: Observation) -> Recommendation:
        last = self.last_
        if last is not None and last[0] == float(obs.time) and last[1] == obs.replicas:
            return last[2]
        return self._reconcile(obs, self.state_)[0]

    # --- manifests ----------------------------------------------------------------------------

    @classmethod
    def from_manifest(cls, doc: Mapping[str, Any] | str) -> HorizontalPodAutoscaler:
        """Build from an ``autoscaling/v2`` HorizontalPodAutoscaler (a dict or YAML text).

        Examples
        --------
        >>> hpa = HorizontalPodAutoscaler.from_manifest('''
        ... apiVersion: autoscaling/v2
        ... kind: HorizontalPodAutoscaler
        ... metadata: {name: web}
        ... spec:
        ...   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
        ...   minReplicas: 2
        ...   maxReplicas: 20
        ...   metrics:
        ...   - type: Resource
        ...     resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
        ... ''')
        >>> hpa.min_replicas, hpa.max_replicas, hpa.metrics[0].target
        (2, 20, 60)
        """
        from elastic.kubernetes.manifest import hpa_from_manifest

        return hpa_from_manifest(doc)

    def to_manifest(self) -> dict[str, Any]:
        """The ``autoscaling/v2`` manifest of this HPA (a dict; ``yaml.safe_dump`` it to write)."""
        from elastic.kubernetes.manifest import hpa_to_manifest

        return hpa_to_manifest(self)
