"""Replica counts from amounts of load: one rounding rule and one tolerance band for every
policy (target tracking and the Kubernetes HPA alike)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = ["MAX_REPLICAS", "RESIDUE", "Tolerance", "ceil_replicas", "ratio_replicas"]

MAX_REPLICAS = 2**31 - 1
"""The largest replica count a policy recommends (Kubernetes' ``int32`` replicas field);
a count computed from a huge or infinite load saturates here instead of overflowing."""

RESIDUE = 1e-9
"""Relative float residue ignored when rounding up: 100.00000000000003 % of a 50 % target
on one replica wants 2 replicas, not 3."""


def ceil_replicas(x: float, *, residue: float = RESIDUE) -> int:
    """The whole number of replicas ``x`` replicas' worth of load needs.

    ``ceil(x)``, except that a value within the relative ``residue`` of a
    whole number is that number, a negative one is 0 and a huge or infinite
    one saturates at :data:`MAX_REPLICAS`. NaN is not a count and raises
    ``ValueError``. ``residue=0`` rounds the float as it is, as the
    Kubernetes HPA's Go code does (``math.Ceil``).

    Examples
    --------
    >>> ceil_replicas(2.2), ceil_replicas(2.0000000000000004), ceil_replicas(-3.0)
    (3, 2, 0)
    >>> ceil_replicas(2.0000000000000004, residue=0)  # as upstream rounds it
    3
    >>> ceil_replicas(float("inf")) == MAX_REPLICAS
    True
    """
    if x != x:
        raise ValueError("NaN is not an amount of replicas")
    if x >= MAX_REPLICAS:
        return MAX_REPLICAS
    return max(0, math.ceil(x - residue * max(1.0, abs(x))))


@dataclass(frozen=True, slots=True)
class Tolerance:
    """No change while ``1 - scale_down <= ratio <= 1 + scale_up``.

    ``ratio`` is a metric's value over its target. This is the band test of
    the Kubernetes HPA since 1.33 (``|1 - ratio| <= tolerance`` before,
    which differs only for a ratio exactly on an edge). A ``scale_down``
    tolerance of 1 or more is valid, as upstream: the band then reaches
    every ratio below 1, and the count never goes down.

    Examples
    --------
    >>> Tolerance(scale_up=0.05).within(1.06), Tolerance(scale_up=0.05).within(0.91)
    (False, True)
    """

    scale_up: float = 0.1
    scale_down: float = 0.1

    def __post_init__(self) -> None:
        check_number(self.scale_up, "scale_up", owner="Tolerance", ge=0)
        check_number(self.scale_down, "scale_down", owner="Tolerance", ge=0)

    def within(self, ratio: float) -> bool:
        """Whether ``ratio`` is inside the band (a change would be too small)."""
        return 1.0 - self.scale_down <= ratio <= 1.0 + self.scale_up

    @classmethod
    def of(cls, tolerance: float | Tolerance) -> Tolerance:
        """A :class:`Tolerance` from a float (both directions) or a :class:`Tolerance`."""
        if isinstance(tolerance, Tolerance):
            return tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
            raise ParameterError(
                "tolerance", tolerance, "a number >= 0 or a Tolerance", owner="Tolerance"
            )
        return cls(float(tolerance), float(tolerance))


def ratio_replicas(
    ratio: float, wanted: float, tolerance: Tolerance, *, residue: float = RESIDUE
) -> int | None:
    """The count for a metric at ``ratio`` of its target: ``None`` (keep the current count)
    while ``ratio`` is inside the ``tolerance`` band, else ``ceil_replicas(wanted)``.

    ``wanted`` is the replicas' worth of load: ``ratio`` times the replicas
    the metric was measured on for a per-replica metric, ``value / target``
    for a total. Target tracking and the HPA's replica calculation both
    decide with this function.

    Examples
    --------
    >>> band = Tolerance()
    >>> ratio_replicas(1.05, 4 * 1.05, band) is None
    True
    >>> ratio_replicas(1.6, 4 * 1.6, band)
    7
    """
    if tolerance.within(ratio):
        return None
    return ceil_replicas(wanted, residue=residue)
