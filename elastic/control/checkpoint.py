"""Restart-safe loop state: a decision loop's learned state as bytes, and a file to keep them in.

A :class:`~elastic.DecisionLoop` remembers what its next decisions depend on:
the recommendations of its stabilization windows, the scale events of its
rate limits, its cooldown and warm-up clocks, and whatever its policies
learned (a forecaster's model, a step policy's alarm streak, the loop a
KEDA ScaledObject runs its HPA in). :func:`snapshot` turns all of it into
bytes and :func:`restore` puts it back into a loop built with the same
parameters, so that a controller that restarts makes the decisions one
that never stopped would have made. The upstream Kubernetes HPA keeps this
only in memory: a restarted ``kube-controller-manager`` forgets its
stabilization windows and scale events.

What is saved is, for the loop and, recursively, for every policy or
forecaster among its parameters and every one its learned state holds
(``ScaledObject.hpa_loop_``, ``Predictive.model_``), each attribute whose name
ends with ``_`` and does not start with ``_`` (the learned state of the
project's convention), plus the fitted model object of an
:class:`~elastic.forecast.External` forecaster (a model with ``fit`` and
``predict`` keeps what it learned in itself). Parameters are not saved:
they are the code or the manifest the controller is started from. A
description of them is, with its sha256 fingerprint, so that restoring into
a loop built otherwise fails and names the parameters that differ.

The bytes are a small versioned envelope (a header, the format version, the
length and sha256 of the payload) around a pickle of that state: floats and
numpy arrays come back bit for bit. Unpickling calls what the pickle names,
so :func:`restore` unpickles with a list of what a loop's state may hold
(elastic's classes, numpy's arrays, plain values, the classes of the
modules the restored loop's own objects come from): a checkpoint naming
anything else is refused before anything is built. A checkpoint is still
the controller's own file, kept where only it can write. A damaged,
truncated, empty or foreign file, or one of another format version, is a
:class:`~elastic.errors.CheckpointError` that says which, never a traceback
from pickle.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import errno
import hashlib
import importlib
import inspect
import io
import json
import os
import pickle
import re
import stat
import struct
import sys
import tempfile
import types
import weakref
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from elastic.core.loop import DecisionLoop
from elastic.core.params import Params
from elastic.core.protocols import Forecaster, Policy
from elastic.errors import CheckpointError, ParameterError
from elastic.forecast.adapter import External

if sys.platform != "win32":
    import fcntl

__all__ = ["FORMAT_VERSION", "Checkpoint", "FileCheckpoint", "Snapshotter", "restore", "snapshot"]

#: The version of the checkpoint format this module writes and reads.
FORMAT_VERSION = 1

_MAGIC = b"elastic checkpoint\n"
_HEADER = struct.Struct(">HQ32s")  # format version, payload length, sha256 of the payload
_ROOT = "loop"
_SHOWN = 5  # differences named in an error before "and N more"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


# --- the objects that learn, and what they learned ------------------------------------------------


def _learns(value: Any) -> bool:
    """Whether ``value`` is an object that may learn: a Params object, a policy, a forecaster."""
    return isinstance(value, Params) or (
        not isinstance(value, type) and _learning_type(type(value))
    )


def _learning_type(kind: type[object]) -> bool:
    # by class, once: the protocols' isinstance checks are slow, and a snapshot asks often
    learns = _LEARNING_TYPES.get(kind)
    if learns is None:
        learns = _LEARNING_TYPES[kind] = issubclass(kind, Policy | Forecaster)
    return learns


_LEARNING_TYPES: dict[type[object], bool] = {}


def _parameters(obj: Any) -> dict[str, Any]:
    """The ``__init__`` arguments of ``obj``, as stored (``get_params`` for a Params object)."""
    kind: type[object] = type(obj)
    return {name: getattr(obj, name) for name in _parameter_names(kind) if hasattr(obj, name)}


def _parameter_names(kind: type[object]) -> tuple[str, ...]:
    # by class, once: reading a signature costs more than the rest of a snapshot
    names = _PARAMETER_NAMES.get(kind)
    if names is None:
        if issubclass(kind, Params):
            names = tuple(kind._param_names())
        else:
            names = tuple(
                name
                for name, parameter in inspect.signature(kind.__init__).parameters.items()
                if name != "self"
                and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
            )
        _PARAMETER_NAMES[kind] = names
    return names


_PARAMETER_NAMES: dict[type[object], tuple[str, ...]] = {}


def _learned(obj: Any) -> dict[str, Any]:
    """The attributes of ``obj`` named ``x_`` (not ``_x``), by name in sorted order."""
    kind: type[object] = type(obj)
    names = [*getattr(obj, "__dict__", ()), *_slots(kind)]
    return {
        name: getattr(obj, name)
        for name in sorted(set(names))
        if name.endswith("_") and not name.startswith("_") and hasattr(obj, name)
    }


def _slots(kind: type[object]) -> tuple[str, ...]:
    names = _SLOTS.get(kind)
    if names is None:
        found: list[str] = []
        for cls in kind.__mro__:
            slots = vars(cls).get("__slots__", ())
            found.extend([slots] if isinstance(slots, str) else slots)
        names = _SLOTS[kind] = tuple(found)
    return names


_SLOTS: dict[type[object], tuple[str, ...]] = {}


def _state(obj: Any) -> dict[str, Any]:
    """What ``obj`` learned, but for the learning objects it holds (saved on their own)."""
    state = {name: value for name, value in _learned(obj).items() if not _learns(value)}
    # an External's model with fit() and predict() is refitted in learn_one: it learns too
    if isinstance(obj, External) and obj._has_fit():
        state["model"] = obj.model
    return state


def _join(path: str, name: str) -> str:
    return f"{path}.{name}"


def _type_name(value: Any) -> str:
    kind = value if isinstance(value, type) else type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _walk(
    loop: DecisionLoop, describe: bool = True, inert: dict[int, Any] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The learning objects of ``loop`` and the description of its parameters, by path.

    The objects: every policy or forecaster among the parameters,
    recursively, and every one held in learned state
    (``"loop.policies[0].model_"``), in a fixed order; an object reached twice
    (the HPA that a ScaledObject's ``hpa_loop_`` runs is its ``hpa`` too) is
    listed once, at its first path. The description: ``path -> text`` for
    every parameter, recursively, the same in any process (no memory
    address in it), so that the same code describes the same loop after a
    restart. What learned objects are built from is their owner's parameters:
    it is not described twice.

    ``inert`` (when not describing) is the containers among the parameters
    that the last walk found to hold no learning object, by ``id``: they are
    not entered again (parameters do not change), and it is replaced by this
    walk's. It holds the containers themselves, so no ``id`` in it is reused.
    """
    nodes: dict[str, Any] = {}
    described: dict[str, str] = {}
    seen: dict[int, str] = {}
    skip: dict[int, Any] = {} if inert is None else inert
    found: dict[int, Any] = {}  # this walk's inert containers
    met = 0  # learning objects met so far, listed or not

    def visit(value: Any, path: str, describe: bool) -> None:
        nonlocal met
        if _learns(value):
            met += 1
            if id(value) in seen:
                if describe:
                    described[path] = f"the same object as {seen[id(value)]}"
                return
            seen[id(value)] = path
            nodes[path] = value
            if describe:
                described[path] = _type_name(value)
            for name, parameter in _parameters(value).items():
                visit(parameter, _join(path, name), describe)
            for name, learned in _learned(value).items():
                if _learns(learned):
                    visit(learned, _join(path, name), False)
            return
        if id(value) in skip:
            found[id(value)] = value
            return
        before = met
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if describe:
                described[path] = _type_name(value)
            for item in dataclasses.fields(value):
                visit(getattr(value, item.name), _join(path, item.name), describe)
        elif isinstance(value, list | tuple) and not hasattr(value, "_fields"):
            if describe:
                described[path] = f"{type(value).__name__} of {len(value)}"
            for i, item in enumerate(value):
                visit(item, f"{path}[{i}]", describe)
        elif isinstance(value, Mapping):
            if describe:
                described[path] = f"{type(value).__name__} of {len(value)}"
            for key, item in value.items():
                visit(item, f"{path}[{key!r}]", describe)
        else:
            if describe:
                described[path] = _text(value)
            return
        if inert is not None and not describe and met == before:
            found[id(value)] = value

    visit(loop, _ROOT, describe)
    if inert is not None:
        inert.clear()
        inert.update(found)
    return nodes, described


def _text(value: Any) -> str:
    """A value as text that does not change from one process to the next."""
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return f"array of {value.dtype} {value.shape} sha256 {digest}"
    if isinstance(value, type):
        return f"<class {_type_name(value)}>"
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType | types.MethodType):
        return f"<function {value.__module__}.{value.__qualname__}>"
    if next(c for c in type(value).__mro__ if "__repr__" in vars(c)) is object:
        return f"<{_type_name(value)} object>"
    return _ADDRESS.sub("", repr(value))


def _fingerprint(description: Mapping[str, str]) -> str:
    text = json.dumps(list(description.items()), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _mismatch(saved: Mapping[str, str], here: Mapping[str, str]) -> str:
    """The parameters that differ between the checkpoint's loop and this one, in words."""
    differences = []
    for path in [*saved, *(path for path in here if path not in saved)]:
        before, after = saved.get(path), here.get(path)
        if before == after:
            continue
        if before is None:
            differences.append(f"{path} is {after} in this loop and absent from the checkpoint")
        elif after is None:
            differences.append(f"{path} is {before} in the checkpoint and absent from this loop")
        else:
            differences.append(f"{path} is {before} in the checkpoint and {after} in this loop")
    more = len(differences) - _SHOWN
    shown = "; ".join(differences[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return (
        f"the checkpoint was written by a loop with other parameters: {shown}; restore it "
        "into a loop built with the parameters it was written with, or start without it"
    )


# --- the envelope ---------------------------------------------------------------------------------


def _envelope(payload: bytes) -> bytes:
    digest = hashlib.sha256(payload).digest()
    return _MAGIC + _HEADER.pack(FORMAT_VERSION, len(payload), digest) + payload


def _unwrap(data: bytes, where: str) -> bytes:
    """The payload inside an envelope, its framing and sha256 checked (not unpickled)."""

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"{where}{problem}")

    if not data:
        raise fail("the checkpoint is empty (0 bytes); it was never written completely")
    if not data.startswith(_MAGIC):
        if _MAGIC.startswith(data):
            raise fail(f"the checkpoint is truncated: {len(data)} bytes, within its header")
        raise fail(f"not an elastic checkpoint: it starts with {data[:16]!r}, not {_MAGIC!r}")
    head = data[len(_MAGIC) :]
    if len(head) < 2:
        raise fail(f"the checkpoint is truncated: {len(data)} bytes, within its header")
    (version,) = struct.unpack_from(">H", head)
    if version != FORMAT_VERSION:
        raise fail(
            f"the checkpoint has format version {version}; this elastic reads version "
            f"{FORMAT_VERSION} only"
        )
    if len(head) < _HEADER.size:
        raise fail(f"the checkpoint is truncated: {len(data)} bytes, within its header")
    _, length, digest = _HEADER.unpack_from(head)
    payload = head[_HEADER.size :]
    if len(payload) != length:
        whole = len(_MAGIC) + _HEADER.size + length
        raise fail(
            f"the checkpoint is {'truncated' if len(payload) < length else 'too long'}: "
            f"{len(data)} bytes where its header says {whole}"
        )
    if hashlib.sha256(payload).digest() != digest:
        raise fail("the checkpoint is damaged: its payload does not match its sha256")
    return payload


def _open(data: Any, where: str, trusted: frozenset[str]) -> dict[str, Any]:
    """The payload of checkpoint bytes, checked; a CheckpointError says what is wrong.

    It is unpickled by :class:`_Unpickler`, trusting the classes of the modules
    in ``trusted`` beyond what any loop's state may hold.
    """

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"{where}{problem}")

    if not isinstance(data, bytes | bytearray | memoryview):
        raise fail(f"expected the bytes of a checkpoint, got a {type(data).__name__}")
    payload = _unwrap(bytes(data), where)
    try:
        content = _Unpickler(io.BytesIO(payload), trusted).load()
    except _Refused as refused:
        raise fail(
            f"the checkpoint was refused: it names {refused.name}, which a loop's state does not "
            "hold (elastic's classes, numpy's arrays, the standard library's values and the "
            "classes of this loop's own objects); was it written by a loop with other "
            "parameters, or by something other than this controller?"
        ) from None
    except Exception as error:  # a class that moved, a module that is gone
        raise fail(
            f"the checkpoint cannot be read by this elastic: {type(error).__name__}: {error}"
        ) from None
    keys = {"fingerprint", "params", "types", "state"}
    if not isinstance(content, dict) or set(content) != keys:
        raise fail(f"the checkpoint's payload is not a loop's state (expected the keys {keys})")
    return content


# --- what a checkpoint may build ------------------------------------------------------------------

# Unpickling calls what the pickle names: a checkpoint may name only what a loop's state holds.
# The builtins of values (never eval, exec, getattr, __import__, compile, open, type, ...).
_BUILTINS = frozenset(
    {
        "bool", "int", "float", "complex", "str", "bytes", "bytearray", "list", "tuple", "dict",
        "set", "frozenset", "range", "slice", "object", "Ellipsis", "NotImplemented",
    }
)  # fmt: skip
# numpy's array, scalar and dtype reconstruction (numpy 2 and numpy 1 names); not numpy's other
# classes: np.memmap creates the file it is given
_NUMPY = frozenset(
    {("numpy", "ndarray"), ("numpy", "dtype")}
    | {
        (f"numpy.{core}.{module}", name)
        for core in ("_core", "core")
        for module, name in [
            ("multiarray", "_reconstruct"),
            ("multiarray", "scalar"),
            ("numeric", "_frombuffer"),
        ]
    }
)
# the standard library's values: their classes only
_STANDARD = frozenset({"collections", "datetime", "zoneinfo", "decimal", "fractions", "enum"})
# elastic's packages whose classes act on the world when built (DecisionLog opens its file): not
# trusted unless the loop holds one; elastic.__main__ runs the command line when imported
_ACTING = ("elastic.control", "elastic.testing", "elastic.cli", "elastic.__main__")
# where a trusted module is not: the standard library (but _STANDARD) and numpy (but _NUMPY)
_UNTRUSTED = frozenset(sys.stdlib_module_names) | {"numpy"}


class _Refused(pickle.UnpicklingError):
    """A checkpoint named ``name`` (module.name), which a loop's state does not hold."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Unpickler(pickle.Unpickler):
    """An unpickler that builds only what a loop's state holds; anything else is refused.

    It finds, and may import, only: a safe subset of the builtins (``_BUILTINS``),
    numpy's array reconstruction (``_NUMPY``), and the classes (never a
    function) defined in elastic's modules (but ``_ACTING``), in the standard
    library's modules of values (``_STANDARD``) and in ``trusted``, the modules
    of the restored loop's own objects (a user's model), which are imported
    already. ``getattr`` is refused but for the one use a value needs:
    ``ZoneInfo._unpickle``.
    """

    def __init__(self, file: io.BytesIO, trusted: frozenset[str]) -> None:
        super().__init__(file)
        self.trusted = trusted

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            if name == "getattr":
                return _zone_getattr
            if name in _BUILTINS:
                return super().find_class(module, name)
        elif (module, name) in _NUMPY:
            return super().find_class(module, name)
        elif _elastic(module) or module in _STANDARD:
            return self._class(module, name, importlib.import_module)
        elif module in self.trusted:
            return self._class(module, name, sys.modules.__getitem__)
        raise _Refused(f"{module}.{name}")

    def _class(self, module: str, name: str, find: Callable[[str], types.ModuleType]) -> Any:
        """The class ``name`` defined in ``module`` (not one it imports, not a function)."""
        try:
            found: Any = find(module)
            for part in name.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError, KeyError):
            return super().find_class(module, name)  # a class that moved: its own error
        if not (
            isinstance(found, type) and found.__module__ == module and found.__qualname__ == name
        ):
            raise _Refused(f"{module}.{name}")
        return found


def _elastic(module: str) -> bool:
    return (module == "elastic" or module.startswith("elastic.")) and not any(
        module == acting or module.startswith(f"{acting}.") for acting in _ACTING
    )


def _zone_getattr(*arguments: Any) -> Any:
    # pickle names ZoneInfo._unpickle as getattr(ZoneInfo, "_unpickle"): nothing else
    if arguments == (zoneinfo.ZoneInfo, "_unpickle"):
        return zoneinfo.ZoneInfo._unpickle  # type: ignore[attr-defined]
    raise _Refused("builtins.getattr")


def _modules(objects: Iterable[Any]) -> frozenset[str]:
    """The modules of the classes of ``objects`` and of everything they hold, walked.

    A loop's learning objects hold their parameters and learned state (an
    External forecaster its user's model): a checkpoint of this loop may
    hold the classes of these modules. The standard library and numpy are
    left out: what a loop's state needs of them is listed above.
    """
    found: set[str] = set()
    seen: set[int] = set()
    stack = list(objects)
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        kind: type[object] = value if isinstance(value, type) else type(value)
        module = getattr(kind, "__module__", None)
        if isinstance(module, str) and module.partition(".")[0] not in _UNTRUSTED:
            found.add(module)
        if isinstance(value, _LEAVES):
            continue
        if isinstance(value, Mapping):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset | collections.deque):
            stack.extend(value)
        else:
            stack.extend(getattr(value, "__dict__", {}).values())
            stack.extend(getattr(value, name) for name in _slots(kind) if hasattr(value, name))
    return frozenset(found)


# values not entered by _modules: what they hold is no object of the loop's
_LEAVES = (
    type, str, bytes, bytearray, int, float, complex, np.ndarray, np.generic,
    types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
)  # fmt: skip


# --- snapshot and restore -------------------------------------------------------------------------


def _check_loop(loop: Any, owner: str) -> DecisionLoop:
    if not isinstance(loop, DecisionLoop):
        raise ParameterError("loop", loop, "a DecisionLoop", owner=owner)
    return loop


def snapshot(loop: DecisionLoop) -> bytes:
    """The learned state of ``loop`` as checkpoint bytes, for :func:`restore`.

    The loop is only read. Take the snapshot after a step (after
    :meth:`~elastic.DecisionLoop.acknowledge`), as a controller does.

    Examples
    --------
    >>> from elastic import DecisionLoop, Observation
    >>> from elastic.policies import TargetTracking
    >>> def build():
    ...     return DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20,
    ...                         cooldown=300.0)
    >>> loop = build()
    >>> loop.step(Observation(0.0, 2, {"cpu": 100.0})).replicas
    4
    >>> data = snapshot(loop)
    >>> restarted = build()        # the controller restarts, with the same parameters
    >>> restore(restarted, data)
    >>> obs = Observation(15.0, 4, {"cpu": 100.0})
    >>> d = restarted.step(obs)    # it remembers the scale-out at 0 s and its cooldown
    >>> d.replicas, d.reason
    (4, <Reason.COOLDOWN: 'cooldown'>)
    >>> d = build().step(obs)      # a loop without the checkpoint would scale out again
    >>> d.replicas, d.reason
    (8, <Reason.TARGET_TRACKING: 'target_tracking'>)
    """
    return Snapshotter(loop)()


class Snapshotter:
    """Snapshots of one loop, its parameters described once.

    A loop's parameters do not change (the policy contract: they are stored
    as given), so their description and fingerprint are computed once; each
    call then only walks and pickles the learned state. A controller takes
    its snapshots through one of these.
    """

    def __init__(self, loop: DecisionLoop) -> None:
        self.loop = _check_loop(loop, "snapshot")
        _, self.description = _walk(self.loop)
        self.fingerprint = _fingerprint(self.description)
        self._inert: dict[int, Any] = {}  # parameter containers with no learning object inside

    def __call__(self) -> bytes:
        """The learned state of the loop as checkpoint bytes, for :func:`restore`."""
        nodes, _ = _walk(self.loop, describe=False, inert=self._inert)
        content = {
            "fingerprint": self.fingerprint,
            "params": self.description,
            "types": {path: _type_name(obj) for path, obj in nodes.items()},
            "state": {path: _state(obj) for path, obj in nodes.items()},
        }
        try:
            payload = pickle.dumps(content, protocol=5)
        except Exception as error:
            raise CheckpointError(
                f"the loop's state cannot be pickled: {type(error).__name__}: {error}"
            ) from None
        return _envelope(payload)


def restore(loop: DecisionLoop, data: bytes, *, source: str | None = None) -> None:
    """Put the state in ``data`` (from :func:`snapshot`) into ``loop``, replacing its own.

    ``loop`` must be built with the parameters of the loop that wrote
    ``data``; its learned state is then that loop's, and it decides as that
    loop would have. Everything is checked before anything is changed: on a
    :class:`~elastic.errors.CheckpointError` the loop is left as it was.

    Parameters
    ----------
    loop
        A loop built as the one that wrote ``data`` was.
    data
        The checkpoint's bytes.
    source
        Where the bytes came from (a file name), for the error messages.

    Raises
    ------
    CheckpointError
        ``data`` is empty, damaged, truncated, not a checkpoint or of another
        format version, was written by a loop with other parameters (the
        message names them) or another structure of learned state, or names
        something a loop's state does not hold (refused unbuilt: the message
        names it as ``module.name``).

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> data = snapshot(DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20))
    >>> restore(DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=20), data)
    Traceback (most recent call last):
    ...
    elastic.errors.CheckpointError: the checkpoint was written by a loop with other parameters:
    loop.policies.target is 50.0 in the checkpoint and 60.0 in this loop; restore it into a loop
    built with the parameters it was written with, or start without it
    >>> restore(DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
    ...         data[:-3], source="/var/lib/web.ckpt")
    Traceback (most recent call last):
    ...
    elastic.errors.CheckpointError: /var/lib/web.ckpt: the checkpoint is truncated: ...
    """
    where = f"{source}: " if source else ""
    loop = _check_loop(loop, "restore")
    nodes, description = _walk(loop)
    content = _open(data, where, _modules(nodes.values()))
    if content["fingerprint"] != _fingerprint(description):
        raise CheckpointError(where + _mismatch(content["params"], description))
    kinds = {path: _type_name(obj) for path, obj in nodes.items()}
    if content["types"] != kinds:
        raise CheckpointError(where + _structure(content["types"], kinds))
    changes: list[tuple[Any, str, Any]] = []
    for path, state in content["state"].items():
        obj = nodes[path]
        names, expected = set(state), set(_state(obj))
        if names != expected:
            extra, lacking = sorted(names - expected), sorted(expected - names)
            raise CheckpointError(
                f"{where}the checkpoint holds other state for {path} ({_type_name(obj)}) than "
                f"this loop has: {_listed('only in the checkpoint', extra, path)}"
                f"{'; ' if extra and lacking else ''}{_listed('only here', lacking, path)}; "
                "was it written by another version of elastic?"
            )
        changes.extend((obj, name, value) for name, value in state.items())
    for obj, name, value in changes:
        setattr(obj, name, value)


def _listed(what: str, names: list[str], path: str) -> str:
    return f"{what}: {', '.join(_join(path, name) for name in names)}" if names else ""


def _structure(saved: Mapping[str, str], here: Mapping[str, str]) -> str:
    """How the learning objects of the checkpoint's loop and this one differ, in words."""
    differences = [
        f"{path} is {saved.get(path, 'absent')} in the checkpoint and "
        f"{here.get(path, 'absent')} in this loop"
        for path in [*saved, *(path for path in here if path not in saved)]
        if saved.get(path) != here.get(path)
    ]
    more = len(differences) - _SHOWN
    shown = "; ".join(differences[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return f"the checkpoint was written by a loop whose learning objects differ: {shown}"


# --- where checkpoints are kept -------------------------------------------------------------------


@runtime_checkable
class Checkpoint(Protocol):
    """Where a controller keeps its loop's checkpoint: a file, or any store you plug in.

    ``save`` replaces the checkpoint with ``data`` all at once (a crash
    leaves the old one or the new one, never a mix); ``load`` returns the
    last one saved, or ``None`` when there is none yet.

    Examples
    --------
    >>> class InMemory:
    ...     def __init__(self):
    ...         self.data = None
    ...     def save(self, data):
    ...         self.data = bytes(data)
    ...     def load(self):
    ...         return self.data
    >>> isinstance(InMemory(), Checkpoint), isinstance(FileCheckpoint("web.ckpt"), Checkpoint)
    (True, True)
    """

    def save(self, data: bytes) -> None:
        """Replace the checkpoint with ``data``, atomically."""
        ...

    def load(self) -> bytes | None:
        """The last checkpoint saved, or ``None`` if there is none."""
        ...


class FileCheckpoint:
    """A checkpoint in two files written in turn, each in place: a crash leaves the last whole.

    The checkpoint is kept in two slots, ``path`` and ``path`` + ``".1"``
    (``web.ckpt`` and ``web.ckpt.1``): :meth:`save` overwrites the slot that
    does not hold the newest checkpoint, in place, and :meth:`load` returns
    the newest slot that is whole. Each slot starts with a small header (a
    magic, its format version, a generation that every save increases, the
    length of the data and the sha256 of the generation and the data), so
    that a slot a crash or a power cut left half written is recognised and
    passed over: the other one, the previous checkpoint, is then chosen. A
    slot file is created whole once (a temporary file renamed into place) and
    overwritten in place after that: on ext4 a rename over an existing file
    or a truncation to zero flushes the data at once, several times the cost
    of the write itself (``benchmarks/bench_controller.py``). The files are
    created readable by their owner only; keep both.

    A checkpoint has one user: the first :meth:`save` or :meth:`load` takes
    an exclusive lock (``flock``) on a third file, ``path`` + ``".lock"``,
    and writes its process id in it; the lock is held until :meth:`close`,
    the end of a ``with`` block, or the object's collection, and the system
    drops it when the process ends, even killed. Another ``FileCheckpoint``
    on the same path, in this process or another, is then refused with a
    :class:`~elastic.errors.CheckpointError` naming the holder's process
    id. Closed, an object takes the lock again at its next use (and reads
    the slots again). A slot file that another user owns, or that its group
    or others may write, is refused too: a checkpoint is unpickled when it
    is restored. Both checks are POSIX only: on Windows there is no lock and
    no owner check (one controller per checkpoint is then yours to ensure;
    keep the files in a directory only its user may write).

    A file written by elastic before the slots (the checkpoint alone at
    ``path``) is read as the oldest generation: the next save goes to the
    other slot, and the one after it overwrites the old file.

    Parameters
    ----------
    path
        The first slot; the second is beside it, named ``path`` + ``".1"``.
        Their directory must exist.
    durable
        fsync the slot after each save (the default), and the directory when
        a slot file is created: the checkpoint survives a power cut or a
        kernel crash. ``False`` leaves the data in the page cache: it
        survives the controller's own crash or SIGKILL, at a fraction of the
        cost of a save (``benchmarks/bench_controller.py``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from elastic import DecisionLoop, Observation
    >>> from elastic.policies import TargetTracking
    >>> def build():
    ...     return DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20)
    >>> loop = build()
    >>> _ = loop.step(Observation(0.0, 2, {"cpu": 100.0}))
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     with FileCheckpoint(pathlib.Path(directory) / "web.ckpt") as store:
    ...         print(store.load())          # nothing saved yet
    ...         store.save(snapshot(loop))   # after each step
    ...     with FileCheckpoint(pathlib.Path(directory) / "web.ckpt") as store:  # restarted
    ...         restarted = build()
    ...         restore(restarted, store.load(), source=str(store.path))
    ...     print(sorted(p.name for p in pathlib.Path(directory).iterdir()))
    None
    ['web.ckpt', 'web.ckpt.lock']
    >>> restarted.up_events_ == loop.up_events_
    True
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        if not isinstance(path, str | os.PathLike) or not os.fspath(path):
            raise ParameterError("path", path, "a file name", owner="FileCheckpoint")
        if not isinstance(durable, bool):
            raise ParameterError("durable", durable, "True or False", owner="FileCheckpoint")
        self.path = Path(path)
        #: the two slots: ``path`` and ``path`` + ``".1"``
        self.paths = (self.path, Path(f"{self.path}.1"))
        self.durable = durable
        self._scanned = False  # whether the slots were read (then _newest is known)
        self._newest: tuple[int, int] | None = None  # (slot, generation) of the newest whole one
        self._sizes: list[int | None] = [None, None]  # each slot file's size, when known
        #: the lock file beside the slots: ``path`` + ``".lock"``
        self.lock_path = Path(f"{self.path}.lock")
        self._release: weakref.finalize[[int], FileCheckpoint] | None = None  # closes the held lock

    def __repr__(self) -> str:
        durable = "" if self.durable else ", durable=False"
        return f"FileCheckpoint({str(self.path)!r}{durable})"

    def save(self, data: bytes) -> None:
        """Write ``data`` over the older slot, in place (see the class)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ParameterError("data", data, "bytes", owner="FileCheckpoint.save")
        self._hold()
        if not self._scanned:
            self._scan()
        newest = self._newest
        slot, generation = (0, 1) if newest is None else (1 - newest[0], newest[1] + 1)
        try:
            self._write(slot, _slot_frame(generation, bytes(data)))
        except OSError as error:
            raise self._error("cannot write", error, self.paths[slot]) from None
        self._newest = (slot, generation)

    def load(self) -> bytes | None:
        """The newest whole checkpoint, or ``None`` if neither slot file exists.

        Raises
        ------
        CheckpointError
            A slot file exists but none is whole (the message says what is
            wrong with each), a file cannot be read, a slot file is another
            user's or may be written by others, or the checkpoint is in use
            by another ``FileCheckpoint``.
        """
        self._hold()
        self._clean()
        found = self._scan()
        if self._newest is not None:
            newest = found[self._newest[0]]
            assert isinstance(newest, tuple)
            return newest[1]
        if all(read is None for read in found):
            return None
        why = "; ".join(
            f"{path}: {read or 'absent'}" for path, read in zip(self.paths, found, strict=True)
        )
        raise CheckpointError(f"{self.path}: no whole checkpoint in either slot: {why}")

    def _scan(self) -> list[tuple[int, bytes] | str | None]:
        """Each slot's generation and data, or why it is not whole, or None when absent."""
        found: list[tuple[int, bytes] | str | None] = []
        for slot, path in enumerate(self.paths):
            try:
                with path.open("rb") as file:
                    data = file.read()
                    owner = os.fstat(file.fileno())  # of the file read, not of one put there since
            except FileNotFoundError:
                found.append(None)
                continue
            except OSError as error:
                raise self._error("cannot read", error, path) from None
            _check_own(path, owner)
            self._sizes[slot] = len(data)
            try:
                found.append(_read_slot(data))
            except CheckpointError as error:
                found.append(str(error))
        whole = [(read[0], slot) for slot, read in enumerate(found) if isinstance(read, tuple)]
        self._newest = max(whole)[::-1] if whole else None
        self._scanned = True
        return found

    def _write(self, slot: int, frame: bytes) -> None:
        """Write ``frame`` over the slot file in place, or create it whole if there is none."""
        path = self.paths[slot]
        try:
            fd = os.open(path, os.O_WRONLY | _BINARY)
        except FileNotFoundError:
            self._create(path, frame)
            self._sizes[slot] = len(frame)
            return
        size, self._sizes[slot] = self._sizes[slot], None  # unknown if this write fails
        try:
            _write_all(fd, frame)
            if size is None:
                size = os.fstat(fd).st_size
            if size > len(frame):
                # to the length, never to 0 first: ext4 flushes a file truncated to 0 on close
                os.ftruncate(fd, len(frame))
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        self._sizes[slot] = len(frame)

    def _create(self, path: Path, frame: bytes) -> None:
        """Create a slot file whole: a crash while it is written leaves no file, not half of one."""
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            try:
                _write_all(fd, frame)
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        if self.durable:
            _sync_directory(path.parent)

    def _clean(self) -> None:
        """Remove the temporary files of slot creations that a crash interrupted."""
        prefix = f".{self.path.name}."
        try:
            leftovers = [
                entry
                for entry in self.path.parent.iterdir()
                if entry.name.startswith(prefix) and entry.name.endswith(".tmp")
            ]
        except OSError:
            return  # load() says what is wrong with the directory
        for entry in leftovers:
            try:
                entry.unlink(missing_ok=True)
            except OSError as error:
                raise self._error("cannot remove the unfinished save", error, entry) from None

    def close(self) -> None:
        """Release the checkpoint's lock (see the class); a later save or load takes it again."""
        if self._release is not None:
            self._release()
            self._release = None

    def __enter__(self) -> FileCheckpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _hold(self) -> None:
        """Take the lock beside the slots, unless this object holds it; CheckpointError if
        another holds it (this process's or another's)."""
        if self._release is not None or sys.platform == "win32":
            return
        lock = self.lock_path
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as error:
            raise self._error("cannot lock", error, lock) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                written = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                # the holder writes its pid just after it takes the lock: it may not be there yet
                holder = f"process {written}" if written.isdigit() else "another process"
                raise CheckpointError(
                    f"{self.path}: the checkpoint is in use by {holder} (which holds the lock "
                    f"{lock}); one controller per checkpoint: stop the other one, or give this "
                    "one another file"
                ) from None
            pid = f"{os.getpid()}\n".encode()
            os.pwrite(fd, pid, 0)
            os.ftruncate(fd, len(pid))  # never to 0 first (see _write)
        except OSError as error:
            os.close(fd)
            raise self._error("cannot lock", error, lock) from None
        except BaseException:
            os.close(fd)
            raise
        self._release = weakref.finalize(self, os.close, fd)
        self._scanned = False  # another may have saved while this one did not hold the lock

    def _error(self, what: str, error: OSError, path: Path | None = None) -> CheckpointError:
        reason = error.strerror or str(error)
        return CheckpointError(f"{path or self.path}: {what} the checkpoint: {reason}")


_SLOT_MAGIC = b"elastic checkpoint slot\n"
_SLOT_VERSION = 1
# the slot's format version, its generation, the data's length, sha256(generation, data)
_SLOT = struct.Struct(">HQQ32s")
_GENERATION = struct.Struct(">Q")
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def _slot_digest(generation: int, data: bytes) -> bytes:
    digest = hashlib.sha256(_GENERATION.pack(generation))
    digest.update(data)
    return digest.digest()


def _slot_frame(generation: int, data: bytes) -> bytes:
    """A slot file's bytes: the header, then ``data``."""
    header = _SLOT.pack(_SLOT_VERSION, generation, len(data), _slot_digest(generation, data))
    return _SLOT_MAGIC + header + data


def _read_slot(data: bytes) -> tuple[int, bytes]:
    """The generation and data of a slot file's bytes; a CheckpointError says why they are not.

    A checkpoint file of the format before the slots (an envelope alone) is
    generation 0. Bytes past the data's length are ignored: a save that
    shortened the slot may have stopped before cutting them off.
    """
    if data.startswith(_MAGIC):  # written by elastic before the slots
        _unwrap(data, "a checkpoint of the format without slots: ")
        return 0, data
    if not data:
        raise CheckpointError("empty (0 bytes)")
    if not data.startswith(_SLOT_MAGIC):
        if _SLOT_MAGIC.startswith(data):
            raise CheckpointError(f"truncated: {len(data)} bytes, within its header")
        raise CheckpointError(
            f"not an elastic checkpoint: it starts with {data[:16]!r}, not {_SLOT_MAGIC!r}"
        )
    head = data[len(_SLOT_MAGIC) :]
    if len(head) >= 2:
        (version,) = struct.unpack_from(">H", head)
        if version != _SLOT_VERSION:
            raise CheckpointError(
                f"a slot of format version {version}; this elastic reads version "
                f"{_SLOT_VERSION} only"
            )
    if len(head) < _SLOT.size:
        raise CheckpointError(f"truncated: {len(data)} bytes, within its header")
    _, generation, length, digest = _SLOT.unpack_from(head)
    payload = head[_SLOT.size : _SLOT.size + length]
    if len(payload) < length:
        whole = len(_SLOT_MAGIC) + _SLOT.size + length
        raise CheckpointError(f"truncated: {len(data)} bytes where its header says {whole}")
    if _slot_digest(generation, payload) != digest:
        raise CheckpointError(
            f"damaged: generation {generation} and its data do not match their sha256 "
            "(a save interrupted while it wrote this slot, or a damaged disk)"
        )
    return generation, payload


def _check_own(path: Path, info: os.stat_result) -> None:
    """Refuse a slot file that another user owns or may write: it would be unpickled as ours."""
    if sys.platform == "win32":  # no owner nor mode bits to check: the directory's ACLs decide
        return
    user = os.geteuid()
    if info.st_uid != user:
        raise CheckpointError(
            f"{path}: refused: the checkpoint file is owned by user {info.st_uid}, not by this "
            f"process's user ({user}); a checkpoint is unpickled when it is loaded: it must be "
            "this controller's own file"
        )
    writers = [who for bit, who in _WRITERS if info.st_mode & bit]
    if writers:
        raise CheckpointError(
            f"{path}: refused: the checkpoint file may be written by {' and '.join(writers)} "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); a checkpoint is unpickled when it is "
            f"loaded: make it writable by its owner only (chmod 600 {path})"
        )


_WRITERS = ((stat.S_IWGRP, "its group"), (stat.S_IWOTH, "others"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:  # a regular file takes some bytes or raises; never loop forever
            raise OSError(errno.EIO, "the system wrote none of the checkpoint")
        view = view[written:]


def _sync_directory(directory: Path) -> None:
    """fsync ``directory``, so that the rename survives a power cut, where the system allows it."""
    if os.name == "nt":  # Windows cannot open a directory to fsync it
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # a directory we may write but not read: the rename stands, unsynced
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise CheckpointError(
                f"{directory}: cannot sync the directory of the checkpoint: {error.strerror}"
            ) from None
    finally:
        os.close(fd)
