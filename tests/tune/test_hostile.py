"""What an adversarial trial of the tuning found (issue 19): each is refused in words, or kept
right, never a wrong result, a traceback from inside or a trial left running in the storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from elastic import DecisionLoop, ParameterError
from elastic.bench.compare import SerialExecutor
from elastic.policies import TargetTracking
from elastic.sim import Poisson, Scenario
from elastic.tune import Choice, Constraint, Float, Int, tune
from elastic.tune import study as study_module

STEADY = {"s": Scenario(Poisson(30.0), duration=300.0, slo=0.5, initial_replicas=4)}


def build(params: dict[str, Any]) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", params["target"]), min_replicas=1, max_replicas=20)


def search(**options: Any) -> Any:
    given: dict[str, Any] = {"seeds": 2, "executor": SerialExecutor(), "trials": 2,
                             "space": {"target": Float(40.0, 80.0)}}  # fmt: skip
    given.update(options)
    return tune(given.pop("build", build), given.pop("space"), given.pop("scenarios", STEADY),
                **given)  # fmt: skip


def states(storage: str) -> list[str]:
    return [t.state.name for t in optuna.load_study(study_name="elastic", storage=storage).trials]


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({"space": {"other": Float(1.0, 2.0)}}, "space: stored"),
        ({"space": {"target": Choice((40.0, 80.0))}}, "space: stored"),
        ({"seeds": 3}, "seeds: stored [0, 1], given [0, 1, 2]"),
        ({"scenarios": {"t": STEADY["s"]}}, "scenarios: stored ['s'], given ['t']"),
    ],
)
def test_a_stored_study_judged_on_another_space_or_runs_is_not_resumed(
    tmp_path: Path, change: dict[str, Any], differs: str
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search(storage=storage)
    with pytest.raises(ParameterError) as caught:
        search(storage=storage, **change)
    assert "a new study name, or the same objectives" in str(caught.value)
    assert differs in str(caught.value)
    assert states(storage) == ["COMPLETE", "COMPLETE"]


def test_a_grid_point_an_interrupt_failed_is_tried_when_the_study_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = {"target": Choice((50.0, 60.0, 70.0))}
    real = study_module.run_row
    calls = []

    def flaky(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(study_module, "run_row", flaky)
    with pytest.raises(KeyboardInterrupt):
        search(space=space, sampler="grid", trials=3, storage=storage, prune=False)
    monkeypatch.setattr(study_module, "run_row", real)
    assert states(storage) == ["COMPLETE", "FAIL"]
    again = search(space=space, sampler="grid", trials=3, storage=storage, prune=False)
    done = sorted(t.params["target"] for t in again.trials)
    assert done == [50.0, 60.0, 70.0]


@pytest.mark.parametrize("name", ["policy", "seed", "scenario"])
def test_the_rows_keys_are_no_metrics(name: str) -> None:
    with pytest.raises(ParameterError, match=f"constraints='{name}>=1' is invalid"):
        search(constraints=[f"{name}>=1"])
    with pytest.raises(ParameterError, match=f"objective='{name}' is invalid"):
        search(objective=name)


def test_a_grid_too_large_is_refused_before_it_is_built() -> None:
    space = {"x": Int(0, 1000), "y": Int(0, 1000), "z": Int(0, 1000)}
    with pytest.raises(ParameterError, match=r"a grid of at most 100,000 points \(this one has "):
        search(space=space, sampler="grid", trials=1, build=lambda p: build({"target": 50.0}))


@pytest.mark.parametrize(
    "text", ["slo_attainment>=1..2", "slo_attainment>=--1", "slo_attainment>=1e309", "x<=inf"]
)
def test_a_constraint_bound_that_is_no_finite_number_is_refused(text: str) -> None:
    with pytest.raises(ParameterError, match="expected a finite number as the bound"):
        Constraint.parse(text)


def test_no_constraints_is_an_empty_list_not_none() -> None:
    with pytest.raises(ParameterError, match="constraints=None is invalid"):
        search(constraints=None)


def test_a_range_optuna_cannot_sample_is_refused() -> None:
    with pytest.raises(ParameterError, match="high=1e"):
        Float(-1e308, 1e308)


@pytest.mark.parametrize(
    ("bad", "raised"),
    [(lambda p: 1 / 0, ZeroDivisionError), (lambda p: None, ParameterError)],
)
def test_a_build_that_fails_leaves_its_trial_failed_not_running(
    tmp_path: Path, bad: Any, raised: type[BaseException]
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    with pytest.raises(raised):
        search(build=bad, storage=storage, batch=2)
    assert states(storage) == ["FAIL"]


@pytest.mark.parametrize("cut", [1e-9, 20.0])
def test_a_screening_slice_is_whole_control_intervals(cut: float) -> None:
    with pytest.raises(ParameterError, match=r"a whole number .* control interval \(15 s\)"):
        search(screen_duration=cut)
