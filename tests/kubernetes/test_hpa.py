"""The HPA policy: several metrics, the controller's sync over time, manifests in and out."""

import re

import pytest
import yaml

from elastic import Observation, Reason, checks
from elastic.errors import ManifestError
from elastic.kubernetes import (
    Behavior,
    HorizontalPodAutoscaler,
    Metric,
    ScalingPolicy,
    ScalingRules,
)
from elastic.sim import Constant, Poisson, ReplicaSpec, Scenario, simulate

CPU_50 = Metric("Resource", "cpu", "Utilization", 50)
RPS = Metric("External", "rps", "AverageValue", 100_000)  # 100 rps per replica


def sync(hpa, time, replicas, **metrics):
    obs = Observation(float(time), replicas, metrics)
    hpa.observe(obs)
    return hpa.recommend(obs)


@pytest.mark.parametrize("policy", HorizontalPodAutoscaler.conformance_params())
@pytest.mark.parametrize(
    "check", list(checks.yield_checks(HorizontalPodAutoscaler(max_replicas=5)))
)
def test_conformance(policy, check):
    check(HorizontalPodAutoscaler(**policy))


def test_the_largest_proposal_wins():
    hpa = HorizontalPodAutoscaler([CPU_50, RPS], max_replicas=50)
    rec = sync(hpa, 0, 4, cpu=60.0, rps=1000.0)  # cpu proposes 5, rps 10 (capped to 8)
    assert rec.replicas == 8 and rec.detail.startswith("rps proposes 10")
    assert rec.reason is Reason.SCALE_UP_LIMIT


def test_a_failed_metric_is_skipped_unless_the_rest_scale_down():
    hpa = HorizontalPodAutoscaler([CPU_50, RPS], max_replicas=50)
    assert sync(hpa, 0, 4, rps=700.0).replicas == 7  # cpu missing: rps alone scales up
    held = sync(HorizontalPodAutoscaler([CPU_50, RPS], max_replicas=50), 0, 4, rps=100.0)
    assert held.replicas is None and held.reason is Reason.NO_DATA
    assert "invalid metrics (1 of 2)" in held.detail


def test_without_behavior_scale_up_doubles_and_scale_down_waits_five_minutes():
    hpa = HorizontalPodAutoscaler([CPU_50], max_replicas=100)
    assert sync(hpa, 0, 3, cpu=500.0).replicas == 6  # wants 30, capped at 2 * 3
    assert sync(hpa, 15, 6, cpu=250.0).replicas == 12  # wants 30 again
    # the load is gone, but the highest recommendation of the last 300 s is 30
    assert sync(hpa, 30, 12, cpu=10.0).replicas == 24  # ... still capped at 2 * 12
    assert sync(hpa, 45, 24, cpu=10.0).replicas == 30
    assert sync(hpa, 315, 30, cpu=10.0).replicas == 30  # t=15 is exactly 300 s old: it counts
    assert sync(hpa, 316, 30, cpu=10.0).replicas == 6  # the 30s are gone: 10 % of 30 -> 6


def test_with_behavior_events_limit_the_rate_across_syncs():
    slow = Behavior(scale_up=ScalingRules(policies=[ScalingPolicy("Pods", 2, 60)]))
    hpa = HorizontalPodAutoscaler([CPU_50], max_replicas=100, behavior=slow)
    assert sync(hpa, 0, 4, cpu=100.0).replicas == 6  # +2
    assert sync(hpa, 30, 6, cpu=100.0).replicas == 6  # the 2 added 30 s ago fill the period
    assert sync(hpa, 61, 6, cpu=100.0).replicas == 8  # the period has passed
    # the event of t=0 is older than the longest period: its slot is reused
    assert [(e.replica_change, e.time) for e in hpa.state_.ups] == [(2, 61.0)]


@pytest.mark.parametrize(
    ("replicas", "expected", "reason"),
    [(0, 0, Reason.HOLD), (30, 20, Reason.TOO_MANY), (1, 2, Reason.TOO_FEW)],
    ids=["at zero: scaling disabled", "above max", "below min"],
)
def test_out_of_range_counts_are_corrected_before_any_metric(replicas, expected, reason):
    hpa = HorizontalPodAutoscaler([CPU_50], min_replicas=2, max_replicas=20)
    rec = sync(hpa, 0, replicas, cpu=50.0)
    assert (rec.replicas, rec.reason) == (expected, reason)


def test_no_metrics_means_cpu_at_80_percent():
    assert sync(HorizontalPodAutoscaler(max_replicas=20), 0, 4, cpu=160.0).replicas == 8


def test_warming_and_pending_replicas_are_unready_pods():
    hpa = HorizontalPodAutoscaler([CPU_50], max_replicas=50)
    obs = Observation(0.0, 6, {"cpu": 100.0}, ready=4, pending=2, warming=1)
    hpa.observe(obs)
    # 3 ready samples at 100 % -> ratio 2; unready pods (1 warming, 2 pending) at 0:
    # 300 % over 6 pods = 50 %, inside the band: hold
    assert hpa.recommend(obs).replicas == 6


MANIFEST = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: ContainerResource
    containerResource:
      name: memory
      container: app
      target: {type: AverageValue, averageValue: 512Mi}
  - type: Pods
    pods: {metric: {name: packets-per-second}, target: {type: AverageValue, averageValue: 1k}}
  - type: Object
    object:
      metric: {name: requests-per-second}
      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}
      target: {type: Value, value: 10k}
  - type: External
    external:
      metric: {name: queue_messages_ready, selector: {matchLabels: {queue: worker}}}
      target: {type: AverageValue, averageValue: "30"}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
      selectPolicy: Max
      policies: [{type: Pods, value: 2, periodSeconds: 30}]
    scaleUp: {selectPolicy: Min, tolerance: 50m}
"""


def test_a_manifest_round_trips():
    hpa = HorizontalPodAutoscaler.from_manifest(MANIFEST)
    assert [m.type for m in hpa.metrics] == [
        "Resource", "ContainerResource", "Pods", "Object", "External"
    ]  # fmt: skip
    assert hpa.metrics[1].target == 512 * 2**20 * 1000 and hpa.metrics[1].container == "app"
    assert hpa.metrics[2].target == 1_000_000 and hpa.metrics[3].target == 10_000_000
    assert hpa.behavior.scale_up.tolerance == 0.05
    written = hpa.to_manifest()
    again = HorizontalPodAutoscaler.from_manifest(yaml.safe_dump(written))
    assert repr(again) == repr(hpa) and again.to_manifest() == written


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("averageUtilization: 60", "averageUtilisation: 60"),
         "spec.metrics.0.resource.target.averageUtilisation=60: Extra inputs"),
        (("maxReplicas: 20", "maxReplicas: 0"), "spec.maxReplicas=0"),
        (("type: Value, value: 10k", "type: Value, value: ten"), "Kubernetes quantity"),
        (("type: Pods\n", "type: Pod\n"), "spec.metrics.2.type='Pod'"),
        (("minReplicas: 2", "minReplicas: 30"), "spec.minReplicas=30"),
        (("averageUtilization: 60}", "averageValue: 60}"), "needs averageUtilization"),
    ],
    ids=["misspelt field", "max 0", "bad quantity", "unknown metric type", "min above max",
         "target without its value"],
)  # fmt: skip
def test_manifest_errors_name_the_field(change, message):
    with pytest.raises(ManifestError, match=message.replace(".", r"\.").replace("(", r"\(")):
        HorizontalPodAutoscaler.from_manifest(MANIFEST.replace(*change))


def test_it_runs_in_the_simulator():
    hpa = HorizontalPodAutoscaler([CPU_50], max_replicas=30)
    scenario = Scenario(Poisson(40.0), duration=1200.0, replica=ReplicaSpec(boot=Constant(30.0)))
    result = simulate(scenario, hpa.loop(), fidelity="fluid")
    assert 2 <= result.replicas[-1] <= 30 and result.conserved()


# --- issue 15 B6/B7: impossible metrics are missing data; huge fleets are counts -------------


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e308, -5.0])
@pytest.mark.parametrize("metric", [CPU_50, RPS, Metric("Pods", "qps", "AverageValue", 10_000)])
def test_an_impossible_metric_is_missing_data_not_a_crash(metric, value):
    hpa = HorizontalPodAutoscaler([metric], min_replicas=1, max_replicas=50)
    rec = sync(hpa, 0, 4, **{metric.name: value})
    if value == 1e308:  # finite: a valid, huge reading (saturates, then maxReplicas caps it)
        assert rec.replicas == 8
    else:
        assert rec.replicas is None and rec.reason is Reason.NO_DATA
        assert re.search("is not a finite number|is negative", rec.detail), rec.detail


def test_an_impossible_metric_among_good_ones_never_scales_down():
    hpa = HorizontalPodAutoscaler([CPU_50, RPS], min_replicas=1, max_replicas=50)
    rec = sync(hpa, 0, 8, cpu=10.0, rps=float("inf"))
    assert rec.replicas is None and rec.reason is Reason.NO_DATA


def test_an_hpa_at_a_billion_replicas_decides_from_counts():
    import time

    hpa = HorizontalPodAutoscaler([CPU_50], min_replicas=1, max_replicas=2 * 10**9)
    started = time.perf_counter()
    rec = sync(hpa, 0, 10**9, cpu=75.0)
    assert time.perf_counter() - started < 1.0  # one Pod object per replica took minutes
    assert rec.replicas == 1_500_000_000
