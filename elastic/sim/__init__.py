"""Layer 2: the simulator. Workloads, replicas or a serverless platform, request-level and fluid.

Examples
--------
>>> from elastic import DecisionLoop
>>> from elastic.policies import TargetTracking
>>> from elastic.sim import Poisson, Scenario, simulate
>>> loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=20)
>>> result = simulate(Scenario(Poisson(30.0), duration=1800.0), loop, seed=7)
>>> result.conserved(), int(result.replicas[-1]), f"${result.cost():.4f}"
(True, 5, '$0.2717')
"""

from elastic.sim.distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Uniform,
)
from elastic.sim.node_level import NodeLevel
from elastic.sim.randomness import Streams
from elastic.sim.result import IntervalRecord, RunResult
from elastic.sim.run import FluidSimulation, Simulation, iter_run, simulate
from elastic.sim.scenario import MetricsSpec, ReplicaSpec, Scenario, ServerlessSpec
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
    "FluidSimulation",
    "IntervalRecord",
    "LogNormal",
    "MetricsSpec",
    "NodeLevel",
    "Poisson",
    "Ramp",
    "ReplicaSpec",
    "RunResult",
    "Scenario",
    "Server",
    "ServerlessSpec",
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
