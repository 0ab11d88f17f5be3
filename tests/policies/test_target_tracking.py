import pytest

from elastic import Observation, PolicyError, Reason
from elastic.policies import TargetTracking


@pytest.mark.parametrize(
    ("params", "replicas", "value", "expected", "reason", "why"),
    [
        ({}, 4, 80.0, 7, Reason.TARGET_TRACKING, "ceil(4 * 80/50) = ceil(6.4)"),
        ({}, 4, 54.0, 4, Reason.WITHIN_TOLERANCE, "1.08 is inside the 10 % band"),
        (
            {},
            4,
            55.0,
            4,
            Reason.WITHIN_TOLERANCE,
            "55/50 is on the edge 1 + 0.1: inside, as the HPA tests its band (one function)",
        ),
        ({}, 4, 56.0, 5, Reason.TARGET_TRACKING, "1.12 is outside: ceil(4.48)"),
        ({}, 4, 44.0, 4, Reason.TARGET_TRACKING, "|0.88 - 1| = 0.12 is outside; ceil(3.52) = 4"),
        ({}, 10, 30.0, 6, Reason.TARGET_TRACKING, "ceil(10 * 0.6): fewer removed when removing"),
        ({}, 3, 40.0, 3, Reason.TARGET_TRACKING, "ceil(2.4) = 3: outside the band, no change"),
        ({"tolerance": 0.0}, 4, 51.0, 5, Reason.TARGET_TRACKING, "no band: ceil(4.08)"),
        (
            {"kind": "value", "target": 100.0},
            2,
            950.0,
            10,
            Reason.TARGET_TRACKING,
            "a total needs ceil(950/100) replicas, whatever the current count",
        ),
        (
            {"kind": "value", "target": 100.0},
            0,
            50.0,
            1,
            Reason.TARGET_TRACKING,
            "a total metric scales from zero",
        ),
        (
            {"kind": "value", "target": 100.0},
            0,
            0.0,
            0,
            Reason.WITHIN_TOLERANCE,
            "nothing to serve at zero replicas: hold",
        ),
        ({}, 0, 80.0, 0, Reason.TARGET_TRACKING, "utilization cannot scale from zero"),
        (
            {"scale_in_margin": 0.3},
            10,
            40.0,
            10,
            Reason.SCALE_IN_MARGIN,
            "20 % below target is not the 30 % margin",
        ),
        ({"scale_in_margin": 0.3}, 10, 30.0, 6, Reason.TARGET_TRACKING, "40 % below: scale in"),
        (
            {"disable_scale_in": True},
            10,
            10.0,
            None,
            Reason.SCALE_IN_DISABLED,
            "abstains so that another policy may scale in",
        ),
        ({"disable_scale_in": True}, 2, 100.0, 4, Reason.TARGET_TRACKING, "scale-out is still on"),
    ],
)
def test_target_tracking_rules(params, replicas, value, expected, reason, why):
    policy = TargetTracking("cpu", **{"target": 50.0, **params})
    rec = policy.recommend(Observation(0.0, replicas, {"cpu": value}))
    assert (rec.replicas, rec.reason) == (expected, reason), why


def test_missing_or_nan_metric_abstains():
    policy = TargetTracking("cpu", 50.0)
    assert policy.recommend(Observation(0.0, 3, {})).reason is Reason.NO_DATA
    assert policy.recommend(Observation(0.0, 3, {"cpu": float("nan")})).replicas is None


@pytest.mark.parametrize(
    ("params", "name", "expected"),
    [
        ({"target": -1.0}, "target", "> 0"),
        ({"target": 0}, "target", "> 0"),
        ({"target": "50"}, "target", "number"),
        ({"kind": "total"}, "kind", "'utilization'"),
        ({"tolerance": -0.1}, "tolerance", ">= 0"),
        ({"scale_in_margin": 1.0}, "scale_in_margin", "< 1"),
        ({"metric": ""}, "metric", "metric name"),
        ({"disable_scale_in": "yes"}, "disable_scale_in", "True or False"),
    ],
)
def test_bad_parameters(params, name, expected):
    with pytest.raises(PolicyError) as info:
        TargetTracking(**{"metric": "cpu", "target": 50.0, **params})
    assert info.value.name == name
    assert expected in str(info.value)
    assert repr(params[name]) in str(info.value)


@pytest.mark.parametrize(
    ("replicas", "ready", "warming", "value", "expected", "why"),
    [
        (4, 2, 0, 120.0, 4, "2 measured at 2x target need 4; the 2 booting count toward them"),
        (4, 2, 0, 180.0, 6, "2 measured at 3x target need 6 in all: 2 more than the 4 there"),
        (4, 4, 2, 120.0, 4, "warming replicas are left out of the metric, as booting ones"),
        (6, 2, 0, 90.0, 6, "ceil(2 * 1.5) = 3 < 6: a high metric never scales in"),
        (4, 2, 0, 30.0, 3, "scale-in: the 2 measured need 1; the 2 on the way are kept"),
        (4, 0, 0, 120.0, 4, "nothing measured yet: hold"),
        (4, 0, 0, 10.0, 4, "nothing measured yet: hold, even on a low value"),
        (4, None, 0, 120.0, 8, "readiness unknown: every replica is measured"),
        (1, 1, 0, 100.00000000000003, 2, "float residue of an average is not a replica more"),
    ],
)
def test_replicas_not_ready_yet_count_as_capacity_on_its_way(
    replicas, ready, warming, value, expected, why
):
    # the metric is averaged over ready replicas that are not warming; multiplying the whole
    # count by it (4 x 120/60 = 8) double-counted the replicas still booting (issue 15, A10c)
    policy = TargetTracking("cpu", 60.0)
    obs = Observation(0.0, replicas, {"cpu": value}, ready=ready, warming=warming)
    assert policy.recommend(obs).replicas == expected, why
