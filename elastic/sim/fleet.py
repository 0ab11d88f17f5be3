"""The replicas of a run: their lifecycle, the load balancer, and what they served.

Lifecycle: requested → provisioning (boot time) → warming (optional) →
ready → draining → terminated. Failures (MTBF) and spot interruptions (a
notice, then termination) take replicas away; the simulator does not replace
them, the autoscaler does, as in real systems. Control-plane changes run as
SimPy processes; requests are served by each replica's
:class:`~elastic.sim.server.Server` between those changes.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import simpy
from numpy.typing import NDArray

from elastic.cost.ledger import CostObserver
from elastic.sim.backend import EventBackend, FleetState, Outcomes
from elastic.sim.randomness import Streams
from elastic.sim.records import latency_fields, percentiles_of_sorted
from elastic.sim.scenario import Scenario
from elastic.sim.server import Server, Settled
from elastic.sim.stats import LatencyHistogram, LatencyLog

__all__ = ["Fleet", "Replica", "Tally"]

PROVISIONING, WARMING, READY, DRAINING, TERMINATED = (
    "provisioning",
    "warming",
    "ready",
    "draining",
    "terminated",
)


@dataclass
class Tally:
    """Request outcomes and service given, counted since the tally was made."""

    arrived: int = 0
    completed: int = 0
    dropped: int = 0
    timed_out: int = 0
    failed: int = 0
    busy_seconds: float = 0.0
    wait_seconds: float = 0.0
    cold_starts: int = 0
    throttled: int = 0

    def add(self, done: Settled) -> None:
        self.completed += done.completed
        self.timed_out += done.timed_out
        self.failed += done.failed
        self.busy_seconds += done.busy_seconds
        self.wait_seconds += sum(float(w.sum()) for w in done.waits)

    def outcomes(
        self,
        *,
        in_flight: int,
        utilization: float,
        latency: Mapping[str, float],
        **environments: int,
    ) -> Outcomes:
        """The interval's :class:`Outcomes`: this tally's counts, and what only the backend
        knows (in flight, utilization, latencies, busy and idle environments)."""
        return Outcomes(
            arrived=self.arrived,
            completed=self.completed,
            dropped=self.dropped,
            timed_out=self.timed_out,
            failed=self.failed,
            in_flight=in_flight,
            utilization=utilization,
            latency=latency,
            cold_starts=self.cold_starts,
            throttled=self.throttled,
            **environments,
        )

    def fold(self, other: Tally) -> None:
        """Add the outcomes settled in ``other`` (arrivals and drops are counted as they come)."""
        self.completed += other.completed
        self.timed_out += other.timed_out
        self.failed += other.failed
        self.busy_seconds += other.busy_seconds
        self.wait_seconds += other.wait_seconds


class Replica:
    """One replica and where it is in its lifecycle."""

    __slots__ = (
        "busy",
        "id",
        "name",
        "noticed_at",
        "ready_at",
        "requested_at",
        "server",
        "state",
        "stopped_at",
    )

    def __init__(self, index: int, requested_at: float) -> None:
        self.id = index
        self.name = f"r{index}"
        self.state = PROVISIONING
        self.requested_at = requested_at
        self.ready_at: float | None = None
        self.stopped_at: float | None = None
        self.noticed_at: float | None = None  # spot interruption notice
        self.server: Server | None = None
        self.busy = 0.0  # slot-seconds of service settled so far

    def __repr__(self) -> str:
        return f"Replica({self.name}, {self.state})"


class Fleet(EventBackend):
    """The replicas of one run behind a load balancer, every request simulated.

    The request-level backend of the driver: lifecycle changes are SimPy
    events; between two of them, arrivals are dispatched in one batch.
    Billed by ``ledger``.
    """

    #: every metric a request-level controller can be given
    PRODUCES: ClassVar[tuple[str, ...]] = (
        "cpu",
        "concurrency",
        "rps",
        "queue_length",
        "latency_p95",
    )

    def __init__(self, scenario: Scenario, streams: Streams, ledger: CostObserver) -> None:
        self.scenario = scenario
        self.spec = scenario.replica
        self.env = simpy.Environment()
        self.ledger = ledger
        self.arrivals = scenario.workload.stream(streams.generator("arrivals"))
        self.rng = {
            name: streams.generator(name)
            for name in ("service", "boot", "failures", "spot", "balancer")
        }
        self.replicas: list[Replica] = []
        # by id, in the order they came (dicts: a large fleet leaves one replica at a time)
        self.live: dict[int, Replica] = {}  # not draining, not terminated
        self._accepting: dict[int, Replica] = {}  # warming or ready: the balancer's targets
        self._targets: list[Replica] | None = []  # _accepting as a list, until it changes
        self.draining: dict[int, Replica] = {}
        self.tally = Tally()  # since the last call to take_tally
        self.total = Tally()  # since the start
        self._next = 0  # round-robin position
        self._settled_at: float | None = None  # nothing new to settle at that time
        self._capacity_seconds = 0.0  # slot-seconds of accepting replicas, settled
        self._capacity_since = 0.0
        self.failures = 0
        self.interruptions = 0
        self.histogram = LatencyHistogram(scenario.slo)  # exact SLO attainment
        self.latencies = LatencyLog[NDArray[np.float64]](("scrape", "record", "histogram"))
        self._unbinned = 0  # requests completed since the histogram last took them
        # what the previous scrape measured, for the next one's window
        self._scraped_busy: dict[int, float] = {}  # replica id -> cumulative busy seconds
        self._scraped_at = 0.0
        self._scraped_arrived = 0
        # slot-seconds busy and offered at the previous interval's end
        self._busy_before = self._capacity_before = 0.0
        self._start_initial()

    def _start_initial(self) -> None:
        """The run's first replicas, ready at time 0."""
        for _ in range(self.scenario.initial_replicas):
            self._become_accepting(self._request(booted=True), ready=True)

    @property
    def accepting(self) -> list[Replica]:
        """The replicas taking requests (warming or ready), in the order they began to."""
        if self._targets is None:
            self._targets = list(self._accepting.values())
        return self._targets

    def serving(self) -> list[Replica]:
        """The replicas with requests to finish: accepting or draining."""
        return [*self.accepting, *self.draining.values()]

    # --- requests ---------------------------------------------------------------------------

    def dispatch(self, until: float) -> None:
        """Dispatch the arrivals before ``until`` to the replicas accepting them."""
        arrivals = self.arrivals.take(until)
        count = len(arrivals)
        if not count:
            return
        self.tally.arrived += count
        self.total.arrived += count
        self._settled_at = None
        # drawn for every arrival, dropped or not: the n-th request of a run has the same
        # service time under any policy (common random numbers)
        services = self.scenario.service.sample(self.rng["service"], count)
        targets = self.accepting
        if not targets:
            self._drop(count)
            return
        balancer = self.scenario.balancer
        if len(targets) == 1:
            server = targets[0].server
            assert server is not None
            server.offer_many(arrivals, services)
            self._collect_drops([server])
        elif balancer in ("round_robin", "random"):
            if balancer == "round_robin":
                chosen = (self._next + np.arange(count)) % len(targets)
                self._next = int((self._next + count) % len(targets))
            else:
                chosen = self.rng["balancer"].integers(len(targets), size=count)
            # only the replicas that got requests are visited: a span's few arrivals on a
            # large fleet cost what they bring, not a pass over every replica
            order = np.argsort(chosen, kind="stable")
            ranked = chosen[order]
            cuts = np.flatnonzero(ranked[1:] != ranked[:-1]) + 1
            firsts = [0, *cuts.tolist()]
            lasts = [*cuts.tolist(), count]
            offered = []
            for first, last, index in zip(firsts, lasts, ranked[firsts].tolist(), strict=True):
                picked = order[first:last]
                server = targets[index].server
                assert server is not None
                server.offer_many(arrivals[picked], services[picked])
                offered.append(server)
            self._collect_drops(offered)
        else:
            self._dispatch_by_load(arrivals, services)
            self._collect_drops([r.server for r in targets if r.server is not None])

    def _dispatch_by_load(
        self, arrivals: NDArray[np.float64], services: NDArray[np.float64]
    ) -> None:
        """One arrival at a time to the least loaded replica; ties go round the replicas."""
        servers = [r.server for r in self.accepting if r.server is not None]
        load = "outstanding" if self.scenario.balancer == "least_outstanding" else "waiting"
        counters = [getattr(s, load) for s in servers]
        size = len(servers)
        first = self._next % size
        for arrival, service in zip(arrivals.tolist(), services.tolist(), strict=True):
            best, lowest = first, counters[first](arrival)
            for step in range(1, size):
                index = (first + step) % size
                value = counters[index](arrival)
                if value < lowest:
                    best, lowest = index, value
            servers[best].offer(arrival, service)
            first = (first + 1) % size
        self._next = first

    def _drop(self, count: int) -> None:
        self.tally.dropped += count
        self.total.dropped += count

    def _collect_drops(self, servers: list[Server]) -> None:
        for server in servers:
            if server.dropped:
                self._drop(server.dropped)
                server.dropped = 0

    def settle(self, now: float) -> None:
        """Count what the replicas finished by ``now``."""
        if now == self._settled_at:
            return
        self._settled_at = now
        for replica in self.serving():
            server = replica.server
            assert server is not None
            if server.due(now):
                self._count(replica, server.settle(now))

    def _count(self, replica: Replica, done: Settled) -> None:
        replica.busy += done.busy_seconds
        self.tally.add(done)
        self.latencies.extend(done.latencies)
        self._unbinned += done.completed
        if self._unbinned > 50_000:
            self.bin_latencies()

    def bin_latencies(self) -> LatencyHistogram:
        """Put the latencies settled so far into the run's histogram (done in batches)."""
        if self.latencies.waiting("histogram"):
            self.histogram.add(np.concatenate(self.latencies.take("histogram")))
            self._unbinned = 0
        return self.histogram

    def take_tally(self) -> Tally:
        """The tally since the last call, and a fresh one."""
        tally, self.tally = self.tally, Tally()
        self.total.fold(tally)
        return tally

    def in_flight(self) -> int:
        """Requests taken by replicas and not yet settled."""
        return sum(r.server.in_flight() for r in self.serving() if r.server)

    def busy_seconds(self, now: float) -> float:
        """Slot-seconds of service given by ``now``, since the start."""
        partial = sum(r.server.busy_seconds(now) for r in self.serving() if r.server)
        return self.total.busy_seconds + partial

    def capacity_seconds(self, now: float) -> float:
        """Slot-seconds offered by accepting replicas by ``now``, since the start."""
        slots = len(self._accepting) * self.spec.slots
        return self._capacity_seconds + slots * (now - self._capacity_since)

    def _capacity_changes(self) -> None:
        now = self.env.now
        self._capacity_seconds = self.capacity_seconds(now)
        self._capacity_since = now

    # --- what the autoscaler sees and does ---------------------------------------------------

    def count(self, state: str) -> int:
        return sum(1 for r in self.live.values() if r.state == state)

    def state(self, t: float) -> FleetState:
        warming = self.count(WARMING)
        return FleetState(
            replicas=len(self.live),
            ready=self.count(READY) + warming,
            pending=self.count(PROVISIONING),
            warming=warming,
            draining=sum(1 for r in self.draining.values() if r.state == DRAINING),
        )

    def sample(self, t: float) -> dict[str, float]:
        """Busy share and requests in flight of the ready replicas, arrivals, queue, p95."""
        self.settle(t)
        last = self._scraped_at
        sample: dict[str, float] = {}
        utilizations, in_flight = [], 0
        busy_now: dict[int, float] = {}
        for replica in self.accepting:
            server = replica.server
            assert server is not None and replica.ready_at is not None
            cumulative = replica.busy + server.busy_seconds(t)
            busy_now[replica.id] = cumulative
            if replica.state != READY:
                continue
            since = max(last, replica.ready_at)
            if t > since:
                used = cumulative - self._scraped_busy.get(replica.id, 0.0)
                utilizations.append(used / (server.slots * (t - since)))
            in_flight += server.in_flight()
        if utilizations:
            sample["cpu"] = 100.0 * (float(np.array(utilizations).sum()) / len(utilizations))
            sample["concurrency"] = in_flight / len(utilizations)
        if t > last:
            sample["rps"] = (self.total.arrived - self._scraped_arrived) / (t - last)
        sample["queue_length"] = float(sum(r.server.queued(t) for r in self.accepting if r.server))
        if self.latencies.waiting("scrape"):
            latest = np.sort(np.concatenate(self.latencies.take("scrape")))
            sample["latency_p95"] = percentiles_of_sorted(latest, [95])[0]
        self._scraped_busy, self._scraped_at = busy_now, t
        self._scraped_arrived = self.total.arrived
        return sample

    def skip(self, t: float) -> None:
        # every scrape measures: its window is where the next one starts
        self.sample(t)

    def outcomes(self, start: float, end: float) -> Outcomes:
        self.settle(end)
        tally = self.take_tally()
        busy, capacity = self.busy_seconds(end), self.capacity_seconds(end)
        offered = capacity - self._capacity_before
        used = busy - self._busy_before
        self._busy_before, self._capacity_before = busy, capacity
        return tally.outcomes(
            in_flight=self.in_flight(),
            utilization=used / offered if offered > 0 else float("nan"),
            latency=latency_fields(self.latencies.take("record")),
        )

    def totals(self) -> dict[str, float]:
        return {
            "wait_seconds": self.total.wait_seconds,
            "workload_arrivals": self.arrivals.handed,
            "replica_failures": self.failures,
            "spot_interruptions": self.interruptions,
        }

    def latency(self) -> LatencyHistogram:
        return self.bin_latencies()

    def scale_to(self, replicas: int, t: float) -> None:
        """Request or remove replicas so that ``replicas`` are live (not draining)."""
        now = t
        while len(self.live) < replicas:
            self._request()
        surplus = len(self.live) - replicas
        booting = [r for r in self.live.values() if r.state == PROVISIONING]
        for replica in sorted(booting, key=lambda r: -r.id)[:surplus]:
            self._terminate(replica, now)
            surplus -= 1
        if surplus > 0:
            serving = [r for r in self.live.values() if r.state != PROVISIONING]
            if self.spec.scale_in == "least_loaded":
                key = lambda r: (r.server.in_flight() if r.server else 0, -r.id)  # noqa: E731
            else:
                key = lambda r: -r.id  # noqa: E731
            for replica in sorted(serving, key=key)[:surplus]:
                self._drain(replica, now)

    # --- lifecycle ------------------------------------------------------------------------------

    def _request(self, *, booted: bool = False) -> Replica:
        now = self.env.now
        replica = Replica(len(self.replicas), now)
        self.replicas.append(replica)
        self.live[replica.id] = replica
        self._created(replica, booted=booted)
        return replica

    def _created(self, replica: Replica, *, booted: bool) -> None:
        """A replica was requested: bill it, let it fail, and boot it unless ``booted``."""
        self.ledger.start(replica.name, self.spec.kind, replica.requested_at)
        if self.spec.mtbf is not None:
            self.env.process(self._failing(replica))
        if self.spec.spot_mtbi is not None:
            self.env.process(self._interrupted(replica))
        if not booted:
            self.env.process(self._booting(replica))

    def _gone(self, replica: Replica, now: float, *, interrupted: bool) -> None:
        """A replica was terminated at ``now``: stop billing it."""
        self.ledger.stop(replica.name, now, interrupted=interrupted)

    def _booting(self, replica: Replica) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.spec.boot.one(self.rng["boot"]))
        if replica.state == PROVISIONING:
            self._become_accepting(replica, ready=self.spec.warmup == 0)
            if self.spec.warmup > 0:
                yield self.env.timeout(self.spec.warmup)
                if replica.state == WARMING:
                    replica.state = READY

    def _become_accepting(self, replica: Replica, *, ready: bool) -> None:
        now = self.env.now
        self._capacity_changes()
        replica.state = READY if ready else WARMING
        replica.ready_at = now
        replica.server = Server(
            self.spec.slots,
            self.spec.queue_capacity,
            self.spec.timeout,
            now=now,
            track_outstanding=self.scenario.balancer == "least_outstanding",
        )
        self._accepting[replica.id] = replica
        if self._targets is not None:
            self._targets.append(replica)

    def _drain(self, replica: Replica, now: float) -> None:
        self._stop_accepting(replica)
        replica.state = DRAINING
        self.draining[replica.id] = replica
        assert replica.server is not None
        done = max(now, replica.server.idle_at())
        self.env.process(self._draining(replica, min(done, now + self.spec.drain_timeout)))

    def _draining(self, replica: Replica, until: float) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(until - self.env.now)
        if replica.state == DRAINING:
            self._terminate(replica, self.env.now)

    def _stop_accepting(self, replica: Replica) -> None:
        if replica.id in self._accepting:
            self._capacity_changes()
            del self._accepting[replica.id]
            self._targets = None
            self._next = 0
        self.live.pop(replica.id, None)

    def _terminate(self, replica: Replica, now: float, *, interrupted: bool = False) -> None:
        """Take ``replica`` away at ``now``, failing what it still had in flight.

        ``interrupted``: the provider takes it (a spot interruption), which is billed apart.
        """
        self._stop_accepting(replica)
        self.draining.pop(replica.id, None)
        if replica.server is not None:
            self._count(replica, replica.server.fail(now))
            if replica.server.dropped:
                self._drop(replica.server.dropped)
        replica.state = TERMINATED
        replica.stopped_at = now
        self._gone(replica, now, interrupted=interrupted)

    def _failing(self, replica: Replica) -> Generator[simpy.Event, Any, None]:
        assert self.spec.mtbf is not None
        yield self.env.timeout(self.rng["failures"].exponential(self.spec.mtbf))
        if replica.state != TERMINATED:
            self.failures += 1
            self._terminate(replica, self.env.now)

    def _interrupted(self, replica: Replica) -> Generator[simpy.Event, Any, None]:
        assert self.spec.spot_mtbi is not None
        yield self.env.timeout(self.rng["spot"].exponential(self.spec.spot_mtbi))
        if replica.state == TERMINATED:
            return
        self.interruptions += 1
        replica.noticed_at = self.env.now
        if replica.state == PROVISIONING:
            self._terminate(replica, self.env.now, interrupted=True)
            return
        if replica.state != DRAINING:
            self._stop_accepting(replica)
            replica.state = DRAINING
            self.draining[replica.id] = replica
        yield self.env.timeout(self.spec.spot_notice)
        if replica.state != TERMINATED:
            self._terminate(replica, self.env.now, interrupted=True)
