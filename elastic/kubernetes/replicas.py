"""The HPA's replica calculation, as upstream computes it (``pkg/controller/podautoscaler``).

Quantities are integers in milli-units, as the Kubernetes metrics APIs give
them: a CPU request of one core is 1000, a metric value of 15 is 15000.
Averages and utilizations are truncated where upstream truncates (integer
division), and the usage ratio is computed from the truncated value. A
replica count saturates at the int32 maximum, as upstream's does, however
large the metric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic.core.counts import MAX_REPLICAS, Tolerance, ceil_replicas, ratio_replicas
from elastic.core.validate import check_choice, check_int
from elastic.errors import MetricsError, ParameterError
from elastic.kubernetes.quantity import INT64_MAX

__all__ = [
    "INT32_MAX",
    "Pod",
    "Tolerance",
    "UsageReplicas",
    "UtilizationReplicas",
    "average_value_replicas",
    "average_value_total_replicas",
    "utilization_replicas",
    "value_replicas",
]

#: the largest replica count (``int32``): a count computed from a huge metric saturates here
INT32_MAX = MAX_REPLICAS

Phase = Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"]
PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as the HPA sees it.

    Parameters
    ----------
    name
        Unique within the target.
    phase
        ``"Pending"`` pods count as unready; ``"Failed"`` ones are ignored.
    ready
        The ``Ready`` condition (used when counting ready pods for Object and
        External metrics).
    deleting
        Has a deletion timestamp: ignored.
    initializing
        For CPU: the upstream rule says to skip this pod's sample (it is in
        its CPU initialization period and unready or its sample predates its
        readiness, or it has never been ready within the readiness delay).
    request
        The pod's request of the resource (sum over its containers), milli;
        ``None`` when a container has none (an error for utilization targets).
    usage
        The pod's metric sample, milli; ``None`` when the metrics API has none.
    count
        How many identical pods this entry stands for (default 1): a fleet of
        a billion alike pods is one entry, not a billion.
    """

    name: str
    phase: Phase = "Running"
    ready: bool = True
    deleting: bool = False
    initializing: bool = False
    request: int | None = None
    usage: int | None = None
    count: int = 1

    def __post_init__(self) -> None:
        check_choice(self.phase, "phase", PHASES, owner=f"Pod {self.name!r}")
        check_int(self.count, "count", owner=f"Pod {self.name!r}", ge=1)
        for name in ("request", "usage"):
            value = getattr(self, name)
            if value is not None:
                check_int(value, name, owner=f"Pod {self.name!r}", ge=0)


@dataclass(frozen=True, slots=True)
class UtilizationReplicas:
    """A utilization proposal: ``replicas``, ``utilization`` (whole percent) and the
    ``raw_average`` usage per pod (milli), both from the pods that had samples."""

    replicas: int
    utilization: int
    raw_average: int


@dataclass(frozen=True, slots=True)
class UsageReplicas:
    """A proposal for a metric value: ``replicas`` and the ``usage`` it saw (milli)."""

    replicas: int
    usage: int


def _metric_value(value: Any, owner: str) -> int:
    """A metric's milli-value as the metrics APIs report it: an int64 >= 0."""
    milli = check_int(value, "value", owner=owner, ge=0)
    if milli > INT64_MAX:
        raise ParameterError("value", milli, f"at most {INT64_MAX} (an int64)", owner=owner)
    return milli


def _ceil(x: float) -> int:
    """``ceil(x)`` as a replica count, saturating at :data:`INT32_MAX`, rounding the float as
    it is (Go's ``math.Ceil``: no residue is forgiven)."""
    return ceil_replicas(x, residue=0.0)


def _proportional(current: int, ratio: float, wanted: float, band: Tolerance) -> int:
    """``current`` inside the band, else ``ceil(wanted)`` as upstream rounds it."""
    replicas = ratio_replicas(ratio, wanted, band, residue=0.0)
    return current if replicas is None else replicas


def _ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator``, infinite where the quotient does not fit a float."""
    try:
        return numerator / denominator
    except OverflowError:
        return math.inf


# A pod group's samples: name -> (value, how many pods)
_Samples = dict[str, tuple[int, int]]


def _group(
    pods: Sequence[Pod], cpu: bool
) -> tuple[int, _Samples, dict[str, int], dict[str, int], dict[str, int]]:
    """Upstream ``groupPods``: ready count, samples, unready, missing and ignored pods
    (each a name and how many pods it stands for)."""
    ready = 0
    samples: _Samples = {}
    unready: dict[str, int] = {}
    missing: dict[str, int] = {}
    ignored: dict[str, int] = {}
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            ignored[pod.name] = pod.count
            continue
        if pod.phase == "Pending":
            unready[pod.name] = pod.count
            continue
        if pod.usage is None:
            missing[pod.name] = pod.count
            continue
        if cpu and pod.initializing:
            unready[pod.name] = pod.count
            continue
        samples[pod.name] = (pod.usage, pod.count)
        ready += pod.count
    return ready, samples, unready, missing, ignored


def _size(samples: _Samples) -> int:
    """How many pods the samples stand for (upstream ``len(metrics)``)."""
    return sum(count for _, count in samples.values())


def _utilization(
    samples: _Samples, requests: dict[str, int], target: int
) -> tuple[float, int, int]:
    """Upstream ``GetResourceUtilizationRatio``: ratio, utilization (%), raw average."""
    usage = total = entries = 0
    for name, (value, count) in samples.items():
        if name in requests:
            usage += value * count
            total += requests[name] * count
            entries += count
    if total == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = usage * 100 // total
    return _ratio(utilization, target), utilization, usage // entries


def _recount(current: int, ratio: float, new_ratio: float, pods: int, band: Tolerance) -> int:
    """The count from the pessimistic second ratio, or ``current`` where upstream keeps it:
    inside the band, or when the second ratio, or the count, points the other way."""
    flipped = (ratio < 1.0 and new_ratio > 1.0) or (ratio > 1.0 and new_ratio < 1.0)
    if flipped:
        return current
    replicas = _proportional(current, new_ratio, new_ratio * pods, band)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


def utilization_replicas(
    current_replicas: int,
    pods: Sequence[Pod],
    target_utilization: int,
    *,
    resource: str = "cpu",
    tolerance: float | Tolerance = 0.1,
) -> UtilizationReplicas:
    """Replicas for a Resource metric with a ``Utilization`` target (``GetResourceReplicas``).

    Failed and deleting pods are ignored; pending pods (and, for CPU,
    initializing ones) are unready and their samples are left out; pods
    without a sample are missing. The utilization is ``sum(usage) * 100 //
    sum(request)`` over the pods with samples, and the ratio to the target
    decides. With unready pods on a scale-up, or missing pods, the ratio is
    computed again with missing pods at 100 % of their request (or at the
    target if above 100 %) on a scale-down and at 0 on a scale-up, and
    unready pods at 0 on a scale-up; if that second ratio is inside the
    tolerance or points the other way, the count stays.

    Raises :class:`~elastic.errors.ElasticError` where upstream returns an
    error: no pods, a pod without a request, no samples.

    Examples
    --------
    Three pods at 90 % of a 500m request, target 50 %:

    >>> pods = [Pod(f"p{i}", request=500, usage=450) for i in range(3)]
    >>> utilization_replicas(3, pods, 50)
    UtilizationReplicas(replicas=6, utilization=90, raw_average=450)
    """
    target = check_int(target_utilization, "target_utilization", owner="utilization_replicas", ge=1)
    band = Tolerance.of(tolerance)
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    ready, samples, unready, missing, _ = _group(pods, resource == "cpu")
    requests: dict[str, int] = {}
    for pod in pods:
        if pod.request is None:
            raise MetricsError(f"missing request for {resource} in pod {pod.name}")
        requests[pod.name] = pod.request
    if not samples:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    ratio, utilization, raw = _utilization(samples, requests, target)
    up_with_unready = bool(unready) and ratio > 1.0
    if not up_with_unready and not missing:
        replicas = _proportional(current_replicas, ratio, ratio * ready, band)
        return UtilizationReplicas(replicas, utilization, raw)
    if missing:
        if ratio < 1.0:
            fallback = max(100, target)
            for name, count in missing.items():
                samples[name] = (requests[name] * fallback // 100, count)
        elif ratio > 1.0:
            for name, count in missing.items():
                samples[name] = (0, count)
    if up_with_unready:
        for name, count in unready.items():
            samples[name] = (0, count)
    new_ratio = _utilization(samples, requests, target)[0]
    replicas = _recount(current_replicas, ratio, new_ratio, _size(samples), band)
    return UtilizationReplicas(replicas, utilization, raw)


def _average(samples: _Samples, target: int) -> tuple[float, int]:
    """Upstream ``GetMetricUsageRatio``: ratio of the truncated average to the target."""
    usage = sum(value * count for value, count in samples.values()) // _size(samples)
    return _ratio(usage, target), usage


def average_value_replicas(
    current_replicas: int,
    pods: Sequence[Pod],
    target_average_value: int,
    *,
    tolerance: float | Tolerance = 0.1,
    resource: str | None = None,
) -> UsageReplicas:
    """Replicas for a Pods metric with an ``AverageValue`` target (``calcPlainMetricReplicas``).

    Each pod's ``usage`` is its metric value. The same grouping as
    :func:`utilization_replicas` (readiness counts only for ``resource="cpu"``,
    the raw-value form of a CPU Resource metric); missing pods count at the
    target on a scale-down and at 0 on a scale-up.

    Examples
    --------
    >>> pods = [Pod("a", usage=30_000), Pod("b", usage=10_000)]
    >>> average_value_replicas(2, pods, 10_000)
    UsageReplicas(replicas=4, usage=20000)
    """
    target = check_int(
        target_average_value, "target_average_value", owner="average_value_replicas", ge=1
    )
    band = Tolerance.of(tolerance)
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    ready, samples, unready, missing, _ = _group(pods, resource == "cpu")
    if not samples:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    ratio, usage = _average(samples, target)
    up_with_unready = bool(unready) and ratio > 1.0
    if not up_with_unready and not missing:
        return UsageReplicas(_proportional(current_replicas, ratio, ratio * ready, band), usage)
    if missing:  # at a ratio of exactly 1 upstream leaves missing pods out
        if ratio < 1.0:
            for name, count in missing.items():
                samples[name] = (target, count)
        elif ratio > 1.0:
            for name, count in missing.items():
                samples[name] = (0, count)
    if up_with_unready:
        for name, count in unready.items():
            samples[name] = (0, count)
    new_ratio = _average(samples, target)[0]
    return UsageReplicas(_recount(current_replicas, ratio, new_ratio, _size(samples), band), usage)


def value_replicas(
    current_replicas: int,
    value: int,
    target_value: int,
    ready_pods: int,
    *,
    tolerance: float | Tolerance = 0.1,
) -> UsageReplicas:
    """Replicas for an Object or External metric with a ``Value`` target.

    ``value`` is the object's metric (External: the sum of the series).
    From zero replicas the count is ``ceil(value / target)``; otherwise, out
    of the tolerance band, ``ceil(ratio * ready_pods)`` (upstream
    ``getUsageRatioReplicaCount``).

    Examples
    --------
    >>> value_replicas(4, 300_000, 100_000, ready_pods=3)
    UsageReplicas(replicas=9, usage=300000)
    >>> value_replicas(0, 250_000, 100_000, ready_pods=0)
    UsageReplicas(replicas=3, usage=250000)
    """
    owner = "value_replicas"
    value = _metric_value(value, owner)
    target = check_int(target_value, "target_value", owner=owner, ge=1)
    ready = check_int(ready_pods, "ready_pods", owner=owner, ge=0)
    band = Tolerance.of(tolerance)
    ratio = _ratio(value, target)
    if current_replicas == 0:
        return UsageReplicas(_ceil(ratio), value)
    return UsageReplicas(_proportional(current_replicas, ratio, ratio * ready, band), value)


def average_value_total_replicas(
    current_replicas: int,
    value: int,
    target_average_value: int,
    *,
    tolerance: float | Tolerance = 0.1,
) -> UsageReplicas:
    """Replicas for an Object or External metric with an ``AverageValue`` target.

    The ratio is ``value / (target * current)``; out of the band the count
    is ``ceil(value / target)``. ``usage`` is the value per replica, rounded
    up (upstream ``GetObjectPerPodMetricReplicas`` /
    ``GetExternalPerPodMetricReplicas``); from zero replicas it is ``value``.

    Examples
    --------
    >>> average_value_total_replicas(3, 1_000_000, 100_000)
    UsageReplicas(replicas=10, usage=333334)
    """
    owner = "average_value_total_replicas"
    value = _metric_value(value, owner)
    target = check_int(target_average_value, "target_average_value", owner=owner, ge=1)
    current = check_int(current_replicas, "current_replicas", owner=owner, ge=0)
    band = Tolerance.of(tolerance)
    ratio = _ratio(value, target * current) if current else math.inf
    replicas = _proportional(current, ratio, _ratio(value, target), band)
    per_replica = _ratio(value, current) if current else math.inf
    usage = math.ceil(per_replica) if math.isfinite(per_replica) else value
    return UsageReplicas(replicas, usage)
