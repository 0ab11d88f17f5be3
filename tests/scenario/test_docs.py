"""The examples of docs/manifests.md load, together, into a runnable scenario."""

import re
from pathlib import Path

from elastic.scenario import build, load

DOC = Path(__file__).resolve().parents[2] / "docs" / "manifests.md"


def yaml_blocks():
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)


def test_every_kind_has_an_example():
    kinds = set(re.findall(r"^kind: (\w+)", "\n".join(yaml_blocks()), flags=re.M))
    assert kinds == {"Cluster", "Task", "Deployment", "Service", "Workload", "ScalingPolicy",
                     "HorizontalPodAutoscaler", "Scenario", "NodePool", "ClusterAutoscaler",
                     "CapacityProvider", "ScaledObject"}  # fmt: skip


def test_the_examples_load_and_build():
    manifests = load("\n---\n".join(yaml_blocks()))
    assert manifests.problems == []
    # what the examples show on purpose: an unmodelled NodePool field, and a node entry's
    # boot, which a two-level run does not use
    assert sorted(n.path for n in manifests.notes) == [
        "spec.cluster.nodes.0.boot", "spec.template.spec.nodeClassRef"]  # fmt: skip
    two_levels = build(manifests, "web-on-nodes").scenario.nodes
    assert two_levels is not None and two_levels.pod.requests.cpu == 1500
    built = build(manifests, "web-on-nasa")
    assert built.scenario.replica.slots == 2 and built.scenario.initial_replicas == 3
    assert built.scenario.replica.queue_capacity == 100
    assert len(built.loop.policies) == 2
