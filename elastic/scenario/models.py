"""The manifest kinds, as pydantic models (the boundary; the simulator never sees them).

Our kinds (``apiVersion: elastic/v1``) follow the shape of the manifests the
project grew out of (``spec.cluster.nodes``, ``spec.task.resources``):
``Cluster``, ``Task``, ``Workload``, ``ScalingPolicy`` and ``Scenario``.
Kubernetes kinds keep their own ``apiVersion``: ``Deployment`` (apps/v1),
``Service`` (v1) and ``HorizontalPodAutoscaler`` (autoscaling/v2) are
understood; kinds that do not matter to scaling are accepted and reported
as ignored. Field names are camelCase in the files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from elastic.core.behavior import Behavior, RateLimit, ScalingRules
from elastic.kubernetes.quantity import parse_quantity
from elastic.nodes.scheduler import DEFAULT_STRATEGY, STRATEGIES
from elastic.scenario.models_nodes import (
    KARPENTER,
    CapacityProviderModel,
    ClusterAutoscalerModel,
    NodePoolModel,
)
from elastic.sim.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Uniform,
)
from elastic.sim.workload import MMPP, Diurnal, FlashCrowd, Poisson, Ramp, Workload

__all__ = [
    "ELASTIC",
    "IGNORED_KINDS",
    "KINDS",
    "ClusterModel",
    "DeploymentModel",
    "ScalingPolicyModel",
    "ScenarioModel",
    "ServiceModel",
    "TaskModel",
    "WorkloadModel",
    "cpu_milli",
    "memory_mib",
]

ELASTIC = "elastic/v1"


# strict: a boolean is not a number (YAML reads `yes` as true, and pydantic would take it as 1)
class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True
    )


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    name: str = Field(min_length=1)
    labels: dict[str, str] | None = None


# Fields of the Kubernetes objects that are accepted as written (not modelled), by object;
# any other field is refused, as kubectl's strict field validation does (API reference v1.31).
OBJECT_META_FIELDS = frozenset({
    "name", "namespace", "labels", "annotations", "generateName", "uid", "resourceVersion",
    "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
    "ownerReferences", "finalizers", "managedFields", "selfLink",
})  # fmt: skip
DEPLOYMENT_SPEC_FIELDS = frozenset({
    "replicas", "selector", "template", "minReadySeconds", "strategy", "revisionHistoryLimit",
    "progressDeadlineSeconds", "paused",
})  # fmt: skip
POD_SPEC_FIELDS = frozenset({
    "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "containers",
    "dnsConfig", "dnsPolicy", "enableServiceLinks", "ephemeralContainers", "hostAliases",
    "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname", "imagePullSecrets",
    "initContainers", "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy",
    "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources",
    "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
    "serviceAccount", "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace",
    "subdomain", "terminationGracePeriodSeconds", "tolerations", "topologySpreadConstraints",
    "volumes",
})  # fmt: skip
CONTAINER_FIELDS = frozenset({
    "args", "command", "env", "envFrom", "image", "imagePullPolicy", "lifecycle",
    "livenessProbe", "name", "ports", "readinessProbe", "resizePolicy", "resources",
    "restartPolicy", "securityContext", "startupProbe", "stdin", "stdinOnce",
    "terminationMessagePath", "terminationMessagePolicy", "tty", "volumeDevices",
    "volumeMounts", "workingDir",
})  # fmt: skip


# --- values used by several kinds ------------------------------------------------------------

#: the distributions a manifest can name: what builds each, from which parameters
DISTRIBUTIONS: dict[str, tuple[Callable[..., Distribution], tuple[str, ...]]] = {
    "constant": (Constant, ("value",)),
    "uniform": (Uniform, ("low", "high")),
    "exponential": (Exponential, ("mean",)),
    "lognormal": (LogNormal, ("median", "sigma")),
    "empirical": (Empirical, ("values",)),
}


def _distribution(value: Any) -> Any:
    """A number (constant seconds) or ``{lognormal: {median: .., sigma: ..}}``-style mapping."""
    if isinstance(value, bool):
        raise ValueError("expected seconds, or one of " + ", ".join(DISTRIBUTIONS))
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("expected seconds >= 0")
        return value
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("expected seconds, or a mapping with one of " + ", ".join(DISTRIBUTIONS))
    ((name, params),) = value.items()
    if name not in DISTRIBUTIONS:
        raise ValueError(
            f"unknown distribution {name!r}; expected one of {', '.join(DISTRIBUTIONS)}"
        )
    if name == "empirical":
        if not isinstance(params, list) or not params:
            raise ValueError("empirical needs a non-empty list of seconds")
    elif name == "constant" and isinstance(params, int | float):
        pass
    elif not isinstance(params, dict) or set(params) != set(DISTRIBUTIONS[name][1]):
        raise ValueError(f"{name} needs exactly {', '.join(DISTRIBUTIONS[name][1])}")
    return value


def cpu_milli(value: str | int | float, ecs: bool) -> int:
    """CPU in millicores: integers are ECS units in a Task (1024 = one vCPU)."""
    if ecs and isinstance(value, int) and not isinstance(value, bool):
        return math.ceil(value * 1000 / 1024)
    if ecs and isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return math.ceil(int(value) * 1000 / 1024)
    return parse_quantity(value)


def memory_mib(value: str | int | float, ecs: bool) -> float:
    """Memory in MiB: integers are MiB in a Task, bytes in Kubernetes."""
    if ecs and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return parse_quantity(value) / 1000 / 2**20


class Resources(_Strict):
    cpu: str | int | float | None = None
    memory: str | int | float | None = None


class ResourceSpec(_Strict):
    requests: Resources | None = None
    limits: Resources | None = None


# --- Cluster ----------------------------------------------------------------------------------


class NodeTaintModel(_Strict):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodeModel(_Strict):
    name: str
    node_type: str
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[NodeTaintModel] = Field(default_factory=list)
    count: int = Field(1, ge=0)
    min_nodes: int | None = Field(None, ge=0)
    max_nodes: int | None = Field(None, ge=0)
    boot: Any = 120.0
    billing: Literal["on-demand", "spot", "hourly"] = "on-demand"
    spot_share: float = Field(0.0, ge=0, le=1)

    @field_validator("boot")
    @classmethod
    def _boot(cls, value: Any) -> Any:
        return _distribution(value)

    @model_validator(mode="after")
    def _bounds(self) -> NodeModel:
        if (
            self.min_nodes is not None
            and self.max_nodes is not None
            and self.min_nodes > self.max_nodes
        ):
            raise ValueError(f"minNodes {self.min_nodes} is above maxNodes {self.max_nodes}")
        return self


class ClusterSpecBody(_Strict):
    name: str | None = None
    environment: str | None = None
    nodes: list[NodeModel] = Field(min_length=1)


class ClusterSpec(_Strict):
    cluster: ClusterSpecBody


class ClusterModel(_Strict):
    api_version: str
    kind: Literal["Cluster"]
    metadata: _Metadata
    spec: ClusterSpec


# --- Task ---------------------------------------------------------------------------------------


class TaskBody(_Strict):
    name: str | None = None
    environment: str | None = None
    resources: ResourceSpec
    slots: int | None = Field(None, ge=1)
    warmup: float = Field(0.0, ge=0)
    drain_timeout: float = Field(30.0, ge=0)
    queue_capacity: int | None = Field(None, ge=0)
    timeout: float | None = Field(None, gt=0)


class TaskSpec(_Strict):
    task: TaskBody


class TaskModel(_Strict):
    api_version: str
    kind: Literal["Task"]
    metadata: _Metadata
    spec: TaskSpec


# --- Kubernetes Service and Deployment ---------------------------------------------------------


class _K8s(BaseModel):
    """Kubernetes objects: known fields typed, unknown ones rejected, camelCase as written."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ServicePort(_K8s):
    name: str | None = None
    port: int = Field(ge=1, le=65535)
    targetPort: int | str | None = None
    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    nodePort: int | None = None
    appProtocol: str | None = None


class ServiceSpec(_K8s):
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    type: Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] | None = None
    clusterIP: str | None = None
    clusterIPs: list[str] | None = None
    externalIPs: list[str] | None = None
    externalName: str | None = None
    externalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    internalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    sessionAffinity: Literal["None", "ClientIP"] | None = None
    sessionAffinityConfig: dict[str, Any] | None = None
    loadBalancerIP: str | None = None
    loadBalancerSourceRanges: list[str] | None = None
    loadBalancerClass: str | None = None
    publishNotReadyAddresses: bool | None = None
    ipFamilies: list[str] | None = None
    ipFamilyPolicy: str | None = None
    allocateLoadBalancerNodePorts: bool | None = None
    healthCheckNodePort: int | None = None
    trafficDistribution: str | None = None


class ServiceModel(_K8s):
    apiVersion: str
    kind: Literal["Service"]
    metadata: _Metadata
    spec: ServiceSpec


VOLUME_SOURCES = (
    "persistentVolumeClaim", "configMap", "secret", "emptyDir", "hostPath", "projected",
    "downwardAPI", "nfs", "csi", "ephemeral", "image",
)  # fmt: skip


class Volume(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    name: str

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        extra = dict(self.model_extra or {})
        unknown = [k for k in extra if k not in VOLUME_SOURCES]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a Kubernetes volume type; expected one of "
                + ", ".join(VOLUME_SOURCES)
            )
        if len(extra) != 1:
            raise ValueError("a volume needs exactly one source (persistentVolumeClaim, ...)")
        return self


class EnvVar(_K8s):
    name: str
    value: str | None = None
    valueFrom: dict[str, Any] | None = None


class Container(BaseModel):
    """A container: the fields that matter here typed; the rest of the Kubernetes
    container spec accepted as written."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    name: str
    image: str | None = None
    env: list[EnvVar] | None = None
    resources: ResourceSpec | None = None


class PodSpec(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    containers: list[Container] = Field(min_length=1)
    volumes: list[Volume] | None = None


class PodTemplate(_K8s):
    metadata: dict[str, Any] | None = None
    spec: PodSpec


class DeploymentSpec(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    replicas: int = Field(1, ge=0)
    selector: dict[str, Any]
    template: PodTemplate


class DeploymentModel(_K8s):
    apiVersion: str
    kind: Literal["Deployment"]
    metadata: _Metadata
    spec: DeploymentSpec


# --- Workload -----------------------------------------------------------------------------------


class TraceModel(_Strict):
    file: str | None = None
    builtin: str | None = None
    column: str = "requests"
    bucket: float | None = Field(None, gt=0)
    spread: Literal["poisson", "uniform"] = "poisson"
    scale: float = Field(1.0, ge=0)
    start: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> TraceModel:
        if (self.file is None) == (self.builtin is None):
            raise ValueError("a trace needs exactly one of file or builtin")
        return self


#: the generators a manifest can name (their parameters are their classes' own)
GENERATORS: dict[str, type[Workload]] = {
    "poisson": Poisson,
    "diurnal": Diurnal,
    "ramp": Ramp,
    "flash_crowd": FlashCrowd,
    "mmpp": MMPP,
}


class WorkloadSpec(_Strict):
    trace: TraceModel | None = None
    generator: dict[str, Any] | None = None
    service: Any = Field(default_factory=lambda: {"exponential": {"mean": 0.1}})
    slo: float | None = Field(None, gt=0)

    @field_validator("service")
    @classmethod
    def _service(cls, value: Any) -> Any:
        return _distribution(value)

    @model_validator(mode="after")
    def _one_source(self) -> WorkloadSpec:
        if (self.trace is None) == (self.generator is None):
            raise ValueError("a workload needs exactly one of trace or generator")
        return self


class WorkloadModel(_Strict):
    api_version: str
    kind: Literal["Workload"]
    metadata: _Metadata
    spec: WorkloadSpec


# --- ScalingPolicy ----------------------------------------------------------------------------


class PolicyEntry(BaseModel):
    """``type`` names an elastic policy; the other keys are its parameters (camelCase)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    type: str


class RateLimitModel(_Strict):
    type: Literal["Pods", "Percent"]
    value: int = Field(ge=1)
    period_seconds: float = Field(gt=0)


class RulesModel(_Strict):
    stabilization_window_seconds: float = Field(0.0, ge=0)
    policies: list[RateLimitModel] = Field(default_factory=list)
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"

    def build(self) -> ScalingRules:
        limits = [RateLimit(p.type, p.value, p.period_seconds) for p in self.policies]
        return ScalingRules(self.stabilization_window_seconds, limits, self.select_policy)


class BehaviorModel(_Strict):
    scale_up: RulesModel | None = None
    scale_down: RulesModel | None = None

    def build(self) -> Behavior:
        """The :class:`elastic.Behavior`; a direction left out has no window and no limit."""
        up, down = self.scale_up, self.scale_down
        return Behavior(
            ScalingRules() if up is None else up.build(),
            ScalingRules() if down is None else down.build(),
        )


class CooldownModel(_Strict):
    mode: Literal["simple", "application"] = "simple"
    scale_out: float = Field(300.0, ge=0)
    scale_in: float = Field(300.0, ge=0)


class ScalingPolicySpec(_Strict):
    policies: list[PolicyEntry] = Field(min_length=1)
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(ge=1)
    behavior: Literal["kubernetes-default"] | BehaviorModel | None = None
    cooldown: Annotated[float, Field(ge=0)] | CooldownModel | None = None
    warmup: float | None = Field(None, ge=0)
    combine: Literal["max", "aws"] = "max"

    @model_validator(mode="after")
    def _bounds(self) -> ScalingPolicySpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas {self.min_replicas} is above maxReplicas {self.max_replicas}"
            )
        return self


class ScalingPolicyModel(_Strict):
    api_version: str
    kind: Literal["ScalingPolicy"]
    metadata: _Metadata
    spec: ScalingPolicySpec


# --- Scenario -----------------------------------------------------------------------------------


class MetricsModel(_Strict):
    resolution: float = Field(15.0, gt=0)
    lag: float = Field(0.0, ge=0)
    missing: float = Field(0.0, ge=0, lt=1)


class NodeAutoscalerRef(_Strict):
    kind: Literal["NodePool", "ClusterAutoscaler", "CapacityProvider"]
    name: str | None = Field(None, min_length=1)


class NodesModel(_Strict):
    """A Scenario's ``spec.nodes``: run the replicas as pods on the Cluster's nodes."""

    node_autoscaler: NodeAutoscalerRef | None = None
    requests_from: Literal["deployment", "task"] | None = None
    scheduler: str = DEFAULT_STRATEGY
    pod_startup: Any = 10.0
    node_boot: Any = 40.0
    node_registration: Any = 20.0
    node_mtbf: str | float | None = None
    spot_mtbi: str | float | None = None
    spot_notice: float = Field(120.0, ge=0)

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError("expected one of " + ", ".join(STRATEGIES))
        return value

    @field_validator("pod_startup", "node_boot", "node_registration")
    @classmethod
    def _delay(cls, value: Any) -> Any:
        return _distribution(value)

    @field_validator("node_mtbf", "spot_mtbi")
    @classmethod
    def _mean(cls, value: str | float | None) -> str | float | None:
        if value is not None:
            seconds(value)
        return value


class ScenarioSpec(_Strict):
    workload: str
    policy: str
    task: str | None = None
    cluster: str | None = None
    node: str | None = None
    deployment: str | None = None
    duration: str | float
    control_interval: float = Field(15.0, gt=0)
    metrics: MetricsModel = MetricsModel.model_validate({})
    initial_replicas: int | None = Field(None, ge=0)
    balancer: Literal["round_robin", "random", "least_outstanding", "shortest_queue"] = (
        "round_robin"
    )
    seed: int = Field(0, ge=0)
    fidelity: Literal["request", "fluid"] = "request"
    nodes: NodesModel | None = None
    actuation_failure: float = Field(0.0, ge=0, le=1)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | float) -> str | float:
        seconds(value)
        return value


class ScenarioModel(_Strict):
    api_version: str
    kind: Literal["Scenario"]
    metadata: _Metadata
    spec: ScenarioSpec


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(value: str | float) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"36h"`` or ``"2d"`` in seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not value > 0 or not math.isfinite(value):
            raise ValueError("expected a finite duration > 0")
        return float(value)
    text = str(value).strip()
    unit = _UNITS.get(text[-1:]) if text else None
    try:
        number = float(text[:-1] if unit else text)
    except ValueError:
        raise ValueError("expected a duration such as 3600, 90m, 36h or 2d") from None
    if not number > 0 or not math.isfinite(number * (unit or 1.0)):
        raise ValueError("expected a finite duration > 0")
    return number * (unit or 1.0)


#: kind -> (the apiVersion it must have, its model)
KINDS: dict[str, tuple[str, type[BaseModel]]] = {
    "Cluster": (ELASTIC, ClusterModel),
    "Task": (ELASTIC, TaskModel),
    "Workload": (ELASTIC, WorkloadModel),
    "ScalingPolicy": (ELASTIC, ScalingPolicyModel),
    "Scenario": (ELASTIC, ScenarioModel),
    "Deployment": ("apps/v1", DeploymentModel),
    "Service": ("v1", ServiceModel),
    "NodePool": (KARPENTER, NodePoolModel),
    "ClusterAutoscaler": (ELASTIC, ClusterAutoscalerModel),
    "CapacityProvider": (ELASTIC, CapacityProviderModel),
}

#: Kubernetes kinds that do not matter to scaling: accepted, reported as ignored
IGNORED_KINDS = (
    "PersistentVolumeClaim", "PersistentVolume", "ConfigMap", "Secret", "Namespace",
    "ServiceAccount", "Ingress", "NetworkPolicy", "Role", "RoleBinding", "ClusterRole",
    "ClusterRoleBinding", "PodDisruptionBudget", "StorageClass",
)  # fmt: skip
