"""Layer 2: the discrete-event simulator (so far: workloads, durations, the replica station)."""

from elastic.sim.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Uniform,
)
from elastic.sim.randomness import Streams
from elastic.sim.result import IntervalRecord, RunResult
from elastic.sim.run import Simulation, iter_run, simulate
from elastic.sim.scenario import MetricsSpec, ReplicaSpec, Scenario
from elastic.sim.server import Server, Settled
from elastic.sim.workload import (
    MMPP,
    ArrivalStream,
    Diurnal,
    FlashCrowd,
    Poisson,
    Ramp,
    Superpose,
    Timestamps,
    TraceReplay,
    Workload,
)

__all__ = [
    "MMPP",
    "ArrivalStream",
    "Constant",
    "Distribution",
    "Diurnal",
    "Empirical",
    "Exponential",
    "FlashCrowd",
    "IntervalRecord",
    "LogNormal",
    "MetricsSpec",
    "Poisson",
    "Ramp",
    "ReplicaSpec",
    "RunResult",
    "Scenario",
    "Server",
    "Settled",
    "Simulation",
    "Streams",
    "Superpose",
    "Timestamps",
    "TraceReplay",
    "Uniform",
    "Workload",
    "iter_run",
    "simulate",
]
