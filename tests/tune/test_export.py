"""Export of a winner: what loads back holds the same parameters and makes the same decisions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from elastic import Behavior, Cooldown, DecisionLoop, Observation, ParameterError
from elastic.core.behavior import ScalingRules
from elastic.kubernetes import HorizontalPodAutoscaler
from elastic.kubernetes.hpa import Metric
from elastic.kubernetes.manifest import hpa_from_manifest
from elastic.policies import StepScaling, TargetTracking
from elastic.scenario import load, policy_loop
from elastic.tune.export import aws_loop, export, to_aws, to_hpa, to_scaling_policy

STEPS = [(0, 15, 1), (15, None, 3), (None, -20, -2), (-20, 0, 0)]


def decisions(loop: DecisionLoop, metric: str = "cpu", minutes: int = 90) -> list[int]:
    """The counts ``loop`` decides over a load that rises, bursts and falls (15 s steps);
    cpu in whole percent (the HPA's utilization is a whole percent)."""
    replicas, out = 3, []
    for i in range(minutes * 4):
        load = 300.0 + 250.0 * math.sin(i / 40.0) + (400.0 if 150 <= i < 170 else 0.0)
        value = float(round(load / replicas)) if metric == "cpu" else load / replicas
        obs = Observation(time=15.0 * i, replicas=replicas, metrics={metric: value})
        replicas = loop.step(obs).replicas
        out.append(replicas)
    return out


def same_decisions(a: DecisionLoop, b: DecisionLoop, metric: str = "cpu") -> None:
    assert decisions(a.clone(), metric) == decisions(b.clone(), metric)
    assert len(set(decisions(a.clone(), metric))) > 2  # the trace makes it scale both ways


ELASTIC = {
    "target tracking, behavior and warm-up": DecisionLoop(
        TargetTracking("cpu", 57.25, scale_in_margin=0.12), min_replicas=2, max_replicas=40,
        behavior=Behavior(scale_down=ScalingRules(420.0)), warmup=90.0,
    ),
    "step scaling, simple cooldown": DecisionLoop(
        StepScaling("cpu", 65.0, STEPS), min_replicas=1, max_replicas=30, cooldown=180,
    ),
    "two policies, aws combine, application cooldown": DecisionLoop(
        [TargetTracking("cpu", 50.0), StepScaling("cpu", 80.0, STEPS, evaluation_periods=2)],
        min_replicas=1, max_replicas=30, cooldown=Cooldown(30, 240), combine="aws",
        behavior=Behavior.kubernetes_default(),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", ELASTIC)
def test_a_scalingpolicy_export_loads_back_the_same_loop(name: str, tmp_path: Path) -> None:
    loop = ELASTIC[name]
    text = export(loop, "elastic", tmp_path / "policy.yaml", name="tuned")
    back = policy_loop(load(tmp_path / "policy.yaml"), "tuned")
    assert yaml.safe_load(text)["kind"] == "ScalingPolicy"
    assert repr(back) == repr(loop) or repr(back.policies) == repr(
        loop.policies if isinstance(loop.policies, list) else [loop.policies]
    )
    same_decisions(loop, back)


AWS: dict[str, tuple[DecisionLoop, str, dict[str, Any]]] = {
    "target tracking on cpu": (
        DecisionLoop(TargetTracking("cpu", 62.5, tolerance=0.0), min_replicas=1,
                     max_replicas=30, cooldown=Cooldown(60, 300), combine="aws"),
        "cpu", {"ServiceNamespace": "ecs", "ResourceId": "service/default/web"},
    ),
    "target tracking on a custom metric, no cooldown": (
        DecisionLoop(TargetTracking("rps", 80.0, kind="average_value", tolerance=0.0,
                                    disable_scale_in=True),
                     min_replicas=2, max_replicas=30),
        "rps", {},
    ),
    "step scaling": (
        DecisionLoop(StepScaling("cpu", 70.0, STEPS), min_replicas=1, max_replicas=30,
                     cooldown=Cooldown(120, 120), combine="aws"),
        "cpu", {"ServiceNamespace": "ecs"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", AWS)
def test_an_aws_request_loads_back_the_same_policy_and_decides_the_same(name: str) -> None:
    loop, metric, fields = AWS[name]
    text = export(loop, "aws", name="tuned", fields=fields)
    request = json.loads(text)
    assert {k: request[k] for k in fields} == fields and request["PolicyName"] == "tuned"
    policy = loop.policies[0] if isinstance(loop.policies, list) else loop.policies
    back = aws_loop(text, min_replicas=loop.min_replicas, max_replicas=loop.max_replicas,
                    combine=loop.combine, metric=policy.metric,
                    threshold=getattr(policy, "threshold", None))  # fmt: skip
    assert repr(back.policies) == repr(policy)
    same_decisions(loop, back, metric)


def test_an_hpa_loop_with_a_tuned_window_exports_the_window(tmp_path: Path) -> None:
    hpa = HorizontalPodAutoscaler([Metric("Resource", "cpu", "Utilization", 60)],
                                  min_replicas=2, max_replicas=30,
                                  behavior=Behavior.kubernetes_default(), name="web")  # fmt: skip
    from elastic.core.paths import with_params

    tuned = with_params(hpa.loop(), {"behavior.scale_down.stabilization_window_seconds": 120,
                                     "policies.metrics[0].target": 72})  # fmt: skip
    text = export(tuned, "hpa", tmp_path / "hpa.yaml")
    spec = yaml.safe_load(text)["spec"]
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 120
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 72
    back = hpa_from_manifest((tmp_path / "hpa.yaml").read_text()).loop()
    same_decisions(tuned, back)


def test_a_target_tracking_on_cpu_exports_as_an_hpa_deciding_the_same_on_ready_pods() -> None:
    loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=30,
                        behavior=Behavior.kubernetes_default())  # fmt: skip
    back = hpa_from_manifest(export(loop, "hpa", name="web")).loop()
    same_decisions(loop, back)


@pytest.mark.parametrize(
    ("loop", "format", "message"),
    [
        (DecisionLoop(TargetTracking("cpu", 60.5), min_replicas=1, max_replicas=9,
                      behavior=Behavior()), "hpa", r"target=60.5.*a whole percent"),
        (DecisionLoop(TargetTracking("rps", 60.0, kind="value"), min_replicas=1,
                      max_replicas=9, behavior=Behavior()), "hpa", r"metric='rps'"),
        (DecisionLoop(TargetTracking("cpu", 60.0, scale_in_margin=0.1), min_replicas=1,
                      max_replicas=9, behavior=Behavior()), "hpa", r"scale_in_margin=0.1"),
        (DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=9), "hpa",
         r"loop.behavior=None.*an HPA always stabilizes"),
        (DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=9,
                      behavior=Behavior(), warmup=60.0), "hpa", r"warmup=60.0"),
        (DecisionLoop(StepScaling("cpu", 70.0, STEPS), min_replicas=1, max_replicas=9,
                      behavior=Behavior()), "hpa", r"TargetTracking on cpu or memory"),
        (ELASTIC["two policies, aws combine, application cooldown"], "aws", r"one policy"),
        (DecisionLoop(StepScaling("cpu", 70.0, STEPS), min_replicas=1, max_replicas=9,
                      cooldown=300.0), "aws", r"'application' mode"),
        (DecisionLoop(StepScaling("cpu", 70.0, STEPS), min_replicas=1, max_replicas=9,
                      cooldown=Cooldown(60, 300)), "aws", r"one Cooldown for both"),
        (DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=9), "aws",
         r"loop.policies\[0\].tolerance=0.1.*loads back as 0.0"),
        (DecisionLoop(TargetTracking("cpu", 60.0, tolerance=0.0), min_replicas=1,
                      max_replicas=9, cooldown=Cooldown(60.5, 60)), "aws", r"whole seconds"),
        (DecisionLoop(StepScaling("cpu", 70.0, STEPS, evaluation_periods=3), min_replicas=1,
                      max_replicas=9), "aws", r"evaluation_periods=3.*loads back as 1"),
        (HorizontalPodAutoscaler(max_replicas=9).loop(), "elastic", r"sync='kubernetes'"),
        (DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=9,
                      behavior=Behavior(ScalingRules(tolerance=0.05))), "elastic",
         r"scale_up.tolerance=0.05"),
        (DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=9), "yaml",
         r"format='yaml'.*hpa, aws, elastic"),
        ("not a loop", "elastic", r"loop='not a loop'.*a DecisionLoop"),
    ],
)  # fmt: skip
def test_what_a_format_cannot_express_is_refused_precisely(
    loop: Any, format: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        export(loop, format)


def test_a_scalingpolicy_export_writes_only_what_differs_from_the_defaults() -> None:
    manifest = to_scaling_policy(ELASTIC["target tracking, behavior and warm-up"], name="x")
    assert manifest["spec"]["policies"] == [
        {"type": "TargetTracking", "metric": "cpu", "target": 57.25, "scaleInMargin": 0.12}
    ]
    assert to_hpa(HorizontalPodAutoscaler(max_replicas=9).loop())["spec"]["maxReplicas"] == 9
    assert to_aws(AWS["step scaling"][0])["StepScalingPolicyConfiguration"]["Cooldown"] == 120
