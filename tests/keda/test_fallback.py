"""KEDA's fallback, worked by hand (kedacore/keda pkg/fallback/fallback.go, 2.18 to 2.20).

Every row runs a ScaledObject whose HPA is built from its triggers, with Kubernetes' default
behavior but no scale-down window (so a fallback below the current count shows at once):
scale-up is at most max(4 pods, 100 %) per 15 s. The Prometheus trigger's threshold is 10 per
replica, so a reading of 40 asks for 4 replicas.
"""

from dataclasses import replace

import pytest

from elastic import Behavior, Observation, Reason
from elastic.errors import ParameterError, PolicyError
from elastic.keda import Fallback, PrometheusTrigger, ResourceTrigger, ScaledObject

K8S = Behavior.kubernetes_default()
NO_WINDOW = replace(K8S, scale_down=replace(K8S.scale_down, stabilization_window_seconds=0.0))
QUEUE = PrometheusTrigger("queue", 10.0)


def keda(fallback, *, triggers=(QUEUE,), min_replica_count=1):
    return ScaledObject(
        triggers=list(triggers),
        min_replica_count=min_replica_count,
        fallback=fallback,
        behavior=NO_WINDOW,
        polling_interval=15.0,
    )


def run(policy, steps):
    """``steps``: (time, replicas, metrics, ready); the recommendations, in order."""
    out = []
    for time, replicas, metrics, ready in steps:
        obs = Observation(float(time), replicas, metrics, ready=ready)
        policy.observe(obs)
        out.append(policy.recommend(obs).replicas)
    return out


FAIL = {}  # no queue reading: a failed read
# (why, fallback, steps as (time, replicas, metrics, ready), expected recommendations)
TABLE = [
    ("failureThreshold 3: three failures in a row are errors (the HPA holds), the fourth falls "
     "back to 6", Fallback(3, 6),
     [(0, 4, FAIL, 4), (15, 4, FAIL, 4), (30, 4, FAIL, 4), (45, 4, FAIL, 4)], [4, 4, 4, 6]),
    ("failureThreshold 0: the first failure falls back", Fallback(0, 6),
     [(0, 4, FAIL, 4)], [6]),
    ("a read that works resets the count: fail, work (40 -> 4), fail is one failure again, "
     "the next is two", Fallback(1, 6),
     [(0, 4, FAIL, 4), (15, 4, {"queue": 40.0}, 4), (30, 4, FAIL, 4), (45, 4, FAIL, 4)],
     [4, 4, 4, 6]),
    ("NaN, infinity and a negative value are failed reads too", Fallback(2, 6),
     [(0, 4, {"queue": float("nan")}, 4), (15, 4, {"queue": float("inf")}, 4),
      (30, 4, {"queue": -1.0}, 4)], [4, 4, 6]),
    ("static below the current count scales in to it", Fallback(0, 2),
     [(0, 4, FAIL, 4)], [2]),
    ("currentReplicas holds the current count, whatever replicas says",
     Fallback(0, 9, "currentReplicas"), [(0, 4, FAIL, 4)], [4]),
    ("currentReplicasIfHigher below its replicas: the replicas (6)",
     Fallback(0, 6, "currentReplicasIfHigher"), [(0, 4, FAIL, 4)], [6]),
    ("currentReplicasIfHigher above its replicas: the current count (8)",
     Fallback(0, 6, "currentReplicasIfHigher"), [(0, 8, FAIL, 8)], [8]),
    ("currentReplicasIfLower below its replicas: the current count (4)",
     Fallback(0, 6, "currentReplicasIfLower"), [(0, 4, FAIL, 4)], [4]),
    ("currentReplicasIfLower above its replicas: the replicas (6)",
     Fallback(0, 6, "currentReplicasIfLower"), [(0, 8, FAIL, 8)], [6]),
    ("the HPA's 10 % tolerance still applies: 11 from 10 is a ratio of 1.1, so 10 stay",
     Fallback(0, 11), [(0, 10, FAIL, 10)], [10]),
]  # fmt: skip


@pytest.mark.parametrize(("fallback", "steps", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in TABLE])  # fmt: skip
def test_fallback(fallback, steps, expected):
    assert run(keda(fallback), steps) == expected


def test_the_failure_count_is_learned_state_that_only_observe_changes():
    policy = keda(Fallback(3, 6))
    obs = Observation(0.0, 4, {}, ready=4)
    policy.observe(obs)
    assert policy.failures_ == (1,)
    policy.recommend(obs)
    policy.recommend(obs)
    assert policy.failures_ == (1,)
    policy.observe(obs)  # the same time again (a retried step) is not a second read
    assert policy.failures_ == (1,)
    policy.observe(Observation(15.0, 4, {"queue": 40.0}, ready=4))
    assert policy.failures_ == (0,)


def test_the_fallback_says_so_in_the_detail():
    policy = keda(Fallback(0, 6))
    obs = Observation(0.0, 4, {}, ready=4)
    policy.observe(obs)
    detail = policy.recommend(obs).detail
    assert "fallback: queue failed 1 reads in a row (no value for queue), reported as 60" in detail


def test_a_value_target_divides_by_the_ready_replicas():
    trigger = PrometheusTrigger("queue", 10.0, metric_type="Value")
    # 3 of 4 ready: KEDA reports 10 x 6 / 3 = 20; the HPA's Value rule: ceil(20 / 10 x 3) = 6
    assert run(keda(Fallback(0, 6), triggers=[trigger]), [(0, 4, FAIL, 3)]) == [6]
    # none ready: KEDA cannot fall back; the error stands and the count holds
    policy = keda(Fallback(0, 6), triggers=[trigger])
    obs = Observation(0.0, 4, {}, ready=0)
    policy.observe(obs)
    rec = policy.recommend(obs)
    assert (rec.replicas, rec.reason) == (4, Reason.NO_DATA)


def test_a_trigger_on_its_fallback_is_active_and_scales_from_zero():
    # KEDA's isActiveOrFallback: at zero, KEDA activates to 1, then the HPA asks for 5
    policy = keda(Fallback(0, 5), min_replica_count=0)
    assert run(policy, [(0, 0, FAIL, 0), (15, 1, FAIL, 1)]) == [1, 5]


def test_without_fallback_a_failing_trigger_never_activates_nor_scales_to_zero():
    policy = keda(None, min_replica_count=0)
    assert run(policy, [(0, 0, FAIL, 0)]) == [None]
    assert run(keda(None, min_replica_count=0), [(0, 3, FAIL, 3), (600, 3, FAIL, 3)]) == [3, 3]


@pytest.mark.parametrize(("replicas", "expected"), [(0, 0), (3, 2)])
def test_a_fallback_of_zero_replicas_lets_keda_scale_to_zero_on_an_error(replicas, expected):
    # KEDA's executor holds on a scaler error when a fallback with replicas != 0 is set, but
    # with replicas: 0 it goes on to scale an inactive target to zero (never active: at once)
    policy = keda(Fallback(5, replicas), min_replica_count=0)
    assert run(policy, [(0, 2, FAIL, 2)]) == [expected]


def test_the_fallback_does_not_override_a_trigger_that_asks_for_more():
    # kedacore/keda #6659: before 2.17 the operator set the fallback count itself; since, the
    # fallback is only a metric, and the HPA takes the largest proposal: cpu's 8 wins over 3
    cpu = ResourceTrigger("cpu", 50)
    policy = keda(Fallback(0, 3), triggers=[QUEUE, cpu])
    assert run(policy, [(0, 4, {"cpu": 100.0}, 4)]) == [8]


def test_bad_fallbacks_name_themselves():
    with pytest.raises(ParameterError, match="failure_threshold=-1"):
        Fallback(-1, 3)
    with pytest.raises(ParameterError, match="behavior='scalingModifiers'"):
        Fallback(1, 3, "scalingModifiers")
    with pytest.raises(PolicyError, match="not cpu or memory"):
        keda(Fallback(1, 3), triggers=[ResourceTrigger("cpu", 50)])
    with pytest.raises(PolicyError, match="fallback"):
        ScaledObject(TargetTrackingLike(), "queue", fallback=Fallback(1, 3))


class TargetTrackingLike:
    """A policy for 1..N replicas (the fallback needs a trigger's target, which it has not)."""

    def observe(self, obs):
        pass

    def recommend(self, obs):
        raise AssertionError("not called")
