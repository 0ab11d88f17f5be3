"""A Lambda-like serverless platform: an execution environment per concurrent request.

Each request runs in an execution environment that serves one request at a
time. A request takes, in order: an idle provisioned environment, an idle
warm one (the most recently used), or a new one, which costs a cold start
(the init duration, billed) and a token of the scale rate (``burst`` new
environments, refilled at ``scale_rate`` per second, unused tokens not
piling up beyond ``burst``: 1000 per 10 s). With no environment and no token,
or at the concurrency limit, the request is throttled (counted as dropped
and as throttled). Requests do not queue: latency is the init (cold starts
only) plus the service time. An idle on-demand environment is reclaimed
after ``keep_alive`` seconds.

The autoscaler controls provisioned concurrency: the ``DecisionLoop``'s
replica count is the number of provisioned environments. A new one is
ready after ``provisioned_init``; removed ones go at once if idle, else when
their request ends. Billing: requests on demand and on provisioned
environments at their own duration rates (ledger kinds ``"lambda"`` and
``"lambda-provisioned"``), provisioned environments while enabled
(``"provisioned-concurrency"``, 5-minute rounding per environment).
Sources: https://aws.amazon.com/lambda/pricing/ and the Lambda developer guide
(https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from heapq import heappop, heappush
from typing import Any, ClassVar

import numpy as np
import simpy

from elastic.cost.catalog import default_catalog
from elastic.cost.ledger import CostObserver
from elastic.cost.tariffs import LambdaRequests, Tariff
from elastic.errors import ParameterError
from elastic.sim.backend import EventBackend, FleetState, Outcomes
from elastic.sim.fleet import Tally
from elastic.sim.randomness import Streams
from elastic.sim.records import latency_fields, percentiles_of_sorted
from elastic.sim.scenario import Scenario, ServerlessSpec
from elastic.sim.stats import LatencyHistogram, LatencyLog

__all__ = ["Platform", "serverless_tariffs"]

ON_DEMAND, PROVISIONED, ENABLED = "lambda", "lambda-provisioned", "provisioned-concurrency"


def serverless_tariffs(spec: ServerlessSpec) -> dict[str, Tariff | LambdaRequests]:
    """The three ledger kinds of a function, priced from the shipped catalog."""
    catalog = default_catalog()
    tariffs: dict[str, Tariff | LambdaRequests] = {
        ON_DEMAND: catalog.lambda_function(spec.memory_mb, arch=spec.arch)
    }
    if catalog.lambda_[spec.arch].provisioned_gb_second is not None:
        tariffs[PROVISIONED] = catalog.lambda_function(
            spec.memory_mb, arch=spec.arch, provisioned=True
        )
        tariffs[ENABLED] = catalog.provisioned_concurrency(1, spec.memory_mb, arch=spec.arch)
    return tariffs


class _Env:
    __slots__ = ("id", "idle_since", "provisioned", "retire")

    def __init__(self, index: int, provisioned: bool, now: float) -> None:
        self.id = index
        self.provisioned = provisioned
        self.idle_since = now
        self.retire = False  # a provisioned environment to remove when its request ends


class Platform(EventBackend):
    """The execution environments of one function, billed by ``ledger``.

    The serverless backend of the driver: its replicas are provisioned
    environments; requests take environments as they come.
    """

    #: every metric a controller of provisioned concurrency can be given
    PRODUCES: ClassVar[tuple[str, ...]] = (
        "concurrency",
        "latency_p95",
        "provisioned_utilization",
        "rps",
        "cold_starts",
        "throttles",
    )

    def __init__(
        self,
        scenario: Scenario,
        streams: Streams,
        ledger: CostObserver,
        *,
        billed_provisioned: bool,
    ) -> None:
        assert scenario.serverless is not None
        self.spec = spec = scenario.serverless
        self.scenario = scenario
        self.env = simpy.Environment()
        self.ledger = ledger
        self.arrivals = scenario.workload.stream(streams.generator("arrivals"))
        self.service_rng = streams.generator("service")
        self.cold_rng = streams.generator("cold starts")
        self.boot_rng = streams.generator("boot")
        self.tally = Tally()
        self.total = Tally()
        self.histogram = LatencyHistogram(scenario.slo)  # exact SLO attainment
        self.latencies = LatencyLog[float](("scrape", "record", "histogram"))
        self._busy: list[tuple[float, int, float, float, float, _Env]] = []  # a heap
        self._idle: deque[_Env] = deque()  # on demand, oldest idle first
        self._idle_pc: list[_Env] = []
        self._initializing: list[_Env] = []
        self.provisioned = 0  # ready or initializing
        self._tokens = float(spec.burst)
        self._refilled = 0.0
        self._count = 0
        self._sequence = 0
        self._pc_kinds = billed_provisioned
        # totals at the previous scrape, for the next one's window
        self._scraped_at = 0.0
        self._scraped_arrived = self._scraped_cold = self._scraped_throttled = 0
        self.scale_to(scenario.initial_replicas, 0.0, booted=True)

    # --- requests -----------------------------------------------------------------------------

    def dispatch(self, until: float) -> None:
        arrivals = self.arrivals.take(until)
        if not len(arrivals):
            return
        services = self.scenario.service.sample(self.service_rng, len(arrivals))
        cold = self.spec.cold_start.sample(self.cold_rng, len(arrivals))
        triples = zip(arrivals.tolist(), services.tolist(), cold.tolist(), strict=True)
        for arrival, service, init in triples:
            self._arrive(arrival, service, init)

    def _arrive(self, now: float, service: float, init: float) -> None:
        self.settle(now)
        self.tally.arrived += 1
        self.total.arrived += 1
        if len(self._busy) >= self.spec.concurrency_limit:
            self._throttle()
            return
        if self._idle_pc:
            env, init = self._idle_pc.pop(), 0.0
        elif self._idle:
            env, init = self._idle.pop(), 0.0
        else:
            self._refill(now)
            if self._tokens < 1:
                self._throttle()
                return
            self._tokens -= 1
            env = self._new_env(provisioned=False, now=now)
            self.tally.cold_starts += 1
            self.total.cold_starts += 1
        self._sequence += 1
        heappush(self._busy, (now + init + service, self._sequence, now, init, service, env))

    def _throttle(self) -> None:
        for tally in (self.tally, self.total):
            tally.dropped += 1
            tally.throttled += 1

    def _refill(self, now: float) -> None:
        refill = (now - self._refilled) * self.spec.scale_rate
        self._tokens = min(self.spec.burst, self._tokens + refill)
        self._refilled = now

    def _new_env(self, *, provisioned: bool, now: float) -> _Env:
        env = _Env(self._count, provisioned, now)
        self._count += 1
        if provisioned and self._pc_kinds:
            self.ledger.start(f"pc{env.id}", ENABLED, now)
        return env

    def settle(self, now: float) -> None:
        """Finish the requests that ended by ``now`` and reclaim idle environments."""
        busy = self._busy
        while busy and busy[0][0] <= now:
            end, _, arrival, init, service, env = heappop(busy)
            self._complete(end, arrival, init, service, env)
        keep = self.spec.keep_alive
        while self._idle and self._idle[0].idle_since + keep <= now:
            self._idle.popleft()

    def _complete(self, end: float, arrival: float, init: float, service: float, env: _Env) -> None:
        kind = PROVISIONED if env.provisioned and self._pc_kinds else ON_DEMAND
        self.ledger.request(kind, end, service, init=init)
        latency = end - arrival
        self.latencies.add(latency)
        for tally in (self.tally, self.total):
            tally.completed += 1
            tally.busy_seconds += init + service
        env.idle_since = end
        if env.provisioned:
            if env.retire:
                self._stop_provisioned(env, end)
            else:
                self._idle_pc.append(env)
        else:
            self._idle.append(env)

    def _stop_provisioned(self, env: _Env, now: float) -> None:
        if self._pc_kinds:
            self.ledger.stop(f"pc{env.id}", now)

    def outcomes(self, start: float, end: float) -> Outcomes:
        """Requests of the interval; no utilization (environments are not slots)."""
        self.settle(end)
        tally, self.tally = self.tally, Tally()
        return tally.outcomes(
            in_flight=len(self._busy),
            utilization=float("nan"),
            latency=latency_fields([np.array(self.latencies.take("record"))]),
            # running a request (cold starts included), and warm idle ones
            busy_environments=len(self._busy),
            idle_environments=len(self._idle) + len(self._idle_pc),
        )

    def totals(self) -> dict[str, float]:
        return {"wait_seconds": 0.0, "workload_arrivals": self.arrivals.handed}

    def latency(self) -> LatencyHistogram:
        if self.latencies.waiting("histogram"):
            self.histogram.add(np.array(self.latencies.take("histogram")))
        return self.histogram

    # --- provisioned concurrency: what the autoscaler controls ---------------------------------

    def state(self, t: float) -> FleetState:
        """Provisioned environments: all, ready, initializing; none warming or draining."""
        pending = len(self._initializing)
        return FleetState(self.provisioned, self.provisioned - pending, pending, 0, 0)

    def scale_to(self, replicas: int, t: float, *, booted: bool = False) -> None:
        now = t
        if replicas > 0 and not self._pc_kinds:
            raise ParameterError(
                "arch",
                self.spec.arch,
                "an architecture with provisioned concurrency prices, to provision some",
                owner="ServerlessSpec",
            )
        while self.provisioned < replicas:
            env = self._new_env(provisioned=True, now=now)
            self.provisioned += 1
            if booted:
                self._idle_pc.append(env)
            else:
                self._initializing.append(env)
                self.env.process(self._initialize(env))
        surplus = self.provisioned - replicas
        while surplus > 0 and self._idle_pc:
            self._stop_provisioned(self._idle_pc.pop(), now)
            self.provisioned -= 1
            surplus -= 1
        while surplus > 0 and self._initializing:
            env = self._initializing.pop()
            env.retire = True
            self._stop_provisioned(env, now)
            self.provisioned -= 1
            surplus -= 1
        for _, _, _, _, _, env in self._busy:
            if surplus <= 0:
                break
            if env.provisioned and not env.retire:
                env.retire = True
                self.provisioned -= 1
                surplus -= 1

    def _initialize(self, env: _Env) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.spec.provisioned_init.one(self.boot_rng))
        if not env.retire:
            self._initializing.remove(env)
            self._idle_pc.append(env)

    def sample(self, t: float) -> dict[str, float]:
        """What a controller of provisioned concurrency sees."""
        self.settle(t)
        window = t - self._scraped_at
        in_use = sum(1 for *_, env in self._busy if env.provisioned and not env.retire)
        ready = self.provisioned - len(self._initializing)
        values = {"concurrency": float(len(self._busy))}
        if self.latencies.waiting("scrape"):
            latest = np.sort(self.latencies.take("scrape"))
            values["latency_p95"] = percentiles_of_sorted(latest, [95])[0]
        if ready > 0:
            values["provisioned_utilization"] = in_use / ready
        total = self.total
        if window > 0:
            values["rps"] = (total.arrived - self._scraped_arrived) / window
            values["cold_starts"] = float(total.cold_starts - self._scraped_cold)
            values["throttles"] = float(total.throttled - self._scraped_throttled)
        self._scraped_at = t
        self._scraped_arrived, self._scraped_cold = total.arrived, total.cold_starts
        self._scraped_throttled = total.throttled
        return values

    def skip(self, t: float) -> None:
        self.sample(t)
