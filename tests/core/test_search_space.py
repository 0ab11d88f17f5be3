"""Spaces declared next to the policies and the loop, applied by path to a new loop."""

from __future__ import annotations

from typing import Any

import pytest

from elastic import Behavior, Cooldown, DecisionLoop, ParameterError
from elastic.core.paths import get_at, parse_path, with_params
from elastic.core.space import Choice, Float, Int, Parameter, check_space
from elastic.kubernetes import HorizontalPodAutoscaler
from elastic.kubernetes.hpa import Metric
from elastic.policies import StepScaling, TargetTracking

LOOPS = {
    "target tracking, kubernetes behavior": DecisionLoop(
        [TargetTracking("cpu", 60.0)], min_replicas=1, max_replicas=20,
        behavior=Behavior.kubernetes_default(), warmup=60.0,
    ),
    "target tracking on rps, aws cooldowns": DecisionLoop(
        TargetTracking("rps", 100.0, kind="value", tolerance=0.0), min_replicas=1,
        max_replicas=20, cooldown=Cooldown(60, 300), combine="aws",
    ),
    "step scaling": DecisionLoop(
        [StepScaling("cpu", 70.0, [(0, 20, 1), (20, None, 3), (None, 0, -1)])],
        min_replicas=1, max_replicas=20, cooldown=300.0,
    ),
    "hpa": HorizontalPodAutoscaler(
        [Metric("Resource", "cpu", "Utilization", 60)], max_replicas=20,
        behavior=Behavior.kubernetes_default(),
    ).loop(),
}  # fmt: skip


def corners(parameter: Parameter) -> list[Any]:
    if isinstance(parameter, Choice):
        return list(parameter.options)
    if isinstance(parameter, Int):
        return [parameter.low, (parameter.low + parameter.high) // 2, parameter.high]
    return [parameter.low, (parameter.low + parameter.high) / 2, parameter.high]


@pytest.mark.parametrize("name", LOOPS)
def test_every_point_of_a_declared_space_builds_a_loop_holding_it(name: str) -> None:
    loop = LOOPS[name]
    space = check_space(loop.search_space())
    for path, parameter in space.items():
        get_at(loop, path)  # the path names what the loop holds
        for value in corners(parameter):
            tuned = with_params(loop, {path: value})
            assert get_at(tuned, path) == value, (path, value)
            assert get_at(loop, path) != value or get_at(tuned, path) == value
    assert with_params(loop, {}).get_params().keys() == loop.get_params().keys()


def test_the_given_value_lies_inside_its_declared_range() -> None:
    for loop in LOOPS.values():
        for path, parameter in loop.search_space().items():
            value = get_at(loop, path)
            if isinstance(parameter, Choice):
                assert value in parameter.options, path
            else:
                assert parameter.low <= value <= parameter.high, (path, value, parameter)


def test_a_target_tracking_on_cpu_searches_30_to_90_around_60_and_rps_on_a_log_scale() -> None:
    space = LOOPS["target tracking, kubernetes behavior"].search_space()
    assert space["policies[0].target"] == Float(30.0, 90.0)
    assert space["policies[0].scale_in_margin"].when == {"policies[0].disable_scale_in": (False,)}
    rps = LOOPS["target tracking on rps, aws cooldowns"].search_space()
    assert rps["policies.target"] == Float(50.0, 200.0, log=True)
    assert "policies.tolerance" not in rps  # no band given: none searched
    assert {"cooldown.scale_out", "cooldown.scale_in"} <= set(rps)
    assert "behavior.scale_down.stabilization_window_seconds" not in rps


def test_with_params_leaves_the_original_loop_and_its_learning_alone() -> None:
    loop = LOOPS["step scaling"]
    tuned = with_params(loop, {"policies[0].steps[1][2]": 5, "cooldown": 120})
    assert loop.policies[0].steps[1] == (20, None, 3) and loop.cooldown == 300.0
    assert tuned.policies[0].steps[1] == (20, None, 5) and tuned.cooldown == 120


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("policies[0].goal", r"one of metric, target, .* after 'policies\[0\]'"),
        ("policies[3].target", r"an index below 1 after 'policies'"),
        ("min_replicas.low", r"nothing after 'min_replicas': it is a value"),
        ("policies..target", r"names separated by dots"),
        ("[0].target", r"names separated by dots"),
        ("", r"names separated by dots"),
    ],
)
def test_a_path_that_names_nothing_is_refused_with_what_is_there(path: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        with_params(LOOPS["target tracking, kubernetes behavior"], {path: 1})


def test_a_value_the_object_refuses_is_refused_by_its_own_check() -> None:
    with pytest.raises(ParameterError, match="target"):
        with_params(LOOPS["hpa"], {"policies.metrics[0].target": "high"})


def test_parse_path_reads_nested_indices() -> None:
    assert parse_path("behavior.scale_up.policies[1].value") == (
        "behavior", "scale_up", "policies", 1, "value")  # fmt: skip
