"""What the loader says about each manifest the project grew out of, flaws included."""

from pathlib import Path

import pytest

from elastic.cost import default_catalog
from elastic.scenario import load

# every type the shipped price catalog knows, as the unknown-type message lists them
CATALOG_TYPES = ", ".join(sorted(default_catalog().instances))

HERE = Path(__file__).parent / "origin"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "origin"
PASTED = (
    "a second document starts here without '---' (the first starts at line 1; YAML would "
    "keep only the last 'apiVersion'); put a line '---' before it"
)
SHELL = (
    "is shell syntax, not a value; expected the value itself (resolve it before loading, or "
    "use a Secret or ConfigMap reference)"
)
VOLUME = (
    "'file' is not a Kubernetes volume type; expected one of persistentVolumeClaim, "
    "configMap, secret, emptyDir, hostPath, projected, downwardAPI, nfs, csi, ephemeral, image"
)

EXPECTED = {
    "core.yaml": [
        "1:13: apiVersion: Cluster is an elastic kind: expected apiVersion 'elastic/v1', not 'v1'",
        "16:19: spec.cluster.nodes.1.nodeType: unknown node type 'm5.small'; expected one of "
        f"the price catalog: {CATALOG_TYPES}",
    ],
    "deployment.yaml": [
        f"23:18: spec.template.spec.containers.0.env.0.value: '$(cat /etc/docker/ci.env | "
        f"base64 --decode)' {SHELL}",
        f'25:18: spec.template.spec.containers.0.env.1.value: "$(cat /etc/docker/ci.env | '
        f"base64 --decode | tr -d '\\\\r')\" {SHELL}",
        f'27:18: spec.template.spec.containers.0.env.2.value: "$(cat /etc/docker/ci.env | '
        f"base64 --decode | tr -d '\\\\r')\" {SHELL}",
        f"37:9: spec.template.spec.volumes.1: {VOLUME}",
        f"40:1: {PASTED}",
        "53:5: spec.clusterIP={'type': 'private', 'externalPort': 0, 'internalPort': 0}: "
        "Input should be a valid string",
    ],
    "ecs.yaml": [
        "1:13: apiVersion: Task is an elastic kind: expected apiVersion 'elastic/v1', not 'v1'",
        "14:17: spec.task.resources.requests.memory: requests.memory=256 is above "
        "limits.memory=128; expected requests <= limits",
        "15:14: spec.task.resources.requests.cpu: requests.cpu=512 is above limits.cpu=256; "
        "expected requests <= limits",
        f"17:1: {PASTED}",
    ],
    "pvc.yaml": [
        f"12:1: {PASTED}",
        "12:13: apiVersion: Deployment is a Kubernetes kind: expected apiVersion 'apps/v1', "
        "not 'v1'",
        f"34:18: spec.template.spec.containers.0.env.0.value: '$(cat /etc/docker/ci.env | "
        f"base64 --decode)' {SHELL}",
        f'36:18: spec.template.spec.containers.0.env.1.value: "$(cat /etc/docker/ci.env | '
        f"base64 --decode | tr -d '\\\\r')\" {SHELL}",
        f'38:18: spec.template.spec.containers.0.env.2.value: "$(cat /etc/docker/ci.env | '
        f"base64 --decode | tr -d '\\\\r')\" {SHELL}",
        f"48:9: spec.template.spec.volumes.1: {VOLUME}",
    ],
}
NOTES = {
    "core.yaml": [
        "18:11: spec.cluster.nodes.1.labels: node 'n2' has the same labels as node 'n1' "
        "(app=n1, task=ecs-test-app): no selector can tell them apart"
    ],
    "deployment.yaml": [],
    "ecs.yaml": [],
    "pvc.yaml": [
        "2:7: kind: PersistentVolumeClaim 'test-app-pvc' ignored: it does not matter to scaling"
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_what_the_loader_says(name):
    manifests = load(HERE / name)
    prefix = f"{HERE / name}:"
    assert [str(p).removeprefix(prefix) for p in sorted(manifests.problems)] == EXPECTED[name]
    assert [str(p).removeprefix(prefix) for p in manifests.notes] == NOTES[name]


def test_pasted_documents_are_split_and_both_checked():
    manifests = load(HERE / "ecs.yaml")
    # the Task's problems are reported, and the Service after the seam is read too
    assert set(manifests.objects) == {"Task", "Service"}
    assert manifests.objects["Service"]["ecs-test-app"][0].line == 17


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/origin is not beside this clone")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_copies_are_the_originals(name):
    assert (HERE / name).read_bytes() == (SHARED / name).read_bytes()
