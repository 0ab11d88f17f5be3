"""keda.sh/v1alpha1 ScaledObject manifests: round trips, refusals with their place, a real one."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import yaml

from elastic import Behavior, Observation
from elastic.errors import ManifestError, PolicyError
from elastic.keda import CronTrigger, Fallback, PrometheusTrigger, ResourceTrigger, ScaledObject
from elastic.scenario import load

K8S = Behavior.kubernetes_default()
PROM = PrometheusTrigger("queue", 25.0, activation_threshold=2.5, server_address="http://p:9090",
                         query="sum(queue_messages)", name="queue")  # fmt: skip

SHAPES = {
    "one prometheus trigger, defaults": ScaledObject(triggers=[PROM], name="a",
                                                     target_ref={"name": "a"}),
    "a derived metric name, Value target, ignoreNullValues false, kept metadata": ScaledObject(
        triggers=[PrometheusTrigger("s0-prometheus", 0.5, metric_type="Value",
                                    ignore_null_values=False, extra={"namespace": "shop"})],
        name="b", target_ref={"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}),
    "metricName as the metric": ScaledObject(
        triggers=[PrometheusTrigger("rps", 100.0, name="web")], name="c",
        target_ref={"name": "c"}),
    "every trigger type, idle, fallback, behavior": ScaledObject(
        triggers=[PROM, ResourceTrigger("cpu", 70), ResourceTrigger("memory", 512 * 2**20 * 1000,
                                                                    "AverageValue", "app"),
                  CronTrigger("0 8 * * 1-5", "0 18 * * 1-5", 4, "Europe/Paris", metric="office",
                              name="office")],
        min_replica_count=2, max_replica_count=50, idle_replica_count=0, cooldown_period=60.0,
        polling_interval=15.0, fallback=Fallback(3, 6, "currentReplicasIfHigher"),
        behavior=replace(K8S, scale_down=replace(K8S.scale_down,
                                                 stabilization_window_seconds=120.0)),
        name="d", target_ref={"name": "d"}),
    "a cron trigger without a name": ScaledObject(
        triggers=[CronTrigger("30 7 * * *", "0 20 * * *", 2, "UTC", metric="s0-cron")],
        name="e", target_ref={"name": "e"}),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_round_trip(shape):
    policy = SHAPES[shape]
    text = yaml.safe_dump(policy.to_manifest())
    again = ScaledObject.from_manifest(text)
    assert again.get_params() == policy.get_params()
    assert again.to_manifest() == policy.to_manifest()


def test_the_origin_is_given_at_import():
    origin = datetime(2026, 3, 2, tzinfo=UTC)
    policy = ScaledObject(triggers=[PROM], origin=origin)
    assert ScaledObject.from_manifest(policy.to_manifest(), origin=origin).origin == origin


@pytest.mark.parametrize(("policy", "message"), [
    (ScaledObject(object.__new__(type("P", (), {"observe": lambda s, o: None,
                                               "recommend": lambda s, o: None})), "q"),
     "built with metric= has no trigger type"),
    (ScaledObject(triggers=[CronTrigger("0 8 * * *", "0 9 * * *", 2, metric="office")]),
     "triggers\\[0\\].metric='office'"),
    (ScaledObject(triggers=[PROM], polling_interval=7.5), "polling_interval=7.5"),
])  # fmt: skip
def test_what_a_manifest_cannot_say_is_refused_at_export(policy, message):
    with pytest.raises(PolicyError, match=message):
        policy.to_manifest()


GOOD = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: worker
spec:
  scaleTargetRef: {name: worker}
  minReplicaCount: 1
  maxReplicaCount: 20
  fallback: {failureThreshold: 3, replicas: 5}
  triggers:
  - type: prometheus
    metadata:
      serverAddress: http://prometheus:9090
      query: sum(queue_messages)
      threshold: "10"
  - type: cpu
    metricType: Utilization
    metadata:
      value: "70"
"""

# (why, the text replaced, its replacement, the problem: line:column: path: message)
REFUSED = [
    ("a number where Kubernetes keeps strings", 'threshold: "10"', "threshold: 10",
     "15:18: spec.triggers.0.metadata.threshold=10: Input should be a valid string"),
    ("a misspelled metadata field", "query:", "qeury:",
     "14:14: spec.triggers.0.metadata.qeury: unknown field of a prometheus trigger's metadata; "
     "expected one of serverAddress, query, threshold, activationThreshold, ignoreNullValues, "
     "metricName, namespace, customHeaders, queryParameters, unsafeSsl, timeout, awsRegion, "
     "identityOwner, authModes; did you mean 'query'?"),
    ("a threshold that is not a number", 'threshold: "10"', 'threshold: "ten"',
     "15:18: spec.triggers.0.metadata.threshold: ='ten' is not a number; expected one"),
    ("a threshold of 0", 'threshold: "10"', 'threshold: "0"',
     "15:18: spec.triggers.0.metadata.threshold: ='0' is invalid; expected a finite number > 0"),
    ("a missing query", "      query: sum(queue_messages)\n", "",
     "13:7: spec.triggers.0.metadata: a prometheus trigger needs metadata.query"),
    ("a trigger type elastic does not model", "type: prometheus", "type: kafka",
     "11:11: spec.triggers.0.type: ='kafka' is not modelled; expected one of prometheus, cpu, "
     "memory, cron"),
    ("cpu without metricType", "    metricType: Utilization\n", "",
     "16:5: spec.triggers.1.metricType: is none; a cpu trigger needs metricType Utilization or "
     "AverageValue (metadata.type was removed in KEDA 2.18)"),
    ("a cpu utilization that is not an integer", 'value: "70"', 'value: "70.5"',
     "19:14: spec.triggers.1.metadata.value: ='70.5' is not an integer; expected one"),
    ("min above max", "minReplicaCount: 1", "minReplicaCount: 30",
     "7:20: spec.minReplicaCount: =30 is invalid; expected at most maxReplicaCount (20)"),
    ("idleReplicaCount not below minReplicaCount", "minReplicaCount: 1",
     "minReplicaCount: 1\n  idleReplicaCount: 1",
     "8:21: spec.idleReplicaCount: =1 is invalid; expected below minReplicaCount (1"),
    ("a negative failureThreshold", "failureThreshold: 3", "failureThreshold: -3",
     "9:32: spec.fallback.failureThreshold=-3: Input should be greater than or equal to 0"),
    ("an unknown fallback behavior", "replicas: 5}", "replicas: 5, behavior: always}",
     "9:58: spec.fallback.behavior='always': Input should be 'static', 'currentReplicas'"),
    ("a fallback on cpu triggers alone",
     "  - type: prometheus\n    metadata:\n      serverAddress: http://prometheus:9090\n"
     "      query: sum(queue_messages)\n      threshold: \"10\"\n", "",
     "9:13: spec.fallback: is invalid with only cpu and memory triggers"),
    ("scalingModifiers", "  fallback:", "  advanced: {scalingModifiers: {formula: x}}\n  fallback:",
     "9:32: spec.advanced.scalingModifiers: is not modelled"),
    ("two triggers with one name", "  - type: cpu\n", "  - type: cpu\n    name: a\n",
     "") ,
    ("an unknown spec field", "maxReplicaCount:", "maxReplicas: 3\n  maxReplicaCount:",
     "8:16: spec.maxReplicas=3: Extra inputs are not permitted"),
    ("a bad cron expression",
     "  - type: cpu\n", "  - type: cron\n    metadata: {timezone: UTC, start: 0 25 * * *, "
     "end: 0 9 * * *, desiredReplicas: \"2\"}\n  - type: cpu\n",
     "17:38: spec.triggers.1.metadata.start: CronTrigger: start='0 25 * * *' is invalid"),
    ("an unknown cron time zone",
     "  - type: cpu\n", "  - type: cron\n    metadata: {timezone: Mars/Olympus, start: 0 8 * * *, "
     "end: 0 9 * * *, desiredReplicas: \"2\"}\n  - type: cpu\n",
     "17:26: spec.triggers.1.metadata.timezone: CronTrigger: timezone='Mars/Olympus' is "
     "invalid; expected an IANA time zone name"),
    ("the wrong apiVersion", "keda.sh/v1alpha1", "keda.sh/v1",
     "1:13: apiVersion='keda.sh/v1': Input should be 'keda.sh/v1alpha1'"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in REFUSED])  # fmt: skip
def test_refusals_name_the_place(old, new, expected):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    problems = [str(p).removeprefix("<text>:") for p in load(text).problems]
    if not expected:  # the duplicate trigger name: at the second one
        text = text.replace("  - type: prometheus\n", "  - type: prometheus\n    name: a\n", 1)
        problems = [str(p).removeprefix("<text>:") for p in load(text).problems]
        expected = "spec.triggers.1.name: ='a' is taken by triggers[0]; expected trigger names"
    assert any(expected in p for p in problems), problems
    with pytest.raises(ManifestError):
        ScaledObject.from_manifest(text)


def test_the_good_manifest_loads_without_problems():
    manifests = load(GOOD)
    assert manifests.problems == []
    assert list(manifests.objects["ScaledObject"]) == ["worker"]


# A user's ScaledObject as found in a cluster: namespace, labels, a pause annotation, a
# TriggerAuthentication, the deprecated metricName, a namespaced query for Thanos.
REAL = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: checkout-worker
  namespace: shop
  labels: {app.kubernetes.io/name: checkout-worker}
  annotations:
    autoscaling.keda.sh/paused-scale-in: "false"
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: checkout-worker
  pollingInterval: 15
  cooldownPeriod: 600
  initialCooldownPeriod: 120
  minReplicaCount: 0
  maxReplicaCount: 30
  fallback:
    failureThreshold: 4
    replicas: 6
    behavior: currentReplicasIfHigher
  advanced:
    restoreToOriginalReplicaCount: true
    horizontalPodAutoscalerConfig:
      name: checkout-worker-hpa
      behavior:
        scaleDown:
          stabilizationWindowSeconds: 300
          policies:
          - {type: Percent, value: 50, periodSeconds: 60}
  triggers:
  - type: prometheus
    authenticationRef: {name: prometheus-bearer}
    metadata:
      serverAddress: https://thanos-querier.monitoring.svc:9091
      namespace: shop
      metricName: checkout_backlog
      query: sum(checkout_queue_depth{namespace="shop"})
      threshold: "50"
      activationThreshold: "5"
      ignoreNullValues: "false"
      authModes: bearer
status:
  hpaName: keda-hpa-checkout-worker
"""


def test_a_real_scaledobject_with_a_prometheus_trigger():
    manifests = load(REAL)
    assert manifests.problems == []
    notes = {p.path for p in manifests.notes}
    assert notes == {
        "metadata.namespace", "metadata.labels", "metadata.annotations", "status",
        "spec.initialCooldownPeriod", "spec.advanced.restoreToOriginalReplicaCount",
        "spec.advanced.horizontalPodAutoscalerConfig.name", "spec.triggers.0.authenticationRef",
        "spec.triggers.0.metadata.namespace", "spec.triggers.0.metadata.authModes",
    }  # fmt: skip
    policy = manifests.objects["ScaledObject"]["checkout-worker"][1]
    (trigger,) = policy.triggers
    assert (trigger.metric, trigger.threshold, trigger.activation_threshold) == (
        "checkout_backlog",
        50.0,
        5.0,
    )
    assert trigger.ignore_null_values is False
    assert policy.behavior.scale_down.policies[0].value == 50
    loop = policy.loop()
    backlog = [(0, 0, 3.0), (15, 0, 400.0), (30, 1, 400.0), (45, 5, 400.0), (60, 8, None)]
    got = [loop.step(Observation(float(t), r, {} if q is None else {"checkout_backlog": q})
                     ).replicas for t, r, q in backlog]  # fmt: skip
    # inactive (3 <= 5); activated to 1; the HPA: 400 / 50 = 8, capped at max(4 pods, 100 %)
    # per 15 s: 1 -> 5 -> 8; a failed read (1 of 4 tolerated) holds
    assert got == [0, 1, 5, 8, 8]
    # kept metadata comes back on export
    assert policy.to_manifest()["spec"]["triggers"][0]["metadata"]["namespace"] == "shop"


def test_a_scenario_runs_a_scaledobject(tmp_path):
    from elastic.scenario import build

    text = (
        REAL
        + """---
apiVersion: elastic/v1
kind: Workload
metadata: {name: w}
spec:
  generator: {poisson: {rate: 5}}
  service: {exponential: {mean: 0.5}}
  slo: 2
---
apiVersion: elastic/v1
kind: Scenario
metadata: {name: s}
spec: {workload: w, policy: checkout-worker, duration: 1h}
"""
    )
    manifests = load(text)
    assert manifests.problems == []
    built = build(manifests, "s")
    assert isinstance(built.loop.policies, ScaledObject)
    assert built.loop.max_replicas == 30


def test_the_keda_example_loads_and_builds():
    from pathlib import Path

    from elastic.scenario import build

    folder = Path(__file__).resolve().parents[2] / "examples" / "keda"
    manifests = load(folder)
    assert manifests.problems == []
    assert [n.path for n in manifests.notes] == ["metadata.namespace"]
    assert isinstance(build(manifests, "worker-day").loop.policies, ScaledObject)
