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
from elastic.kubernetes.hpa import DEFAULT_CPU_UTILIZATION, HorizontalPodAutoscaler, Metric
from elastic.kubernetes.quantity import format_milli, parse_quantity
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
    "DEFAULT_CPU_UTILIZATION",
    "DOWNSCALE_STABILIZATION_SECONDS",
    "Behavior",
    "HorizontalPodAutoscaler",
    "Metric",
    "Pod",
    "ScaleEvent",
    "ScalingPolicy",
    "ScalingRules",
    "Tolerance",
    "UsageReplicas",
    "UtilizationReplicas",
    "average_value_replicas",
    "average_value_total_replicas",
    "format_milli",
    "normalize",
    "parse_quantity",
    "stabilize",
    "store_scale_event",
    "utilization_replicas",
    "value_replicas",
]
