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
from collections.abc import Callable, Generator
from heapq import heappop, heappush
from typing import Any

import numpy as np
import simpy

from elastic.cost.catalog import default_catalog
from elastic.cost.ledger import CostObserver
from elastic.cost.tariffs import LambdaRequests, Tariff
from elastic.errors import ParameterError
from elastic.sim.cluster import Tally
from elastic.sim.randomness import Streams
from elastic.sim.scenario import Scenario, ServerlessSpec
from elastic.sim.stats import LatencyHistogram

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


class Platform:
    """The execution environments of one run, acting on SimPy time, billed by ``ledger``."""

    #: every metric a controller of provisioned concurrency can be given
    PRODUCES = (
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
        env: simpy.Environment,
        streams: Streams,
        ledger: CostObserver,
        *,
        billed_provisioned: bool,
    ) -> None:
        assert scenario.serverless is not None
        self.spec = spec = scenario.serverless
        self.scenario = scenario
        self.env = env
        self.ledger = ledger
        self.arrivals = scenario.workload.stream(streams.generator("arrivals"))
        self.service_rng = streams.generator("service")
        self.cold_rng = streams.generator("cold starts")
        self.boot_rng = streams.generator("boot")
        self.tally = Tally()
        self.total = Tally(latencies=None)
        self.histogram = LatencyHistogram(scenario.slo)  # exact SLO attainment
        self._interval: list[float] = []  # latencies since the last tally
        self._recent: list[float] = []  # latencies since the metrics last looked
        self._unbinned: list[float] = []  # latencies not yet in the histogram
        self._busy: list[tuple[float, int, float, float, float, _Env]] = []  # a heap
        self._idle: deque[_Env] = deque()  # on demand, oldest idle first
        self._idle_pc: list[_Env] = []
        self._initializing: list[_Env] = []
        self.provisioned = 0  # ready or initializing
        self._tokens = float(spec.burst)
        self._refilled = 0.0
        self._count = 0
        self._sequence = 0
        self._busy_seconds = 0.0
        self.failures = self.interruptions = 0
        self._pc_kinds = billed_provisioned
        self.scale_to(scenario.initial_replicas, booted=True)

    # --- requests -----------------------------------------------------------------------------

    def advance(self, until: float) -> None:
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
        self._unbinned.append(latency)
        self._interval.append(latency)
        self._recent.append(latency)
        for tally in (self.tally, self.total):
            tally.completed += 1
            tally.busy_seconds += init + service
        self._busy_seconds += init + service
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

    def take_tally(self) -> Tally:
        tally, self.tally = self.tally, Tally()
        tally.latencies = [np.array(self._interval)]
        self._interval = []
        return tally

    def in_flight(self) -> int:
        return len(self._busy)

    def busy_seconds(self, now: float) -> float:
        partial = sum(
            max(0.0, now - (end - init - service)) for end, _, _, init, service, _ in self._busy
        )
        return self._busy_seconds + partial

    def capacity_seconds(self, now: float) -> float:
        return float("nan")

    def bin_latencies(self) -> LatencyHistogram:
        if self._unbinned:
            self.histogram.add(np.array(self._unbinned))
            self._unbinned.clear()
        return self.histogram

    # --- provisioned concurrency: what the autoscaler controls ---------------------------------

    def environments(self) -> tuple[int, int]:
        """Environments running a request (cold starts included) and warm idle ones, now."""
        return len(self._busy), len(self._idle) + len(self._idle_pc)

    def states(self) -> tuple[int, int, int, int, int]:
        """Provisioned environments: all, ready, initializing, 0 warming, 0 draining."""
        pending = len(self._initializing)
        return self.provisioned, self.provisioned - pending, pending, 0, 0

    def scale_to(self, replicas: int, *, booted: bool = False) -> None:
        now = self.env.now
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

    def extra_totals(self) -> dict[str, float]:
        return {}

    def sampler(self) -> Callable[[float], dict[str, float]]:
        """What a controller of provisioned concurrency sees."""
        last = {"time": 0.0, "arrived": 0, "cold": 0, "throttled": 0}

        def sample(now: float) -> dict[str, float]:
            self.settle(now)
            window = now - last["time"]
            in_use = sum(1 for *_, env in self._busy if env.provisioned and not env.retire)
            ready = self.provisioned - len(self._initializing)
            values = {"concurrency": float(len(self._busy))}
            if self._recent:
                values["latency_p95"] = float(np.percentile(self._recent, 95))
                self._recent.clear()
            if ready > 0:
                values["provisioned_utilization"] = in_use / ready
            if window > 0:
                values["rps"] = (self.total.arrived - last["arrived"]) / window
                values["cold_starts"] = float(self.total.cold_starts - last["cold"])
                values["throttles"] = float(self.total.throttled - last["throttled"])
            last.update(
                time=now,
                arrived=self.total.arrived,
                cold=self.total.cold_starts,
                throttled=self.total.throttled,
            )
            return values

        return sample
