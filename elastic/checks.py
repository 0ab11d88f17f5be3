"""Conformance checks every policy and every forecaster passes.

``yield_checks(policy)`` yields the checks by name; ``check_policy(policy)``
runs them all; ``yield_forecaster_checks`` and ``check_forecaster`` do the
same for forecasters. Each check feeds the policy a seeded stream of observations
built around the metrics and targets found in its parameters. A broken contract
raises :class:`~elastic.errors.ConformanceError` (also an ``AssertionError``)
whose message names the class, what it did (the method, the attribute or
parameter, the values before and after, the time) and what the contract expects.

The contract (see ``docs/policies/writing.md``): parameters are the
``__init__`` arguments, stored as given in attributes of the same name; learned
state lives in attributes ending with ``_``; ``observe`` is the only method that
changes the policy, and observing a time again teaches nothing; ``recommend``
only reads; nothing depends on a clock, I/O, global randomness or state shared
between instances; a policy clones, pickles and has a ``repr`` naming its
parameters.

Examples
--------
>>> from elastic.policies import TargetTracking
>>> check_policy(TargetTracking("cpu", 60.0))
>>> [check.__name__ for check in yield_checks(TargetTracking("cpu", 60.0))][:3]
['check_parameters', 'check_recommend_is_pure', 'check_within_bounds']
>>> from elastic.forecast import HoltWinters
>>> check_forecaster(HoltWinters(periods=(24,)))
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import pickle
import sys
import types
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import numpy as np

from elastic.core.loop import DecisionLoop
from elastic.core.params import Params, clone
from elastic.core.protocols import Forecaster, Policy
from elastic.core.types import Forecast, Observation, Recommendation
from elastic.errors import ConformanceError, ForecastError

__all__ = [
    "check_clone_and_pickle",
    "check_deterministic",
    "check_forecaster",
    "check_parameters",
    "check_policy",
    "check_recommend_is_pure",
    "check_repeated_time",
    "check_repr",
    "check_within_bounds",
    "forecaster_series",
    "observation_stream",
    "yield_checks",
    "yield_forecaster_checks",
]

Check = Callable[[Policy], None]

# What the contract expects, in the words of the messages (one sentence per rule).
VERBATIM = (
    "each __init__ argument stored as given in an attribute of the same name "
    "(validate it, don't convert it; derive values where they are used, or in "
    "attributes ending with _)"
)
READ_ONLY = "recommend() to only read: observe() is the only method that may change a policy"
PURE = (
    "the same answer to the same inputs: a policy depends only on its parameters, "
    "what observe() learned and the observation (no clock, I/O, global randomness "
    "or state shared between instances)"
)
SEEN_TIME = (
    "an observation at or before the last time observed to teach nothing "
    "(a retried step, or two loops sharing the policy, observe a time again)"
)
ANSWERS = (
    "observe() and recommend() to answer every observation, missing metrics included "
    "(a policy with no data abstains: Recommendation(None, ...))"
)
PURE_FORECAST = (
    "the same forecasts from the same values: a forecaster depends only on its parameters "
    "and what learn_one() learned (no clock, I/O, global randomness or shared state)"
)
PICKLES = (
    "a picklable object (parameters and state made of module-level classes and "
    "functions, no lambdas, locks or open files), so runs can go to worker processes"
)


def _fail(obj: Any, problem: str, expected: str) -> NoReturn:
    raise ConformanceError(type(obj).__name__, problem, expected)


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- parameters and state, by name -----------------------------------------------------------


def _parameters(obj: Any) -> dict[str, Any]:
    """The ``__init__`` arguments of ``obj`` read back by name, or a ConformanceError."""
    names = []
    for name, parameter in inspect.signature(type(obj).__init__).parameters.items():
        if name == "self":
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            star = "*" if parameter.kind is parameter.VAR_POSITIONAL else "**"
            _fail(
                obj,
                f"__init__ takes {star}{name}",
                "named parameters only (clone() and repr() read them back by name)",
            )
        names.append(name)
    missing = [name for name in names if not hasattr(obj, name)]
    if missing:
        _fail(
            obj,
            f"__init__ takes the parameter {missing[0]} but stores no attribute {missing[0]}",
            VERBATIM,
        )
    return {name: getattr(obj, name) for name in names}


def _has_parameters(obj: Any) -> bool:
    return isinstance(obj, Params) or hasattr(obj, "recommend") or hasattr(obj, "learn_one")


_UNSET = object()


def _same(a: Any, b: Any) -> bool:
    try:
        return _dumps(a) == _dumps(b)
    except ConformanceError:
        try:
            return bool(a == b)
        except Exception:
            return False


def _attributes(obj: Any) -> dict[str, Any] | None:
    """The attributes of an object with a ``__dict__`` or ``__slots__``; None for a value."""
    if isinstance(obj, type) or (not hasattr(obj, "__dict__") and not hasattr(obj, "__slots__")):
        return None
    found = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in found and hasattr(obj, name):
                found[name] = getattr(obj, name)
    return found


Difference = tuple[str, Any, Any]
"""Where two values differ: the path (``"rate_"``, ``"policies[0].calls_"``), before, after."""


def _differences(
    before: Any, after: Any, path: str, params_only: bool = False
) -> Iterator[Difference]:
    """Where ``after`` differs from ``before`` (:data:`_UNSET` where a side has nothing).

    Objects are compared attribute by attribute (by parameter when
    ``params_only``), containers item by item, anything else as a whole.
    """
    if before is after or _same(before, after):
        return
    if before is _UNSET or after is _UNSET or type(before) is not type(after):
        yield path, before, after
        return
    if isinstance(before, Mapping):
        for key in list(before) + [key for key in after if key not in before]:
            yield from _differences(
                before.get(key, _UNSET), after.get(key, _UNSET), f"{path}[{key!r}]", params_only
            )
        return
    if isinstance(before, list | tuple | deque):
        if len(before) != len(after):
            yield path, before, after
            return
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _differences(old, new, f"{path}[{i}]", params_only)
        return
    fields: dict[str, Any] | None
    others: dict[str, Any] | None
    if params_only and _has_parameters(before):
        fields, others = _parameters(before), _parameters(after)
    else:
        fields, others = _attributes(before), _attributes(after)
    if fields is None or others is None or isinstance(before, np.ndarray):
        yield path, before, after
        return
    for name in list(fields) + [name for name in others if name not in fields]:
        yield from _differences(
            fields.get(name, _UNSET),
            others.get(name, _UNSET),
            f"{path}.{name}" if path else name,
            params_only,
        )


def _phrase(difference: Difference) -> str:
    """``"rate_ went from 3.0 to 4.0"``, ``"seen_ appeared (= 1)"``."""
    path, before, after = difference
    if before is _UNSET:
        return f"{path} appeared (= {_show(after)})"
    if after is _UNSET:
        return f"{path} disappeared (was {_show(before)})"
    return f"{path} went from {_show(before)} to {_show(after)}"


def _change(before: Any, after: Any) -> str:
    """The first attribute that differs between two states of one object, in words."""
    for difference in _differences(before, after, ""):
        return f"attribute {_phrase(difference)}"
    return "its pickled state changed"


# --- pickling, for classes defined where pickle cannot import them ---------------------------

_BY_IDENTITY: dict[int, Any] = {}


def _unimportable(obj: Any) -> bool:
    """A top-level class or function pickle cannot find by name (defined in a doctest, an exec).

    Written in a module, the same definition pickles by reference; lambdas
    and definitions local to a function never do, so they are not excused.
    """
    if not isinstance(obj, type | types.FunctionType) or "<" in obj.__qualname__:
        return False
    found: Any = sys.modules.get(obj.__module__)
    for part in obj.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is not obj


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if _unimportable(obj):
            _BY_IDENTITY[id(obj)] = obj
            return id(obj)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        return _BY_IDENTITY[pid]


def _dumps(obj: Any) -> bytes:
    """``pickle.dumps``, except that a class defined in a doctest pickles within this process."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer).dump(obj)
    except Exception as error:
        _fail(obj, f"cannot be pickled: {_unpicklable(obj) or error}", PICKLES)
    return buffer.getvalue()


def _unpicklable(obj: Any) -> str | None:
    """The attribute of ``obj`` that does not pickle, in words, if one is to blame."""
    for name, value in (_attributes(obj) or {}).items():
        try:
            _Pickler(io.BytesIO()).dump(value)
        except Exception:
            what = (
                f"the function {value.__qualname__}"
                if isinstance(value, types.FunctionType)
                else f"a {type(value).__name__}"
            )
            return f"attribute {name} holds {what}"
    return None


def _loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def _snapshot(obj: Any) -> tuple[bytes, Any]:
    """``obj`` pickled, and a copy of it to compare with later."""
    state = _dumps(obj)
    return state, _loads(state)


# --- the stream of observations ----------------------------------------------------------------


def _references(obj: Any, found: dict[str, float]) -> None:
    """Collect ``metric -> target or threshold`` from the parameters, recursively."""
    if _has_parameters(obj) and not isinstance(obj, type):
        try:
            params = _parameters(obj)
        except ConformanceError:
            return  # check_parameters says what is wrong
        metric = params.get("metric")
        if isinstance(metric, str):
            reference = params.get("target", params.get("threshold", 1.0))
            try:
                found.setdefault(metric, float(reference) if reference else 1.0)
            except (TypeError, ValueError):
                found.setdefault(metric, 1.0)
        for value in params.values():
            _references(value, found)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _references(item, found)


def observation_stream(policy: Policy, n: int = 80, seed: int = 0) -> list[Observation]:
    """A seeded stream of observations for ``policy``, 15 s apart.

    Metric values range from 0 to twice each target or threshold found in the
    parameters (``metric`` with ``target`` or ``threshold``, in nested policies
    too), with one in ten missing; the replica count wanders between 0 and 30.

    Examples
    --------
    >>> from elastic.policies import TargetTracking
    >>> stream = observation_stream(TargetTracking("rps", 100.0, kind="value"), n=3)
    >>> [obs.time for obs in stream], sorted(stream[1].metrics)
    ([0.0, 15.0, 30.0], ['cpu', 'rps'])
    """
    references: dict[str, float] = {}
    _references(policy, references)
    references.setdefault("cpu", 60.0)
    rng = np.random.default_rng(seed)
    replicas = 4
    stream = []
    for i in range(n):
        metrics = {
            name: float(reference * rng.uniform(0.0, 2.0))
            for name, reference in references.items()
            if rng.random() > 0.1
        }
        replicas = int(np.clip(replicas + rng.integers(-3, 4), 0, 30))
        stream.append(Observation(time=15.0 * i, replicas=replicas, metrics=metrics))
    return stream


def _at(obs: Observation) -> str:
    return f"t={obs.time:g} (replicas={obs.replicas}, metrics={_show(dict(obs.metrics), 120)})"


def _observe(policy: Policy, obs: Observation) -> None:
    try:
        policy.observe(obs)
    except ConformanceError:
        raise
    except Exception as error:
        _fail(policy, f"observe() raised {type(error).__name__}: {error} at {_at(obs)}", ANSWERS)


def _recommend(policy: Policy, obs: Observation) -> Recommendation:
    try:
        return policy.recommend(obs)
    except ConformanceError:
        raise
    except Exception as error:
        _fail(policy, f"recommend() raised {type(error).__name__}: {error} at {_at(obs)}", ANSWERS)


def _outputs(policy: Policy, stream: list[Observation]) -> list[Recommendation]:
    out = []
    for obs in stream:
        _observe(policy, obs)
        out.append(_recommend(policy, obs))
    return out


def _versus(first: Any, second: Any) -> str:
    """Two recommendations, by the first field where they differ: ``"replicas=3 then 5"``."""
    if isinstance(first, Recommendation) and isinstance(second, Recommendation):
        for field in dataclasses.fields(Recommendation):
            a, b = getattr(first, field.name), getattr(second, field.name)
            if a != b:
                return f"{field.name}={_show(a)} then {field.name}={_show(b)}"
    return f"{_show(first)} then {_show(second)}"


def _first_difference(
    a: list[Recommendation], b: list[Recommendation]
) -> tuple[int, Recommendation, Recommendation] | None:
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y:
            return i, x, y
    return None


# --- the checks --------------------------------------------------------------------------------


def check_parameters(policy: Policy | Forecaster) -> None:
    """Parameters are the named ``__init__`` arguments, stored as given under their names.

    Rebuilding the object from its stored parameters gives the same
    parameters: an ``__init__`` that converts an argument (``self.target =
    target / 100``) fails here, since its clone would convert it again.

    Examples
    --------
    >>> from elastic.policies import TargetTracking
    >>> class Percent(TargetTracking):
    ...     def __init__(self, metric, target):
    ...         super().__init__(metric, target / 100)
    >>> check_parameters(Percent("cpu", 60.0))
    Traceback (most recent call last):
    ...
    elastic.errors.ConformanceError: Percent: __init__ does not store its parameters as given:
    built with target=0.6 it stores target=0.006; expected each __init__ argument stored ...
    """
    params = _parameters(policy)
    try:
        rebuilt = type(policy)(**params)
    except Exception as error:
        _fail(
            policy,
            f"cannot be built again from its stored parameters {_show(params, 200)} "
            f"({type(error).__name__}: {error})",
            VERBATIM,
        )
    again = _parameters(rebuilt)
    for name, value in params.items():
        for path, given, stored in _differences(value, again[name], name, params_only=True):
            _fail(
                policy,
                "__init__ does not store its parameters as given: "
                f"built with {path}={_show(given)} it stores {path}={_show(stored)}",
                VERBATIM,
            )


def check_recommend_is_pure(policy: Policy) -> None:
    """``recommend`` changes neither the policy nor the observation, and answers alike twice."""
    for obs in observation_stream(policy):
        _observe(policy, obs)
        state, before = _snapshot(policy)
        metrics = dict(obs.metrics)
        first = _recommend(policy, obs)
        if _dumps(policy) != state:
            _fail(
                policy,
                f"recommend() changed the policy's state at t={obs.time:g}: "
                f"{_change(before, policy)}",
                READ_ONLY,
            )
        second = _recommend(policy, obs)
        if dict(obs.metrics) != metrics:
            change = _phrase(next(_differences(metrics, dict(obs.metrics), "metrics")))
            _fail(
                policy,
                f"recommend() changed the observation at t={obs.time:g}: {change}",
                "recommend() to leave the observation as it was",
            )
        if first != second:
            _fail(
                policy,
                "recommend() gave two different answers to the same observation at "
                f"{_at(obs)}: {_versus(first, second)}",
                PURE,
            )


def check_within_bounds(policy: Policy) -> None:
    """Recommendations are counts >= 0 (or None), and a loop keeps them in its bounds."""
    loop = DecisionLoop(policy, min_replicas=2, max_replicas=12)
    replicas = 5
    for obs in observation_stream(policy):
        rec = _recommend(policy, obs)
        if not isinstance(rec, Recommendation):
            _fail(
                policy,
                f"recommend() returned {_show(rec)} at t={obs.time:g}",
                "an elastic.Recommendation",
            )
        count = rec.replicas
        if count is not None and (
            not isinstance(count, int | np.integer) or isinstance(count, bool) or count < 0
        ):
            _fail(
                policy,
                f"recommend() asked for replicas={count!r} at t={obs.time:g}",
                "None (to abstain) or an int >= 0",
            )
        decision = loop.step(Observation(obs.time, replicas, obs.metrics))
        replicas = decision.replicas
        if not 2 <= replicas <= 12:
            _fail(
                policy,
                f"a DecisionLoop over it decided {replicas} replicas at t={obs.time:g}, "
                "outside its bounds [2, 12]",
                "every decision within the loop's bounds",
            )


def check_deterministic(policy: Policy) -> None:
    """Two clones fed the same observations recommend the same."""
    stream = observation_stream(policy, seed=1)
    first = _outputs(clone(policy), stream)
    second = _outputs(clone(policy), stream)
    found = _first_difference(first, second)
    if found is not None:
        i, a, b = found
        _fail(
            policy,
            f"is not deterministic: two clones fed the same observations recommend "
            f"{_versus(a, b)} at {_at(stream[i])}, observation {i + 1} of {len(stream)}",
            PURE,
        )


def check_repeated_time(policy: Policy) -> None:
    """Observing a time again (or an earlier one) teaches nothing more than observing it once.

    One instance shared by two loops, or a step retried after a failed
    actuation, observes the same time again; the policy must then recommend
    exactly what it would have after a single observation.
    """
    stream = observation_stream(policy, seed=3)
    once, twice = clone(policy), clone(policy)
    for i, obs in enumerate(stream):
        _observe(once, obs)
        _observe(twice, obs)
        state, before = _snapshot(twice)
        for again in (obs, *stream[max(0, i - 1) : i]):  # the same time, and an earlier one
            _observe(twice, again)
            if _dumps(twice) != state:
                when = (
                    f"observing t={obs.time:g} a second time"
                    if again is obs
                    else f"observing t={again.time:g} after t={obs.time:g}"
                )
                _fail(
                    policy,
                    f"observe() learned from a time it had already seen: {when}, "
                    f"{_change(before, twice)}",
                    SEEN_TIME,
                )
        expected, got = _recommend(once, obs), _recommend(twice, obs)
        if got != expected:
            _fail(
                policy,
                f"observing t={obs.time:g} twice changed its recommendation: "
                f"{_versus(expected, got)}",
                SEEN_TIME,
            )


def check_clone_and_pickle(policy: Policy) -> None:
    """A clone has the same parameters; a pickled policy carries on where it stopped.

    ``policy`` itself is left as it was: the clone learns.
    """
    params = _parameters(policy)
    twin = clone(policy)
    if twin is policy:
        _fail(policy, "clone() returned the policy itself", "a new object")
    twins = _parameters(twin)
    for name, value in params.items():
        for difference in _differences(value, twins[name], name, params_only=True):
            _fail(policy, f"clone() changed a parameter: {_phrase(difference)}", VERBATIM)
    stream = observation_stream(policy, seed=2)
    _outputs(twin, stream[:40])
    copy = _snapshot(twin)[1]
    found = _first_difference(_outputs(twin, stream[40:]), _outputs(copy, stream[40:]))
    if found is not None:
        i, original, restored = found
        _fail(
            policy,
            "recommends differently after a pickle round trip: "
            f"{_versus(original, restored)} (original, then unpickled) at "
            f"{_at(stream[40 + i])}",
            "a pickled policy to carry on where it stopped (every learned attribute pickled)",
        )


def check_repr(policy: Policy | Forecaster) -> None:
    """``repr`` names the class and every parameter that differs from its default."""
    text = repr(policy)
    name = type(policy).__name__
    if not text.startswith(f"{name}("):
        _fail(
            policy,
            f"repr() gives {_show(text)}",
            f"{name}( followed by the parameters that differ from their defaults "
            "(elastic.policies.BasePolicy gives this repr)",
        )
    rebuilt = repr(type(policy)(**_parameters(policy)))
    if rebuilt != text:
        _fail(
            policy,
            f"repr() gives {_show(text)} but the same class built from its stored "
            f"parameters gives {_show(rebuilt)}",
            "a repr that names the parameters as stored",
        )


def yield_checks(policy: Policy) -> Iterator[Check]:
    """The checks that apply to ``policy``."""
    yield check_parameters
    yield check_recommend_is_pure
    yield check_within_bounds
    yield check_deterministic
    yield check_repeated_time
    yield check_clone_and_pickle
    yield check_repr


def check_policy(policy: Policy) -> None:
    """Run every check on ``policy`` (on fresh clones of it, so ``policy`` is left as it was).

    The checks that leave their argument as it was (:data:`_READ_ONLY`) run on
    ``policy`` itself, since a clone is built from the very parameters they check.

    Raises
    ------
    ConformanceError
        At the first broken rule, saying which, where and what was expected.

    Examples
    --------
    >>> from elastic import Reason, Recommendation
    >>> from elastic.policies import BasePolicy
    >>> class Counter(BasePolicy):
    ...     def __init__(self, metric="cpu"):
    ...         self.metric = metric
    ...         self.calls_ = 0
    ...     def recommend(self, obs):
    ...         self.calls_ += 1
    ...         return Recommendation(obs.replicas, Reason.HOLD)
    >>> check_policy(Counter())
    Traceback (most recent call last):
    ...
    elastic.errors.ConformanceError: Counter: recommend() changed the policy's state at t=0:
    attribute calls_ went from 0 to 1; expected recommend() to only read: observe() is the
    only method that may change a policy
    """
    for check in yield_checks(policy):
        check(policy if check in _READ_ONLY else clone(policy))


_READ_ONLY: tuple[Callable[[Any], None], ...] = (
    check_parameters,
    check_clone_and_pickle,
    check_repr,
)
"""The checks that leave what they check as it was."""


# --- forecasters ---------------------------------------------------------------------------------

STEP = 3600.0
HORIZON = 12
LEVELS = (80.0, 95.0)


def forecaster_series(n: int = 24 * 16, seed: int = 0) -> np.ndarray:
    """Hourly load with daily and weekly seasons, a slight trend and noise (seeded)."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    daily = 80.0 * np.sin(2 * np.pi * i / 24)
    weekly = 20.0 * np.sin(2 * np.pi * i / 168)
    return 200.0 + 0.05 * i + daily + weekly + rng.normal(0.0, 10.0, n)


def _learn(forecaster: Forecaster, series: np.ndarray, first: int = 0) -> None:
    for i, y in enumerate(series.tolist(), start=first):
        forecaster.learn_one(y, i * STEP)


def _same_forecast(a: Forecast, b: Forecast) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in ((a.mean, b.mean), (a.lower, b.lower), (a.upper, b.upper), (a.times, b.times))
    )


def _forecast(forecaster: Forecaster, horizon: int, level: tuple[float, ...] = ()) -> Forecast:
    try:
        return forecaster.forecast(horizon, level)
    except ConformanceError:
        raise
    except Exception as error:
        _fail(
            forecaster,
            f"forecast({horizon}, level={level}) raised {type(error).__name__}: {error} "
            "after learning a long series",
            "a forecast once enough values were learned",
        )


def check_forecast_is_pure(forecaster: Forecaster) -> None:
    """``forecast`` changes nothing and gives the same forecast twice."""
    _learn(forecaster, forecaster_series())
    state, before = _snapshot(forecaster)
    first = _forecast(forecaster, HORIZON, LEVELS)
    if _dumps(forecaster) != state:
        _fail(
            forecaster,
            f"forecast() changed the forecaster's state: {_change(before, forecaster)}",
            "forecast() to only read: learn_one() is the only method that may change a forecaster",
        )
    second = _forecast(forecaster, HORIZON, LEVELS)
    if not _same_forecast(first, second):
        _fail(forecaster, "forecast() gave two different forecasts in a row", PURE_FORECAST)


def check_not_ready_raises(forecaster: Forecaster) -> None:
    """Before any value, ``forecast`` raises ``ForecastError``; after enough, it forecasts."""
    try:
        forecaster.forecast(1)
    except ForecastError:
        pass
    else:
        _fail(
            forecaster,
            "forecast(1) answered before learning any value",
            "elastic.ForecastError until enough values were learned",
        )
    _learn(forecaster, forecaster_series())
    _forecast(forecaster, 1)


def check_forecast_shape(forecaster: Forecaster) -> None:
    """Finite means; times one step apart after the last value; intervals ordered and nested."""
    _learn(forecaster, forecaster_series())
    out = _forecast(forecaster, HORIZON, LEVELS)
    shape = (len(LEVELS), HORIZON)
    problems = [
        (out.mean.shape != (HORIZON,), f"mean has shape {out.mean.shape}", f"({HORIZON},)"),
        (
            out.lower.shape != shape or out.upper.shape != shape,
            f"lower and upper have shapes {out.lower.shape} and {out.upper.shape}",
            f"{shape}: one row per level",
        ),
    ]
    for broken, problem, expected in problems:
        if broken:
            _fail(forecaster, f"forecast({HORIZON}, level={LEVELS}): {problem}", expected)
    if not np.isfinite(out.mean).all():
        _fail(forecaster, f"forecast() gave non-finite means {_show(out.mean)}", "finite means")
    if not np.all(np.diff(out.times) > 0):
        _fail(forecaster, f"forecast times {_show(out.times)} do not increase", "increasing times")
    if not (np.all(out.lower <= out.mean) and np.all(out.mean <= out.upper)):
        _fail(forecaster, "a forecast mean is outside its interval", "lower <= mean <= upper")
    if not (np.all(out.lower[1] <= out.lower[0]) and np.all(out.upper[0] <= out.upper[1])):
        _fail(
            forecaster,
            "the 95 % interval does not contain the 80 % one",
            "wider intervals at higher levels",
        )
    if _forecast(forecaster, HORIZON).level != ():
        _fail(forecaster, "forecast() without a level has intervals", "no intervals")


def check_fit_is_learning(forecaster: Forecaster) -> None:
    """``fit(series, step=...)`` gives the forecasts of learning the series value by value."""
    fit = getattr(forecaster, "fit", None)
    if fit is None:
        return
    series = forecaster_series()
    twin = clone(forecaster)
    _learn(twin, series)
    fitted = fit(series, step=STEP)
    if not _same_forecast(_forecast(fitted, HORIZON, LEVELS), _forecast(twin, HORIZON, LEVELS)):
        _fail(
            forecaster,
            "fit(series) forecasts differently from learn_one() on each value of the series",
            "fit() to learn the series as learn_one() does, value by value",
        )


def check_forecaster_clone_and_pickle(forecaster: Forecaster) -> None:
    """Clones learn alike; a pickled forecaster carries on where it stopped.

    ``forecaster`` itself is left as it was: clones learn.
    """
    series = forecaster_series(seed=1)
    half = len(series) // 2
    params = _parameters(forecaster)
    twin = clone(forecaster)
    twins = _parameters(twin)
    for name, value in params.items():
        for difference in _differences(value, twins[name], name, params_only=True):
            _fail(forecaster, f"clone() changed a parameter: {_phrase(difference)}", VERBATIM)
    first = clone(forecaster)
    _learn(first, series[:half])
    _learn(twin, series[:half])
    copy = _snapshot(first)[1]
    for model in (first, twin, copy):
        _learn(model, series[half:], first=half)
    reference = _forecast(first, HORIZON, LEVELS)
    if not _same_forecast(_forecast(twin, HORIZON, LEVELS), reference):
        _fail(
            forecaster,
            f"is not deterministic: two clones fed the same {len(series)} values forecast "
            "differently",
            PURE_FORECAST,
        )
    if not _same_forecast(_forecast(copy, HORIZON, LEVELS), reference):
        _fail(
            forecaster,
            "forecasts differently after a pickle round trip",
            "a pickled forecaster to carry on where it stopped (every learned attribute pickled)",
        )


def check_gaps(forecaster: Forecaster) -> None:
    """A missing value (NaN) or a skipped time leaves the forecasts finite."""
    series = forecaster_series()
    series[100] = np.nan
    for i, y in enumerate(series.tolist()):
        if i != 200:
            forecaster.learn_one(y, i * STEP)
    out = _forecast(forecaster, HORIZON, LEVELS)
    if not (np.isfinite(out.mean).all() and np.isfinite(out.upper).all()):
        _fail(
            forecaster,
            "forecasts are not finite after a missing value (NaN at step 100) and a skipped "
            "time (step 200)",
            "a missing value or a skipped time to be filled, leaving the forecasts finite",
        )


_READ_ONLY += (check_forecaster_clone_and_pickle,)


def yield_forecaster_checks(forecaster: Forecaster) -> Iterator[Callable[[Forecaster], None]]:
    """The checks that apply to ``forecaster``."""
    yield check_parameters
    yield check_forecast_is_pure
    yield check_not_ready_raises
    yield check_forecast_shape
    yield check_fit_is_learning
    yield check_forecaster_clone_and_pickle
    yield check_gaps
    yield check_repr


def check_forecaster(forecaster: Forecaster) -> None:
    """Run every forecaster check on fresh clones of ``forecaster`` (as :func:`check_policy`)."""
    for check in yield_forecaster_checks(forecaster):
        check(forecaster if check in _READ_ONLY else clone(forecaster))
