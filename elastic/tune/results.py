"""What a tuning found: its trials, the best candidate, the Pareto front, rows for tables."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elastic.errors import ElasticError
from elastic.tune import results_io
from elastic.tune.constraint import Constraint

__all__ = ["MAXIMIZED", "InfeasibleError", "Trial", "Tuning", "direction"]

MAXIMIZED = frozenset({"slo_attainment"})
"""The summary metrics where higher is better; every other objective is minimized."""

COMPLETE, PRUNED = "complete", "pruned"


class InfeasibleError(ElasticError):
    """No candidate of a tuning met every constraint with confidence."""


def direction(metric: str) -> str:
    """``"maximize"`` for the metrics of :data:`MAXIMIZED`, else ``"minimize"``.

    Examples
    --------
    >>> direction("cost"), direction("slo_attainment")
    ('minimize', 'maximize')
    """
    return "maximize" if metric in MAXIMIZED else "minimize"


@dataclass(frozen=True)
class Trial:
    """One candidate judged at one fidelity.

    ``objective`` and ``objective_ci`` are the first objective's mean over
    the scenarios and seeds and the half-width of its 95 % interval;
    ``values`` and ``cis`` hold the same for every summary metric. Each
    constraint's ``margins`` entry is its confidence bound's distance inside
    the constraint on the scenario where it is smallest (> 0 holds).
    ``state`` is ``"complete"``, or ``"pruned"`` when the first seed showed
    the candidate hopeless (its values are then those of that seed alone);
    ``runs`` counts its simulations.
    """

    number: int
    params: Mapping[str, Any]
    objective: float
    objective_ci: float
    margins: Mapping[str, float]
    feasible: bool
    values: Mapping[str, float] = field(default_factory=dict)
    cis: Mapping[str, float] = field(default_factory=dict)
    state: str = COMPLETE
    fidelity: str = "fluid"
    runs: int = 0

    def interval(self, metric: str) -> tuple[float, float]:
        """The 95 % confidence interval of ``metric``'s mean (NaN wide with one run)."""
        mean, half = self.values[metric], self.cis[metric]
        return (mean - half, mean + half)


@dataclass
class Tuning:
    """The trials of a :func:`~elastic.tune.tune` study, in the order they ran.

    ``trials`` were judged at the screening fidelity; ``confirmed`` holds the
    best of them judged again at the confirming fidelity (request by
    request, on the full scenarios), under the same numbers. Once any trial
    is confirmed, :attr:`best` and :attr:`front` are chosen among the
    confirmed ones only.
    """

    objective: str
    constraints: tuple[Constraint, ...]
    trials: list[Trial] = field(default_factory=list)
    objectives: tuple[str, ...] = ()
    confirmed: list[Trial] = field(default_factory=list)
    study: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.objectives:
            self.objectives = (self.objective,)

    @property
    def directions(self) -> tuple[str, ...]:
        """Each objective's direction: ``"minimize"`` or ``"maximize"``."""
        return tuple(direction(name) for name in self.objectives)

    @property
    def simulations(self) -> int:
        """How many simulations the study ran, screening and confirming."""
        return sum(t.runs for t in self.trials) + sum(t.runs for t in self.confirmed)

    def _final(self) -> list[Trial]:
        return self.confirmed or [t for t in self.trials if t.state in (COMPLETE, PRUNED)]

    def _key(self, trial: Trial) -> tuple[float, ...]:
        return tuple(
            -trial.values.get(name, trial.objective)
            if way == "maximize"
            else trial.values.get(name, trial.objective)
            for name, way in zip(self.objectives, self.directions, strict=True)
        )

    @property
    def best(self) -> Trial:
        """The feasible trial best on the first objective (among the confirmed ones, if any).

        Raises :class:`InfeasibleError`, naming the closest trials and the
        constraint each failed, when none is feasible.
        """
        candidates = self._final()
        feasible = [t for t in candidates if t.feasible]
        if feasible:
            return min(feasible, key=lambda t: (self._key(t)[0], t.number))
        closest = sorted(candidates, key=lambda t: -min(t.margins.values(), default=0.0))[:3]
        lines = []
        for trial in closest:
            name, margin = min(trial.margins.items(), key=lambda item: item[1], default=("", 1.0))
            if margin <= 0:
                why = f"{name} short by {-margin:.4g}"
            else:
                why = f"{', '.join(self.objectives)} not measured (NaN)"
            lines.append(f"trial {trial.number} {dict(trial.params)}: {why}")
        where = " confirmed" if self.confirmed else ""
        rules = " and ".join(str(c) for c in self.constraints)
        met = f"met {rules} with 95 % confidence over the seeds" if rules else "was feasible"
        raise InfeasibleError(
            f"none of the {len(candidates)}{where} trials {met}; the closest: " + "; ".join(lines)
        )

    @property
    def front(self) -> list[Trial]:
        """The feasible trials no other feasible trial beats on every objective (by their
        means), in the order of the first objective; among the confirmed ones, if any."""
        feasible = [t for t in self._final() if t.feasible]
        keys = {t.number: self._key(t) for t in feasible}
        front = [
            t
            for t in feasible
            if not any(_dominates(keys[o.number], keys[t.number]) for o in feasible)
        ]
        return sorted(front, key=lambda t: (keys[t.number], t.number))

    def disagreements(self, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """For each confirmed trial: ``metrics`` (the objectives by default) and feasibility at
        both fidelities.

        ``difference`` is the relative change of each metric from screening to
        confirming; ``agrees`` says whether feasibility is the same and the
        confirmed values lie within the screened intervals (or the screened
        within the confirmed). After screening on slices, totals such as
        ``cost`` differ by design: compare rates (``cost_per_hour``,
        ``slo_attainment``) instead.
        """
        screened = {t.number: t for t in self.trials}
        table = []
        for confirmed in self.confirmed:
            first = screened[confirmed.number]
            entry: dict[str, Any] = {"trial": confirmed.number, **dict(confirmed.params)}
            agrees = first.feasible == confirmed.feasible
            for name in self.objectives if metrics is None else metrics:
                low, high = first.values[name], confirmed.values[name]
                entry[f"{name}[{first.fidelity}]"] = low
                entry[f"{name}[{confirmed.fidelity}]"] = high
                entry[f"{name}_difference"] = (high - low) / abs(low) if low else math.nan
                overlap = abs(high - low) <= max(
                    _finite(first.cis.get(name)), _finite(confirmed.cis.get(name))
                )
                agrees = agrees and overlap
            entry[f"feasible[{first.fidelity}]"] = first.feasible
            entry[f"feasible[{confirmed.fidelity}]"] = confirmed.feasible
            entry["agrees"] = agrees
            table.append(entry)
        return table

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per trial (screened, then confirmed): trial, state, fidelity, runs,
        parameters, each objective and its CI, margins, feasible, then every other metric."""
        rows = []
        for t in [*self.trials, *self.confirmed]:
            row: dict[str, Any] = {"trial": t.number, "state": t.state, "fidelity": t.fidelity,
                                   "runs": t.runs, **dict(t.params)}  # fmt: skip
            for name in self.objectives:
                row[name] = t.values.get(name, t.objective if name == self.objective else math.nan)
                row[f"{name}_ci"] = t.cis.get(
                    name, t.objective_ci if name == self.objective else math.nan
                )
            row.update({f"margin[{name}]": margin for name, margin in t.margins.items()})
            row["feasible"] = t.feasible
            row.update({k: v for k, v in t.values.items() if k not in row})
            rows.append(row)
        return rows

    def to_csv(self, path: str | Path) -> None:
        """Write :meth:`rows` as CSV."""
        rows = self.rows()
        names = list(dict.fromkeys(name for row in rows for name in row))
        with Path(path).open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, names)
            writer.writeheader()
            writer.writerows(rows)

    def to_frame(self) -> Any:
        """A tidy pandas DataFrame of :meth:`rows`: one row per trial and fidelity (parameters,
        objectives and their CIs, margins, feasible, state, runs, every other metric's mean).
        Needs the ``dataframe`` extra."""
        return results_io.to_frame(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the Optuna study, as JSON-ready values."""
        return results_io.to_dict(self)

    def to_json(self, path: str | Path | None = None) -> str:
        """:meth:`to_dict` as JSON text; writes to ``path`` when given.

        :meth:`from_json` reads it back, with every trial but without the
        Optuna study (``study`` is None; resume a study from its storage).

        Examples
        --------
        >>> from elastic.tune import Constraint
        >>> tuning = Tuning("cost", (Constraint.parse("slo_attainment>=0.9"),), [
        ...     Trial(0, {"target": 60.0}, 0.13, 0.01, {"slo_attainment>=0.9": 0.02}, True,
        ...           {"cost": 0.13, "slo_attainment": 0.93}, {"cost": 0.01,
        ...           "slo_attainment": 0.01}, runs=2)])
        >>> again = Tuning.from_json(tuning.to_json())
        >>> again.trials == tuning.trials and again.constraints == tuning.constraints
        True
        """
        text = results_io.dumps(self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tuning:
        """The tuning :meth:`to_dict` gave (a ``ParameterError`` for anything else)."""
        return results_io.from_dict(data)

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> Tuning:
        """Read a tuning from a file, as :meth:`to_json` writes it, or from JSON text (the rule
        of :meth:`~elastic.sim.RunResult.from_json`)."""
        return results_io.read(source)

    def summary(self) -> dict[str, Any]:
        """The best trial: its number, parameters, fidelity and runs; each objective's and
        constrained metric's mean, 95 % CI half-width and interval; the margins; and the
        counts of trials, pruned, feasible, confirmed and simulations. ``best`` is None, and
        ``infeasible`` gives the reason, when no trial is feasible."""
        return results_io.summary(self)

    def format(self, digits: int = 3) -> str:
        """:meth:`summary` as plain text: the best with the intervals of its metrics.

        Examples
        --------
        >>> from elastic.tune import Constraint
        >>> tuning = Tuning("cost", (Constraint.parse("slo_attainment>=0.9"),), [
        ...     Trial(0, {"target": 60.0}, 0.1326, 0.0042, {"slo_attainment>=0.9": 0.021}, True,
        ...           {"cost": 0.1326, "slo_attainment": 0.934}, {"cost": 0.0042,
        ...           "slo_attainment": 0.013}, runs=2)])
        >>> print(tuning.format())
        best: trial 0 (fluid, 2 runs): target=60.0
          cost            0.1326 ±0.0042  (minimize)
          slo_attainment  0.934 ±0.013  slo_attainment>=0.9: margin 0.021
        1 trials (0 pruned, 1 feasible), 0 confirmed, 2 simulations
        """
        return results_io.text(self, digits)

    def _repr_html_(self) -> str:
        return results_io.to_html(self)

    def plot_front(self, path: str | Path | None = None) -> Any:
        """The objectives against each other (see :func:`elastic.tune.plot.plot_front`)."""
        from elastic.tune.plot import plot_front

        return plot_front(self, path)

    def plot_history(self, path: str | Path | None = None) -> Any:
        """The objective trial by trial (see :func:`elastic.tune.plot.plot_history`)."""
        from elastic.tune.plot import plot_history

        return plot_history(self, path)

    def plot_importance(self, path: str | Path | None = None) -> Any:
        """Each parameter's importance (see :func:`elastic.tune.plot.plot_importance`)."""
        from elastic.tune.plot import plot_importance

        return plot_importance(self, path)

    def __repr__(self) -> str:
        feasible = sum(t.feasible for t in self.trials)
        return (
            f"Tuning({len(self.trials)} trials, {feasible} feasible, "
            f"{len(self.confirmed)} confirmed, objective={self.objective!r})"
        )


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def _finite(value: float | None) -> float:
    return value if value is not None and math.isfinite(value) else 0.0
