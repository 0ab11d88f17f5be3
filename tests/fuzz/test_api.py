"""Fuzzing the Python API: whatever a metric says, a policy and the loop answer, never crash.

Every policy the package exports (with its test parameters) runs in a loop
on observations whose metric values are drawn from the worst floats there
are: NaN, infinities, 1e308, negatives, subnormals. The loop must return a
decision within its bounds every time; a value that cannot be a utilization
(non-finite or negative) is missing data, so the policy never scales in on
it (fail-static).
"""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic import DecisionLoop, Observation, Reason
from elastic.core.params import clone
from elastic.keda import ScaledObject
from elastic.knative import KnativeKPA
from elastic.kubernetes import HorizontalPodAutoscaler
from elastic.policies.predictive import Predictive
from elastic.policies.step import StepScaling
from tests.policies.test_conformance import CLASSES as EXPORTED

CLASSES = [*EXPORTED, HorizontalPodAutoscaler, KnativeKPA, ScaledObject]
POLICIES = [cls(**params) for cls in CLASSES for params in cls.conformance_params()]

WORST = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324, -0.0, 0.0]),
)
METRICS = ("cpu", "rps", "queue", "concurrency", "memory", "latency_p95")


def _observations():
    step = st.tuples(
        st.floats(1.0, 120.0),
        st.integers(0, 10**6),
        st.fixed_dictionaries({}, optional={m: WORST for m in METRICS}),
    )
    return st.lists(step, min_size=1, max_size=12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_observations(), which=st.sampled_from(range(len(POLICIES))))
def test_no_metric_value_crashes_a_policy_or_the_loop(steps, which):
    policy = clone(POLICIES[which])
    loop = DecisionLoop(policy, min_replicas=1, max_replicas=10**6)
    t = 0.0
    for gap, replicas, metrics in steps:
        t += gap
        obs = Observation(t, replicas, metrics)
        decision = loop.step(obs)
        assert 1 <= decision.replicas <= 10**6, decision


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(st.sampled_from([math.inf, -math.inf, math.nan]), st.floats(max_value=-1e-9)),
    replicas=st.integers(1, 10**6),
    which=st.sampled_from(range(len(POLICIES))),
)
def test_an_impossible_utilization_never_scales_in(value, replicas, which):
    policy = clone(POLICIES[which])
    if isinstance(policy, Predictive):
        return  # it sizes for its forecast of the past, not for this value
    if isinstance(policy, StepScaling) and math.isfinite(value):
        return  # a CloudWatch alarm's metric may be negative; only non-finite is impossible
    obs = Observation(60.0, replicas, dict.fromkeys(METRICS, value))
    policy.observe(obs)
    recommendation = policy.recommend(obs)
    held = recommendation.replicas is None or recommendation.replicas >= replicas
    # a policy's own maximum (an HPA's maxReplicas) still applies
    assert held or recommendation.reason is Reason.TOO_MANY, recommendation
