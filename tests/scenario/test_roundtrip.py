"""Manifests dump to YAML and load back equal; the committed JSON Schemas are current."""

import json
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.scenario import build, load
from elastic.scenario.schema import dump, schemas

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema"

names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
seconds = st.integers(1, 600) | st.floats(0.5, 600, allow_nan=False).map(lambda x: round(x, 3))
distributions = st.one_of(
    seconds,
    st.builds(lambda m: {"exponential": {"mean": m}}, seconds),
    st.builds(lambda m, s: {"lognormal": {"median": m, "sigma": s}}, seconds,
              st.floats(0.05, 1.5).map(lambda x: round(x, 3))),
    st.builds(lambda lo, d: {"uniform": {"low": lo, "high": lo + d}}, seconds, seconds),
    st.lists(seconds, min_size=1, max_size=4).map(lambda v: {"empirical": v}),
)  # fmt: skip
generators = st.one_of(
    st.builds(lambda r: {"poisson": {"rate": r}}, st.floats(0.1, 50).map(lambda x: round(x, 2))),
    st.builds(lambda m, a: {"diurnal": {"mean": m, "amplitude": a, "period": 3600}},
              st.integers(1, 50), st.floats(0, 0.9).map(lambda x: round(x, 2))),
)  # fmt: skip
policies = st.one_of(
    st.builds(lambda t: {"type": "TargetTracking", "metric": "cpu", "target": t},
              st.integers(10, 90)),
    st.builds(lambda th: {"type": "StepScaling", "metric": "cpu", "threshold": th,
                          "steps": [[0, None, 1], [None, 0, -1]]}, st.integers(10, 90)),
)  # fmt: skip


@st.composite
def manifest_sets(draw):
    workload, policy, task, cluster, scenario = (draw(names) for _ in range(5))
    low = draw(st.integers(0, 3))
    spec = {"policies": draw(st.lists(policies, min_size=1, max_size=2)),
            "minReplicas": low, "maxReplicas": low + draw(st.integers(1, 30))}  # fmt: skip
    if draw(st.booleans()):
        windows = {"scaleDown": {"stabilizationWindowSeconds": 300}}
        spec["behavior"] = draw(st.sampled_from(["kubernetes-default", windows]))
    if draw(st.booleans()):
        spec["cooldown"] = draw(st.sampled_from([60, {"mode": "application", "scaleOut": 30}]))
    cpu = draw(st.sampled_from([256, 512, 1024, 2048, "500m", "2"]))
    documents = [
        {"apiVersion": "elastic/v1", "kind": "Workload", "metadata": {"name": workload},
         "spec": {"generator": draw(generators), "service": draw(distributions),
                  "slo": draw(st.integers(1, 20))}},
        {"apiVersion": "elastic/v1", "kind": "ScalingPolicy", "metadata": {"name": policy},
         "spec": spec},
        {"apiVersion": "elastic/v1", "kind": "Task", "metadata": {"name": task},
         "spec": {"task": {"resources": {"requests": {"cpu": cpu}, "limits": {"cpu": cpu}}}}},
        {"apiVersion": "elastic/v1", "kind": "Cluster", "metadata": {"name": cluster},
         "spec": {"cluster": {"nodes": [{"name": "n", "nodeType": draw(st.sampled_from(
             ["m5.large", "c5.xlarge", "t3.medium"])), "boot": draw(distributions)}]}}},
        {"apiVersion": "elastic/v1", "kind": "Scenario", "metadata": {"name": scenario},
         "spec": {"workload": workload, "policy": policy, "task": task, "cluster": cluster,
                  "duration": draw(st.sampled_from([600, "10m", "1h", "0.5d"])),
                  "fidelity": draw(st.sampled_from(["request", "fluid"]))}},
    ]  # fmt: skip
    return yaml.safe_dump_all(documents)


@settings(max_examples=40, deadline=None)
@given(manifest_sets())
def test_manifests_dump_and_load_back_equal(text):
    first = load(text)
    assert first.problems == []
    again = load(dump(first))
    assert again.problems == []
    assert {k: {n: m for n, (_, m) in v.items()} for k, v in again.objects.items()} == {
        k: {n: m for n, (_, m) in v.items()} for k, v in first.objects.items()
    }
    built = build(again)
    assert built.scenario.duration > 0 and built.loop.max_replicas >= 1


def test_the_committed_schemas_are_current():
    for kind, schema in schemas().items():
        committed = json.loads((SCHEMA / f"{kind}.schema.json").read_text())
        assert committed == json.loads(json.dumps(schema)), (
            f"docs/schema/{kind}.schema.json is stale: run "
            "`.venv/bin/python -m elastic.scenario.schema docs/schema`"
        )
