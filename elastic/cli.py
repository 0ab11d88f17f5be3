"""The ``elastic`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

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
    run.add_argument("--fidelity", choices=("request", "fluid"), help="override the scenario's")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--json", metavar="FILE", help="write the run (RunResult JSON) to FILE")
    args = parser.parse_args(argv)
    if args.command in ("validate", "run"):
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
    if args.command == "validate":
        counts: dict[str, int] = {}
        for kind, named in manifests.objects.items():
            counts[kind] = len(named)
        listed = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        print(f"ok: {listed}")
        return 0
    try:
        built = build(manifests, args.scenario, base=_base(args.paths))
    except ElasticError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    from elastic.sim import simulate

    fidelity = args.fidelity or built.fidelity
    seed = built.seed if args.seed is None else args.seed
    result = simulate(built.scenario, built.loop, seed=seed, fidelity=fidelity)
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
