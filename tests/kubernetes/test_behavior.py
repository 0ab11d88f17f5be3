"""Stabilization and normalization, row by row from upstream's horizontal.go."""

from dataclasses import replace

import pytest

from elastic import Behavior, RateLimit, ScalingRules
from elastic.errors import ParameterError
from elastic.kubernetes import ScaleEvent, normalize, stabilize, store_scale_event

K8S = Behavior.kubernetes_default()


def k8s(up=None, down=None):
    """The Kubernetes defaults with some fields of each direction given, as a manifest would."""
    return Behavior(replace(K8S.scale_up, **(up or {})), replace(K8S.scale_down, **(down or {})))


PODS_1_PER_60 = {"policies": [RateLimit("Pods", 1, 60)]}

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
    ("defaults: up by max(4 pods, 100 %) per 15 s: 10 -> 20", 10, 30, 1, 50, K8S, [], [],
     100, (20, "ScaleUpLimit")),
    ("defaults: 5 added 10 s ago count: the period started at 5, so 10 is the cap", 10, 30, 1,
     50, K8S, [ScaleEvent(5, 90.0)], [], 100, (10, "ScaleUpLimit")),
    ("an event exactly one period old no longer counts", 10, 30, 1, 50, K8S,
     [ScaleEvent(5, 85.0)], [], 100, (20, "ScaleUpLimit")),
    ("select Min takes the smaller limit: 4 pods", 10, 30, 1, 50,
     k8s(up={"select_policy": "Min"}), [], [], 0, (14, "ScaleUpLimit")),
    ("scale-up disabled: held at the current count", 10, 30, 1, 50,
     k8s(up={"select_policy": "Disabled"}), [], [], 0, (10, "ScaleUpLimit")),
    ("max_replicas below the rate limit is TooManyReplicas", 10, 30, 1, 15, K8S, [], [],
     0, (15, "TooManyReplicas")),
    ("defaults: down by 100 % per 15 s, only min_replicas bounds it", 10, 1, 2, 50, K8S,
     [], [], 0, (2, "TooFewReplicas")),
    ("1 pod per 60 s down: 10 -> 9", 10, 5, 1, 50, k8s(down=PODS_1_PER_60), [], [],
     0, (9, "ScaleDownLimit")),
    ("1 pod per 60 s, one removed 30 s ago: no further", 9, 5, 1, 50,
     k8s(down=PODS_1_PER_60), [], [ScaleEvent(1, 70.0)], 100, (9, "ScaleDownLimit")),
    ("Percent down truncates: 50 % of 7 leaves int(3.5) = 3", 7, 1, 1, 50,
     k8s(down={"policies": [RateLimit("Percent", 50, 60)]}), [], [], 0,
     (3, "ScaleDownLimit")),
    ("Percent up rounds up: 10 % of 5 adds ceil(0.5)", 5, 9, 1, 50,
     k8s(up={"policies": [RateLimit("Percent", 10, 60)]}), [], [], 0,
     (6, "ScaleUpLimit")),
    ("ups and downs in the period both move its start: 10 now, +4 and -2 -> started at 8",
     10, 30, 1, 50, k8s(up={"policies": [RateLimit("Pods", 3, 60)]}),
     [ScaleEvent(4, 50.0)], [ScaleEvent(2, 55.0)], 60, (11, "ScaleUpLimit")),
    ("inside the limits: DesiredWithinRange", 10, 12, 1, 50, K8S, [], [], 0,
     (12, "DesiredWithinRange")),
    ("Behavior.kubernetes_no_behavior() is the same path as None", 3, 20, 1, 50,
     Behavior.kubernetes_no_behavior(), [], [], 0, (6, "ScaleUpLimit")),
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


UP_60 = k8s(up={"stabilization_window_seconds": 60.0})

STABILIZE = [
    # (why, history, desired, current, now, behavior, stabilized, kept)
    ("scale-down waits for the highest recommendation of the last 300 s",
     [(0.0, 8), (100.0, 6)], 3, 8, 200.0, K8S, 8, [(0.0, 8), (100.0, 6), (200.0, 3)]),
    ("once a recommendation is older than both windows its slot is reused",
     [(0.0, 8), (100.0, 6)], 3, 8, 350.0, K8S, 6, [(350.0, 3), (100.0, 6)]),
    ("the last old slot is the one reused (upstream keeps its index)",
     [(0.0, 9), (10.0, 8), (100.0, 6)], 3, 8, 350.0, K8S, 6,
     [(0.0, 9), (350.0, 3), (100.0, 6)]),
    ("a scale-up window holds the lowest recent recommendation",
     [(0.0, 5), (30.0, 7)], 10, 5, 40.0, UP_60, 5, [(0.0, 5), (30.0, 7), (40.0, 10)]),
    ("the scale-up window passes once the low ones are out of it",
     [(0.0, 5), (30.0, 7)], 10, 5, 65.0, UP_60, 7, [(0.0, 5), (30.0, 7), (65.0, 10)]),
    ("a recommendation exactly at a cutoff is neither in the window nor old",
     [(0.0, 9)], 3, 9, 300.0, K8S, 3, [(0.0, 9), (300.0, 3)]),
    ("no behavior: the highest of the last 300 s, scale-up not delayed",
     [(0.0, 4), (100.0, 7)], 12, 5, 200.0, None, 12, [(0.0, 4), (100.0, 7), (200.0, 12)]),
    ("no behavior: older than 300 s is forgotten and its slot reused",
     [(0.0, 9), (100.0, 7)], 2, 9, 320.0, None, 7, [(320.0, 2), (100.0, 7)]),
    ("no behavior: exactly 300 s old still counts, and its slot is kept",
     [(20.0, 9), (100.0, 7)], 2, 9, 320.0, None, 9, [(20.0, 9), (100.0, 7), (320.0, 2)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("history", "desired", "current", "now", "behavior", "stabilized", "kept"),
    [pytest.param(*row[1:], id=row[0]) for row in STABILIZE],
)
def test_stabilize(history, desired, current, now, behavior, stabilized, kept):
    before = list(history)
    assert stabilize(history, desired, current, now, behavior) == (stabilized, kept)
    assert history == before, "the caller's list is not changed"


def test_scale_events_reuse_an_outdated_slot():
    rules = ScalingRules(policies=[RateLimit("Pods", 4, 60)])
    events = [ScaleEvent(2, 0.0), ScaleEvent(3, 50.0)]
    assert store_scale_event(events, 1, 70.0, rules) == [ScaleEvent(1, 70.0), ScaleEvent(3, 50.0)]
    assert store_scale_event(events, 1, 55.0, rules) == [*events, ScaleEvent(1, 55.0)]


# --- issue 16: one Behavior; the old names of elastic.kubernetes are deprecated aliases ------


def test_the_deprecated_names_warn_and_build_the_one_behavior():
    import elastic.kubernetes as k8s_module

    with pytest.warns(
        DeprecationWarning, match=r"elastic\.kubernetes\.Behavior .*elastic\.Behavior"
    ):
        old_behavior = k8s_module.Behavior
    with pytest.warns(DeprecationWarning, match=r"use elastic\.ScalingRules"):
        old_rules = k8s_module.ScalingRules
    with pytest.warns(DeprecationWarning, match=r"use elastic\.RateLimit"):
        old_policy = k8s_module.ScalingPolicy
    assert isinstance(old_policy("Pods", 4, 15), RateLimit)  # it builds the one type
    # None fields take the Kubernetes defaults, as they did
    b = old_behavior(scale_down=old_rules(policies=[old_policy("Pods", 2, 30)]))
    assert isinstance(b, Behavior)
    assert b == k8s(down={"policies": (RateLimit("Pods", 2, 30),)})
    assert old_behavior() == K8S
    short = old_behavior(downscale_stabilization_seconds=60)
    assert short.scale_down.stabilization_window_seconds == 60
    assert old_behavior(scale_up=old_rules(tolerance=0.05)).scale_up.tolerance == 0.05


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda old: old.ScalingRules(select_policy="max"), "select_policy"),
        (lambda old: old.ScalingRules(stabilization_window_seconds=3601),
         "stabilization_window_seconds"),
        (lambda old: old.ScalingPolicy("Replicas", 1, 15), "type"),
        (lambda old: old.ScalingPolicy("Pods", 0, 15), "value"),
    ],
)  # fmt: skip
def test_the_deprecated_names_still_check_their_fields(make, name):
    import elastic.kubernetes as k8s_module

    with pytest.warns(DeprecationWarning), pytest.raises(ParameterError) as error:
        make(k8s_module)
    assert error.value.name == name


@pytest.mark.parametrize("period", [3601, 0.5, 0])
def test_the_deprecated_scaling_policy_keeps_its_period_rule(period):
    with pytest.warns(DeprecationWarning, match="elastic.RateLimit"):
        from elastic.kubernetes import ScalingPolicy
    with pytest.raises(ParameterError, match="period_seconds"):
        ScalingPolicy("Pods", 4, period)
