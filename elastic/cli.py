"""The ``elastic`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="elastic", description=__doc__)
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
    demo.add_argument("--seeds", type=int, default=1, help="seeds per policy (default 1)")
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
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--json", metavar="FILE", help="write the run (RunResult JSON) to FILE")
    compare = commands.add_parser(
        "compare",
        help="run every policy of the manifests on every scenario; table, JSON/CSV and plots",
    )
    compare.add_argument("paths", nargs="+", metavar="FILE", help="YAML files or folders")
    compare.add_argument("--policy", action="append", help="only this policy (repeatable)")
    compare.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    compare.add_argument("--seeds", type=int, default=1, help="seeds per run (default 1)")
    compare.add_argument("--fidelity", choices=("request", "fluid"), default="request")
    compare.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    compare.add_argument("--csv", metavar="FILE", help="write the rows as CSV")
    compare.add_argument("--plots", metavar="DIR", help="write PNG plots to DIR")
    compare.add_argument("--serial", action="store_true", help="run in this process")
    args = parser.parse_args(argv)
    if args.command in ("validate", "run", "compare"):
        if args.command == "compare" and args.seeds < 1:
            parser.error("--seeds must be >= 1")
        return _manifests(args)
    if args.command == "demo":
        from elastic.demo import main as demo_main

        if args.seeds < 1:
            parser.error("--seeds must be >= 1")
        if args.first_day + args.days > 7:
            parser.error("--first-day + --days must stay within the week (7 days)")
        plots = Path(args.plots) if args.plots else None
        result = demo_main(args.days, args.first_day, seeds=args.seeds, plots=plots)
        return 1 if result.failures else 0
    return 0


def _manifests(args: argparse.Namespace) -> int:
    import sys

    from elastic.errors import ElasticError
    from elastic.scenario import build, load

    manifests = load(*args.paths)
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
    try:
        built = build(manifests, args.scenario, base=_base(args.paths))
    except ElasticError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    from elastic.sim import simulate

    loop = built.loop
    if args.policy:
        from elastic.scenario import policy_loop

        try:
            loop = policy_loop(manifests, args.policy)
        except ElasticError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    fidelity = args.fidelity or built.fidelity
    seed = built.seed if args.seed is None else args.seed
    result = simulate(built.scenario, loop, seed=seed, fidelity=fidelity)
    summary = result.summary()
    print(f"{built.scenario.name}: {built.scenario.duration:g} s, {fidelity} fidelity, seed {seed}")
    for key in ("cost", "slo_attainment", "latency_p99", "theta_u", "theta_o", "tau_u",
                "tau_o", "scaling_actions", "mean_replicas", "dropped"):  # fmt: skip
        print(f"  {key:16} {summary[key]:.6g}")
    if args.json:
        Path(args.json).write_text(result.to_json())
        print(f"run written to {args.json}")
    return 0


def _base(paths: Sequence[str]) -> Path:
    """Relative trace files are found beside the first manifest (or in the folder given)."""
    first = Path(paths[0])
    return first if first.is_dir() else first.parent


def _compare(args: argparse.Namespace, manifests: Any) -> int:
    import csv
    import json
    import sys

    from elastic.bench import SerialExecutor, compare
    from elastic.demo import COLUMNS, write_plots
    from elastic.errors import ElasticError
    from elastic.scenario import build, policies, policy_loop

    try:
        loops = {name: policy_loop(manifests, name) for name in args.policy or policies(manifests)}
        names = args.scenario or manifests.scenarios()
        base = _base(args.paths)
        scenarios = {name: build(manifests, name, base=base).scenario for name in names}
    except ElasticError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not loops or not scenarios:
        print("error: the manifests hold no policy or no scenario to compare", file=sys.stderr)
        return 1
    result = compare(
        loops,
        scenarios,
        args.seeds,
        fidelity=args.fidelity,
        executor=SerialExecutor() if args.serial else None,
        keep_results=args.plots is not None,
    )
    print(result.format(list(COLUMNS)))
    for failure in result.failures:
        print(f"FAILED {failure.policy} on {failure.scenario}, seed {failure.seed}: "
              f"{failure.error}", file=sys.stderr)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result.rows, indent=1, sort_keys=True))
    if args.csv and result.rows:
        with open(args.csv, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(result.rows[0]))
            writer.writeheader()
            writer.writerows(result.rows)
    if args.plots:
        written = write_plots(result, Path(args.plots))
        print(f"plots: {', '.join(str(p) for p in written)}")
    return 1 if result.failures else 0
