"""A run drawn: its summary as HTML, and four panels of its time series (matplotlib)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from elastic.sim.result import RunResult

__all__ = ["plot", "summary_html"]


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


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plots need matplotlib: pip install elastic[plot]") from error
    return plt
