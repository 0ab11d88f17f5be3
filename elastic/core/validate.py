"""Small checks that turn bad parameters into a :class:`ParameterError` naming them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from elastic.errors import ParameterError

__all__ = ["check_choice", "check_int", "check_number"]


def check_number(
    value: Any,
    name: str,
    *,
    owner: str,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    error: type[ParameterError] = ParameterError,
) -> float:
    """Return ``value`` as a float after checking it is a finite real number in range.

    Examples
    --------
    >>> check_number(2, "target", owner="TargetTracking", gt=0)
    2.0
    >>> check_number(-1, "target", owner="TargetTracking", gt=0)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: TargetTracking: target=-1 is invalid; expected a number > 0
    """
    if type(value) is float or (isinstance(value, int | float) and not isinstance(value, bool)):
        number = float(value)
        if (
            math.isfinite(number)
            and (gt is None or number > gt)
            and (ge is None or number >= ge)
            and (le is None or number <= le)
        ):
            return number
    # the message is built only on failure: this check runs once per event
    limits = []
    if gt is not None:
        limits.append(f"> {gt:g}")
    if ge is not None:
        limits.append(f">= {ge:g}")
    if le is not None:
        limits.append(f"<= {le:g}")
    expected = "a number " + " and ".join(limits) if limits else "a finite number"
    raise error(name, value, expected, owner=owner)


def check_int(
    value: Any,
    name: str,
    *,
    owner: str,
    ge: int | None = None,
    le: int | None = None,
    error: type[ParameterError] = ParameterError,
) -> int:
    """Return ``value`` after checking it is an integer (not a bool) ``>= ge`` (and ``<= le``).

    Examples
    --------
    >>> check_int(3, "min_replicas", owner="Loop", ge=0)
    3
    >>> check_int(2.5, "min_replicas", owner="Loop", ge=0)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: Loop: min_replicas=2.5 is invalid; expected an integer >= 0
    """
    expected = "an integer" + (f" >= {ge}" if ge is not None else "")
    if le is not None:
        expected += f" {'and ' if ge is not None else ''}<= {le:,}"
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(name, value, expected, owner=owner)
    if (ge is not None and value < ge) or (le is not None and value > le):
        raise error(name, value, expected, owner=owner)
    return int(value)


def check_choice(
    value: Any,
    name: str,
    choices: tuple[str, ...],
    *,
    owner: str,
    error: type[ParameterError] = ParameterError,
) -> str:
    """Return ``value`` after checking it is one of ``choices``.

    Examples
    --------
    >>> check_choice("Min", "select_policy", ("Max", "Min", "Disabled"), owner="ScalingRules")
    'Min'
    """
    if value not in choices:
        expected = "one of " + ", ".join(repr(c) for c in choices)
        raise error(name, value, expected, owner=owner)
    return str(value)
