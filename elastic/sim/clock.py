"""Instants of a run: when two of them are one.

Scrapes fall on multiples of the metrics resolution, decisions on multiples
of the control interval; in floating point, ``3 * 0.1`` is not ``0.3``. The
driver, the metrics pipeline and the fluid model compare instants with one
rule, so that they agree on which scrape a decision reads and where an
interval ends.
"""

from __future__ import annotations

__all__ = ["TOLERANCE", "same_instant"]

#: two instants closer than this (relative beyond one second) are one
TOLERANCE = 1e-9


def same_instant(a: float, b: float) -> bool:
    """Whether two instants of a run are one: within a billionth of a second, or of ``b``
    beyond one second.

    Examples
    --------
    >>> same_instant(3 * 0.1, 0.3), same_instant(0.3, 0.31)
    (True, False)
    """
    return abs(a - b) <= TOLERANCE * (1.0 + abs(b))
