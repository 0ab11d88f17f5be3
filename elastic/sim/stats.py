"""Streaming latency statistics: a log-binned histogram with quantiles to about 1 %."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["LatencyHistogram", "LatencyLog"]

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
