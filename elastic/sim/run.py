"""Running a scenario: the one driver of every simulated run.

The driver owns time, the metrics pipeline, the decision step and the
records; a backend (:mod:`elastic.sim.backend`) owns what is simulated.
Interval by interval (:func:`intervals`), it lets the backend run to each
scrape and then to the interval's end: at a scrape the metrics pipeline
measures (or, when no decision will read it, only moves its window on);
at the end, when a decision falls on it, the controller
sees an :class:`~elastic.core.types.Observation` (metrics as delivered,
replica counts), the loop decides and the backend scales; then the
interval's outcomes become an :class:`~elastic.sim.result.IntervalRecord`.
"""

from __future__ import annotations

from collections.abc import Iterator

from elastic.core.loop import DecisionLoop
from elastic.core.types import Decision, Observation
from elastic.core.validate import check_choice, check_int
from elastic.cost.catalog import default_catalog
from elastic.cost.ledger import Ledger
from elastic.cost.tariffs import LambdaRequests, Tariff
from elastic.errors import ParameterError
from elastic.sim.backend import Backend
from elastic.sim.clock import same_instant
from elastic.sim.cluster import ClusterFleet
from elastic.sim.fleet import Fleet
from elastic.sim.fluid import FluidFleet
from elastic.sim.fluid_cluster import FluidClusterFleet
from elastic.sim.limits import MAX_FLEET
from elastic.sim.metrics import MetricsPipeline, check_reads
from elastic.sim.randomness import Streams
from elastic.sim.records import IntervalRecord
from elastic.sim.result import RunResult
from elastic.sim.scenario import Scenario
from elastic.sim.serverless import ENABLED, Platform, serverless_tariffs

__all__ = [
    "FluidSimulation",
    "Simulation",
    "default_tariffs",
    "intervals",
    "iter_run",
    "produced_metrics",
    "simulate",
]

FIDELITIES = ("request", "fluid")


class Simulation:
    """One run of ``scenario`` with ``loop``; iterate it for a record per control interval.

    Parameters
    ----------
    fidelity
        ``"request"`` simulates every request; ``"fluid"`` aggregated
        demand (:class:`~elastic.sim.fluid.FluidFleet`, which takes
        ``tick`` and ``scrape_noise``).

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

    def __init__(
        self,
        scenario: Scenario,
        loop: DecisionLoop,
        *,
        seed: int = 0,
        fidelity: str = "request",
        tick: float | None = None,
        scrape_noise: bool = True,
    ) -> None:
        if not isinstance(scenario, Scenario):
            raise ParameterError("scenario", scenario, "a Scenario", owner="simulate")
        if not isinstance(loop, DecisionLoop):
            raise ParameterError("loop", loop, "a DecisionLoop", owner="simulate")
        self.fidelity = check_choice(fidelity, "fidelity", FIDELITIES, owner="simulate")
        self.scenario = scenario
        self.loop = loop
        self.seed = check_int(seed, "seed", owner="simulate", ge=0)
        if fidelity == "fluid" and scenario.serverless is not None:
            raise ParameterError(
                "fidelity", "fluid", "'request' for a serverless scenario", owner="simulate"
            )
        if fidelity != "fluid" and (tick is not None or scrape_noise is not True):
            given = "tick" if tick is not None else "scrape_noise"
            raise ParameterError(
                given,
                tick if tick is not None else scrape_noise,
                "left out: it is an option of fidelity='fluid'",
                owner="simulate",
            )
        if loop.max_replicas > MAX_FLEET:
            raise ParameterError(
                "max_replicas",
                loop.max_replicas,
                f"at most {MAX_FLEET} in a simulation: the largest fleet it holds "
                "(a loop for a real controller may have more)",
                owner="simulate",
            )
        check_reads(loop.policies, produced_metrics(scenario, fidelity), fidelity=fidelity)
        streams = Streams(self.seed)
        tariffs = default_tariffs(scenario)
        self.ledger = Ledger(tariffs)
        self.backend: Backend
        if fidelity == "fluid" and scenario.nodes is not None:
            self.backend = FluidClusterFleet(
                scenario, streams, self.ledger, tick=tick, scrape_noise=scrape_noise
            )
        elif fidelity == "fluid":
            self.backend = FluidFleet(
                scenario, streams, self.ledger, tick=tick, scrape_noise=scrape_noise
            )
        elif scenario.nodes is not None:
            self.backend = ClusterFleet(scenario, streams, self.ledger)
        elif scenario.serverless is not None:
            self.backend = Platform(
                scenario, streams, self.ledger, billed_provisioned=ENABLED in tariffs
            )
        else:
            self.backend = Fleet(scenario, streams, self.ledger)
        self.metrics = MetricsPipeline(
            scenario.metrics,
            self.backend.sample,
            streams.generator("metrics"),
            interval=scenario.control_interval,
            duration=scenario.duration,
        )
        self.records: list[IntervalRecord] = []
        self._actuation = streams.generator("actuation")
        self.actuation_failures = 0
        self._startup = scenario.replica.boot.mean  # what a predictive policy plans ahead by
        self._intervals = intervals(
            scenario.metrics.resolution, scenario.control_interval, scenario.duration
        )
        self._start = 0.0
        self.done = False

    def __iter__(self) -> Iterator[IntervalRecord]:
        backend, metrics = self.backend, self.metrics
        for end, decides, scrapes in self._intervals:
            for t in scrapes:
                backend.run_until(t)
                if metrics.read(t):
                    metrics.scrape(t)
                else:
                    metrics.skip(t)
                    backend.skip(t)
            backend.run_until(end)
            decision, seen = self._decide(end) if decides else (None, {})
            self.records.append(self._record(end, decision, seen))
            self._start = end
            yield self.records[-1]
        self.done = True

    def _decide(self, now: float) -> tuple[Decision, dict[str, float]]:
        """The decision step: what the controller sees, what the loop decides, the scaling."""
        seen = self.metrics.observe(now)
        state = self.backend.state(now)
        obs = Observation(
            time=now,
            replicas=state.replicas,
            metrics=seen,
            ready=state.ready,
            pending=state.pending,
            warming=state.warming,
            startup=self._startup,
            terminating=state.draining,
        )
        decision = self.loop.propose(obs)
        failure = self.scenario.actuation_failure
        if decision.changed and failure and self._actuation.random() < failure:
            self.actuation_failures += 1  # the scale API refused: nothing changes or is recorded
        else:
            self.backend.scale_to(decision.replicas, now)
            self.loop.acknowledge(decision)
        return decision, seen

    def _record(
        self, end: float, decision: Decision | None, seen: dict[str, float]
    ) -> IntervalRecord:
        done = self.backend.outcomes(self._start, end)
        state = self.backend.state(end)
        return IntervalRecord(
            start=self._start,
            end=end,
            arrived=done.arrived,
            completed=done.completed,
            dropped=done.dropped,
            timed_out=done.timed_out,
            failed=done.failed,
            in_flight=done.in_flight,
            replicas=state.replicas,
            ready=state.ready,
            pending=state.pending,
            warming=state.warming,
            draining=state.draining,
            cold_starts=done.cold_starts,
            throttled=done.throttled,
            busy_environments=done.busy_environments,
            idle_environments=done.idle_environments,
            utilization=done.utilization,
            observed=seen,
            decision=decision,
            cluster=self.backend.cluster(end),
            **done.latency,
        )

    def result(self) -> RunResult:
        """The whole run (runs what is left of it first)."""
        for _ in self:
            pass
        return RunResult.from_records(
            self.records,
            scenario=self.scenario,
            seed=self.seed,
            fidelity=self.fidelity,
            loop_params=self.loop.get_params(),
            extra_totals={
                **self.backend.totals(),
                "actuation_failures": self.actuation_failures,
            },
            latency=self.backend.latency(),
            ledger=self.ledger,
            split=self.backend.cost_split(self.ledger, self.scenario.duration),
        )


class FluidSimulation(Simulation):
    """A fluid run of ``scenario`` with ``loop``: :class:`Simulation` at ``fidelity="fluid"``.

    Parameters
    ----------
    tick, scrape_noise
        See :class:`~elastic.sim.fluid.FluidFleet`.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import Poisson, Scenario
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    >>> run = FluidSimulation(Scenario(Poisson(20.0), duration=600.0), loop, seed=2)
    >>> int(run.result().replicas[-1])
    4
    """

    def __init__(
        self,
        scenario: Scenario,
        loop: DecisionLoop,
        *,
        seed: int = 0,
        tick: float | None = None,
        scrape_noise: bool = True,
    ) -> None:
        super().__init__(
            scenario, loop, seed=seed, fidelity="fluid", tick=tick, scrape_noise=scrape_noise
        )


def intervals(
    resolution: float, interval: float, duration: float
) -> Iterator[tuple[float, bool, list[float]]]:
    """The control intervals of a run: each one's end, whether a decision falls on it,
    and the scrapes in it (after the previous end, up to and with this one).

    The k-th scrape is at ``k * resolution`` and the j-th decision at
    ``j * interval`` (products, not running sums, so that a long run does not
    drift); instants within a billionth of each other are one, so a scrape
    at the instant of a decision comes before it, and a decision within a
    billionth of the duration ends the run there. The run ends with the
    last decision at or before ``duration``, or with an interval that ends
    at ``duration`` without one.

    Examples
    --------
    >>> list(intervals(15.0, 30.0, 70.0))
    [(30.0, True, [15.0, 30.0]), (60.0, True, [45.0, 60.0]), (70.0, False, [])]
    >>> [(round(end, 9), len(scrapes)) for end, _, scrapes in intervals(0.1, 0.3, 0.9)]
    [(0.3, 3), (0.6, 3), (0.9, 3)]
    """
    k = j = 1
    while True:
        decide = j * interval
        decides = decide <= duration or same_instant(decide, duration)
        end = duration if not decides or same_instant(decide, duration) else decide
        scrapes = []
        while (scrape := k * resolution) <= end or same_instant(scrape, end):
            scrapes.append(scrape)
            k += 1
        if scrapes and same_instant(scrapes[-1], end):
            scrapes[-1] = end  # only the last can be: scrapes are far more than 1e-9 apart
        yield end, decides, scrapes
        if end == duration:
            return
        j += 1


def default_tariffs(scenario: Scenario) -> dict[str, Tariff | LambdaRequests]:
    """The prices a run bills at: the scenario's own, else the shipped catalog's.

    Replicas pay the on-demand price of their ``kind``; a serverless function
    pays for requests, duration and, where the architecture has them,
    provisioned concurrency.

    Examples
    --------
    >>> from elastic.sim import Poisson, Scenario
    >>> sorted(default_tariffs(Scenario(Poisson(1.0), duration=60.0)))
    ['m5.large']
    """
    if scenario.tariffs:
        return dict(scenario.tariffs)
    if scenario.serverless is not None:
        return serverless_tariffs(scenario.serverless)
    if scenario.nodes is not None:
        return {t.name: t.tariff() for t in scenario.nodes.all_templates()}
    kind = scenario.replica.kind
    return {kind: default_catalog().on_demand(kind)}


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
    return FluidFleet.PRODUCES if fidelity == "fluid" else Fleet.PRODUCES


def iter_run(
    scenario: Scenario, loop: DecisionLoop, *, seed: int = 0, fidelity: str = "request"
) -> Simulation:
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
    return Simulation(scenario, loop, seed=seed, fidelity=fidelity)


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
