"""Parameters from the ``__init__`` signature: ``get_params``, ``clone`` and ``repr``."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any, Self, cast

__all__ = ["Params", "clone"]


class Params:
    """Mixin for objects whose parameters are their ``__init__`` arguments.

    Each argument is stored, as given, in an attribute of the same name.
    ``get_params`` reads them back through the signature, ``clone`` builds a
    fresh object from them (cloning nested ``Params`` objects too, so nothing
    learned comes along) and ``repr`` shows them.
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets to build this class with when testing it against its contract.

        The conformance tests (:mod:`elastic.checks`) build one instance per
        set. The sets are built when this is called, so importing a policy
        builds nothing and imports nothing for its tests. A subclass returns
        sets that reach its different code paths; the default is one set, the
        defaults of ``__init__``, when every parameter has one, and none
        otherwise.

        Examples
        --------
        >>> from elastic.policies import TargetTracking
        >>> TargetTracking.conformance_params()[0]
        {'metric': 'cpu', 'target': 60.0}
        >>> from elastic.forecast import LastValue
        >>> LastValue.conformance_params()
        [{}]
        """
        signature = inspect.signature(cls.__init__)
        required = [
            name
            for name, parameter in signature.parameters.items()
            if name != "self"
            and parameter.default is inspect.Parameter.empty
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ]
        return [] if required else [{}]

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for name, parameter in signature.parameters.items():
            if name == "self":
                continue
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(name)
        return names

    def get_params(self) -> dict[str, Any]:
        """The parameters, by name, as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(self) -> Self:
        """A new object with the same parameters and nothing learned."""
        return cast(Self, clone(self))

    def __repr__(self) -> str:
        signature = inspect.signature(type(self).__init__)
        parts = []
        for name, value in self.get_params().items():
            default = signature.parameters[name].default
            if default is not inspect.Parameter.empty and _same(value, default):
                continue
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:
        return False


def clone(obj: Any) -> Any:
    """Rebuild ``obj`` from its parameters, recursively; other values are deep-copied.

    Examples
    --------
    >>> from elastic.policies import TargetTracking
    >>> policy = TargetTracking("cpu", 60.0)
    >>> twin = clone(policy)
    >>> twin is policy, twin.get_params() == policy.get_params()
    (False, True)
    """
    if isinstance(obj, Params):
        params = {name: clone(value) for name, value in obj.get_params().items()}
        return type(obj)(**params)
    if isinstance(obj, list | tuple) and not isinstance(obj, str):
        items = [clone(item) for item in obj]
        return type(obj)(items) if not _is_namedtuple(obj) else type(obj)(*items)
    return copy.deepcopy(obj)


def _is_namedtuple(obj: Sequence[Any]) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")
