"""One replica as a queueing station: ``slots`` servers, one FIFO queue, solved by recursion.

A replica serves its requests first come, first served on ``slots``
concurrent slots. Because the order is FIFO, the moment a request starts is
known when it arrives: it is the later of its arrival and the moment the
earliest slot frees up (the Kiefer-Wolfowitz recursion of a multi-server
queue). An arrival is one heap operation on floats, not a process with
events, and the bookkeeping (what completed when, busy time, latencies) is
done afterwards, vectorized, by :meth:`Server.settle`.

The future is computed but not committed: a request counts as completed only
once the simulation clock passes its end, so a replica that fails, or is cut
off by a drain timeout, fails exactly the requests still in flight then.

A request that finds the queue full is dropped. With a ``timeout``, a
request whose wait would exceed it leaves the queue at ``arrival + timeout``
and counts as timed out then; it never takes a slot, which is exact for FIFO
with a fixed patience.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from heapq import heappop, heappush, heapreplace

import numpy as np
from numpy.typing import NDArray

from elastic.sim.kernel import starts

__all__ = ["ACCEPTED", "DROPPED", "TIMING_OUT", "Server", "Settled"]

ACCEPTED, DROPPED, TIMING_OUT = 0, 1, 2

FloatArray = NDArray[np.float64]
_NONE: FloatArray = np.empty((3, 0))  # no requests
_NONE.flags.writeable = False
# Up to this many requests, plain Python beats numpy's per-call overhead (a large fleet
# gives each replica a few requests per span). Below 8 numpy sums one by one, as Python
# does, so both paths give the same floats.
_SMALL = 7


@dataclass
class Settled:
    """What finished in a span of time: completions with their latencies, timeouts, failures."""

    completed: int = 0
    timed_out: int = 0
    failed: int = 0
    busy_seconds: float = 0.0
    latencies: list[FloatArray] = field(default_factory=list)
    waits: list[FloatArray] = field(default_factory=list)


class Server:
    """A replica's slots and queue.

    Parameters
    ----------
    slots
        Concurrent requests it serves.
    capacity
        Requests that may wait in its queue (None: unbounded).
    timeout
        Longest wait in the queue, in seconds (None: wait forever).
    now
        When it starts taking requests.
    track_outstanding
        Keep the count of outstanding requests current at each arrival, for
        load balancers that read it (least outstanding requests).

    Examples
    --------
    Two slots; the third request waits for the first to finish:

    >>> server = Server(2)
    >>> server.offer_many(np.array([0.0, 0.1, 0.2]), np.array([1.0, 1.0, 1.0]))
    >>> done = server.settle(1.05)
    >>> done.completed, server.in_flight(), server.busy_slots(1.05)
    (1, 2, 2)
    >>> done = server.settle(3.0)
    >>> done.completed, np.round(np.concatenate(done.latencies), 2).tolist()
    (2, [1.0, 1.8])
    """

    def __init__(
        self,
        slots: int,
        capacity: int | None = None,
        timeout: float | None = None,
        *,
        now: float = 0.0,
        track_outstanding: bool = False,
    ) -> None:
        self.slots = slots
        self.capacity = capacity
        self.timeout = timeout
        self._free = [now] * slots  # a heap: when each slot frees up
        # requests taken and not yet settled, in arrival order (starts never decrease):
        # numpy chunks of rows (arrival, start, end) from offer_many, then lists from offer
        self._chunks: list[FloatArray] = []
        self._arrival: list[float] = []
        self._start: list[float] = []
        self._end: list[float] = []
        self._abandon: list[float] = []  # when each timing-out request gives up, increasing
        self._leave: deque[float] = deque()  # when each waiting request leaves the queue
        self._ends: list[float] | None = [] if track_outstanding else None  # heap of ends
        self.dropped = 0
        self._first_end = np.inf  # no unsettled request ends before this
        self._busy: tuple[float, float] | None = None  # (now, busy_seconds(now)) until a change

    def offer_many(self, arrivals: FloatArray, services: FloatArray) -> None:
        """Take requests arriving at ``arrivals`` (in time order) needing ``services`` seconds."""
        if self.capacity is not None or self.timeout is not None or self._ends is not None:
            for arrival, service in zip(arrivals.tolist(), services.tolist(), strict=True):
                self.offer(arrival, service)
            return
        # the common case: no queue bound, no patience; the recursion (compiled if it can be)
        if not len(arrivals):
            return
        if len(arrivals) <= _SMALL:
            self._offer_few(arrivals.tolist(), services.tolist())
            return
        self._flush()
        chunk = np.empty((3, len(arrivals)))
        chunk[0] = arrivals
        chunk[1] = starts(arrivals, services, self._free)
        np.add(chunk[1], services, out=chunk[2])
        self._chunks.append(chunk)
        self._first_end = min(self._first_end, float(chunk[2].min()))
        self._busy = None

    def _offer_few(self, arrivals: list[float], services: list[float]) -> None:
        """:func:`~elastic.sim.kernel.starts` for a few requests, kept in the lists."""
        free, first = self._free, self._first_end
        for arrival, service in zip(arrivals, services, strict=True):
            start = free[0]
            if start < arrival:
                start = arrival
            end = start + service
            heapreplace(free, end)
            self._arrival.append(arrival)
            self._start.append(start)
            self._end.append(end)
            if end < first:
                first = end
        self._first_end = first
        self._busy = None

    def offer(self, arrival: float, service: float) -> int:
        """Take one request; return ``ACCEPTED``, ``DROPPED`` (queue full) or ``TIMING_OUT``."""
        free = self._free[0]
        if free > arrival:  # it has to wait
            leave = self._leave
            while leave and leave[0] <= arrival:
                leave.popleft()
            if self.capacity is not None and len(leave) >= self.capacity:
                self.dropped += 1
                return DROPPED
            timeout = self.timeout
            if timeout is not None and free - arrival > timeout:
                leave.append(arrival + timeout)
                self._abandon.append(arrival + timeout)
                if self._ends is not None:
                    heappush(self._ends, arrival + timeout)
                return TIMING_OUT
            leave.append(free)
            start = free
        else:
            start = arrival
        end = start + service
        heapreplace(self._free, end)
        self._busy = None
        self._arrival.append(arrival)
        self._start.append(start)
        self._end.append(end)
        self._first_end = min(self._first_end, end)
        if self._ends is not None:
            heappush(self._ends, end)
        return ACCEPTED

    def _flush(self) -> None:
        if self._end:
            self._chunks.append(np.array([self._arrival, self._start, self._end]))
            self._arrival, self._start, self._end = [], [], []

    def _pending(self) -> FloatArray:
        """Every unsettled request as one chunk: rows arrival, start and end."""
        self._flush()
        if len(self._chunks) != 1:
            self._chunks = [np.concatenate(self._chunks, axis=1) if self._chunks else _NONE]
        return self._chunks[0]

    def outstanding(self, now: float) -> int:
        """Requests taken and not yet gone at ``now`` (needs ``track_outstanding``)."""
        ends = self._ends
        if ends is None:
            raise RuntimeError("Server(track_outstanding=False) does not count outstanding")
        while ends and ends[0] <= now:
            heappop(ends)
        return len(ends)

    def waiting(self, now: float) -> int:
        """Requests in the queue at ``now`` (with a capacity or a timeout; else see in_flight)."""
        leave = self._leave
        while leave and leave[0] <= now:
            leave.popleft()
        return len(leave)

    def due(self, now: float) -> bool:
        """Whether something ends by ``now`` (what :meth:`settle` would count)."""
        return now >= self._first_end or bool(self._abandon and self._abandon[0] <= now)

    def settle(self, now: float) -> Settled:
        """Count and forget what finished by ``now``: completions (end <= now) and timeouts."""
        done = Settled()
        if not self.due(now):
            return done
        if not self._chunks and len(self._end) <= _SMALL:
            self._settle_few(now, done)
        else:
            self._settle_many(now, done)
        abandon = self._abandon
        left = 0
        while left < len(abandon) and abandon[left] <= now:
            left += 1
        if left:
            del abandon[:left]
            done.timed_out = left
        return done

    def _settle_few(self, now: float, done: Settled) -> None:
        """:meth:`settle` of the few requests in the lists, in plain Python."""
        arrival, start, end = self._arrival, self._start, self._end
        gone = [i for i, e in enumerate(end) if e <= now]
        if not gone:
            return
        done.completed = len(gone)
        busy = 0.0
        for i in gone:
            busy += end[i] - start[i]
        done.busy_seconds = busy
        done.latencies.append(np.array([end[i] - arrival[i] for i in gone]))
        done.waits.append(np.array([start[i] - arrival[i] for i in gone]))
        if len(gone) == len(end):
            self._arrival, self._start, self._end = [], [], []
            self._first_end = np.inf
        else:
            kept = [i for i, e in enumerate(end) if e > now]
            self._arrival = [arrival[i] for i in kept]
            self._start = [start[i] for i in kept]
            self._end = [end[i] for i in kept]
            self._first_end = min(self._end)
        self._busy = None

    def _settle_many(self, now: float, done: Settled) -> None:
        pending = self._pending()
        if pending.shape[1]:
            finished = pending[2] <= now
            done.completed = int(np.count_nonzero(finished))
            if done.completed:
                if done.completed == len(finished):
                    gone, kept = pending, _NONE
                else:
                    gone = pending.compress(finished, axis=1)  # far faster than [:, mask]
                    kept = pending.compress(~finished, axis=1)
                done.busy_seconds = float((gone[2] - gone[1]).sum())
                done.latencies.append(gone[2] - gone[0])
                done.waits.append(gone[1] - gone[0])
                self._chunks = [kept] if kept.shape[1] else []
                self._first_end = float(kept[2].min()) if kept.shape[1] else np.inf
                self._busy = None

    def in_flight(self) -> int:
        """Requests taken and not yet settled (in service, waiting or timing out)."""
        taken: int = sum(c.shape[1] for c in self._chunks)
        return taken + len(self._end) + len(self._abandon)

    def queued(self, now: float) -> int:
        """Requests taken and still waiting for a slot at ``now``."""
        if self._first_end == np.inf and not self._abandon:
            return 0  # nothing unsettled (most replicas of a large fleet, most of the time)
        if not self._chunks and len(self._end) <= _SMALL:
            return sum(1 for t in self._start if t > now) + sum(1 for t in self._abandon if t > now)
        start = self._pending()[1]
        return int(np.count_nonzero(start > now)) + sum(1 for t in self._abandon if t > now)

    def busy_slots(self, now: float) -> int:
        """Slots serving a request at ``now``."""
        _, start, end = self._pending()
        return int(np.count_nonzero((start <= now) & (now < end)))

    def busy_seconds(self, now: float) -> float:
        """Slot-seconds of service given to unsettled requests up to ``now``."""
        if self._busy is not None and self._busy[0] == now:
            return self._busy[1]
        if self._first_end == np.inf:
            return 0.0  # nothing unsettled
        if not self._chunks and len(self._end) <= _SMALL:
            busy = 0.0
            for start, end in zip(self._start, self._end, strict=True):
                served = (end if end < now else now) - start
                if served > 0:
                    busy += served
            self._busy = (now, busy)
            return busy
        _, start, end = self._pending()
        served = np.minimum(end, now) - start
        busy = float(served[served > 0].sum())
        self._busy = (now, busy)
        return busy

    def idle_at(self) -> float:
        """When the last request taken so far leaves (finishes or times out)."""
        end = self._pending()[2]
        last = float(end.max()) if len(end) else -np.inf
        return max(last, self._abandon[-1] if self._abandon else -np.inf)

    def fail(self, now: float) -> Settled:
        """Stop at ``now``: settle what finished, fail what is still in flight."""
        done = self.settle(now)
        done.busy_seconds += self.busy_seconds(now)
        done.failed = self.in_flight()
        self._chunks, self._arrival, self._start, self._end = [], [], [], []
        self._first_end = np.inf
        self._busy = None
        self._abandon.clear()
        self._leave.clear()
        if self._ends is not None:
            self._ends.clear()
        return done
