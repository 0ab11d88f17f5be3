"""What every elastic policy shares."""

from __future__ import annotations

from elastic.core.params import Params
from elastic.core.types import Observation, Recommendation

__all__ = ["BasePolicy"]


class BasePolicy(Params):
    """Base class of the built-in policies.

    Subclasses store their ``__init__`` arguments verbatim, call
    :meth:`validate` at the end of ``__init__``, keep learned state in
    attributes ending with ``_`` that only :meth:`observe` changes, and
    implement :meth:`recommend` without side effects.
    """

    def validate(self) -> None:
        """Raise a :class:`~elastic.errors.PolicyError` naming any bad parameter."""

    def observe(self, obs: Observation) -> None:
        """Learn from ``obs``; stateless policies learn nothing."""

    def recommend(self, obs: Observation) -> Recommendation:
        """What the policy wants given ``obs``."""
        raise NotImplementedError
