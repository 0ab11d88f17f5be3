"""Exact money and the rounding of durations to a provider's billing unit.

Money is :class:`decimal.Decimal` dollars at the boundary and
:class:`fractions.Fraction` inside: a sum of Fractions is exact, so a bill
does not depend on the order or grouping of its parts. An amount handed to
the user is the exact one rounded (half to even) to a fixed quantum,
:data:`QUANTUM` (1e-18 $), and parts of one bill are rounded so that they
add up to the rounded whole exactly (:func:`apportion`): the items of a bill,
its time buckets and its splits at any times sum to its total to the last
digit, in plain ``Decimal`` arithmetic (for bills below 1e10 $, which 28
digits hold at that quantum).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = [
    "DIGITS",
    "QUANTUM",
    "apportion",
    "ceil_units",
    "ceil_units_array",
    "exact_time",
    "from_quanta",
    "money",
    "quanta",
    "to_decimal",
]

# A duration within a nanosecond of a whole unit counts as that unit, so float
# noise such as 60.00000000001 s does not bill an extra second.
NOISE = 1e-9

DIGITS = 18  # amounts are handed out in whole 1e-18 $: fixed point, so that parts add up
QUANTUM = Decimal(1).scaleb(-DIGITS)
_SCALE = 10**DIGITS


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


def quanta(numerator: int, denominator: int = 1) -> int:
    """``numerator / denominator`` dollars in whole :data:`QUANTUM`\\ s, rounded half to even.

    Examples
    --------
    >>> quanta(1, 3), quanta(1, 4 * 10**18), quanta(3, 4 * 10**18)
    (333333333333333333, 0, 1)
    """
    whole: int
    rest: int
    whole, rest = divmod(numerator * _SCALE, denominator)
    twice = 2 * rest
    if twice > denominator or (twice == denominator and whole % 2):
        whole += 1
    return whole


def from_quanta(count: int) -> Decimal:
    """``count`` quanta as a Decimal of dollars, without trailing zeros (exact, any size).

    Examples
    --------
    >>> from_quanta(1_600_000_000_000_000), from_quanta(0), from_quanta(5 * 10**18)
    (Decimal('0.0016'), Decimal('0'), Decimal('5'))
    """
    if count == 0:
        return Decimal(0)
    digits = str(abs(count))
    kept = digits.rstrip("0")
    zeros = min(len(digits) - len(kept), DIGITS)
    digits = digits[: len(digits) - zeros]
    return Decimal((int(count < 0), tuple(map(int, digits)), zeros - DIGITS))


def to_decimal(amount: Fraction) -> Decimal:
    """The exact ``amount`` rounded to the :data:`QUANTUM` (half to even), as a Decimal.

    Examples
    --------
    >>> to_decimal(Fraction(1, 625)), to_decimal(Fraction(1, 3))
    (Decimal('0.0016'), Decimal('0.333333333333333333'))
    """
    return from_quanta(quanta(amount.numerator, amount.denominator))


def apportion(numerators: Sequence[int], denominator: int = 1) -> list[Decimal]:
    """Parts ``numerators[i] / denominator`` rounded so that they add up to the rounded whole.

    Each part is the difference of the rounded running sums (cumulative
    rounding): the parts add up exactly to ``to_decimal`` of the exact
    total, and each is within one :data:`QUANTUM` of its exact value.

    Examples
    --------
    Three thirds of a cent, which rounded one by one would add up to less than a cent:

    >>> parts = apportion([1, 1, 1], 300)
    >>> [str(part) for part in parts]
    ['0.003333333333333333', '0.003333333333333334', '0.003333333333333333']
    >>> sum(parts)
    Decimal('0.010000000000000000')
    """
    parts, running, before = [], 0, 0
    for numerator in numerators:
        running += numerator
        now = quanta(running, denominator)
        parts.append(from_quanta(now - before))
        before = now
    return parts


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
