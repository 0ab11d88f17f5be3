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
from typing import Any

from elastic.bench.stats import mean_ci
from elastic.core.loop import DecisionLoop
from elastic.errors import ParameterError
from elastic.sim.run import simulate
from elastic.sim.scenario import Scenario

__all__ = ["Comparison", "Failure", "SerialExecutor", "compare"]


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
    policy: str, loop: DecisionLoop, scenario: str, setup: Scenario, seed: int, fidelity: str
) -> dict[str, Any]:
    summary = simulate(setup, loop, seed=seed, fidelity=fidelity).summary()
    return {"policy": policy, "scenario": scenario, "seed": seed, **summary}


def _one_safely(*args: Any) -> dict[str, Any]:
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

    def __init__(self, rows: Iterable[dict[str, Any]], failures: Iterable[Failure] = ()) -> None:
        self.rows = sorted(rows, key=lambda r: (r["policy"], r["scenario"], r["seed"]))
        self.failures = sorted(failures, key=lambda f: (f.policy, f.scenario, f.seed))

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Comparison({len(self.rows)} runs, {len(self.failures)} failed)"

    def aggregate(self, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Per policy and scenario: each metric's mean and 95 % CI half-width across seeds."""
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in self.rows:
            groups.setdefault((row["policy"], row["scenario"]), []).append(row)
        names = list(metrics) if metrics is not None else self.metrics()
        table = []
        for (policy, scenario), rows in groups.items():
            entry: dict[str, Any] = {"policy": policy, "scenario": scenario, "seeds": len(rows)}
            for name in names:
                mean, half = mean_ci([float(r[name]) for r in rows])
                entry[name], entry[f"{name}_ci"] = mean, half
            table.append(entry)
        return table

    def metrics(self) -> list[str]:
        """The metric names of the rows."""
        if not self.rows:
            return []
        return [k for k in self.rows[0] if k not in ("policy", "scenario", "seed")]

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
        """A plain-text table of the aggregate: mean ± CI half-width per metric."""
        table = self.aggregate(metrics)
        header = ["policy", "scenario", *metrics]
        lines = [header]
        for entry in table:
            cells = [entry["policy"], entry["scenario"]]
            for name in metrics:
                mean, half = entry[name], entry[f"{name}_ci"]
                text = f"{mean:.{digits}g}"
                if not math.isnan(half):
                    text += f" ±{half:.2g}"
                cells.append(text)
            lines.append(cells)
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
        return "\n".join(
            "  ".join(
                str(c).ljust(w) if i < 2 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
            for line in lines
        )


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
        Show a progress bar (``tqdm.auto``: a widget in Jupyter).

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
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    tasks = [
        (policy, loop, scenario, setup, seed, fidelity)
        for policy, loop in loops.items()
        for scenario, setup in setups.items()
        for seed in seed_list
    ]
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1) or 1)
    rows, failures = [], []
    try:
        futures = [pool.submit(_one_safely, *task) for task in tasks]
        bar = _bar(len(futures), progress)
        for future in as_completed(futures):
            row = future.result()
            if "error" in row:
                failures.append(
                    Failure(row["policy"], row["scenario"], row["seed"], row["error"], row["trace"])
                )
            else:
                rows.append(row)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if own:
            pool.shutdown()
    return Comparison(rows, failures)


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run")
