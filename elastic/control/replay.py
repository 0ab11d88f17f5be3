"""Real history as a trace: what would these policies have done on last week's traffic?

A Prometheus range query of the request rate becomes a trace of requests per
bucket (:class:`~elastic.sim.TraceReplay`), written as a CSV file and a
``Workload`` manifest next to it, so that ``elastic compare`` runs any
policies on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from elastic.control.prometheus import query_range
from elastic.errors import ParameterError
from elastic.sim.limits import MAX_BUCKET_COUNT
from elastic.sim.workload import TraceReplay

__all__ = [
    "MAX_GAP_SHARE",
    "GapsError",
    "History",
    "history_of",
    "prometheus_history",
    "prometheus_trace",
    "trace_of",
    "write_trace",
]

_ROWS_PER_WRITE = 4096

MAX_GAP_SHARE = 0.5
"""Largest share of a trace's buckets (between its first and last sample) that may be gaps."""


class GapsError(ParameterError):
    """More of a trace's buckets are gaps than ``max_gap_share`` allows.

    Attributes ``gaps``, ``buckets`` and ``max_gap_share`` say how many;
    :meth:`what` says it in words.

    Examples
    --------
    >>> raise GapsError(3, 5, 0.5)
    Traceback (most recent call last):
    ...
    elastic.control.replay.GapsError: trace_of: rates: 3 of the 5 buckets (60 %) between the
    first and the last sample are gaps (no sample, NaN, infinite or negative); expected at most
    max_gap_share=0.5 of them: a larger step, or max_gap_share=None to replay the gaps filled
    from their neighbours
    """

    def __init__(
        self, gaps: int, buckets: int, max_gap_share: float, *, owner: str = "trace_of"
    ) -> None:
        self.gaps = gaps
        self.buckets = buckets
        self.max_gap_share = max_gap_share
        expected = f"at most max_gap_share={max_gap_share:g} of them"
        super().__init__("rates", self.what(), expected, owner=owner)
        self.args = (
            f"{owner}: rates: {self.what()}; expected {expected}: a larger step, or "
            "max_gap_share=None to replay the gaps filled from their neighbours",
        )

    def what(self) -> str:
        """How many buckets are gaps, in words."""
        return (
            f"{self.gaps} of the {self.buckets} buckets ({100 * self.gaps / self.buckets:.0f} %) "
            "between the first and the last sample are gaps (no sample, NaN, infinite or negative)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_gaps, (self.gaps, self.buckets, self.max_gap_share, self.owner))


def _rebuild_gaps(gaps: int, buckets: int, share: float, owner: str | None) -> GapsError:
    return GapsError(gaps, buckets, share, owner=owner or "trace_of")


@dataclass(frozen=True, slots=True)
class History:
    """A replayable trace and where it lies in the range that was asked for.

    Attributes
    ----------
    trace
        The trace, from the first real sample to the last (its times start at 0).
    start
        Unix seconds of the first real sample: the trace's time 0.
    step
        Seconds per bucket.
    before, after
        Buckets of the range before the first real sample and after the last,
        left out (the series did not exist then, or was not scraped).

    Examples
    --------
    >>> history = history_of(np.array([0.0, 60.0, 120.0]), np.array([np.nan, 1.0, 1.0]), 60.0)
    >>> history.start, history.end, history.before, history.after, history.gaps
    (60.0, 120.0, 1, 0, 0)
    """

    trace: TraceReplay
    start: float
    step: float
    before: int
    after: int

    @property
    def end(self) -> float:
        """Unix seconds of the last real sample."""
        return self.start + float(self.trace.times[-1])

    @property
    def gaps(self) -> int:
        """Buckets of the trace without a usable sample (filled from their neighbours)."""
        return 0 if self.trace.logged is None else int(np.count_nonzero(~self.trace.logged))


def prometheus_history(
    url: str,
    query: str,
    start: float,
    end: float,
    step: float,
    *,
    max_gap_share: float | None = MAX_GAP_SHARE,
    **options: Any,
) -> History:
    """The :class:`History` of ``query``, a rate in requests per second, from ``start`` to ``end``.

    As :func:`prometheus_trace`, with where the series starts and ends in
    the range and how many buckets were left out before and after it.
    """
    times, rates = query_range(url, query, start, end, step, gaps="nan", **options)
    return _history(times, rates, step, max_gap_share, "prometheus_history")


def prometheus_trace(
    url: str,
    query: str,
    start: float,
    end: float,
    step: float,
    *,
    max_gap_share: float | None = MAX_GAP_SHARE,
    **options: Any,
) -> TraceReplay:
    """The trace of ``query``, a rate in requests per second, from ``start`` to ``end``.

    Each bucket of ``step`` seconds holds ``round(rate * step)`` requests. A
    step where Prometheus has no sample, or one that is NaN, infinite or
    negative (a counter reset read badly), is a gap: ``logged`` is false
    there and the replay fills it from its neighbours (never as zero
    traffic). The steps before the first real sample and after the last
    are left out, never filled (a series that existed for 10 minutes of a
    2-day range gives 10 minutes of trace); times start at 0 at the first
    real sample. More than ``max_gap_share`` of the remaining buckets being
    gaps raises :class:`GapsError` (``None``: no limit). ``options`` go to
    :func:`~elastic.control.prometheus.query_range` (timeouts, retries,
    a client).
    """
    return prometheus_history(
        url, query, start, end, step, max_gap_share=max_gap_share, **options
    ).trace


def history_of(
    times: np.ndarray,
    rates: np.ndarray,
    step: float,
    *,
    max_gap_share: float | None = MAX_GAP_SHARE,
) -> History:
    """The :class:`History` of ``rates`` (requests per second, NaN for a gap) at Unix ``times``.

    As :func:`trace_of`, with where the real samples start and end.

    Examples
    --------
    >>> history = history_of(np.array([0.0, 60.0, 120.0, 180.0]),
    ...                      np.array([np.nan, 2.0, 1.0, np.nan]), 60.0)
    >>> history.start, history.before, history.after, history.trace.counts.tolist()
    (60.0, 1, 1, [120, 60])
    """
    return _history(times, rates, step, max_gap_share, "history_of")


def trace_of(
    times: np.ndarray,
    rates: np.ndarray,
    step: float,
    *,
    max_gap_share: float | None = MAX_GAP_SHARE,
) -> TraceReplay:
    """The trace of ``rates`` (requests per second, NaN for a gap) sampled every ``step``.

    The gaps before the first usable rate and after the last are left out
    (times start at 0 at the first); more than ``max_gap_share`` of the
    buckets left being gaps raises :class:`GapsError` (``None``: no limit).

    Examples
    --------
    >>> trace = trace_of(np.array([600.0, 660.0, 720.0]), np.array([2.0, np.nan, 0.5]), 60.0)
    >>> # the gap is filled between its neighbours (interpolated), never read as no traffic
    >>> trace.times.tolist(), trace.counts.tolist(), trace.logged.tolist()
    ([0.0, 60.0, 120.0], [120, 75, 30], [True, False, True])
    >>> # leading and trailing gaps are not traffic either: they are left out
    >>> trace_of(np.arange(5) * 60.0, np.array([np.nan, np.nan, 1.0, 2.0, np.nan]), 60.0).counts
    array([ 60, 120])
    """
    return _history(times, rates, step, max_gap_share, "trace_of").trace


def _history(
    times: np.ndarray,
    rates: np.ndarray,
    step: float,
    max_gap_share: float | None,
    owner: str,
) -> History:
    if max_gap_share is not None and (
        isinstance(max_gap_share, bool)
        or not isinstance(max_gap_share, int | float)
        or not 0 <= max_gap_share <= 1
    ):
        raise ParameterError(
            "max_gap_share", max_gap_share, "a share in [0, 1] or None", owner=owner
        )
    times = np.asarray(times, dtype=np.float64)
    rates = np.asarray(rates, dtype=np.float64)
    if times.ndim != 1 or times.shape != rates.shape:
        raise ParameterError(
            "times", times.shape, f"one time per rate ({rates.shape})", owner=owner
        )
    # temporaries of at most 8 bytes a point each: a range may have 10 M of them
    logged = np.isfinite(rates)
    logged &= rates >= 0
    real = int(np.count_nonzero(logged))
    if real == 0:
        raise ParameterError(
            "rates", "no usable sample", "at least one finite rate >= 0 in the range",
            owner=owner,
        )  # fmt: skip
    first, last = int(np.argmax(logged)), len(logged) - 1 - int(np.argmax(logged[::-1]))
    after = len(rates) - 1 - last
    times, rates, logged = (
        times[first : last + 1],
        rates[first : last + 1],
        logged[first : last + 1],
    )
    gaps = len(rates) - real
    if max_gap_share is not None and gaps > max_gap_share * len(rates):
        raise GapsError(gaps, len(rates), float(max_gap_share), owner=owner)
    counts = np.where(logged, rates, 0.0)
    counts *= step
    np.round(counts, out=counts)
    largest = float(counts.max())
    if largest > MAX_BUCKET_COUNT:
        raise ParameterError(
            "rates",
            f"{largest / step:g} requests/s",
            f"at most {MAX_BUCKET_COUNT} requests a bucket of {step:g} s "
            "(elastic.sim.limits.MAX_BUCKET_COUNT); a rate in requests per second",
            owner=owner,
        )
    trace = TraceReplay(_offsets(times, step), counts, bucket=step, logged=logged)
    return History(trace, float(times[0]), float(step), first, after)


def _offsets(times: np.ndarray, step: float) -> np.ndarray:
    """``times - times[0]``: ``k * step`` exactly when the times are on that grid.

    Unix times near 1.7e9 carry about 2e-7 s of rounding: ``START + 3 * 0.05
    - START`` is not ``0.15``, and would be written so.
    """
    grid = step * np.arange(len(times), dtype=np.float64)
    off: np.ndarray = times - times[0]
    off -= grid
    np.abs(off, out=off)
    if len(times) < 2 or float(off.max()) <= 1e-3 * step:
        return grid
    off = times - times[0]  # off the grid: TraceReplay names the first bad time
    return off


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
    for option, value in (("service", service), ("slo", slo)):
        if value is not None and not (
            isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0
        ):  # fmt: skip
            raise ParameterError(option, value, "seconds > 0", owner="write_trace")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / f"{name}.csv"
    logged = np.ones(len(trace.times), dtype=bool) if trace.logged is None else trace.logged
    with table.open("w", encoding="utf-8") as out:
        out.write("time_s,requests,logged\n")
        for at in range(0, len(trace.times), _ROWS_PER_WRITE):  # a few rows at a time: 10 M fit
            part = slice(at, at + _ROWS_PER_WRITE)
            ok = logged[part]
            counts = np.where(ok, trace.counts[part], 0)  # a gap's count is not read: 0 there
            out.write(
                "".join(
                    f"{t:.15g},{c},{k}\n"  # 15 digits: k * step to the millisecond up to 1e12 s
                    for t, c, k in zip(
                        trace.times[part].tolist(),
                        counts.tolist(),
                        ok.astype(np.int8).tolist(),
                        strict=True,
                    )
                )
            )
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
