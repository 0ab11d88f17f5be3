"""What a run records: an :class:`IntervalRecord` per control interval, and its facts."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import NDArray

from elastic.core.frozen import fast_init
from elastic.core.types import Decision
from elastic.sim.scenario import Scenario

__all__ = [
    "QUANTILES",
    "IntervalRecord",
    "RunFacts",
    "latency_fields",
    "percentiles_by_rank",
    "percentiles_of_sorted",
]

FloatArray = NDArray[np.float64]

QUANTILES = {"latency_p50": 50, "latency_p90": 90, "latency_p95": 95, "latency_p99": 99}


@fast_init
@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """One control interval ``[start, end)``: what happened in it and what was decided at its end.

    Counts are of the interval; ``in_flight`` and the replica counts are at
    its end, after the decision. Latencies are of the requests completed in
    it (NaN when none). ``utilization`` is the ground truth (busy slot-seconds
    over offered slot-seconds of accepting replicas); ``observed`` is what the
    controller saw. ``cold_starts`` and ``throttled`` (included in
    ``dropped``) are for serverless platforms, and so are
    ``busy_environments`` (running a request, its cold start included) and
    ``idle_environments`` (warm, waiting for one) at the interval's end.
    ``cluster`` is the node level at the interval's end, in a run with nodes
    (:meth:`~elastic.sim.cluster.ClusterFleet.cluster` names its fields).
    """

    start: float
    end: float
    arrived: int
    completed: int
    dropped: int
    timed_out: int
    failed: int
    in_flight: int
    replicas: int
    ready: int
    pending: int
    warming: int
    draining: int
    utilization: float
    latency_mean: float
    latency_p50: float
    latency_p90: float
    latency_p95: float
    latency_p99: float
    latency_max: float
    observed: Mapping[str, float] = field(default_factory=dict)
    decision: Decision | None = None
    cold_starts: int = 0
    throttled: int = 0
    busy_environments: int = 0
    idle_environments: int = 0
    cluster: Mapping[str, float] = field(default_factory=dict)


def latency_fields(parts: Sequence[FloatArray]) -> dict[str, float]:
    """Mean, percentiles and max of the latencies of one interval (arrays of them).

    Examples
    --------
    >>> latency_fields([np.array([1.0, 3.0]), np.array([2.0, 4.0])])["latency_p50"]
    2.5
    """
    values = np.concatenate(parts) if len(parts) else np.empty(0)
    if not len(values):
        return dict.fromkeys(("latency_mean", *QUANTILES, "latency_max"), math.nan)
    ordered = np.sort(values)
    points = percentiles_of_sorted(ordered, list(QUANTILES.values()))
    return {
        "latency_mean": float(values.sum()) / len(values),
        **dict(zip(QUANTILES, points, strict=True)),
        "latency_max": float(ordered[-1]),
    }


def percentiles_of_sorted(values: FloatArray, q: Sequence[float]) -> list[float]:
    """``np.percentile(values, q)``, to the last bit, of ``values`` already sorted.

    numpy's own call costs about 100 µs whatever the size (a third of a
    request-level run's time in ``benchmarks/bench_sim.py``, which takes
    three percentiles per control interval); this is its linear method
    written out: the position ``(n - 1) q / 100``, and the interpolation
    from the nearer end of the two neighbours.

    Examples
    --------
    >>> percentiles_of_sorted(np.array([1.0, 2.0, 3.0, 4.0]), [50, 95, 100])
    [2.5, 3.85, 4.0]
    """
    return percentiles_by_rank(values.item, len(values), q)


def percentiles_by_rank(
    value_at: Callable[[int], float], count: int, q: Sequence[float]
) -> list[float]:
    """:func:`percentiles_of_sorted` of ``count`` sorted values, the ``i``-th being ``value_at(i)``.

    For values kept in another form than an array (counts of distinct values).

    Examples
    --------
    >>> percentiles_by_rank([1.0, 2.0, 3.0, 4.0].__getitem__, 4, [50, 95, 100])
    [2.5, 3.85, 4.0]
    """
    last = count - 1
    points = []
    for p in q:
        position = last * (p / 100)
        if position >= last:
            points.append(value_at(last))
            continue
        below = math.floor(position)
        low, high = value_at(below), value_at(below + 1)
        t = position - below
        points.append(high - (high - low) * (1 - t) if t >= 0.5 else low + (high - low) * t)
    return points


@dataclass(frozen=True)
class RunFacts:
    """What evaluation needs to know about a run's scenario, kept with the run and its JSON."""

    name: str
    duration: float
    slo: float | None
    mean_service: float
    slots: int
    control_interval: float
    description: str
    serverless: bool = False

    @classmethod
    def of(cls, scenario: Scenario) -> RunFacts:
        return cls(
            name=scenario.name,
            duration=float(scenario.duration),
            slo=scenario.slo,
            mean_service=scenario.service.mean,
            slots=scenario.replica.slots,
            control_interval=float(scenario.control_interval),
            description=repr(scenario),
            serverless=scenario.serverless is not None,
        )


# series added after the format was first written (read as zeros from older files)
ADDEDSERIES = ("busy_environments", "idle_environments")
SERIES = [
    f.name for f in fields(IntervalRecord) if f.name not in ("observed", "decision", "cluster")
]
COUNTS = ("arrived", "completed", "dropped", "timed_out", "failed", "cold_starts", "throttled")
FLOATS = {"start", "end", "utilization", "latency_mean", "latency_max", *QUANTILES}
