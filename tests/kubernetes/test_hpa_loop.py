"""The HPA run as upstream splits it: the policy proposes, ``hpa.loop()``'s stages normalize.

Every case here goes through :meth:`HorizontalPodAutoscaler.loop`. The
property at the end replays random syncs through the loop and through the
controller as ``horizontal.go`` keeps it (its list of recommendations with
the slots of old ones reused, its scale events, ``recordInitialRecommendation``,
the out-of-range branches and the early return on invalid metrics), written
with :mod:`elastic.kubernetes.behavior`'s functions, and asks for the same
count at every sync.
"""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic import Behavior, Observation, RateLimit, Reason, ScalingRules
from elastic.kubernetes import (
    HorizontalPodAutoscaler,
    Metric,
    normalize,
    stabilize,
    store_scale_event,
)

# an External AverageValue metric of target 1 with no tolerance proposes exactly its value
Q = Metric("External", "q", "AverageValue", 1000)
R = Metric("External", "r", "AverageValue", 1000)
K8S = Behavior.kubernetes_default()


def hpa_loop(behavior=None, low=1, high=100, metrics=(Q,)):
    hpa = HorizontalPodAutoscaler(
        list(metrics), min_replicas=low, max_replicas=high, behavior=behavior, tolerance=0.0
    )
    return hpa.loop()


def step(loop, time, current, **metrics):
    return loop.step(Observation(float(time), current, metrics))


def rules(direction, **given):
    """The Kubernetes defaults with some fields of one direction given."""
    return replace(K8S, **{direction: replace(getattr(K8S, direction), **given)})


# --- stabilization ----------------------------------------------------------------------------


def test_the_initial_count_is_a_recommendation_a_scale_down_waits_for():
    loop = hpa_loop(K8S)
    first = step(loop, 0, 10, q=3.0)  # upstream records the 10 found at the first sync
    assert (first.replicas, first.reason) == (10, Reason.STABILIZED)
    assert step(loop, 299, 10, q=3.0).replicas == 10
    assert step(loop, 300, 10, q=3.0).replicas == 3  # t=0 is exactly 300 s old: outside


def test_a_window_forgets_what_upstream_would_overwrite():
    # upstream reuses the slot of a recommendation older than both windows; the loop drops it:
    # either way it never counts again
    loop = hpa_loop(rules("scale_down", stabilization_window_seconds=60.0))
    assert step(loop, 0, 5, q=9.0).replicas == 9
    assert step(loop, 30, 9, q=2.0).replicas == 9  # 9 was recommended 30 s ago
    assert step(loop, 61, 9, q=2.0).replicas == 2  # 9 and the initial 5 are out of the window
    assert all(t > 0 for t, _ in loop.history_)


def test_a_scale_up_window_holds_the_lowest_recent_recommendation():
    loop = hpa_loop(rules("scale_up", stabilization_window_seconds=60.0))
    assert step(loop, 0, 5, q=5.0).replicas == 5
    decision = step(loop, 30, 5, q=9.0)
    assert (decision.replicas, decision.reason) == (5, Reason.STABILIZED)
    assert step(loop, 61, 5, q=9.0).replicas == 9


def test_without_behavior_the_highest_recommendation_wins_even_on_a_scale_up():
    loop = hpa_loop(None)
    assert step(loop, 0, 4, q=8.0).replicas == 8
    # 6 wanted now, 8 wanted 15 s ago: upstream takes the highest, whatever the direction
    decision = step(loop, 15, 5, q=6.0)
    assert (decision.replicas, decision.reason) == (8, Reason.STABILIZED)


# --- rate limits ------------------------------------------------------------------------------

RATE = [
    # (why, up or down rules, current, proposal, expected, reason)
    ("Pods up: +4 per 15 s", {"scale_up": [RateLimit("Pods", 4, 15)]}, 10, 30, 14,
     Reason.SCALE_UP_LIMIT),
    ("Percent up: 50 % of 10", {"scale_up": [RateLimit("Percent", 50, 15)]}, 10, 30, 15,
     Reason.SCALE_UP_LIMIT),
    ("select Max: the larger change, +100 %", {"scale_up": [RateLimit("Pods", 4, 15),
     RateLimit("Percent", 100, 15)]}, 10, 30, 20, Reason.SCALE_UP_LIMIT),
    ("select Min: the smaller change, +4", {"scale_up": [RateLimit("Pods", 4, 15),
     RateLimit("Percent", 100, 15)], "select": "Min"}, 10, 30, 14, Reason.SCALE_UP_LIMIT),
    ("select Disabled: no scale-up", {"scale_up": [RateLimit("Pods", 4, 15)],
     "select": "Disabled"}, 10, 30, 10, Reason.SCALING_DISABLED),
    ("Pods down: -2 per 15 s", {"scale_down": [RateLimit("Pods", 2, 15)]}, 10, 1, 8,
     Reason.SCALE_DOWN_LIMIT),
    ("Percent down truncates: 30 % of 9 leaves int(6.3) = 6",
     {"scale_down": [RateLimit("Percent", 30, 15)]}, 9, 1, 6, Reason.SCALE_DOWN_LIMIT),
    ("select Max down: the larger change, -50 %", {"scale_down": [RateLimit("Pods", 2, 15),
     RateLimit("Percent", 50, 15)]}, 10, 1, 5, Reason.SCALE_DOWN_LIMIT),
    ("select Min down: the smaller change, -2", {"scale_down": [RateLimit("Pods", 2, 15),
     RateLimit("Percent", 50, 15)], "select": "Min"}, 10, 1, 8, Reason.SCALE_DOWN_LIMIT),
    ("select Disabled down: no scale-down", {"scale_down": [RateLimit("Pods", 2, 15)],
     "select": "Disabled"}, 10, 1, 10, Reason.SCALING_DISABLED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "current", "proposal", "expected", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in RATE],
)
def test_rate_limits(given, current, proposal, expected, reason):
    direction = "scale_up" if "scale_up" in given else "scale_down"
    fields = {"policies": given[direction], "select_policy": given.get("select", "Max")}
    if direction == "scale_down":
        fields["stabilization_window_seconds"] = 0.0
    loop = hpa_loop(rules(direction, **fields))
    decision = step(loop, 0, current, q=float(proposal))
    assert (decision.replicas, decision.reason) == (expected, reason)


def test_a_period_counts_the_scale_events_inside_it():
    loop = hpa_loop(rules("scale_up", policies=[RateLimit("Pods", 2, 60)]))
    assert step(loop, 0, 4, q=10.0).replicas == 6
    assert step(loop, 30, 6, q=10.0).replicas == 6  # the +2 of t=0 fills the period
    assert step(loop, 60, 6, q=10.0).replicas == 8  # exactly one period old: outside


# --- the HPA without behavior: caps ----------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "proposal", "high", "expected", "reason"),
    [
        (3, 20, 100, 6, Reason.SCALE_UP_LIMIT),  # max(2 * 3, 4)
        (1, 20, 100, 4, Reason.SCALE_UP_LIMIT),  # max(2 * 1, 4)
        (3, 20, 5, 5, Reason.TOO_MANY),  # maxReplicas below the cap
        (3, 5, 100, 5, Reason.TARGET_TRACKING),  # under the cap
    ],
)
def test_without_behavior_a_scale_up_is_capped_at_twice_or_four(
    current, proposal, high, expected, reason
):
    decision = step(hpa_loop(None, high=high), 0, current, q=float(proposal))
    assert (decision.replicas, decision.reason) == (expected, reason)


def test_without_behavior_a_scale_down_is_not_rate_limited():
    loop = hpa_loop(None)
    assert step(loop, 0, 40, q=40.0).replicas == 40
    assert step(loop, 301, 40, q=1.0).replicas == 1


# --- bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize("behavior", [None, K8S], ids=["no behavior", "default behavior"])
def test_min_and_max_clamp_with_their_reasons(behavior):
    loop = hpa_loop(behavior, low=3, high=10)
    too_many = step(loop, 0, 8, q=50.0)
    assert (too_many.replicas, too_many.reason) == (10, Reason.TOO_MANY)
    loop = hpa_loop(behavior, low=3, high=10)
    assert step(loop, 0, 5, q=5.0).replicas == 5
    too_few = step(loop, 301, 5, q=1.0)  # past the 300 s window of the initial 5
    assert (too_few.replicas, too_few.reason) == (3, Reason.TOO_FEW)


def test_a_count_out_of_range_goes_to_the_bound_at_once_and_records_nothing():
    loop = hpa_loop(rules("scale_down", policies=[RateLimit("Pods", 1, 60)]), low=1, high=10)
    assert step(loop, 0, 10, q=10.0).replicas == 10
    corrected = step(loop, 400, 30, q=1.0)  # someone scaled to 30: no rate limit, no window
    assert (corrected.replicas, corrected.reason) == (10, Reason.TOO_MANY)
    assert [t for t, _ in loop.history_] == []  # 10 at t=0 forgotten; nothing new recorded
    # the correction was a scale-down event: the 1 pod per 60 s limit is spent for a period
    assert step(loop, 410, 10, q=1.0).replicas == 10


# --- invalid metrics --------------------------------------------------------------------------


def test_a_partial_failure_never_scales_down_but_may_scale_up():
    loop = hpa_loop(K8S, metrics=(Q, R))
    held = step(loop, 0, 6, q=2.0)  # r is missing, q would scale down
    assert (held.replicas, held.reason) == (6, Reason.NO_DATA)
    assert step(loop, 15, 6, q=9.0).replicas == 9  # r still missing, q scales up: allowed


def test_invalid_metrics_record_no_recommendation():
    loop = hpa_loop(rules("scale_down", stabilization_window_seconds=60.0))
    assert step(loop, 0, 8, q=8.0).replicas == 8
    for t in (15, 30, 45, 60):
        assert step(loop, t, 8).reason is Reason.NO_DATA  # q missing: hold, record nothing
    # had the held 8s been recorded, the window would still hold 8
    assert step(loop, 61, 8, q=2.0).replicas == 2


# --- the loop decides as the controller does, sync after sync ---------------------------------


class Upstream:
    """The controller's sync as ``horizontal.go`` keeps it, around a given proposal."""

    def __init__(self, low, high, behavior):
        self.low, self.high, self.behavior = low, high, behavior
        self.recommendations = None
        self.ups, self.downs = [], []

    def sync(self, now, current, proposal):
        if self.recommendations is None:  # recordInitialRecommendation
            self.recommendations = [(now, current)]
        if current == 0 and self.low != 0:
            return current  # ScalingDisabled
        if current > self.high:
            desired = self.high
        elif current < self.low:
            desired = self.low
        elif proposal is None:
            return current  # invalid metrics: reconcile returns before normalizing
        else:
            stabilized, self.recommendations = stabilize(
                self.recommendations, proposal, current, now, self.behavior
            )
            desired, _ = normalize(
                current,
                stabilized,
                min_replicas=self.low,
                max_replicas=self.high,
                behavior=self.behavior,
                scale_up_events=self.ups,
                scale_down_events=self.downs,
                now=now,
            )
        if desired != current and self.behavior is not None:  # storeScaleEvent
            if desired > current:
                self.ups = store_scale_event(
                    self.ups, desired - current, now, self.behavior.scale_up
                )
            else:
                self.downs = store_scale_event(
                    self.downs, current - desired, now, self.behavior.scale_down
                )
        return desired


_limits = st.lists(
    st.builds(
        RateLimit,
        st.sampled_from(["Pods", "Percent"]),
        st.integers(1, 150),
        st.sampled_from([15.0, 30.0, 60.0]),
    ),
    min_size=1,
    max_size=2,
)
_rules = st.builds(
    ScalingRules,
    st.sampled_from([0.0, 15.0, 60.0, 300.0]),
    _limits,
    st.sampled_from(["Max", "Max", "Min", "Disabled"]),
)
_syncs = st.lists(
    st.tuples(
        st.sampled_from([1, 5, 15, 15, 30, 45, 60, 240, 300]),  # seconds since the last sync
        st.one_of(st.none(), st.integers(-3, 3)),  # None: the count the loop decided; else a jolt
        st.one_of(st.none(), st.integers(0, 40)),  # the proposal; None: the metric is missing
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    behavior=st.one_of(st.none(), st.builds(Behavior, _rules, _rules)),
    low=st.integers(0, 3),
    span=st.integers(0, 30),
    start=st.integers(0, 40),
    syncs=_syncs,
)
def test_the_loop_decides_as_the_controller_sync_after_sync(behavior, low, span, start, syncs):
    high = max(low + span, 1)
    loop = hpa_loop(behavior, low=low, high=high)
    upstream = Upstream(low, high, behavior)
    now, current = 0.0, start
    for gap, jolt, proposal in syncs:
        now += gap
        if jolt is not None:  # a failure, or someone else scaling the target
            current = max(0, current + jolt)
        metrics = {} if proposal is None else {"q": float(proposal)}
        got = loop.step(Observation(now, current, metrics)).replicas
        want = upstream.sync(now, current, proposal)
        assert got == want, (now, current, proposal)
        current = got
