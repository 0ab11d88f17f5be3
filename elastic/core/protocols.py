"""The narrow interfaces between the decision loop and the world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from elastic.core.types import Forecast, Observation, Recommendation

if TYPE_CHECKING:
    from elastic.core.types import Decision

__all__ = ["Actuator", "Forecaster", "MetricsSource", "Policy"]


@runtime_checkable
class Policy(Protocol):
    """A scaling policy: a pure decider.

    Parameters are set in ``__init__`` and stored as given; anything learned
    lives in attributes whose names end with ``_`` and changes only in
    :meth:`observe`. :meth:`recommend` reads and never mutates. No clock, I/O
    or global random state inside.

    :meth:`observe` may see one time more than once: one instance shared by
    several loops, or a step retried after a failed actuation. An observation
    at or before the time last observed teaches the policy nothing: it keeps
    its state, and :meth:`recommend` answers as after the first observation
    of that time (``elastic.checks.check_repeated_time`` tests this).

    A policy that reads ``obs.warming`` itself (the Kubernetes HPA's CPU
    initialization rule) says so with a ``sees_warming = True`` attribute:
    :class:`~elastic.DecisionLoop` then gives it the observation with its
    warming replicas instead of taking them away first. Without the
    attribute the loop handles warming replicas for the policy.
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

    def apply(self, decision: Decision) -> int | None:
        """Ask the system for ``decision.replicas`` replicas; the count it took (``None``: the
        count asked for). Raising means the system refused: nothing is acknowledged."""
        ...


@runtime_checkable
class Forecaster(Protocol):
    """Learns a regularly sampled series one value at a time and forecasts it.

    ``learn_one`` is the only mutator; ``forecast`` reads. A forecaster that
    cannot forecast yet (too little history) raises
    :class:`~elastic.errors.ForecastError`.
    """

    def learn_one(self, y: float, t: float | None = None) -> None:
        """Learn the value ``y`` observed at time ``t``."""

    def forecast(self, horizon: int, level: Sequence[float] = ()) -> Forecast:
        """Forecasts for the next ``horizon`` steps, with intervals at ``level`` percent."""
        ...
