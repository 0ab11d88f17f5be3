"""Streaming statistics: a log-binned latency histogram with quantiles to about 1 %, and
bounded counts of durations rounded to 11 significant bits (percentiles to 0.1 %)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from elastic.errors import ParameterError
from elastic.sim.records import percentiles_by_rank

__all__ = ["LatencyHistogram", "LatencyLog", "RoundedCounts"]

T = TypeVar("T")


class LatencyLog(Generic[T]):
    """Latencies of completed requests, in order, read by several readers at their own pace.

    Each reader (the scrapes, the interval records, the run's histogram)
    takes what completed since its own last take; what every reader has
    taken is let go.

    Examples
    --------
    >>> log = LatencyLog[float](("scrape", "record"))
    >>> log.add(0.1); log.add(0.2)
    >>> log.take("scrape")
    [0.1, 0.2]
    >>> log.add(0.3)
    >>> log.take("scrape"), log.take("record")
    ([0.3], [0.1, 0.2, 0.3])
    """

    def __init__(self, readers: Sequence[str]) -> None:
        self._items: list[T] = []
        self._first = 0  # the position in the log of _items[0]
        self._marks = dict.fromkeys(readers, 0)

    def add(self, item: T) -> None:
        self._items.append(item)

    def extend(self, items: Sequence[T]) -> None:
        self._items.extend(items)

    def waiting(self, reader: str) -> bool:
        """Whether ``reader`` has anything to take."""
        return self._marks[reader] < self._first + len(self._items)

    def take(self, reader: str) -> list[T]:
        """What completed since ``reader`` last took."""
        end = self._first + len(self._items)
        taken = self._items[self._marks[reader] - self._first :]
        self._marks[reader] = end
        oldest = min(self._marks.values())
        if oldest > self._first:
            del self._items[: oldest - self._first]
            self._first = oldest
        return taken


class LatencyHistogram:
    """Counts of latencies in log-spaced bins, from 1 µs to 1e6 s, 200 bins a decade.

    A month of requests is a fixed 2,400 counters; a quantile read from it is
    within 1.2 % of the exact one (half a bin). With an ``objective`` (the
    SLO), the latencies at or below it are counted exactly too (``within``),
    so that attainment does not depend on the bins.

    Examples
    --------
    >>> h = LatencyHistogram()
    >>> h.add(np.linspace(0.001, 1.0, 100_000))
    >>> round(h.quantile(0.5), 2), h.count
    (0.5, 100000)
    """

    LOW, DECADES, PER_DECADE = -6, 12, 200

    def __init__(self, objective: float | None = None) -> None:
        self.objective = objective
        self.within = 0  # latencies <= objective, counted exactly
        self.counts = np.zeros(self.DECADES * self.PER_DECADE + 2, dtype=np.int64)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    @classmethod
    def bins(cls, values: ArrayLike) -> NDArray[np.int64]:
        """The bins ``values`` fall in: 0 below 1 µs, the last one from 1e6 s.

        Examples
        --------
        >>> LatencyHistogram.bins([1e-9, 1e-6, 1.0, 1e9]).tolist()
        [0, 1, 1201, 2401]
        """
        position = (np.log10(np.maximum(values, 1e-300)) - cls.LOW) * cls.PER_DECADE
        top = cls.DECADES * cls.PER_DECADE + 1
        bins: NDArray[np.int64] = np.clip(np.floor(position).astype(np.int64) + 1, 0, top)
        return bins

    def add(self, latencies: ArrayLike, counts: ArrayLike | None = None) -> None:
        """Count ``latencies``, each ``counts[i]`` times (once if None)."""
        values = np.asarray(latencies, dtype=np.float64)
        if not len(values):
            return
        bins = self.bins(values)
        if counts is None:
            if self.objective is not None:
                self.within += int(np.count_nonzero(values <= self.objective))
            self.counts += np.bincount(bins, minlength=len(self.counts))
            self.count += len(values)
            self.total += float(values.sum())
            self.max = max(self.max, float(values.max(initial=0.0)))
            return
        weights = np.asarray(counts)
        if self.objective is not None:
            self.within += int(weights[values <= self.objective].sum())
        # float weights are exact for whole counts below 2**53
        self.counts += np.bincount(bins, weights, minlength=len(self.counts)).astype(np.int64)
        self.count += int(weights.sum())
        self.total += float((values * weights).sum())
        self.max = max(self.max, float(values[weights > 0].max(initial=0.0)))

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0 < q <= 1), at the geometric middle of its bin."""
        if not self.count:
            return float("nan")
        rank = int(np.ceil(q * self.count))
        index = int(np.searchsorted(np.cumsum(self.counts), max(rank, 1)))
        if index == 0:
            return 0.0
        edge = self.LOW + (index - 1 + 0.5) / self.PER_DECADE
        return float(min(10**edge, self.max))

    def fraction_within(self, limit: float) -> float:
        """Share of latencies at or below ``limit``: exact at the ``objective``, else to its bin."""
        if not self.count:
            return float("nan")
        if limit == self.objective:
            return self.within / self.count
        index = int(self.bins([limit])[0])
        return float(self.counts[: index + 1].sum() / self.count)

    def to_dict(self) -> dict[str, object]:
        """The non-empty bins and the running totals, JSON-ready."""
        used = np.flatnonzero(self.counts)
        return {
            "bins": used.tolist(),
            "counts": self.counts[used].tolist(),
            "count": self.count,
            "total": self.total,
            "max": self.max,
            "objective": self.objective,
            "within": self.within,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyHistogram:
        """Read back what :meth:`to_dict` gave."""
        histogram = cls(data.get("objective"))
        histogram.within = int(data.get("within", 0))
        histogram.counts[np.asarray(data["bins"], dtype=np.int64)] = data["counts"]
        histogram.count, histogram.total, histogram.max = data["count"], data["total"], data["max"]
        return histogram


class RoundedCounts:
    """How many times each duration occurred, durations rounded down to 11 significant bits.

    Bounded whatever the count: a duration from 2**-20 s (about 1 µs) to
    2**40 s (35,000 years) is one of 60 * 1,024 rounded values (1,024 per
    power of two), and one below 2**-20 s counts as 0. Rounding down to 11
    significant bits loses less than 2**-10 (0.1 %) of a duration, and
    none of one that is a whole number of seconds up to 2,048, or of any
    multiple of 2**(e - 10) s in [2**e, 2**(e + 1)) (65.0 and 61.25 s are
    kept as they are). :meth:`percentiles` are ``np.percentile`` of the
    rounded durations, so each is within 0.1 % below that of the exact ones
    (rounding down keeps their order).

    Examples
    --------
    >>> waits = RoundedCounts()
    >>> for wait in (0.0, 0.0, 65.0, 80.0, 3000.3):
    ...     waits.add(wait)
    >>> waits.count, waits.percentiles([50, 99])
    (5, [65.0, 2883.2])
    >>> RoundedCounts.rounded(3000.3), RoundedCounts.rounded(61.25)
    (3000.0, 61.25)
    """

    BITS = 11  # significant bits kept
    TINY = 2.0**-20  # below it, a duration counts as 0

    def __init__(self) -> None:
        self._counts: dict[float, int] = {}
        self.count = 0

    @classmethod
    def rounded(cls, seconds: float) -> float:
        """``seconds`` rounded down to :attr:`BITS` significant bits (0 below :attr:`TINY`)."""
        if not seconds >= 0 or math.isinf(seconds):
            raise ParameterError(
                "seconds", seconds, "a finite duration >= 0", owner="RoundedCounts"
            )
        if seconds < cls.TINY:
            return 0.0
        mantissa, exponent = math.frexp(seconds)
        return math.ldexp(math.floor(mantissa * 2**cls.BITS), exponent - cls.BITS)

    def add(self, seconds: float) -> None:
        """Count one duration."""
        key = self.rounded(seconds)
        self._counts[key] = self._counts.get(key, 0) + 1
        self.count += 1

    def with_added(self, seconds: Iterable[float]) -> RoundedCounts:
        """A copy that counts ``seconds`` too (this one is left as it is)."""
        more = RoundedCounts()
        more._counts = dict(self._counts)
        more.count = self.count
        for value in seconds:
            more.add(value)
        return more

    def __len__(self) -> int:
        """How many distinct rounded durations are held (the memory it takes)."""
        return len(self._counts)

    def percentiles(self, q: Sequence[float]) -> list[float]:
        """``np.percentile`` of the rounded durations at each of ``q`` (NaN when none)."""
        if not self.count:
            return [math.nan] * len(q)
        values = sorted(self._counts)
        ends = np.cumsum([self._counts[v] for v in values])  # ranks below each value's end

        def value_at(rank: int) -> float:
            return values[int(np.searchsorted(ends, rank, side="right"))]

        return percentiles_by_rank(value_at, self.count, q)
