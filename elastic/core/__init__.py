"""Layer 0: the values, the protocols and the decision loop with its pure stages."""

from elastic.core.behavior import Behavior, RateLimit, ScaleEvent, ScalingRules
from elastic.core.cooldown import Cooldown
from elastic.core.loop import STAGES, DecisionLoop
from elastic.core.params import Params, clone
from elastic.core.protocols import Actuator, Forecaster, MetricsSource, Policy
from elastic.core.types import Decision, Forecast, Observation, Reason, Recommendation, Stage

__all__ = [
    "STAGES",
    "Actuator",
    "Behavior",
    "Cooldown",
    "Decision",
    "DecisionLoop",
    "Forecast",
    "Forecaster",
    "MetricsSource",
    "Observation",
    "Params",
    "Policy",
    "RateLimit",
    "Reason",
    "Recommendation",
    "ScaleEvent",
    "ScalingRules",
    "Stage",
    "clone",
]
