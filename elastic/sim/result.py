"""What a run produced: one record per control interval, gathered into arrays, and its bill."""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from elastic.core.types import Decision, Reason, Stage
from elastic.cost.ledger import Ledger
from elastic.errors import ElasticError, ParameterError
from elastic.evaluate import (
    attainment,
    demand_replicas,
    instability,
    jitter,
    latency_percentiles,
    offered_rate,
    scaling_actions,
    tau_o,
    tau_u,
    theta_o,
    theta_u,
)
from elastic.sim.scenario import Scenario
from elastic.sim.stats import LatencyHistogram

__all__ = ["IntervalRecord", "RunFacts", "RunResult"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

QUANTILES = {"latency_p50": 50, "latency_p90": 90, "latency_p95": 95, "latency_p99": 99}


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """One control interval ``[start, end)``: what happened in it and what was decided at its end.

    Counts are of the interval; ``in_flight`` and the replica counts are at
    its end, after the decision. Latencies are of the requests completed in
    it (NaN when none). ``utilization`` is the ground truth (busy slot-seconds
    over offered slot-seconds of accepting replicas); ``observed`` is what the
    controller saw. ``cold_starts`` and ``throttled`` (included in
    ``dropped``) are for serverless platforms, and so are
    ``busy_environments`` (running a request, its cold start included) and
    ``idle_environments`` (warm, waiting for one) at the interval's end.
    """

    start: float
    end: float
    arrived: int
    completed: int
    dropped: int
    timed_out: int
    failed: int
    in_flight: int
    replicas: int
    ready: int
    pending: int
    warming: int
    draining: int
    utilization: float
    latency_mean: float
    latency_p50: float
    latency_p90: float
    latency_p95: float
    latency_p99: float
    latency_max: float
    observed: Mapping[str, float] = field(default_factory=dict)
    decision: Decision | None = None
    cold_starts: int = 0
    throttled: int = 0
    busy_environments: int = 0
    idle_environments: int = 0


def latency_fields(parts: Sequence[FloatArray]) -> dict[str, float]:
    """Mean, percentiles and max of the latencies of one interval (arrays of them).

    Examples
    --------
    >>> latency_fields([np.array([1.0, 3.0]), np.array([2.0, 4.0])])["latency_p50"]
    2.5
    """
    values = np.concatenate(parts) if len(parts) else np.empty(0)
    points = latency_percentiles(values, (*QUANTILES.values(), 100))
    mean = float(values.mean()) if len(values) else math.nan
    return {"latency_mean": mean, **{f"latency_{name}": v for name, v in points.items()}}


# series added after the format was first written (read as zeros from older files)
_ADDED_SERIES = ("busy_environments", "idle_environments")
_SERIES = [f.name for f in fields(IntervalRecord) if f.name not in ("observed", "decision")]
_COUNTS = ("arrived", "completed", "dropped", "timed_out", "failed", "cold_starts", "throttled")
_FLOATS = {"start", "end", "utilization", "latency_mean", "latency_max", *QUANTILES}


@dataclass(frozen=True)
class RunFacts:
    """What evaluation needs to know about a run's scenario, kept with the run and its JSON."""

    name: str
    duration: float
    slo: float | None
    mean_service: float
    slots: int
    control_interval: float
    description: str
    serverless: bool = False

    @classmethod
    def of(cls, scenario: Scenario) -> RunFacts:
        return cls(
            name=scenario.name,
            duration=float(scenario.duration),
            slo=scenario.slo,
            mean_service=scenario.service.mean,
            slots=scenario.replica.slots,
            control_interval=float(scenario.control_interval),
            description=repr(scenario),
            serverless=scenario.serverless is not None,
        )


FORMAT = "elastic.RunResult/1"


@dataclass(repr=False)
class RunResult:
    """The time series of a run (numpy arrays, one value per control interval), its totals and bill.

    The arrays are the fields of :class:`IntervalRecord`, over the run.
    ``observed`` holds what the controller saw, by metric name (NaN where
    it saw nothing); ``decisions`` the loop's decision at the end of each
    interval; ``totals`` the requests by outcome over the run, with replica
    failures and spot interruptions; ``latency`` a histogram of every
    completed request; ``ledger`` the bill of the run's replicas (None for a
    result read back from JSON, which keeps the bill's total); ``offered``
    the workload's mean arrival rate over each interval (its load intensity,
    the basis of :meth:`demand`); ``facts`` what
    evaluation needs of the scenario (``scenario`` itself is None for a
    result read back from JSON).
    """

    scenario: Scenario | None
    facts: RunFacts
    seed: int
    fidelity: str
    loop_params: dict[str, Any]
    totals: dict[str, float]
    latency: LatencyHistogram
    ledger: Ledger | None
    bill: Decimal
    start: FloatArray
    end: FloatArray
    arrived: IntArray
    completed: IntArray
    dropped: IntArray
    timed_out: IntArray
    failed: IntArray
    in_flight: IntArray
    replicas: IntArray
    ready: IntArray
    pending: IntArray
    warming: IntArray
    draining: IntArray
    utilization: FloatArray
    cold_starts: IntArray
    throttled: IntArray
    busy_environments: IntArray
    idle_environments: IntArray
    latency_mean: FloatArray
    latency_p50: FloatArray
    latency_p90: FloatArray
    latency_p95: FloatArray
    latency_p99: FloatArray
    latency_max: FloatArray
    observed: dict[str, FloatArray]
    decisions: list[Decision | None]
    cost_per_interval: FloatArray
    offered: FloatArray | None = None

    @classmethod
    def from_records(
        cls,
        records: Sequence[IntervalRecord],
        *,
        scenario: Scenario,
        ledger: Ledger,
        extra_totals: Mapping[str, float],
        **meta: Any,
    ) -> RunResult:
        """Gather interval records into arrays; the request totals are the records' sums.

        ``extra_totals`` adds what the records do not hold (waiting time,
        replica failures, spot interruptions).
        """
        columns = zip(*map(attrgetter(*_SERIES), records), strict=True)
        series: dict[str, Any] = {
            name: np.array(column, dtype=np.float64 if name in _FLOATS else np.int64)
            for name, column in zip(_SERIES, columns, strict=True)
        }
        # summed from the records, so that the totals always agree with the series
        totals: dict[str, float] = {name: int(series[name].sum()) for name in _COUNTS}
        totals["in_flight"] = records[-1].in_flight
        totals.update(extra_totals)
        names = sorted({key for r in records for key in r.observed})
        observed = {
            key: np.array([r.observed.get(key, math.nan) for r in records]) for key in names
        }
        _, per_interval = ledger.by_time(scenario.control_interval, until=scenario.duration)
        return cls(
            offered=offered_rate(scenario.workload.mean_rate, series["start"], series["end"]),
            scenario=scenario,
            facts=RunFacts.of(scenario),
            ledger=ledger,
            bill=ledger.total(until=scenario.duration),
            cost_per_interval=np.asarray(per_interval, dtype=np.float64),
            totals=totals,
            **meta,
            **series,
            observed=observed,
            decisions=[r.decision for r in records],
        )

    def cost(self) -> Decimal:
        """What the run was billed, in dollars."""
        return self.bill

    # --- saving and reading back ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything but the scenario objects and the ledger, as JSON-ready values."""
        return {
            "format": FORMAT,
            "facts": asdict(self.facts),
            "seed": self.seed,
            "fidelity": self.fidelity,
            "loop_params": {key: repr(value) for key, value in self.loop_params.items()},
            "totals": {key: _plain(value) for key, value in self.totals.items()},
            "cost": str(self.bill),
            "cost_per_interval": _listed(self.cost_per_interval),
            "offered": None if self.offered is None else _listed(self.offered),
            "series": {name: _listed(getattr(self, name)) for name in _SERIES},
            "observed": {name: _listed(values) for name, values in self.observed.items()},
            "decisions": [None if d is None else _decision(d) for d in self.decisions],
            "latency": self.latency.to_dict(),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The run as JSON text; written to ``path`` too when given."""
        text = json.dumps(self.to_dict(), allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """Read back what :meth:`to_dict` gave; anything else is a ``ParameterError``."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else data
            raise ParameterError("format", found, repr(FORMAT), owner="RunResult")
        try:
            return cls._read(data)
        except ElasticError:
            raise
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
            what = f"{type(error).__name__}: {error}"
            raise ParameterError(
                "data", what, f"a run as to_dict writes it ({FORMAT})", owner="RunResult"
            ) from None

    @classmethod
    def _read(cls, data: Mapping[str, Any]) -> RunResult:
        series: dict[str, Any] = {
            name: np.array(
                [math.nan if v is None else v for v in values],
                dtype=np.float64 if name in _FLOATS else np.int64,
            )
            for name, values in data["series"].items()
        }
        for name in _ADDED_SERIES:  # a run saved before these series existed: zeros
            series.setdefault(name, np.zeros(len(series["end"]), dtype=np.int64))
        lengths = {name: len(values) for name, values in series.items()}
        if len(set(lengths.values())) > 1:
            raise ParameterError(
                "series", lengths, "series of one length, a value per interval", owner="RunResult"
            )
        if missing := [name for name in _SERIES if name not in series]:
            raise ParameterError(
                "series",
                sorted(series),
                f"every series of a run; {missing} missing",
                owner="RunResult",
            )
        observed = {
            name: np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            for name, values in data["observed"].items()
        }
        return cls(
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
            decisions=[None if d is None else _undecision(d) for d in data["decisions"]],
        )

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> RunResult:
        """Read a run from a file, as :meth:`to_json` writes it, or from JSON text.

        The rule: a path object is a file; a string whose first non-blank
        character is ``{`` is JSON text (a run is a JSON object, and no file
        name in practice starts so); any other string is a file path. So
        ``RunResult.from_json("run.json")`` reads what
        ``result.to_json("run.json")`` wrote.
        """
        owner = "RunResult.from_json"
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
                f"a run as to_json writes it ({error.msg})",
                owner=owner,
            ) from None
        if not isinstance(data, Mapping):
            raise ParameterError("source", where, "a JSON object", owner=owner)
        return cls.from_dict(data)

    def demand(self) -> IntArray:
        """Replicas needed in each interval to serve its offered load at the scenario's SLO.

        See :func:`elastic.evaluate.demand_replicas`: the pooled M/M/c mean
        response time within ``scenario.slo`` (or, without one, not overloaded).
        The load is ``offered``, the workload's intensity over each interval
        (its rate function, or a trace's buckets), not the requests that
        happened to arrive; a result saved without it falls back to those.
        """
        if self.offered is not None:
            rate = self.offered
        else:
            rate = self.arrived / np.maximum(self.end - self.start, 1e-12)
        facts = self.facts
        service = facts.mean_service
        objective = facts.slo if facts.slo and facts.slo > service else None
        return demand_replicas(rate, service, facts.slots, objective=objective)

    def summary(self) -> dict[str, float]:
        """The run in numbers: cost, SLO, latency, requests, elasticity, scaling.

        ``slo_attainment`` is NaN without ``scenario.slo``, and is
        :func:`elastic.evaluate.attainment` of the requests within it (counted
        exactly) and of those lost; latency quantiles come from the run's
        histogram (within about 1 %). The
        elasticity metrics compare ready replicas with :meth:`demand`. A
        serverless run's replicas are its provisioned concurrency; its
        summary adds the execution environments it kept, on average over the
        intervals' ends: ``mean_environments`` and, of those,
        ``mean_busy_environments`` (running a request or starting cold) and
        ``mean_idle_environments`` (warm, waiting: what keep-alive and
        provisioned concurrency pay for to avoid cold starts).
        """
        t = self.totals
        cost = float(self.cost())
        dt = self.end - self.start
        demand, supply = self.demand(), self.ready
        hours = self.facts.duration / 3600
        slo = self.facts.slo
        lost = t["dropped"] + t["timed_out"] + t["failed"]
        served = t["completed"]
        # exact: the histogram counts its run's objective itself, not to a bin
        within = self.latency.fraction_within(slo) * served if slo else math.nan
        actions = scaling_actions(self.replicas)
        environments = (
            {
                "mean_environments": float(
                    (self.busy_environments + self.idle_environments).mean()
                ),
                "mean_busy_environments": float(self.busy_environments.mean()),
                "mean_idle_environments": float(self.idle_environments.mean()),
            }
            if self.facts.serverless
            else {}
        )
        return {
            "cost": cost,
            "cost_per_hour": cost / hours,
            "cost_per_million_requests": cost / t["arrived"] * 1e6 if t["arrived"] else math.nan,
            "requests": float(t["arrived"]),
            "slo_attainment": attainment(within, served, lost) if slo else math.nan,
            "latency_mean": self.latency.mean,
            "latency_p50": self.latency.quantile(0.5),
            "latency_p95": self.latency.quantile(0.95),
            "latency_p99": self.latency.quantile(0.99),
            "dropped": float(t["dropped"]),
            "timed_out": float(t["timed_out"]),
            "failed": float(t["failed"]),
            "theta_u": theta_u(demand, supply, dt),
            "theta_o": theta_o(demand, supply, dt),
            "tau_u": tau_u(demand, supply, dt),
            "tau_o": tau_o(demand, supply, dt),
            "instability": instability(demand, supply, dt),
            "jitter": jitter(demand, supply, dt),
            "scaling_actions": float(actions["actions"]),
            "scale_ups": float(actions["up"]),
            "scale_downs": float(actions["down"]),
            "mean_replicas": float(self.replicas.mean()),
            **environments,
        }

    def to_frame(self) -> Any:
        """The time series as a pandas DataFrame indexed by interval end (``dataframe`` extra)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "RunResult.to_frame needs pandas: pip install elastic[dataframe]"
            ) from error
        columns: dict[str, Any] = {name: getattr(self, name) for name in _SERIES}
        columns["demand"] = self.demand()
        columns["desired"] = [math.nan if d is None else d.replicas for d in self.decisions]
        columns["reason"] = [None if d is None else d.reason.value for d in self.decisions]
        for name, values in self.observed.items():
            columns[f"observed_{name}"] = values
        return pd.DataFrame(columns).set_index("end")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{value:.4g}</td></tr>"
            for name, value in self.summary().items()
        )
        title = html.escape(f"{self.facts.name or 'scenario'}: seed {self.seed}, {self.fidelity}")
        return (
            f"<div><strong>RunResult</strong> {title}, {len(self.end)} intervals of "
            f"{self.facts.control_interval:g} s<table>{rows}</table></div>"
        )

    def plot(self, path: str | Path | None = None) -> Any:
        """Four panels: demand vs capacity, latency vs SLO, cumulative cost, scaling decisions.

        Needs matplotlib (the ``plot`` extra). Returns the figure; saves it to
        ``path`` (PNG, SVG, ...) when given.
        """
        plt = _pyplot()
        hours = self.end / 3600
        figure, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
        capacity, latency, cost, scaling = axes
        capacity.step(hours, self.demand(), where="pre", label="demand (replicas for the SLO)")
        capacity.step(hours, self.ready, where="pre", label="ready replicas")
        capacity.set_ylabel("replicas")
        capacity.legend(loc="upper left")
        if np.isnan(self.latency_p95).all():  # fluid fidelity: only means
            latency.plot(hours, self.latency_mean, label="mean")
        else:
            latency.plot(hours, self.latency_p95, label="p95")
            latency.plot(hours, self.latency_p99, label="p99", alpha=0.6)
        if self.facts.slo:
            latency.axhline(self.facts.slo, color="red", linestyle="--", label="SLO")
        latency.set_ylabel("latency (s)")
        latency.set_yscale("log")
        latency.legend(loc="upper left")
        cost.plot(hours, np.cumsum(self.cost_per_interval))
        cost.set_ylabel("cumulative cost ($)")
        desired = np.array([np.nan if d is None else d.replicas for d in self.decisions])
        scaling.step(hours, self.replicas, where="pre", label="replicas")
        changes = np.flatnonzero(np.diff(desired, prepend=desired[:1]) != 0)
        scaling.scatter(hours[changes], desired[changes], s=8, color="black", label="decisions")
        scaling.set_ylabel("replicas")
        scaling.set_xlabel("hours")
        scaling.legend(loc="upper left")
        figure.suptitle(f"{self.facts.name or 'scenario'}: seed {self.seed}, {self.fidelity}")
        figure.tight_layout()
        if path is not None:
            figure.savefig(path)
        return figure

    def mean_wait(self) -> float:
        """Mean time the completed requests waited for a slot."""
        completed = self.totals["completed"]
        return self.totals["wait_seconds"] / completed if completed else math.nan

    def conserved(self) -> bool:
        """Whether every request is accounted for at the end of every interval.

        At the end of every interval, the arrivals so far equal the requests
        completed, dropped, timed out and failed so far plus those in flight;
        no count is negative (in flight included); and the arrivals of the
        run are those the workload produced (``totals["workload_arrivals"]``,
        which every simulated run carries), so no arrival was lost on its way
        into the records.
        """
        outcomes = self.completed + self.dropped + self.timed_out + self.failed
        for counts in (self.arrived, self.completed, self.dropped, self.timed_out, self.failed):
            if np.any(counts < 0):
                return False
        if np.any(self.in_flight < 0):
            return False
        arrived = np.cumsum(self.arrived)
        if not np.array_equal(arrived, np.cumsum(outcomes) + self.in_flight):
            return False
        produced = self.totals.get("workload_arrivals")
        total = int(arrived[-1]) if len(arrived) else 0
        if produced is None:  # only a result read back from a file written before the count
            return self.scenario is None
        return produced == total and self.totals["arrived"] == total

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"RunResult({self.facts.name or 'scenario'}, seed={self.seed}, "
            f"{len(self.end)} intervals, {t['arrived']:.0f} arrived, "
            f"{t['completed']:.0f} completed, "
            f"cost ${self.cost():.2f})"
        )


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


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install elastic[plot]") from error
    return plt
