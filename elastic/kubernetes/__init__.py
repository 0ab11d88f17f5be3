"""Kubernetes-exact autoscaling: the HPA's replica calculation, behavior and a policy on them.

``Behavior``, ``ScalingRules`` and ``ScalingPolicy`` of this package are
deprecated aliases: the rules are :class:`elastic.Behavior`,
:class:`elastic.ScalingRules` and :class:`elastic.RateLimit`.
"""

from typing import Any as _Any

from elastic.kubernetes import behavior as _behavior
from elastic.kubernetes.behavior import (
    DOWNSCALE_STABILIZATION_SECONDS,
    ScaleEvent,
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
    "HorizontalPodAutoscaler",
    "Metric",
    "Pod",
    "ScaleEvent",
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


def __getattr__(name: str) -> _Any:
    """The deprecated names, each with a ``DeprecationWarning`` naming its replacement."""
    if name in ("Behavior", "ScalingRules", "ScalingPolicy"):
        return _behavior._deprecated(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
