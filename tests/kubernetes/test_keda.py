"""KEDA's ScaledObject: activation, scaling to and from zero, polling, the HPA for 1..N."""

import pytest

from elastic import Observation, Reason, checks
from elastic.errors import PolicyError
from elastic.keda import ScaledObject
from elastic.policies import TargetTracking

QUEUE = TargetTracking("queue", 10.0, kind="value")  # the HPA: 10 messages per replica


def keda(**changes):
    params = {"hpa": QUEUE, "metric": "queue", "activation_threshold": 50.0} | changes
    return ScaledObject(**params)


def step(policy, time, replicas, queue):
    obs = Observation(float(time), replicas, {} if queue is None else {"queue": queue})
    policy.observe(obs)
    return policy.recommend(obs)


# (why, changes to the ScaledObject, [(time, replicas, queue, expected replicas)])
TABLE = [
    ("below the activation threshold stays at zero, whatever the HPA's math (40 -> 4)", {},
     [(0, 0, 40.0, 0)]),
    ("the threshold is strict: exactly 50 is not active", {}, [(0, 0, 50.0, 0)]),
    ("activation goes to one replica, however large the metric", {}, [(0, 0, 400.0, 1)]),
    ("activation goes to min_replica_count when it is above one", {"min_replica_count": 3},
     [(0, 0, 400.0, 3)]),
    ("from one replica the HPA decides: 400 / 10 = 40", {}, [(0, 0, 400.0, 1), (15, 1, 400.0, 40)]),
    ("max_replica_count bounds the HPA", {"max_replica_count": 25},
     [(0, 0, 400.0, 1), (15, 1, 400.0, 25)]),
    ("activation waits for a poll (every 30 s)", {},
     [(0, 0, 10.0, 0), (15, 0, 400.0, 0), (30, 0, 400.0, 1)]),
    ("inactive, but last active less than the cooldown ago: the HPA keeps one replica", {},
     [(0, 0, 400.0, 1), (30, 1, 0.0, 1), (300, 1, 0.0, 1)]),
    ("inactive for more than the cooldown since the last active poll: to zero", {},
     [(0, 0, 400.0, 1), (30, 1, 0.0, 1), (330, 1, 0.0, 0)]),
    ("never active and at one replica: to zero at the first poll", {}, [(0, 1, 0.0, 0)]),
    ("with min_replica_count 1 it never goes to zero", {"min_replica_count": 1},
     [(0, 1, 0.0, 1), (600, 1, 0.0, 1)]),
    ("no metric is a scaler error: no activation, the policy abstains (the loop holds)", {},
     [(0, 0, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "steps"), [pytest.param(*row[1:], id=row[0]) for row in TABLE])
def test_keda(changes, steps):
    policy = keda(**changes)
    for time, replicas, queue, expected in steps:
        assert step(policy, time, replicas, queue).replicas == expected, (time, replicas, queue)


def test_the_hpa_does_not_run_at_zero():
    policy = keda()
    step(policy, 0, 0, 400.0)
    assert step(policy, 15, 1, 400.0).reason is Reason.TARGET_TRACKING


@pytest.mark.parametrize("params", ScaledObject.conformance_params())
@pytest.mark.parametrize("check", list(checks.yield_checks(keda())))
def test_conformance(params, check):
    check(ScaledObject(**params))


def test_bad_parameters_name_themselves():
    with pytest.raises(PolicyError, match="min_replica_count=5"):
        keda(min_replica_count=5, max_replica_count=2)
    with pytest.raises(PolicyError, match="hpa"):
        ScaledObject("hpa", "queue")


@pytest.mark.parametrize("value", [None, float("inf"), float("-inf"), -3.0])
def test_an_unreadable_trigger_never_scales_to_zero(value):
    # KEDA: no active trigger but a scaler error, and no fallback -> no scale to zero
    policy = keda()
    assert step(policy, 0, 0, 400.0).replicas == 1
    assert step(policy, 15, 1, 400.0).replicas == 40
    rec = step(policy, 600, 40, value)
    assert rec.replicas != 0
    assert step(policy, 900, 40, value).replicas != 0


# --- issue 16: an HPA inside keeps its behavior; KEDA's own 0 <-> 1 does not pass through it --


def _keda_over_hpa(behavior, **keda):
    from elastic.kubernetes import HorizontalPodAutoscaler, Metric

    queue = Metric("External", "queue", "AverageValue", 10_000)  # 10 messages per replica
    hpa = HorizontalPodAutoscaler([queue], max_replicas=100, behavior=behavior)
    return ScaledObject(hpa, "queue", activation_threshold=50.0, **keda).loop()


def _run(loop, syncs):
    return [loop.step(Observation(float(t), r, {"queue": q})).replicas for t, r, q in syncs]


def test_a_wrapped_hpa_keeps_its_behavior_between_one_and_n():
    from elastic import Behavior

    loop = _keda_over_hpa(Behavior.kubernetes_default())
    # KEDA activates to 1; the HPA wants 40, and its default behavior allows
    # max(4 pods, 100 %) per 15 s: 1 -> 5 -> 10
    assert _run(loop, [(0, 0, 400.0), (15, 1, 400.0), (30, 5, 400.0)]) == [1, 5, 10]


def test_keda_scales_to_zero_past_the_wrapped_hpas_window():
    from elastic import Behavior

    loop = _keda_over_hpa(Behavior.kubernetes_default(), cooldown_period=60.0)
    syncs = [(0, 0, 400.0), (15, 1, 400.0), (30, 5, 400.0), (60, 10, 0.0), (90, 10, 0.0)]
    # the HPA's 300 s window holds the 40 it wanted at 15 s and 30 s
    assert _run(loop, syncs) == [1, 5, 10, 10, 10]
    # the trigger was last active at the poll of 30 s: past KEDA's 60 s cooldown it scales
    # to zero itself, whatever the HPA's window holds
    assert _run(loop, [(120, 10, 0.0)]) == [0]
