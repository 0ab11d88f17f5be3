"""Comparing policies across scenarios and seeds, on any ``concurrent.futures.Executor``.

Each (policy, scenario, seed) is one run (:func:`elastic.simulate` on a
fresh clone of the loop). Runs go to the executor given (a local process
pool by default; ``dask.distributed.Client.get_executor()`` works as is;
:class:`SerialExecutor` runs them in this process). Results stream in as
runs finish, with a progress bar; a run that fails is reported with its
policy, scenario and seed, and the others go on.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elastic.bench import compare_io
from elastic.bench.stats import format_ci, mean_ci
from elastic.core.loop import DecisionLoop
from elastic.core.validate import check_choice, check_int
from elastic.errors import ParameterError
from elastic.sim.result import RunResult
from elastic.sim.run import FIDELITIES, simulate
from elastic.sim.scenario import Scenario

__all__ = ["Comparison", "Failure", "SerialExecutor", "compare", "run_row"]


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process (for debugging and as a reference)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to the caller through the future
            future.set_exception(error)
        return future


@dataclass(frozen=True)
class Failure:
    """A run that raised: where, and what."""

    policy: str
    scenario: str
    seed: int
    error: str
    trace: str = field(repr=False)


def _one(
    policy: str,
    loop: DecisionLoop,
    scenario: str,
    setup: Scenario,
    seed: int,
    fidelity: str,
    keep: bool,
) -> dict[str, Any]:
    result = simulate(setup, loop, seed=seed, fidelity=fidelity)
    row = {"policy": policy, "scenario": scenario, "seed": seed, **result.summary()}
    if keep:
        row["result"] = result.to_dict()
    return row


def run_row(*args: Any) -> dict[str, Any]:
    """One run as a row (``policy, loop, scenario name, scenario, seed, fidelity, keep``): its
    summary, or ``error`` and ``trace`` when it raised (what an executor's workers call)."""
    try:
        return _one(*args)
    except Exception as error:
        return {"policy": args[0], "scenario": args[2], "seed": args[4], "error": repr(error),
                "trace": traceback.format_exc()}  # fmt: skip


class Comparison:
    """The runs of a comparison: one row per policy, scenario and seed, and failures.

    ``rows`` are dicts: ``policy``, ``scenario``, ``seed`` and the run's
    :meth:`~elastic.sim.RunResult.summary`, sorted by policy, scenario and
    seed whatever order the runs finished in.
    """

    def __init__(
        self,
        rows: Iterable[dict[str, Any]],
        failures: Iterable[Failure] = (),
        results: Mapping[tuple[str, str, int], RunResult] | None = None,
    ) -> None:
        self.rows = sorted(rows, key=lambda r: (r["policy"], r["scenario"], r["seed"]))
        self.failures = sorted(failures, key=lambda f: (f.policy, f.scenario, f.seed))
        self.results = dict(results or {})  # by (policy, scenario, seed), with keep_results

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Comparison({len(self.rows)} runs, {len(self.failures)} failed)"

    def aggregate(self, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Per policy and scenario: each metric's mean and 95 % CI half-width across seeds.

        ``metrics`` defaults to every metric any run has; where the runs of a
        policy and scenario lack a metric (runs without nodes, among runs with
        them), its mean and half-width are NaN.
        """
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault((row["policy"], row["scenario"]), []).append(row)
        names = list(metrics) if metrics is not None else self.metrics()
        table = []
        for (policy, scenario), rows in groups.items():
            entry: dict[str, Any] = {"policy": policy, "scenario": scenario, "seeds": len(rows)}
            for name in names:
                # runs without a metric (runs without nodes, say) count as NaN, left out
                mean, half = mean_ci([float(r.get(name, math.nan)) for r in rows])
                entry[name], entry[f"{name}_ci"] = mean, half
            table.append(entry)
        return table

    def paired(self, metric: str, *, baseline: str | None = None) -> list[dict[str, Any]]:
        """Each policy's difference from ``baseline`` in ``metric``, paired by scenario and seed.

        Runs of two policies on one scenario with one seed see the same
        arrivals (common random numbers), so the difference of each pair is
        free of most of the workload's noise: the mean of the differences
        has a much narrower interval than the difference of two means. One
        row per policy (other than the baseline) and scenario: ``difference``
        (policy minus baseline, averaged over the seeds both have),
        ``difference_ci`` (half-width of its 95 % Student-t interval) and
        ``seeds`` (how many pairs). ``baseline`` defaults to the first policy
        by name.
        """
        policies = sorted({row["policy"] for row in self.rows})
        base = policies[0] if baseline is None and policies else baseline
        if base not in policies:
            raise ParameterError(
                "baseline", baseline, f"one of the policies {policies}", owner="Comparison"
            )
        if self.rows and metric not in self.metrics():
            raise ParameterError(
                "metric", metric, f"one of the metrics {self.metrics()}", owner="Comparison"
            )
        values = {
            (r["policy"], r["scenario"], r["seed"]): float(r[metric])
            for r in self.rows
            if metric in r
        }
        table = []
        for policy in policies:
            if policy == base:
                continue
            for scenario in sorted({row["scenario"] for row in self.rows}):
                seeds = sorted(
                    seed
                    for (p, s, seed) in values
                    if p == policy and s == scenario and (base, s, seed) in values
                )
                differences = [
                    values[(policy, scenario, seed)] - values[(base, scenario, seed)]
                    for seed in seeds
                ]
                mean, half = mean_ci(differences)
                table.append({"policy": policy, "baseline": base, "scenario": scenario,
                              "seeds": len(seeds), "difference": mean,
                              "difference_ci": half})  # fmt: skip
        return table

    def format_paired(
        self, metrics: Sequence[str], *, baseline: str | None = None, digits: int = 3
    ) -> str:
        """A plain-text table of :meth:`paired` differences: mean ± CI half-width per metric."""
        header = ["policy", "baseline", "scenario", "seeds", *metrics]
        rows: dict[tuple[str, str], list[str]] = {}
        for name in metrics:
            for entry in self.paired(name, baseline=baseline):
                key = (entry["policy"], entry["scenario"])
                first = [entry["policy"], entry["baseline"], entry["scenario"]]
                cells = rows.setdefault(key, [*first, str(entry["seeds"])])
                text = format_ci(entry["difference"], entry["difference_ci"], digits)
                cells.append(text if text.startswith("-") or text == "nan" else f"+{text}")
        return _table([header, *rows.values()], left=3)

    def metrics(self) -> list[str]:
        """The metric names of the rows: every one any run has, in the order first seen."""
        names = dict.fromkeys(k for row in self.rows for k in row)
        return [k for k in names if k not in ("policy", "scenario", "seed")]

    def plot(
        self, path: str | Path | None = None, *, cost: str = "cost", slo: str = "slo_attainment"
    ) -> Any:
        """Cost against SLO attainment, one point per policy and scenario, with 95 % intervals.

        The points no other point beats on both (the Pareto front) are joined.
        Needs matplotlib; saves to ``path`` when given and returns the figure.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("plots need matplotlib: pip install elastic[plot]") from error
        table = self.aggregate([cost, slo])
        figure, axes = plt.subplots(figsize=(8, 5.5))
        for entry in table:
            axes.errorbar(
                entry[cost],
                100 * entry[slo],
                xerr=None if math.isnan(entry[f"{cost}_ci"]) else entry[f"{cost}_ci"],
                yerr=None if math.isnan(entry[f"{slo}_ci"]) else 100 * entry[f"{slo}_ci"],
                fmt="o",
                capsize=3,
            )
            axes.annotate(entry["policy"], (entry[cost], 100 * entry[slo]), fontsize=8,
                          xytext=(4, 4), textcoords="offset points")  # fmt: skip
        front = _pareto([(e[cost], e[slo]) for e in table])
        if len(front) > 1:
            axes.plot([c for c, _ in front], [100 * s for _, s in front], "--", color="gray")
        axes.set_xlabel(f"{cost} ($)")
        axes.set_ylabel("requests within the SLO (%)")
        axes.set_title("cost against SLO attainment (mean and 95 % interval across seeds)")
        figure.tight_layout()
        if path is not None:
            figure.savefig(path)
        return figure

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (needs the ``dataframe`` extra)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "Comparison.to_frame needs pandas: pip install elastic[dataframe]"
            ) from error
        return pd.DataFrame(self.rows)

    def format(self, metrics: Sequence[str], *, digits: int = 3) -> str:
        """A plain-text table of the aggregate: mean ± CI half-width per metric (``format_ci``)."""
        table = self.aggregate(metrics)
        header = ["policy", "scenario", *metrics]
        lines = [header]
        for entry, cells in zip(table, self._cells(metrics, digits), strict=True):
            lines.append([entry["policy"], entry["scenario"], *cells])
        return _table(lines, left=2)

    def _cells(self, metrics: Sequence[str], digits: int) -> list[list[str]]:
        """The aggregate's cells, in its order: ``format_ci``, empty where no run has the metric."""
        has = {(r["policy"], r["scenario"], name) for r in self.rows for name in r}
        return [
            [
                format_ci(entry[name], entry[f"{name}_ci"], digits)
                if (entry["policy"], entry["scenario"], name) in has
                else ""
                for name in metrics
            ]
            for entry in self.aggregate(metrics)
        ]

    def to_csv(self, path: str | Path | None = None) -> str:
        """One CSV line per run: policy, scenario, seed, then every metric any run has.

        A metric a run lacks is an empty cell. Writes to ``path`` when given;
        returns the text.

        Examples
        --------
        >>> rows = [{"policy": "a", "scenario": "s", "seed": 0, "cost": 1.5},
        ...         {"policy": "b", "scenario": "s", "seed": 0, "cost": 2.0, "nodes_mean": 3.0}]
        >>> print(Comparison(rows).to_csv(), end="")
        policy,scenario,seed,cost,nodes_mean
        a,s,0,1.5,
        b,s,0,2.0,3.0
        """
        text = compare_io.csv_text(self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8", newline="")
        return text

    def to_dict(self) -> dict[str, Any]:
        """The rows, the failures and any kept results, as JSON-ready values (NaN as None)."""
        return compare_io.to_dict(self)

    def to_json(self, path: str | Path | None = None) -> str:
        """:meth:`to_dict` as JSON text; writes to ``path`` when given.

        Examples
        --------
        >>> rows = [{"policy": "a", "scenario": "s", "seed": 0, "cost": float("nan")}]
        >>> again = Comparison.from_json(Comparison(rows).to_json())
        >>> again.rows
        [{'policy': 'a', 'scenario': 's', 'seed': 0, 'cost': nan}]
        """
        text = compare_io.dumps(self)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """The comparison :meth:`to_dict` gave (a ``ParameterError`` for anything else)."""
        return compare_io.from_dict(data)

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> Comparison:
        """Read a comparison from a file, as :meth:`to_json` writes it, or from JSON text.

        The rule of :meth:`~elastic.sim.RunResult.from_json`: a path object
        is a file; a string whose first non-blank character is ``{`` is JSON
        text; any other string is a file path.
        """
        return compare_io.read(source)

    def to_html(self, metrics: Sequence[str] | None = None) -> str:
        """The aggregate as an HTML table (mean ± 95 % CI half-width), and the failures.

        ``metrics`` defaults to cost, SLO attainment, p99, scaling actions and
        mean replicas (those the runs have).
        """
        return compare_io.html_table(self, metrics)

    def _repr_html_(self) -> str:
        return self.to_html()


def _table(lines: list[list[str]], *, left: int) -> str:
    """Rows of cells in aligned columns: the first ``left`` to the left, the others right."""
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )


def _pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points that no other point beats on both lower cost and higher attainment."""
    best, front = -math.inf, []
    for point in sorted(p for p in points if not math.isnan(p[1])):
        if point[1] > best:
            front.append(point)
            best = point[1]
    return front


def _named(items: Mapping[str, Any] | Sequence[Any], kind: str) -> dict[str, Any]:
    if isinstance(items, Mapping):
        return dict(items)
    named: dict[str, Any] = {}
    for index, item in enumerate(items):
        name = getattr(item, "name", "") or f"{kind}{index}"
        if name in named:
            name = f"{name}#{index}"
        named[name] = item
    return named


def compare(
    policies: Mapping[str, DecisionLoop] | Sequence[DecisionLoop],
    scenarios: Mapping[str, Scenario] | Sequence[Scenario],
    seeds: Sequence[int] | int = 3,
    *,
    executor: Executor | None = None,
    progress: bool = True,
    fidelity: str = "request",
    keep_results: bool = False,
) -> Comparison:
    """Run every policy on every scenario with every seed; gather the summaries.

    Parameters
    ----------
    policies, scenarios
        By name (a mapping), or a sequence (named by their ``name`` or position).
    seeds
        The seeds, or how many (``0 .. n-1``).
    executor
        Where runs go; a local process pool by default.
    progress
        Show a progress bar (``tqdm.auto``: a widget in Jupyter, with the
        ``notebook`` extra, ipywidgets; text elsewhere).
    keep_results
        Keep every run's :class:`~elastic.sim.RunResult` (read back from its
        JSON, so without the ledger) in ``Comparison.results``, for plots.

    Examples
    --------
    >>> from elastic import DecisionLoop, Scenario
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import Poisson
    >>> loops = {"tt50": DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=9),
    ...          "tt80": DecisionLoop(TargetTracking("cpu", 80.0), min_replicas=1, max_replicas=9)}
    >>> result = compare(loops, {"poisson": Scenario(Poisson(20.0), duration=300.0)}, 2,
    ...                  executor=SerialExecutor(), progress=False)
    >>> [(r["policy"], r["seed"]) for r in result.rows]
    [('tt50', 0), ('tt50', 1), ('tt80', 0), ('tt80', 1)]
    """
    loops = _named(policies, "policy")
    setups = _named(scenarios, "scenario")
    for name, loop in loops.items():
        if not isinstance(loop, DecisionLoop):
            raise ParameterError(f"policies[{name!r}]", loop, "a DecisionLoop", owner="compare")
    for name, setup in setups.items():
        if not isinstance(setup, Scenario):
            raise ParameterError(f"scenarios[{name!r}]", setup, "a Scenario", owner="compare")
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        seed_list = list(range(check_int(seeds, "seeds", owner="compare", ge=1)))
    elif isinstance(seeds, Iterable) and not isinstance(seeds, str):
        seed_list = [check_int(seed, "seeds", owner="compare", ge=0) for seed in seeds]
        if not seed_list or len(set(seed_list)) != len(seed_list):
            raise ParameterError("seeds", seeds, "distinct seeds, at least one", owner="compare")
    else:
        raise ParameterError("seeds", seeds, "a count >= 1 or a list of seeds", owner="compare")
    check_choice(fidelity, "fidelity", FIDELITIES, owner="compare")
    tasks = [
        (policy, loop, scenario, setup, seed, fidelity, keep_results)
        for policy, loop in loops.items()
        for scenario, setup in setups.items()
        for seed in seed_list
    ]
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1) or 1)
    rows, failures, results = [], [], {}
    try:
        futures = [pool.submit(run_row, *task) for task in tasks]
        bar = _bar(len(futures), progress)
        for future in as_completed(futures):
            row = future.result()
            if "error" in row:
                failures.append(
                    Failure(row["policy"], row["scenario"], row["seed"], row["error"], row["trace"])
                )
            else:
                saved = row.pop("result", None)
                if saved is not None:
                    results[(row["policy"], row["scenario"], row["seed"])] = RunResult.from_dict(
                        saved
                    )
                rows.append(row)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if own:
            pool.shutdown()
    return Comparison(rows, failures, results)


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run")
