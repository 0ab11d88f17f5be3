import math

import numpy as np
import pytest

from elastic import (
    Behavior,
    Cooldown,
    DecisionLoop,
    ElasticError,
    Observation,
    ParameterError,
    RateLimit,
    Reason,
    ScalingRules,
)
from elastic.core import STAGES
from elastic.policies import Scheduled, ScheduledAction, StepScaling, TargetTracking


def obs(t, replicas, **metrics):
    return Observation(time=float(t), replicas=replicas, metrics=metrics)


def run(loop, points, metric="cpu", start=None):
    """Feed (time, value) points, carrying the replica count from decision to decision."""
    replicas = start
    decisions = []
    for t, value in points:
        d = loop.step(obs(t, replicas, **{metric: value}))
        replicas = d.replicas
        decisions.append(d)
    return decisions


def test_stages_are_reported_in_the_documented_order():
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    d = loop.step(obs(0, 2, cpu=100.0))
    assert tuple(s.name for s in d.stages) == STAGES
    assert d.stage("combine").replicas == 4
    with pytest.raises(KeyError, match="stabilize"):
        d.stage("nope")


def test_bounds_win_over_policies():
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=2, max_replicas=5)
    assert loop.step(obs(0, 4, cpu=500.0)).replicas == 5
    d = loop.step(obs(15, 5, cpu=1.0))
    assert (d.replicas, d.reason) == (2, Reason.TOO_FEW)


def test_kubernetes_default_behavior_end_to_end():
    loop = DecisionLoop(
        TargetTracking("cpu", 50.0),
        min_replicas=1,
        max_replicas=100,
        behavior=Behavior.kubernetes_default(),
    )
    ds = run(loop, [(0, 500.0), (15, 500.0), (30, 10.0), (315, 10.0), (345, 10.0)], start=1)
    # 1 -> wants 10, limited to max(1+4, 2) = 5; then 5 -> 50, limited to max(9, 10) = 10
    assert [d.replicas for d in ds[:2]] == [5, 10]
    assert ds[1].reason is Reason.SCALE_UP_LIMIT
    # at 30 s the 300 s scale-down window holds the 50 recommended at 15 s... capped at current
    assert (ds[2].replicas, ds[2].reason) == (10, Reason.STABILIZED)
    # at 315 s the window (15, 315] holds only the 2 of 30 s: scale in, 100 % per 15 s allows it
    assert ds[3].replicas == 2
    # cpu 10 % on 2 replicas wants 1, but the window still holds the 2 of 315 s
    assert (ds[4].stage("combine").replicas, ds[4].replicas) == (1, 2)
    assert ds[4].reason is Reason.STABILIZED


def test_simple_cooldown_ignores_everything_until_it_ends():
    loop = DecisionLoop(
        StepScaling("cpu", 70.0, steps=[(0, None, 2), (None, 0, -1)]),
        min_replicas=1,
        max_replicas=20,
        cooldown=300,
    )
    ds = run(loop, [(0, 90.0), (60, 90.0), (299, 10.0), (300, 90.0), (400, 10.0)], start=4)
    assert [d.replicas for d in ds] == [6, 6, 6, 8, 8]
    assert ds[1].reason is Reason.COOLDOWN and ds[2].reason is Reason.COOLDOWN


def test_simple_cooldown_never_holds_outside_the_bounds():
    schedule = Scheduled([ScheduledAction(at=60.0, min_replicas=9)])
    loop = DecisionLoop(
        [StepScaling("cpu", 70.0, steps=[(0, None, 2)]), schedule],
        min_replicas=1,
        max_replicas=20,
        cooldown=300,
    )
    ds = run(loop, [(0, 90.0), (60, 50.0)], start=4)
    assert [d.replicas for d in ds] == [6, 9]


def test_application_cooldown_counts_recent_scale_out_toward_the_next():
    # AWS: first +2, then a +3 step during the scale-out cooldown adds only 1
    policy = StepScaling("cpu", 50.0, steps=[(0, 20, 2), (20, None, 3), (None, 0, -1)])
    loop = DecisionLoop(
        policy, min_replicas=1, max_replicas=50, cooldown=Cooldown(scale_out=300, scale_in=300)
    )
    ds = run(loop, [(0, 60.0), (60, 80.0), (400, 80.0)], start=10)
    assert [d.replicas for d in ds] == [12, 13, 16]


def test_application_cooldown_blocks_scale_in_and_scale_out_cancels_it():
    policy = TargetTracking("cpu", 50.0)
    loop = DecisionLoop(
        policy, min_replicas=1, max_replicas=50, cooldown=Cooldown(scale_out=0, scale_in=300)
    )
    ds = run(loop, [(0, 25.0), (60, 10.0), (120, 100.0), (180, 10.0)], start=10)
    assert ds[0].replicas == 5  # scale-in
    assert (ds[1].replicas, ds[1].reason) == (5, Reason.COOLDOWN)
    assert ds[2].replicas == 10  # scale-out goes through
    assert ds[3].replicas == 2  # ... and cancelled the cooldown


def test_warmup_counts_warming_replicas_and_blocks_scale_in():
    # AWS step scaling: the same alarm while replicas warm produces one activity;
    # a bigger step adds only the difference; scale-in waits for warm-up to end.
    policy = StepScaling(
        "cpu",
        50,
        adjustment_type="PercentChangeInCapacity",
        steps=[(0, 10, 0), (10, 20, 10), (20, None, 30), (-10, 0, 0), (None, -10, -30)],
    )
    loop = DecisionLoop(policy, min_replicas=1, max_replicas=100, warmup=300)
    ds = run(loop, [(0, 60.0), (60, 60.0), (120, 70.0), (180, 20.0), (500, 20.0)], start=10)
    assert [d.replicas for d in ds[:3]] == [11, 11, 13]
    assert (ds[3].replicas, ds[3].reason) == (13, Reason.WARMUP)
    assert ds[4].replicas == 10  # -30 % of 13 = -3.9 -> -3


def test_observed_warming_replicas_are_not_counted():
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=50)
    # 10 replicas, 4 warming: the 6 others run at 100 % and want 12
    d = loop.step(Observation(0.0, 10, {"cpu": 100.0}, warming=4))
    assert d.replicas == 12
    d = loop.step(Observation(15.0, 12, {"cpu": 10.0}, warming=2))
    assert (d.replicas, d.reason) == (12, Reason.WARMUP)


def test_aws_combination_needs_every_policy_to_scale_in():
    loop = DecisionLoop(
        [TargetTracking("cpu", 50.0), TargetTracking("rps", 100.0, kind="value")],
        min_replicas=1,
        max_replicas=50,
        combine="aws",
    )
    assert loop.step(Observation(0.0, 10, {"cpu": 10.0})).replicas == 10
    assert loop.step(Observation(15.0, 10, {"cpu": 10.0, "rps": 300.0})).replicas == 3


def test_the_loop_remembers_scale_events_with_times():
    loop = DecisionLoop(
        TargetTracking("cpu", 50.0),
        min_replicas=1,
        max_replicas=50,
        behavior=Behavior(scale_up=ScalingRules(policies=[RateLimit("Pods", 2, 60)])),
    )
    ds = run(loop, [(0, 500.0), (30, 500.0), (59, 500.0)], start=2)
    assert [d.replicas for d in ds] == [4, 4, 4]
    assert [(e.replica_change, e.time) for e in loop.up_events_] == [(2, 0.0)]
    loop.step(obs(61, 4, cpu=500.0))
    # the event of 0 s left the 60 s period and is forgotten
    assert [(e.replica_change, e.time) for e in loop.up_events_] == [(2, 61.0)]


def test_same_inputs_same_decisions_across_clones():
    loop = DecisionLoop(
        TargetTracking("cpu", 50.0),
        min_replicas=1,
        max_replicas=50,
        behavior=Behavior.kubernetes_default(),
    )
    points = [(15 * i, 20.0 + (37 * i) % 150) for i in range(200)]
    assert run(loop.clone(), points, start=3) == run(loop.clone(), points, start=3)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"min_replicas": 5, "max_replicas": 2}, "min_replicas"),
        ({"min_replicas": -1, "max_replicas": 2}, "min_replicas"),
        ({"min_replicas": 1, "max_replicas": 2.5}, "max_replicas"),
        ({"min_replicas": 1, "max_replicas": 2, "combine": "sum"}, "combine"),
        ({"min_replicas": 1, "max_replicas": 2, "cooldown": -5}, "cooldown"),
        ({"min_replicas": 1, "max_replicas": 2, "warmup": float("nan")}, "warmup"),
        ({"min_replicas": 1, "max_replicas": 2, "behavior": {"scale_up": {}}}, "behavior"),
    ],
)
def test_bad_loop_parameters_name_themselves(kwargs, name):
    with pytest.raises(ElasticError, match=name) as info:
        DecisionLoop(TargetTracking("cpu", 50.0), **kwargs)
    assert info.value.name == name
    assert "expected" in str(info.value)


def test_no_policy_and_not_a_policy_are_errors():
    with pytest.raises(ParameterError, match="policies"):
        DecisionLoop([], min_replicas=1, max_replicas=2)
    with pytest.raises(ParameterError, match=r"policies\[1\]"):
        DecisionLoop([TargetTracking("cpu", 50.0), "cpu"], min_replicas=1, max_replicas=2)


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        pytest.param({"replicas": -1}, "replicas", id="negative replicas"),
        pytest.param({"replicas": 2.0}, "replicas", id="replicas a float"),
        pytest.param({"replicas": None}, "replicas", id="replicas missing"),
        pytest.param({"replicas": True}, "replicas", id="replicas a bool"),
        pytest.param({"time": math.inf}, "time", id="time infinite"),
        pytest.param({"time": math.nan}, "time", id="time NaN"),
        pytest.param({"time": "60"}, "time", id="time a string"),
        pytest.param({"ready": -1}, "ready", id="negative ready"),
        pytest.param({"ready": 3}, "ready", id="more ready than replicas"),
        pytest.param({"pending": -2}, "pending", id="negative pending"),
        pytest.param({"warming": 1.5}, "warming", id="warming a float"),
        pytest.param({"warming": 3}, "warming", id="more warming than replicas"),
        pytest.param({"ready": 1, "warming": 2}, "warming", id="more warming than ready"),
        pytest.param({"terminating": -1}, "terminating", id="negative terminating"),
        pytest.param({"startup": -5.0}, "startup", id="negative startup"),
        pytest.param({"startup": math.inf}, "startup", id="startup infinite"),
        pytest.param({"metrics": None}, "metrics", id="metrics None"),
        pytest.param({"metrics": [("cpu", 50.0)]}, "metrics", id="metrics a list"),
        pytest.param({"metrics": {"cpu": True}}, r"metrics\['cpu'\]", id="metric a bool"),
        pytest.param({"metrics": {"cpu": "50"}}, r"metrics\['cpu'\]", id="metric a string"),
        pytest.param({"metrics": {"cpu": None}}, r"metrics\['cpu'\]", id="metric None"),
        pytest.param({"metrics": {1: 50.0}}, "metrics", id="metric name not a string"),
        pytest.param({"metrics": {"cpu": 10**400}}, r"metrics\['cpu'\]", id="metric too big"),
        pytest.param({"time": 10**400}, "time", id="time too big for a float"),
    ],
)
def test_impossible_observations_are_refused_when_made(fields, name):
    values = {"time": 0.0, "replicas": 2, "metrics": {"cpu": 50.0}} | fields
    with pytest.raises(ParameterError, match=rf"Observation: {name}="):
        Observation(**values)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_metric_reads_as_missing(value):
    observation = Observation(0.0, 2, {"cpu": value})
    assert observation.metric("cpu") is None
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=5)
    assert loop.step(observation).replicas == 2


def test_numpy_numbers_make_an_observation():
    observation = Observation(
        np.float64(5.0), np.int64(3), {"cpu": np.float32(40.0)}, ready=np.int32(2)
    )
    assert observation.metric("cpu") == 40.0


def test_time_must_not_go_backwards():
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=5)
    loop.step(obs(100, 2, cpu=50.0))
    with pytest.raises(ParameterError, match=r"obs\.time"):
        loop.step(obs(99, 2, cpu=50.0))


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: RateLimit("Replicas", 4, 15), "type"),
        (lambda: RateLimit("Pods", 0, 15), "value"),
        (lambda: RateLimit("Pods", 4, 0), "period_seconds"),
        (lambda: ScalingRules(-1), "stabilization_window_seconds"),
        (lambda: ScalingRules(select_policy="max"), "select_policy"),
        (lambda: Cooldown(-1), "scale_out"),
        (lambda: Cooldown(mode="ec2"), "mode"),
    ],
)
def test_bad_rules_name_themselves(build, name):
    with pytest.raises(ParameterError) as info:
        build()
    assert info.value.name == name


@pytest.mark.parametrize(
    ("cpu", "reason"),
    [
        pytest.param(52.0, Reason.WITHIN_TOLERANCE, id="inside the tolerance: hold"),
        pytest.param(math.nan, Reason.NO_DATA, id="no data: hold"),
        pytest.param(100.0, Reason.TARGET_TRACKING, id="scale out"),
    ],
)
def test_decision_reason_is_the_policys_own_when_no_stage_changes_it(cpu, reason):
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    decision = loop.step(Observation(0.0, 4, {"cpu": cpu}))
    assert decision.reason is reason
    assert decision.stage("combine").reason is reason


def test_the_count_found_at_the_first_step_opens_the_scale_down_window():
    # upstream's recordInitialRecommendation: 10 replicas idle at the first decision hold
    # for the 300 s window, then go (the loop used to drop to 1 at once)
    loop = DecisionLoop(
        TargetTracking("cpu", 60.0),
        min_replicas=1,
        max_replicas=50,
        behavior=Behavior.kubernetes_default(),
    )
    held = [loop.step(Observation(t, 10, {"cpu": 6.0})).replicas for t in (0.0, 150.0, 299.0)]
    assert held == [10, 10, 10]
    assert loop.step(Observation(300.0, 10, {"cpu": 6.0})).replicas == 1
