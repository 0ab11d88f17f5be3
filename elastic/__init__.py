"""elastic: autoscaling control loops you can trust before production.

Policies are pure deciders; one :class:`DecisionLoop` turns their
recommendations into replica counts through stabilization windows, rate
limits, bounds, cooldowns and warm-up, in a simulator or a real controller.

Examples
--------
>>> import elastic as el
>>> loop = el.DecisionLoop(el.policies.TargetTracking("cpu", 60.0),
...                        min_replicas=1, max_replicas=10)
>>> loop.step(el.Observation(time=0.0, replicas=3, metrics={"cpu": 90.0})).replicas
5
"""

from elastic import bench, cost, evaluate, forecast, keda, knative, kubernetes, policies, sim
from elastic.core import (
    Actuator,
    Behavior,
    Cooldown,
    Decision,
    DecisionLoop,
    Forecast,
    Forecaster,
    MetricsSource,
    Observation,
    Policy,
    RateLimit,
    Reason,
    Recommendation,
    ScaleEvent,
    ScalingRules,
    Stage,
    clone,
)
from elastic.errors import (
    AdapterError,
    CheckpointError,
    ConformanceError,
    ElasticError,
    ForecastError,
    ManifestError,
    MetricsError,
    ParameterError,
    PolicyError,
    SimulationError,
)
from elastic.sim import (
    MetricsSpec,
    ReplicaSpec,
    RunResult,
    Scenario,
    ServerlessSpec,
    iter_run,
    simulate,
)

__version__ = "0.1.0"

__all__ = [
    "Actuator",
    "AdapterError",
    "Behavior",
    "CheckpointError",
    "ConformanceError",
    "Cooldown",
    "Decision",
    "DecisionLoop",
    "ElasticError",
    "Forecast",
    "ForecastError",
    "Forecaster",
    "ManifestError",
    "MetricsError",
    "MetricsSource",
    "MetricsSpec",
    "Observation",
    "ParameterError",
    "Policy",
    "PolicyError",
    "RateLimit",
    "Reason",
    "Recommendation",
    "ReplicaSpec",
    "RunResult",
    "ScaleEvent",
    "ScalingRules",
    "Scenario",
    "ServerlessSpec",
    "SimulationError",
    "Stage",
    "__version__",
    "bench",
    "clone",
    "cost",
    "evaluate",
    "forecast",
    "iter_run",
    "keda",
    "knative",
    "kubernetes",
    "policies",
    "sim",
    "simulate",
]
