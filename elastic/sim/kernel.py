"""The replica's queueing recursion, compiled with numba when it is installed (the ``fast`` extra).

:func:`starts` gives, for requests arriving in time order at a FIFO station
whose slots free up at the times in ``free`` (a binary min-heap, updated in
place), the moment each request starts. The pure-Python loop is the
reference; the compiled one performs the same floating-point operations in
the same order, so both give identical results (a test checks it).
"""

from __future__ import annotations

import os
from heapq import heapreplace

import numpy as np
from numpy.typing import NDArray

__all__ = ["COMPILED", "set_compiled", "starts", "starts_python"]

FloatArray = NDArray[np.float64]


def starts_python(arrivals: FloatArray, services: FloatArray, free: list[float]) -> list[float]:
    """The reference: one heap replacement per request, in plain Python."""
    begun: list[float] = []
    started = begun.append
    replace = heapreplace
    for arrival, service in zip(arrivals.tolist(), services.tolist(), strict=True):
        start = free[0]
        if start < arrival:
            start = arrival
        replace(free, start + service)
        started(start)
    return begun


def _starts_array(arrivals: FloatArray, services: FloatArray, free: FloatArray) -> FloatArray:
    begun = np.empty(len(arrivals))
    size = len(free)
    for i in range(len(arrivals)):
        start = free[0]
        if start < arrivals[i]:
            start = arrivals[i]
        begun[i] = start
        end = start + services[i]
        # replace the root by `end` and sift it down
        pos = 0
        while True:
            child = 2 * pos + 1
            if child >= size:
                break
            if child + 1 < size and free[child + 1] < free[child]:
                child += 1
            if free[child] < end:
                free[pos] = free[child]
                pos = child
            else:
                break
        free[pos] = end
    return begun


try:
    from numba import njit

    _compiled = njit(cache=True, nogil=True)(_starts_array)
    COMPILED = True
except ImportError:
    COMPILED = False

# the environment variable ELASTIC_PURE_PYTHON turns the compiled kernel off by default
_use_compiled = COMPILED and not os.environ.get("ELASTIC_PURE_PYTHON")


def set_compiled(enabled: bool) -> bool:
    """Use the compiled kernel (if numba is there) or pure Python; returns the previous choice."""
    global _use_compiled
    previous, _use_compiled = _use_compiled, bool(enabled) and COMPILED
    return previous


def starts(
    arrivals: FloatArray, services: FloatArray, free: list[float]
) -> list[float] | FloatArray:
    """Start times of the requests; ``free`` is updated (compiled when numba is there).

    Examples
    --------
    Two slots free at 0; three requests of 1 s at 0, 0.1 and 0.2:

    >>> free = [0.0, 0.0]
    >>> [round(float(s), 2) for s in starts(np.array([0.0, 0.1, 0.2]), np.ones(3), free)]
    [0.0, 0.1, 1.0]
    >>> sorted(round(f, 2) for f in free)
    [1.1, 2.0]
    """
    if not _use_compiled or len(arrivals) < 64:
        return starts_python(arrivals, services, free)
    heap = np.array(free, dtype=np.float64)
    begun = _compiled(
        np.ascontiguousarray(arrivals, np.float64), np.ascontiguousarray(services, np.float64), heap
    )
    free[:] = heap.tolist()
    return begun
