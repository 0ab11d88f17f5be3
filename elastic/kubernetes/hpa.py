"""An ``autoscaling/v2`` HorizontalPodAutoscaler, split as upstream splits it.

The policy is the replica calculation of each sync (upstream
``computeReplicasForMetrics``): every metric proposes a count with
:mod:`elastic.kubernetes.replicas`, the largest wins, and a failed metric is
skipped unless all fail or the others would scale down. The rest of the
controller's sync, its normalization (stabilization, rate limits,
``minReplicas``/``maxReplicas``) and what it remembers between syncs, are
the stages of :class:`~elastic.DecisionLoop`:
:meth:`HorizontalPodAutoscaler.loop` builds that loop from the HPA's
``behavior`` and bounds. The policy keeps no state.

An :class:`~elastic.Observation` carries aggregates, so the pods are
rebuilt from it, as counts (a billion replicas are three pod groups, not a
billion pods): ``ready - warming`` running pods and ``warming`` pods in
their CPU initialization period, all with the observed per-pod value, and
``pending`` pods in phase Pending. The warming pods are the HPA's to judge
(``sees_warming``): the loop does not take them away first. Metric values
are read from ``obs.metrics`` by metric name, in their natural unit (a
Utilization metric in percent, other values as plain numbers); targets are
milli-units, as in the API. A value that is not a finite number >= 0 (infinite, NaN, negative)
is a missing metric, with the reason in the detail: as upstream with a
metric it cannot read, the HPA then does not scale down. Milli-values
saturate at the int64 maximum, as the metrics APIs' do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from elastic.core.behavior import Behavior, ScalingRules
from elastic.core.loop import DecisionLoop
from elastic.core.space import Int, Parameter
from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_choice, check_int
from elastic.errors import MetricsError, ParameterError, PolicyError
from elastic.kubernetes.behavior import API_PERIOD, API_WINDOW
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


def _check_behavior(behavior: Behavior, owner: str) -> None:
    """Raise a PolicyError where ``behavior`` does not fit ``autoscaling/v2``'s validation."""
    if behavior.no_behavior:
        raise PolicyError(
            "behavior",
            behavior,
            "None for an HPA without spec.behavior, or a Behavior of its rules",
            owner=owner,
        )
    for direction in ("scale_up", "scale_down"):
        rules: ScalingRules = getattr(behavior, direction)
        window = rules.stabilization_window_seconds
        if window != int(window) or window > API_WINDOW:
            raise PolicyError(
                f"behavior.{direction}.stabilization_window_seconds",
                window,
                f"whole seconds from 0 to {API_WINDOW}",
                owner=owner,
            )
        for i, limit in enumerate(rules.policies):
            period = limit.period_seconds
            if period != int(period) or period > API_PERIOD:
                raise PolicyError(
                    f"behavior.{direction}.policies[{i}].period_seconds",
                    period,
                    f"whole seconds from 1 to {API_PERIOD}",
                    owner=owner,
                )


class HorizontalPodAutoscaler(BasePolicy):
    """The Kubernetes HPA's replica proposal for one target; :meth:`loop` runs the controller.

    Parameters
    ----------
    metrics
        The metrics (``()``: CPU at 80 % utilization, as the API defaults).
    min_replicas, max_replicas
        ``spec.minReplicas`` (default 1) and ``spec.maxReplicas``: the bounds
        of :meth:`loop`.
    behavior
        ``spec.behavior`` as an :class:`elastic.Behavior` (every field given:
        :meth:`~elastic.Behavior.kubernetes_default` has the defaults a
        manifest's left-out fields take); ``None`` is an HPA without
        ``behavior`` (:meth:`~elastic.Behavior.kubernetes_no_behavior`:
        scale-up capped at ``max(2 * current, 4)``, a 300 s downscale
        stabilization). Its rules run in :meth:`loop`'s stages; the
        directions' ``tolerance`` is the policy's.
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
    >>> obs = Observation(0.0, 4, {"cpu": 190.0})
    >>> rec = hpa.recommend(obs)   # the proposal: 3.8 x 4 pods
    >>> rec.replicas, rec.detail
    (16, 'cpu proposes 16')
    >>> hpa.loop().step(obs).replicas   # the controller: at most max(2 x 4, 4), then 10
    8
    """

    #: The CPU-initialization rule reads ``obs.warming``: the loop leaves warming pods in.
    sees_warming: ClassVar[bool] = True

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
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

    def search_space(self) -> dict[str, Parameter]:
        """Each metric's target (``metrics[i].target``): a utilization from half to 1.5
        times it in whole percent (at most 100 when it is), a value in milli-units from
        half to twice it on a log scale. The ``behavior`` is the loop's
        (:meth:`DecisionLoop.search_space`).

        Examples
        --------
        >>> HorizontalPodAutoscaler([Metric("Resource", "cpu", "Utilization", 60)]).search_space()
        {'metrics[0].target': Int(low=30, high=90, log=False)}
        """
        space: dict[str, Parameter] = {}
        for i, metric in enumerate(self.metrics):
            value = int(metric.target)
            if metric.target_type == "Utilization":
                high = min(value * 3 // 2, 100) if value <= 100 else value * 3 // 2
                space[f"metrics[{i}].target"] = Int(max(1, value // 2), max(high, value))
            else:
                space[f"metrics[{i}].target"] = Int(max(1, value // 2), max(2, 2 * value), log=True)
        return space

    def validate(self) -> None:
        owner = type(self).__name__
        low = check_int(self.min_replicas, "min_replicas", owner=owner, ge=0, error=PolicyError)
        high = check_int(self.max_replicas, "max_replicas", owner=owner, ge=1, error=PolicyError)
        if low > high:
            raise PolicyError("min_replicas", low, f"at most max_replicas ({high})", owner=owner)
        for i, metric in enumerate(self.metrics):
            if not isinstance(metric, Metric):
                raise PolicyError(f"metrics[{i}]", metric, "a Metric", owner=owner)
        if self.behavior is not None:
            if not isinstance(self.behavior, Behavior):
                raise PolicyError("behavior", self.behavior, "None or a Behavior", owner=owner)
            _check_behavior(self.behavior, owner)
        self._band = self._tolerance()

    def loop(self) -> DecisionLoop:
        """The decision loop that runs this HPA as the controller does.

        Its stages are the HPA's: its ``behavior`` (or, for ``None``,
        :meth:`~elastic.Behavior.kubernetes_no_behavior`), its
        ``min_replicas``/``max_replicas``, and the controller's sync
        (``sync="kubernetes"``: a count out of the bounds is corrected at
        once, a target at zero is left alone, invalid metrics hold).
        """
        behavior = self.behavior or Behavior.kubernetes_no_behavior()
        return DecisionLoop(
            self,
            min_replicas=int(self.min_replicas),
            max_replicas=int(self.max_replicas),
            behavior=behavior,
            sync="kubernetes",
        )

    # --- the replica proposal -----------------------------------------------------------------

    @property
    def _metrics(self) -> Sequence[Metric]:
        return self.metrics or (Metric("Resource", "cpu", "Utilization", DEFAULT_CPU_UTILIZATION),)

    def _tolerance(self) -> Tolerance:
        base = Tolerance.of(self.tolerance)
        behavior = self.behavior
        if behavior is None:
            return base
        up, down = behavior.scale_up.tolerance, behavior.scale_down.tolerance
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
        tolerance = self._band
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

    def recommend(self, obs: Observation) -> Recommendation:
        """The replica proposal for ``obs``: the largest over the metrics, or ``None``
        (``Reason.NO_DATA``) where upstream's invalid-metric rule stops the sync."""
        current = int(obs.replicas)
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
            return Recommendation(None, Reason.NO_DATA, why)
        desired = max(0, proposal)
        reason = Reason.WITHIN_TOLERANCE if desired == current else Reason.TARGET_TRACKING
        return Recommendation(desired, reason, f"{chosen} proposes {desired}")

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
