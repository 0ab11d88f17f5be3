"""Hypothesis strategies for elastic's values, for our tests and for yours.

Hypothesis is an optional extra: ``pip install 'elastic[testing]'``. Without
it, importing this module raises an :class:`ImportError` that says so.

Examples
--------
>>> from hypothesis import given
>>> @given(behaviors())
... def test_horizon_is_not_negative(behavior):
...     assert behavior.horizon >= 0
>>> test_horizon_is_not_negative()
"""

from __future__ import annotations

try:
    from hypothesis import strategies as st
except ImportError as error:
    raise ImportError(
        "elastic.testing.strategies needs hypothesis: pip install 'elastic[testing]'"
    ) from error

from elastic.core.behavior import Behavior, RateLimit, ScalingRules
from elastic.core.cooldown import Cooldown
from elastic.core.types import Observation

__all__ = [
    "behaviors",
    "cooldowns",
    "metric_series",
    "observations",
    "rate_limits",
    "scaling_rules",
]


def rate_limits(max_period: float = 120.0) -> st.SearchStrategy[RateLimit]:
    """Pods or Percent limits with whole-second periods up to ``max_period``."""
    return st.builds(
        RateLimit,
        type=st.sampled_from(["Pods", "Percent"]),
        value=st.integers(1, 200),
        period_seconds=st.integers(1, int(max_period)).map(float),
    )


def scaling_rules() -> st.SearchStrategy[ScalingRules]:
    """Rules for one direction: a window, up to three limits, a select policy."""
    return st.builds(
        ScalingRules,
        stabilization_window_seconds=st.sampled_from([0.0, 15.0, 60.0, 300.0]),
        policies=st.lists(rate_limits(), max_size=3).map(tuple),
        select_policy=st.sampled_from(["Max", "Min", "Disabled"]),
    )


def behaviors() -> st.SearchStrategy[Behavior]:
    """Any :class:`~elastic.Behavior`, the Kubernetes defaults among them."""
    return st.one_of(
        st.just(Behavior.kubernetes_default()),
        st.builds(Behavior, scale_up=scaling_rules(), scale_down=scaling_rules()),
    )


def cooldowns() -> st.SearchStrategy[Cooldown | float | None]:
    """No cooldown, a simple one in seconds, or an application cooldown."""
    return st.one_of(
        st.none(),
        st.sampled_from([30.0, 300.0]),
        st.builds(
            Cooldown,
            scale_out=st.sampled_from([0.0, 60.0, 300.0]),
            scale_in=st.sampled_from([0.0, 60.0, 300.0]),
        ),
    )


def metric_series(min_size: int = 1, max_size: int = 60) -> st.SearchStrategy[list[float | None]]:
    """Metric values from 0 to 400 (a percentage that can overshoot), ``None`` when missing."""
    value = st.one_of(st.none(), st.floats(0.0, 400.0, allow_nan=False))
    return st.lists(value, min_size=min_size, max_size=max_size)


def observations(metric: str = "cpu", max_replicas: int = 100) -> st.SearchStrategy[Observation]:
    """A single observation with one metric."""
    return st.builds(
        Observation,
        time=st.floats(0.0, 1e6, allow_nan=False),
        replicas=st.integers(0, max_replicas),
        metrics=st.fixed_dictionaries({metric: st.floats(0.0, 400.0, allow_nan=False)}),
    )
