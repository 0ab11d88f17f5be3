"""The metrics pipeline: what a controller sees, scraped, averaged, late and sometimes missing.

Every ``resolution`` seconds a scrape averages the last ``resolution``
seconds over the ready replicas (warming ones are left out, as HPA and AWS
leave them out); the controller reads the newest scrape at least ``lag``
seconds old; a scrape fails with probability ``missing`` and the controller
then sees nothing. Metrics (per-replica ones averaged over ready replicas):

``cpu``
    Busy share of the slots, in percent.
``rps``
    Arrivals per second at the load balancer.
``concurrency``
    Requests in flight per ready replica.
``queue_length``
    Requests waiting for a slot, in all.
``latency_p95``
    95th percentile of the latencies completed since the last scrape (seconds).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Collection, Sequence

import numpy as np

from elastic.errors import ParameterError
from elastic.sim.clock import TOLERANCE, same_instant
from elastic.sim.scenario import MetricsSpec

__all__ = ["MetricsPipeline", "check_reads", "metrics_read"]


class MetricsPipeline:
    """Delivers scrapes to the controller: late by ``lag``, lost with probability ``missing``.

    ``sampler(now)`` measures the system; :meth:`scrape` calls it on the
    scrape schedule and :meth:`observe` hands out what the controller has.
    Decisions come every ``interval`` seconds until ``duration``;
    :meth:`read` tells which scrapes they read.
    """

    def __init__(
        self,
        spec: MetricsSpec,
        sampler: Callable[[float], dict[str, float]],
        rng: np.random.Generator,
        *,
        interval: float,
        duration: float,
    ) -> None:
        self.spec = spec
        self.sampler = sampler
        self.rng = rng
        self.interval = interval
        self.duration = duration
        self.scrapes: deque[tuple[float, dict[str, float] | None]] = deque()
        self._delivered: dict[str, float] | None = None

    def scrape(self, now: float) -> None:
        """Take one scrape at ``now``."""
        sample = self.sampler(now)
        failed = self.spec.missing > 0 and self.rng.random() < self.spec.missing
        self.scrapes.append((now, None if failed else sample))

    def read(self, scrape: float) -> bool:
        """Whether a decision will read the scrape taken at ``scrape``.

        The first decision at least ``lag`` after it reads it if no newer
        scrape is ``lag`` old by then; later decisions read newer ones.
        A scrape no decision reads can be skipped (:meth:`skip`).

        Examples
        --------
        >>> spec = MetricsSpec(resolution=15.0, lag=0.0)
        >>> rng = np.random.default_rng(0)
        >>> pipeline = MetricsPipeline(spec, dict, rng, interval=60.0, duration=600.0)
        >>> [t for t in (15.0, 30.0, 45.0, 60.0) if pipeline.read(t)]
        [60.0]
        """
        interval, lag = self.interval, self.spec.lag
        first = math.ceil((scrape + lag) / interval - TOLERANCE) * interval
        if first > self.duration and not same_instant(first, self.duration):
            return False
        following = scrape + self.spec.resolution  # the next scrape, read instead if lag old
        return first - lag < following and not same_instant(first - lag, following)

    def skip(self, now: float) -> None:
        """A scrape at ``now`` that no decision reads: its failure is drawn, nothing measured."""
        if self.spec.missing > 0:
            self.rng.random()
        self.scrapes.append((now, None))

    def observe(self, now: float) -> dict[str, float]:
        """The newest scrape at least ``lag`` old; nothing if it failed or none is that old."""
        cutoff = now - self.spec.lag
        scrapes = self.scrapes
        while scrapes and (scrapes[0][0] <= cutoff or same_instant(scrapes[0][0], cutoff)):
            self._delivered = scrapes.popleft()[1]
        return dict(self._delivered) if self._delivered else {}


def metrics_read(policy: object) -> frozenset[str]:
    """The metric names ``policy`` reads, as far as it tells.

    A policy says it with a ``metrics_read()`` method returning the names;
    without one, its ``metric`` name (target tracking, step scaling,
    predictive, Knative, KEDA), the names of its ``metrics`` (the HPA's),
    and what the policies it combines read (``policies``, ``primary``,
    ``fallback``) are taken. A policy that tells nothing reads nothing.

    Examples
    --------
    >>> from elastic.policies import MaxOf, StepScaling, TargetTracking
    >>> sorted(metrics_read(MaxOf([TargetTracking("cpu", 50.0),
    ...                            StepScaling("queue_length", 10, [(0, None, 1)])])))
    ['cpu', 'queue_length']
    """
    return frozenset(_reads(policy, 0))


def _reads(policy: object, depth: int) -> set[str]:
    if depth > 20:  # combinators nested this deep are a cycle
        return set()
    declared = getattr(policy, "metrics_read", None)
    if callable(declared):
        return {str(name) for name in declared()}
    names: set[str] = set()
    metric = getattr(policy, "metric", None)
    if isinstance(metric, str):
        names.add(metric)
    metrics = getattr(policy, "metrics", None)
    if isinstance(metrics, Sequence) and not isinstance(metrics, str):
        names.update(m.name for m in metrics if isinstance(getattr(m, "name", None), str))
    parts = getattr(policy, "policies", None)
    children = list(parts) if isinstance(parts, Sequence) and not isinstance(parts, str) else []
    children += [getattr(policy, name, None) for name in ("primary", "fallback")]
    for child in children:
        if child is not None:
            names |= _reads(child, depth + 1)
    return names


def check_reads(policies: object, produced: Collection[str], *, fidelity: str) -> None:
    """Refuse a policy that reads a metric the simulation never produces.

    Such a policy would see no data at every decision and hold for the
    whole run without a word.

    Raises
    ------
    ParameterError
        Naming the metric, the policy and the metrics produced.
    """
    wanted = policies if isinstance(policies, Sequence) else [policies]
    for policy in wanted:
        unknown = sorted(metrics_read(policy) - set(produced))
        if unknown:
            raise ParameterError(
                "metric",
                unknown[0],
                f"a metric this {fidelity} simulation produces: "
                f"{', '.join(sorted(produced))} ({type(policy).__name__} reads "
                f"{', '.join(map(repr, unknown))}, which would be missing at every decision)",
                owner="simulate",
            )
