"""Parameters by path: read or replace a value deep inside a loop, its policies and rules.

A path names a parameter as the objects hold it: attribute names (the
``__init__`` arguments of a :class:`~elastic.core.params.Params` object, or
the fields of a dataclass) separated by dots, and ``[i]`` for an item of a
list or tuple, e.g. ``policies[0].target``,
``behavior.scale_down.stabilization_window_seconds`` or ``steps[1][2]``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from elastic.core.params import Params, clone
from elastic.errors import ParameterError

__all__ = ["get_at", "parse_path", "with_params"]

_TOKEN = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")

Step = str | int


def parse_path(path: str) -> tuple[Step, ...]:
    """The steps of ``path``: names and indices.

    Examples
    --------
    >>> parse_path("policies[0].steps[1][2]")
    ('policies', 0, 'steps', 1, 2)
    >>> parse_path("policies[x]")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: parameter path='policies[x]' is invalid; expected names ...
    """
    steps: list[Step] = []
    at = 0
    text = path if isinstance(path, str) else ""
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or (match.group(0).startswith(".") and not steps):
            break
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        at = match.end()
    if not text or at != len(text) or not isinstance(steps[0], str):
        raise ParameterError(
            "parameter path", path,
            "names separated by dots with [i] for items, such as policies[0].target",
        )  # fmt: skip
    return tuple(steps)


def _children(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, Params):
        return obj.get_params()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.init}
    return None


def _missing(path: str, where: str, obj: Any, step: Step) -> ParameterError:
    children = _children(obj)
    if isinstance(step, int):
        size = len(obj) if isinstance(obj, list | tuple) else None
        expected = (
            f"an index below {size} after {where!r}"
            if size is not None
            else f"no index after {where!r} (not a list: {obj!r})"
        )
    elif children is not None:
        expected = (
            f"one of {', '.join(children)} after {where!r}"
            if where
            else (f"one of {', '.join(children)} first")
        )
    else:
        expected = f"nothing after {where!r}: it is a value ({obj!r})"
    return ParameterError("parameter path", path, expected)


def get_at(obj: Any, path: str) -> Any:
    """The value at ``path`` in ``obj``.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop([TargetTracking("cpu", 60.0)], min_replicas=1, max_replicas=9)
    >>> get_at(loop, "policies[0].target"), get_at(loop, "max_replicas")
    (60.0, 9)
    """
    value = obj
    done = ""
    for step in parse_path(path):
        value = _step(value, step, path, done)
        done += f"[{step}]" if isinstance(step, int) else (f".{step}" if done else step)
    return value


def _step(obj: Any, step: Step, path: str, done: str) -> Any:
    if isinstance(step, int):
        if isinstance(obj, list | tuple) and step < len(obj):
            return obj[step]
        raise _missing(path, done, obj, step)
    children = _children(obj)
    if children is None or step not in children:
        raise _missing(path, done, obj, step)
    return children[step]


def _replace(obj: Any, steps: tuple[Step, ...], value: Any, path: str, done: str) -> Any:
    if not steps:
        return value
    step, rest = steps[0], steps[1:]
    child = _step(obj, step, path, done)
    done += f"[{step}]" if isinstance(step, int) else (f".{step}" if done else step)
    new = _replace(child, rest, value, path, done)
    if isinstance(step, int):
        items = [clone(item) for item in obj]
        items[step] = new
        return type(obj)(items) if not hasattr(obj, "_fields") else type(obj)(*items)
    if isinstance(obj, Params):
        params = {k: clone(v) for k, v in obj.get_params().items()}
        params[step] = new
        return type(obj)(**params)
    return dataclasses.replace(obj, **{step: new})


def with_params(obj: Any, params: Mapping[str, Any]) -> Any:
    """A new ``obj`` (nothing learned) with the value at each path of ``params`` replaced.

    Each object on the way is rebuilt through its ``__init__`` (or
    ``dataclasses.replace``), so its own checks judge the new value.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop([TargetTracking("cpu", 60.0)], min_replicas=1, max_replicas=9)
    >>> with_params(loop, {"policies[0].target": 45.0, "warmup": 120})
    DecisionLoop(policies=[TargetTracking(metric='cpu', target=45.0)], min_replicas=1, max_replicas=9, warmup=120)
    >>> with_params(loop, {"policies[0].goal": 45.0})
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: parameter path='policies[0].goal' is invalid; expected one of metric, target, kind, tolerance, scale_in_margin, disable_scale_in after 'policies[0]'
    """  # noqa: E501
    out = clone(obj)
    for path, value in params.items():
        out = _replace(out, parse_path(path), value, path, "")
    return out
