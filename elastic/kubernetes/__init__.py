"""Kubernetes-exact autoscaling: the HPA's replica calculation, behavior and a policy on them."""

from elastic.kubernetes.behavior import (
    DOWNSCALE_STABILIZATION_SECONDS,
    Behavior,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    normalize,
    stabilize,
    store_scale_event,
)
from elastic.kubernetes.replicas import (
    Pod,
    Tolerance,
    UsageReplicas,
    UtilizationReplicas,
    average_value_replicas,
    average_value_total_replicas,
    utilization_replicas,
    value_replicas,
)

__all__ = [
    "DOWNSCALE_STABILIZATION_SECONDS",
    "Behavior",
    "Pod",
    "ScaleEvent",
    "ScalingPolicy",
    "ScalingRules",
    "Tolerance",
    "UsageReplicas",
    "UtilizationReplicas",
    "average_value_replicas",
    "average_value_total_replicas",
    "normalize",
    "stabilize",
    "store_scale_event",
    "utilization_replicas",
    "value_replicas",
]
