"""What a tuning searches: each parameter's range, scale or choices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError

__all__ = ["Choice", "Float", "Int", "Parameter", "check_space"]


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``; ``log`` samples its logarithm uniformly.

    Examples
    --------
    >>> Float(30.0, 90.0)
    Float(low=30.0, high=90.0, log=False)
    >>> Float(0.0, 1.0, log=True)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: Float: low=0.0 is invalid; expected a number > 0 on a log scale
    """

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _bounds(self, "Float", check_number)


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` (both included)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _bounds(self, "Int", check_int)


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (numbers, strings, booleans or None).

    Examples
    --------
    >>> Choice((300.0, 600.0, 900.0)).options
    (300.0, 600.0, 900.0)
    """

    options: Sequence[Any]

    def __post_init__(self) -> None:
        options = tuple(self.options) if not isinstance(self.options, str) else ()
        if not options:
            raise ParameterError("options", self.options, "at least one option", owner="Choice")
        for option in options:
            if option is not None and not isinstance(option, bool | int | float | str):
                raise ParameterError(
                    "options", option, "numbers, strings, booleans or None", owner="Choice"
                )
        if len(set(map(repr, options))) != len(options):
            raise ParameterError("options", options, "distinct options", owner="Choice")
        object.__setattr__(self, "options", options)


Parameter = Float | Int | Choice


def _bounds(parameter: Float | Int, owner: str, check: Any) -> None:
    low, high = check(parameter.low, "low", owner=owner), check(parameter.high, "high", owner=owner)
    if low > high:
        raise ParameterError("low", low, f"at most high ({high})", owner=owner)
    if not isinstance(parameter.log, bool):
        raise ParameterError("log", parameter.log, "True or False", owner=owner)
    if parameter.log and low <= 0:
        raise ParameterError("low", low, "a number > 0 on a log scale", owner=owner)


def check_space(space: Mapping[str, Parameter]) -> dict[str, Parameter]:
    """``space`` checked: parameter names to :class:`Float`, :class:`Int` or :class:`Choice`.

    Examples
    --------
    >>> check_space({})
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: tune: space={} is invalid; expected at least one parameter: ...
    """
    if not isinstance(space, Mapping) or not space:
        raise ParameterError(
            "space", space,
            "at least one parameter: a mapping of names to Float, Int or Choice", owner="tune",
        )  # fmt: skip
    for name, parameter in space.items():
        if not isinstance(name, str) or not name:
            raise ParameterError("space", name, "parameter names that are strings", owner="tune")
        if not isinstance(parameter, Float | Int | Choice):
            raise ParameterError(
                f"space[{name!r}]", parameter, "a Float, Int or Choice", owner="tune"
            )
    return dict(space)
