"""The narrow interfaces between the decision loop and the world."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from elastic.core.types import Observation, Recommendation

if TYPE_CHECKING:
    from elastic.core.types import Decision

__all__ = ["Actuator", "MetricsSource", "Policy"]


@runtime_checkable
class Policy(Protocol):
    """A scaling policy: a pure decider.

    Parameters are set in ``__init__`` and stored as given; anything learned
    lives in attributes whose names end with ``_`` and changes only in
    :meth:`observe`. :meth:`recommend` reads and never mutates. No clock, I/O
    or global random state inside.
    """

    def observe(self, obs: Observation) -> None:
        """Learn from ``obs`` (the only method that may change the policy)."""

    def recommend(self, obs: Observation) -> Recommendation:
        """What the policy wants given ``obs``, without changing anything."""
        ...


@runtime_checkable
class MetricsSource(Protocol):
    """Produces the observation a controller sees at ``now``."""

    def read(self, now: float) -> Observation:
        """The observation at ``now`` (seconds on the caller's clock)."""
        ...


@runtime_checkable
class Actuator(Protocol):
    """Applies a decision to the system being scaled."""

    def apply(self, decision: Decision) -> None:
        """Ask the system for ``decision.replicas`` replicas."""
