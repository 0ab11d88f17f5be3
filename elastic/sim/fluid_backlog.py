"""The fluid queue: the backlog recursion over a control interval's ticks, and its results.

Pure numpy over arrays of one interval; :mod:`elastic.sim.fluid` holds the
replicas (cohorts) that give the capacity and the control plane around it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Ticks", "backlog_recursion"]

FloatArray = NDArray[np.float64]


def backlog_recursion(
    initial: float, work: FloatArray, capacity: FloatArray, cap: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The fluid queue: backlog after each tick, work served in it, work lost to ``cap``.

    ``B[k] = min(cap[k], max(0, B[k-1] + work[k] - capacity[k]))``. Without a
    cap it is the Lindley recursion, solved at once with cumulative sums:
    ``B[k] = S[k] - min(-B0, min(S[0..k]))`` where ``S`` is the cumulative
    net input; with a cap it runs tick by tick.

    Examples
    --------
    >>> backlog, served, lost = backlog_recursion(
    ...     1.0, np.array([3.0, 0.0, 5.0]), np.array([2.0, 2.0, 2.0]))
    >>> backlog.tolist(), served.tolist()
    ([2.0, 0.0, 3.0], [2.0, 2.0, 2.0])
    """
    if cap is None:
        net = np.cumsum(work - capacity)
        backlog = net - np.minimum(-initial, np.minimum.accumulate(net))
        before = np.concatenate(([initial], backlog[:-1]))
        return backlog, before + work - backlog, np.zeros(len(work))
    backlog, served, lost = np.empty(len(work)), np.empty(len(work)), np.empty(len(work))
    level = initial
    for k, (w, c, top) in enumerate(
        zip(work.tolist(), capacity.tolist(), cap.tolist(), strict=True)
    ):
        after = max(0.0, level + w - c)
        over = max(0.0, after - top)
        served[k] = level + w - after
        backlog[k] = after - over
        lost[k] = over
        level = backlog[k]
    return backlog, served, lost


class Ticks:
    """Per tick of one control interval: arrivals, work served, capacity, backlog, latency.

    In a steady interval (one capacity for every tick, no backlog) capacity,
    backlog and latency are single numbers.
    """

    __slots__ = (
        "_offered",
        "arrived",
        "arrived_upto",
        "backlog",
        "capacity",
        "chance",
        "counts",
        "delay",
        "everyone",
        "latency",
        "served",
        "served_total",
        "served_upto",
        "wait",
    )

    def __init__(
        self,
        *,
        counts: NDArray[np.int64],
        served: FloatArray,
        capacity: FloatArray | float,
        backlog: FloatArray | float,
        latency: FloatArray | float,
        delay: FloatArray | float,
        wait: float,
        chance: float,
        arrived: int,
        served_total: float,
        everyone: bool,
        served_upto: FloatArray,
        arrived_upto: NDArray[np.int64],
    ) -> None:
        self.counts, self.served, self.capacity = counts, served, capacity
        self.served_upto, self.arrived_upto = served_upto, arrived_upto  # cumulative sums
        self.backlog, self.latency = backlog, latency
        # the latency's parts: the backlog ahead (per tick), the queueing wait and its chance
        self.delay, self.wait, self.chance = delay, wait, chance
        self.arrived, self.served_total = arrived, served_total
        self.everyone = everyone  # every tick had a replica serving
        self._offered: FloatArray | None = None  # cumulative capacity, when it varies

    def offered(self, ticks: int) -> float:
        """Slot-seconds offered by the first ``ticks`` ticks."""
        if isinstance(self.capacity, float):
            return ticks * self.capacity
        if self._offered is None:
            self._offered = np.cumsum(self.capacity)
        return float(self._offered[ticks - 1])

    def backlog_at(self, k: int) -> float:
        """Work queued at the end of tick ``k``."""
        return self.backlog if isinstance(self.backlog, float) else float(self.backlog[k])
