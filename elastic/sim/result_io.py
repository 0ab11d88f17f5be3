"""A run saved and read back (JSON), and as a pandas DataFrame."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from elastic.core.types import Decision, Reason, Stage
from elastic.errors import ElasticError, ParameterError
from elastic.sim.node_cost import CostSplit
from elastic.sim.records import ADDEDSERIES, FLOATS, SERIES, RunFacts
from elastic.sim.stats import LatencyHistogram

if TYPE_CHECKING:
    from elastic.sim.result import RunResult

__all__ = ["FORMAT", "fields_from_dict", "read_json", "to_dict", "to_frame"]

FORMAT = "elastic.RunResult/1"


def to_dict(result: RunResult) -> dict[str, Any]:
    """Everything but the scenario objects and the ledger, as JSON-ready values."""
    return {
        "format": FORMAT,
        "facts": asdict(result.facts),
        "seed": result.seed,
        "fidelity": result.fidelity,
        "loop_params": {key: repr(value) for key, value in result.loop_params.items()},
        "totals": {key: _plain(value) for key, value in result.totals.items()},
        "cost": str(result.bill),
        "cost_per_interval": _listed(result.cost_per_interval),
        "offered": None if result.offered is None else _listed(result.offered),
        "series": {name: _listed(getattr(result, name)) for name in SERIES},
        "observed": {name: _listed(values) for name, values in result.observed.items()},
        "cluster": {name: _listed(values) for name, values in result.cluster.items()},
        **({} if result.split is None else {"cost_split": result.split.to_dict()}),
        "decisions": [None if d is None else _decision(d) for d in result.decisions],
        "latency": result.latency.to_dict(),
    }


def fields_from_dict(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of the run :func:`to_dict` gave; anything else is a ``ParameterError``."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else data
        raise ParameterError("format", found, repr(FORMAT), owner="RunResult")
    try:
        return _fields(data)
    except ElasticError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
        what = f"{type(error).__name__}: {error}"
        raise ParameterError(
            "data", what, f"a run as to_dict writes it ({FORMAT})", owner="RunResult"
        ) from None


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    series: dict[str, Any] = {
        name: np.array(
            [math.nan if v is None else v for v in values],
            dtype=np.float64 if name in FLOATS else np.int64,
        )
        for name, values in data["series"].items()
    }
    for name in ADDEDSERIES:  # a run saved before these series existed: zeros
        series.setdefault(name, np.zeros(len(series["end"]), dtype=np.int64))
    lengths = {name: len(values) for name, values in series.items()}
    if len(set(lengths.values())) > 1:
        raise ParameterError(
            "series", lengths, "series of one length, a value per interval", owner="RunResult"
        )
    if missing := [name for name in SERIES if name not in series]:
        raise ParameterError(
            "series",
            sorted(series),
            f"every series of a run; {missing} missing",
            owner="RunResult",
        )
    observed, cluster = (
        {
            name: np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            for name, values in named.items()
        }
        # a run saved before runs had nodes has no cluster series
        for named in (data["observed"], data.get("cluster", {}))
    )
    return dict(
        scenario=None,
        facts=RunFacts(**data["facts"]),
        seed=data["seed"],
        fidelity=data["fidelity"],
        loop_params={key: _Written(value) for key, value in data["loop_params"].items()},
        totals={k: math.nan if v is None else v for k, v in data["totals"].items()},
        latency=LatencyHistogram.from_dict(data["latency"]),
        ledger=None,
        bill=Decimal(data["cost"]),
        cost_per_interval=np.array(data["cost_per_interval"], dtype=np.float64),
        offered=(
            None if data.get("offered") is None else np.array(data["offered"], dtype=np.float64)
        ),
        **series,
        observed=observed,
        cluster=cluster,
        split=None if data.get("cost_split") is None else CostSplit.from_dict(data["cost_split"]),
        decisions=[None if d is None else _undecision(d) for d in data["decisions"]],
    )


def read_json(
    source: str | os.PathLike[str],
    *,
    owner: str = "RunResult.from_json",
    what: str = "a run",
) -> Mapping[str, Any]:
    """The JSON object of a run in a file, as ``to_json`` writes it, or in JSON text.

    The rule: a path object is a file; a string whose first non-blank
    character is ``{`` is JSON text (a run is a JSON object, and no file
    name in practice starts so); any other string is a file path. So
    ``RunResult.from_json("run.json")`` reads what
    ``result.to_json("run.json")`` wrote.
    """
    if isinstance(source, str) and source.lstrip().startswith("{"):
        text, where = source, "the JSON text"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ParameterError(
                "source", str(source), f"a readable JSON file ({reason})", owner=owner
            ) from None
        where = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ParameterError(
            "source",
            f"{where}: line {error.lineno}, column {error.colno}",
            f"{what} as to_json writes it ({error.msg})",
            owner=owner,
        ) from None
    if not isinstance(data, Mapping):
        raise ParameterError("source", where, "a JSON object", owner=owner)
    return data


def to_frame(result: RunResult) -> Any:
    """The time series as a pandas DataFrame indexed by interval end (``dataframe`` extra)."""
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            "RunResult.to_frame needs pandas: pip install elastic[dataframe]"
        ) from error
    columns: dict[str, Any] = {name: getattr(result, name) for name in SERIES}
    columns["demand"] = result.demand()
    columns["desired"] = [math.nan if d is None else d.replicas for d in result.decisions]
    columns["reason"] = [None if d is None else d.reason.value for d in result.decisions]
    for name, values in result.observed.items():
        columns[f"observed_{name}"] = values
    for name, values in result.cluster.items():
        columns[f"cluster_{name}"] = values
    return pd.DataFrame(columns).set_index("end")


class _Written(str):
    """A parameter read back from JSON, where it is kept as its ``repr``: written as read."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _plain(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def _listed(values: NDArray[Any]) -> list[Any]:
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values.tolist()]


def _decision(decision: Decision) -> dict[str, Any]:
    return {
        "time": decision.time,
        "current": decision.current,
        "replicas": decision.replicas,
        "stages": [[s.name, s.replicas, s.reason.value, s.detail] for s in decision.stages],
    }


def _undecision(data: Mapping[str, Any]) -> Decision:
    stages = tuple(
        Stage(name, replicas, Reason(reason), detail)
        for name, replicas, reason, detail in data["stages"]
    )
    return Decision(data["time"], data["current"], data["replicas"], (), stages)
