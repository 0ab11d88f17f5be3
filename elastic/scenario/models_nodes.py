"""The node-level manifest kinds, as pydantic models (the boundary).

- ``NodePool`` (``karpenter.sh/v1``): Karpenter's NodePool as users write it
  (kubernetes-sigs/karpenter ``pkg/apis/v1/nodepool.go``: patterns, enums,
  bounds and defaults as the CRD has them). Fields elastic does not model
  (``nodeClassRef``, ``startupTaints``, ``terminationGracePeriod``,
  ``kubelet``, ...) are accepted and reported as notes.
- ``ClusterAutoscaler`` (``elastic/v1``): the Cluster Autoscaler's command
  line flags under their upstream names (``scan-interval: 10s``,
  ``expander: priority,least-waste``), Go duration syntax; its node groups
  are the node entries of the scenario's ``Cluster``.
- ``CapacityProvider`` (``elastic/v1``): ``spec`` is the ECS
  ``CreateCapacityProvider`` request as the API writes it; the Auto Scaling
  group it names is a node entry of the scenario's ``Cluster``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from elastic.scenario.durations import budget_duration, go_duration, karpenter_duration

__all__ = [
    "CA_FLAGS",
    "CA_UNMODELLED_FLAGS",
    "KARPENTER",
    "CapacityProviderModel",
    "ClusterAutoscalerModel",
    "NodePoolModel",
]

KARPENTER = "karpenter.sh/v1"


class _Api(BaseModel):
    """Fields as the upstream API spells them; unknown ones refused; a boolean is no number."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    name: str = Field(min_length=1)


# --- Karpenter NodePool (karpenter.sh/v1) ----------------------------------------------------


class RequirementModel(_Api):
    key: str = Field(min_length=1)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Gte", "Lte"]
    values: list[str] | None = None
    minValues: int | None = Field(None, ge=1, le=50)

    @model_validator(mode="after")
    def _values(self) -> RequirementModel:
        values = self.values or []
        if self.operator == "In" and not values:
            raise ValueError("requirements with operator 'In' must have a value defined")
        if self.operator in ("Gt", "Lt", "Gte", "Lte") and (
            len(values) != 1 or not values[0].isdigit()
        ):
            raise ValueError(
                f"requirements operator {self.operator!r} must have a single positive integer value"
            )
        if self.minValues is not None and self.operator == "In" and len(values) < self.minValues:
            raise ValueError(
                f"minValues {self.minValues} is more than the {len(values)} values given; "
                "expected at least that many values"
            )
        return self


class TaintModel(_Api):
    key: str = Field(min_length=1)
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
    timeAdded: str | None = None


class NodeClaimMetadata(_Api):
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None


def _karpenter(value: Any) -> Any:
    karpenter_duration(value)
    return value


class NodeClaimTemplateSpec(_Api):
    requirements: list[RequirementModel] = Field(max_length=100)
    taints: list[TaintModel] | None = None
    expireAfter: str = "720h"
    # accepted, not modelled (reported as notes)
    startupTaints: list[TaintModel] | None = None
    nodeClassRef: dict[str, Any] | None = None
    terminationGracePeriod: str | None = None
    kubelet: dict[str, Any] | None = None

    @field_validator("expireAfter")
    @classmethod
    def _expire(cls, value: str) -> str:
        return _karpenter(value)  # type: ignore[no-any-return]

    @field_validator("terminationGracePeriod")
    @classmethod
    def _grace(cls, value: str | None) -> str | None:
        if value is not None and (value == "Never" or karpenter_duration(value) is None):
            raise ValueError("expected a duration such as 30s, 15m or 48h")
        return value


class NodeClaimTemplate(_Api):
    metadata: NodeClaimMetadata | None = None
    spec: NodeClaimTemplateSpec


class BudgetModel(_Api):
    nodes: str = "10%"
    reasons: list[Literal["Underutilized", "Empty", "Drifted"]] | None = Field(None, max_length=50)
    schedule: str | None = None
    duration: str | None = None

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, value: str) -> str:
        if not re.fullmatch(r"((100|[0-9]{1,2})%|[0-9]+)", value):
            raise ValueError('expected a percentage "0%" to "100%" or a count such as "5"')
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            budget_duration(value)
        return value

    @model_validator(mode="after")
    def _schedule(self) -> BudgetModel:
        if (self.schedule is None) != (self.duration is None):
            raise ValueError("'schedule' must be set with 'duration'")
        return self


class DisruptionModel(_Api):
    consolidationPolicy: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = (
        "WhenEmptyOrUnderutilized"
    )
    consolidateAfter: str = "0s"
    budgets: list[BudgetModel] | None = Field(None, max_length=50)
    # newer upstream fields, accepted and reported as not modelled
    consolidateWhen: str | None = None
    decisionRatioThreshold: float | None = None

    @field_validator("consolidateAfter")
    @classmethod
    def _after(cls, value: str) -> str:
        return _karpenter(value)  # type: ignore[no-any-return]


class NodePoolSpec(_Api):
    template: NodeClaimTemplate
    disruption: DisruptionModel = Field(default_factory=lambda: DisruptionModel.model_validate({}))
    limits: dict[str, str | int | float] | None = None
    weight: int | None = Field(None, ge=1, le=100)
    replicas: int | None = Field(None, ge=0)  # static NodePools (alpha): not modelled


class NodePoolModel(_Api):
    apiVersion: str
    kind: Literal["NodePool"]
    metadata: _Metadata
    spec: NodePoolSpec
    status: dict[str, Any] | None = None


# --- ClusterAutoscaler (elastic/v1, the upstream flag names) ----------------------------------

#: the flags modelled: flag -> (ClusterAutoscaler parameter, kind of value)
CA_FLAGS: dict[str, tuple[str, str]] = {
    "scan-interval": ("scan_interval", "duration"),
    "expander": ("expander", "text"),
    "scale-down-enabled": ("scale_down_enabled", "bool"),
    "scale-down-utilization-threshold": ("scale_down_utilization_threshold", "number"),
    "scale-down-unneeded-time": ("scale_down_unneeded_time", "duration"),
    "scale-down-delay-after-add": ("scale_down_delay_after_add", "duration"),
    "scale-down-delay-after-delete": ("scale_down_delay_after_delete", "duration"),
    "scale-down-delay-after-failure": ("scale_down_delay_after_failure", "duration"),
    "max-node-provision-time": ("max_node_provision_time", "duration"),
    "max-empty-bulk-delete": ("max_empty_bulk_delete", "int"),
    "max-drain-parallelism": ("max_drain_parallelism", "int"),
    "ignore-daemonsets-utilization": ("ignore_daemonsets_utilization", "bool"),
    "initial-node-group-backoff-duration": ("initial_node_group_backoff_duration", "duration"),
    "max-node-group-backoff-duration": ("max_node_group_backoff_duration", "duration"),
    "node-group-backoff-reset-timeout": ("node_group_backoff_reset_timeout", "duration"),
}

#: upstream flags accepted and reported as not modelled (cluster-autoscaler FAQ.md,
#: "What are the parameters to CA?", and config/flags/flags.go)
CA_UNMODELLED_FLAGS = frozenset({
    "address", "aws-use-static-instance-list", "balance-similar-node-groups",
    "balancing-ignore-label", "balancing-label", "cloud-config", "cloud-provider",
    "cluster-name", "cordon-node-before-terminating", "cores-total",
    "daemonset-eviction-for-empty-nodes", "daemonset-eviction-for-occupied-nodes",
    "emit-per-nodegroup-metrics", "enforce-node-group-min-size", "estimator",
    "expendable-pods-priority-cutoff", "force-ds", "gpu-total", "grpc-expander-cert",
    "grpc-expander-url", "ignore-taint", "kubeconfig", "kube-client-burst", "kube-client-qps",
    "leader-elect", "logtostderr", "max-autoprovisioned-node-group-count",
    "max-bulk-soft-taint-count", "max-bulk-soft-taint-time", "max-failing-time",
    "max-graceful-termination-sec", "max-inactivity", "max-nodegroup-binpacking-duration",
    "max-nodes-total", "max-pod-eviction-time", "max-scale-down-parallelism",
    "max-total-unready-percentage", "memory-total", "namespace", "new-pod-scale-up-delay",
    "node-autoprovisioning-enabled", "node-deletion-batcher-interval",
    "node-deletion-delay-timeout", "node-group-auto-discovery", "node-info-cache-expire-time",
    "ok-total-unready-count", "parallel-drain", "profiling", "record-duplicated-events",
    "regional", "scale-down-candidates-pool-min-count", "scale-down-candidates-pool-ratio",
    "scale-down-gpu-utilization-threshold", "scale-down-non-empty-candidates-count",
    "scale-down-simulation-timeout", "scale-down-unready-enabled", "scale-down-unready-time",
    "scale-up-from-zero", "skip-nodes-with-custom-controller-pods",
    "skip-nodes-with-local-storage", "skip-nodes-with-system-pods", "startup-taint",
    "status-config-map-name", "status-taint", "stderrthreshold",
    "unremovable-node-recheck-timeout", "v", "write-status-configmap",
})  # fmt: skip


class ClusterAutoscalerSpec(BaseModel):
    """``nodeGroups`` and ``priorities``, and the flags by their upstream names (the extra
    keys: checked one by one against :data:`CA_FLAGS` and :data:`CA_UNMODELLED_FLAGS`)."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    nodeGroups: list[str] | None = Field(None, min_length=1)
    priorities: dict[int, list[str]] | None = None


class ClusterAutoscalerModel(_Api):
    apiVersion: str
    kind: Literal["ClusterAutoscaler"]
    metadata: _Metadata
    spec: ClusterAutoscalerSpec = Field(
        default_factory=lambda: ClusterAutoscalerSpec.model_validate({})
    )


def flag_value(flag: str, value: Any) -> Any:
    """A modelled flag's value as the ClusterAutoscaler parameter takes it, or ValueError."""
    kind = CA_FLAGS[flag][1]
    if kind == "duration":
        return go_duration(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected a whole number")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected text, such as random or priority,least-waste")
    return value


# --- ECS CapacityProvider (elastic/v1; spec: the CreateCapacityProvider request) ------------


class ManagedScalingModel(_Api):
    status: Literal["ENABLED", "DISABLED"] | None = None
    targetCapacity: int | None = Field(None, ge=1, le=100)
    minimumScalingStepSize: int | None = Field(None, ge=1, le=10_000)
    maximumScalingStepSize: int | None = Field(None, ge=1, le=10_000)
    instanceWarmupPeriod: int | None = Field(None, ge=0, le=10_000)


class AutoScalingGroupProviderModel(_Api):
    autoScalingGroupArn: str = Field(min_length=1)
    managedScaling: ManagedScalingModel | None = None
    managedTerminationProtection: Literal["ENABLED", "DISABLED"] | None = None
    managedDraining: Literal["ENABLED", "DISABLED"] | None = None


class TagModel(_Api):
    key: str = Field(min_length=1, max_length=128)
    value: str = Field("", max_length=256)


class CreateCapacityProviderModel(_Api):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,255}$")
    autoScalingGroupProvider: AutoScalingGroupProviderModel
    tags: list[TagModel] | None = Field(None, max_length=50)


class CapacityProviderModel(_Api):
    apiVersion: str
    kind: Literal["CapacityProvider"]
    metadata: _Metadata
    spec: CreateCapacityProviderModel


_ARN = re.compile(
    r"^arn:aws[\w-]*:autoscaling:[^:]*:[^:]*:autoScalingGroup:[^:]*:autoScalingGroupName/(.+)$"
)


def asg_name(arn: str) -> str:
    """The Auto Scaling group's name in an ARN (or the name itself).

    Examples
    --------
    >>> asg_name("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    ...          "0b7f:autoScalingGroupName/n1")
    'n1'
    >>> asg_name("n1")
    'n1'
    """
    match = _ARN.match(arn)
    return match.group(1) if match else arn
