"""KEDA's ``spec.fallback``: the metric a failing trigger reports once it has failed too often.

From KEDA's ``pkg/fallback/fallback.go`` (2.18 to 2.20): each read of a
trigger's metric that fails adds one to that trigger's count of consecutive
failures, and a read that works sets it back to 0. Once the count is
*above* ``failure_threshold`` (the read that makes it
``failure_threshold + 1``; with 0, the first failure), KEDA stops reporting
the error and reports, in place of the metric, ``target x replicas``
(milli-units, truncated), so that the HPA, dividing by the target, computes
``replicas``. ``replicas`` depends on ``behavior``:

- ``static`` (the default): ``fallback.replicas``;
- ``currentReplicas``: the target's current replica count;
- ``currentReplicasIfHigher``: the larger of the two;
- ``currentReplicasIfLower``: the smaller of the two.

For a ``Value`` target (KEDA 2.18 and later) the value is divided by the
ready replicas, as the HPA multiplies it back; with no ready replica the
fallback fails and the error stands. KEDA refuses a fallback on a
ScaledObject whose triggers are all ``cpu`` or ``memory`` (their metrics do
not pass through KEDA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from elastic.core.validate import check_choice, check_int

__all__ = ["BEHAVIORS", "Fallback", "fallback_replicas", "fallback_value"]

FallbackBehavior = Literal[
    "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower"
]
#: the values of ``fallback.behavior`` that elastic models (KEDA's, but ``scalingModifiers``)
BEHAVIORS: tuple[str, ...] = (
    "static",
    "currentReplicas",
    "currentReplicasIfHigher",
    "currentReplicasIfLower",
)


@dataclass(frozen=True, slots=True)
class Fallback:
    """``spec.fallback`` of a ScaledObject.

    Parameters
    ----------
    failure_threshold
        Consecutive failed reads of a trigger tolerated before its fallback
        applies (the fallback starts at read ``failure_threshold + 1``).
    replicas
        The replica count the fallback asks the HPA for.
    behavior
        ``"static"``, ``"currentReplicas"``, ``"currentReplicasIfHigher"`` or
        ``"currentReplicasIfLower"``.

    Examples
    --------
    >>> fallback = Fallback(failure_threshold=3, replicas=6)
    >>> fallback.applies(3), fallback.applies(4)
    (False, True)
    """

    failure_threshold: int
    replicas: int
    behavior: FallbackBehavior = "static"

    def __post_init__(self) -> None:
        owner = "Fallback"
        check_int(self.failure_threshold, "failure_threshold", owner=owner, ge=0)
        check_int(self.replicas, "replicas", owner=owner, ge=0)
        check_choice(self.behavior, "behavior", BEHAVIORS, owner=owner)

    def applies(self, failures: int) -> bool:
        """Whether ``failures`` consecutive failed reads put the trigger on its fallback."""
        return failures > self.failure_threshold


def fallback_replicas(fallback: Fallback, current: int) -> int:
    """The replica count ``fallback`` asks for with ``current`` replicas (its behavior).

    Examples
    --------
    >>> higher = Fallback(3, 6, "currentReplicasIfHigher")
    >>> fallback_replicas(higher, 4), fallback_replicas(higher, 9)
    (6, 9)
    """
    behavior, replicas = fallback.behavior, fallback.replicas
    if behavior == "currentReplicas":
        return current
    if behavior == "currentReplicasIfHigher":
        return max(current, replicas)
    if behavior == "currentReplicasIfLower":
        return min(current, replicas)
    return replicas


def fallback_value(
    fallback: Fallback,
    target: float,
    target_type: Literal["AverageValue", "Value"],
    current: int,
    ready: int,
) -> float | None:
    """The metric value KEDA reports for a trigger on its fallback, or ``None`` if it cannot.

    ``target`` is the trigger's target in its natural unit; the value is
    ``target x replicas`` (divided by ``ready`` for a ``Value`` target)
    truncated to a milli-unit, as KEDA builds its milli-quantity. ``None``
    for a ``Value`` target with no ready replica (KEDA's "readyReplicas is
    zero, cannot do fallback").

    Examples
    --------
    >>> fallback_value(Fallback(3, 6), 100.0, "AverageValue", current=2, ready=2)
    600.0
    >>> fallback_value(Fallback(3, 6), 100.0, "Value", current=4, ready=3)
    200.0
    >>> fallback_value(Fallback(3, 6), 100.0, "Value", current=4, ready=0) is None
    True
    """
    replicas = float(fallback_replicas(fallback, current))
    if target_type == "Value":
        if ready <= 0:
            return None
        replicas /= ready
    return math.trunc(target * 1000 * replicas) / 1000
