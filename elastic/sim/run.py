"""Running a scenario: the autoscaler and metrics processes, and the event loop that drives them.

SimPy keeps the control plane (scrapes, autoscaler decisions, boots, drains,
failures); between two of its events the replica set is fixed, and the
arrivals of that span are dispatched to it in one go.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import simpy

from elastic.core.loop import DecisionLoop
from elastic.core.types import Decision, Observation
from elastic.core.validate import check_choice, check_int
from elastic.cost.catalog import default_catalog
from elastic.cost.ledger import Ledger
from elastic.errors import ParameterError
from elastic.sim.cluster import Cluster
from elastic.sim.fluid import FluidSimulation
from elastic.sim.metrics import ClusterSampler, MetricsPipeline, check_reads
from elastic.sim.randomness import Streams
from elastic.sim.result import IntervalRecord, LatencySorter, RunResult, latency_fields
from elastic.sim.scenario import Scenario
from elastic.sim.serverless import ENABLED, Platform, serverless_tariffs

__all__ = ["Simulation", "iter_run", "produced_metrics", "simulate"]

FIDELITIES = ("request", "fluid")


class Simulation:
    """One run of ``scenario`` with ``loop``; iterate it for a record per control interval.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import Poisson, Scenario
    >>> run = Simulation(Scenario(Poisson(5.0), duration=120.0),
    ...                  DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=5))
    >>> [(r.end, r.replicas) for r in run][:2]
    [(15.0, 2), (30.0, 2)]
    """

    def __init__(self, scenario: Scenario, loop: DecisionLoop, *, seed: int = 0) -> None:
        if not isinstance(scenario, Scenario):
            raise ParameterError("scenario", scenario, "a Scenario", owner="simulate")
        if not isinstance(loop, DecisionLoop):
            raise ParameterError("loop", loop, "a DecisionLoop", owner="simulate")
        self.scenario = scenario
        self.loop = loop
        self.seed = check_int(seed, "seed", owner="simulate", ge=0)
        check_reads(loop.policies, produced_metrics(scenario, "request"), fidelity="request")
        streams = Streams(self.seed)
        self.env = simpy.Environment()
        self._sort = LatencySorter()
        self.cluster: Cluster | Platform
        if scenario.serverless is not None:
            tariffs = dict(scenario.tariffs or serverless_tariffs(scenario.serverless))
            self.ledger = Ledger(tariffs)
            self.cluster = Platform(
                scenario, self.env, streams, self.ledger, billed_provisioned=ENABLED in tariffs
            )
            sampler = self.cluster.sampler()
        else:
            tariffs = dict(
                scenario.tariffs
                or {scenario.replica.kind: default_catalog().on_demand(scenario.replica.kind)}
            )
            self.ledger = Ledger(tariffs)
            self.cluster = Cluster(scenario, self.env, streams, self.ledger)
            sampler = ClusterSampler(self.cluster, self._sort)
        self.metrics = MetricsPipeline(scenario.metrics, sampler, streams.generator("metrics"))
        self.records: list[IntervalRecord] = []
        self._new: list[IntervalRecord] = []
        self._last_tick = 0.0
        self._last_busy = 0.0
        self._last_capacity = 0.0
        self.done = False
        # created before the autoscaler: at a shared instant the scrape comes first
        self.env.process(self._scraping())
        self.env.process(self._autoscaling())

    def __iter__(self) -> Iterator[IntervalRecord]:
        end = self.scenario.duration
        env, cluster = self.env, self.cluster
        while not self.done:
            upcoming = env.peek()
            # the run ends with the decision at `end`: what would happen after it is not part of it
            if upcoming > end or (upcoming == end and self._last_tick == end):
                cluster.advance(end)
                if self._last_tick < end:
                    self._record(end, None, {})
                self.done = True
            else:
                cluster.advance(upcoming)
                env.step()
            yield from self._new
            self._new.clear()

    def _scraping(self) -> Generator[simpy.Event, Any, None]:
        resolution = self.scenario.metrics.resolution
        while True:
            yield self.env.timeout(resolution)
            self.metrics.scrape(self.env.now)

    def _autoscaling(self) -> Generator[simpy.Event, Any, None]:
        interval = self.scenario.control_interval
        cluster = self.cluster
        while True:
            yield self.env.timeout(interval)
            now = self.env.now
            if now > self.scenario.duration:
                return
            cluster.settle(now)
            seen = self.metrics.observe(now)
            live, ready, pending, warming, draining = cluster.states()
            obs = Observation(
                time=now,
                replicas=live,
                metrics=seen,
                ready=ready,
                pending=pending,
                warming=warming,
                startup=self.scenario.replica.boot.mean,
                terminating=draining,
            )
            decision = self.loop.step(obs)
            cluster.scale_to(decision.replicas)
            self._record(now, decision, seen)

    def _record(self, now: float, decision: Decision | None, seen: dict[str, float]) -> None:
        cluster = self.cluster
        cluster.settle(now)
        tally = cluster.take_tally()
        busy, capacity = cluster.busy_seconds(now), cluster.capacity_seconds(now)
        offered = capacity - self._last_capacity
        live, ready, pending, warming, draining = cluster.states()
        busy_environments, idle_environments = cluster.environments()
        record = IntervalRecord(
            start=self._last_tick,
            end=now,
            arrived=tally.arrived,
            completed=tally.completed,
            dropped=tally.dropped,
            timed_out=tally.timed_out,
            failed=tally.failed,
            in_flight=cluster.in_flight(),
            replicas=live,
            ready=ready,
            pending=pending,
            warming=warming,
            draining=draining,
            cold_starts=tally.cold_starts,
            throttled=tally.throttled,
            busy_environments=busy_environments,
            idle_environments=idle_environments,
            utilization=(busy - self._last_busy) / offered if offered > 0 else float("nan"),
            observed=seen,
            decision=decision,
            **latency_fields(self._sort(tally.latencies or [])),
        )
        self._last_tick, self._last_busy, self._last_capacity = now, busy, capacity
        self.records.append(record)
        self._new.append(record)

    def result(self) -> RunResult:
        """The whole run (runs what is left of it first)."""
        for _ in self:
            pass
        return RunResult.from_records(
            self.records,
            scenario=self.scenario,
            seed=self.seed,
            fidelity="request",
            loop_params=self.loop.get_params(),
            extra_totals={
                "wait_seconds": self.cluster.total.wait_seconds,
                "workload_arrivals": self.cluster.arrivals.handed,
                **self.cluster.extra_totals(),
            },
            latency=self.cluster.bin_latencies(),
            ledger=self.ledger,
        )


def produced_metrics(scenario: Scenario, fidelity: str = "request") -> tuple[str, ...]:
    """The metrics a controller can be given in a run of ``scenario`` at ``fidelity``.

    A policy that reads any other is refused before the run.

    Examples
    --------
    >>> from elastic.sim import Poisson, Scenario
    >>> produced_metrics(Scenario(Poisson(1.0), duration=60.0), "fluid")
    ('cpu', 'concurrency', 'rps', 'queue_length')
    """
    check_choice(fidelity, "fidelity", FIDELITIES, owner="produced_metrics")
    if scenario.serverless is not None:
        return Platform.PRODUCES
    return FluidSimulation.PRODUCES if fidelity == "fluid" else ClusterSampler.PRODUCES


def iter_run(
    scenario: Scenario, loop: DecisionLoop, *, seed: int = 0, fidelity: str = "request"
) -> Simulation | FluidSimulation:
    """A run you can watch: iterating it yields one :class:`IntervalRecord` per control interval.

    ``.result()`` then gives the :class:`RunResult`. ``loop`` is used as
    given (not cloned), so its history can be inspected afterwards.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import Poisson, Scenario
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    >>> for record in iter_run(Scenario(Poisson(20.0), duration=60.0), loop):
    ...     print(record.end, record.replicas, round(record.utilization, 2))
    15.0 2 1.0
    30.0 2 1.0
    45.0 2 1.0
    60.0 2 1.0
    """
    check_choice(fidelity, "fidelity", FIDELITIES, owner="iter_run")
    if fidelity == "fluid":
        return FluidSimulation(scenario, loop, seed=seed)
    return Simulation(scenario, loop, seed=seed)


def simulate(
    scenario: Scenario, loop: DecisionLoop, *, seed: int = 0, fidelity: str = "request"
) -> RunResult:
    """Run ``loop`` (a fresh clone of it) against ``scenario`` and return what happened.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import Poisson, Scenario
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    >>> result = simulate(Scenario(Poisson(20.0), duration=600.0), loop, seed=1)
    >>> result.conserved(), int(result.replicas[-1])
    (True, 4)
    """
    return iter_run(scenario, loop.clone(), seed=seed, fidelity=fidelity).result()
