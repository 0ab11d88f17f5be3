"""One step of a controller, as it happened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from elastic.core.types import Decision, Observation

__all__ = ["StepRecord"]


@dataclass(frozen=True)
class StepRecord:
    """What one step of a :class:`~elastic.control.Controller` saw, decided and did.

    Attributes
    ----------
    tick
        The ticker's tick (ticks missed by an overrunning step are skipped).
    time
        ``Observation.time`` of the step (wall time advanced by the monotonic clock).
    observation
        What the loop saw; ``None`` when the replica counts could not be read.
    missing
        Metrics missing from the observation, with the reason why.
    decision
        What the loop decided; ``None`` when it was not asked.
    applied
        The count the system took; ``None`` when nothing was applied (the
        actuator refused, or the step failed before it).
    attempts
        Calls made to the actuator (0 when the count did not change).
    error
        Why the step fell short, in words; ``None`` when it did not.
    duration
        Seconds the step took, on the monotonic clock.
    shadow
        What each shadow candidate decided at this step
        (:class:`~elastic.control.shadow.ShadowStep` by name).
    """

    tick: int
    time: float
    observation: Observation | None
    missing: Mapping[str, str]
    decision: Decision | None
    applied: int | None
    attempts: int
    error: str | None
    duration: float
    shadow: Mapping[str, Any] = field(default_factory=dict)
