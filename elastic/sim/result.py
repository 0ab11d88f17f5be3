"""What a run produced: one record per control interval, gathered into arrays, and its bill."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from elastic.core.types import Decision
from elastic.cost.ledger import Ledger
from elastic.errors import ParameterError
from elastic.evaluate import (
    attainment,
    demand_replicas,
    instability,
    jitter,
    offered_rate,
    scaling_actions,
    tau_o,
    tau_u,
    theta_o,
    theta_u,
)
from elastic.sim import result_io, result_plot
from elastic.sim.node_cost import CostSplit
from elastic.sim.records import COUNTS, FLOATS, SERIES, IntervalRecord, RunFacts
from elastic.sim.scenario import Scenario
from elastic.sim.stats import LatencyHistogram

__all__ = ["IntervalRecord", "RunFacts", "RunResult"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(repr=False)
class RunResult:
    """The time series of a run (numpy arrays, one value per control interval), its totals and bill.

    The arrays are the fields of :class:`IntervalRecord`, over the run.
    ``observed`` holds what the controller saw, by metric name (NaN where
    it saw nothing); ``cluster`` the node level at each interval's end, by
    name, in a run with nodes; ``decisions`` the loop's decision at the end of each
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
    cluster: dict[str, FloatArray] = field(default_factory=dict)
    split: CostSplit | None = None

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
        columns = zip(*map(attrgetter(*SERIES), records), strict=True)
        series: dict[str, Any] = {
            name: np.array(column, dtype=np.float64 if name in FLOATS else np.int64)
            for name, column in zip(SERIES, columns, strict=True)
        }
        # summed from the records, so that the totals always agree with the series
        totals: dict[str, float] = {name: int(series[name].sum()) for name in COUNTS}
        totals["in_flight"] = records[-1].in_flight
        totals.update(extra_totals)
        names = sorted({key for r in records for key in r.observed})
        observed = {
            key: np.array([r.observed.get(key, math.nan) for r in records]) for key in names
        }
        cluster_names = sorted({key for r in records for key in r.cluster})
        # a template's node count is recorded from its first node on: none before
        missing = {key: 0.0 if key.startswith("nodes:") else math.nan for key in cluster_names}
        cluster = {
            key: np.array([r.cluster.get(key, missing[key]) for r in records])
            for key in cluster_names
        }
        _, per_interval = ledger.by_time(scenario.control_interval, until=scenario.duration)
        if "allocated_share" in cluster:  # a run with nodes: its cost per interval, by category
            share = np.nan_to_num(cluster["allocated_share"])
            cost = np.asarray(per_interval, dtype=np.float64)
            cluster["cost_allocated"] = cost * share
            cluster["cost_idle"] = cost - cluster["cost_allocated"]
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
            cluster=cluster,
        )

    def cost(self) -> Decimal:
        """What the run was billed, in dollars."""
        return self.bill

    def cost_split(self) -> dict[str, Any]:
        """A run with nodes: its bill split as cost-allocation tools split it.

        ``{"nodes": bill, "allocated": {workload: cost}, "idle": cost}`` in
        Decimal dollars, with ``nodes == sum(allocated.values()) + idle``
        exactly: each node's bill is split by the time-averaged share of
        its capacity that the pods bound to it requested, with OpenCost's
        CPU and memory prices (:mod:`elastic.sim.node_cost`); idle is what
        no pod requested, the system reservation included. Per interval,
        ``cluster["cost_allocated"]`` and ``cluster["cost_idle"]`` (floats,
        at list prices) are for plotting. A run without nodes has no split:
        a ``ParameterError``.
        """
        if self.split is None:
            raise ParameterError(
                "cost_split", None, "a run with nodes (Scenario(nodes=...))", owner="RunResult"
            )
        return self.split.as_dict()

    # --- saving and reading back (elastic.sim.result_io) -----------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything but the scenario objects and the ledger, as JSON-ready values."""
        return result_io.to_dict(self)

    def to_json(self, path: str | Path | None = None) -> str:
        """The run as JSON text; written to ``path`` too when given."""
        text = json.dumps(self.to_dict(), allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """Read back what :meth:`to_dict` gave; anything else is a ``ParameterError``."""
        return cls(**result_io.fields_from_dict(data))

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> RunResult:
        """Read a run from a file, as :meth:`to_json` writes it, or from JSON text.

        The rule: a path object is a file; a string whose first non-blank
        character is ``{`` is JSON text (a run is a JSON object, and no file
        name in practice starts so); any other string is a file path. So
        ``RunResult.from_json("run.json")`` reads what
        ``result.to_json("run.json")`` wrote.
        """
        return cls.from_dict(result_io.read_json(source))

    def to_frame(self) -> Any:
        """The time series as a pandas DataFrame indexed by interval end (``dataframe`` extra)."""
        return result_io.to_frame(self)

    # --- drawing (elastic.sim.result_plot) ------------------------------------------------------

    def _repr_html_(self) -> str:
        return result_plot.summary_html(self)

    def plot(self, path: str | Path | None = None) -> Any:
        """Four panels: demand vs capacity, latency vs SLO, cumulative cost, scaling decisions.

        Needs matplotlib (the ``plot`` extra). Returns the figure; saves it to
        ``path`` (PNG, SVG, ...) when given.
        """
        return result_plot.plot(self, path)

    def plot_nodes(self, path: str | Path | None = None) -> Any:
        """A run with nodes: nodes by instance type, pods pending, cost by category.

        Needs matplotlib (the ``plot`` extra). Returns the figure; saves it
        to ``path`` when given (:func:`elastic.sim.result_plot.plot_nodes`).
        """
        return result_plot.plot_nodes(self, path)

    # --- in numbers ---------------------------------------------------------------------------

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
        provisioned concurrency pay for to avoid cold starts). A run with
        nodes adds its node level: ``node_cost`` (its bill), ``allocated_cost``
        and ``idle_cost`` (:meth:`cost_split`), ``idle_share`` (idle over the
        node cost), ``mean_nodes`` (live nodes at the intervals' ends),
        ``nodes_launched``, ``nodes_terminated``, ``pods_evicted``,
        ``pod_pending_p50`` and ``pod_pending_p99``.
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
        # nothing served: none within (the fraction of no request is NaN, the count 0)
        within = self.latency.fraction_within(slo) * served if slo and served else 0.0
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
            **self._node_summary(),
        }

    def _node_summary(self) -> dict[str, float]:
        split = self.split
        if split is None:
            return {}
        t = self.totals
        nodes = self.cluster.get("nodes")
        return {
            "node_cost": float(split.nodes),
            "allocated_cost": float(sum(split.allocated.values(), Decimal(0))),
            "idle_cost": float(split.idle),
            "idle_share": split.idle_share,
            "mean_nodes": float(nodes.mean()) if nodes is not None and len(nodes) else math.nan,
            **{
                name: float(t.get(name, math.nan))
                for name in (
                    "nodes_launched",
                    "nodes_terminated",
                    "pods_evicted",
                    "pod_pending_p50",
                    "pod_pending_p99",
                )
            },
        }

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
