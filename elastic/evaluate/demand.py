"""Demand in replicas: the capacity needed to serve a load at the latency objective.

The SPEC metrics compare supply (ready replicas) with demand. Here demand in
an interval is the fewest replicas of ``slots`` slots that serve its arrival
rate ``λ`` with mean service time ``E[S]`` such that the mean response time
of the pooled M/M/c queue (``c = replicas * slots``, Erlang C) is within the
objective; without an objective, the fewest that keep utilization at or
below ``utilization`` (100 % by default: not overloaded).

The arrival rate is the load intensity the workload defines, averaged over
each interval (:func:`offered_rate`), as the SPEC Research Group's BUNGEE
derives demand from its load profile: a curve of the requests that happened
to arrive would make the metrics measure Poisson noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from elastic.core.validate import check_int, check_number
from elastic.queueing import mmc_mean_wait

__all__ = ["demand_replicas", "offered_rate"]

# samples per interval of the rate function: one a second, at most this many
MAX_SAMPLES = 64


def offered_rate(
    rate: Callable[[NDArray[np.float64]], ArrayLike],
    starts: ArrayLike,
    ends: ArrayLike,
) -> NDArray[np.float64]:
    """The mean of the rate function ``rate(times)`` over each interval ``[starts, ends)``.

    The midpoint rule on one sample a second, at most 64 an interval (so an
    interval longer than 64 s is sampled more sparsely), the same for every
    interval: exact for rates constant over each interval, and for rates
    constant over whole seconds in intervals of up to 64 s.

    Examples
    --------
    >>> step = lambda t: np.where(t < 10.0, 0.0, 6.0)
    >>> offered_rate(step, [0.0, 5.0], [5.0, 15.0]).tolist()
    [0.0, 3.0]
    """
    begin = np.asarray(starts, dtype=np.float64).reshape(-1)
    end = np.asarray(ends, dtype=np.float64).reshape(-1)
    if not len(begin):
        return np.empty(0)
    length = end - begin
    samples = int(min(MAX_SAMPLES, max(1, math.ceil(float(length.max()) - 1e-9))))
    where = (np.arange(samples) + 0.5) / samples
    times = begin[:, None] + length[:, None] * where[None, :]
    values = np.asarray(rate(times.reshape(-1)), dtype=np.float64).reshape(times.shape)
    return np.asarray(values.mean(axis=1), dtype=np.float64)


def demand_replicas(
    arrival_rate: ArrayLike,
    mean_service: float,
    slots: int = 1,
    *,
    objective: float | None = None,
    utilization: float = 1.0,
) -> NDArray[np.int64]:
    """Replicas needed in each interval (0 when nothing arrives).

    Examples
    --------
    10 req/s of 0.5 s on 2-slot replicas: 5 busy slots, so 3 replicas are
    enough to keep up; a 0.6 s objective (0.1 s of waiting) needs 4.

    >>> demand_replicas([10.0, 0.0], 0.5, slots=2).tolist()
    [3, 0]
    >>> demand_replicas([10.0], 0.5, slots=2, objective=0.6).tolist()
    [4]

    Requests that take no time still need a replica to run on:

    >>> demand_replicas([10.0, 0.0], 0.0).tolist()
    [1, 0]
    """
    owner = "demand_replicas"
    service = check_number(mean_service, "mean_service", owner=owner, ge=0)
    per = check_int(slots, "slots", owner=owner, ge=1)
    target = check_number(utilization, "utilization", owner=owner, gt=0, le=1)
    if objective is not None:
        check_number(objective, "objective", owner=owner, gt=service)
    rates = np.asarray(arrival_rate, dtype=np.float64).reshape(-1)
    needed = np.zeros(len(rates), dtype=np.int64)
    for index, rate in enumerate(rates.tolist()):
        if rate <= 0:
            continue
        load = rate * service
        replicas = max(1, math.ceil(load / (per * target) - 1e-9))
        if load / (replicas * per) >= 1:
            replicas += 1  # a queue at 100 % never settles
        if objective is not None and service > 0:  # work that takes no time never waits
            while service + mmc_mean_wait(replicas * per, rate, 1 / service) > objective:
                replicas += 1
        needed[index] = replicas
    return needed
