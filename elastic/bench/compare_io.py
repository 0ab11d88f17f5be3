"""A comparison saved and read back (JSON), as CSV, and as HTML (Jupyter shows it so)."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from elastic.errors import ElasticError, ParameterError
from elastic.sim.result import RunResult
from elastic.sim.result_io import read_json

if TYPE_CHECKING:
    from elastic.bench.compare import Comparison, Failure

__all__ = ["FORMAT", "HEADLINE", "csv_text", "from_dict", "html_table", "to_dict"]

FORMAT = "elastic.Comparison/1"

HEADLINE = ("cost", "slo_attainment", "latency_p99", "scaling_actions", "mean_replicas")
"""The metrics the HTML view shows by default (those the runs have)."""

KEYS = ("policy", "scenario", "seed")


def to_dict(comparison: Comparison) -> dict[str, Any]:
    """The rows (NaN as ``null``), the failures and any kept results, as JSON-ready values."""
    return {
        "format": FORMAT,
        "rows": [{k: _plain(v) for k, v in row.items()} for row in comparison.rows],
        "failures": [asdict(failure) for failure in comparison.failures],
        "results": [
            {"policy": policy, "scenario": scenario, "seed": seed, "run": result.to_dict()}
            for (policy, scenario, seed), result in sorted(comparison.results.items())
        ],
    }


def from_dict(data: Mapping[str, Any]) -> Comparison:
    """The comparison :func:`to_dict` gave; anything else is a ``ParameterError``."""
    from elastic.bench.compare import Comparison, Failure

    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else data
        raise ParameterError("format", found, repr(FORMAT), owner="Comparison")
    try:
        rows = [
            {k: v if k in KEYS else (math.nan if v is None else v) for k, v in row.items()}
            for row in data["rows"]
        ]
        failures: list[Failure] = [
            Failure(f["policy"], f["scenario"], f["seed"], f["error"], f.get("trace", ""))
            for f in data.get("failures", [])
        ]
        results = {
            (r["policy"], r["scenario"], r["seed"]): RunResult.from_dict(r["run"])
            for r in data.get("results", [])
        }
        return Comparison(rows, failures, results)
    except ElasticError as error:  # a part of it refused: say it was in the comparison
        raise ParameterError(
            "data", str(error), f"a comparison as to_dict writes it ({FORMAT})", owner="Comparison"
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        what = f"{type(error).__name__}: {error}"
        raise ParameterError(
            "data", what, f"a comparison as to_dict writes it ({FORMAT})", owner="Comparison"
        ) from None


def read(source: str | os.PathLike[str]) -> Comparison:
    """A comparison from a file or from JSON text (the rule of ``RunResult.from_json``)."""
    return from_dict(read_json(source, owner="Comparison.from_json", what="a comparison"))


def dumps(comparison: Comparison) -> str:
    """The JSON text of :func:`to_dict` (strict JSON: no ``NaN``)."""
    return json.dumps(to_dict(comparison), indent=1, allow_nan=False)


def csv_text(comparison: Comparison) -> str:
    """One line per run: policy, scenario, seed and every metric any run has (empty if not)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=[*KEYS, *comparison.metrics()], restval="")
    writer.writeheader()
    writer.writerows(comparison.rows)
    return out.getvalue()


def html_table(comparison: Comparison, metrics: Sequence[str] | None = None) -> str:
    """The aggregate (mean ± 95 % CI half-width per policy and scenario) and the failures."""
    have = comparison.metrics()
    if metrics is None:
        metrics = [name for name in HEADLINE if name in have] or have
    seeds = sorted({row["seed"] for row in comparison.rows})
    head = "".join(
        f"<th>{html.escape(name)}</th>" for name in ("policy", "scenario", "seeds", *metrics)
    )
    body = []
    for entry, cells in zip(
        comparison.aggregate(metrics), comparison._cells(metrics, 3), strict=True
    ):
        left = f"<td>{html.escape(entry['policy'])}</td><td>{html.escape(entry['scenario'])}</td>"
        right = "".join(f"<td style='text-align:right'>{html.escape(c)}</td>" for c in cells)
        body.append(f"<tr>{left}<td style='text-align:right'>{entry['seeds']}</td>{right}</tr>")
    failed = ""
    if comparison.failures:
        items = "".join(
            f"<li>{html.escape(f.policy)} on {html.escape(f.scenario)}, seed {f.seed}: "
            f"<code>{html.escape(f.error)}</code></li>"
            for f in comparison.failures
        )
        failed = f"<p>{len(comparison.failures)} runs failed:</p><ul>{items}</ul>"
    return (
        f"<div><strong>Comparison</strong> {len(comparison.rows)} runs on seeds "
        f"{html.escape(str(seeds))}: mean ± half-width of the 95 % interval across seeds"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"{failed}</div>"
    )


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
