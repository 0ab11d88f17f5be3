"""What every elastic policy shares."""

from __future__ import annotations

from elastic.core.params import Params
from elastic.core.space import Parameter
from elastic.core.types import Observation, Recommendation

__all__ = ["BasePolicy"]


class BasePolicy(Params):
    """Base class of the built-in policies, and a convenient one for yours.

    Subclasses store their ``__init__`` arguments verbatim, call
    :meth:`validate` at the end of ``__init__``, keep learned state in
    attributes ending with ``_`` that only :meth:`observe` changes, and
    implement :meth:`recommend` without side effects. In return they get
    ``get_params``, ``clone`` and a ``repr`` read from the ``__init__``
    signature, and :meth:`conformance_params` for their tests.
    ``elastic.checks.check_policy`` checks the contract; ``docs/policies/writing.md``
    walks through writing a policy.

    Examples
    --------
    >>> from elastic import Observation, Reason, Recommendation
    >>> class Fixed(BasePolicy):
    ...     def __init__(self, replicas: int = 3) -> None:
    ...         self.replicas = replicas
    ...     def recommend(self, obs):
    ...         return Recommendation(self.replicas, Reason.SCHEDULED)
    >>> Fixed(5), Fixed(5).recommend(Observation(0.0, 2, {})).replicas
    (Fixed(replicas=5), 5)
    """

    def search_space(self) -> dict[str, Parameter]:
        """The parameters worth tuning, by name, over ranges relative to their values.

        :mod:`elastic.tune` searches them (``DecisionLoop.search_space``
        gathers the policies' and the loop's own). The default declares none.
        """
        return {}

    def validate(self) -> None:
        """Raise a :class:`~elastic.errors.PolicyError` naming any bad parameter."""

    def observe(self, obs: Observation) -> None:
        """Learn from ``obs``; stateless policies learn nothing."""

    def recommend(self, obs: Observation) -> Recommendation:
        """What the policy wants given ``obs``."""
        raise NotImplementedError
