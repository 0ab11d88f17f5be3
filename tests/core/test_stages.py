"""Table tests for the pure stages: each row says why it holds."""

import pytest

from elastic.core.behavior import RateLimit, ScaleEvent, ScalingRules
from elastic.core.stages import clamp_to_bounds, combine, rate_limit, stabilize
from elastic.core.types import Reason, Recommendation

R = Recommendation
TT = Reason.TARGET_TRACKING
WT = Reason.WITHIN_TOLERANCE
ND = Reason.NO_DATA
SA = Reason.STEP_ADJUSTMENT


@pytest.mark.parametrize(
    ("recs", "current", "rule", "expected", "reason", "why"),
    [
        ([R(3, TT), R(7, TT)], 5, "max", 7, TT, "max scales out if any wants to"),
        ([R(3, TT), R(4, TT)], 5, "max", 4, TT, "all want in: the least scale-in"),
        ([R(None, ND)], 5, "max", 5, ND, "nobody has a number: hold, for the policy's reason"),
        (
            [R(None, ND), R(None, Reason.NO_BREACH)],
            5,
            "max",
            5,
            Reason.HOLD,
            "nobody has a number, for different reasons: hold",
        ),
        ([R(5, WT)], 5, "max", 5, WT, "the policy's own reason survives the combine stage"),
        (
            [R(5, WT), R(5, TT)],
            5,
            "max",
            5,
            WT,
            "equal recommendations: the first policy's reason",
        ),
        ([R(3, TT), R(6, SA)], 5, "max", 6, SA, "the reason of the recommendation taken"),
        (
            [R(3, TT), R(None, Reason.NO_DATA)],
            5,
            "max",
            5,
            Reason.SCALE_IN_BLOCKED,
            "max: a metric that is missing never causes a scale-in (fail-static, the HPA's rule)",
        ),
        (
            [R(7, TT), R(None, Reason.NO_DATA)],
            5,
            "max",
            7,
            TT,
            "max: a policy without data does not hold a scale-out back",
        ),
        (
            [R(3, TT), R(None, Reason.SCALE_IN_DISABLED)],
            5,
            "max",
            3,
            TT,
            "max: an abstention for another reason than missing data does not block scale-in",
        ),
        (
            [R(3, TT), R(None, Reason.NO_DATA)],
            5,
            "aws",
            5,
            Reason.SCALE_IN_BLOCKED,
            "aws: a policy without data does not agree to scale in",
        ),
        (
            [R(3, TT), R(None, Reason.SCALE_IN_DISABLED)],
            5,
            "aws",
            3,
            TT,
            "aws: policies with scale-in disabled do not vote on scale-in",
        ),
        (
            [R(8, TT), R(None, Reason.NO_DATA)],
            5,
            "aws",
            8,
            TT,
            "aws: scale out if any policy wants to",
        ),
        ([R(3, TT), R(5, TT)], 5, "aws", 5, TT, "aws: one policy holds: no scale-in"),
    ],
)
def test_combine(recs, current, rule, expected, reason, why):
    replicas, got_reason, _ = combine(recs, current, rule)
    assert (replicas, got_reason) == (expected, reason), why


@pytest.mark.parametrize(
    ("desired", "current", "now", "history", "up", "down", "expected", "why"),
    [
        (3, 8, 300.0, [(100.0, 8)], 0, 300, 8, "the window still holds an 8"),
        (3, 8, 400.0, [(100.0, 8)], 0, 300, 3, "the 8 is older than the window"),
        (3, 8, 300.0, [(100.0, 6), (200.0, 5)], 0, 300, 6, "highest in the window, not current"),
        (10, 4, 60.0, [(30.0, 6)], 60, 0, 6, "scale-up takes the lowest in its window"),
        (10, 4, 60.0, [(30.0, 3)], 60, 0, 4, "scale-up never goes below current"),
        (10, 4, 60.0, [(30.0, 3)], 0, 300, 10, "no up window: scale up at once"),
        (5, 5, 60.0, [(30.0, 9)], 0, 300, 5, "stabilization never raises a held count"),
    ],
)
def test_stabilize(desired, current, now, history, up, down, expected, why):
    got, _, _ = stabilize(desired, current, now, history, up, down)
    assert got == expected, why


def test_stabilize_cutoff_is_exclusive():
    # made at 100, window 300, now 400: cutoff is 100 and 100 is not after it
    assert stabilize(3, 8, 400.0, [(100.0, 8)], 0, 300)[0] == 3
    assert stabilize(3, 8, 399.9, [(100.0, 8)], 0, 300)[0] == 8


def ev(change, time):
    return ScaleEvent(change, time)


K8S_UP = ScalingRules(policies=[RateLimit("Pods", 4, 15), RateLimit("Percent", 100, 15)])
K8S_DOWN = ScalingRules(300, policies=[RateLimit("Percent", 100, 15)])


@pytest.mark.parametrize(
    ("desired", "current", "up_events", "down_events", "up", "down", "expected", "reason", "why"),
    [
        (20, 1, [], [], K8S_UP, K8S_DOWN, 5, Reason.SCALE_UP_LIMIT, "max(1+4, 2*1) = 5"),
        (50, 10, [], [], K8S_UP, K8S_DOWN, 20, Reason.SCALE_UP_LIMIT, "max(10+4, 2*10) = 20"),
        (
            50,
            14,
            [ev(4, 50.0)],
            [],
            K8S_UP,
            K8S_DOWN,
            20,
            Reason.SCALE_UP_LIMIT,
            "period started at 10: max(10+4, 20)",
        ),
        (
            50,
            14,
            [ev(4, 45.0)],
            [],
            K8S_UP,
            K8S_DOWN,
            28,
            Reason.SCALE_UP_LIMIT,
            "that event left the 15 s period",
        ),
        (
            50,
            10,
            [],
            [],
            ScalingRules(
                policies=[RateLimit("Pods", 4, 15), RateLimit("Percent", 100, 15)],
                select_policy="Min",
            ),
            K8S_DOWN,
            14,
            Reason.SCALE_UP_LIMIT,
            "Min takes the smaller limit",
        ),
        (
            50,
            10,
            [],
            [],
            ScalingRules(select_policy="Disabled"),
            K8S_DOWN,
            10,
            Reason.SCALING_DISABLED,
            "scale-up disabled",
        ),
        (50, 10, [], [], ScalingRules(), K8S_DOWN, 50, Reason.UNCHANGED, "no limits"),
        (0, 10, [], [], K8S_UP, K8S_DOWN, 0, Reason.UNCHANGED, "100 % per 15 s allows 0"),
        (
            0,
            10,
            [],
            [],
            K8S_UP,
            ScalingRules(policies=[RateLimit("Percent", 50, 60)]),
            5,
            Reason.SCALE_DOWN_LIMIT,
            "int(10 * 0.5)",
        ),
        (
            0,
            7,
            [],
            [],
            K8S_UP,
            ScalingRules(policies=[RateLimit("Percent", 50, 60)]),
            3,
            Reason.SCALE_DOWN_LIMIT,
            "int(7 * 0.5) truncates 3.5 to 3",
        ),
        (
            0,
            5,
            [],
            [ev(5, 30.0)],
            K8S_UP,
            ScalingRules(policies=[RateLimit("Percent", 50, 60)]),
            5,
            Reason.SCALE_DOWN_LIMIT,
            "started at 10, int(10*0.5) = 5: nothing more this minute",
        ),
        (
            0,
            10,
            [],
            [],
            K8S_UP,
            ScalingRules(policies=[RateLimit("Pods", 1, 60), RateLimit("Percent", 20, 60)]),
            8,
            Reason.SCALE_DOWN_LIMIT,
            "Max = most permissive = lowest: min(9, 8)",
        ),
        (
            11,
            10,
            [],
            [],
            ScalingRules(policies=[RateLimit("Percent", 10, 60)]),
            K8S_DOWN,
            11,
            Reason.UNCHANGED,
            "ceil(10 * 1.1) = 11",
        ),
        (
            60,
            50,
            [],
            [],
            ScalingRules(policies=[RateLimit("Percent", 10, 60)]),
            K8S_DOWN,
            56,
            Reason.SCALE_UP_LIMIT,
            "50 * 1.1 = 55.00000000000001 in float64: the HPA allows 56",
        ),
        (
            12,
            10,
            [ev(3, 50.0)],
            [ev(5, 55.0)],
            ScalingRules(policies=[RateLimit("Pods", 2, 60)]),
            K8S_DOWN,
            12,
            Reason.UNCHANGED,
            "start 10-3+5 = 12, +2 = 14 >= 12",
        ),
    ],
)
def test_rate_limit(desired, current, up_events, down_events, up, down, expected, reason, why):
    got, got_reason, _ = rate_limit(desired, current, 60.0, up_events, down_events, up, down)
    assert (got, got_reason) == (expected, reason), why


@pytest.mark.parametrize(
    ("desired", "low", "high", "expected", "reason"),
    [
        (0, 1, 10, 1, Reason.TOO_FEW),
        (11, 1, 10, 10, Reason.TOO_MANY),
        (5, 1, 10, 5, Reason.UNCHANGED),
        (0, 0, 0, 0, Reason.UNCHANGED),
    ],
)
def test_clamp(desired, low, high, expected, reason):
    assert clamp_to_bounds(desired, low, high)[:2] == (expected, reason)
