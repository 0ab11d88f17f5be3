"""Tuning a manifest's policy, and ``elastic tune`` with its bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import optuna
import pytest
import yaml

from elastic import ParameterError
from elastic.cli import main
from elastic.kubernetes.manifest import hpa_from_manifest
from elastic.scenario import ProblemList, load
from elastic.tune import Int
from elastic.tune.template import ManifestPolicy

MANIFESTS = """\
apiVersion: elastic/v1
kind: Workload
metadata: {name: steady}
spec:
  generator: {poisson: {rate: 30}}
  service: 0.1
  slo: 0.5
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 20
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 300}
---
apiVersion: elastic/v1
kind: ScalingPolicy
metadata: {name: tt}
spec:
  policies:
  - {type: TargetTracking, metric: cpu, target: 60, tolerance: 0.0}
  minReplicas: 1
  maxReplicas: 20
  cooldown: {mode: application, scaleOut: 60, scaleIn: 300}
  combine: aws
---
apiVersion: elastic/v1
kind: Scenario
metadata: {name: steady}
spec:
  workload: steady
  policy: web
  duration: 10m
  initialReplicas: 4
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "web.yaml").write_text(MANIFESTS)
    return tmp_path


def tune(folder: Path, *options: str) -> list[str]:
    return ["tune", str(folder), "--seeds", "2", "--trials", "2", "--executor", "serial",
            "--constraint", "slo_attainment>=0.9", *options]  # fmt: skip


def test_the_space_of_a_scalingpolicy_names_its_document_fields(folder: Path) -> None:
    policy = ManifestPolicy(load(folder), "tt")
    space = policy.space()
    assert space["spec.policies[0].target"].low == 30.0
    assert space["spec.policies[0].scaleInMargin"].when == {
        "spec.policies[0].disableScaleIn": (False,)
    }
    assert {"spec.cooldown.scaleOut", "spec.cooldown.scaleIn"} <= set(space)
    loop = policy.build({"spec.policies[0].target": 45.5, "spec.cooldown.scaleIn": 120})
    assert loop.policies[0].target == 45.5 and loop.cooldown.scale_in == 120
    assert yaml.safe_load(policy.text({"spec.maxReplicas": 9}))["spec"]["maxReplicas"] == 9


def test_a_candidate_that_is_no_valid_manifest_is_refused_at_its_field(folder: Path) -> None:
    policy = ManifestPolicy(load(folder), "web")
    with pytest.raises(ProblemList, match=r"averageUtilization=0.*greater than 0"):
        policy.build({"spec.metrics[0].resource.target.averageUtilization": 0})
    with pytest.raises(ParameterError, match=r"param='spec.metrics\[3\].x' .*a field of"):
        policy.check({"spec.metrics[3].x": Int(1, 2)})


def test_elastic_tune_prints_the_best_and_writes_the_tuned_hpa(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = folder / "hpa.yaml"
    assert main([*tune(folder, "--policy", "web", "--export", str(out),
                       "--csv", str(folder / "t.csv"))]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "best:" in printed and "slo_attainment>=0.9 margin +" in printed
    assert "cost " in printed and "(95 % interval)" in printed
    hpa = hpa_from_manifest(out.read_text())
    with (folder / "t.csv").open() as file:
        rows = list(csv.DictReader(file))
    best = min((r for r in rows if r["feasible"] == "True"), key=lambda r: float(r["cost"]))
    field = "spec.metrics[0].resource.target.averageUtilization"
    assert hpa.metrics[0].target == int(best[field])


def test_a_rerun_with_storage_continues_the_study(folder: Path) -> None:
    storage = f"sqlite:///{folder / 'tune.db'}"
    for _ in range(2):
        assert main([*tune(folder, "--policy", "tt", "--storage", storage, "--scenario", "steady",
                           "--param", "spec.policies[0].target=40..80")]) == 0  # fmt: skip
    assert len(optuna.load_study(study_name="tt", storage=storage).trials) == 4


def test_the_winner_exports_as_an_aws_request(folder: Path) -> None:
    out = folder / "policy.json"
    options = ["--policy", "tt", "--scenario", "steady", "--export", str(out),
               "--export-format", "aws", "--param", "spec.policies[0].target"]  # fmt: skip
    assert main(tune(folder, *options)) == 0
    assert '"PolicyType": "TargetTrackingScaling"' in out.read_text()


def test_a_dask_cluster_runs_the_trials_as_a_serial_run_does(folder: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    serial, remote = folder / "serial.csv", folder / "remote.csv"
    assert main([*tune(folder, "--policy", "web", "--csv", str(serial))]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:  # fmt: skip
        address = cluster.scheduler_address.removeprefix("tcp://")
        options = tune(folder, "--policy", "web", "--csv", str(remote))
        options[options.index("serial")] = f"dask://{address}"
        assert main(options) == 0
    assert remote.read_text() == serial.read_text()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--policy", "nope"], r"no policy named 'nope'; have tt, web"),
        (["--policy", "web", "--objective", "speed"], r"objective='speed'.*one of .*cost"),
        (["--policy", "web", "--constraint", "speed>=1"], r"constraint on a summary metric"),
        (["--policy", "web", "--constraint", "slo_attainment=>1"], r"metric>=number"),
        (["--policy", "web", "--param", "spec.maxReplicas=1..x"], r"--param=.*FIELD=LOW..HIGH"),
        (["--policy", "web", "--param", "spec.maxReplicas=9..1"], r"at most high"),
        (["--policy", "web", "--param", "spec.nothing"], r"a field with a default range"),
        (["--policy", "web", "--param", "spec.metrics[4].x=1..2"], r"a field of"),
        (["--policy", "web", "--storage", "nosuch://x"], r"storage='nosuch://x'.*opened"),
        (["--policy", "web", "--executor", "threads"], r"serial, processes\[:N\] or dask"),
        (["--policy", "web", "--executor", "processes:0"], r"processes:N with N >= 1"),
        (["--policy", "web", "--executor", "dask://127.0.0.1:1"], r"a Dask scheduler that"),
        (["--policy", "web", "--scenario", "other"], r"no Scenario named 'other'"),
        (["--policy", "tt"], r"the Scenario to tune on: none of the .* names policy 'tt'"),
        (["--policy", "tt", "--scenario", "steady", "--param", "spec.nothing=1..2"],
         r"param='spec.nothing' is invalid; expected a field ScalingPolicy 'tt' accepts .*"
         r"set to 1, its manifest says: spec.nothing=1: Extra inputs are not permitted"),
        (["--policy", "web", "--param", "spec.maxReplicas=10,,20"], r"--param=.*FIELD=a,b,c"),
        (["--policy", "web", "--constraint", "slo_attainment>=1..2"], r"a finite number"),
        (["--policy", "web", "--export", "x.json", "--export-format", "aws"],
         r"a HorizontalPodAutoscaler is no AWS scaling policy"),
        (["--policy", "tt", "--scenario", "steady", "--export", "x.yaml", "--export-format",
          "hpa"], r"--export-format='hpa' is invalid; expected a format ScalingPolicy 'tt' can "
                  r"be written in \(.*(behavior|cooldown)"),
        (["--policy", "web", "--constraint", "latency_p99<=0.0001"],
         r"none of the 2 trials met .*latency_p99<=0.0001.*; the closest: trial"),
        (["--policy", "tt", "--scenario", "steady", "--sampler", "grid"], r"a Choice or an Int"),
    ],
)  # fmt: skip
def test_bad_input_is_one_error_never_a_traceback(
    folder: Path, options: list[str], message: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(folder)
    monkeypatch.setattr("elastic.tune.command.DASK_TIMEOUT", 0.5)
    assert main(tune(folder, *options)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert all(line.startswith("  ") for line in err.splitlines()[1:])  # one error, its lines


def test_an_interrupt_says_what_was_kept_and_how_to_resume(
    folder: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr("elastic.tune.study.run_row", interrupted)
    storage = f"sqlite:///{folder / 'tune.db'}"
    assert main(tune(folder, "--policy", "web", "--storage", storage)) == 130
    err = capsys.readouterr().err
    assert err == (f"error: interrupted; the finished trials are kept in {storage} (study 'web'): "
                   "run the same command again to resume\n")  # fmt: skip
