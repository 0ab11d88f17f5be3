"""Exact money and the rounding of durations to a provider's billing unit.

Money is :class:`decimal.Decimal` dollars at the boundary and
:class:`fractions.Fraction` inside: a sum of Fractions is exact, so a bill
does not depend on the order or grouping of its parts, and each amount
handed to the user is the correctly rounded value of the exact one (28
significant digits).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = ["ceil_units", "ceil_units_array", "exact_time", "money", "to_decimal"]

# A duration within a nanosecond of a whole unit counts as that unit, so float
# noise such as 60.00000000001 s does not bill an extra second.
NOISE = 1e-9


def money(
    value: Decimal | str | int | float, name: str = "price", *, owner: str = "billing"
) -> Decimal:
    """An exact, non-negative amount of dollars (or of any priced quantity).

    A float is converted through its shortest ``repr``, so ``0.096`` is
    exactly ``Decimal('0.096')``.

    Examples
    --------
    >>> money("0.096"), money(0.096)
    (Decimal('0.096'), Decimal('0.096'))
    >>> money("cheap", "price_per_hour", owner="PerSecond")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: PerSecond: price_per_hour='cheap' is invalid; expected ...
    """
    if isinstance(value, bool):
        raise ParameterError(name, value, "a price such as '0.096'", owner=owner)
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        raise ParameterError(name, value, "a price such as '0.096'", owner=owner) from None
    if not amount.is_finite() or amount < 0:
        raise ParameterError(name, value, "a finite price >= 0", owner=owner)
    return amount


def to_decimal(amount: Fraction) -> Decimal:
    """The exact ``amount`` correctly rounded to a Decimal.

    Examples
    --------
    >>> to_decimal(Fraction(1, 625))
    Decimal('0.0016')
    """
    return Decimal(amount.numerator) / Decimal(amount.denominator)


def exact_time(seconds: float) -> Fraction:
    """A float time as the exact value of its shortest repr (``0.1`` is 1/10).

    Examples
    --------
    >>> exact_time(0.1)
    Fraction(1, 10)
    """
    return Fraction(repr(float(seconds)))


def ceil_units(units: float, name: str = "seconds", *, owner: str = "billing") -> int:
    """Round a non-negative duration up to whole billing units.

    Examples
    --------
    >>> ceil_units(61.2), ceil_units(60.00000000001), ceil_units(0.0)
    (62, 60, 0)
    """
    check_number(units, name, owner=owner, ge=0)
    return math.ceil(units - NOISE) if units > NOISE else 0


def ceil_units_array(units: NDArray[np.float64]) -> NDArray[np.int64]:
    """:func:`ceil_units` over an array, with the same float operations.

    Examples
    --------
    >>> ceil_units_array(np.array([61.2, 60.00000000001, 0.0])).tolist()
    [62, 60, 0]
    """
    return np.where(units > NOISE, np.ceil(units - NOISE), 0.0).astype(np.int64)
