"""A tuning saved and read back (JSON), as a pandas DataFrame, as text and as HTML."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from elastic.bench.stats import format_ci
from elastic.errors import ElasticError, ParameterError
from elastic.sim.result_io import read_json
from elastic.tune.constraint import Constraint

if TYPE_CHECKING:
    from elastic.tune.results import Trial, Tuning

__all__ = [
    "FORMAT",
    "from_dict",
    "read",
    "summary",
    "text",
    "to_dict",
    "to_frame",
    "to_html",
    "value",
]

FORMAT = "elastic.Tuning/1"


def to_dict(tuning: Tuning) -> dict[str, Any]:
    """Everything but the Optuna study, as JSON-ready values (non-finite numbers as text)."""
    return {
        "format": FORMAT,
        "objective": tuning.objective,
        "objectives": list(tuning.objectives),
        "constraints": [
            {"metric": c.metric, "op": c.op, "bound": _number(c.bound)} for c in tuning.constraints
        ],
        "trials": [_trial(t) for t in tuning.trials],
        "confirmed": [_trial(t) for t in tuning.confirmed],
    }


def from_dict(data: Mapping[str, Any]) -> Tuning:
    """The tuning :func:`to_dict` gave (without its study); anything else is a ParameterError."""
    from elastic.tune.results import Tuning

    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else data
        raise ParameterError("format", found, repr(FORMAT), owner="Tuning")
    try:
        return Tuning(
            objective=str(data["objective"]),
            constraints=tuple(
                Constraint(str(c["metric"]), str(c["op"]), _float(c["bound"]))
                for c in data["constraints"]
            ),
            trials=[_untrial(t) for t in data["trials"]],
            objectives=tuple(str(name) for name in data.get("objectives", ())),
            confirmed=[_untrial(t) for t in data.get("confirmed", [])],
        )
    except ElasticError as error:  # a part of it refused: say it was in the tuning
        raise ParameterError(
            "data", str(error), f"a tuning as to_dict writes it ({FORMAT})", owner="Tuning"
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        what = f"{type(error).__name__}: {error}"
        raise ParameterError(
            "data", what, f"a tuning as to_dict writes it ({FORMAT})", owner="Tuning"
        ) from None


def read(source: str | os.PathLike[str]) -> Tuning:
    """A tuning from a file or from JSON text (the rule of ``RunResult.from_json``)."""
    return from_dict(read_json(source, owner="Tuning.from_json", what="a tuning"))


def dumps(tuning: Tuning) -> str:
    """The JSON text of :func:`to_dict` (strict JSON)."""
    return json.dumps(to_dict(tuning), indent=1, allow_nan=False)


def to_frame(tuning: Tuning) -> Any:
    """:meth:`Tuning.rows` as a pandas DataFrame (the ``dataframe`` extra)."""
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError("Tuning.to_frame needs pandas: pip install elastic[dataframe]") from error
    return pd.DataFrame(tuning.rows())


def summary(tuning: Tuning) -> dict[str, Any]:
    """The best trial, its objectives and constrained metrics with intervals, and counts.

    ``best`` is None (and ``infeasible`` says why) when no trial is feasible.
    """
    from elastic.tune.results import InfeasibleError

    counts = {
        "trials": len(tuning.trials),
        "pruned": sum(t.state == "pruned" for t in tuning.trials),
        "feasible": sum(t.feasible for t in tuning.trials),
        "confirmed": len(tuning.confirmed),
        "simulations": tuning.simulations,
    }
    try:
        best = tuning.best
    except InfeasibleError as error:
        return {"best": None, "infeasible": str(error), **counts}
    metrics = {}
    for name in _metrics(tuning):
        mean, half = value(tuning, best, name)
        metrics[name] = {"mean": mean, "ci": half, "interval": (mean - half, mean + half)}
    return {
        "best": best.number,
        "params": dict(best.params),
        "fidelity": best.fidelity,
        "runs": best.runs,
        "metrics": metrics,
        "margins": dict(best.margins),
        **counts,
    }


def text(tuning: Tuning, digits: int = 3) -> str:
    """The best trial with the 95 % intervals of its objectives and constrained metrics."""
    facts = summary(tuning)
    counts = (
        f"{facts['trials']} trials ({facts['pruned']} pruned, {facts['feasible']} feasible), "
        f"{facts['confirmed']} confirmed, {facts['simulations']} simulations"
    )
    if facts["best"] is None:
        return f"no feasible trial: {facts['infeasible']}\n{counts}"
    params = ", ".join(f"{k}={v!r}" for k, v in facts["params"].items())
    lines = [
        f"best: trial {facts['best']} ({facts['fidelity']}, {facts['runs']} runs): {params}",
    ]
    width = max(len(name) for name in facts["metrics"])
    for name, stats in facts["metrics"].items():
        line = f"  {name:<{width}}  {format_ci(stats['mean'], stats['ci'], digits)}"
        if name in tuning.objectives:
            line += f"  ({_way(tuning, name)})"
        for rule in (c for c in tuning.constraints if c.metric == name):
            margin = facts["margins"].get(str(rule), math.nan)
            line += f"  {rule}: margin {margin:.3g}"
        lines.append(line)
    lines.append(counts)
    return "\n".join(lines)


def to_html(tuning: Tuning, digits: int = 3) -> str:
    """The best trial with intervals, the front (several objectives), the counts and, once
    confirmed, the disagreements between the fidelities."""
    facts = summary(tuning)
    counts = html.escape(
        f"{facts['trials']} trials ({facts['pruned']} pruned, {facts['feasible']} feasible), "
        f"{facts['confirmed']} confirmed, {facts['simulations']} simulations"
    )
    parts = [f"<div><strong>Tuning</strong> {counts}"]
    if facts["best"] is None:
        parts.append(f"<p>No feasible trial: {html.escape(facts['infeasible'])}</p>")
    else:
        params = ", ".join(f"{k}={v!r}" for k, v in facts["params"].items())
        parts.append(
            f"<p>Best: trial {facts['best']} ({html.escape(facts['fidelity'])}, "
            f"{facts['runs']} runs): <code>{html.escape(params)}</code></p>"
        )
        rows = []
        for name, stats in facts["metrics"].items():
            role = [_way(tuning, name)] if name in tuning.objectives else []
            role += [
                f"{c}: margin {facts['margins'].get(str(c), math.nan):.3g}"
                for c in tuning.constraints
                if c.metric == name
            ]
            rows.append([name, format_ci(stats["mean"], stats["ci"], digits), "; ".join(role)])
        parts.append(_table(["metric", "mean ± 95 % CI", ""], rows))
    if len(tuning.objectives) > 1:
        front = tuning.front
        header = ["trial", *(front[0].params if front else []), *tuning.objectives]
        rows = [
            [str(t.number), *(repr(v) for v in t.params.values())]
            + [format_ci(*value(tuning, t, name), digits) for name in tuning.objectives]
            for t in front
        ]
        parts.append(f"<p>Pareto front ({len(front)} trials)</p>" + _table(header, rows))
    if tuning.confirmed:
        table = tuning.disagreements()
        header = list(dict.fromkeys(k for entry in table for k in entry))
        rows = [[_cell(entry.get(k)) for k in header] for entry in table]
        parts.append("<p>Screened against confirmed</p>" + _table(header, rows))
    parts.append("</div>")
    return "".join(parts)


def _metrics(tuning: Tuning) -> list[str]:
    """The objectives, then the constrained metrics."""
    return list(dict.fromkeys([*tuning.objectives, *(c.metric for c in tuning.constraints)]))


def value(tuning: Tuning, trial: Trial, name: str) -> tuple[float, float]:
    """A trial's mean of ``name`` and the half-width of its 95 % interval (NaN if unknown)."""
    if name in trial.values:
        return trial.values[name], trial.cis.get(name, math.nan)
    if name == tuning.objective:
        return trial.objective, trial.objective_ci
    return math.nan, math.nan


def _way(tuning: Tuning, name: str) -> str:
    return dict(zip(tuning.objectives, tuning.directions, strict=True))[name]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _trial(trial: Trial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "params": dict(trial.params),
        "objective": _number(trial.objective),
        "objective_ci": _number(trial.objective_ci),
        "margins": {k: _number(v) for k, v in trial.margins.items()},
        "feasible": trial.feasible,
        "values": {k: _number(v) for k, v in trial.values.items()},
        "cis": {k: _number(v) for k, v in trial.cis.items()},
        "state": trial.state,
        "fidelity": trial.fidelity,
        "runs": trial.runs,
    }


def _untrial(data: Mapping[str, Any]) -> Trial:
    from elastic.tune.results import Trial

    return Trial(
        number=int(data["number"]),
        params=dict(data["params"]),
        objective=_float(data["objective"]),
        objective_ci=_float(data["objective_ci"]),
        margins={k: _float(v) for k, v in data["margins"].items()},
        feasible=bool(data["feasible"]),
        values={k: _float(v) for k, v in data.get("values", {}).items()},
        cis={k: _float(v) for k, v in data.get("cis", {}).items()},
        state=str(data.get("state", "complete")),
        fidelity=str(data.get("fidelity", "fluid")),
        runs=int(data.get("runs", 0)),
    )


def _number(value: float) -> float | str:
    """A float JSON can hold: the non-finite ones as text (``"nan"``, ``"inf"``, ``"-inf"``)."""
    return value if math.isfinite(value) else str(value)


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{value!r} is not a number")
    return float(value)
