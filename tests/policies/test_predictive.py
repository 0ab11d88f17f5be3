"""Predictive scaling: sizing for the forecast, AWS's rules, fallback, and the hybrid."""

import math

import numpy as np
import pytest

from elastic import DecisionLoop, Observation, Reason
from elastic.core.params import clone
from elastic.errors import PolicyError
from elastic.forecast import EWMA, AWSStyle, Drift, External, HoltWinters, LastValue
from elastic.policies import MaxOf, Predictive, TargetTracking


def fed(policy, values, *, start=0.0, step=60.0, replicas=4, metric="rps", **extra):
    """Observe ``values`` of ``metric``, ``step`` apart; return the last observation."""
    obs = None
    for i, value in enumerate(values):
        obs = Observation(start + i * step, replicas, {metric: value}, **extra)
        policy.observe(obs)
    return obs


def at(obs, **changes):
    fields = {
        "time": obs.time,
        "replicas": obs.replicas,
        "metrics": obs.metrics,
        "ready": obs.ready,
        "startup": obs.startup,
    }
    return Observation(**(fields | changes))


# (why, policy, loads, replicas at decision, expected replicas, expected reason)
TABLE = [
    pytest.param(
        Predictive(Drift(), "rps", 100.0, lead_time=120.0),
        [400.0, 500.0, 600.0],
        6,
        8,
        Reason.FORECAST,
        id="rising load: sized for the forecast two steps ahead (800 rps)",
    ),
    pytest.param(
        Predictive(Drift(), "rps", 100.0, lead_time=120.0),
        [600.0, 500.0, 400.0],
        6,
        None,
        Reason.SCALE_IN_DISABLED,
        id="falling load: AWS predictive scaling never scales in; it abstains",
    ),
    pytest.param(
        Predictive(Drift(), "rps", 100.0, lead_time=120.0, scale_in=True),
        [600.0, 500.0, 400.0],
        6,
        2,
        Reason.FORECAST,
        id="scale_in=True: it may ask for fewer (200 rps forecast)",
    ),
    pytest.param(
        Predictive(LastValue(), "rps", 100.0, lead_time=60.0, buffer=0.25),
        [400.0, 400.0],
        4,
        5,
        Reason.FORECAST,
        id="buffer: 25 % more load than forecast",
    ),
    pytest.param(
        Predictive(LastValue(), "rps", 100.0, lead_time=60.0, mode="forecast_only"),
        [900.0, 900.0],
        4,
        None,
        Reason.FORECAST_ONLY,
        id="forecast_only: abstains, says what it would do",
    ),
    pytest.param(
        Predictive(LastValue(), "cpu", 50.0, kind="utilization", lead_time=60.0),
        [80.0, 80.0],
        4,
        7,  # 80 % of 4 ready replicas = 320 % of a replica; at 50 % each: 6.4
        Reason.FORECAST,
        id="utilization: per-replica value times ready replicas is the load",
    ),
]


@pytest.mark.parametrize(("policy", "loads", "replicas", "expected", "reason"), TABLE)
def test_rules(policy, loads, replicas, expected, reason):
    metric = policy.metric
    obs = fed(policy, loads, metric=metric)
    rec = policy.recommend(at(obs, replicas=replicas))
    assert (rec.replicas, rec.reason) == (expected, reason), rec.detail


def test_forecast_only_records_what_it_would_do():
    policy = Predictive(LastValue(), "rps", 100.0, lead_time=60.0, mode="forecast_only")
    rec = policy.recommend(fed(policy, [900.0, 900.0]))
    assert rec.detail.startswith("would ask for 9:")


def test_an_upper_interval_level_sizes_for_the_upper_bound():
    loads = [100.0, 120.0, 90.0, 110.0, 100.0]
    mean = Predictive(LastValue(), "rps", 10.0, lead_time=60.0)
    upper = Predictive(LastValue(), "rps", 10.0, lead_time=60.0, level=95)
    for policy in (mean, upper):
        obs = fed(policy, loads)
    forecast = LastValue().fit(loads).forecast(1, level=(95,))
    assert upper.plan(obs).load == pytest.approx(forecast.upper[0][0])
    assert upper.plan(obs).replicas > mean.plan(obs).replicas == 10


def test_default_lead_time_is_startup_plus_the_control_interval():
    policy = Predictive(Drift(), "rps", 100.0)
    obs = fed(policy, [100.0, 200.0, 300.0], startup=120.0)
    plan = policy.plan(obs)
    assert plan.at == obs.time + 120.0 + 60.0 and plan.steps == 3
    assert plan.load == pytest.approx(600.0)
    no_startup = Predictive(Drift(), "rps", 100.0)
    assert no_startup.plan(fed(no_startup, [100.0, 200.0, 300.0])).steps == 1


def test_buckets_average_the_load_and_learn_one_value_each():
    policy = Predictive(LastValue(), "rps", 100.0, bucket=60.0, lead_time=0.0)
    fed(policy, [100.0, 200.0, 300.0, 400.0, 50.0], step=15.0)  # 0..45 s, then 60 s
    assert policy.model_.n_ == 1 and policy.model_.last_ == 250.0
    assert policy.model_.t_ == 0.0


def test_fallback_while_the_forecaster_warms_up_then_the_forecast():
    policy = Predictive(
        HoltWinters(periods=(4,)),
        "rps",
        100.0,
        lead_time=60.0,
        fallback=TargetTracking("rps", 100.0, kind="value"),
    )
    obs = fed(policy, [300.0, 310.0])
    rec = policy.recommend(obs)
    assert rec.reason is Reason.FALLBACK and rec.replicas == 4  # within tolerance of 310
    assert "needs 4 to forecast" in rec.detail
    obs = fed(policy, [300.0, 310.0, 700.0, 720.0, 690.0], start=120.0)
    assert policy.recommend(obs).reason is Reason.FORECAST
    alone = Predictive(HoltWinters(periods=(4,)), "rps", 100.0)
    assert alone.recommend(fed(alone, [300.0])).reason is Reason.NO_FORECAST


def test_a_failing_forecaster_falls_back_and_recovers():
    def flaky(history, horizon):
        if len(history) == 3:
            raise RuntimeError("did not converge")
        return np.full(horizon, history[-1])

    policy = Predictive(
        External(flaky, min_samples=1),
        "rps",
        100.0,
        lead_time=60.0,
        fallback=TargetTracking("rps", 100.0, kind="value"),
    )
    obs = fed(policy, [500.0, 500.0, 500.0])
    rec = policy.recommend(obs)
    assert rec.reason is Reason.FALLBACK and "did not converge" in rec.detail
    obs = fed(policy, [500.0], start=180.0)
    assert policy.recommend(obs).reason is Reason.FORECAST


def test_the_given_forecaster_is_left_untouched():
    model = LastValue()
    policy = Predictive(model, "rps", 100.0)
    fed(policy, [1.0, 2.0])
    assert model.n_ == 0 and policy.model_.n_ == 2


def test_increase_max_capacity_raises_the_maximum_and_keeps_it():
    # AWS: forecast 50, max 40, buffer 10 -> the maximum becomes 55 and stays
    policy = Predictive(
        LastValue(),
        "rps",
        1.0,
        lead_time=60.0,
        max_capacity_behavior="increase",
        max_capacity=40,
        max_capacity_buffer=10,
    )
    loop = DecisionLoop(policy, min_replicas=1, max_replicas=40)
    obs = fed(loop_policy := policy, [50.0, 50.0], replicas=30)
    assert loop_policy.raised_max_ == 55
    assert loop.step(at(obs, time=180.0)).replicas == 50
    fed(policy, [5.0, 5.0], start=240.0, replicas=50)
    assert policy.recommend(at(obs, time=300.0, replicas=50)).max_replicas == 55
    honor = Predictive(LastValue(), "rps", 1.0, lead_time=60.0)
    loop = DecisionLoop(honor, min_replicas=1, max_replicas=40)
    obs = fed(honor, [50.0, 50.0], replicas=30)
    assert loop.step(at(obs, time=180.0)).replicas == 40


def test_hybrid_takes_the_larger_and_lets_tracking_scale_in():
    predictive = Predictive(Drift(), "rps", 100.0, lead_time=120.0)
    tracking = TargetTracking("rps", 100.0, kind="value")
    hybrid = MaxOf([predictive, tracking])
    rising = fed(hybrid, [400.0, 500.0, 600.0], replicas=6)
    assert hybrid.recommend(rising).replicas == 8  # predictive: 800 rps in two minutes
    falling = fed(MaxOf([p := Predictive(Drift(), "rps", 100.0), tracking]), [600.0, 300.0])
    assert p.recommend(at(falling, replicas=6)).replicas is None
    assert MaxOf([p, tracking]).recommend(at(falling, replicas=6)).replicas == 3


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"forecaster": "ewma"}, "forecaster"),
        ({"target": 0}, "target"),
        ({"level": 100}, "level"),
        ({"mode": "ForecastOnly"}, "mode"),
        ({"max_capacity_behavior": "increase"}, "max_capacity"),
        ({"max_capacity_buffer": 150}, "max_capacity_buffer"),
        ({"bucket": -60.0}, "bucket"),
        ({"fallback": 3}, "fallback"),
    ],
)
def test_bad_parameters_name_themselves(params, name):
    args = {"forecaster": EWMA(), "metric": "rps", "target": 100.0} | params
    with pytest.raises(PolicyError) as error:
        Predictive(**args)
    assert error.value.name == name


def test_the_example_from_the_docstring_by_hand():
    policy = Predictive(Drift(), "rps", 100.0, lead_time=120.0)
    obs = fed(policy, [400.0, 500.0, 600.0])
    plan = policy.plan(obs)
    # drift 100 per minute; two minutes ahead of 600: 800 rps, 8 replicas of 100
    assert (plan.steps, plan.load, plan.replicas) == (2, 800.0, math.ceil(800 / 100))


def test_history_lets_it_forecast_from_the_first_step():
    hours = np.arange(48) * 3600.0
    loads = 300.0 + 200.0 * np.sin(2 * np.pi * np.arange(48) / 24)
    policy = Predictive(AWSStyle(), "rps", 100.0, lead_time=3600.0, history=(hours, loads))
    first = Observation(48 * 3600.0, 3, {"rps": 300.0})
    policy.observe(first)
    rec = policy.recommend(first)
    assert rec.reason is Reason.FORECAST and rec.replicas == math.ceil(loads[1] / 100.0 - 1e-9)
    assert clone(policy).model_.ready  # a clone learns the same history


@pytest.mark.parametrize(
    "history",
    [([0.0, 60.0], [1.0]), ([60.0, 0.0], [1.0, 2.0]), ([0.0, 60.0], [1.0, math.inf]), "abc"],
    ids=["lengths differ", "times go back", "infinite load", "not two sequences"],
)
def test_bad_history_names_itself(history):
    with pytest.raises(PolicyError) as error:
        Predictive(EWMA(), "rps", 100.0, history=history)
    assert error.value.name == "history"


def test_one_predictive_shared_by_two_loops_keeps_forecasting():
    shared = Predictive(LastValue(), "rps", 100.0)
    loops = [DecisionLoop(shared, min_replicas=1, max_replicas=50) for _ in range(2)]
    reasons = []
    for i in range(6):
        obs = Observation(60.0 * i, 3, {"rps": 250.0})
        reasons += [loop.step(obs).stage("combine").reason for loop in loops]
    assert reasons[-2:] == [Reason.FORECAST, Reason.FORECAST], reasons
