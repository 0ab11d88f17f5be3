"""Conformance checks every policy and every forecaster passes.

``yield_checks(policy)`` yields the checks by name; ``check_policy(policy)``
runs them all; ``yield_forecaster_checks`` and ``check_forecaster`` do the
same for forecasters. Each check feeds the policy a seeded stream of observations
built around the metrics and targets found in its parameters, and raises
``AssertionError`` with an explanation when the contract is broken.

Examples
--------
>>> from elastic.policies import TargetTracking
>>> check_policy(TargetTracking("cpu", 60.0))
>>> [check.__name__ for check in yield_checks(TargetTracking("cpu", 60.0))][:2]
['check_recommend_is_pure', 'check_within_bounds']
>>> from elastic.forecast import HoltWinters
>>> check_forecaster(HoltWinters(periods=(24,)))
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from elastic.core.loop import DecisionLoop
from elastic.core.params import Params, clone
from elastic.core.protocols import Forecaster, Policy
from elastic.core.types import Forecast, Observation, Recommendation
from elastic.errors import ForecastError

__all__ = [
    "check_forecaster",
    "check_policy",
    "forecaster_series",
    "observation_stream",
    "yield_checks",
    "yield_forecaster_checks",
]

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


def check_repeated_time(policy: Policy) -> None:
    """Observing a time again (or an earlier one) teaches nothing more than observing it once.

    One instance shared by two loops, or a step retried after a failed
    actuation, observes the same time again; the policy must then recommend
    exactly what it would have after a single observation.
    """
    stream = observation_stream(policy, seed=3)
    once, twice = clone(policy), clone(policy)
    for i, obs in enumerate(stream):
        once.observe(obs)
        twice.observe(obs)
        state = pickle.dumps(twice)
        for again in (obs, *stream[max(0, i - 1) : i]):  # the same time, and an earlier one
            twice.observe(again)
            assert pickle.dumps(twice) == state, (
                f"{policy!r} learned from observing t={again.time:g} after t={obs.time:g}"
            )
        expected, got = once.recommend(obs), twice.recommend(obs)
        assert got == expected, (
            f"{policy!r} observed t={obs.time:g} twice and recommends {got} instead of {expected}"
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


def check_repr(policy: Policy | Forecaster) -> None:
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
    yield check_repeated_time
    yield check_clone_and_pickle
    yield check_repr


def check_policy(policy: Policy) -> None:
    """Run every check on fresh clones of ``policy``."""
    for check in yield_checks(policy):
        check(clone(policy))


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


def _same(a: Forecast, b: Forecast) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in ((a.mean, b.mean), (a.lower, b.lower), (a.upper, b.upper), (a.times, b.times))
    )


def check_forecast_is_pure(forecaster: Forecaster) -> None:
    """``forecast`` changes nothing and gives the same forecast twice."""
    _learn(forecaster, forecaster_series())
    before = pickle.dumps(forecaster)
    first = forecaster.forecast(HORIZON, LEVELS)
    second = forecaster.forecast(HORIZON, LEVELS)
    assert pickle.dumps(forecaster) == before, f"{forecaster!r}.forecast changed the forecaster"
    assert _same(first, second), f"{forecaster!r}.forecast gave two different forecasts"


def check_not_ready_raises(forecaster: Forecaster) -> None:
    """Before any value, ``forecast`` raises ``ForecastError``; after enough, it forecasts."""
    try:
        forecaster.forecast(1)
    except ForecastError:
        pass
    else:
        raise AssertionError(f"{forecaster!r} forecast without any history")
    _learn(forecaster, forecaster_series())
    forecaster.forecast(1)


def check_forecast_shape(forecaster: Forecaster) -> None:
    """Finite means; times one step apart after the last value; intervals ordered and nested."""
    _learn(forecaster, forecaster_series())
    out = forecaster.forecast(HORIZON, LEVELS)
    assert out.mean.shape == (HORIZON,), f"mean has shape {out.mean.shape}"
    assert np.isfinite(out.mean).all(), f"non-finite forecasts {out.mean}"
    assert out.lower.shape == out.upper.shape == (len(LEVELS), HORIZON)
    assert np.all(np.diff(out.times) > 0), f"forecast times {out.times} do not increase"
    assert np.all(out.lower <= out.mean) and np.all(out.mean <= out.upper), (
        f"{forecaster!r}: the mean is outside its intervals"
    )
    assert np.all(out.lower[1] <= out.lower[0]) and np.all(out.upper[0] <= out.upper[1]), (
        f"{forecaster!r}: the 95 % interval does not contain the 80 % one"
    )
    assert forecaster.forecast(HORIZON).level == (), "forecast without level has intervals"


def check_fit_is_learning(forecaster: Forecaster) -> None:
    """``fit(series, step=...)`` gives the forecasts of learning the series value by value."""
    fit = getattr(forecaster, "fit", None)
    if fit is None:
        return
    series = forecaster_series()
    twin = clone(forecaster)
    _learn(twin, series)
    fitted = fit(series, step=STEP)
    assert _same(fitted.forecast(HORIZON, LEVELS), twin.forecast(HORIZON, LEVELS)), (
        f"{forecaster!r}: fit and learn_one disagree"
    )


def check_forecaster_clone_and_pickle(forecaster: Forecaster) -> None:
    """Clones learn alike; a pickled forecaster carries on where it stopped."""
    series = forecaster_series(seed=1)
    half = len(series) // 2
    twin = clone(forecaster)
    assert repr(twin) == repr(forecaster), f"clone changed the parameters: {twin!r}"
    _learn(forecaster, series[:half])
    _learn(twin, series[:half])
    copy = pickle.loads(pickle.dumps(forecaster))
    for model in (forecaster, twin, copy):
        _learn(model, series[half:], first=half)
    reference = forecaster.forecast(HORIZON, LEVELS)
    assert _same(twin.forecast(HORIZON, LEVELS), reference), f"{forecaster!r} is not deterministic"
    assert _same(copy.forecast(HORIZON, LEVELS), reference), (
        f"{forecaster!r} forecasts differently after a pickle round trip"
    )


def check_gaps(forecaster: Forecaster) -> None:
    """A missing value (NaN) or a skipped time leaves the forecasts finite."""
    series = forecaster_series()
    series[100] = np.nan
    for i, y in enumerate(series.tolist()):
        if i != 200:
            forecaster.learn_one(y, i * STEP)
    out = forecaster.forecast(HORIZON, LEVELS)
    assert np.isfinite(out.mean).all() and np.isfinite(out.upper).all(), (
        f"{forecaster!r}: non-finite forecasts after a gap"
    )


def yield_forecaster_checks(forecaster: Forecaster) -> Iterator[Callable[[Forecaster], None]]:
    """The checks that apply to ``forecaster``."""
    yield check_forecast_is_pure
    yield check_not_ready_raises
    yield check_forecast_shape
    yield check_fit_is_learning
    yield check_forecaster_clone_and_pickle
    yield check_gaps
    yield check_repr


def check_forecaster(forecaster: Forecaster) -> None:
    """Run every forecaster check on fresh clones of ``forecaster``."""
    for check in yield_forecaster_checks(forecaster):
        check(clone(forecaster))
