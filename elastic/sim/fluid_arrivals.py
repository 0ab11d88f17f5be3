"""Arrivals for the fluid model: counts per tick fetched in batches of whole control intervals.

Arrivals do not depend on what the replicas do, so they are drawn ahead;
and which share of them are expected counts rather than drawn ones (the
scrape noise of the fluid model depends on it).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from elastic.sim.clock import same_instant
from elastic.sim.workload import ArrivalStream, Superpose, Workload

__all__ = ["ArrivalBatches", "MeanField"]

FloatArray = NDArray[np.float64]
_BATCH_TICKS = 1 << 16  # arrival counts fetched ahead at a time


class ArrivalBatches:
    """The arrival counts of the coming control intervals, fetched a batch at a time.

    Arrivals do not depend on what the replicas do, so the counts of up to
    ``_BATCH_TICKS`` ticks of whole intervals are asked of the stream ahead,
    interval by interval as they would be one at a time (so they are the
    same counts), and numpy reduces the batch in one call per quantity
    instead of one per interval. :meth:`next` moves to the next interval and
    sets the ``row_*`` views and the scalars of it.
    """

    def __init__(
        self, stream: ArrivalStream, tick: float, interval: float, duration: float, service: float
    ) -> None:
        self.stream, self.tick, self.interval, self.duration = stream, tick, interval, duration
        self.service = service  # mean seconds of work per request
        self.ends: list[float] = []
        self.produced = 0  # arrivals the stream handed out, for the conservation check
        self.index = 0
        self.end = 0.0
        self.arrived, self.peak, self.total, self.last = 0, 0.0, 0.0, 0.0
        empty = np.empty(0)
        self.row_work = self.row_work_upto = empty
        self.row_counts = self.row_counts_upto = empty.astype(np.int64)

    def next(self, start: float) -> None:
        """Move to the interval that starts at ``start`` (the end of the previous one)."""
        if self.index == len(self.ends):
            self._fetch(start)
        i = self.index
        self.index += 1
        self.end = self.ends[i]
        self.row_counts, self.row_counts_upto = self._counts[i], self._counts_upto[i]
        self.row_work, self.row_work_upto = self._work[i], self._work_upto[i]
        self.arrived, self.peak = self._arrived[i], self._peak[i]
        self.total, self.last = self._total[i], self._last[i]

    def _end(self, j: int) -> float:
        """The end of the ``j``-th control interval, as the driver's ``intervals`` has it."""
        end = j * self.interval
        return self.duration if end > self.duration or same_instant(end, self.duration) else end

    def _fetch(self, start: float) -> None:
        # the intervals of the batch have the same number of ticks (the last one may be shorter)
        tick = self.tick
        ends: list[float] = []
        done = round(start / self.interval)  # intervals before start
        ticks = round((self._end(done + 1) - start) / tick)
        batch = max(1, _BATCH_TICKS // ticks)
        end = start
        while len(ends) < batch and end < self.duration:
            after = self._end(done + 1 + len(ends))
            if ends and round((after - end) / tick) != ticks:
                break
            ends.append(after)
            end = after
        counts = self.stream.counts_of(ends, tick)
        self.produced += int(counts.sum())
        work: FloatArray = np.multiply(counts, self.service, dtype=np.float64)
        self.ends, self.index = ends, 0
        self._counts, self._counts_upto = counts, np.cumsum(counts, axis=1)
        self._work, self._work_upto = work, np.cumsum(work, axis=1)
        self._arrived = counts.sum(axis=1).tolist()
        self._peak = work.max(axis=1).tolist()
        self._total = work.sum(axis=1).tolist()
        self._last = work[:, -1].tolist()


class MeanField:
    """Which share of a workload's fluid counts are expected counts, not drawn ones.

    A generator with a rate function (Poisson, diurnal, ramp, flash crowd) is
    fed to the fluid model at its expected rate; a trace, timestamps or an
    MMPP give counts of real arrivals, with their Poisson noise already in.
    """

    def __init__(self, workload: Workload) -> None:
        parts = workload.workloads if isinstance(workload, Superpose) else (workload,)
        self.expected = [p for p in parts if p.expected_counts]
        self.drawn = [p for p in parts if not p.expected_counts]

    def share(self, t: float) -> float:
        """The expected counts' share of the arrival rate at ``t``."""
        if not self.drawn:
            return 1.0
        if not self.expected:
            return 0.0
        rate = sum(float(p.mean_rate([t])[0]) for p in self.expected)
        other = sum(float(p.mean_rate([t])[0]) for p in self.drawn)
        return rate / (rate + other) if rate + other > 0 else 0.0
