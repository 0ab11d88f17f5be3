"""The controller runtime: the same loop drives a real system (layer 3).

The only part of elastic that reads the wall clock or sleeps. Import it as
``elastic.control``; it needs the ``control`` extra (``prometheus-client``
and ``httpx``).
"""

from elastic.control.actuators import Applied, CallbackActuator, Retry
from elastic.control.checkpoint import Checkpoint, FileCheckpoint, restore, snapshot
from elastic.control.clock import Clock, ManualClock, SystemClock, Ticker
from elastic.control.controller import Controller
from elastic.control.log import DecisionLog
from elastic.control.sources import (
    CallableSource,
    MetricsReader,
    Observe,
    Reading,
    ReplicaCounts,
    Sample,
)
from elastic.control.step import StepRecord

__all__ = [
    "Applied",
    "CallableSource",
    "CallbackActuator",
    "Checkpoint",
    "Clock",
    "Controller",
    "DecisionLog",
    "FileCheckpoint",
    "ManualClock",
    "MetricsReader",
    "Observe",
    "Reading",
    "ReplicaCounts",
    "Retry",
    "Sample",
    "StepRecord",
    "SystemClock",
    "Ticker",
    "restore",
    "snapshot",
]
