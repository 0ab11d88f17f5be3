"""Invariants of the decision loop, over generated rules and metric series."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from elastic import Behavior, DecisionLoop, Observation, RateLimit, ScalingRules
from elastic.core.stages import stabilize
from elastic.policies import StepScaling, TargetTracking
from elastic.testing.strategies import behaviors, cooldowns, metric_series

POLICIES = st.sampled_from(
    [
        TargetTracking("cpu", 50.0),
        TargetTracking("cpu", 50.0, tolerance=0.0, scale_in_margin=0.2),
        StepScaling("cpu", 60.0, steps=[(0, 30, 1), (30, None, 5), (None, -20, -2), (-20, 0, 0)]),
    ]
)
GAPS = st.lists(st.sampled_from([1.0, 5.0, 15.0, 15.0, 30.0, 60.0]), min_size=60, max_size=60)


def drive(loop, values, gaps, start):
    """Feed the loop, as an actuator that does what it is told would."""
    t, replicas, log = 0.0, start, []
    for value, gap in zip(values, gaps, strict=False):
        metrics = {} if value is None else {"cpu": value}
        decision = loop.step(Observation(t, replicas, metrics))
        log.append(decision)
        replicas = decision.replicas
        t += gap
    return log


def count_at(log, start, time):
    """The replica count in force just after every decision made at or before ``time``."""
    count = start
    for d in log:
        if d.time > time:
            break
        count = d.replicas
    return count


@settings(max_examples=150, deadline=None)
@given(
    policy=POLICIES,
    behavior=behaviors(),
    cooldown=cooldowns(),
    values=metric_series(),
    gaps=GAPS,
    low=st.integers(0, 5),
    span=st.integers(0, 30),
    start=st.integers(0, 40),
    warmup=st.sampled_from([None, 60.0]),
    combine=st.sampled_from(["max", "aws"]),
)
def test_final_replicas_always_within_bounds(
    policy, behavior, cooldown, values, gaps, low, span, start, warmup, combine
):
    loop = DecisionLoop(
        policy.clone(),
        min_replicas=low,
        max_replicas=low + span,
        behavior=behavior,
        cooldown=cooldown,
        warmup=warmup,
        combine=combine,
    )
    for decision in drive(loop, values, gaps, start):
        assert low <= decision.replicas <= low + span


def _allowance(limit: RateLimit, at_start: int, up: bool) -> int:
    if limit.type == "Pods":
        return at_start + limit.value if up else at_start - limit.value
    if up:
        return math.ceil(float(at_start) * (1 + limit.value / 100))
    return int(float(at_start) * (1 - limit.value / 100))


@settings(max_examples=150, deadline=None)
@given(
    policy=POLICIES,
    limits=st.lists(
        st.builds(
            RateLimit,
            st.sampled_from(["Pods", "Percent"]),
            st.integers(1, 150),
            st.sampled_from([15.0, 60.0, 120.0]),
        ),
        min_size=1,
        max_size=3,
    ),
    select=st.sampled_from(["Max", "Min"]),
    values=metric_series(min_size=30),
    gaps=GAPS,
    start=st.integers(1, 40),
)
def test_no_window_exceeds_its_rate_limits(policy, limits, select, values, gaps, start):
    rules = ScalingRules(policies=limits, select_policy=select)
    loop = DecisionLoop(
        policy.clone(),
        min_replicas=0,
        max_replicas=1000,
        behavior=Behavior(scale_up=rules, scale_down=rules),
    )
    log = drive(loop, values, gaps, start)
    for d in log:
        if not d.changed:
            continue
        up = d.replicas > d.current
        # the count at the start of each period, rebuilt from the decisions alone
        allowed = [
            _allowance(limit, count_at(log, start, d.time - limit.period_seconds), up)
            for limit in limits
        ]
        if up:
            bound = max(allowed) if select == "Max" else min(allowed)
            assert d.replicas <= max(bound, d.current), (d, allowed)
        else:
            bound = min(allowed) if select == "Max" else max(allowed)
            assert d.replicas >= min(bound, d.current), (d, allowed)


@given(
    desired=st.integers(0, 50),
    current=st.integers(0, 50),
    history=st.lists(st.tuples(st.floats(0, 600), st.integers(0, 50)), max_size=20),
    up=st.sampled_from([0.0, 60.0, 300.0]),
    down=st.sampled_from([0.0, 60.0, 300.0]),
)
def test_stabilization_never_moves_against_the_window(desired, current, history, up, down):
    now = 600.0
    result, _, _ = stabilize(desired, current, now, sorted(history), up, down)
    # between current and desired: it may slow a change, never reverse or overshoot it
    assert min(current, desired) <= result <= max(current, desired)
    if desired < current:
        # a scale-down never goes below anything recommended inside the window
        inside = [r for t, r in history if t > now - down]
        assert result >= min(current, max(inside, default=desired))
    if desired > current:
        inside = [r for t, r in history if t > now - up]
        assert result <= max(current, min(inside, default=desired))


@settings(max_examples=50, deadline=None)
@given(
    policy=POLICIES,
    behavior=behaviors(),
    cooldown=cooldowns(),
    values=metric_series(),
    gaps=GAPS,
    start=st.integers(0, 40),
)
def test_determinism(policy, behavior, cooldown, values, gaps, start):
    def fresh():
        return DecisionLoop(
            policy.clone(),
            min_replicas=1,
            max_replicas=60,
            behavior=behavior,
            cooldown=cooldown,
            warmup=30.0,
        )

    assert drive(fresh(), values, gaps, start) == drive(fresh(), values, gaps, start)
