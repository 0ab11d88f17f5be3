"""Sweep scaling: the same grid of runs on one worker process and on two.

Grid: 4 policies (the demo's) x 1 day of the shipped NASA trace x 2 seeds =
8 request-level runs, through ``elastic.bench.compare`` on a
``ProcessPoolExecutor`` of 1 and of 2 workers. Reported: wall seconds of
each and the speed-up (ideal 2.0 on two cores), and whether both gave the
same rows.

Run: ``.venv/bin/python benchmarks/bench_sweep.py``
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor

from elastic.bench import compare
from elastic.demo import peak_replicas, policies, scenario


def main() -> None:
    setup = scenario(days=1, first_day=3)
    loops = policies(peak_replicas(1, 3))
    timings, rows = [], []
    for workers in (1, 2):
        with ProcessPoolExecutor(workers) as pool:
            start = time.perf_counter()
            result = compare(loops, {setup.name: setup}, 2, executor=pool, progress=False)
            timings.append(time.perf_counter() - start)
        rows.append(result.rows)
    print(f"{len(rows[0])} runs: 4 policies x 1 day of NASA 1995 x 2 seeds")
    print(f"{'workers':>8} {'seconds':>9} {'speed-up':>9}")
    for workers, seconds in zip((1, 2), timings, strict=True):
        print(f"{workers:8d} {seconds:9.2f} {timings[0] / seconds:9.2f}")
    print(f"same rows on 1 and 2 workers: {rows[0] == rows[1]}")


if __name__ == "__main__":
    main()
