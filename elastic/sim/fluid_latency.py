"""The latency distribution a fluid run implies: delay ahead, queueing wait and service, mixed.

A request completed in a tick of a fluid run waited for the backlog ahead
of it (``delay``, the backlog over the accepting slots), then for a slot as
in a stationary queue at the interval's load, and was then served. Its
latency is ``delay + W + S``:

- ``S`` follows the scenario's service distribution;
- ``W`` is 0 with probability ``1 - C`` and exponential otherwise, with
  ``C`` the Erlang C probability of waiting and its mean such that
  ``E[W]`` is the Allen-Cunneen mean wait the fluid model uses for the
  mean latency (the usual two-moment approximation of a G/G/c wait).

The run's distribution mixes these over ticks, weighted by the requests
each tick completes. Ticks are grouped by their delay and the mean of
their wait, each on a log grid of 100 steps a decade (2.3 %); ``S`` and
the exponential are represented by 106 quantile points, finer in the
tail (down to 10⁻⁴ of probability), ``S``'s read from a sample of 65,536
service times drawn from a stream of its own.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from elastic.sim.distributions import Distribution
from elastic.sim.stats import LatencyHistogram

__all__ = ["LatencyMix"]

FloatArray = NDArray[np.float64]

_GRID = 100  # steps a decade of the delay and wait groups
_SAMPLE = 1 << 16  # service times drawn for the service's quantile points
_NONE = -(1 << 30)  # group of a zero delay


def _levels() -> tuple[FloatArray, FloatArray]:
    """Probability levels and masses of the quantile points: 1/64 apart, then log-spaced tail."""
    body = np.arange(58) / 64  # up to 0.89
    tail = 1 - 10 ** -np.arange(1.0, 4.0 + 1e-9, 1 / 16)  # 0.9 ... 0.9999
    edges = np.concatenate((body, tail, [1.0]))
    return (edges[:-1] + edges[1:]) / 2, np.diff(edges)


class LatencyMix:
    """Latencies of a fluid run's ticks, gathered into a :class:`LatencyHistogram`.

    With an ``objective`` (the SLO), the share of latencies at or below it
    is counted from the distribution itself, not from the histogram's bins.

    Examples
    --------
    >>> from elastic.sim import Exponential
    >>> mix = LatencyMix(Exponential(1.0), np.random.default_rng(0), objective=1.0)
    >>> mix.add(0.0, 10_000, wait=0.0, chance=0.0)  # no wait: the service times themselves
    >>> histogram = mix.histogram()
    >>> histogram.count, round(histogram.quantile(0.5), 1), round(histogram.quantile(0.99), 1)
    (10000, 0.7, 4.6)
    >>> histogram.fraction_within(1.0)  # 1 - exp(-1) = 0.632
    0.6319
    """

    def __init__(
        self, service: Distribution, rng: np.random.Generator, *, objective: float | None = None
    ) -> None:
        levels, masses = _levels()
        sample = np.sort(service.sample(rng, _SAMPLE))
        self.mean_service = service.mean
        self.service_points: FloatArray = np.quantile(sample, levels)
        self.exponential_points: FloatArray = -np.log1p(-levels)
        self.levels, self.masses = levels, masses
        self._waited: dict[int, FloatArray] = {}  # S + W's points, by group of W's mean
        self._groups: dict[tuple[int, int], list[float]] = {}  # (delay, wait) -> weights
        self._mass = np.zeros(len(LatencyHistogram().counts))
        self.objective = objective
        self._within = 0.0  # requests at or below the objective, from the points themselves
        self.count = 0
        self.total = 0.0  # the exact sum of the latencies, for the mean
        self.max = 0.0

    def add(
        self,
        delay: float | FloatArray,
        counts: int | NDArray[np.int64],
        *,
        wait: float,
        chance: float,
    ) -> None:
        """``counts`` requests behind ``delay`` seconds of backlog each (per tick, or one).

        ``wait`` is the mean queueing wait (seconds) and ``chance`` the
        probability of waiting at all, for every one of them.
        """
        waiting = wait > 0 and chance > 0
        wait_group = math.floor(math.log10(wait / chance) * _GRID) if waiting else _NONE
        share = min(chance, 1.0) if waiting else 0.0
        if isinstance(delay, float):
            n = int(counts)
            if not n:
                return
            self.count += n
            self.total += n * (delay + self.mean_service + wait)
            self._weigh(_group(delay), wait_group, float(n), share)
            return
        weights = np.asarray(counts, dtype=np.float64)
        n = round(float(weights.sum()))
        if not n:
            return
        self.count += n
        self.total += float((weights * delay).sum()) + n * (self.mean_service + wait)
        positive = delay > 0
        groups = np.full(len(delay), _NONE, dtype=np.int64)
        groups[positive] = np.floor(np.log10(delay[positive]) * _GRID).astype(np.int64)
        unique, inverse = np.unique(groups, return_inverse=True)
        sums = np.bincount(inverse, weights)
        for group, weight in zip(unique.tolist(), sums.tolist(), strict=True):
            if weight:
                self._weigh(group, wait_group, weight, share)

    def _weigh(self, delay_group: int, wait_group: int, weight: float, share: float) -> None:
        key = (delay_group, wait_group)
        weights = self._groups.get(key)
        if weights is None:
            weights = self._groups[key] = [0.0, 0.0]
        weights[0] += weight * (1 - share)
        weights[1] += weight * share

    def _fold(self) -> None:
        """Spread the gathered groups over the histogram's bins."""
        if not self._groups:
            return
        values, weights = [], []
        service, masses, objective = self.service_points, self.masses, self.objective
        for (delay_group, wait_group), (direct, waited) in self._groups.items():
            delay = _value(delay_group)
            for weight, points in (
                (direct, service),
                (waited, self._waiting(wait_group) if waited > 0 else service),
            ):
                if weight > 0:
                    values.append(delay + points)
                    weights.append(weight * masses)
                    if objective is not None:
                        self._within += weight * self._below(objective - delay, points)
        self._groups.clear()
        points, mass = np.concatenate(values), np.concatenate(weights)
        self.max = max(self.max, float(points.max()))
        self._mass += np.bincount(LatencyHistogram.bins(points), mass, minlength=len(self._mass))

    def _below(self, limit: float, points: FloatArray) -> float:
        """The probability of at most ``limit`` for quantile points (interpolated between them)."""
        if limit < 0:
            return 0.0
        return float(np.interp(limit, points, self.levels, left=0.0, right=1.0))

    def _waiting(self, group: int) -> FloatArray:
        """The quantile points of ``S + W`` for a wait ``W`` of mean ``_value(group)``.

        The sum of the two point sets (every pair), read back at the levels
        of the points; computed once a group.
        """
        points = self._waited.get(group)
        if points is None:
            mean = _value(group)
            sums = (self.service_points[:, None] + mean * self.exponential_points[None, :]).ravel()
            order = np.argsort(sums, kind="stable")
            cumulative = np.cumsum(np.outer(self.masses, self.masses).ravel()[order])
            at = np.minimum(np.searchsorted(cumulative, self.levels), len(sums) - 1)
            points = self._waited[group] = sums[order][at]
        return points

    def histogram(self) -> LatencyHistogram:
        """The distribution so far, in whole requests (the bins rounded cumulatively)."""
        self._fold()
        histogram = LatencyHistogram(self.objective)
        whole = np.round(np.cumsum(self._mass))
        histogram.counts = np.diff(whole, prepend=0.0).astype(np.int64)
        histogram.count = int(whole[-1]) if len(whole) else 0
        histogram.total = self.total * histogram.count / self.count if self.count else 0.0
        histogram.max = self.max
        histogram.within = min(round(self._within), histogram.count)
        return histogram

    def pending(self) -> int:
        """Groups gathered and not yet spread over the bins."""
        return len(self._groups)

    def fold(self) -> None:
        """Spread what was gathered (done in batches, to bound memory)."""
        self._fold()


def _group(delay: float) -> int:
    return math.floor(math.log10(delay) * _GRID) if delay > 0 else _NONE


def _value(group: int) -> float:
    """The middle (geometric) of a group of the log grid; 0 for no delay or wait."""
    return 0.0 if group == _NONE else float(10 ** ((group + 0.5) / _GRID))
