"""Layer 1: scaling policies, the pure deciders the decision loop runs."""

from elastic.policies.base import BasePolicy
from elastic.policies.compose import Fallback, MaxOf, MinOf
from elastic.policies.cron import Cron
from elastic.policies.predictive import Plan, Predictive
from elastic.policies.scheduled import Scheduled, ScheduledAction
from elastic.policies.step import StepScaling, aws_round
from elastic.policies.target_tracking import TargetTracking

__all__ = [
    "BasePolicy",
    "Cron",
    "Fallback",
    "MaxOf",
    "MinOf",
    "Plan",
    "Predictive",
    "Scheduled",
    "ScheduledAction",
    "StepScaling",
    "TargetTracking",
    "aws_round",
]
