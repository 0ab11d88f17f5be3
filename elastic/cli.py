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
    args = parser.parse_args(argv)
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
