"""What a tuning searches: each parameter's range, scale or choices, and when it is active.

Plain values (layer 0) so that policies can declare the ranges worth
searching next to their parameters; :mod:`elastic.tune` searches them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError

__all__ = [
    "Choice",
    "Float",
    "Int",
    "Parameter",
    "active",
    "around",
    "check_space",
    "count_range",
    "is_active",
    "prefixed",
    "seconds_range",
]

When = Mapping[str, Sequence[Any]] | None


@dataclass(frozen=True)
class Float:
    """A real parameter in ``[low, high]``; ``log`` samples its logarithm uniformly.

    ``when`` makes it conditional: ``{"other": (value, ...)}`` means it is
    searched (and given to ``build``) only when the parameter ``other`` takes
    one of those values (Optuna's define-by-run spaces).

    Examples
    --------
    >>> Float(30.0, 90.0)
    Float(low=30.0, high=90.0, log=False)
    >>> Float(0.0, 0.3, when={"disable_scale_in": (False,)})
    Float(low=0.0, high=0.3, log=False, when={'disable_scale_in': (False,)})
    >>> Float(0.0, 1.0, log=True)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: Float: low=0.0 is invalid; expected a number > 0 on a log scale
    """

    low: float
    high: float
    log: bool = False
    when: When = None

    def __post_init__(self) -> None:
        _bounds(self, "Float", check_number)
        _condition(self, "Float")

    def __repr__(self) -> str:
        return _repr(self, f"low={self.low!r}, high={self.high!r}, log={self.log!r}")


@dataclass(frozen=True)
class Int:
    """An integer parameter in ``[low, high]`` (both included); ``when`` as for :class:`Float`.

    Examples
    --------
    >>> Int(60, 600)
    Int(low=60, high=600, log=False)
    """

    low: int
    high: int
    log: bool = False
    when: When = None

    def __post_init__(self) -> None:
        _bounds(self, "Int", check_int)
        _condition(self, "Int")

    def __repr__(self) -> str:
        return _repr(self, f"low={self.low!r}, high={self.high!r}, log={self.log!r}")


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (numbers, strings, booleans or None); ``when`` as for :class:`Float`.

    Examples
    --------
    >>> Choice((300.0, 600.0, 900.0)).options
    (300.0, 600.0, 900.0)
    """

    options: Sequence[Any]
    when: When = None

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
        _condition(self, "Choice")

    def __repr__(self) -> str:
        return _repr(self, f"options={self.options!r}")


Parameter = Float | Int | Choice


def _repr(parameter: Parameter, body: str) -> str:
    when = "" if parameter.when is None else f", when={dict(parameter.when)!r}"
    return f"{type(parameter).__name__}({body}{when})"


def _bounds(parameter: Float | Int, owner: str, check: Any) -> None:
    low, high = check(parameter.low, "low", owner=owner), check(parameter.high, "high", owner=owner)
    if low > high:
        raise ParameterError("low", low, f"at most high ({high})", owner=owner)
    if not math.isfinite(high - low):  # Optuna samples low + u * (high - low)
        raise ParameterError(
            "high", high, f"within {sys.float_info.max:.3g} of low ({low})", owner=owner
        )
    if not isinstance(parameter.log, bool):
        raise ParameterError("log", parameter.log, "True or False", owner=owner)
    if parameter.log and low <= 0:
        raise ParameterError("low", low, "a number > 0 on a log scale", owner=owner)


def _condition(parameter: Parameter, owner: str) -> None:
    when = parameter.when
    if when is None:
        return
    expected = "None or a mapping of parameter names to the values that make it active"
    if not isinstance(when, Mapping) or not when:
        raise ParameterError("when", when, expected, owner=owner)
    checked: dict[str, tuple[Any, ...]] = {}
    for name, values in when.items():
        if not isinstance(name, str) or not name:
            raise ParameterError("when", name, "parameter names that are strings", owner=owner)
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ParameterError(
                f"when[{name!r}]", values, "a non-empty sequence of values", owner=owner
            )
        checked[name] = tuple(values)
    object.__setattr__(parameter, "when", checked)


def prefixed(space: Mapping[str, Parameter], prefix: str) -> dict[str, Parameter]:
    """``space`` with every name, and every name its conditions refer to, under ``prefix``.

    Examples
    --------
    >>> prefixed({"target": Float(30.0, 90.0)}, "policies[0].")
    {'policies[0].target': Float(low=30.0, high=90.0, log=False)}
    """
    out: dict[str, Parameter] = {}
    for name, parameter in space.items():
        if parameter.when is not None:
            when = {prefix + key: values for key, values in parameter.when.items()}
            parameter = _with_when(parameter, when)
        out[prefix + name] = parameter
    return out


def _with_when(parameter: Parameter, when: When) -> Parameter:
    if isinstance(parameter, Choice):
        return Choice(parameter.options, when=when)
    return type(parameter)(parameter.low, parameter.high, parameter.log, when=when)  # type: ignore[arg-type]


def active(space: Mapping[str, Parameter], params: Mapping[str, Any]) -> bool:
    """Whether every parameter of ``params`` is active given the others' values.

    Examples
    --------
    >>> space = {"off": Choice((False, True)), "margin": Float(0.0, 0.3, when={"off": (False,)})}
    >>> active(space, {"off": False, "margin": 0.1}), active(space, {"off": True, "margin": 0.1})
    (True, False)
    """
    return all(name not in space or is_active(space[name], params) for name in params)


def is_active(parameter: Parameter, chosen: Mapping[str, Any]) -> bool:
    """Whether ``parameter`` is searched given the values ``chosen`` for the others.

    Examples
    --------
    >>> is_active(Float(0.0, 0.3, when={"off": (False,)}), {"off": True})
    False
    """
    return all(
        other in chosen and chosen[other] in values
        for other, values in (parameter.when or {}).items()
    )


def check_space(space: Mapping[str, Parameter]) -> dict[str, Parameter]:
    """``space`` checked: parameter names to :class:`Float`, :class:`Int` or :class:`Choice`.

    A condition (``when``) must name a :class:`Choice` of the space declared
    before it and values among its options, or the space would be
    contradictory (a parameter that can never be active).

    Examples
    --------
    >>> check_space({})
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: tune: space={} is invalid; expected at least one parameter: ...
    >>> check_space({"margin": Float(0.0, 0.3, when={"off": (False,)})})
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: tune: space['margin'].when='off' is invalid; expected ...
    """
    if not isinstance(space, Mapping) or not space:
        raise ParameterError(
            "space", space,
            "at least one parameter: a mapping of names to Float, Int or Choice", owner="tune",
        )  # fmt: skip
    seen: dict[str, Parameter] = {}
    for name, parameter in space.items():
        if not isinstance(name, str) or not name:
            raise ParameterError("space", name, "parameter names that are strings", owner="tune")
        if not isinstance(parameter, Float | Int | Choice):
            raise ParameterError(
                f"space[{name!r}]", parameter, "a Float, Int or Choice", owner="tune"
            )
        for other, values in (parameter.when or {}).items():
            given = seen.get(other)
            if not isinstance(given, Choice):
                raise ParameterError(
                    f"space[{name!r}].when", other,
                    "the name of a Choice declared before it in the space", owner="tune",
                )  # fmt: skip
            stray = [v for v in values if v not in given.options]
            if stray:
                raise ParameterError(
                    f"space[{name!r}].when[{other!r}]", stray[0],
                    f"one of the options of {other!r}: {list(given.options)}", owner="tune",
                )  # fmt: skip
        seen[name] = parameter
    return dict(space)


# --- default ranges relative to a given value: one rule each, shared by every declared space ---


def around(value: float, *, log: bool = False, cap: float | None = None) -> Float:
    """The default range of a target around ``value``.

    ``[value / 2, 1.5 * value]`` (kept at or below ``cap`` when the value is,
    e.g. 100 % for a utilization), or ``[value / 2, 2 * value]`` on a log
    scale for a quantity with no natural ceiling (requests per second per
    replica).

    Examples
    --------
    >>> around(60.0, cap=100.0), around(95.0, cap=100.0)
    (Float(low=30.0, high=90.0, log=False), Float(low=47.5, high=100.0, log=False))
    >>> around(100.0, log=True)
    Float(low=50.0, high=200.0, log=True)
    """
    value = float(value)
    high = 2.0 * value if log else 1.5 * value
    if cap is not None and value <= cap:
        high = min(high, cap)
    return Float(value / 2.0, high, log=log)


def seconds_range(value: float, floor: int) -> Int:
    """Whole seconds from 0 to twice ``value``, and at least to ``floor`` (windows, cooldowns).

    Examples
    --------
    >>> seconds_range(300.0, 600), seconds_range(0.0, 120)
    (Int(low=0, high=600, log=False), Int(low=0, high=120, log=False))
    """
    return Int(0, max(2 * int(value), floor))


def count_range(value: int) -> Int:
    """A count of replicas or percent (a step's adjustment, a rate limit), from half to twice
    ``value`` keeping its sign and never 0.

    Examples
    --------
    >>> count_range(4), count_range(-2), count_range(1)
    (Int(low=2, high=8, log=False), Int(low=-4, high=-1, log=False), Int(low=1, high=2, log=False))
    """
    size = abs(int(value))
    low, high = max(1, size // 2), max(2, 2 * size)
    return Int(low, high) if value > 0 else Int(-high, -low)
