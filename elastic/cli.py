"""The ``elastic`` command line.

Every error, of usage or of input, ends the command with exit status 1 and one
message on stderr (``error: ...``), never a traceback; files to be written
(``--json``, ``--csv``, ``--plots``) are checked before anything runs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from elastic.errors import ElasticError

__all__ = ["main"]


class _CommandError(Exception):
    """A command line that cannot be carried out: bad usage, or a file that cannot be written."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _CommandError(f"{message} (see {self.prog} --help)")


def _integer(least: int) -> Callable[[str], int]:
    """An argument type: an integer >= ``least`` (``--seed`` 0, ``--seeds`` 1)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is invalid; expected an integer >= {least}")
        return value

    return parse


def _writable_file(path: str, option: str) -> None:
    """Refuse a ``--json``/``--csv`` path that cannot be written, before a run makes its data."""
    target = Path(path)
    if target.is_dir():
        raise _CommandError(f"{option} {path}: is a folder; expected a file name")
    folder = target.parent
    if not folder.is_dir():
        raise _CommandError(f"{option} {path}: no folder {str(folder)!r}; expected an existing one")
    if target.exists() and not os.access(target, os.W_OK):
        raise _CommandError(f"{option} {path}: the file cannot be written (permission denied)")
    _probe(folder, f"{option} {path}")


def _writable_folder(path: str, option: str) -> None:
    """Refuse a ``--plots`` folder that cannot be made or written, before the run."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise _CommandError(f"{option} {path}: is a file; expected a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _CommandError(f"{option} {path}: cannot be made ({error.strerror})") from None
    _probe(folder, f"{option} {path}")


def _probe(folder: Path, what: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise _CommandError(f"{what}: cannot write in {str(folder)!r} ({error.strerror})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0: done, 1: any error)."""
    try:
        return _main(argv)
    except (_CommandError, ElasticError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _main(argv: Sequence[str] | None) -> int:
    parser = _Parser(prog="elastic", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="compare scaling policies on the NASA 1995 trace, in the simulator"
    )
    demo.add_argument("--days", type=int, default=2, choices=range(1, 8), metavar="1..7")
    demo.add_argument(
        "--first-day",
        type=int,
        default=3,
        choices=range(0, 7),
        metavar="0..6",
        help="first day of the shipped week (0: Sunday 1995-07-09; default 3, Wednesday)",
    )
    demo.add_argument("--seeds", type=_integer(1), default=1, help="seeds per policy (default 1)")
    demo.add_argument(
        "--plots",
        default="demo-plots",
        metavar="DIR",
        help="folder for the PNG plots (default: demo-plots); '' for none",
    )
    validate = commands.add_parser(
        "validate",
        help="check manifest files or folders; print every problem (exit 1 if any)",
    )
    validate.add_argument("paths", nargs="+", metavar="FILE", help="YAML files or folders")
    run = commands.add_parser("run", help="simulate a scenario from manifest files or folders")
    run.add_argument("paths", nargs="+", metavar="SCENARIO", help="YAML files or folders")
    run.add_argument("--scenario", help="the Scenario to run when the files hold several")
    run.add_argument("--policy", help="run this ScalingPolicy or HPA instead of the scenario's")
    run.add_argument("--fidelity", choices=("request", "fluid"), help="override the scenario's")
    run.add_argument(
        "--seed", type=_integer(0), help="override the scenario's seed (an integer >= 0)"
    )
    run.add_argument("--json", metavar="FILE", help="write the run (RunResult JSON) to FILE")
    compare = commands.add_parser(
        "compare",
        help="run every policy of the manifests on every scenario; table, JSON/CSV and plots",
    )
    compare.add_argument("paths", nargs="+", metavar="FILE", help="YAML files or folders")
    compare.add_argument("--policy", action="append", help="only this policy (repeatable)")
    compare.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    compare.add_argument("--seeds", type=_integer(1), default=1, help="seeds per run (default 1)")
    compare.add_argument(
        "--baseline",
        metavar="POLICY",
        help="the policy the others are compared with, seed by seed (default: the first by name)",
    )
    compare.add_argument("--fidelity", choices=("request", "fluid"), default="request")
    compare.add_argument(
        "--json", metavar="FILE", help="write the runs as JSON (Comparison.from_json reads it)"
    )
    compare.add_argument("--csv", metavar="FILE", help="write the runs as CSV, one line each")
    compare.add_argument("--plots", metavar="DIR", help="write PNG plots to DIR")
    compare.add_argument("--serial", action="store_true", help="run in this process")
    replay = commands.add_parser(
        "replay",
        help="turn a Prometheus range query of the request rate into a trace and a Workload "
        "manifest, for elastic compare",
    )
    replay.add_argument("url", help="Prometheus's base URL, e.g. http://127.0.0.1:9090")
    replay.add_argument(
        "query", help="PromQL giving requests per second, e.g. 'sum(rate(http_requests_total[1m]))'"
    )
    replay.add_argument("--last", help="the range ending now, with its unit: 90m, 36h, 7d")
    replay.add_argument("--start", help="the range's start: Unix seconds or ISO 8601")
    replay.add_argument("--end", help="the range's end: Unix seconds or ISO 8601 (default: now)")
    replay.add_argument(
        "--step", type=float, default=60.0, help="seconds per bucket of the trace (default 60)"
    )
    replay.add_argument("--out", required=True, metavar="DIR", help="folder for the files")
    replay.add_argument("--name", default="replayed", help="the Workload's name (default replayed)")
    replay.add_argument(
        "--service", type=float, default=0.1, help="mean service time, seconds (default 0.1)"
    )
    replay.add_argument("--slo", type=float, help="latency objective, seconds")
    replay.add_argument(
        "--allow-gaps",
        action="store_true",
        help="replay even when more of the buckets between the first and the last sample are "
        "gaps than elastic.control.replay.MAX_GAP_SHARE (half) allows",
    )
    _tune_parser(commands)
    for command in (validate, run, compare):
        command.add_argument(
            "--allow-outside",
            action="store_true",
            help="let trace files be read from outside the manifests' folder",
        )
    args = parser.parse_args(argv)
    for option in ("json", "csv"):
        if getattr(args, option, None):
            _writable_file(getattr(args, option), f"--{option}")
    if args.command in ("validate", "run", "compare"):
        if getattr(args, "plots", None):
            _writable_folder(args.plots, "--plots")
        return _manifests(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "tune":
        from elastic.tune.command import run as tune

        return tune(args, _writable_file)
    if args.command == "demo":
        from elastic.demo import main as demo_main

        if args.first_day + args.days > 7:
            parser.error("--first-day + --days must stay within the week (7 days)")
        if args.plots:
            _writable_folder(args.plots, "--plots")
        plots = Path(args.plots) if args.plots else None
        result = demo_main(args.days, args.first_day, seeds=args.seeds, plots=plots)
        return 1 if result.failures else 0
    return 0


def _tune_parser(commands: Any) -> None:
    """The options of ``elastic tune`` (run by :mod:`elastic.tune.command`)."""
    tune = commands.add_parser(
        "tune",
        help="search a policy's parameters for the lowest cost meeting constraints, by simulation",
    )
    tune.add_argument("paths", nargs="+", metavar="MANIFESTS", help="YAML files or folders")
    tune.add_argument("--policy", required=True, help="the ScalingPolicy, HPA or ScaledObject")
    tune.add_argument(
        "--objective",
        action="append",
        metavar="METRIC",
        help="summary metric to minimize (cost by default; repeat for a "
        "Pareto front, e.g. --objective cost --objective slo_attainment)",
    )
    tune.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="METRIC>=X",
        help="e.g. slo_attainment>=0.99 (repeatable)",
    )
    tune.add_argument("--trials", type=_integer(1), default=30, help="trials (default 30)")
    tune.add_argument("--seeds", type=_integer(1), default=3, help="seeds per candidate (3)")
    tune.add_argument(
        "--scenario",
        action="append",
        help="only this scenario (repeatable; default: those naming the policy)",
    )
    tune.add_argument("--sampler", default="tpe", choices=("tpe", "random", "grid", "nsga2"))
    tune.add_argument("--seed", type=_integer(0), default=0, help="the sampler's seed (0)")
    tune.add_argument(
        "--storage", help="Optuna storage to keep and resume the study, e.g. sqlite:///tune.db"
    )
    tune.add_argument(
        "--study-name", help="the study's name in --storage (default: the policy's name)"
    )
    tune.add_argument(
        "--executor",
        default="processes",
        help="where runs go: serial, processes[:N] (default) or dask://host:port",
    )
    tune.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="FIELD[=LOW..HIGH]",
        help="search only these fields: FIELD=LOW..HIGH (add :log), "
        "FIELD=a,b,c, or FIELD alone for its default range (repeatable)",
    )
    tune.add_argument("--export", metavar="FILE", help="write the winner to FILE")
    tune.add_argument(
        "--export-format",
        choices=("manifest", "hpa", "aws", "elastic"),
        default="manifest",
        help="the tuned document itself (default), or as an HPA, an AWS "
        "PutScalingPolicy request or an elastic ScalingPolicy",
    )
    tune.add_argument("--csv", metavar="FILE", help="write every trial as CSV")
    tune.add_argument(
        "--confirm",
        type=_integer(0),
        default=0,
        help="re-run the best K at request fidelity on the full scenarios",
    )
    tune.add_argument(
        "--fidelity",
        choices=("fluid", "request"),
        default="fluid",
        help="the screening fidelity (fluid)",
    )
    tune.add_argument(
        "--screen-duration",
        type=float,
        metavar="SECONDS",
        help="screen on the first SECONDS of each scenario only",
    )
    tune.add_argument(
        "--no-prune",
        action="store_true",
        help="run every seed of every candidate (by default a hopeless first seed prunes it)",
    )
    tune.add_argument(
        "--batch",
        type=_integer(1),
        default=1,
        help="trials run at once, to keep many workers busy (1; the result depends on it for "
        "tpe and nsga2, not on the executor)",
    )
    tune.add_argument(
        "--allow-outside",
        action="store_true",
        help="let trace files be read from outside the manifests' folder",
    )


def _manifests(args: argparse.Namespace) -> int:
    from elastic.scenario import build, load

    manifests = load(*args.paths, allow_outside=args.allow_outside)
    for note in manifests.notes:
        print(f"note: {note}", file=sys.stderr)
    if manifests.problems:
        for problem in sorted(manifests.problems):
            print(f"error: {problem}", file=sys.stderr)
        count = len(manifests.problems)
        print(f"{count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    if args.command == "compare":
        return _compare(args, manifests)
    if args.command == "validate":
        listed = ", ".join(
            f"{len(named)} {kind}" for kind, named in sorted(manifests.objects.items())
        )
        print(f"ok: {listed}")
        return 0
    built = build(manifests, args.scenario)
    from elastic.sim import simulate

    loop = built.loop
    if args.policy:
        from elastic.scenario import policy_loop

        loop = policy_loop(manifests, args.policy)
    fidelity = args.fidelity or built.fidelity
    seed = built.seed if args.seed is None else args.seed
    result = simulate(built.scenario, loop, seed=seed, fidelity=fidelity)
    summary = result.summary()
    print(f"{built.scenario.name}: {built.scenario.duration:g} s, {fidelity} fidelity, seed {seed}")
    for key in ("cost", "slo_attainment", "latency_p99", "theta_u", "theta_o", "tau_u",
                "tau_o", "scaling_actions", "mean_replicas", "dropped"):  # fmt: skip
        print(f"  {key:16} {summary[key]:.6g}")
    if built.scenario.nodes is not None:  # the node level
        for key in ("node_cost", "idle_share", "mean_nodes", "nodes_launched",
                    "nodes_terminated", "pods_evicted", "pod_pending_p50",
                    "pod_pending_p99"):  # fmt: skip
            print(f"  {key:16} {summary[key]:.6g}")
        print(f"  {'interruptions':16} {result.totals['node_interruptions']:.6g}")
    if args.json:
        _write(args.json, result.to_json())
        print(f"run written to {args.json}")
    return 0


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as error:
        raise _CommandError(f"{path}: cannot be written ({error.strerror})") from None


def _compare(args: argparse.Namespace, manifests: Any) -> int:
    from elastic.bench import SerialExecutor, compare
    from elastic.demo import COLUMNS, write_plots
    from elastic.scenario import build, policies, policy_loop

    loops = {name: policy_loop(manifests, name) for name in args.policy or policies(manifests)}
    names = args.scenario or manifests.scenarios()
    scenarios = {name: build(manifests, name).scenario for name in names}
    if not loops or not scenarios:
        print("error: the manifests hold no policy or no scenario to compare", file=sys.stderr)
        return 1
    baseline = args.baseline  # None: Comparison.paired's default, the first policy by name
    if baseline is not None and baseline not in loops:
        raise _CommandError(
            f"--baseline {baseline!r}: expected one of the policies {sorted(loops)}"
        )
    result = compare(
        loops,
        scenarios,
        args.seeds,
        fidelity=args.fidelity,
        executor=SerialExecutor() if args.serial else None,
        keep_results=args.plots is not None,
    )
    print(result.format(list(COLUMNS)))
    if len(loops) > 1 and result.rows:
        # the same seed gives every policy the same traffic: differences are paired
        print("\npaired differences from the baseline, mean over seeds ± 95 % interval:")
        print(result.format_paired(["cost", "slo_attainment", "latency_p99"], baseline=baseline))
    for failure in result.failures:
        print(f"FAILED {failure.policy} on {failure.scenario}, seed {failure.seed}: "
              f"{failure.error}", file=sys.stderr)  # fmt: skip
    # the formats of Comparison.to_json and to_csv, read back by Comparison.from_json
    if args.json:
        _write(args.json, result.to_json())
    if args.csv:
        _write(args.csv, result.to_csv())
    if args.plots:
        try:
            written = write_plots(result, Path(args.plots))
        except OSError as error:
            message = f"--plots {args.plots}: cannot be written ({error.strerror})"
            raise _CommandError(message) from None
        print(f"plots: {', '.join(str(p) for p in written)}")
    return 1 if result.failures else 0


def _moment(text: str, option: str) -> float:
    """Unix seconds from ``text``: a number, or an ISO 8601 date and time (UTC without zone)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _CommandError(
            f"{option}={text!r}: expected Unix seconds or an ISO 8601 time such as "
            "2026-11-26T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _replay(args: argparse.Namespace) -> int:
    from elastic.control.replay import MAX_GAP_SHARE, GapsError, prometheus_history, write_trace
    from elastic.scenario.models import seconds

    if (args.last is None) == (args.start is None):
        raise _CommandError("give the range as --last (e.g. 7d) or as --start [--end], not both")
    for option, value in (("--step", args.step), ("--service", args.service), ("--slo", args.slo)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise _CommandError(f"{option}={value!r}: expected seconds > 0, a finite number")
    end = _moment(args.end, "--end") if args.end else time.time()
    if args.last is not None:
        try:
            float(args.last)
        except ValueError:
            pass
        else:  # a bare number would be seconds: 7 meant as 7 days is 7 s
            raise _CommandError(
                f"--last={args.last!r}: expected a duration with its unit, such as 90m, 36h or 7d"
            )
        try:
            start = end - seconds(args.last)
        except ValueError as error:
            raise _CommandError(f"--last={args.last!r}: {error}") from None
    else:
        start = _moment(args.start, "--start")
    if not end > start:
        raise _CommandError(f"the range is empty: --end ({end:g}) is not after --start ({start:g})")
    _writable_folder(args.out, "--out")
    share = None if args.allow_gaps else MAX_GAP_SHARE
    try:
        history = prometheus_history(
            args.url, args.query, start, end, args.step, max_gap_share=share
        )
    except GapsError as error:
        raise _CommandError(
            f"{error.what()}, more than the {100 * MAX_GAP_SHARE:g} % allowed: a larger --step, or "
            "--allow-gaps to replay them filled from their neighbours"
        ) from None
    trace = history.trace
    table, manifest = write_trace(
        args.out, args.name, trace, service=args.service, slo=args.slo, source=args.query
    )

    def utc(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")

    if history.before:
        print(f"the series starts at {utc(history.start)}: {history.before} buckets before it "
              "left out")  # fmt: skip
    if history.after:
        print(f"the series ends at {utc(history.end)}: {history.after} buckets after it left out")
    print(
        f"{len(trace.times)} buckets of {args.step:g} s ({history.gaps} gaps, filled from their "
        f"neighbours), {int(trace.counts.sum()):,} requests, peak "
        f"{trace.counts.max() / args.step:,.1f}/s"
    )
    print(f"wrote {table} and {manifest}: elastic compare {args.out} <your policies and scenario>")
    return 0
