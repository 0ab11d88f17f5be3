"""Service-level metrics: how many requests met the latency objective, and for how long it broke."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = ["attainment", "latency_percentiles", "seconds_in_violation", "slo_attainment"]


def attainment(within: float, served: float, lost: float = 0) -> float:
    """Share of requests within the objective: ``within`` of the ``served`` plus the ``lost``.

    The one rule behind :func:`slo_attainment` and a run's summary: a request
    dropped, timed out or failed missed the objective. NaN when no request
    was served or lost.

    Examples
    --------
    >>> attainment(3, 4, lost=1)
    0.6
    """
    total = served + lost
    return within / total if total else float("nan")


def slo_attainment(
    latencies: ArrayLike, objective: float, *, dropped: int = 0, timed_out: int = 0, failed: int = 0
) -> float:
    """Share of requests served within ``objective`` seconds (0 to 1).

    Requests dropped, timed out or failed count as missing the objective.

    Examples
    --------
    Three of four served within 0.5 s, and one request dropped: 3 of 5.

    >>> slo_attainment([0.1, 0.2, 0.4, 0.9], 0.5, dropped=1)
    0.6
    """
    check_number(objective, "objective", owner="slo_attainment", gt=0)
    values = np.asarray(latencies, dtype=np.float64).reshape(-1)
    within = int(np.count_nonzero(values <= objective))
    return attainment(within, len(values), dropped + timed_out + failed)


def latency_percentiles(
    latencies: ArrayLike, q: tuple[float, ...] = (50, 90, 95, 99, 100)
) -> dict[str, float]:
    """Latency percentiles by name (``"p50"`` ... ``"max"``), NaN when there is none.

    Examples
    --------
    >>> latency_percentiles([1.0, 2.0, 3.0, 4.0], q=(50, 100))
    {'p50': 2.5, 'max': 4.0}
    """
    values = np.asarray(latencies, dtype=np.float64).reshape(-1)
    names = ["max" if p == 100 else f"p{p:g}" for p in q]
    if not len(values):
        return dict.fromkeys(names, float("nan"))
    return {name: float(v) for name, v in zip(names, np.percentile(values, q), strict=True)}


def seconds_in_violation(dt: ArrayLike, latency: ArrayLike, objective: float) -> float:
    """Seconds spent in intervals whose latency (e.g. their p95) is above ``objective``.

    An interval without requests (NaN latency) is not in violation.

    Examples
    --------
    >>> seconds_in_violation([60, 60, 60], [0.2, 0.7, float("nan")], 0.5)
    60.0
    """
    check_number(objective, "objective", owner="seconds_in_violation", gt=0)
    step = np.asarray(dt, dtype=np.float64)
    value = np.asarray(latency, dtype=np.float64)
    if step.shape != value.shape:
        raise ParameterError(
            "latency",
            value.shape,
            f"one value per interval ({step.shape})",
            owner="seconds_in_violation",
        )
    return float(step[np.nan_to_num(value, nan=-np.inf) > objective].sum())
