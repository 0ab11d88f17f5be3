"""Replica counts from amounts of load: one rounding rule for every policy."""

from __future__ import annotations

import math

__all__ = ["MAX_REPLICAS", "ceil_replicas"]

MAX_REPLICAS = 2**31 - 1
"""The largest replica count a policy recommends (Kubernetes' ``int32`` replicas field);
a count computed from a huge or infinite load saturates here instead of overflowing."""

RESIDUE = 1e-9
"""Relative float residue ignored when rounding up: 100.00000000000003 % of a 50 % target
on one replica wants 2 replicas, not 3."""


def ceil_replicas(x: float) -> int:
    """The whole number of replicas ``x`` replicas' worth of load needs.

    ``ceil(x)``, except that a value within float residue of a whole number is
    that number, a negative one is 0 and a huge or infinite one saturates at
    :data:`MAX_REPLICAS`. NaN is not a count and raises ``ValueError``.

    Examples
    --------
    >>> ceil_replicas(2.2), ceil_replicas(2.0000000000000004), ceil_replicas(-3.0)
    (3, 2, 0)
    >>> ceil_replicas(float("inf")) == MAX_REPLICAS
    True
    """
    if x != x:
        raise ValueError("NaN is not an amount of replicas")
    if x >= MAX_REPLICAS:
        return MAX_REPLICAS
    return max(0, math.ceil(x - RESIDUE * max(1.0, abs(x))))
