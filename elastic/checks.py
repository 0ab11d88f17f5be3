"""Conformance checks every policy passes.

``yield_checks(policy)`` yields the checks by name; ``check_policy(policy)``
runs them all. Each check feeds the policy a seeded stream of observations
built around the metrics and targets found in its parameters, and raises
``AssertionError`` with an explanation when the contract is broken.

Examples
--------
>>> from elastic.policies import TargetTracking
>>> check_policy(TargetTracking("cpu", 60.0))
>>> [check.__name__ for check in yield_checks(TargetTracking("cpu", 60.0))][:2]
['check_recommend_is_pure', 'check_within_bounds']
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from elastic.core.loop import DecisionLoop
from elastic.core.params import Params, clone
from elastic.core.protocols import Policy
from elastic.core.types import Observation, Recommendation

__all__ = ["check_policy", "observation_stream", "yield_checks"]

Check = Callable[[Policy], None]


def _references(obj: Any, found: dict[str, float]) -> None:
    """Collect ``metric -> target or threshold`` from the parameters, recursively."""
    if isinstance(obj, Params):
        params = obj.get_params()
        metric = params.get("metric")
        if isinstance(metric, str):
            reference = params.get("target", params.get("threshold", 1.0))
            found.setdefault(metric, float(reference) if reference else 1.0)
        for value in params.values():
            _references(value, found)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _references(item, found)


def observation_stream(policy: Policy, n: int = 80, seed: int = 0) -> list[Observation]:
    """A seeded stream of observations for ``policy``, 15 s apart.

    Metric values range from 0 to twice each target or threshold, with one in
    ten missing; the replica count wanders between 0 and 30.
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


def _outputs(policy: Policy, stream: list[Observation]) -> list[Recommendation]:
    out = []
    for obs in stream:
        policy.observe(obs)
        out.append(policy.recommend(obs))
    return out


def check_recommend_is_pure(policy: Policy) -> None:
    """``recommend`` changes neither the policy nor the observation."""
    for obs in observation_stream(policy):
        policy.observe(obs)
        before, metrics = pickle.dumps(policy), dict(obs.metrics)
        first = policy.recommend(obs)
        second = policy.recommend(obs)
        assert pickle.dumps(policy) == before, f"{policy!r}.recommend changed the policy"
        assert dict(obs.metrics) == metrics, f"{policy!r}.recommend changed the observation"
        assert first == second, f"{policy!r}.recommend gave {first} then {second}"


def check_within_bounds(policy: Policy) -> None:
    """Recommendations are counts >= 0 (or None), and a loop keeps them in its bounds."""
    loop = DecisionLoop(policy, min_replicas=2, max_replicas=12)
    replicas = 5
    for obs in observation_stream(policy):
        rec = policy.recommend(obs)
        assert isinstance(rec, Recommendation), f"recommend returned {rec!r}"
        assert rec.replicas is None or (isinstance(rec.replicas, int) and rec.replicas >= 0), (
            f"recommendation {rec.replicas!r} is not a count"
        )
        decision = loop.step(Observation(obs.time, replicas, obs.metrics))
        replicas = decision.replicas
        assert 2 <= replicas <= 12, f"the loop left its bounds [2, 12]: {decision}"


def check_deterministic(policy: Policy) -> None:
    """Two clones fed the same observations recommend the same."""
    stream = observation_stream(policy, seed=1)
    assert _outputs(clone(policy), stream) == _outputs(clone(policy), stream), (
        f"{policy!r} is not deterministic"
    )


def check_clone_and_pickle(policy: Policy) -> None:
    """A clone has the same parameters; a pickled policy carries on where it stopped."""
    twin = clone(policy)
    assert twin is not policy
    assert repr(twin) == repr(policy), f"clone changed the parameters: {twin!r}"
    stream = observation_stream(policy, seed=2)
    _outputs(policy, stream[:40])
    copy = pickle.loads(pickle.dumps(policy))
    assert _outputs(copy, stream[40:]) == _outputs(policy, stream[40:]), (
        f"{policy!r} recommends differently after a pickle round trip"
    )


def check_repr(policy: Policy) -> None:
    """``repr`` names the class and every parameter that differs from its default."""
    text = repr(policy)
    name = type(policy).__name__
    assert text.startswith(f"{name}("), f"repr {text!r} does not start with {name}("
    if isinstance(policy, Params):
        defaults = type(policy)(**policy.get_params())
        assert repr(defaults) == text, f"repr {text!r} does not round-trip through get_params"


def yield_checks(policy: Policy) -> Iterator[Check]:
    """The checks that apply to ``policy``."""
    yield check_recommend_is_pure
    yield check_within_bounds
    yield check_deterministic
    yield check_clone_and_pickle
    yield check_repr


def check_policy(policy: Policy) -> None:
    """Run every check on fresh clones of ``policy``."""
    for check in yield_checks(policy):
        check(clone(policy))
