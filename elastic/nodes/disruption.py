"""The price of disrupting pods, weighed against what a consolidation saves.

Neither the Cluster Autoscaler nor Karpenter has this knob; their users ask for
it (kubernetes-sigs/karpenter #795, #2720): consolidate only when the money a
move saves over a horizon exceeds what evicting its pods costs. Any node
autoscaler that removes or replaces nodes may use it.

The formula, per move (one or more nodes removed, at most one launched)::

    saving = (price of the removed nodes - price of the replacement) per hour * horizon / 3600
    cost   = sum over the evicted pods of
             per_pod_eviction + per_pod_lost_seconds * share * node price per hour / 3600
    share  = max(cpu requested / cpu allocatable, memory requested / memory allocatable)
             of the pod on the node it leaves (its allocated share, as cost-allocation
             tools count it)

and the move is worth making when ``saving > cost`` (strictly: a move that
only breaks even is not made). ``per_pod_eviction`` is dollars per evicted pod
(a fixed price for a restart: lost caches, dropped connections);
``per_pod_lost_seconds`` values the time a pod does not serve while it is
rescheduled and starts, at the price of the capacity it held.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = ["DisruptionCost"]

_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class DisruptionCost:
    """Consolidate only when the saving over ``horizon`` seconds exceeds the eviction cost.

    Parameters
    ----------
    horizon
        Seconds over which a move's saving is counted (how long the cheaper
        cluster is expected to last); > 0.
    per_pod_eviction
        Dollars charged per evicted pod (a ``Decimal`` >= 0).
    per_pod_lost_seconds
        Seconds of lost capacity per evicted pod, charged at the pod's allocated
        share of its node's hourly price (>= 0).

    Examples
    --------
    >>> from decimal import Decimal
    >>> knob = DisruptionCost(horizon=3600, per_pod_eviction=Decimal("0.01"))
    >>> knob.saving(Decimal("0.192"), Decimal("0.096"))   # replace an m5.xlarge by an m5.large
    Decimal('0.096')
    >>> knob.cost(pods=5)
    Decimal('0.05')
    >>> knob.worth(Decimal("0.096"), knob.cost(pods=10))  # 0.096 > 0.10 is false
    False
    """

    horizon: float = 3600.0
    per_pod_eviction: Decimal = Decimal(0)
    per_pod_lost_seconds: float = 0.0

    def __post_init__(self) -> None:
        owner = "DisruptionCost"
        object.__setattr__(
            self, "horizon", check_number(self.horizon, "horizon", owner=owner, gt=0)
        )
        eviction = self.per_pod_eviction
        if isinstance(eviction, bool) or not isinstance(eviction, Decimal | int | str):
            raise ParameterError(
                "per_pod_eviction", eviction, "a Decimal of dollars >= 0", owner=owner
            )
        try:
            dollars = Decimal(eviction)
        except ArithmeticError:
            raise ParameterError(
                "per_pod_eviction", eviction, "a Decimal of dollars >= 0", owner=owner
            ) from None
        if not dollars.is_finite() or dollars < 0:
            raise ParameterError(
                "per_pod_eviction", eviction, "a Decimal of dollars >= 0", owner=owner
            )
        object.__setattr__(self, "per_pod_eviction", dollars)
        object.__setattr__(
            self,
            "per_pod_lost_seconds",
            check_number(self.per_pod_lost_seconds, "per_pod_lost_seconds", owner=owner, ge=0),
        )

    def saving(self, removed_per_hour: Decimal, launched_per_hour: Decimal) -> Decimal:
        """Dollars saved over the horizon by removing nodes of ``removed_per_hour`` and
        launching ``launched_per_hour`` (0 for a plain delete)."""
        return (removed_per_hour - launched_per_hour) * Decimal(repr(self.horizon)) / _HOUR

    def cost(self, pods: int, lost_share_per_hour: Decimal = Decimal(0)) -> Decimal:
        """Dollars of evicting ``pods`` pods; ``lost_share_per_hour``: the sum over them of
        ``share * node price per hour`` (see :meth:`share_price`)."""
        lost = Decimal(repr(self.per_pod_lost_seconds)) * lost_share_per_hour / _HOUR
        return self.per_pod_eviction * pods + lost

    @staticmethod
    def share_price(
        cpu: int, memory: int, cpu_allocatable: int, memory_allocatable: int, per_hour: Decimal
    ) -> Decimal:
        """A pod's allocated share of its node, times the node's hourly price.

        Examples
        --------
        >>> DisruptionCost.share_price(500, 2**30, 2000, 8 * 2**30, Decimal("0.096"))
        Decimal('0.024')
        """
        shares = [Fraction(cpu, cpu_allocatable) if cpu_allocatable else Fraction(0)]
        shares.append(Fraction(memory, memory_allocatable) if memory_allocatable else Fraction(0))
        share = max(shares)
        return per_hour * Decimal(share.numerator) / Decimal(share.denominator)

    def worth(self, saving: Decimal, cost: Decimal) -> bool:
        """Whether a move saving ``saving`` dollars is worth its ``cost`` (strictly more)."""
        return saving > cost
