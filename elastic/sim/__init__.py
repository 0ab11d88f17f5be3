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
    "LogNormal",
    "Poisson",
    "Ramp",
    "Server",
    "Settled",
    "Streams",
    "Superpose",
    "Timestamps",
    "TraceReplay",
    "Uniform",
    "Workload",
]
