"""The HPA: its proposal (the policy), the controller's sync over time (``hpa.loop()``),
manifests in and out."""

import re
from dataclasses import replace

import pytest
import yaml

from elastic import Behavior, Observation, RateLimit, Reason, checks
from elastic.errors import ManifestError, PolicyError
from elastic.kubernetes import HorizontalPodAutoscaler, Metric
from elastic.sim import Constant, Poisson, ReplicaSpec, Scenario, simulate

CPU_50 = Metric("Resource", "cpu", "Utilization", 50)
RPS = Metric("External", "rps", "AverageValue", 100_000)  # 100 rps per replica


def sync(loop, time, replicas, **metrics):
    """One sync of the controller: a step of the HPA's loop."""
    return loop.step(Observation(float(time), replicas, metrics))


def detail(decision):
    return decision.recommendations[0].detail


@pytest.mark.parametrize("policy", HorizontalPodAutoscaler.conformance_params())
@pytest.mark.parametrize(
    "check", list(checks.yield_checks(HorizontalPodAutoscaler(max_replicas=5)))
)
def test_conformance(policy, check):
    check(HorizontalPodAutoscaler(**policy))


def test_the_largest_proposal_wins():
    hpa = HorizontalPodAutoscaler([CPU_50, RPS], max_replicas=50)
    obs = Observation(0.0, 4, {"cpu": 60.0, "rps": 1000.0})  # cpu proposes 5, rps 10
    rec = hpa.recommend(obs)
    assert (rec.replicas, rec.reason, rec.detail) == (10, Reason.TARGET_TRACKING, "rps proposes 10")
    decision = hpa.loop().step(obs)  # the controller caps it at max(2 * 4, 4)
    assert decision.replicas == 8 and decision.reason is Reason.SCALE_UP_LIMIT
    assert detail(decision) == "rps proposes 10"


def test_a_failed_metric_is_skipped_unless_the_rest_scale_down():
    hpa = HorizontalPodAutoscaler([CPU_50, RPS], max_replicas=50)
    assert sync(hpa.loop(), 0, 4, rps=700.0).replicas == 7  # cpu missing: rps alone scales up
    held = sync(hpa.loop(), 0, 4, rps=100.0)
    assert held.replicas == 4 and held.reason is Reason.NO_DATA
    assert "invalid metrics (1 of 2)" in detail(held)


def test_without_behavior_scale_up_doubles_and_scale_down_waits_five_minutes():
    loop = HorizontalPodAutoscaler([CPU_50], max_replicas=100).loop()
    assert sync(loop, 0, 3, cpu=500.0).replicas == 6  # wants 30, capped at 2 * 3
    assert sync(loop, 15, 6, cpu=250.0).replicas == 12  # wants 30 again
    # the load is gone, but the highest recommendation of the last 300 s is 30
    assert sync(loop, 30, 12, cpu=10.0).replicas == 24  # ... still capped at 2 * 12
    assert sync(loop, 45, 24, cpu=10.0).replicas == 30
    assert sync(loop, 315, 30, cpu=10.0).replicas == 30  # t=15 is exactly 300 s old: it counts
    assert sync(loop, 316, 30, cpu=10.0).replicas == 6  # the 30s are gone: 10 % of 30 -> 6


def test_with_behavior_events_limit_the_rate_across_syncs():
    k8s = Behavior.kubernetes_default()
    slow = replace(k8s, scale_up=replace(k8s.scale_up, policies=[RateLimit("Pods", 2, 60)]))
    loop = HorizontalPodAutoscaler([CPU_50], max_replicas=100, behavior=slow).loop()
    assert sync(loop, 0, 4, cpu=100.0).replicas == 6  # +2
    held = sync(loop, 30, 6, cpu=100.0)  # the 2 added 30 s ago fill the period
    assert held.replicas == 6 and held.reason is Reason.SCALE_UP_LIMIT
    assert sync(loop, 61, 6, cpu=100.0).replicas == 8  # the period has passed


@pytest.mark.parametrize(
    ("replicas", "expected", "reason"),
    [(0, 0, Reason.HOLD), (30, 20, Reason.TOO_MANY), (1, 2, Reason.TOO_FEW)],
    ids=["at zero: scaling disabled", "above max", "below min"],
)
def test_out_of_range_counts_are_corrected_before_any_metric(replicas, expected, reason):
    loop = HorizontalPodAutoscaler([CPU_50], min_replicas=2, max_replicas=20).loop()
    decision = sync(loop, 0, replicas, cpu=500.0)
    assert (decision.replicas, decision.reason) == (expected, reason)
    assert decision.recommendations == ()  # the metrics are not read


def test_no_metrics_means_cpu_at_80_percent():
    assert sync(HorizontalPodAutoscaler(max_replicas=20).loop(), 0, 4, cpu=160.0).replicas == 8


def test_warming_and_pending_replicas_are_unready_pods():
    hpa = HorizontalPodAutoscaler([CPU_50], max_replicas=50)
    obs = Observation(0.0, 6, {"cpu": 100.0}, ready=4, pending=2, warming=1)
    # 3 ready samples at 100 % -> ratio 2; unready pods (1 warming, 2 pending) at 0:
    # 300 % over 6 pods = 50 %, inside the band: hold
    assert hpa.recommend(obs).replicas == 6
    assert hpa.loop().step(obs).replicas == 6


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


def test_behavior_must_fit_the_api():
    k8s = Behavior.kubernetes_default()
    for bad, field in [
        (replace(k8s, scale_down=replace(k8s.scale_down, stabilization_window_seconds=3601.0)),
         "behavior.scale_down.stabilization_window_seconds"),
        (replace(k8s, scale_up=replace(k8s.scale_up, stabilization_window_seconds=0.5)),
         "behavior.scale_up.stabilization_window_seconds"),
        (replace(k8s, scale_up=replace(k8s.scale_up, policies=[RateLimit("Pods", 1, 1801)])),
         "behavior.scale_up.policies[0].period_seconds"),
        (Behavior.kubernetes_no_behavior(), "behavior"),
    ]:  # fmt: skip
        with pytest.raises(PolicyError) as error:
            HorizontalPodAutoscaler([CPU_50], behavior=bad)
        assert error.value.name == field


def test_an_empty_list_of_policies_is_refused_as_the_api_does():
    with pytest.raises(ManifestError, match="at least one policy"):
        HorizontalPodAutoscaler.from_manifest(
            MANIFEST.replace(
                "policies: [{type: Pods, value: 2, periodSeconds: 30}]", "policies: []"
            )
        )


def test_a_manifest_fills_the_behavior_it_leaves_out_with_the_kubernetes_defaults():
    hpa = HorizontalPodAutoscaler.from_manifest(MANIFEST)
    k8s = Behavior.kubernetes_default()
    assert hpa.behavior == Behavior(
        replace(k8s.scale_up, select_policy="Min", tolerance=0.05),
        replace(k8s.scale_down, stabilization_window_seconds=60.0,
                policies=(RateLimit("Pods", 2, 30),)),
    )  # fmt: skip
    assert hpa.loop().behavior == hpa.behavior
    no_behavior = HorizontalPodAutoscaler.from_manifest(MANIFEST.split("  behavior:")[0])
    assert no_behavior.behavior is None
    assert no_behavior.loop().behavior == Behavior.kubernetes_no_behavior()


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
    decision = sync(hpa.loop(), 0, 4, **{metric.name: value})
    if value == 1e308:  # finite: a valid, huge reading (saturates, then the cap of 2 x 4)
        assert decision.replicas == 8
    else:
        assert decision.replicas == 4 and decision.reason is Reason.NO_DATA
        assert re.search("is not a finite number|is negative", detail(decision))


def test_an_impossible_metric_among_good_ones_never_scales_down():
    hpa = HorizontalPodAutoscaler([CPU_50, RPS], min_replicas=1, max_replicas=50)
    rec = hpa.recommend(Observation(0.0, 8, {"cpu": 10.0, "rps": float("inf")}))
    assert rec.replicas is None and rec.reason is Reason.NO_DATA


def test_an_hpa_at_a_billion_replicas_decides_from_counts():
    import time

    hpa = HorizontalPodAutoscaler([CPU_50], min_replicas=1, max_replicas=2 * 10**9)
    started = time.perf_counter()
    decision = sync(hpa.loop(), 0, 10**9, cpu=75.0)
    assert time.perf_counter() - started < 1.0  # one Pod object per replica took minutes
    assert decision.replicas == 1_500_000_000


# --- issue 16: warming pods are seen by the HPA's CPU-initialization rule, once ---------------


def test_warming_pods_reach_the_hpa_through_its_loop_as_initializing_pods():
    from elastic.kubernetes import Pod, utilization_replicas

    obs = Observation(0.0, 4, {"cpu": 150.0}, warming=2)
    pods = [Pod("running", request=1000, usage=1500, count=2),
            Pod("warming", request=1000, usage=1500, initializing=True, count=2)]  # fmt: skip
    # upstream: the initializing pods count at 0 on a scale-up: 3000 / 4000 = 75 %, 1.5 x 4
    assert utilization_replicas(4, pods, 50).replicas == 6
    hpa = HorizontalPodAutoscaler([CPU_50], max_replicas=50)
    assert hpa.recommend(obs).replicas == 6
    assert hpa.loop().step(obs).replicas == 6  # not 4: the loop must not take them away first


def test_warming_pods_do_not_hold_the_hpas_scale_down():
    loop = HorizontalPodAutoscaler([CPU_50], max_replicas=50).loop()
    loop.step(Observation(0.0, 4, {"cpu": 50.0}))
    # past the 300 s window; upstream leaves the 2 initializing pods out of a scale-down:
    # 10 % of 50 % on the 2 others -> ceil(0.2 * 2) = 1
    decision = loop.step(Observation(301.0, 4, {"cpu": 10.0}, warming=2))
    assert decision.replicas == 1
