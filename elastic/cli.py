"""The ``elastic`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="elastic", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="compare scaling policies on a week of the NASA 1995 trace"
    )
    demo.add_argument("--days", type=int, default=7, choices=range(1, 8), metavar="1..7")
    demo.add_argument("--work", type=float, default=6.0, help="CPU-seconds per request")
    demo.add_argument("--boot", type=int, default=2, help="boot time in minutes")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from elastic.demo import main as demo_main

        if args.work <= 0 or args.boot < 0:
            parser.error("--work must be > 0 and --boot >= 0")
        demo_main(args.days, args.work, args.boot)
    return 0
