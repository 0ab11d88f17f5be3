"""Real history as a trace: what would these policies have done on last week's traffic?

A Prometheus range query of the request rate becomes a trace of requests per
bucket (:class:`~elastic.sim.TraceReplay`), written as a CSV file and a
``Workload`` manifest next to it, so that ``elastic compare`` runs any
policies on it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from elastic.control.prometheus import query_range
from elastic.errors import ParameterError
from elastic.sim.limits import MAX_BUCKET_COUNT
from elastic.sim.workload import TraceReplay

__all__ = ["prometheus_trace", "trace_of", "write_trace"]


def prometheus_trace(
    url: str, query: str, start: float, end: float, step: float, **options: Any
) -> TraceReplay:
    """The trace of ``query``, a rate in requests per second, from ``start`` to ``end``.

    Each bucket of ``step`` seconds holds ``round(rate * step)`` requests. A
    step where Prometheus has no sample, or one that is NaN, infinite or
    negative (a counter reset read badly), is a gap: ``logged`` is false
    there and the replay fills it from its neighbours (never as zero
    traffic). Times start at 0. ``options`` go to
    :func:`~elastic.control.prometheus.query_range` (timeouts, retries,
    a client).
    """
    times, rates = query_range(url, query, start, end, step, gaps="nan", **options)
    return trace_of(times, rates, step)


def trace_of(times: np.ndarray, rates: np.ndarray, step: float) -> TraceReplay:
    """The trace of ``rates`` (requests per second, NaN for a gap) sampled every ``step``.

    Examples
    --------
    >>> trace = trace_of(np.array([600.0, 660.0, 720.0]), np.array([2.0, np.nan, 0.5]), 60.0)
    >>> # the gap is filled between its neighbours (interpolated), never read as no traffic
    >>> trace.times.tolist(), trace.counts.tolist(), trace.logged.tolist()
    ([0.0, 60.0, 120.0], [120, 75, 30], [True, False, True])
    """
    rates = np.asarray(rates, dtype=np.float64)
    logged = np.isfinite(rates) & (rates >= 0)
    if not logged.any():
        raise ParameterError(
            "rates", "no usable sample", "at least one finite rate >= 0 in the range",
            owner="trace_of",
        )  # fmt: skip
    counts = np.zeros(len(rates), dtype=np.float64)
    counts[logged] = np.round(rates[logged] * step)
    largest = float(counts.max())
    if largest > MAX_BUCKET_COUNT:
        raise ParameterError(
            "rates",
            f"{largest / step:g} requests/s",
            f"at most {MAX_BUCKET_COUNT} requests a bucket of {step:g} s "
            "(elastic.sim.limits.MAX_BUCKET_COUNT); a rate in requests per second",
            owner="trace_of",
        )
    return TraceReplay(
        np.asarray(times, dtype=np.float64) - float(times[0]),
        counts.astype(np.int64),
        bucket=step,
        logged=logged,
    )


def write_trace(
    folder: str | Path,
    name: str,
    trace: TraceReplay,
    *,
    service: float = 0.1,
    slo: float | None = None,
    source: str = "",
) -> tuple[Path, Path]:
    """Write ``trace`` as ``<folder>/<name>.csv`` and a ``Workload`` manifest
    ``<folder>/<name>.yaml`` that replays it (service time exponential with
    mean ``service`` seconds, latency objective ``slo``); the two paths."""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise ParameterError(
            "name", name, "a name of letters, digits, '-', '_' or '.'", owner="write_trace"
        )
    if not (math.isfinite(service) and service > 0):
        raise ParameterError("service", service, "seconds > 0", owner="write_trace")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / f"{name}.csv"
    logged = np.ones(len(trace.times), dtype=bool) if trace.logged is None else trace.logged
    rows = ["time_s,requests,logged"] + [  # a gap's count is not read: 0 there
        f"{t:g},{c if ok else 0},{int(ok)}"
        for t, c, ok in zip(trace.times, trace.counts, logged, strict=True)
    ]
    table.write_text("\n".join(rows) + "\n")
    manifest = folder / f"{name}.yaml"
    lines = [
        "# replayed from Prometheus" + (": " + " ".join(source.split()) if source else ""),
        "apiVersion: elastic/v1",
        "kind: Workload",
        "metadata:",
        f"  name: {name}",
        "spec:",
        "  trace:",
        f"    file: {table.name}",
        "    column: requests",
        "    spread: poisson",
        "  service:",
        f"    exponential: {{mean: {service:g}}}",
    ]
    if slo is not None:
        lines.append(f"  slo: {slo:g}")
    manifest.write_text("\n".join(lines) + "\n")
    return table, manifest
