"""A tuning drawn (matplotlib, the ``plot`` extra): its front, its history, its parameters'
importance. Each function returns the figure and saves it when given a path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elastic.errors import ParameterError
from elastic.sim.result_plot import _pyplot
from elastic.tune.results import InfeasibleError
from elastic.tune.results_io import value

if TYPE_CHECKING:
    from elastic.tune.results import Trial, Tuning

__all__ = ["plot_front", "plot_history", "plot_importance"]


def plot_front(tuning: Tuning, path: str | Path | None = None) -> Any:
    """The first two objectives against each other, or the objective against the first
    constrained metric when there is one objective.

    Every trial is drawn faint, the feasible ones marked, and the Pareto
    front (the confirmed trials' once confirmed; for one objective, the best)
    joined, with the 95 % intervals of its means as error bars. A tuning
    with one objective and no constraint is a ``ParameterError``.

    Examples
    --------
    >>> from elastic.tune import Constraint, Trial, Tuning
    >>> trials = [Trial(n, {"target": t}, c, 0.01, {"slo_attainment>=0.9": s - 0.92}, s > 0.92,
    ...                 {"cost": c, "slo_attainment": s}, {"cost": 0.01, "slo_attainment": 0.01})
    ...           for n, (t, c, s) in enumerate([(40, 0.2, 0.99), (60, 0.13, 0.95),
    ...                                          (80, 0.1, 0.8)])]
    >>> tuning = Tuning("cost", (Constraint.parse("slo_attainment>=0.9"),), trials)
    >>> figure = plot_front(tuning)
    >>> figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel()
    ('cost', 'slo_attainment')
    >>> import matplotlib.pyplot as plt
    >>> plt.close(figure)
    """
    if len(tuning.objectives) > 1:
        x, y = tuning.objectives[:2]
        chosen = tuning.front
        what = "Pareto front"
    elif tuning.constraints:
        x, y = tuning.objective, tuning.constraints[0].metric
        try:
            chosen = [tuning.best]
        except InfeasibleError:
            chosen = []
        what = "best"
    else:
        raise ParameterError(
            "tuning", repr(tuning), "two objectives, or one and a constraint", owner="plot_front"
        )
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 5.5))
    everyone = [*tuning.trials, *tuning.confirmed]
    axes.scatter(*_xy(tuning, everyone, x, y), s=14, color="gray", alpha=0.3, label="trials")
    feasible = [t for t in everyone if t.feasible]
    axes.scatter(*_xy(tuning, feasible, x, y), s=22, color="tab:blue", label="feasible")
    if chosen:
        xs, ys = _xy(tuning, chosen, x, y)
        axes.errorbar(
            xs,
            ys,
            xerr=[_half(tuning, t, x) for t in chosen],
            yerr=[_half(tuning, t, y) for t in chosen],
            fmt="o-" if len(chosen) > 1 else "o",
            color="tab:red",
            capsize=3,
            label=f"{what} (95 % intervals)",
        )
        for trial, at in zip(chosen, zip(xs, ys, strict=True), strict=True):
            axes.annotate(str(trial.number), at, fontsize=8, xytext=(4, 4),
                          textcoords="offset points")  # fmt: skip
    for rule in tuning.constraints:
        if rule.metric == y:
            axes.axhline(rule.bound, color="red", linestyle="--", linewidth=1, label=str(rule))
        elif rule.metric == x:
            axes.axvline(rule.bound, color="red", linestyle="--", linewidth=1, label=str(rule))
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(f"{y} against {x}: every trial, the feasible ones and the {what}")
    axes.legend(loc="best", fontsize=8)
    return _done(figure, path)


def plot_history(tuning: Tuning, path: str | Path | None = None) -> Any:
    """The first objective of each trial in the order they ran, the best feasible so far as a
    step line, pruned and infeasible trials marked.

    Examples
    --------
    >>> from elastic.tune import Trial, Tuning
    >>> trials = [Trial(n, {"target": 40 + n}, c, 0.01, {}, c < 0.3, runs=2)
    ...           for n, c in enumerate([0.2, 0.4, 0.15, 0.3])]
    >>> figure = plot_history(Tuning("cost", (), trials))
    >>> figure.axes[0].lines[0].get_ydata().tolist()    # the best feasible so far
    [0.2, 0.2, 0.15, 0.15]
    >>> import matplotlib.pyplot as plt
    >>> plt.close(figure)
    """
    name = tuning.objective
    maximize = tuning.directions[0] == "maximize"
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 5))
    order = list(range(len(tuning.trials)))
    values = [value(tuning, t, name)[0] for t in tuning.trials]
    best, running = math.nan, []
    for trial, mean in zip(tuning.trials, values, strict=True):
        if trial.feasible and trial.state == "complete" and math.isfinite(mean):
            better = mean > best if maximize else mean < best
            best = mean if math.isnan(best) or better else best
        running.append(best)
    axes.step(order, running, where="post", color="tab:red", label="best feasible so far")
    kinds = (("feasible", "o", "tab:blue"), ("infeasible", "x", "tab:orange"),
             ("pruned", "v", "gray"))  # fmt: skip
    for label, marker, color in kinds:
        picked = [i for i, t in enumerate(tuning.trials) if _kind(t) == label]
        axes.scatter(picked, [values[i] for i in picked], marker=marker, color=color,
                     label=label, s=22)  # fmt: skip
    axes.set_xlabel("trial (in the order run)")
    axes.set_ylabel(f"{name} ({tuning.directions[0]})")
    axes.set_title(f"{name}, trial by trial")
    axes.legend(loc="best", fontsize=8)
    return _done(figure, path)


def plot_importance(tuning: Tuning, path: str | Path | None = None) -> Any:
    """Each parameter's importance to the first objective, from Optuna's study.

    Optuna's ``get_param_importances`` with ``PedAnovaImportanceEvaluator``,
    which needs nothing beyond Optuna (its default fANOVA evaluator needs
    scikit-learn in some versions). Needs the tuning's study: a tuning read
    from JSON has none (a ``ParameterError``; load the study from its
    storage and run ``tune`` again on it), and at least two complete trials.
    """
    if tuning.study is None:
        raise ParameterError(
            "tuning", repr(tuning), "a tuning with its Optuna study (one read back from JSON "
            "has none)", owner="plot_importance",
        )  # fmt: skip
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    study = tuning.study
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(done) < 2:
        raise ParameterError(
            "tuning", repr(tuning), "at least two complete trials", owner="plot_importance"
        )
    several = len(study.directions) > 1
    importances = get_param_importances(
        study,
        evaluator=PedAnovaImportanceEvaluator(),
        target=(lambda trial: trial.values[0]) if several else None,
    )
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 1.5 + 0.4 * max(len(importances), 1)))
    names = list(importances)[::-1]  # the most important at the top
    axes.barh(names, [importances[n] for n in names], color="tab:blue")
    axes.set_xlabel(f"importance to {tuning.objective} (PED-ANOVA, Optuna)")
    axes.set_title("parameter importance")
    return _done(figure, path)


def _kind(trial: Trial) -> str:
    if trial.state != "complete":
        return "pruned"
    return "feasible" if trial.feasible else "infeasible"


def _xy(tuning: Tuning, trials: list[Trial], x: str, y: str) -> tuple[list[float], list[float]]:
    return [value(tuning, t, x)[0] for t in trials], [value(tuning, t, y)[0] for t in trials]


def _half(tuning: Tuning, trial: Trial, name: str) -> float:
    half = value(tuning, trial, name)[1]
    return half if math.isfinite(half) else 0.0


def _done(figure: Any, path: str | Path | None) -> Any:
    figure.tight_layout()
    if path is not None:
        figure.savefig(path)
    return figure
