"""A tuning's plots: the front, the history, the parameters' importance from a real study."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from elastic import DecisionLoop, ParameterError
from elastic.bench.compare import SerialExecutor
from elastic.policies import TargetTracking
from elastic.sim import Poisson, Scenario
from elastic.tune import Float, Int, Trial, Tuning, tune

from .test_results import SLO, trial, two_objectives

plt = pytest.importorskip("matplotlib.pyplot", reason="the plot extra is not installed")


def build(params: dict[str, Any]) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", params["target"]),
                        min_replicas=params["floor"], max_replicas=20)  # fmt: skip


def test_the_front_joins_the_pareto_trials_with_their_intervals(tmp_path: Path) -> None:
    tuning = two_objectives()
    figure = tuning.plot_front(tmp_path / "front.png")
    assert (tmp_path / "front.png").stat().st_size > 0
    axes = figure.axes[0]
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("cost", "slo_attainment")
    faint, feasible = axes.collections[:2]
    assert len(faint.get_offsets()) == 7 and len(feasible.get_offsets()) == 5
    joined = axes.lines[0]  # the errorbar's line, before the constraint's
    assert joined.get_linestyle() == "-"
    # the confirmed front: trials 0 and 1 at their confirmed means
    assert joined.get_xdata().tolist() == pytest.approx([0.12, 0.21])
    assert joined.get_ydata().tolist() == pytest.approx([0.93, 0.99])
    plt.close(figure)


def test_one_objective_is_drawn_against_its_first_constraint() -> None:
    tuning = Tuning("cost", (SLO,), [trial(0, 0.1, 0.95), trial(1, 0.2, 0.99)])
    figure = tuning.plot_front()
    axes = figure.axes[0]
    assert axes.get_ylabel() == "slo_attainment"
    assert [line.get_ydata()[0] for line in axes.lines if line.get_label() == str(SLO)] == [0.9]
    plt.close(figure)
    with pytest.raises(ParameterError, match="two objectives, or one and a constraint"):
        Tuning("cost", (), [trial(0, 0.1, 0.95)]).plot_front()


def test_the_history_steps_down_only_on_feasible_complete_trials(tmp_path: Path) -> None:
    trials = [trial(0, 0.3, 0.95), trial(1, 0.1, 0.5, feasible=False),
              trial(2, 0.05, 0.5, feasible=False, state="pruned"), trial(3, 0.2, 0.97)]  # fmt: skip
    figure = Tuning("cost", (SLO,), trials).plot_history(tmp_path / "history.png")
    assert figure.axes[0].lines[0].get_ydata().tolist() == [0.3, 0.3, 0.3, 0.2]
    marked = {c.get_label(): len(c.get_offsets()) for c in figure.axes[0].collections}
    assert marked == {"feasible": 2, "infeasible": 1, "pruned": 1}
    plt.close(figure)
    slo = Tuning("slo_attainment", (), [trial(0, 0.3, 0.95), trial(1, 0.3, 0.97),
                                        trial(2, 0.3, 0.96)])  # fmt: skip
    figure = slo.plot_history()
    assert figure.axes[0].lines[0].get_ydata().tolist() == [0.95, 0.97, 0.97], "maximized"
    plt.close(figure)


def test_importance_comes_from_the_real_study(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    steady = {"steady": Scenario(Poisson(30.0), duration=600.0, slo=0.5, initial_replicas=4)}
    result = tune(build, {"target": Float(30.0, 90.0), "floor": Int(1, 3)}, steady, seeds=2,
                  constraints=["slo_attainment>=0.8"], sampler="random", trials=6,
                  executor=SerialExecutor(), storage=storage, study_name="web")  # fmt: skip
    if result.study is None:  # tune() keeps its study once issue 19's study.py is merged
        result.study = optuna.load_study(study_name="web", storage=storage)
    figure = result.plot_importance(tmp_path / "importance.png")
    (bars,) = figure.axes[0].containers
    names = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert sorted(names) == ["floor", "target"]
    widths = [bar.get_width() for bar in bars]
    assert sum(widths) == pytest.approx(1.0) and all(math.isfinite(w) for w in widths)
    assert widths == sorted(widths), "the most important at the top"
    plt.close(figure)
    again = Tuning.from_json(result.to_json())
    with pytest.raises(ParameterError, match="with its Optuna study"):
        again.plot_importance()
    empty = optuna.create_study(storage=storage, study_name="empty")
    lonely = Tuning("cost", (), [Trial(0, {"target": 1.0}, 1.0, 0.0, {}, True)], study=empty)
    with pytest.raises(ParameterError, match="at least two complete trials"):
        lonely.plot_importance()
