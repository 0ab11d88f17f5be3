"""The HPA's replica calculation, row by row from the upstream semantics.

Requests are 1000m (one core) unless a row says otherwise; usages in milli.
Several rows are upstream's own cases (replica_calculator_test.go), named so.
"""

import pytest

from elastic.errors import ElasticError, MetricsError, ParameterError
from elastic.kubernetes import (
    Pod,
    Tolerance,
    average_value_replicas,
    average_value_total_replicas,
    utilization_replicas,
    value_replicas,
)


def pods(*usages, request=1000, **flags):
    return [Pod(f"p{i}", request=request, usage=u, **flags) for i, u in enumerate(usages)]


UTILIZATION = [
    # (why, current, pods, target, tolerance, replicas, utilization, raw average)
    ("upstream ScaleUp: 50 % against 30 % on 3 ready pods", 3,
     pods(300, 500, 700), 30, 0.1, 5, 50, 500),
    ("upstream ScaleDown: 28 % against 50 % on 5 pods", 5,
     pods(100, 300, 500, 250, 250), 50, 0.1, 3, 28, 280),
    ("upstream Tolerance: 102 % against 100 % is within 10 %", 3,
     pods(1010, 1030, 1020), 100, 0.1, 3, 102, 1020),
    ("tolerance edge: exactly 110 % of target holds", 4,
     pods(550, 550, 550, 550), 50, 0.1, 4, 55, 550),
    ("tolerance edge: 112 % of target scales (utilization 56 %)", 4,
     pods(560, 560, 560, 560), 50, 0.1, 5, 56, 560),
    ("utilization is truncated before the ratio: 33.33 % -> 33 %", 3,
     pods(333, 333, 334), 30, 0.1, 3, 33, 333),
    ("an asymmetric band: 8 % below the target holds with scale_down=0.1", 4,
     pods(460, 460, 460, 460), 50, Tolerance(scale_up=0.0, scale_down=0.1), 4, 46, 460),
    ("an asymmetric band: 2 % above scales with scale_up=0.0", 4,
     pods(510, 510, 510, 510), 50, Tolerance(scale_up=0.0, scale_down=0.1), 5, 51, 510),
    ("upstream ScaleUpUnreadyLessScale: an initializing pod counts 0 on the way up", 3,
     [Pod("p0", request=1000, usage=300, initializing=True),
      Pod("p1", request=1000, usage=500), Pod("p2", request=1000, usage=700)],
     30, 0.1, 4, 60, 600),
    ("a pending pod counts 0 on the way up: 80 % -> 53 %, inside the band: hold", 3,
     [Pod("p0", phase="Pending", request=1000), Pod("p1", request=1000, usage=800),
      Pod("p2", request=1000, usage=800)], 50, 0.1, 3, 80, 800),
    ("unready pods that make the ratio cross 1 keep the count", 3,
     [Pod("p0", phase="Pending", request=1000), Pod("p1", phase="Pending", request=1000),
      Pod("p2", request=1000, usage=1200)], 100, 0.1, 3, 120, 1200),
    ("an unready pod is left out of a scale-down: ceil(0.2 * 3 ready)", 4,
     [Pod("p0", request=1000, usage=900, initializing=True), *pods(100, 100, 100)[1:],
      Pod("p3", request=1000, usage=100)], 50, 0.1, 1, 10, 100),
    ("missing sample on a scale-up counts 0: 90 % -> 67 % over 4 pods", 4,
     [*pods(900, 900, 900), Pod("m", request=1000)], 50, 0.1, 6, 90, 900),
    ("missing sample on a scale-down counts 100 % of its request", 4,
     [*pods(100, 100, 100), Pod("m", request=1000)], 50, 0.1, 3, 10, 100),
    ("missing sample on a scale-down with a target above 100 % counts the target", 4,
     [*pods(1000, 1000, 1000), Pod("m", request=1000)], 150, 0.1, 3, 100, 1000),
    ("missing samples that flip the direction keep the count", 2,
     [Pod("a", request=1000, usage=700), Pod("m", request=1000)], 50, 0.1, 2, 70, 700),
    ("fewer replicas than now on a scale-up keep the count", 10,
     [*pods(2000, 2000), Pod("m", request=1000)], 100, 0.1, 10, 200, 2000),
    ("deleting pods are ignored on a scale-down too: 10 % on the 2 others", 3,
     [*pods(100, 100), Pod("d", request=1000, usage=2000, deleting=True)], 80, 0.1, 1, 10,
     100),
    ("deleting and failed pods are ignored", 3,
     [*pods(800, 800), Pod("d", request=1000, usage=0, deleting=True),
      Pod("f", phase="Failed", request=1000, usage=0)], 80, 0.1, 3, 80, 800),
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "pod_list", "target", "tolerance", "replicas", "utilization", "raw"),
    [pytest.param(*row[1:], id=row[0]) for row in UTILIZATION],
)
def test_utilization(current, pod_list, target, tolerance, replicas, utilization, raw):
    result = utilization_replicas(current, pod_list, target, tolerance=tolerance)
    assert (result.replicas, result.utilization, result.raw_average) == (
        replicas,
        utilization,
        raw,
    )


def test_initializing_counts_only_for_cpu():
    # memory: an initializing pod's sample is used as any other
    pod_list = [Pod("a", request=1000, usage=900, initializing=True), *pods(900)]
    assert utilization_replicas(2, pod_list, 50, resource="memory").replicas == 4
    assert utilization_replicas(2, pod_list, 50, resource="cpu").replicas == 2  # 900/1000 on 1


@pytest.mark.parametrize(
    ("pod_list", "message"),
    [
        ([], "no pods returned by selector"),
        ([Pod("a", usage=500)], "missing request for cpu in pod a"),
        ([Pod("a", request=1000)], "did not receive metrics"),
        ([Pod("a", phase="Pending", request=1000)], "did not receive metrics"),
    ],
    ids=["no pods", "a pod without a request", "no samples", "only unready pods"],
)
def test_utilization_errors_where_upstream_errs(pod_list, message):
    with pytest.raises(MetricsError, match=message):
        utilization_replicas(1, pod_list, 50)
    assert issubclass(MetricsError, ElasticError)


AVERAGE_VALUE = [
    ("upstream ScaleUpCM: average 20 against 15 on 3 pods", 3,
     [Pod("a", usage=20_000), Pod("b", usage=10_000), Pod("c", usage=30_000)], 15_000, 4, 20_000),
    ("upstream ScaleDownCM: average 12 against 20 on 5 pods", 5,
     [Pod(f"p{i}", usage=12_000) for i in range(5)], 20_000, 3, 12_000),
    ("the average is truncated: (1 + 2) // 2 = 1 is on target", 2,
     [Pod("a", usage=1), Pod("b", usage=2)], 1, 2, 1),
    ("a missing pod counts at the target on a scale-down", 3,
     [Pod("a", usage=5_000), Pod("b", usage=5_000), Pod("m")], 10_000, 2, 5_000),
    ("a missing pod counts 0 on a scale-up", 3,
     [Pod("a", usage=30_000), Pod("b", usage=30_000), Pod("m")], 10_000, 6, 30_000),
    ("readiness does not matter for a Pods metric", 2,
     [Pod("a", usage=30_000, initializing=True), Pod("b", usage=30_000)], 10_000, 6, 30_000),
    ("a pending pod is unready and counts 0 on a scale-up", 3,
     [Pod("a", usage=30_000), Pod("b", usage=30_000), Pod("p", phase="Pending")], 10_000, 6,
     30_000),
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "pod_list", "target", "replicas", "usage"),
    [pytest.param(*row[1:], id=row[0]) for row in AVERAGE_VALUE],
)
def test_average_value(current, pod_list, target, replicas, usage):
    result = average_value_replicas(current, pod_list, target)
    assert (result.replicas, result.usage) == (replicas, usage)


VALUE = [
    ("upstream ScaleUpCMObject: 20 against 10 on 3 ready pods", 3, 20_000, 10_000, 3, 6),
    ("within tolerance holds", 4, 10_500, 10_000, 4, 4),
    ("ready pods, not the current count, multiply the ratio", 5, 20_000, 10_000, 2, 4),
    ("from zero replicas: ceil(value / target)", 0, 25_000, 10_000, 0, 3),
    ("a scale-down", 6, 5_000, 10_000, 6, 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "value", "target", "ready", "replicas"),
    [pytest.param(*row[1:], id=row[0]) for row in VALUE],
)
def test_value(current, value, target, ready, replicas):
    assert value_replicas(current, value, target, ready).replicas == replicas


AVERAGE_TOTAL = [
    ("out of the band: ceil(value / target); usage per replica rounded up", 3, 20_000, 10_000,
     2, 6_667),
    ("inside the band: the current count", 4, 41_000, 10_000, 4, 10_250),
    ("a scale-up", 2, 55_000, 10_000, 6, 27_500),
]  # fmt: skip


@pytest.mark.parametrize(
    ("current", "value", "target", "replicas", "usage"),
    [pytest.param(*row[1:], id=row[0]) for row in AVERAGE_TOTAL],
)
def test_average_value_total(current, value, target, replicas, usage):
    result = average_value_total_replicas(current, value, target)
    assert (result.replicas, result.usage) == (replicas, usage)


# --- issue 15 A11: exactness where upstream's edges differ ------------------------------------

INT32_MAX = 2**31 - 1


def test_a_scale_down_tolerance_above_one_is_valid_and_never_scales_down():
    band = Tolerance(scale_up=0.1, scale_down=1.5)  # valid upstream: 1 - 1.5 < every ratio
    assert band.within(0.0) and band.within(0.5) and not band.within(1.2)
    assert utilization_replicas(10, pods(10, 10, 10), 50, tolerance=band).replicas == 10


@pytest.mark.parametrize(
    ("call", "why"),
    [(lambda: utilization_replicas(3, pods(10**15, 10**15, 10**15), 50), "utilization"),
     (lambda: average_value_replicas(3, pods(10**15, 10**15, 10**15), 1), "average value"),
     (lambda: value_replicas(3, 2**63 - 1, 1, ready_pods=3), "object value"),
     (lambda: value_replicas(0, 2**63 - 1, 1, ready_pods=0), "object value from zero"),
     (lambda: average_value_total_replicas(3, 2**63 - 1, 1), "external average value")],
    ids=["utilization", "average value", "value", "value from zero", "total average value"],
)  # fmt: skip
def test_replica_counts_from_huge_metrics_saturate_at_the_int32_maximum(call, why):
    assert call().replicas == INT32_MAX, why


def test_missing_pods_at_a_usage_ratio_of_exactly_one_hold():
    # upstream fills missing pods only when the ratio is below or above 1; at 1.0 it holds
    rows = [Pod("a", usage=10_000), Pod("b", usage=10_000), Pod("c", usage=None)]
    assert average_value_replicas(3, rows, 10_000, tolerance=0.0).replicas == 3
    rows = [Pod("a", request=1000, usage=500), Pod("b", request=1000, usage=None)]
    assert utilization_replicas(2, rows, 50, tolerance=0.0).replicas == 2


def test_identical_pods_given_as_a_count_decide_as_the_pods_would():
    one_by_one = [Pod(f"p{i}", request=1000, usage=900) for i in range(6)]
    one_by_one += [Pod(f"q{i}", request=1000, usage=None) for i in range(2)]
    grouped = [Pod("p", request=1000, usage=900, count=6),
               Pod("q", request=1000, usage=None, count=2)]  # fmt: skip
    assert utilization_replicas(8, grouped, 50) == utilization_replicas(8, one_by_one, 50)
    assert average_value_replicas(8, grouped, 500) == average_value_replicas(8, one_by_one, 500)
    with pytest.raises(ElasticError, match="count"):
        Pod("p", count=0)


@pytest.mark.parametrize("ready", [0, 3])
def test_a_metric_value_beyond_int64_is_refused_not_a_nan(ready):
    # 10**400 milli-units made the ratio infinite and inf * 0 ready pods NaN
    with pytest.raises(ParameterError, match=r"value=.* at most 9223372036854775807"):
        value_replicas(3, 10**400, 1000, ready_pods=ready)
    assert value_replicas(3, 2**63 - 1, 1000, ready_pods=ready).replicas >= 0
