"""Stabilization and normalization, row by row from upstream's horizontal.go."""

import pytest

from elastic.errors import ParameterError
from elastic.kubernetes import (
    Behavior,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    normalize,
    stabilize,
    store_scale_event,
)

PODS_1_PER_60 = ScalingRules(policies=[ScalingPolicy("Pods", 1, 60)])

NORMALIZE = [
    # (why, current, desired, min, max, behavior, up events, down events, now, expected)
    ("no behavior: a scale-up is capped at max(2 * current, 4)", 3, 20, 1, 50, None, [], [], 0,
     (6, "ScaleUpLimit")),
    ("no behavior: from 1 replica the cap is 4", 1, 10, 1, 50, None, [], [], 0,
     (4, "ScaleUpLimit")),
    ("no behavior: max_replicas below the cap is TooManyReplicas", 3, 20, 1, 5, None, [], [], 0,
     (5, "TooManyReplicas")),
    ("no behavior: below min_replicas is TooFewReplicas", 3, 1, 2, 10, None, [], [], 0,
     (2, "TooFewReplicas")),
    ("no behavior: a scale-down is not rate limited", 10, 1, 1, 10, None, [], [], 0,
     (1, "DesiredWithinRange")),
    ("defaults: up by max(4 pods, 100 %) per 15 s: 10 -> 20", 10, 30, 1, 50, Behavior(), [], [],
     100, (20, "ScaleUpLimit")),
    ("defaults: 5 added 10 s ago count: the period started at 5, so 10 is the cap", 10, 30, 1,
     50, Behavior(), [ScaleEvent(5, 90.0)], [], 100, (10, "ScaleUpLimit")),
    ("an event exactly one period old no longer counts", 10, 30, 1, 50, Behavior(),
     [ScaleEvent(5, 85.0)], [], 100, (20, "ScaleUpLimit")),
    ("select Min takes the smaller limit: 4 pods", 10, 30, 1, 50,
     Behavior(scale_up=ScalingRules(select_policy="Min")), [], [], 0, (14, "ScaleUpLimit")),
    ("scale-up disabled: held at the current count", 10, 30, 1, 50,
     Behavior(scale_up=ScalingRules(select_policy="Disabled")), [], [], 0, (10, "ScaleUpLimit")),
    ("max_replicas below the rate limit is TooManyReplicas", 10, 30, 1, 15, Behavior(), [], [],
     0, (15, "TooManyReplicas")),
    ("defaults: down by 100 % per 15 s, only min_replicas bounds it", 10, 1, 2, 50, Behavior(),
     [], [], 0, (2, "TooFewReplicas")),
    ("1 pod per 60 s down: 10 -> 9", 10, 5, 1, 50, Behavior(scale_down=PODS_1_PER_60), [], [],
     0, (9, "ScaleDownLimit")),
    ("1 pod per 60 s, one removed 30 s ago: no further", 9, 5, 1, 50,
     Behavior(scale_down=PODS_1_PER_60), [], [ScaleEvent(1, 70.0)], 100, (9, "ScaleDownLimit")),
    ("Percent down truncates: 50 % of 7 leaves int(3.5) = 3", 7, 1, 1, 50,
     Behavior(scale_down=ScalingRules(policies=[ScalingPolicy("Percent", 50, 60)])), [], [], 0,
     (3, "ScaleDownLimit")),
    ("Percent up rounds up: 10 % of 5 adds ceil(0.5)", 5, 9, 1, 50,
     Behavior(scale_up=ScalingRules(policies=[ScalingPolicy("Percent", 10, 60)])), [], [], 0,
     (6, "ScaleUpLimit")),
    ("ups and downs in the period both move its start: 10 now, +4 and -2 -> started at 8",
     10, 30, 1, 50, Behavior(scale_up=ScalingRules(policies=[ScalingPolicy("Pods", 3, 60)])),
     [ScaleEvent(4, 50.0)], [ScaleEvent(2, 55.0)], 60, (11, "ScaleUpLimit")),
    ("inside the limits: DesiredWithinRange", 10, 12, 1, 50, Behavior(), [], [], 0,
     (12, "DesiredWithinRange")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "desired", "low", "high", "behavior", "ups", "downs", "now", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in NORMALIZE],
)
def test_normalize(current, desired, low, high, behavior, ups, downs, now, expected):
    got = normalize(
        current,
        desired,
        min_replicas=low,
        max_replicas=high,
        behavior=behavior,
        scale_up_events=ups,
        scale_down_events=downs,
        now=now,
    )
    assert got == expected


UP_60 = Behavior(scale_up=ScalingRules(stabilization_window_seconds=60))

STABILIZE = [
    # (why, history, desired, current, now, behavior, stabilized, kept)
    ("scale-down waits for the highest recommendation of the last 300 s",
     [(0.0, 8), (100.0, 6)], 3, 8, 200.0, Behavior(), 8, [(0.0, 8), (100.0, 6), (200.0, 3)]),
    ("once a recommendation is older than both windows its slot is reused",
     [(0.0, 8), (100.0, 6)], 3, 8, 350.0, Behavior(), 6, [(350.0, 3), (100.0, 6)]),
    ("the last old slot is the one reused (upstream keeps its index)",
     [(0.0, 9), (10.0, 8), (100.0, 6)], 3, 8, 350.0, Behavior(), 6,
     [(0.0, 9), (350.0, 3), (100.0, 6)]),
    ("a scale-up window holds the lowest recent recommendation",
     [(0.0, 5), (30.0, 7)], 10, 5, 40.0, UP_60, 5, [(0.0, 5), (30.0, 7), (40.0, 10)]),
    ("the scale-up window passes once the low ones are out of it",
     [(0.0, 5), (30.0, 7)], 10, 5, 65.0, UP_60, 7, [(0.0, 5), (30.0, 7), (65.0, 10)]),
    ("a recommendation exactly at a cutoff is neither in the window nor old",
     [(0.0, 9)], 3, 9, 300.0, Behavior(), 3, [(0.0, 9), (300.0, 3)]),
    ("no behavior: the highest of the last 300 s, scale-up not delayed",
     [(0.0, 4), (100.0, 7)], 12, 5, 200.0, None, 12, [(0.0, 4), (100.0, 7), (200.0, 12)]),
    ("no behavior: older than 300 s is forgotten and its slot reused",
     [(0.0, 9), (100.0, 7)], 2, 9, 320.0, None, 7, [(320.0, 2), (100.0, 7)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("history", "desired", "current", "now", "behavior", "stabilized", "kept"),
    [pytest.param(*row[1:], id=row[0]) for row in STABILIZE],
)
def test_stabilize(history, desired, current, now, behavior, stabilized, kept):
    before = list(history)
    assert stabilize(history, desired, current, now, behavior) == (stabilized, kept)
    assert history == before, "the caller's list is not changed"


def test_defaults_fill_only_what_is_missing():
    b = Behavior(scale_down=ScalingRules(policies=[ScalingPolicy("Pods", 2, 30)]))
    assert b.down.stabilization_window_seconds == 300
    assert b.down.policies == (ScalingPolicy("Pods", 2, 30),)
    assert b.up.stabilization_window_seconds == 0 and len(b.up.policies) == 2
    assert Behavior(downscale_stabilization_seconds=60).down.stabilization_window_seconds == 60


def test_scale_events_reuse_an_outdated_slot():
    rules = ScalingRules(policies=[ScalingPolicy("Pods", 4, 60)])
    events = [ScaleEvent(2, 0.0), ScaleEvent(3, 50.0)]
    assert store_scale_event(events, 1, 70.0, rules) == [ScaleEvent(1, 70.0), ScaleEvent(3, 50.0)]
    assert store_scale_event(events, 1, 55.0, rules) == [*events, ScaleEvent(1, 55.0)]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: ScalingPolicy("Replicas", 1, 15), "type"),
        (lambda: ScalingPolicy("Pods", 0, 15), "value"),
        (lambda: ScalingPolicy("Pods", 1, 1801), "period_seconds"),
        (lambda: ScalingRules(select_policy="max"), "select_policy"),
        (lambda: ScalingRules(stabilization_window_seconds=3601), "stabilization_window_seconds"),
    ],
)
def test_api_validation(make, name):
    with pytest.raises(ParameterError) as error:
        make()
    assert error.value.name == name
