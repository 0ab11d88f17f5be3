"""What to simulate: the workload, the replicas, the metrics pipeline, the load balancer.

Plain frozen dataclasses (manifests that build them come later). Every
duration is in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from elastic.core.validate import check_choice, check_int, check_number
from elastic.cost.tariffs import LambdaRequests, Tariff
from elastic.errors import ParameterError
from elastic.sim.clock import same_instant
from elastic.sim.distributions import Constant, Distribution, Exponential, LogNormal
from elastic.sim.limits import (
    MAX_CONTROL_INTERVALS,
    MAX_DURATION,
    MAX_FLEET,
    MAX_SCRAPES,
    MAX_WORKLOAD_CHANGES,
    MIN_SERVICE,
)
from elastic.sim.node_level import NodeLevel
from elastic.sim.workload import Superpose, TraceReplay, Workload

__all__ = ["BALANCERS", "SCALE_IN", "MetricsSpec", "ReplicaSpec", "Scenario", "ServerlessSpec"]

BALANCERS = ("round_robin", "random", "least_outstanding", "shortest_queue")
SCALE_IN = ("newest", "least_loaded")


def _optional(value: float | None, name: str, owner: str, *, gt: float | None = None) -> None:
    if value is not None:
        check_number(value, name, owner=owner, gt=gt, ge=None if gt is not None else 0)


@dataclass(frozen=True)
class ReplicaSpec:
    """One replica: its capacity, its queue, its lifecycle delays, how it fails, what it costs.

    Parameters
    ----------
    slots
        Requests it serves at once (e.g. its vCPUs or worker threads).
    queue_capacity
        Requests that may wait for a slot (None: unbounded); one more is dropped.
    timeout
        Longest wait for a slot before the request gives up (None: no limit).
    boot
        Time from being requested to being ready (provisioning: scheduling,
        image pull, start, readiness).
    warmup
        Time after boot during which it serves but its metrics are left out.
    drain_timeout
        On scale-in it takes no new requests and finishes its in-flight ones,
        for at most this long; what is left then fails.
    mtbf
        Mean time between failures of one replica (exponential), or None.
    spot_mtbi, spot_notice
        Mean time between spot interruptions of one replica, and the notice
        before the replica is taken away (it drains during the notice).
    kind
        Billing kind, a key of the scenario's tariffs (``"m5.large"``).
    scale_in
        Which replica goes first on scale-in: ``"newest"`` or
        ``"least_loaded"`` (fewest requests in flight, newest on ties).
        Replicas still provisioning always go first.
    """

    slots: int = 1
    queue_capacity: int | None = None
    timeout: float | None = None
    boot: Distribution = field(default_factory=lambda: Constant(60.0))
    warmup: float = 0.0
    drain_timeout: float = 30.0
    mtbf: float | None = None
    spot_mtbi: float | None = None
    spot_notice: float = 120.0
    kind: str = "m5.large"
    scale_in: str = "newest"

    def __post_init__(self) -> None:
        owner = "ReplicaSpec"
        check_int(self.slots, "slots", owner=owner, ge=1)
        if self.queue_capacity is not None:
            check_int(self.queue_capacity, "queue_capacity", owner=owner, ge=0)
        _optional(self.timeout, "timeout", owner, gt=0)
        if not isinstance(self.boot, Distribution):
            raise ParameterError("boot", self.boot, "a Distribution", owner=owner)
        check_number(self.warmup, "warmup", owner=owner, ge=0)
        check_number(self.drain_timeout, "drain_timeout", owner=owner, ge=0)
        _optional(self.mtbf, "mtbf", owner, gt=0)
        _optional(self.spot_mtbi, "spot_mtbi", owner, gt=0)
        check_number(self.spot_notice, "spot_notice", owner=owner, ge=0)
        check_choice(self.scale_in, "scale_in", SCALE_IN, owner=owner)


@dataclass(frozen=True)
class MetricsSpec:
    """How a controller sees the system: scraped, averaged, late, sometimes missing.

    Parameters
    ----------
    resolution
        Seconds between scrapes; each scrape averages over the last
        ``resolution`` seconds (metrics-server: 15 s).
    lag
        Extra delay before a scrape reaches the controller (CloudWatch: 60 s
        and more).
    missing
        Probability that a scrape fails; the controller then sees no metrics.
    """

    resolution: float = 15.0
    lag: float = 0.0
    missing: float = 0.0

    def __post_init__(self) -> None:
        check_number(self.resolution, "resolution", owner="MetricsSpec", gt=0)
        check_number(self.lag, "lag", owner="MetricsSpec", ge=0)
        check_number(self.missing, "missing", owner="MetricsSpec", ge=0, le=1)


@dataclass(frozen=True)
class ServerlessSpec:
    """A Lambda-like function: its memory, limits, cold starts and keep-alive.

    Parameters
    ----------
    memory_mb
        Memory of each environment (billing: GB-seconds).
    concurrency_limit
        Requests in flight at most (account default: 1000); more are throttled.
    cold_start
        Init duration of a new environment (under 1 s typically: AWS Lambda operator guide).
    keep_alive
        Seconds an idle environment is kept warm (10 min reported for AWS).
    burst, scale_rate
        New environments: at most ``burst`` at once, refilled at
        ``scale_rate`` per second (1000 per 10 s).
    provisioned_init
        Time for a provisioned environment to become ready.
    arch
        ``"x86"`` or ``"arm"``, for prices.
    """

    memory_mb: int = 1024
    concurrency_limit: int = 1000
    cold_start: Distribution = field(default_factory=lambda: LogNormal(0.25, 0.5))
    keep_alive: float = 600.0
    burst: int = 1000
    scale_rate: float = 100.0
    provisioned_init: Distribution = field(default_factory=lambda: Constant(60.0))
    arch: str = "x86"

    def __post_init__(self) -> None:
        owner = "ServerlessSpec"
        check_int(self.memory_mb, "memory_mb", owner=owner, ge=128)
        check_int(self.concurrency_limit, "concurrency_limit", owner=owner, ge=1)
        for name in ("cold_start", "provisioned_init"):
            if not isinstance(getattr(self, name), Distribution):
                raise ParameterError(name, getattr(self, name), "a Distribution", owner=owner)
        check_number(self.keep_alive, "keep_alive", owner=owner, ge=0)
        check_int(self.burst, "burst", owner=owner, ge=1)
        check_number(self.scale_rate, "scale_rate", owner=owner, gt=0)
        check_choice(self.arch, "arch", ("x86", "arm"), owner=owner)


@dataclass(frozen=True)
class Scenario:
    """A system under a workload, for ``duration`` seconds.

    Parameters
    ----------
    workload
        When requests arrive.
    duration
        Seconds simulated.
    service
        Seconds of one slot each request needs.
    replica
        The replicas.
    metrics
        The metrics pipeline.
    balancer
        ``"round_robin"``, ``"random"``, ``"least_outstanding"`` or ``"shortest_queue"``.
    control_interval
        Seconds between autoscaler decisions (HPA sync period: 15 s).
    initial_replicas
        Replicas ready at time 0.
    tariffs
        Tariff of each billing kind (None: the on-demand price of
        ``replica.kind`` in the shipped catalog).
    slo
        Latency objective in seconds, for evaluation.
    name
        A label.
    serverless
        Run a serverless platform instead of replicas (``replica`` and
        ``balancer`` are then unused; the loop controls provisioned
        concurrency).
    nodes
        Run the replicas as pods on nodes under a node autoscaler
        (:class:`~elastic.sim.node_level.NodeLevel`): the nodes are billed,
        at their templates' prices, and ``replica.boot`` is a pod's start
        once it is bound to a node.
    actuation_failure
        Probability that a request to change the replica count fails (the
        scale API answers with an error): nothing changes and the loop
        records nothing, so it asks again at its next step
        (:meth:`~elastic.DecisionLoop.acknowledge`). Failures are counted in
        ``RunResult.totals["actuation_failures"]``.

    Examples
    --------
    >>> from elastic.sim import Poisson
    >>> Scenario(Poisson(20.0), duration=600.0).replica.slots
    1
    """

    workload: Workload
    duration: float
    service: Distribution = field(default_factory=lambda: Exponential(0.1))
    replica: ReplicaSpec = field(default_factory=ReplicaSpec)
    metrics: MetricsSpec = field(default_factory=MetricsSpec)
    balancer: str = "round_robin"
    control_interval: float = 15.0
    initial_replicas: int = 1
    tariffs: Mapping[str, Tariff | LambdaRequests] | None = None
    slo: float | None = None
    name: str = ""
    serverless: ServerlessSpec | None = None
    nodes: NodeLevel | None = None
    actuation_failure: float = 0.0

    def __post_init__(self) -> None:
        owner = "Scenario"
        if not isinstance(self.workload, Workload):
            raise ParameterError("workload", self.workload, "a Workload", owner=owner)
        check_number(self.duration, "duration", owner=owner, gt=0)
        if self.duration > MAX_DURATION:
            raise ParameterError(
                "duration",
                self.duration,
                f"at most {MAX_DURATION:g} s, 10 years (elastic.sim.limits.MAX_DURATION)",
                owner=owner,
            )
        covered = _trace_end(self.workload)
        if covered < self.duration and not same_instant(covered, self.duration):
            raise ParameterError(
                "duration",
                self.duration,
                f"at most {covered:g} s, where the replayed trace ends (past it the run would "
                "replay no requests, as if demand were zero); or a trace that covers the run",
                owner=owner,
            )
        if not isinstance(self.service, Distribution):
            raise ParameterError("service", self.service, "a Distribution", owner=owner)
        mean, variance = self.service.mean, self.service.variance
        if not (mean == 0 or MIN_SERVICE <= mean < math.inf) or not math.isfinite(variance):
            raise ParameterError(
                "service",
                self.service,
                f"a service time whose mean is 0 or at least {MIN_SERVICE:g} s and whose mean "
                f"and variance are finite (they are {mean:g} s and {variance:g} s²)",
                owner=owner,
            )
        check_choice(self.balancer, "balancer", BALANCERS, owner=owner)
        check_number(self.control_interval, "control_interval", owner=owner, gt=0)
        if self.duration / self.control_interval > MAX_CONTROL_INTERVALS:
            raise ParameterError(
                "control_interval",
                self.control_interval,
                f"at least {self.duration / MAX_CONTROL_INTERVALS:.3g} s for a duration of "
                f"{self.duration:g} s: a run makes at most {MAX_CONTROL_INTERVALS} control "
                "decisions (elastic.sim.limits.MAX_CONTROL_INTERVALS)",
                owner=owner,
            )
        if not isinstance(self.metrics, MetricsSpec):
            raise ParameterError("metrics", self.metrics, "a MetricsSpec", owner=owner)
        if self.duration / self.metrics.resolution > MAX_SCRAPES:
            raise ParameterError(
                "metrics.resolution",
                self.metrics.resolution,
                f"at least {self.duration / MAX_SCRAPES:.3g} s for a duration of "
                f"{self.duration:g} s: a run scrapes its metrics at most {MAX_SCRAPES} times "
                "(elastic.sim.limits.MAX_SCRAPES)",
                owner=owner,
            )
        changes = self.workload.changes(self.duration)
        if changes > MAX_WORKLOAD_CHANGES:
            raise ParameterError(
                "workload",
                self.workload,
                f"one that changes state at most {MAX_WORKLOAD_CHANGES} times in a run "
                f"(elastic.sim.limits.MAX_WORKLOAD_CHANGES); this one changes about "
                f"{changes:.3g} times in {self.duration:g} s (a mean duration or a noise "
                "step too short)",
                owner=owner,
            )
        initial = check_int(self.initial_replicas, "initial_replicas", owner=owner, ge=0)
        if initial > MAX_FLEET:
            raise ParameterError(
                "initial_replicas",
                initial,
                f"at most {MAX_FLEET}: the largest fleet a simulation holds",
                owner=owner,
            )
        _optional(self.slo, "slo", owner, gt=0)
        check_number(self.actuation_failure, "actuation_failure", owner=owner, ge=0, le=1)
        if self.serverless is not None and not isinstance(self.serverless, ServerlessSpec):
            raise ParameterError("serverless", self.serverless, "a ServerlessSpec", owner=owner)
        if self.nodes is not None:
            self._check_nodes()
        elif (
            self.serverless is None
            and self.tariffs is not None
            and self.replica.kind not in self.tariffs
        ):
            raise ParameterError(
                "tariffs",
                sorted(self.tariffs),
                f"a tariff for kind {self.replica.kind!r}",
                owner=owner,
            )

    def _check_nodes(self) -> None:
        owner = "Scenario"
        nodes = self.nodes
        if not isinstance(nodes, NodeLevel):
            raise ParameterError("nodes", nodes, "a NodeLevel", owner=owner)
        if self.serverless is not None:
            raise ParameterError(
                "nodes", "given", "left out of a serverless scenario (it has no nodes)", owner=owner
            )
        for name, node_name in (("mtbf", "node_mtbf"), ("spot_mtbi", "spot_mtbi")):
            if getattr(self.replica, name) is not None:
                raise ParameterError(
                    f"replica.{name}",
                    getattr(self.replica, name),
                    f"None with nodes: nodes fail and are interrupted (nodes.{node_name})",
                    owner=owner,
                )
        autoscaler = nodes.autoscaler
        if autoscaler is not None and self.duration / autoscaler.interval > MAX_CONTROL_INTERVALS:
            raise ParameterError(
                "nodes.autoscaler.interval",
                autoscaler.interval,
                f"at least {self.duration / MAX_CONTROL_INTERVALS:.3g} s for a duration of "
                f"{self.duration:g} s: a node autoscaler decides at most "
                f"{MAX_CONTROL_INTERVALS} times in a run (elastic.sim.limits."
                "MAX_CONTROL_INTERVALS)",
                owner=owner,
            )
        kinds = [t.name for t in nodes.all_templates()]
        if self.tariffs is not None and (missing := [k for k in kinds if k not in self.tariffs]):
            raise ParameterError(
                "tariffs",
                sorted(self.tariffs),
                f"a tariff for node templates {missing}",
                owner=owner,
            )


def _trace_end(workload: Workload) -> float:
    """Where the replayed traces in ``workload`` end (infinity for a generator)."""
    if isinstance(workload, TraceReplay):
        return float(workload.times[-1] + workload.bucket) if len(workload.times) else 0.0
    if isinstance(workload, Superpose):
        return min((_trace_end(part) for part in workload.workloads), default=math.inf)
    return math.inf
