"""Knative's KPA decider: panic mode's lifecycle, rate bounds, delay window, burst capacity."""

import re

import pytest

from elastic import Observation, checks
from elastic.errors import ParameterError
from elastic.knative import Decider, DeciderSpec, KnativeKPA

SPEC = DeciderSpec.defaults(target_value=10.0, target_burst_capacity=0.0)

# each step: (now, ready pods, stable, panic, expected pods, panicking after, why)
PANIC_LIFECYCLE = [
    (0.0, 1, 10.0, 10.0, 1, False, "one pod's worth of load: stable mode, 1 pod"),
    (2.0, 1, 15.0, 50.0, 5, True, "panic window at 5 pods' worth, 5x the ready pods: panic"),
    (4.0, 5, 20.0, 30.0, 5, True, "3 pods would do, but panic mode never scales down"),
    (40.0, 5, 20.0, 120.0, 12, True, "over the threshold again (12/5 >= 2): panic extended to 40"),
    (90.0, 12, 20.0, 20.0, 12, True, "below the threshold, but panic ended only 50 s ago"),
    (101.0, 12, 20.0, 20.0, 6, False, "60 s after the last surge: stable mode, halved at most"),
    (103.0, 6, 20.0, 20.0, 3, False, "down by at most half per decision (6 / 2)"),
    (105.0, 3, 20.0, 20.0, 2, False, "the stable value needs 2 pods"),
]  # fmt: skip


def test_panic_mode_enters_holds_extends_and_leaves():
    decider = Decider(SPEC, ready_pods=1, now=0.0)
    for now, ready, stable, panic, pods, panicking, why in PANIC_LIFECYCLE:
        result = decider.scale(now, ready, stable, panic)
        assert (result.desired_pod_count, decider.panicking) == (pods, panicking), why
        assert result.scale_valid


def test_a_decider_starts_panicking_with_more_than_one_ready_pod():
    decider = Decider(SPEC, ready_pods=5, now=0.0)
    assert decider.panicking and decider.max_panic_pods == 5
    assert decider.scale(10.0, 5, 10.0, 10.0).desired_pod_count == 5, "held at the start count"
    assert decider.scale(61.0, 5, 10.0, 10.0).desired_pod_count == 2, "then stable: floor(5 / 2)"
    assert not Decider(SPEC, ready_pods=1).panicking


@pytest.mark.parametrize(
    ("spec", "ready", "stable", "panic", "expected", "why"),
    [
        (DeciderSpec.defaults(target_value=10.0, max_scale_up_rate=2.0), 3, 100.0, 10.0, 6,
         "scale-up capped at ceil(2 x 3)"),
        (SPEC, 4, 0.0, 0.0, 2, "reachable: down to floor(4 / 2) at most"),
        (DeciderSpec.defaults(target_value=10.0, reachable=False), 4, 0.0, 0.0, 0,
         "unreachable: no scale-down bound, straight to zero"),
        (DeciderSpec.defaults(target_value=10.0, activation_scale=3), 1, 5.0, 5.0, 3,
         "activation scale: any load asks for at least 3"),
        (DeciderSpec.defaults(target_value=10.0, activation_scale=3), 1, 0.0, 0.0, 0,
         "activation scale does not apply to zero load"),
        (SPEC, 0, 25.0, 25.0, 3, "zero ready pods count as one for the rates"),
    ],
)  # fmt: skip
def test_rate_bounds(spec, ready, stable, panic, expected, why):
    assert Decider(spec, ready_pods=1).scale(0.0, ready, stable, panic).desired_pod_count == (
        expected
    ), why


@pytest.mark.parametrize(
    ("burst", "expected", "why"),
    [(211.0, 39, "floor(3 x 100 - 211 - 50)"), (0.0, 0, "no burst capacity wanted"),
     (-1.0, -1, "unlimited: always through the activator")],
)  # fmt: skip
def test_excess_burst_capacity(burst, expected, why):
    spec = DeciderSpec.defaults(target_value=100.0, target_burst_capacity=burst)
    assert Decider(spec, ready_pods=1).scale(0.0, 3, 50.0, 50.0).excess_burst_capacity == expected


def test_no_data_is_an_invalid_result():
    result = Decider(SPEC, ready_pods=1).scale(0.0, 1, None, None)
    assert not result.scale_valid and result.desired_pod_count == 0


def test_scale_down_delay_keeps_the_highest_count_of_the_window():
    decider = Decider(DeciderSpec.defaults(target_value=10.0, scale_down_delay=30.0), 1)
    assert decider.scale(0.0, 1, 50.0, 10.0).desired_pod_count == 5  # stable mode
    assert decider.scale(10.0, 5, 20.0, 20.0).desired_pod_count == 5, "5 is inside the 30 s"
    assert decider.scale(28.0, 5, 20.0, 20.0).desired_pod_count == 5, "bucket 0 + 15 > bucket 14"
    assert decider.scale(30.0, 5, 20.0, 20.0).desired_pod_count == 2, "bucket 0 has left"
    assert not decider.panicking


def test_spec_validation_names_the_field():
    with pytest.raises(ParameterError, match="max_scale_down_rate"):
        DeciderSpec.defaults(max_scale_down_rate=1.0)


@pytest.mark.parametrize("params", KnativeKPA.conformance_params())
@pytest.mark.parametrize("check", list(checks.yield_checks(KnativeKPA())))
def test_conformance(params, check):
    check(KnativeKPA(**params))


def test_the_policy_averages_its_windows():
    kpa = KnativeKPA("concurrency", 10.0, target_burst_capacity=0.0)
    for t in range(0, 64, 2):
        obs = Observation(float(t), 2, {"concurrency": 10.0})  # 20 in all: 2 pods
        kpa.observe(obs)
        # it started with 2 ready pods, so in panic mode, for the first 60 s
        assert kpa.decider_.panicking == (t <= 60)
    assert kpa.recommend(obs).replicas == 2
    assert kpa._windows(62.0) == (20.0, 20.0)
    assert len(kpa.samples_) == 30, "the stable window keeps 60 s of samples"


# --- issue 15 A11 / B6: upstream's edges, impossible metrics ---------------------------------


def test_an_unreachable_revision_ignores_the_scale_down_delay():
    spec = DeciderSpec.defaults(target_value=10.0, scale_down_delay=30.0, reachable=False)
    decider = Decider(spec, 1)
    assert decider.scale(0.0, 1, 50.0, 10.0).desired_pod_count == 5
    assert decider.scale(2.0, 5, 0.0, 0.0).desired_pod_count == 0, "to zero at once, no delay"


@pytest.mark.parametrize(
    ("changes", "stable", "expected"),
    [({"activation_scale": 0}, 5.0, 1),  # upstream: activation scale 0 acts as 1
     ({"stable_window": 0.0}, 25.0, 3)],
    ids=["activation scale 0", "stable window 0"],
)  # fmt: skip
def test_upstream_zero_values_are_accepted(changes, stable, expected):
    spec = DeciderSpec.defaults(target_value=10.0, target_burst_capacity=0.0, **changes)
    assert Decider(spec, 1).scale(0.0, 1, stable, stable).desired_pod_count == expected


def test_a_kpa_with_a_stable_window_of_zero_decides_on_the_latest_value():
    kpa = KnativeKPA("concurrency", 10.0, target_burst_capacity=0.0, stable_window=0.0)
    obs = Observation(0.0, 1, {"concurrency": 25.0})
    kpa.observe(obs)
    assert kpa.recommend(obs).replicas == 3


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), -1.0, 1e308])
def test_an_impossible_metric_is_missing_data_with_a_reason(value):
    from elastic import Reason

    kpa = KnativeKPA("concurrency", 10.0, target_burst_capacity=0.0)
    obs = Observation(0.0, 4, {"concurrency": value})
    kpa.observe(obs)  # 1e308 x 4 pods overflows: no finite total either
    rec = kpa.recommend(obs)
    assert rec.replicas is None and rec.reason is Reason.NO_DATA
    assert re.search("is not a finite number|is negative|overflows", rec.detail), rec.detail
    # with earlier good samples the KPA keeps deciding on them, never scaling to zero
    kpa = KnativeKPA("concurrency", 10.0, target_burst_capacity=0.0)
    kpa.observe(Observation(0.0, 4, {"concurrency": 10.0}))
    later = Observation(2.0, 4, {"concurrency": value})
    kpa.observe(later)
    assert kpa.recommend(later).replicas == 4


def test_a_huge_target_ratio_is_bounded_by_the_scale_up_rate():
    decider = Decider(DeciderSpec.defaults(target_value=1e-300), 1)
    assert decider.scale(0.0, 2, 1e300, 1e300).desired_pod_count == 2000  # ceil(1000 x 2)


@pytest.mark.parametrize(
    ("params", "message"),
    [({"target": 0.0}, "KnativeKPA: target=0.0 is invalid; expected a number > 0"),
     ({"max_scale_down_rate": 1.0}, "KnativeKPA: max_scale_down_rate=1.0 is invalid; expected a "
      "number > 1")],
)  # fmt: skip
def test_a_bad_parameter_is_named_as_written_not_as_the_deciders_spec(params, message):
    with pytest.raises(ParameterError) as error:
        KnativeKPA(**params)
    assert str(error.value) == message
