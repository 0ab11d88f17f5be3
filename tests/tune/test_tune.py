"""Tuning: Optuna's search over simulations, constraints that hold with confidence."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from elastic import DecisionLoop, ParameterError
from elastic.bench.compare import SerialExecutor
from elastic.policies import TargetTracking
from elastic.sim import Poisson, Scenario
from elastic.tune import Choice, Constraint, Float, InfeasibleError, Int, tune

STEADY = {"steady": Scenario(Poisson(30.0), duration=900.0, slo=0.5, initial_replicas=4)}


def build(params: dict[str, Any]) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", params["target"]), min_replicas=1, max_replicas=20)


def search(**options: Any) -> Any:
    given = {"seeds": 2, "constraints": ["slo_attainment>=0.9"], "executor": SerialExecutor()}
    given.update(options)
    space = given.pop("space", {"target": Float(30.0, 90.0)})
    return tune(build, space, STEADY, **given)


def test_tpe_finds_a_feasible_target_near_the_grids_best() -> None:
    grid = search(space={"target": Choice((40.0, 50.0, 60.0, 70.0, 80.0))}, sampler="grid",
                  trials=5)  # fmt: skip
    found = search(trials=10, seed=1)
    assert found.best.feasible and all(m > 0 for m in found.best.margins.values())
    # within 10 % of the grid's best cost, with as many simulations again
    assert found.best.objective <= grid.best.objective * 1.10


def test_the_same_sampler_seed_gives_the_same_trials() -> None:
    a, b = search(trials=4, seed=7), search(trials=4, seed=7)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.objective for t in a.trials] == [t.objective for t in b.trials]


def test_a_lucky_seed_does_not_make_a_candidate_feasible() -> None:
    rule = Constraint.parse("slo_attainment>=0.9")
    assert rule.margin([0.95, 0.80]) < 0  # one seed above the bound, the mean below
    assert rule.margin([0.96, 0.86]) < 0  # the mean above (0.91), its lower bound far below
    assert rule.margin([0.92, 0.921, 0.919]) > 0
    upper = Constraint.parse("latency_p99<=0.5")
    assert upper.margin([0.4, 0.41]) > 0 and upper.margin([0.3, 0.6]) < 0


def test_when_nothing_is_feasible_the_error_names_the_closest_and_the_constraint() -> None:
    result = search(space={"target": Choice((70.0, 80.0, 90.0))}, sampler="grid", trials=3,
                    constraints=["slo_attainment>=0.99"])  # fmt: skip
    with pytest.raises(InfeasibleError) as caught:
        _ = result.best
    message = str(caught.value)
    assert "none of the 3 trials met slo_attainment>=0.99 with 95 % confidence" in message
    assert "{'target': 70.0}: slo_attainment>=0.99 short by" in message


def test_a_study_in_storage_is_resumed(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    search(trials=2, storage=storage, study_name="web")
    search(trials=2, storage=storage, study_name="web")
    assert len(optuna.load_study(study_name="web", storage=storage).trials) == 4


def test_trials_are_written_as_csv(tmp_path: Path) -> None:
    result = search(space={"target": Choice((40.0, 60.0))}, sampler="grid", trials=2)
    result.to_csv(tmp_path / "trials.csv")
    with (tmp_path / "trials.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert [r["target"] for r in rows] == [str(t.params["target"]) for t in result.trials]
    assert list(rows[0])[:9] == ["trial", "state", "fidelity", "runs", "target", "cost",
                                 "cost_ci", "margin[slo_attainment>=0.9]", "feasible"]  # fmt: skip
    assert {"slo_attainment", "latency_p99"} <= set(rows[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"objective": "cheapness"}, "objective='cheapness' is invalid; expected a summary metric"),
        ({"constraints": ["slo>=0.9"]}, "constraints='slo>=0.9' is invalid"),
        ({"constraints": ["slo_attainment > 0.9"]}, "metric>=number or metric<=number"),
        ({"space": {}}, "space={} is invalid"),
        ({"space": {"target": (30, 90)}}, "expected a Float, Int or Choice"),
        ({"space": {"target": Float(30.0, 90.0)}, "sampler": "grid"}, "for a grid search"),
        ({"sampler": "bayes"}, "sampler='bayes' is invalid"),
        ({"trials": 0}, "trials=0 is invalid"),
        ({"storage": "nosuchdb://x"}, "an Optuna storage that can be opened"),
    ],
)
def test_bad_input_is_refused_in_words(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]").replace("+", r"\+")):  # fmt: skip
        search(**{"trials": 1, **options})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Float(90.0, 30.0), "low=90.0 is invalid; expected at most high"),
        (lambda: Float(0.0, 1.0, log=True), "a number > 0 on a log scale"),
        (lambda: Float(0.0, math.inf), "high=inf is invalid; expected a finite number"),
        (lambda: Int(1, 2.5), "high=2.5 is invalid"),
        (lambda: Choice(()), "at least one option"),
        (lambda: Choice((1, 1)), "distinct options"),
        (lambda: Choice(([1],)), "numbers, strings, booleans or None"),
    ],
)
def test_bad_parameters_are_refused_in_words(make: Any, message: str) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()
