"""Every class of manifest error, each with its exact message; the corrected example runs."""

import importlib
import json
from pathlib import Path

import pytest

from elastic.bench import Comparison
from elastic.cli import main
from elastic.cost import default_catalog
from elastic.scenario import ProblemList, build, load, validate

# every type the shipped price catalog knows, as the unknown-type message lists them
CATALOG_TYPES = ", ".join(sorted(default_catalog().instances))

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "origin"

TASK = """\
apiVersion: elastic/v1
kind: Task
metadata: {name: app}
spec:
  task:
    resources:
      requests: {cpu: 1024, memory: 512}
      limits: {cpu: 2048, memory: 1024}
"""


def messages(text):
    return [str(p).removeprefix("<text>:") for p in sorted(load(text).problems)]


# (why, YAML text, the messages)
ERRORS = [
    ("a key written twice inside a document",
     TASK.replace("limits: {cpu: 2048, memory: 1024}",
                  "limits: {cpu: 2048, memory: 1024}\n      limits: {cpu: 1}"),
     ["7:23: spec.task.resources.requests.cpu: requests.cpu=1024 is above limits.cpu=1; "
      "expected requests <= limits",  # YAML kept the last of the two
      "9:7: spec.task.resources.limits: duplicate key 'limits' (first at line 8); expected "
      "each key once"]),
    ("two documents pasted together without ---", TASK + TASK.replace("name: app", "name: b"),
     ["9:1: a second document starts here without '---' (the first starts at line 1; YAML "
      "would keep only the last 'apiVersion'); put a line '---' before it"]),
    ("requests above limits, in ECS units and MiB",
     TASK.replace("cpu: 1024, memory: 512", "cpu: 4096, memory: 2048"),
     ["7:23: spec.task.resources.requests.cpu: requests.cpu=4096 is above limits.cpu=2048; "
      "expected requests <= limits",
      "7:37: spec.task.resources.requests.memory: requests.memory=2048 is above "
      "limits.memory=1024; expected requests <= limits"]),
    ("Kubernetes quantities compare too: 1500m > 1",
     TASK.replace("cpu: 1024, memory: 512", "cpu: 1500m, memory: 512Mi")
         .replace("cpu: 2048, memory: 1024", "cpu: '1', memory: 1Gi"),
     ["7:23: spec.task.resources.requests.cpu: requests.cpu='1500m' is above "
      "limits.cpu='1'; expected requests <= limits"]),
    ("an unknown field, with its value", TASK.replace("requests:", "request:"),
     ["7:16: spec.task.resources.request={'cpu': 1024, 'memory': 512}: Extra inputs are not "
      "permitted"]),
    ("an unknown kind", TASK.replace("kind: Task", "kind: Tsk"),
     ["2:7: kind: unknown kind 'Tsk'; expected one of CapacityProvider, Cluster, "
      "ClusterAutoscaler, Deployment, HorizontalPodAutoscaler, NodePool, ScaledObject, "
      "ScalingPolicy, Scenario, Service, Task, Workload"]),
    ("our kind under a Kubernetes apiVersion", TASK.replace("elastic/v1", "apps/v1"),
     ["1:13: apiVersion: Task is an elastic kind: expected apiVersion 'elastic/v1', not "
      "'apps/v1'"]),
    ("an unknown node type",
     "apiVersion: elastic/v1\nkind: Cluster\nmetadata: {name: c}\nspec:\n  cluster:\n"
     "    nodes:\n    - {name: a, nodeType: m5.tiny}\n",
     ["7:27: spec.cluster.nodes.0.nodeType: unknown node type 'm5.tiny'; expected one of the "
      f"price catalog: {CATALOG_TYPES}"]),
    ("shell syntax instead of a value",
     "apiVersion: elastic/v1\nkind: Workload\nmetadata: {name: w}\nspec:\n"
     "  trace: {file: '${TRACE_DIR}/nasa.csv'}\n",
     ["5:17: spec.trace.file: '${TRACE_DIR}/nasa.csv' is shell syntax, not a value; expected "
      "the value itself (resolve it before loading, or use a Secret or ConfigMap reference)"]),
    ("a bad distribution", "apiVersion: elastic/v1\nkind: Workload\nmetadata: {name: w}\n"
     "spec:\n  generator: {poisson: {rate: 5}}\n  service: {gamma: {shape: 2}}\n",
     ["6:12: spec.service: unknown distribution 'gamma'; expected one "
      "of constant, uniform, exponential, lognormal, empirical"]),
    ("references to objects that are not there",
     "apiVersion: elastic/v1\nkind: Scenario\nmetadata: {name: s}\nspec:\n"
     "  workload: w\n  policy: p\n  duration: 1h\n",
     ["5:13: spec.workload: no Workload named 'w' (the Workload objects loaded: none)",
      "6:11: spec.policy: no ScalingPolicy, HorizontalPodAutoscaler or ScaledObject named 'p' "
      "(loaded: none)"]),
    ("a bad duration", "apiVersion: elastic/v1\nkind: Scenario\nmetadata: {name: s}\nspec:\n"
     "  workload: w\n  policy: p\n  duration: two days\n",
     ["7:13: spec.duration='two days': expected a duration such as 3600, 90m, 36h or 2d"]),
    ("the same object twice", TASK + "---\n" + TASK,
     ["12:18: metadata.name: a second Task named 'app' (the first is at <text>:1)"]),
    ("not YAML at all", "a: [1, 2\nb: 3\n",
     ["2:2: not valid YAML: expected ',' or ']', but got ':'"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), [pytest.param(*r[1:], id=r[0]) for r in ERRORS])
def test_error_messages(text, expected):
    assert messages(text) == expected


def test_ignored_kinds_are_notes_not_errors():
    manifests = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n")
    assert not manifests.problems
    assert [str(n) for n in manifests.notes] == [
        "<text>:2:7: kind: ConfigMap 'cfg' ignored: it does not matter to scaling"
    ]


def test_several_problems_are_reported_at_once():
    with pytest.raises(ProblemList) as error:
        validate(TASK.replace("elastic/v1", "v1").replace("cpu: 1024", "cpu: 9999"))
    assert len(error.value.problems) == 2
    assert str(error.value).startswith("2 problems:\n  <text>:1:13: apiVersion:")


def test_a_bad_policy_parameter_is_located():
    text = (
        (EXAMPLE / "scenario.yaml").read_text().replace("scaleInMargin: 0.1", "scaleInMargn: 0.1")
    )
    manifests = load(*(EXAMPLE / n for n in ("core.yaml", "ecs.yaml", "deployment.yaml")), text)
    expected = (
        r"<text>:23:19: spec.policies.0.scaleInMargn: TargetTracking has no parameter "
        r"'scale_in_margn'; expected metric, target, kind"
    )
    with pytest.raises(ProblemList, match=expected):
        build(manifests)


def test_the_corrected_origin_runs():
    built = build(validate(EXAMPLE), base=EXAMPLE)
    assert built.scenario.replica.kind == "m5.large" and built.scenario.replica.slots == 2
    assert built.scenario.initial_replicas == 3 and built.scenario.duration == 86400.0
    assert built.loop.max_replicas == 60 and built.scenario.slo == 10


def test_cli_validate(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == (
        "ok: 1 Cluster, 1 Deployment, 1 HorizontalPodAutoscaler, 2 ScalingPolicy, 1 Scenario, "
        "1 Service, 1 Task, 1 Workload\n"
    )
    origin = Path(__file__).parent / "origin"
    assert main(["validate", str(origin)]) == 1
    err = capsys.readouterr().err
    assert "error: " in err and err.rstrip().endswith("18 problems")


def test_cli_run(capsys, tmp_path):
    out = tmp_path / "run.json"
    assert main(["run", str(EXAMPLE), "--fidelity", "fluid", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ecs-test-app-on-nasa: 86400 s, fluid fidelity, seed 0" in text
    assert json.loads(out.read_text())["fidelity"] == "fluid"
    assert main(["run", str(EXAMPLE), "--fidelity", "fluid", "--policy", "ecs-test-app"]) == 0
    hpa = capsys.readouterr().out
    assert hpa != text.split("run written")[0]  # another policy, another run
    assert main(["run", str(EXAMPLE), "--policy", "nope"]) == 1


def test_cli_compare_writes_the_table_the_rows_and_the_plots(capsys, tmp_path):
    args = ["compare", str(EXAMPLE), "--fidelity", "fluid", "--serial", "--policy",
            "ecs-test-app", "--policy", "step-scaling", "--json", str(tmp_path / "rows.json"),
            "--csv", str(tmp_path / "rows.csv"), "--plots", str(tmp_path / "plots")]  # fmt: skip
    assert main(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["policy", "scenario", "cost", "slo_attainment"]
    assert [line.split()[0] for line in table[1:3]] == ["ecs-test-app", "step-scaling"]
    saved = json.loads((tmp_path / "rows.json").read_text())
    assert [r["policy"] for r in saved["rows"]] == ["ecs-test-app", "step-scaling"]
    assert len(Comparison.from_json(tmp_path / "rows.json").rows) == len(saved["rows"])
    assert (tmp_path / "rows.csv").read_text().startswith("policy,scenario,seed,cost,")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir())[0] == "comparison.png"


def test_cli_compare_names_a_missing_policy(capsys):
    assert main(["compare", str(EXAMPLE), "--policy", "nope", "--serial"]) == 1
    assert "no policy named 'nope'" in capsys.readouterr().err


def test_every_policy_of_the_docs_builds():
    from elastic.scenario import policy_loop

    doc = Path(__file__).resolve().parents[2] / "docs" / "manifests.md"
    import re

    manifests = load("\n---\n".join(re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)))
    steps = policy_loop(manifests, "steps")
    assert steps.cooldown.mode == "simple" and steps.cooldown.scale_in == 300
    assert policy_loop(manifests, "web").policies.max_replicas == 40  # the HPA itself


def test_what_an_hpa_manifest_holds_beyond_the_model_is_reported():
    manifests = load(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: web, namespace: prod}\nspec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"
        "  maxReplicas: 5\nstatus: {currentReplicas: 3}\n"
    )
    assert manifests.problems == []
    assert [str(n) for n in manifests.notes] == [
        "<text>:3:34: metadata.namespace: not modelled: left out of the simulation and of "
        "to_manifest()",
        "<text>:7:9: status: not modelled: left out of the simulation and of to_manifest()",
    ]


def test_the_node_group_bounds_the_replicas_and_sets_the_billing():
    text = (EXAMPLE / "core.yaml").read_text().replace("maxNodes: 60", "maxNodes: 12")
    text = text.replace("minNodes: 1", "minNodes: 2\n        billing: hourly")
    files = [EXAMPLE / n for n in ("ecs.yaml", "deployment.yaml", "scenario.yaml", "hpa.yaml")]
    built = build(validate(text, *files), base=EXAMPLE)
    assert (built.loop.min_replicas, built.loop.max_replicas) == (2, 12)
    assert type(built.scenario.tariffs["m5.large"]).__name__ == "Hourly"


def test_a_share_of_spot_capacity_is_reported_as_not_simulated():
    text = (
        (EXAMPLE / "core.yaml")
        .read_text()
        .replace("minNodes: 1", "minNodes: 1\n        spotShare: 0.5")
    )
    notes = [str(n).removeprefix("<text>:") for n in load(text).notes]
    assert notes == ["18:20: spec.cluster.nodes.0.spotShare: a share of spot nodes is not "
                     "simulated: billed on demand, without interruptions (a node entry with "
                     "billing: spot is a spot node group)"]  # fmt: skip


def test_any_elastic_policy_can_be_named_with_its_nested_policies():
    from elastic.scenario import policy_loop

    manifests = load("""\
apiVersion: elastic/v1
kind: ScalingPolicy
metadata: {name: everything}
spec:
  minReplicas: 0
  maxReplicas: 50
  policies:
  - type: MaxOf
    policies:
    - {type: TargetTracking, metric: cpu, target: 60}
    - type: Fallback
      primary: {type: TargetTracking, metric: latency_p95, target: 0.5}
      fallback: {type: StepScaling, metric: cpu, threshold: 80, steps: [[0, null, 2]]}
  - type: Scheduled
    origin: "2026-01-05T00:00:00+00:00"
    actions:
    - {cron: "0 8 * * MON-FRI", timezone: Europe/Paris, minReplicas: 4}
  - type: ScaledObject
    metric: queue
    activationThreshold: 5
    hpa: {type: TargetTracking, metric: queue, target: 20, kind: value}
  - type: Predictive
    forecaster: {type: HoltWinters, periods: [24], alpha: 0.3}
    metric: rps
    target: 50
""")
    assert manifests.problems == []
    loop = policy_loop(manifests, "everything")
    kinds = [type(p).__name__ for p in loop.policies]
    assert kinds == ["MaxOf", "Scheduled", "ScaledObject", "Predictive"]
    assert type(loop.policies[0].policies[1].fallback).__name__ == "StepScaling"
    assert loop.policies[1].actions[0].min_replicas == 4
    assert loop.policies[3].forecaster.alpha == 0.3


def test_cli_compare_reports_paired_differences_from_the_baseline(capsys):
    args = ["compare", str(EXAMPLE), "--fidelity", "fluid", "--serial", "--seeds", "2",
            "--policy", "ecs-test-app", "--policy", "step-scaling",
            "--baseline", "step-scaling"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    paired = out.split("paired differences from the baseline")[1].splitlines()
    assert paired[1].split()[:5] == ["policy", "baseline", "scenario", "seeds", "cost"]
    assert paired[2].split()[:2] == ["ecs-test-app", "step-scaling"]
    assert paired[2].split()[3] == "2"
    assert main([*args[:-1], "nope"]) == 1
    assert "--baseline 'nope': expected one of the policies" in capsys.readouterr().err


def test_what_load_built_is_handed_out_by_build_without_reading_the_trace_again(monkeypatch):
    building = importlib.import_module("elastic.scenario.build")  # the module, not build()
    reads = []
    workload_of = building._workload_of
    monkeypatch.setattr(
        building, "_workload_of", lambda *args: reads.append(args) or workload_of(*args)
    )
    manifests = load(EXAMPLE)
    first, second = build(manifests), build(manifests)
    assert len(reads) == 1  # the scenario's workload, built by load() only
    assert first.scenario is second.scenario
    assert first.loop is not second.loop  # each build runs its own loop
    assert repr(first.loop) == repr(second.loop)
    build(manifests, base=EXAMPLE)  # the base it was loaded from: the same
    assert len(reads) == 1
    build(manifests, allow_outside=True)  # another rule for trace files: built again
    assert len(reads) == 2
