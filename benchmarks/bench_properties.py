"""The property run: thousands of random scenarios, both fidelities, every run checked.

Each case of :mod:`elastic.testing.properties` (a random scenario, two
loops, a fidelity, a seed) is checked for conservation, determinism, common
random numbers across the two loops and exact bill additivity. Every case is
also run again in a second pool of worker processes started with another
``PYTHONHASHSEED``, and the two runs' digests must be equal: the same seed
gives the same run in any process.

Run: ``.venv/bin/python benchmarks/bench_properties.py [--cases 10000] [--first 0]``
(about 90 ms a case on one core; 10,000 cases take about 8 minutes on two).
Prints the failures (at most ``--show`` of each kind), a count per property
and the time; exits 1 if any case failed.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor

from elastic.testing.properties import checked, digest, random_case

CHUNK = 50


def _checked(numbers: range) -> list[tuple[int, list[str], str]]:
    out = []
    for number in numbers:
        case = random_case(number)
        try:
            problems, fingerprint = checked(case)
        except Exception as error:  # a crash is a failure to report, not to stop the run
            problems, fingerprint = [f"case {number}: {type(error).__name__}: {error}"], ""
        out.append((number, problems, fingerprint))
    return out


def _digests(numbers: range) -> list[tuple[int, str]]:
    out = []
    for number in numbers:
        try:
            out.append((number, digest(random_case(number).run(0))))
        except Exception:
            out.append((number, ""))
    return out


def _pool(hash_seed: int, workers: int) -> Executor:
    os.environ["PYTHONHASHSEED"] = str(hash_seed)  # read by each new worker interpreter
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show", type=int, default=3, help="failures shown of each kind")
    args = parser.parse_args(argv)
    chunks = [
        range(start, min(start + CHUNK, args.first + args.cases))
        for start in range(args.first, args.first + args.cases, CHUNK)
    ]
    started = time.perf_counter()
    with _pool(1, args.workers) as pool:
        checked = [row for rows in pool.map(_checked, chunks) for row in rows]
    with _pool(2, args.workers) as pool:
        again = dict(row for rows in pool.map(_digests, chunks) for row in rows)
    seconds = time.perf_counter() - started

    kinds: collections.Counter[str] = collections.Counter()
    failed = 0
    for number, problems, fingerprint in checked:
        if fingerprint != again[number]:
            problems = [*problems, f"case {number}: another process gave a different run"]
        failed += bool(problems)
        for problem in problems:
            kind = problem.split(": ", 1)[-1].split(" adds up")[0].split(" in ")[0]
            kinds[kind] += 1
            if kinds[kind] <= args.show:
                print(problem)
    print(
        f"{len(checked)} cases (numbers {args.first} to {args.first + args.cases - 1}), "
        f"{failed} failed, in {seconds:.0f} s on {args.workers} workers"
    )
    for kind, count in kinds.most_common():
        print(f"  {count:6d}  {kind}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
