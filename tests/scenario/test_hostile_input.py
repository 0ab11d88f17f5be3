"""Input that must get a precise error (file:line:column, field, value, expectation), never a
traceback, a hang, a silent change or a run that validate said was fine (issue 15, B1-B5)."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from elastic.errors import ElasticError, ManifestError
from elastic.scenario import build, load
from elastic.sim import Timestamps, TraceReplay
from elastic.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
apiVersion: elastic/v1
kind: Workload
metadata: {name: w}
spec:
  generator: {poisson: {rate: 5}}
  service: {exponential: {mean: 0.1}}
---
apiVersion: elastic/v1
kind: ScalingPolicy
metadata: {name: p}
spec:
  policies:
  - type: TargetTracking
    metric: cpu
    target: 60
  minReplicas: 1
  maxReplicas: 10
---
apiVersion: elastic/v1
kind: Scenario
metadata: {name: s}
spec:
  workload: w
  policy: p
  duration: 120
"""


def problems(*sources, **options):
    return [str(p).removeprefix("<text>:") for p in sorted(load(*sources, **options).problems)]


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def load_in_subprocess(path, seconds=30.0):
    """(stderr, seconds taken) of `elastic validate path` in a child with bounded memory."""
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31)); "
        "from elastic.cli import main; sys.exit(main(['validate', sys.argv[1]]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=seconds,
        env=env,
    )  # fmt: skip
    return done.returncode, done.stderr, time.monotonic() - start


# --- B1: denial of service in loading ------------------------------------------------------------


def test_an_alias_bomb_fails_fast_with_its_location(tmp_path):
    rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb = write(tmp_path, "bomb.yaml", "\n".join(rows) + "\n")
    status, err, took = load_in_subprocess(bomb)
    assert status == 1 and "Traceback" not in err and took < 20
    assert (
        "bomb.yaml:6:8: not valid YAML: the aliases of this document expand to more than "
        "100000 values (elastic.yamlfile.MAX_ALIAS_VALUES)" in err
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    status, err, _ = load_in_subprocess(fifo)
    assert status == 1
    assert "fifo.yaml:1:1: cannot be read; expected a regular file (it is a FIFO)" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_manifest_linking_to_dev_zero_is_refused(tmp_path):
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    assert problems(tmp_path / "zero.yaml") == [
        f"{tmp_path}/zero.yaml:1:1: cannot be read; expected a regular file (it is a character "
        "device)"
    ]


def test_a_manifest_above_the_size_limit_names_the_limit(tmp_path):
    big = write(tmp_path, "big.yaml", "a: " + "x" * (2**20 + 1) + "\n")
    assert problems(big) == [
        f"{big}:1:1: cannot be read; expected a file of at most 1 MiB, "
        "elastic.files.MAX_MANIFEST_BYTES (this one is larger)"
    ]


def test_recursive_aliases_and_deep_nesting_are_located_errors():
    assert problems("a: &a [*a]\nkind: x\n") == [
        "1:8: not valid YAML: the alias *a is inside the value it names (a recursive alias); "
        "expected an alias to a value defined before it"
    ]
    assert problems("a: " + "[" * 5000 + "]" * 5000 + "\n") == [
        "1:103: not valid YAML: values nested more than 100 levels deep "
        "(elastic.yamlfile.MAX_DEPTH); expected a flatter document"
    ]
    with pytest.raises(ManifestError, match=r"inline:1:8: not valid YAML: the alias \*a"):
        load_yaml("a: &a [*a]", name="inline")


# --- B2: paths -----------------------------------------------------------------------------


def trace_workload(file):
    return BASE.replace("generator: {poisson: {rate: 5}}", f"trace: {{file: '{file}'}}")


def test_a_trace_outside_the_manifests_folder_is_refused_unless_allowed(tmp_path):
    inside = tmp_path / "m"
    inside.mkdir()
    write(tmp_path, "t.csv", "time_s,requests\n0,5\n60,6\n")
    manifest = write(inside, "s.yaml", trace_workload("../t.csv"))
    assert problems(manifest) == [
        f"{manifest}:5:17: spec.trace.file: '../t.csv' is outside the manifests' folder "
        f"'{inside}'; expected a file inside it (to allow it: elastic run/validate/compare "
        "--allow-outside, or load(..., allow_outside=True))"
    ]
    assert problems(manifest, allow_outside=True) == []
    # a link inside the folder that points out of it is outside too
    (inside / "link.csv").symlink_to(tmp_path / "t.csv")
    write(inside, "s.yaml", trace_workload("link.csv"))
    assert "is outside the manifests' folder" in problems(manifest)[0]


def test_an_error_never_echoes_a_file_that_is_not_a_trace(tmp_path):
    write(tmp_path, "secret.csv", "root:x:0:0:hunter2:/root:/bin/bash\ndaemon:x:1:1\n")
    manifest = write(tmp_path, "s.yaml", trace_workload("secret.csv"))
    (message,) = problems(manifest)
    assert "hunter2" not in message and "root:x" not in message
    assert message.endswith(
        "expected a CSV file whose first line is a header of column names, such as "
        "requests,time_s (the first line is not)"
    )


# --- B3: validate builds what run builds ---------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("type: TargetTracking", "type: TargetTrackin",
         "13:11: spec.policies.0.type: unknown policy type 'TargetTrackin'; expected one of"),
        ("    target: 60", "    target: 60\n    bogus: 1",
         "16:12: spec.policies.0.bogus: TargetTracking has no parameter 'bogus'; expected"),
        ("    target: 60", "    target: -60",
         "13:5: spec.policies.0: TargetTracking: target=-60 is invalid; expected a number > 0"),
        ("rate: 5", "rate: -5",
         "5:24: spec.generator.poisson: Poisson: rate=-5 is invalid; expected a number >= 0"),
        ("rate: 5", "rat: 5",
         "5:30: spec.generator.poisson.rat: poisson has no parameter 'rat'; expected rate"),
        ("mean: 0.1", "mean: -1",
         "6:12: spec.service: Exponential: mean=-1 is invalid; expected a number > 0"),
        ("  maxReplicas: 10", "  maxReplicas: 10\n  cooldown: -5",
         "18:13: spec.cooldown=-5: Input should be greater than or equal to 0"),
        ("duration: 120", "duration: .inf", "25:13: spec.duration=inf: expected a finite "
         "duration > 0"),
        ("duration: 120", "duration: .nan", "25:13: spec.duration=nan: expected a finite "
         "duration > 0"),
        ("duration: 120", "duration: nanh", "25:13: spec.duration='nanh': expected a finite "
         "duration > 0"),
        ("generator: {poisson: {rate: 5}}", "generator: {poisson: 5}",
         "5:24: spec.generator.poisson: =5 is invalid; expected its parameters as a mapping, "
         "such as {poisson: {rate: 5}}"),
        ("  - type: TargetTracking", "  - type: Scheduled\n    actions: [{at: 10, timezone: "
         "Mars/Olympus, minReplicas: 2}]\n  - type: TargetTracking",
         "14:34: spec.policies.0.actions.0.timezone: unknown time zone 'Mars/Olympus'; expected "
         "an IANA time zone name such as 'UTC' or 'Europe/Paris'"),
    ],
)  # fmt: skip
def test_validate_finds_what_building_the_run_would_refuse(old, new, expected):
    text = BASE.replace(old, new)
    found = problems(text)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_what_validates_also_builds():
    manifests = load(BASE)
    assert manifests.problems == []
    assert build(manifests).scenario.duration == 120


# --- B4: silently accepted input ----------------------------------------------------------

DEPLOYMENT = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicaz: 3
  selector: {matchLabels: {app: d}}
  template: {spec: {containers: [{name: c, image: x, imagePullPolicee: Always}]}}
"""

HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: h}
spec:
  scaleTargetRef: {kind: Deployment, name: d}
  maxReplicas: 5
"""


def test_unknown_fields_of_kubernetes_kinds_are_refused():
    assert problems(BASE + DEPLOYMENT) == [
        "31:13: spec.replicaz: unknown field 'replicaz' of a DeploymentSpec (kubectl's strict "
        "field validation refuses it too); did you mean 'replicas'?",
        "33:72: spec.template.spec.containers.0.imagePullPolicee: unknown field "
        "'imagePullPolicee' of a Container (kubectl's strict field validation refuses it too); "
        "did you mean 'imagePullPolicy'?",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("maxReplicas: 10", "maxReplicas: yes",
         "17:16: spec.maxReplicas=True: Input should be a valid integer"),
        ("duration: 120", "duration: 120\n  controlInterval: on",
         "26:20: spec.controlInterval=True: Input should be a valid number"),
        ("maxReplicas: 5", "maxReplicas: true",
         "32:16: spec.maxReplicas=True: Input should be a valid integer"),
    ],
)  # fmt: skip
def test_a_boolean_is_not_a_number(old, new, expected):
    assert problems((BASE + HPA).replace(old, new)) == [expected]


def test_two_objects_with_one_name_are_refused_across_policy_kinds_too():
    twice = BASE + HPA + HPA.replace("maxReplicas: 5", "maxReplicas: 6")
    assert problems(twice) == [
        "36:18: metadata.name: a second HorizontalPodAutoscaler named 'h' (the first is at "
        "<text>:27)"
    ]
    shared = BASE + HPA.replace("name: h}", "name: p}")
    assert problems(shared) == [
        "29:18: metadata.name: a ScalingPolicy is named 'p' too (at <text>:8); expected one "
        "name per policy, as a Scenario names its policy by name alone"
    ]


def test_one_parameter_under_two_spellings_is_refused():
    text = BASE.replace("    target: 60", "    target: 60\n    scaleInMargin: 0.1\n"
                        "    scale_in_margin: 0.2")  # fmt: skip
    assert problems(text) == [
        "17:22: spec.policies.0.scale_in_margin: 'scale_in_margin' and 'scaleInMargin' are one "
        "field (scale_in_margin) written twice; expected it once"
    ]


def test_negative_resource_requests_are_refused():
    task = BASE + textwrap.dedent("""\
        ---
        apiVersion: elastic/v1
        kind: Task
        metadata: {name: t}
        spec:
          task:
            resources: {requests: {cpu: -1024, memory: "-5Mi"}}
        """)
    assert problems(task) == [
        "32:33: spec.task.resources.requests.cpu: requests.cpu=-1024 is negative; expected an "
        "amount >= 0",
        "32:48: spec.task.resources.requests.memory: requests.memory='-5Mi' is negative; "
        "expected an amount >= 0",
    ]


def test_shell_syntax_in_keys_is_refused():
    for key in ("$HOME", "$(whoami)", "${USER}"):
        text = BASE.replace("    metric: cpu", f"    '{key}': 1\n    metric: cpu")
        assert problems(text) == [
            f"14:{9 + len(key)}: spec.policies.0.{key}: the key {key!r} is shell syntax, not a "
            "name; "
            "expected the name itself (resolve it before loading)"
        ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n---\n"])
def test_an_empty_or_comments_only_file_is_an_error(tmp_path, text):
    path = write(tmp_path, "empty.yaml", text)
    assert problems(path) == [
        f"{path}:1:1: no YAML document (the text is empty or only comments); expected at "
        "least one document with apiVersion, kind, metadata and spec"
    ]


def test_node_group_bounds_below_the_policy_minimum_get_a_note():
    text = BASE.replace("minReplicas: 1", "minReplicas: 5") + textwrap.dedent("""\
        ---
        apiVersion: elastic/v1
        kind: Cluster
        metadata: {name: c}
        spec:
          cluster:
            nodes: [{name: n, nodeType: m5.large, maxNodes: 3}]
        """).replace("workload: w", "workload: w")  # fmt: skip
    text = text.replace("  policy: p\n", "  policy: p\n  cluster: c\n")
    manifests = load(text)
    assert manifests.problems == []
    assert [str(n).removeprefix("<text>:") for n in manifests.notes] == [
        "23:3: spec.node: node 'n' has maxNodes 3, below the minimum 5 of policy 'p' or of the "
        "node: the run keeps at most 3 replicas"
    ]


# --- B5: tracebacks where a located error belongs ------------------------------------------------


@pytest.mark.parametrize(
    ("tolerance", "expected"),
    [
        ("250x", "spec.behavior.scaleDown.tolerance='250x': expected a Kubernetes quantity such "
         "as 100m or 0.1"),
        ("-1", "spec.behavior.scaleDown.tolerance=-1: expected a quantity >= 0 (Kubernetes "
         "refuses others)"),
        ("1e400", "spec.behavior.scaleDown.tolerance=inf: expected a Kubernetes quantity such as "
         "100m or 0.1"),
        ("'1e400'", "spec.behavior.scaleDown.tolerance='1e400': expected a Kubernetes quantity "
         "such as 100m or 0.1"),
    ],
)  # fmt: skip
def test_a_bad_hpa_tolerance_is_a_located_error(tolerance, expected):
    text = BASE + HPA + f"  behavior: {{scaleDown: {{tolerance: {tolerance}}}}}\n"
    assert problems(text) == [f"33:37: {expected}"]


def test_a_huge_quantity_is_a_located_error():
    task = (
        BASE + "---\napiVersion: elastic/v1\nkind: Task\nmetadata: {name: t}\nspec:\n"
        "  task:\n    resources: {requests: {cpu: '1e1000000'}}\n"
    )
    assert problems(task) == [
        "32:33: spec.task.resources.requests.cpu: quantity='1e1000000' is invalid; expected a "
        "Kubernetes quantity of at most 2^63-1 (about 9.2e18) in magnitude"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a: 1\nb: \xff\xfe\n", "2:4: cannot be read; expected UTF-8 text (byte 0xff at line 2, "
         "column 4 is not)"),
        (b"a: b\x00c\n", "1:5: not valid YAML: character #x0000 is not allowed in YAML"),
        (b"\x7fELF\x02\x01\x01\x00", "1:1: not valid YAML: character #x007f is not allowed in "
         "YAML"),
    ],
)  # fmt: skip
def test_bytes_that_are_not_yaml_text_are_located(tmp_path, data, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    assert problems(path) == [f"{path}:{expected}"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-9", 1e-9), ("1E3", 1000.0), ("1.5e3", 1500.0), (".5e3", 500.0), ("6.0e10", 6e10),
     ("-2.5E-3", -0.0025), ("1.0e+3", 1000.0), ("1e", "1e"), ("1.2.3", "1.2.3")],
)  # fmt: skip
def test_numbers_with_an_exponent_are_numbers_as_in_yaml_1_2(text, value):
    # YAML 1.1 reads 1.5e3 (no sign in the exponent) as a string, which strict fields refuse
    assert load_yaml(f"a: {text}", name="inline") == {"a": value}


def test_a_folder_given_as_a_file_is_refused_not_a_traceback(tmp_path):
    (tmp_path / "extra.yaml").mkdir()
    assert problems(tmp_path) == [
        f"{tmp_path}/extra.yaml:1:1: cannot be read; expected a regular file (it is a folder)"
    ]
    for loader in (TraceReplay.from_csv, Timestamps.from_csv):
        with pytest.raises(ElasticError, match=r"expected a regular file \(it is a folder\)"):
            loader(tmp_path)


@pytest.mark.parametrize(
    "generator",
    ["{mmpp: {rates: [1, 5], meanDurations: [1e-9, 1e-9]}}",
     "{diurnal: {mean: 5, amplitude: 0.5, period: 600, noise: 0.3, noiseStep: 1e-9}}"],
    ids=["mmpp switching every nanosecond", "noise every nanosecond"],
)  # fmt: skip
def test_a_workload_that_would_change_state_too_often_is_refused_not_a_hang(generator):
    # both validated as ok and then ran for minutes into gigabytes
    (problem,) = load(BASE.replace("{poisson: {rate: 5}}", generator)).problems
    assert "changes state at most 10000000 times in a run" in str(problem)
    assert "elastic.sim.limits.MAX_WORKLOAD_CHANGES" in str(problem)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [("metadata: {name: s}", 'metadata: {name: "s\\x1b[31mRED"}', "holds a control character"),
     ("metadata: {name: s}", 'metadata: {name: "s\\nerror: fake"}', "holds a control character"),
     ("metadata: {name: s}", 'metadata: {name: "s\\0x"}', "holds a control character"),
     ("metadata: {name: w}", 'metadata: {name: w, "a\\x07": 1}', "holds a control character")],
    ids=["an escape sequence", "a forged line", "a NUL", "a bell in a key"],
)  # fmt: skip
def test_control_characters_from_yaml_escapes_are_refused(old, new, expected):
    # the file's bytes are printable; the escapes make the control characters
    found = [str(p) for p in load(BASE.replace(old, new, 1)).problems]
    assert any(expected in p for p in found), found
