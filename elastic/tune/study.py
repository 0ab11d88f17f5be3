"""A tuning study: candidates sampled by Optuna, judged by simulation on scenarios x seeds.

A batch of trials is asked of Optuna at once and their runs go to the
executor together; the first seed of each candidate runs first, and a
candidate it shows hopeless is pruned before its other seeds run. The
trials are told in the order of their numbers once the whole batch is in,
so what Optuna sees never depends on which run finished first: the same
sampler seed and batch give the same study on any executor.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from elastic.bench.compare import run_row
from elastic.bench.stats import mean_ci
from elastic.core.loop import DecisionLoop
from elastic.core.space import is_active
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ElasticError, ParameterError
from elastic.sim.run import FIDELITIES
from elastic.sim.scenario import Scenario
from elastic.tune.constraint import Constraint
from elastic.tune.results import COMPLETE, PRUNED, Trial, Tuning, direction
from elastic.tune.space import Choice, Float, Int, Parameter, check_space

__all__ = ["MAX_BATCH", "MAX_TRIALS", "PRUNE_MARGIN", "SAMPLERS", "Candidate", "tune"]

SAMPLERS = ("tpe", "random", "grid", "nsga2")
MAX_TRIALS = 100_000
"""The most trials one call may ask for."""
MAX_BATCH = 1024
"""The most trials in flight at once."""
PRUNE_MARGIN = 0.1
"""How far (relative) a first seed must miss to prune: a constraint's bound missed by more
than a tenth of the bound, or an objective a tenth worse than the best feasible trial's."""

REFUSED = "refused"
_ATTR = "elastic"


@dataclass(frozen=True)
class Candidate:
    """What ``build`` may return when a candidate changes the scenarios too.

    ``scenario`` turns each scenario into the one this candidate runs on
    (a node autoscaler's settings, the instance types, the warm pool...);
    it is called in this process, and the scenarios it gives go to the
    executor.

    Examples
    --------
    >>> import dataclasses
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> def build(p):
    ...     loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=20)
    ...     return Candidate(loop, lambda s: dataclasses.replace(s, control_interval=p["every"]))
    """

    loop: DecisionLoop
    scenario: Callable[[Scenario], Scenario] | None = None


@dataclass
class _Candidate:
    number: int
    params: dict[str, Any]
    loop: DecisionLoop
    adjust: Callable[[Scenario], Scenario] | None = None
    trial: optuna.Trial | None = None  # None when confirming: that is not sampling
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    told: bool = False
    made: dict[str, Scenario] = dataclasses.field(default_factory=dict)  # by adjust, per name


def tune(
    build: Callable[[Mapping[str, Any]], DecisionLoop],
    space: Mapping[str, Parameter],
    scenarios: Mapping[str, Scenario] | Sequence[Scenario],
    seeds: Sequence[int] | int = 3,
    *,
    objective: str | Sequence[str] = "cost",
    constraints: Sequence[str | Constraint] = (),
    trials: int = 30,
    sampler: str = "tpe",
    seed: int = 0,
    executor: Executor | None = None,
    fidelity: str = "fluid",
    confirm: int = 0,
    confirm_fidelity: str = "request",
    screen_duration: float | None = None,
    prune: bool = True,
    batch: int = 1,
    progress: bool = False,
    storage: str | None = None,
    study_name: str = "elastic",
) -> Tuning:
    """Search ``space`` for the loop of the best mean ``objective`` meeting ``constraints``.

    Each trial samples parameters, builds a loop with ``build(params)`` and
    runs it on every scenario with every seed at the screening ``fidelity``
    (fluid by default), on the first ``screen_duration`` seconds of each
    scenario when given. Then the ``confirm`` best candidates run again at
    ``confirm_fidelity`` (request by request) on the full scenarios, and the
    answer is chosen among those (:attr:`Tuning.disagreements` shows where
    the two fidelities differ).

    Parameters
    ----------
    build
        Turns one choice of values (a dict by parameter name) into a
        :class:`~elastic.DecisionLoop`. A candidate it refuses with an
        :class:`~elastic.ElasticError` is recorded as refused.
    space
        Parameter names to :class:`Float`, :class:`Int` or :class:`Choice`.
    scenarios, seeds
        What each candidate runs on: scenarios by name (or a sequence), and
        the seeds (or how many, ``0 .. n-1``); three or more, since a
        constraint's confidence bound needs a spread.
    objective
        A summary metric's name (``cost``, ``cost_per_million_requests``,
        ``latency_p99``...), or several for a Pareto front. ``slo_attainment``
        is maximized, every other metric minimized
        (:func:`~elastic.tune.results.direction`). Its value for a candidate
        is the mean over every scenario and seed.
    constraints
        ``"metric>=bound"`` or ``"metric<=bound"`` (:class:`Constraint`): a
        candidate is feasible when the 95 % confidence bound over the seeds
        holds on every scenario.
    trials, sampler, seed
        How many candidates, sampled by Optuna: ``"tpe"`` (TPE, learning from
        the constraints too), ``"nsga2"`` (NSGA-II, for Pareto fronts),
        ``"random"`` or ``"grid"`` (every combination of :class:`Choice` and
        :class:`Int` values; stops once all were tried), seeded by ``seed``.
    executor
        Where the runs go (a local process pool by default; a Dask
        ``Client.get_executor()`` works as is).
    prune
        Stop a candidate after its first seed when that seed is hopeless
        (:data:`PRUNE_MARGIN`); its trial is kept as ``"pruned"``.
    batch
        Trials asked and run at once: their runs share the executor, so more
        workers are kept busy. The answer is still reproducible for a given
        ``batch``; the random and grid samplers give the same trials for any
        ``batch``, TPE and NSGA-II learn from fewer finished trials when it is
        larger.
    storage, study_name
        An Optuna storage URL (``sqlite:///study.db``): a study of that name
        there is resumed, with its earlier trials in the result.

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
    objectives = _objectives(objective)
    if isinstance(constraints, str) or not isinstance(constraints, Iterable):
        raise ParameterError(
            "constraints", constraints, "a list of constraints such as 'slo_attainment>=0.99' "
            "(or () for none)", owner=owner,
        )  # fmt: skip
    rules = tuple(c if isinstance(c, Constraint) else Constraint.parse(c) for c in constraints)
    check_int(trials, "trials", owner=owner, ge=1, le=MAX_TRIALS)
    check_choice(sampler, "sampler", SAMPLERS, owner=owner)
    check_int(seed, "seed", owner=owner, ge=0, le=2**32 - 1)
    check_choice(fidelity, "fidelity", FIDELITIES, owner=owner)
    check_choice(confirm_fidelity, "confirm_fidelity", FIDELITIES, owner=owner)
    check_int(confirm, "confirm", owner=owner, ge=0, le=MAX_TRIALS)
    check_int(batch, "batch", owner=owner, ge=1, le=MAX_BATCH)
    if not isinstance(prune, bool):
        raise ParameterError("prune", prune, "True or False", owner=owner)
    setups = _scenarios(scenarios)
    seed_list = _seeds(seeds)
    screens = setups
    if screen_duration is not None:
        cut = check_number(screen_duration, "screen_duration", owner=owner, gt=0)
        for name, setup in setups.items():
            intervals = cut / setup.control_interval
            if cut < setup.duration and (
                intervals < 1 or not math.isclose(intervals, round(intervals))
            ):
                raise ParameterError(
                    "screen_duration", screen_duration,
                    f"a whole number (>= 1) of scenario {name!r}'s control interval "
                    f"({setup.control_interval:g} s)", owner=owner,
                )  # fmt: skip
        try:
            screens = {
                name: dataclasses.replace(s, duration=cut) if cut < s.duration else s
                for name, s in setups.items()
            }
        except ElasticError as error:
            raise ParameterError(
                "screen_duration", screen_duration, f"a slice each scenario can run ({error})",
                owner=owner,
            ) from None  # fmt: skip
    study = _study(space, objectives, sampler, seed, trials, batch, storage, study_name)
    _claim(study, study_name, {
        "objectives": list(objectives), "constraints": [str(r) for r in rules],
        "fidelity": fidelity, "screen_duration": screen_duration,
        "space": {name: repr(p) for name, p in space.items()},
        "scenarios": sorted(setups), "seeds": seed_list,
    })  # fmt: skip
    result = Tuning(objectives[0], rules, objectives=objectives, study=study)
    result.trials.extend(_stored(study))
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=os.cpu_count() or 1)
    bar = _bar(trials + confirm, progress)
    screen = _Screen(result, screens, seed_list, fidelity, prune, pool)
    try:
        asked = 0
        grid = _grid_points(study, space, seed) if sampler == "grid" else None
        while asked < trials:
            size = min(batch, trials - asked, MAX_TRIALS if grid is None else len(grid))
            if size <= 0:
                break
            candidates: list[_Candidate] = []
            try:
                for _ in range(size):
                    if grid is not None:  # the grid is Optuna's queue of fixed trials
                        study.enqueue_trial(grid.pop())
                    if (candidate := _ask(study, space, build, result)) is not None:
                        candidates.append(candidate)
                asked += size
                screen.run(candidates)
            except BaseException:  # an interrupted batch leaves no trial running in the storage
                for candidate in candidates:
                    if candidate.trial is not None and not candidate.told:
                        study.tell(candidate.trial, state=optuna.trial.TrialState.FAIL)
                raise
            if bar is not None:
                bar.update(size)
        if not any(t.state != REFUSED for t in result.trials):
            first = next(t for t in study.trials if "refused" in t.user_attrs)
            raise ParameterError(
                "space", dict(space),
                f"a space where build accepts some candidates: all {len(result.trials)} were "
                f"refused, the first with: {first.user_attrs['refused']}", owner=owner,
            )  # fmt: skip
        if confirm:
            chosen = _to_confirm(result, confirm)
            candidates = [_candidate(t.number, dict(t.params), build(t.params), None)
                          for t in chosen]  # fmt: skip
            runs = _runs(candidates, setups, seed_list, confirm_fidelity, pool)
            for candidate in candidates:
                candidate.rows = runs[candidate.number]
                result.confirmed.append(
                    _judge(candidate, rules, objectives, confirm_fidelity, COMPLETE)
                )
            if bar is not None:
                bar.update(confirm)
    finally:
        if bar is not None:
            bar.close()
        if own:
            pool.shutdown()
    return result


class _Screen:
    """Runs batches of candidates at the screening fidelity and tells Optuna what they gave."""

    def __init__(
        self,
        result: Tuning,
        setups: Mapping[str, Scenario],
        seeds: list[int],
        fidelity: str,
        prune: bool,
        pool: Executor,
    ) -> None:
        self.result, self.setups, self.seeds = result, setups, seeds
        self.fidelity, self.pool = fidelity, pool
        self.first = seeds[:1] if prune and len(seeds) > 1 else seeds
        self.checked = False

    def run(self, candidates: list[_Candidate]) -> None:
        if not candidates:
            return
        result = self.result
        runs = _runs(candidates, self.setups, self.first, self.fidelity, self.pool)
        for candidate in candidates:
            candidate.rows = runs[candidate.number]
        if not self.checked:
            _check_metrics(candidates[0].rows[0], result.objectives, result.constraints)
            self.checked = True
        best = _best_feasible(result)
        hopeless = {c.number for c in candidates if self._hopeless(c, best)}
        rest = [c for c in candidates if c.number not in hopeless]
        if len(self.first) < len(self.seeds) and rest:
            more = _runs(rest, self.setups, self.seeds[1:], self.fidelity, self.pool)
            for candidate in rest:
                candidate.rows += more[candidate.number]
        study = result.study
        for candidate in candidates:
            state = PRUNED if candidate.number in hopeless else COMPLETE
            trial = _judge(candidate, result.constraints, result.objectives, self.fidelity, state)
            asked = candidate.trial
            assert asked is not None
            for key, margin in trial.margins.items():  # Optuna: feasible when every value <= 0
                asked.set_constraint(key, -margin)
            asked.set_user_attr(_ATTR, _record(trial))
            if state == PRUNED:
                if len(result.objectives) == 1:
                    asked.report(_finite(trial.objective, result.directions[0]), 0)
                study.tell(asked, state=optuna.trial.TrialState.PRUNED)
            else:
                ways = zip(result.objectives, result.directions, strict=True)
                values = [_finite(trial.values[name], way) for name, way in ways]
                study.tell(asked, values)
            candidate.told = True
            result.trials.append(trial)

    def _hopeless(self, candidate: _Candidate, best: float | None) -> bool:
        """Whether the first seed already rules the candidate out (only when more seeds follow)."""
        if len(self.first) == len(self.seeds):
            return False
        for rule in self.result.constraints:
            for row in candidate.rows:
                if -rule.margin([float(row[rule.metric])]) > PRUNE_MARGIN * abs(rule.bound):
                    return True
        if best is None or best == 0 or len(self.result.objectives) > 1:
            return False
        mean = float(np.mean([float(r[self.result.objective]) for r in candidate.rows]))
        worse = (mean - best) if self.result.directions[0] == "minimize" else (best - mean)
        return worse > PRUNE_MARGIN * abs(best)


def _judge(
    candidate: _Candidate,
    rules: Sequence[Constraint],
    objectives: Sequence[str],
    fidelity: str,
    state: str,
) -> Trial:
    """A candidate's trial from its runs: means and intervals, margins, feasibility (which
    needs every objective measured: a NaN cost per million requests cannot win)."""
    rows = candidate.rows
    stats = {
        name: mean_ci([float(row[name]) for row in rows])
        for name in rows[0]
        if name not in ("policy", "scenario", "seed")
    }
    names = sorted({row["scenario"] for row in rows})
    margins = {
        str(rule): min(
            rule.margin([float(r[rule.metric]) for r in rows if r["scenario"] == name])
            for name in names
        )
        for rule in rules
    }
    feasible = (
        state == COMPLETE
        and all(m > 0 for m in margins.values())
        and all(math.isfinite(stats[name][0]) for name in objectives)
    )
    mean, half = stats[objectives[0]]
    return Trial(candidate.number, candidate.params, mean, half, margins, feasible,
                 values={k: v[0] for k, v in stats.items()},
                 cis={k: v[1] for k, v in stats.items()},
                 state=state, fidelity=fidelity, runs=len(rows))  # fmt: skip


def _runs(
    candidates: Sequence[_Candidate],
    setups: Mapping[str, Scenario],
    seeds: Sequence[int],
    fidelity: str,
    pool: Executor,
) -> dict[int, list[dict[str, Any]]]:
    """Every candidate on every scenario with every seed, all at once on ``pool``: rows by
    trial, in the order of scenario and seed whatever order they finished in."""
    futures = []
    for candidate in candidates:
        for name, setup in setups.items():
            mine = _adjusted(candidate, name, setup)
            for seed in seeds:
                task = (str(candidate.number), candidate.loop, name, mine, seed, fidelity, False)
                futures.append(pool.submit(run_row, *task))
    rows: dict[int, list[dict[str, Any]]] = {c.number: [] for c in candidates}
    for future in futures:
        row = future.result()
        if "error" in row:
            params = next(c.params for c in candidates if str(c.number) == row["policy"])
            raise ElasticError(
                f"trial {row['policy']} {params}: the run of scenario {row['scenario']!r} "
                f"with seed {row['seed']} failed: {row['error']}"
            )
        rows[int(row["policy"])].append(row)
    return rows


def _adjusted(candidate: _Candidate, name: str, setup: Scenario) -> Scenario:
    if candidate.adjust is None:
        return setup
    if name in candidate.made:
        return candidate.made[name]
    try:
        mine = candidate.adjust(setup)
    except ElasticError as error:
        raise ElasticError(
            f"trial {candidate.number} {candidate.params}: its scenario {name!r} could not be "
            f"made: {error}"
        ) from None
    if not isinstance(mine, Scenario):
        raise ParameterError(
            "build", mine, "a Candidate whose scenario function returns a Scenario", owner="tune"
        )
    candidate.made[name] = mine
    return mine


def _ask(
    study: optuna.Study,
    space: Mapping[str, Parameter],
    build: Callable[[Mapping[str, Any]], DecisionLoop],
    result: Tuning,
) -> _Candidate | None:
    """A new trial and its loop; None (the trial failed, recorded as refused) when ``build``
    refuses its parameters."""
    trial = study.ask()
    params: dict[str, Any] = {}
    for name, parameter in space.items():  # define-by-run: a conditional one only when active
        if is_active(parameter, params):
            params[name] = _suggest(trial, name, parameter)
    try:
        built = build(params)
    except ElasticError as error:
        trial.set_user_attr("refused", str(error))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        refused = Trial(trial.number, params, math.nan, math.nan, {}, False, state=REFUSED)
        result.trials.append(refused)
        return None
    except BaseException:  # a defect of build's own: its trial is failed, never left running
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    try:
        return _candidate(trial.number, params, built, trial)
    except ParameterError:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise


def _candidate(
    number: int, params: dict[str, Any], built: Any, trial: optuna.Trial | None
) -> _Candidate:
    if isinstance(built, Candidate) and isinstance(built.loop, DecisionLoop):
        return _Candidate(number, params, built.loop, built.scenario, trial)
    if isinstance(built, DecisionLoop):
        return _Candidate(number, params, built, None, trial)
    raise ParameterError(
        "build", built, "a function returning a DecisionLoop or a Candidate", owner="tune"
    )


def _to_confirm(result: Tuning, count: int) -> list[Trial]:
    """The front (or the best feasible), then the other feasible trials by the first objective,
    then the closest infeasible ones: the first ``count``."""
    done = [t for t in result.trials if t.state == COMPLETE]
    front = result.front
    first = {t.number for t in front}
    sign = -1.0 if result.directions[0] == "maximize" else 1.0
    others = sorted(
        (t for t in done if t.number not in first),
        key=lambda t: (not t.feasible, -min(t.margins.values(), default=0.0) if not t.feasible
                       else sign * t.objective, t.number),
    )  # fmt: skip
    return [*front, *others][:count]


def _best_feasible(result: Tuning) -> float | None:
    feasible = [t.objective for t in result.trials if t.feasible]
    if not feasible:
        return None
    return min(feasible) if result.directions[0] == "minimize" else max(feasible)


def _objectives(objective: str | Sequence[str]) -> tuple[str, ...]:
    names = (objective,) if isinstance(objective, str) else tuple(objective)
    if (
        not names
        or not all(isinstance(n, str) and n for n in names)
        or len(set(names)) != len(names)
    ):
        raise ParameterError(
            "objective", objective, "a summary metric's name, or several distinct ones",
            owner="tune",
        )  # fmt: skip
    return names


def _scenarios(scenarios: Mapping[str, Scenario] | Sequence[Scenario]) -> dict[str, Scenario]:
    if isinstance(scenarios, Mapping):
        named = dict(scenarios)
    elif isinstance(scenarios, Iterable) and not isinstance(scenarios, str):
        named = {f"scenario{i}": s for i, s in enumerate(scenarios)}
    else:
        named = {}
    if not named or not all(isinstance(s, Scenario) for s in named.values()):
        raise ParameterError(
            "scenarios", scenarios, "at least one Scenario (by name, or a list)", owner="tune"
        )
    return named


def _seeds(seeds: Sequence[int] | int) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        return list(range(check_int(seeds, "seeds", owner="tune", ge=1, le=10_000)))
    if isinstance(seeds, Iterable) and not isinstance(seeds, str):
        listed = [check_int(s, "seeds", owner="tune", ge=0) for s in seeds]
        if listed and len(set(listed)) == len(listed) and len(listed) <= 10_000:
            return listed
    raise ParameterError(
        "seeds", seeds, "a count from 1 to 10,000, or distinct seeds >= 0", owner="tune"
    )


def _check_metrics(
    row: Mapping[str, Any], objectives: Sequence[str], rules: Sequence[Constraint]
) -> None:
    metrics = {k for k in row if k not in ("policy", "scenario", "seed")}
    known = ", ".join(sorted(metrics))
    for objective in objectives:
        if objective not in metrics:
            raise ParameterError(
                "objective", objective, f"a summary metric: one of {known}", owner="tune"
            )
    for rule in rules:
        if rule.metric not in metrics:
            raise ParameterError(
                "constraints", str(rule),
                f"a constraint on a summary metric ({rule.metric!r} is none of {known})",
                owner="tune",
            )  # fmt: skip


def _finite(value: float, way: str) -> float:
    """What Optuna is told for a metric that came out NaN or infinite: the worst value."""
    if math.isfinite(value):
        return value
    return math.inf if way == "minimize" else -math.inf


def _record(trial: Trial) -> dict[str, Any]:
    """What a trial keeps in Optuna's storage so that a resumed study shows it."""
    return {"objective_ci": trial.objective_ci, "margins": dict(trial.margins),
            "feasible": trial.feasible, "values": dict(trial.values), "cis": dict(trial.cis),
            "state": trial.state, "fidelity": trial.fidelity, "runs": trial.runs}  # fmt: skip


def _stored(study: optuna.Study) -> list[Trial]:
    """The trials of a resumed study, as this package recorded them."""
    found = []
    for frozen in study.get_trials(deepcopy=False):
        if "refused" in frozen.user_attrs:
            found.append(Trial(frozen.number, dict(frozen.params), math.nan, math.nan, {}, False,
                               state=REFUSED))  # fmt: skip
            continue
        saved = frozen.user_attrs.get(_ATTR)
        if saved is None or frozen.state not in (
            optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
        ):  # fmt: skip
            continue
        values = saved["values"]
        first = next(iter(study.user_attrs[f"{_ATTR}.study"]["objectives"]))
        found.append(Trial(frozen.number, dict(frozen.params), values[first],
                           saved["objective_ci"], saved["margins"], saved["feasible"],
                           values=values, cis=saved["cis"], state=saved["state"],
                           fidelity=saved["fidelity"], runs=saved["runs"]))  # fmt: skip
    return found


def _claim(study: optuna.Study, name: str, mine: dict[str, Any]) -> None:
    """Mark a new study with what it judges by and on; refuse to resume one judged otherwise
    (other objectives, constraints, screening, space, scenarios or seeds)."""
    key = f"{_ATTR}.study"
    theirs = study.user_attrs.get(key)
    if theirs is None:
        if study.trials:
            raise ParameterError(
                "study_name", name, "a study elastic started (this one has trials of another "
                "program's)", owner="tune",
            )  # fmt: skip
        study.set_user_attr(key, mine)
        return
    differ = [f"{k}: stored {theirs.get(k)!r}, given {v!r}" for k, v in mine.items()
              if theirs.get(k) != v]  # fmt: skip
    if differ:
        raise ParameterError(
            "study_name", name,
            "a new study name, or the same objectives, constraints, screening, space, scenarios "
            "and seeds as the stored study (" + "; ".join(differ) + ")", owner="tune",
        )  # fmt: skip


def _grid_points(
    study: optuna.Study, space: Mapping[str, Parameter], seed: int
) -> list[dict[str, Any]]:
    """The grid's points not tried yet, in a seeded random order (the next one last); a
    conditional parameter varies only where it is active."""
    points: list[dict[str, Any]] = [{}]
    size = math.prod(len(_grid(p)) for p in space.values())
    if size > MAX_TRIALS:
        raise ParameterError(
            "space", dict(space), f"a grid of at most {MAX_TRIALS:,} points (this one has "
            f"{size:,}): fewer values, or another sampler", owner="tune",
        )  # fmt: skip
    for name, parameter in space.items():
        points = [
            {**point, name: value} if is_active(parameter, point) else point
            for point in points
            for value in (_grid(parameter) if is_active(parameter, point) else [None])
        ]
    names = list(space)
    # a point an interrupted run left failed is tried again; one refused by build is not
    tried = [t for t in study.get_trials(deepcopy=False)
             if t.state != optuna.trial.TrialState.FAIL or "refused" in t.user_attrs]  # fmt: skip
    seen = {tuple(t.params.get(n) for n in names) for t in tried}
    points = [p for p in points if tuple(p.get(n) for n in names) not in seen]
    order = np.random.default_rng(seed).permutation(len(points))
    return [points[i] for i in reversed(order)]


def _grid(parameter: Parameter) -> list[Any]:
    if isinstance(parameter, Choice):
        return list(parameter.options)
    assert isinstance(parameter, Int)
    return list(range(parameter.low, parameter.high + 1))


def _study(
    space: Mapping[str, Parameter],
    objectives: Sequence[str],
    sampler: str,
    seed: int,
    trials: int,
    batch: int,
    storage: str | None,
    name: str,
) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler == "grid":
        for key, parameter in space.items():
            if not (
                isinstance(parameter, Choice)
                or (isinstance(parameter, Int) and parameter.high - parameter.low <= 1000)
            ):
                raise ParameterError(
                    f"space[{key!r}]", parameter,
                    "a Choice or an Int of at most 1,001 values for a grid search", owner="tune",
                )  # fmt: skip
    directions: list[Any] = [direction(o) for o in objectives]
    try:
        study = optuna.create_study(
            directions=directions, storage=storage, study_name=name, load_if_exists=True,
            sampler=optuna.samplers.RandomSampler(seed=seed),
        )  # fmt: skip
    except Exception as error:
        raise ParameterError(
            "storage",
            storage,
            f"an Optuna storage that can be opened ({_first_line(error)})",
            owner="tune",
        ) from None
    if [d.name.lower() for d in study.directions] != directions:
        raise ParameterError(
            "study_name", name, f"a study of the same objectives ({list(objectives)})", owner="tune"
        )
    # a resumed study draws anew: the sampler's seed also depends on how many trials it has
    drawn = seed if not study.trials else int(
        np.random.SeedSequence([seed, len(study.trials)]).generate_state(1)[0]
    )  # fmt: skip
    chosen: optuna.samplers.BaseSampler
    if sampler == "tpe":
        # reads the trials' constraints; a batch's running trials count as bad guesses
        chosen = optuna.samplers.TPESampler(seed=drawn, constant_liar=batch > 1)
    elif sampler == "nsga2":
        chosen = optuna.samplers.NSGAIISampler(
            seed=drawn, population_size=max(4, min(50, trials // 5))
        )
    elif sampler == "random":
        chosen = optuna.samplers.RandomSampler(seed=drawn)
    else:  # every trial's point comes from the queue (_grid_points)
        chosen = optuna.samplers.RandomSampler(seed=drawn)
    study.sampler = chosen
    return study


def _first_line(error: Exception) -> str:
    """An error's first line, without SQLAlchemy's background link."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)


def _suggest(trial: optuna.Trial, name: str, parameter: Parameter) -> Any:
    if isinstance(parameter, Float):
        return trial.suggest_float(name, parameter.low, parameter.high, log=parameter.log)
    if isinstance(parameter, Int):
        return trial.suggest_int(name, parameter.low, parameter.high, log=parameter.log)
    return trial.suggest_categorical(name, list(parameter.options))


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="trials", unit="trial")
