"""Random scenarios and the properties every simulated run must keep, for our tests and yours.

:func:`random_case` draws a small scenario, a pair of decision loops and a
fidelity from one integer, so that any process can rebuild the same case
from its number. :func:`check_case` runs it and returns what broke:

- **conservation**: :meth:`RunResult.conserved` (arrived = completed +
  dropped + timed out + failed + in flight at the end of every interval,
  nothing in flight below zero, arrivals as the workload produced them);
- **determinism**: the same case run twice gives the same :func:`digest`;
- **common random numbers**: both loops see the same arrivals in every
  interval, since what the workload draws depends on scenario and seed only;
- **exact bills**: the ledger's items (by unit, by type), time buckets and
  splits add up to its total exactly, to the last Decimal digit.

``benchmarks/bench_properties.py`` runs ten thousand cases and compares the
digests across processes with different hash seeds; the test suite runs a few
hundred.

Examples
--------
>>> case = random_case(7)
>>> check_case(case)
[]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from elastic.core.behavior import Behavior
from elastic.core.loop import DecisionLoop
from elastic.policies import StepScaling, TargetTracking
from elastic.sim.distributions import Constant, Exponential, LogNormal, Uniform
from elastic.sim.result import RunResult
from elastic.sim.run import simulate
from elastic.sim.scenario import MetricsSpec, ReplicaSpec, Scenario
from elastic.sim.workload import (
    MMPP,
    Diurnal,
    FlashCrowd,
    Poisson,
    Ramp,
    Superpose,
    TraceReplay,
    Workload,
)

__all__ = ["Case", "check_case", "checked", "digest", "random_case"]


@dataclass(frozen=True)
class Case:
    """One random case: a scenario, the loops to compare on it, a fidelity and a seed."""

    number: int
    scenario: Scenario
    loops: tuple[Callable[[], DecisionLoop], ...]
    fidelity: str
    seed: int

    def run(self, which: int = 0) -> RunResult:
        """Simulate the case with its ``which``-th loop."""
        return simulate(self.scenario, self.loops[which](), seed=self.seed, fidelity=self.fidelity)


def _workload(rng: np.random.Generator, duration: float) -> Workload:
    rate = float(rng.uniform(0.5, 40.0))
    kind = int(rng.integers(7))
    if kind == 0:
        return Poisson(rate)
    if kind == 1:
        return Diurnal(
            rate,
            float(rng.uniform(0.0, 0.9)),
            period=float(rng.uniform(60.0, 2 * duration)),
            noise=float(rng.choice([0.0, 0.2])),
            noise_step=float(rng.choice([7.0, 60.0])),
        )
    if kind == 2:
        return Ramp(rate, float(rng.uniform(0.0, 40.0)), start=0.0, end=float(duration))
    if kind == 3:
        return MMPP((rate / 10, rate), (float(rng.uniform(10, 200)), float(rng.uniform(10, 200))))
    if kind == 4:
        at = float(rng.uniform(0.0, duration))
        return Poisson(rate / 4) + FlashCrowd(
            rate, at=at, rise=float(rng.uniform(1.0, 60.0)), decay=float(rng.uniform(1.0, 120.0))
        )
    bucket = float(rng.choice([1.0, 10.0, 60.0]))
    buckets = int(np.ceil(duration / bucket)) + 1
    counts = rng.poisson(rate * bucket, buckets)
    counts[rng.random(buckets) < 0.1] = 0
    spread = "poisson" if kind == 5 else "uniform"
    trace = TraceReplay(np.arange(buckets) * bucket, counts, bucket=bucket, spread=spread)
    return trace if rng.random() < 0.7 else Superpose([trace, Poisson(rate / 5)])


def random_case(number: int) -> Case:
    """The case numbered ``number``: the same number gives the same case in any process."""
    rng = np.random.default_rng([number, 0x5EED])
    duration = float(rng.choice([60.0, 120.0, 300.0, 600.0, 900.0]))
    service = [Exponential(0.2), Constant(0.1), LogNormal(0.1, 1.0), Uniform(0.02, 0.5)][
        int(rng.integers(4))
    ]
    replica = ReplicaSpec(
        slots=int(rng.integers(1, 5)),
        queue_capacity=None if rng.random() < 0.6 else int(rng.integers(0, 20)),
        timeout=None if rng.random() < 0.6 else float(rng.uniform(0.05, 2.0)),
        boot=[Constant(20.0), Uniform(5.0, 60.0), Exponential(30.0)][int(rng.integers(3))],
        warmup=float(rng.choice([0.0, 30.0])),
        drain_timeout=float(rng.choice([0.0, 1.0, 30.0])),
        mtbf=None if rng.random() < 0.7 else float(rng.uniform(60.0, 2000.0)),
        spot_mtbi=None if rng.random() < 0.8 else float(rng.uniform(60.0, 2000.0)),
        scale_in=str(rng.choice(["newest", "least_loaded"])),
    )
    scenario = Scenario(
        _workload(rng, duration),
        duration=duration,
        service=service,
        replica=replica,
        metrics=MetricsSpec(
            lag=float(rng.choice([0.0, 30.0])), missing=float(rng.choice([0.0, 0.2]))
        ),
        balancer=str(rng.choice(["round_robin", "random", "least_outstanding", "shortest_queue"])),
        control_interval=float(rng.choice([10.0, 15.0, 60.0])),
        initial_replicas=int(rng.integers(0, 5)),
    )
    target = float(rng.uniform(30.0, 90.0))
    loops = (
        _tracking(target),
        _tracking(target / 2) if rng.random() < 0.5 else _steps(),
    )
    fidelity = "fluid" if rng.random() < 0.5 else "request"
    return Case(number, scenario, loops, fidelity, seed=int(rng.integers(2**31)))


def _tracking(target: float) -> Callable[[], DecisionLoop]:
    def build() -> DecisionLoop:
        return DecisionLoop(
            TargetTracking("cpu", target),
            min_replicas=1,
            max_replicas=12,
            behavior=Behavior.kubernetes_default(),
        )

    return build


def _steps() -> Callable[[], DecisionLoop]:
    def build() -> DecisionLoop:
        steps = [(0.0, 20.0, 1), (20.0, None, 3), (-30.0, 0.0, 0), (None, -30.0, -1)]
        return DecisionLoop(
            StepScaling("cpu", 60.0, steps),
            min_replicas=1,
            max_replicas=12,
            cooldown=60.0,
        )

    return build


def digest(result: RunResult) -> str:
    """A fingerprint of everything a run produced: series, totals, latencies and the bill."""
    h = hashlib.sha256()
    for name in ("arrived", "completed", "dropped", "timed_out", "failed", "in_flight"):
        h.update(np.ascontiguousarray(getattr(result, name)).tobytes())
    for name in ("replicas", "ready", "pending", "warming", "draining", "utilization"):
        h.update(np.ascontiguousarray(getattr(result, name)).tobytes())
    for name in ("latency_mean", "latency_p99"):
        h.update(np.ascontiguousarray(getattr(result, name)).tobytes())
    h.update(repr(sorted(result.totals.items())).encode())
    h.update(str(result.bill).encode())
    return h.hexdigest()


def check_case(case: Case) -> list[str]:
    """Run ``case`` with each of its loops; every property that does not hold, as a sentence."""
    return checked(case)[0]


def checked(case: Case) -> tuple[list[str], str]:
    """:func:`check_case`'s sentences, and the :func:`digest` of the run with the first loop."""
    problems: list[str] = []
    results = [case.run(i) for i in range(len(case.loops))]
    for i, result in enumerate(results):
        where = f"case {case.number} ({case.fidelity}, loop {i})"
        if not result.conserved():
            problems.append(f"{where}: requests not conserved")
        problems += [f"{where}: {p}" for p in bill_problems(result)]
    fingerprint = digest(results[0])
    if digest(case.run(0)) != fingerprint:
        problems.append(f"case {case.number}: the same seed gave a different run")
    first, second = results[0], results[1]
    if not np.array_equal(first.arrived, second.arrived):
        differ = int(np.count_nonzero(first.arrived != second.arrived))
        problems.append(
            f"case {case.number}: two loops saw different arrivals in {differ} of "
            f"{len(first.arrived)} intervals"
        )
    return problems, fingerprint


def bill_problems(result: RunResult) -> list[str]:
    """Where the ledger's items, time buckets or splits do not add up to its total exactly."""
    ledger = result.ledger
    if ledger is None:
        return []
    end = float(result.end[-1])
    total = ledger.total(until=end)
    problems = []
    items = {
        "by_unit": sum(ledger.by_unit(until=end).values(), Decimal(0)),
        "by_type": sum(ledger.by_type(until=end).values(), Decimal(0)),
        "by_time": sum(ledger.by_time(result.facts.control_interval, until=end, exact=True)[1]),
    }
    middle = end / 3
    items["between"] = ledger.between(0.0, middle) + ledger.between(middle, end)
    for name, amount in items.items():
        if amount != total:
            problems.append(f"{name} adds up to {amount}, the total is {total}")
    return problems
