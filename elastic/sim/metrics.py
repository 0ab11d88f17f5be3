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

from collections import deque
from collections.abc import Callable, Collection, Sequence

import numpy as np

from elastic.errors import ParameterError
from elastic.sim.cluster import READY, Cluster
from elastic.sim.result import LatencySorter, percentiles_of_sorted
from elastic.sim.scenario import MetricsSpec

__all__ = ["ClusterSampler", "MetricsPipeline", "check_reads", "metrics_read"]


class MetricsPipeline:
    """Delivers scrapes to the controller: late by ``lag``, lost with probability ``missing``.

    ``sampler(now)`` measures the system; :meth:`scrape` calls it on the
    scrape schedule and :meth:`observe` hands out what the controller has.
    """

    def __init__(
        self,
        spec: MetricsSpec,
        sampler: Callable[[float], dict[str, float]],
        rng: np.random.Generator,
    ) -> None:
        self.spec = spec
        self.sampler = sampler
        self.rng = rng
        self.scrapes: deque[tuple[float, dict[str, float] | None]] = deque()
        self._delivered: dict[str, float] | None = None

    def scrape(self, now: float) -> None:
        """Take one scrape at ``now``."""
        sample = self.sampler(now)
        failed = self.spec.missing > 0 and self.rng.random() < self.spec.missing
        self.scrapes.append((now, None if failed else sample))

    def skip(self, now: float) -> None:
        """A scrape at ``now`` that no decision reads: its failure is drawn, nothing measured."""
        if self.spec.missing > 0:
            self.rng.random()
        self.scrapes.append((now, None))

    def observe(self, now: float) -> dict[str, float]:
        """The newest scrape at least ``lag`` old; nothing if it failed or none is that old."""
        cutoff = now - self.spec.lag
        while self.scrapes and self.scrapes[0][0] <= cutoff:
            self._delivered = self.scrapes.popleft()[1]
        return dict(self._delivered) if self._delivered else {}


class ClusterSampler:
    """The metrics of a request-level cluster, over the time since the previous sample."""

    #: every metric a request-level controller can be given
    PRODUCES = ("cpu", "concurrency", "rps", "queue_length", "latency_p95")

    def __init__(self, cluster: Cluster, sort: LatencySorter | None = None) -> None:
        self.cluster = cluster
        self.sort = sort or LatencySorter()
        self._busy: dict[int, float] = {}  # replica id -> cumulative busy at the last sample
        self._last = 0.0
        self._arrived = 0

    def __call__(self, now: float) -> dict[str, float]:
        cluster = self.cluster
        cluster.settle(now)
        window = now - self._last
        sample: dict[str, float] = {}
        utilizations, in_flight = [], 0
        busy_now: dict[int, float] = {}
        for replica in cluster.accepting:
            server = replica.server
            assert server is not None and replica.ready_at is not None
            cumulative = replica.busy + server.busy_seconds(now)
            busy_now[replica.id] = cumulative
            if replica.state != READY:
                continue
            since = max(self._last, replica.ready_at)
            if now > since:
                used = cumulative - self._busy.get(replica.id, 0.0)
                utilizations.append(used / (server.slots * (now - since)))
            in_flight += server.in_flight()
        if utilizations:
            # np.mean's own sum, without its overhead
            sample["cpu"] = 100.0 * (float(np.array(utilizations).sum()) / len(utilizations))
            sample["concurrency"] = in_flight / len(utilizations)
        if window > 0:
            sample["rps"] = (cluster.total.arrived - self._arrived) / window
        sample["queue_length"] = float(
            sum(r.server.queued(now) for r in cluster.accepting if r.server)
        )
        if cluster.recent:
            latest = self.sort(cluster.recent)
            sample["latency_p95"] = percentiles_of_sorted(latest, [95])[0]
            cluster.recent.clear()
        self._busy, self._last, self._arrived = busy_now, now, cluster.total.arrived
        return sample


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
