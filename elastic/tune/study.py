"""A tuning study: candidates sampled by Optuna, judged by simulation on scenarios x seeds."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

import optuna

from elastic.bench.compare import compare
from elastic.bench.stats import mean_ci
from elastic.core.loop import DecisionLoop
from elastic.core.validate import check_choice, check_int
from elastic.errors import ElasticError, ParameterError
from elastic.sim.scenario import Scenario
from elastic.tune.constraint import Constraint
from elastic.tune.results import InfeasibleError, Trial, Tuning
from elastic.tune.space import Choice, Float, Int, Parameter, check_space

__all__ = ["InfeasibleError", "Trial", "Tuning", "tune"]

SAMPLERS = ("tpe", "random", "grid")


def tune(
    build: Callable[[Mapping[str, Any]], DecisionLoop],
    space: Mapping[str, Parameter],
    scenarios: Mapping[str, Scenario] | Sequence[Scenario],
    seeds: Sequence[int] | int = 3,
    *,
    objective: str = "cost",
    constraints: Sequence[str | Constraint] = (),
    trials: int = 30,
    sampler: str = "tpe",
    seed: int = 0,
    executor: Executor | None = None,
    fidelity: str = "fluid",
    storage: str | None = None,
    study_name: str = "elastic",
) -> Tuning:
    """Search ``space`` for the loop of the lowest mean ``objective`` meeting ``constraints``.

    Each trial samples parameters (Optuna's TPE with constraints, random
    search, or a grid over :class:`Choice` and :class:`Int` parameters),
    builds a loop with ``build(params)`` and runs it on every scenario with
    every seed (:func:`~elastic.bench.compare`, on ``executor``: a local
    process pool by default). The objective is the mean of that summary
    metric over all the runs (lower is better: ``cost``,
    ``cost_per_million_requests``, ``latency_p99``...). A constraint holds
    when its 95 % confidence bound over the seeds holds on every scenario
    (:class:`Constraint`). The trials run one after the other, so a study
    with the same sampler seed gives the same trials; ``storage`` (an Optuna
    storage URL such as ``sqlite:///study.db``) keeps them, and a study of the
    same name there is resumed.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.bench.compare import SerialExecutor
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import Poisson, Scenario
    >>> def build(p):
    ...     return DecisionLoop(TargetTracking("cpu", p["target"]), min_replicas=1, max_replicas=20)
    >>> steady = Scenario(Poisson(30.0), duration=900.0, slo=0.5, initial_replicas=4)
    >>> result = tune(build, {"target": Choice((40.0, 60.0, 80.0))}, {"steady": steady},
    ...               seeds=2, constraints=["slo_attainment>=0.9"], trials=3, sampler="grid",
    ...               executor=SerialExecutor())
    >>> sorted((t.params["target"], t.feasible) for t in result.trials)
    [(40.0, True), (60.0, True), (80.0, False)]
    >>> result.best.params    # the cheaper of the two that meet the SLO with confidence
    {'target': 60.0}
    """
    owner = "tune"
    if not callable(build):
        raise ParameterError(
            "build", build, "a function of the parameters giving a DecisionLoop", owner=owner
        )
    space = check_space(space)
    rules = tuple(c if isinstance(c, Constraint) else Constraint.parse(c) for c in constraints)
    check_int(trials, "trials", owner=owner, ge=1)
    check_choice(sampler, "sampler", SAMPLERS, owner=owner)
    check_int(seed, "seed", owner=owner, ge=0)
    if not isinstance(objective, str) or not objective:
        raise ParameterError("objective", objective, "a summary metric's name", owner=owner)
    study = _study(space, sampler, seed, storage, study_name)
    result = Tuning(objective, rules)
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=os.cpu_count() or 1)

    def evaluate(trial: optuna.Trial) -> float:
        params = {name: _suggest(trial, name, p) for name, p in space.items()}
        loop = build(params)
        if not isinstance(loop, DecisionLoop):
            raise ParameterError("build", loop, "a function returning a DecisionLoop", owner=owner)
        runs = compare({"candidate": loop}, scenarios, seeds, executor=pool, progress=False,
                       fidelity=fidelity)  # fmt: skip
        if runs.failures:
            failure = runs.failures[0]
            raise ElasticError(
                f"trial {trial.number} {params}: the run of scenario {failure.scenario!r} "
                f"with seed {failure.seed} failed: {failure.error}"
            )
        _check_metrics(runs.rows[0], objective, rules)
        stats = {
            name: mean_ci([float(row[name]) for row in runs.rows])
            for name in runs.rows[0]
            if name not in ("policy", "scenario", "seed")
        }
        mean, half = stats[objective]
        margins = {
            str(rule): min(
                rule.margin([float(r[rule.metric]) for r in runs.rows if r["scenario"] == name])
                for name in {r["scenario"] for r in runs.rows}
            )
            for rule in rules
        }
        for key, margin in margins.items():  # Optuna: feasible when every value is <= 0
            trial.set_constraint(key, -margin)
        feasible = all(m > 0 for m in margins.values())
        result.trials.append(
            Trial(trial.number, params, mean, half, margins, feasible,
                  values={k: v[0] for k, v in stats.items()},
                  cis={k: v[1] for k, v in stats.items()}, fidelity=fidelity, runs=len(runs.rows))
        )  # fmt: skip
        return mean if math.isfinite(mean) else math.inf

    try:
        # one trial after another (the runs of a trial share the executor): the same sampler
        # seed gives the same trials; a grid stops early once every point was tried
        study.optimize(evaluate, n_trials=trials)
    finally:
        if own:
            pool.shutdown()
    return result


def _check_metrics(row: Mapping[str, Any], objective: str, rules: Sequence[Constraint]) -> None:
    known = ", ".join(sorted(k for k in row if k not in ("policy", "scenario", "seed")))
    if objective not in row:
        raise ParameterError(
            "objective", objective, f"a summary metric: one of {known}", owner="tune"
        )
    for rule in rules:
        if rule.metric not in row:
            raise ParameterError(
                "constraints", str(rule),
                f"a constraint on a summary metric ({rule.metric!r} is none of {known})",
                owner="tune",
            )  # fmt: skip


def _study(
    space: Mapping[str, Parameter], sampler: str, seed: int, storage: str | None, name: str
) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen: optuna.samplers.BaseSampler
    if sampler == "tpe":
        chosen = optuna.samplers.TPESampler(seed=seed)  # reads the trials' constraints
    elif sampler == "random":
        chosen = optuna.samplers.RandomSampler(seed=seed)
    else:
        grid: dict[str, list[Any]] = {}
        for key, parameter in space.items():
            if isinstance(parameter, Choice):
                grid[key] = list(parameter.options)
            elif isinstance(parameter, Int) and parameter.high - parameter.low <= 1000:
                grid[key] = list(range(parameter.low, parameter.high + 1))
            else:
                raise ParameterError(
                    f"space[{key!r}]", parameter,
                    "a Choice or an Int of at most 1,001 values for a grid search", owner="tune",
                )  # fmt: skip
        chosen = optuna.samplers.GridSampler(grid, seed=seed)
    try:
        return optuna.create_study(
            direction="minimize", sampler=chosen, storage=storage, study_name=name,
            load_if_exists=True,
        )  # fmt: skip
    except Exception as error:
        raise ParameterError(
            "storage", storage, f"an Optuna storage that can be opened ({error})", owner="tune"
        ) from None


def _suggest(trial: optuna.Trial, name: str, parameter: Parameter) -> Any:
    if isinstance(parameter, Float):
        return trial.suggest_float(name, parameter.low, parameter.high, log=parameter.log)
    if isinstance(parameter, Int):
        return trial.suggest_int(name, parameter.low, parameter.high, log=parameter.log)
    return trial.suggest_categorical(name, list(parameter.options))
