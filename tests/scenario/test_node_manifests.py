"""The node level from manifests: NodePool, ClusterAutoscaler, CapacityProvider and a
Scenario's spec.nodes; every bad input with its exact place and message; the examples run."""

import json
from pathlib import Path

import pytest

from elastic.cli import main
from elastic.nodes import CapacityProvider, ClusterAutoscaler, EcsManagedScaling, Karpenter
from elastic.scenario import build, load
from elastic.scenario.node_level import capacity_provider_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BASE = """\
apiVersion: elastic/v1
kind: Workload
metadata: {name: w}
spec:
  generator: {poisson: {rate: 2}}
  service: {exponential: {mean: 0.2}}
---
apiVersion: elastic/v1
kind: ScalingPolicy
metadata: {name: p}
spec:
  policies: [{type: TargetTracking, metric: cpu, target: 60}]
  minReplicas: 1
  maxReplicas: 6
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    spec:
      containers:
      - name: web
        resources:
          requests: {cpu: 900m, memory: 512Mi}
---
apiVersion: elastic/v1
kind: Cluster
metadata: {name: core}
spec:
  cluster:
    nodes:
    - {name: n1, nodeType: m5.large, labels: {pool: a}, minNodes: 1, maxNodes: 5}
---
apiVersion: elastic/v1
kind: ClusterAutoscaler
metadata: {name: ca}
spec:
  scan-interval: 10s
  expander: least-waste
---
apiVersion: elastic/v1
kind: Scenario
metadata: {name: s}
spec:
  workload: w
  policy: p
  deployment: web
  cluster: core
  duration: 10m
  nodes:
    nodeAutoscaler: {kind: ClusterAutoscaler}
"""

NODEPOOL = """\
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: default}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
      - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c5]}
      - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}
  limits: {cpu: "32"}
  disruption: {consolidationPolicy: WhenEmpty, consolidateAfter: 30s}
"""
KARPENTER = BASE.replace("kind: ClusterAutoscaler}", "kind: NodePool}") + NODEPOOL

CAPACITY = """\
---
apiVersion: elastic/v1
kind: CapacityProvider
metadata: {name: web-ec2}
spec:
  autoScalingGroupProvider:
    autoScalingGroupArn: n1
    managedScaling: {status: ENABLED, targetCapacity: 90}
"""
ECS = BASE.replace("kind: ClusterAutoscaler}", "kind: CapacityProvider}") + CAPACITY


def said(text: str) -> tuple[list[str], list[str]]:
    manifests = load(text)
    strip = [
        [str(p).removeprefix("<text>:") for p in sorted(found)]
        for found in (manifests.problems, manifests.notes)
    ]
    return strip[0], strip[1]


def test_each_autoscaler_kind_builds_the_node_level_it_names() -> None:
    for text, kind in ((BASE, ClusterAutoscaler), (KARPENTER, Karpenter), (ECS, EcsManagedScaling)):
        manifests = load(text)
        assert manifests.problems == []
        level = build(manifests).scenario.nodes
        assert level is not None and isinstance(level.autoscaler, kind)
        assert dict(level.initial_nodes) == {"n1": 1}  # minNodes: ready at the start
        assert level.pod.requests.cpu == 900 and level.pod.requests.memory == 512 * 2**20


def test_a_nodepool_offers_the_catalog_types_its_requirements_allow() -> None:
    level = build(load(KARPENTER)).scenario.nodes
    assert level is not None and isinstance(level.autoscaler, Karpenter)
    (pool,) = level.autoscaler.node_pools
    assert {t.instance_type for t in pool.allowed} == {
        "m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge", "m5.8xlarge", "m5.12xlarge",
        "m5.16xlarge", "c5.large", "c5.xlarge", "c5.2xlarge", "c5.4xlarge",
    }  # fmt: skip
    assert {t.capacity_type for t in pool.allowed} == {"spot"}
    assert all(t.labels["karpenter.sh/nodepool"] == "default" for t in pool.allowed)
    assert pool.limits is not None and pool.limits[0] == 32_000
    assert pool.consolidation_policy == "WhenEmpty" and pool.consolidate_after == 30.0
    assert pool.expire_after == 720 * 3600.0  # the CRD's default


def test_a_nodepool_without_a_capacity_type_requirement_offers_on_demand_only() -> None:
    # the AWS provider's default (karpenter-provider-aws docs: "If not included, ... on-demand")
    requirement = "      - {key: karpenter.sh/capacity-type, operator: In, values: [spot]}\n"
    text = KARPENTER.replace(requirement, "")
    level = build(load(text)).scenario.nodes
    assert level is not None and isinstance(level.autoscaler, Karpenter)
    assert {t.capacity_type for t in level.autoscaler.templates} == {"on-demand"}


def test_cluster_autoscaler_flags_become_its_parameters() -> None:
    text = BASE.replace(
        "  expander: least-waste",
        "  expander: priority,least-waste\n  priorities: {10: ['.*']}\n"
        "  scale-down-unneeded-time: 1m30s\n  scale-down-utilization-threshold: 0.6\n"
        "  max-empty-bulk-delete: 3\n  scale-down-enabled: false",
    )
    level = build(load(text)).scenario.nodes
    ca = level.autoscaler if level is not None else None
    assert isinstance(ca, ClusterAutoscaler)
    assert ca.scan_interval == 10.0 and ca.scale_down_unneeded_time == 90.0
    assert ca.scale_down_utilization_threshold == 0.6 and ca.max_empty_bulk_delete == 3
    assert ca.scale_down_enabled is False
    (group,) = ca.groups
    assert (group.name, group.min_size, group.max_size) == ("n1", 1, 5)


def test_pod_requests_sum_containers_take_limits_as_requests_and_the_init_max() -> None:
    text = BASE.replace(
        "          requests: {cpu: 900m, memory: 512Mi}\n",
        "          requests: {cpu: 300m, memory: 256Mi}\n"
        "      - name: sidecar\n        resources: {limits: {cpu: 200m, memory: 128Mi}}\n"
        "      initContainers:\n      - name: migrate\n"
        "        resources: {requests: {cpu: 700m, memory: 64Mi}}\n",
    )
    level = build(load(text)).scenario.nodes
    assert level is not None
    # cpu: max(300 + 200, 700); memory: max(256 + 128, 64) MiB
    assert level.pod.requests.cpu == 700 and level.pod.requests.memory == 384 * 2**20


def test_an_ecs_task_gives_cpu_units_and_mib() -> None:
    task = (
        "---\napiVersion: elastic/v1\nkind: Task\nmetadata: {name: t}\nspec:\n  task:\n"
        "    resources: {requests: {cpu: 512, memory: 1024}}\n"
    )
    text = ECS.replace("  deployment: web\n", "  task: t\n") + task
    level = build(load(text)).scenario.nodes
    assert level is not None
    assert level.pod.requests.cpu == 500 and level.pod.requests.memory == 1024 * 2**20


def test_a_scenario_without_nodes_still_runs_one_level() -> None:
    text = BASE.replace("  nodes:\n    nodeAutoscaler: {kind: ClusterAutoscaler}\n", "")
    built = build(load(text))
    assert built.scenario.nodes is None and built.scenario.replica.kind == "m5.large"


# fmt: off
# (why, YAML text, problems expected, notes expected: each a line:column and message part)
BAD = [
    ("cpu: 2000 in a Deployment is 2,000 cores: more than any instance type",
     BASE.replace("cpu: 900m", "cpu: 2000"),
     ["27:27: spec.template.spec.containers.0.resources.requests.cpu: cpu=2000 is 2000 cores, "
      "more than any instance type of the price catalog (the largest, m5.16xlarge, has 64 "
      "vCPU); did you mean 2000m?"], []),
    ("memory: 512 in a Deployment is 512 bytes: probably MiB, a note (Kubernetes takes it)",
     BASE.replace("memory: 512Mi", "memory: 512"), [],
     ["27:41: spec.template.spec.containers.0.resources.requests.memory: memory=512 is 512 "
      "bytes (a quantity without a unit); probably 512Mi was meant"]),
    ("a pod larger than every node group's largest allocatable, named",
     BASE.replace("cpu: 900m", 'cpu: "3"'),
     ["27:27: spec.template.spec.containers.0.resources.requests.cpu: the pods request 3000m "
      "CPU, more than any node of the node groups can hold: the largest allocatable is "
      "m5.large (n1): 1930m CPU, 6903 MiB memory, 29 pods; expected requests that fit it"], []),
    ("a memory request above every node group",
     BASE.replace("memory: 512Mi", "memory: 64Gi"),
     ["27:41: spec.template.spec.containers.0.resources.requests.memory: the pods request "
      "65536 MiB memory, more than any node of the node groups can hold: the largest "
      "allocatable is m5.large (n1): 1930m CPU, 6903 MiB memory, 29 pods; expected requests "
      "that fit it"], []),
    ("a taint no toleration of the pod tolerates: both named",
     BASE.replace("{pool: a}", "{pool: a}, taints: [{key: d, value: x, effect: NoSchedule}]"),
     ["24:7: spec.template.spec.tolerations: no node group accepts the pods: node group 'n1' "
      "has the taint d=x:NoSchedule, which no toleration of the pods tolerates; expected a "
      "selector their labels meet and tolerations of their taints"], []),
    ("a nodeSelector no node group's labels meet: both named",
     BASE.replace("      containers:", "      nodeSelector: {pool: b}\n      containers:"),
     ["24:21: spec.template.spec.nodeSelector: no node group accepts the pods: node group 'n1' "
      "lacks the nodeSelector's pool=b (it has pool=a); expected a selector their labels meet "
      "and tolerations of their taints"], []),
    ("a node group with maxNodes 0: the Cluster Autoscaler accepts it and never scales it up",
     BASE.replace("minNodes: 1, maxNodes: 5}", "minNodes: 0, maxNodes: 5}\n"
                  "    - {name: n2, nodeType: c5.large, minNodes: 0, maxNodes: 0}"), [],
     ["36:61: spec.cluster.nodes.1.maxNodes: node group 'n2' has maxNodes 0: the Cluster "
      "Autoscaler never scales it up"]),
    ("a node type not in the catalog (the existing check covers node groups too)",
     BASE.replace("nodeType: m5.large", "nodeType: m5.huge"),
     ["35:28: spec.cluster.nodes.0.nodeType: unknown node type 'm5.huge'"], []),
    ("a Go duration without its unit", BASE.replace("scan-interval: 10s", "scan-interval: 10"),
     ["41:18: spec.scan-interval: scan-interval=10: expected a Go duration such as 10s, 10m, "
      "1h30m or 300ms (a number needs a unit)"], []),
    ("a misspelled flag, with the flag meant",
     BASE.replace("  expander", "  scan-intervall: 1s\n  expander"),
     ["42:19: spec.scan-intervall: unknown flag 'scan-intervall' of the Cluster Autoscaler; "
      "expected an upstream flag name such as scan-interval; did you mean 'scan-interval'?"], []),
    ("an upstream flag elastic does not model: a note",
     BASE.replace("  expander", "  skip-nodes-with-local-storage: false\n  expander"), [],
     ["42:34: spec.skip-nodes-with-local-storage: --skip-nodes-with-local-storage: not "
      "modelled: accepted, and left out of the simulation"]),
    ("a node group the Cluster does not have",
     BASE.replace("  expander: least-waste", "  expander: least-waste\n  nodeGroups: [n9]"),
     ["43:16: spec.nodeGroups.0: no node 'n9' in cluster 'core' (its nodes: n1)"], []),
    ("NodePool requirements no catalog type meets",
     KARPENTER.replace("values: [m5, c5]", "values: [x9]"),
     ["64:7: spec.template.spec.requirements: no instance type of the price catalog meets "
      "every requirement (capacity type on-demand when none is given); expected requirements "
      "that some instance type meets"], []),
    ("a Karpenter duration as Karpenter refuses it",
     KARPENTER.replace("consolidateAfter: 30s", "consolidateAfter: 30"),
     ["67:66: spec.disruption.consolidateAfter=30: Input should be a valid string"], []),
    ("weight 0 is below the CRD's minimum of 1",
     KARPENTER.replace('  limits: {cpu: "32"}', '  limits: {cpu: "32"}\n  weight: 0'),
     ["67:11: spec.weight=0: Input should be greater than or equal to 1"], []),
    ("a budget schedule without its duration, as the CRD refuses it",
     KARPENTER.replace("consolidateAfter: 30s}", "consolidateAfter: 30s,\n"
                       "    budgets: [{nodes: '0', schedule: '@daily'}]}"),
     ["68:15: spec.disruption.budgets.0: 'schedule' must be set with 'duration'"], []),
    ("a NaN delay, at its field (not at spec.nodes)",
     BASE.replace("    nodeAutoscaler: {kind: ClusterAutoscaler}",
                  "    nodeAutoscaler: {kind: ClusterAutoscaler}\n    nodeRegistration: .nan"),
     ["55:23: spec.nodes.nodeRegistration: nan is invalid"], []),
    ("a negative limit, at the limit, in the manifest's words",
     KARPENTER.replace('limits: {cpu: "32"}', 'limits: {cpu: "-32"}'),
     ["66:17: spec.limits.cpu: cpu='-32' is negative; expected a quantity >= 0 such as 1000 "
      "or 500m"], []),
    ("a NodePool memory limit without a unit is bytes: a note (Karpenter takes it)",
     KARPENTER.replace('limits: {cpu: "32"}', 'limits: {cpu: "32", memory: 256}'), [],
     ["66:31: spec.limits.memory: memory=256 is 256 bytes (a quantity without a unit); "
      "probably 256Gi was meant"]),
    ("expireAfter 0s, at expireAfter",
     KARPENTER.replace("    spec:\n      nodeClassRef", "    spec:\n      expireAfter: 0s\n"
                       "      nodeClassRef"),
     ["62:20: spec.template.spec.expireAfter: '0s' is invalid; expected a duration > 0 such "
      "as 720h, or Never"], []),
    ("a million nodes at the start, at the node entry's minNodes (the fleet's bound)",
     BASE.replace("minNodes: 1, maxNodes: 5}", "minNodes: 1000000, maxNodes: 2000000}"),
     ["35:67: spec.cluster.nodes.0.minNodes: minNodes=1000000 is invalid; expected at most "
      "100000"], []),
    ("a run too long for its node autoscaler's interval, at the duration",
     BASE.replace("duration: 10m", "duration: 3000h").replace("scan-interval: 10s",
                                                              "scan-interval: 1s"),
     ["52:13: spec.duration: Scenario: nodes.autoscaler.interval=1.0 is invalid; expected at "
      "least"], []),
    ("a bad cron schedule, at the schedule (not at nodes)",
     KARPENTER.replace("consolidateAfter: 30s}", "consolidateAfter: 30s,\n"
                       "    budgets: [{nodes: '1', schedule: '61 25 * * 9', duration: 1h}]}"),
     ["68:38: spec.disruption.budgets.0.schedule: '61' is invalid"], []),
    ("unmodelled NodePool fields and unknown instance types are notes",
     KARPENTER.replace("values: [m5, c5]", "values: [m5, c5]}\n"
                       "      - {key: node.kubernetes.io/instance-type, operator: NotIn, "
                       "values: [m5.huge]}\n"
                       "      - {key: topology.kubernetes.io/zone, operator: In, values: [a]"),
     [], ["62:21: spec.template.spec.nodeClassRef: not modelled: accepted, and left out of the "
          "simulation (the EC2NodeClass (AMI, subnets, security groups) does not change what "
          "is simulated)",
          "65:74: spec.template.spec.requirements.1.values: instance types not in the price "
          "catalog, left out: m5.huge",
          "66:15: spec.template.spec.requirements.2.key: 'topology.kubernetes.io/zone' is not "
          "modelled: the requirement is left out (every offering is taken to meet it)"]),
    ("NodePool under the wrong apiVersion",
     KARPENTER.replace("karpenter.sh/v1", "karpenter.sh/v1beta1"),
     ["56:13: apiVersion: NodePool is a Karpenter kind: expected apiVersion 'karpenter.sh/v1', "
      "not 'karpenter.sh/v1beta1'"], []),
    ("the capacity provider's ASG is not a node of the Cluster",
     ECS.replace("autoScalingGroupArn: n1", "autoScalingGroupArn: n7"),
     ["61:26: spec.autoScalingGroupProvider.autoScalingGroupArn: names the Auto Scaling group "
      "'n7': no node 'n7' in cluster 'core' (its nodes: n1); expected the ASG's node entry"], []),
    ("a capacity provider name ECS reserves",
     ECS.replace("metadata: {name: web-ec2}", "metadata: {name: ecs-web}"),
     ["58:18: metadata.name: name='ecs-web' is invalid; expected a name not starting with aws, "
      "ecs or fargate"], []),
    ("targetCapacity above 100, as the API refuses it",
     ECS.replace("targetCapacity: 90", "targetCapacity: 120"),
     ["62:55: spec.autoScalingGroupProvider.managedScaling.targetCapacity=120: Input should be "
      "less than or equal to 100"], []),
    ("step sizes the wrong way round, at the minimum, in the request's names",
     ECS.replace("targetCapacity: 90}", "targetCapacity: 90,\n"
                 "      minimumScalingStepSize: 20, maximumScalingStepSize: 10}"),
     ["63:31: spec.autoScalingGroupProvider.managedScaling.minimumScalingStepSize: "
      "minimumScalingStepSize=20 is invalid; expected at most maximumScalingStepSize (10)"], []),
    ("a named autoscaler that is not loaded",
     BASE.replace("kind: ClusterAutoscaler}", "kind: ClusterAutoscaler, name: other}"),
     ["54:53: spec.nodes.nodeAutoscaler.name: no ClusterAutoscaler named 'other' (the "
      "ClusterAutoscaler objects loaded: ca)"], []),
]
# fmt: on


@pytest.mark.parametrize(("why", "text", "problems", "notes"), BAD, ids=[row[0] for row in BAD])
def test_bad_node_input_is_reported_where_it_is(
    why: str, text: str, problems: list[str], notes: list[str]
) -> None:
    found, noted = said(text)
    assert len(found) == len(problems), found
    for message, expected in zip(found, problems, strict=True):
        assert message.startswith(expected), (why, message)
    for expected in notes:
        assert any(n.startswith(expected) for n in noted), (why, expected, noted)


def test_capacity_provider_export_gives_the_request_back_and_imports_again() -> None:
    manifests = load(EXAMPLES / "ecs-ec2")
    request = capacity_provider_request(manifests, "test-app-ec2")
    document, _ = manifests.objects["CapacityProvider"]["test-app-ec2"]
    assert request == document.data["spec"]  # every field written, so the same request
    level = build(manifests).scenario.nodes
    assert level is not None and isinstance(level.autoscaler, EcsManagedScaling)
    (provider,) = level.autoscaler.providers
    again = CapacityProvider.from_request(
        json.loads(json.dumps(request)), provider.templates, min_size=1, max_size=60
    )
    assert again == provider


@pytest.mark.parametrize("example", ["eks-karpenter", "eks-cluster-autoscaler", "ecs-ec2"])
def test_the_examples_validate_and_run_with_node_totals(
    example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(EXAMPLES / example)]) == 0
    out = capsys.readouterr().out
    assert "nodes_launched" in out and "pod_pending_p99" in out


def test_a_scenario_takes_its_actuation_failure_probability() -> None:
    text = BASE.replace("  duration: 10m\n", "  duration: 10m\n  actuationFailure: 0.25\n")
    assert build(load(text)).scenario.actuation_failure == 0.25
    found, _ = said(text.replace("actuationFailure: 0.25", "actuationFailure: 1.5"))
    assert found == ["53:21: spec.actuationFailure=1.5: Input should be less than or equal to 1"], (
        found
    )
