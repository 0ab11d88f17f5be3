from elastic import Observation, PolicyError, Reason
from elastic.policies import Fallback, MaxOf, MinOf, Scheduled, ScheduledAction, TargetTracking


def test_max_and_min_of_ignore_abstainers():
    policies = [TargetTracking("cpu", 50.0), TargetTracking("rps", 100.0, kind="value")]
    obs = Observation(0.0, 4, {"cpu": 100.0})
    assert MaxOf(policies).recommend(obs).replicas == 8
    assert MinOf(policies).recommend(obs).replicas == 8
    nothing = MaxOf(policies).recommend(Observation(0.0, 4, {}))
    assert (nothing.replicas, nothing.reason) == (None, Reason.NO_DATA)


def test_groups_merge_bounds():
    policy = MaxOf(
        [
            Scheduled([ScheduledAction(at=0.0, min_replicas=3, max_replicas=9)]),
            Scheduled([ScheduledAction(at=0.0, min_replicas=5, max_replicas=12)]),
        ]
    )
    rec = policy.recommend(Observation(10.0, 4))
    assert (rec.min_replicas, rec.max_replicas) == (5, 9)


class Broken:
    def observe(self, obs):
        raise RuntimeError("forecaster not fitted")

    def recommend(self, obs):
        raise RuntimeError("forecaster not fitted")


def test_fallback_on_abstention_and_on_failure():
    backup = TargetTracking("cpu", 50.0)
    rec = Fallback(TargetTracking("latency", 0.2), backup).recommend(
        Observation(0.0, 4, {"cpu": 100.0})
    )
    assert (rec.replicas, rec.reason) == (8, Reason.FALLBACK)
    policy = Fallback(Broken(), backup)
    obs = Observation(0.0, 4, {"cpu": 100.0})
    policy.observe(obs)
    rec = policy.recommend(obs)
    assert (rec.replicas, rec.reason) == (8, Reason.FALLBACK)
    assert "forecaster not fitted" in rec.detail


def test_fallback_uses_primary_when_it_decides():
    policy = Fallback(TargetTracking("cpu", 50.0), TargetTracking("cpu", 10.0))
    rec = policy.recommend(Observation(0.0, 4, {"cpu": 100.0}))
    assert (rec.replicas, rec.reason) == (8, Reason.TARGET_TRACKING)


def test_bad_composites():
    for build in (
        lambda: MaxOf([]),
        lambda: MinOf(["cpu"]),
        lambda: MaxOf(TargetTracking("cpu", 1.0)),
        lambda: Fallback(TargetTracking("cpu", 1.0), None),
    ):
        try:
            build()
        except PolicyError as error:
            assert "expected" in str(error)
        else:
            raise AssertionError("no error")
