"""Kubernetes resource quantities (``500m``, ``1.5``, ``128Mi``, ``1e3``) as integer milli-units."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from elastic.errors import ParameterError

__all__ = ["format_milli", "parse_quantity"]

_SUFFIXES = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
#: Kubernetes: "no quantity may represent a number greater than 2^63-1 in magnitude"; the
#: metrics APIs' milli-values are int64 too
INT64_MAX = 2**63 - 1
_LARGEST = Decimal(INT64_MAX)
_TOO_LARGE = "a Kubernetes quantity of at most 2^63-1 (about 9.2e18) in magnitude"
_MAX_EXPONENT = 40
_PATTERN = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]))?$"
)


def parse_quantity(value: str | int | float, name: str = "quantity") -> int:
    """A quantity in milli-units, rounded up as Kubernetes' ``MilliValue`` does.

    Examples
    --------
    >>> parse_quantity("500m"), parse_quantity("1.5"), parse_quantity("1k"), parse_quantity(2)
    (500, 1500, 1000000, 2000)
    >>> parse_quantity("128Mi") == 128 * 2**20 * 1000
    True
    >>> parse_quantity("1e1000000")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: quantity='1e1000000' is invalid; expected ... at most 2^63-1 ...
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ParameterError(name, value, "a Kubernetes quantity such as 500m, 2 or 1Gi")
    text = str(value).strip()
    match = _PATTERN.match(text)
    if not match:
        raise ParameterError(name, value, "a Kubernetes quantity such as 500m, 2 or 1Gi")
    number, exponent, suffix = match.groups()
    power = int(exponent[1:]) if exponent else 0
    if Decimal(number) == 0:
        return 0
    if power < -_MAX_EXPONENT:  # far below a milli-unit: rounds up as Kubernetes does
        return 1 if Decimal(number) > 0 else 0
    if power > _MAX_EXPONENT:
        raise ParameterError(name, value, _TOO_LARGE)
    try:
        amount = Decimal(number).scaleb(power) * _SUFFIXES[suffix or ""]
    except InvalidOperation:
        raise ParameterError(name, value, "a Kubernetes quantity") from None
    if abs(amount) > _LARGEST:
        raise ParameterError(name, value, _TOO_LARGE)
    return int((amount * 1000).to_integral_value(rounding=ROUND_CEILING))


def format_milli(milli: int) -> str:
    """The shortest plain form of a milli-unit amount: ``1500`` -> ``"1500m"``, ``2000`` -> ``"2"``.

    Examples
    --------
    >>> format_milli(1500), format_milli(2000), format_milli(250)
    ('1500m', '2', '250m')
    """
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"
