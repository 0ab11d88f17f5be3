"""A run drawn: its summary as HTML, four panels of its time series, and a two-level run's
node level in three more (matplotlib)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from elastic.errors import ParameterError

if TYPE_CHECKING:
    from elastic.sim.result import RunResult

__all__ = ["plot", "plot_nodes", "summary_html"]


def summary_html(result: RunResult) -> str:
    """The run's summary as an HTML table (Jupyter shows a run so)."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{value:.4g}</td></tr>"
        for name, value in result.summary().items()
    )
    title = html.escape(f"{result.facts.name or 'scenario'}: seed {result.seed}, {result.fidelity}")
    return (
        f"<div><strong>RunResult</strong> {title}, {len(result.end)} intervals of "
        f"{result.facts.control_interval:g} s<table>{rows}</table></div>"
    )


def plot(result: RunResult, path: str | Path | None = None) -> Any:
    """Four panels: demand vs capacity, latency vs SLO, cumulative cost, scaling decisions.

    Needs matplotlib (the ``plot`` extra). Returns the figure; saves it to
    ``path`` (PNG, SVG, ...) when given.
    """
    plt = _pyplot()
    hours = result.end / 3600
    figure, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    capacity, latency, cost, scaling = axes
    capacity.step(hours, result.demand(), where="pre", label="demand (replicas for the SLO)")
    capacity.step(hours, result.ready, where="pre", label="ready replicas")
    capacity.set_ylabel("replicas")
    capacity.legend(loc="upper left")
    if np.isnan(result.latency_p95).all():  # fluid fidelity: only means
        latency.plot(hours, result.latency_mean, label="mean")
    else:
        latency.plot(hours, result.latency_p95, label="p95")
        latency.plot(hours, result.latency_p99, label="p99", alpha=0.6)
    if result.facts.slo:
        latency.axhline(result.facts.slo, color="red", linestyle="--", label="SLO")
    latency.set_ylabel("latency (s)")
    latency.set_yscale("log")
    latency.legend(loc="upper left")
    cost.plot(hours, np.cumsum(result.cost_per_interval))
    cost.set_ylabel("cumulative cost ($)")
    desired = np.array([np.nan if d is None else d.replicas for d in result.decisions])
    scaling.step(hours, result.replicas, where="pre", label="replicas")
    changes = np.flatnonzero(np.diff(desired, prepend=desired[:1]) != 0)
    scaling.scatter(hours[changes], desired[changes], s=8, color="black", label="decisions")
    scaling.set_ylabel("replicas")
    scaling.set_xlabel("hours")
    scaling.legend(loc="upper left")
    figure.suptitle(f"{result.facts.name or 'scenario'}: seed {result.seed}, {result.fidelity}")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path)
    return figure


def plot_nodes(result: RunResult, path: str | Path | None = None) -> Any:
    """Three panels of a run with nodes: nodes by instance type, pods pending, cost by category.

    Live nodes of each template stacked; the pods bound to no node (and, on
    the right axis, the p99 of the pending time of the pods bound in each
    interval); each interval's cost stacked as allocated to the pods'
    requests and idle. Needs matplotlib (the ``plot`` extra). Returns the
    figure; saves it to ``path`` when given. A run without nodes is a
    ``ParameterError``.
    """
    cluster = result.cluster
    if "cost_allocated" not in cluster:
        raise ParameterError(
            "result", result.facts.name or "scenario", "a run with nodes", owner="plot_nodes"
        )
    plt = _pyplot()
    hours = result.end / 3600
    figure, axes = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    nodes, pods, cost = axes
    kinds = sorted(name for name in cluster if name.startswith("nodes:"))
    nodes.stackplot(
        hours,
        *(cluster[name] for name in kinds),
        labels=[name.removeprefix("nodes:") for name in kinds],
        step="pre",
    )
    nodes.set_ylabel("nodes")
    nodes.legend(loc="upper left", title="template")
    pods.step(hours, cluster["pods_unscheduled"], where="pre", label="pods pending (no node)")
    pods.set_ylabel("pods")
    pods.legend(loc="upper left")
    waits = pods.twinx()
    waits.plot(hours, cluster["pod_pending_p99"], ".", color="gray", label="p99 pending time")
    waits.set_ylabel("p99 pending time of the pods bound (s)")
    waits.legend(loc="upper right")
    cost.stackplot(
        hours,
        cluster["cost_allocated"],
        cluster["cost_idle"],
        labels=["allocated (requests)", "idle"],
        step="pre",
    )
    cost.set_ylabel("cost per interval ($)")
    cost.set_xlabel("hours")
    cost.legend(loc="upper left")
    figure.suptitle(
        f"{result.facts.name or 'scenario'} nodes: seed {result.seed}, {result.fidelity}"
    )
    figure.tight_layout()
    if path is not None:
        figure.savefig(path)
    return figure


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install elastic[plot]") from error
    return plt
