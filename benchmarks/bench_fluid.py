"""Fluid against request-level fidelity on a month of a one-second trace.

Scenario: a 1-second trace made from the shipped NASA week (each minute's
count times ``--scale``, spread over its seconds as Poisson counts, the week
repeated to 30 days), 50 ms exponential service, replicas of 2 slots
booting in 120 s, target tracking at 60 % CPU every 60 s with the Kubernetes
default behavior, scrapes every 15 s.

Request-level time grows with the number of requests; fluid time with the
number of control intervals. Both are measured on the first ``--days`` of
the month in the same run (a fresh process each), request-level per
simulated day is the baseline, and the fluid run of the whole month is
timed too. Reported: seconds, the ratio per simulated day, and the
agreement of the two on mean replicas and cost over the measured days.

Run: ``.venv/bin/python benchmarks/bench_fluid.py [--scale 3000] [--days 0.25]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time

import numpy as np

from elastic import Behavior, DecisionLoop
from elastic.data import load_trace
from elastic.policies import TargetTracking
from elastic.sim import Constant, Exponential, ReplicaSpec, Scenario, TraceReplay, simulate


def scenario(days: float, scale: float) -> Scenario:
    _, per_minute = load_trace("nasa-1995-jul09")
    minutes = np.resize(per_minute, 30 * 1440).astype(np.float64) * scale
    per_second = np.random.default_rng(0).poisson(np.repeat(minutes / 60.0, 60))
    trace = TraceReplay(np.arange(len(per_second), dtype=np.float64), per_second, bucket=1.0)
    return Scenario(
        trace,
        duration=days * 86400.0,
        service=Exponential(0.05),
        replica=ReplicaSpec(slots=2, boot=Constant(120.0)),
        control_interval=60.0,
        # sized for the first minute at 60 % CPU, so that both runs start near steady state
        initial_replicas=max(1, math.ceil(minutes[0] / 60 * 0.05 / 2 / 0.6)),
    )


def run(days: float, scale: float, fidelity: str) -> tuple[float, float, float, int]:
    """Seconds, mean replicas, cost and arrivals of one run, in this process."""
    loop = DecisionLoop(
        TargetTracking("cpu", 60.0),
        min_replicas=1,
        max_replicas=5000,
        behavior=Behavior.kubernetes_default(),
    )
    simulate(scenario(1 / 1440, scale), loop, fidelity=fidelity)  # warm-up: imports, catalog
    setup = scenario(days, scale)
    start = time.perf_counter()
    result = simulate(setup, loop, fidelity=fidelity)
    seconds = time.perf_counter() - start
    return (
        seconds,
        float(result.replicas.mean()),
        float(result.cost()),
        int(result.totals["arrived"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=3000.0)
    parser.add_argument("--days", type=float, default=0.25)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        request = pool.apply(run, (args.days, args.scale, "request"))
    with context.Pool(1, maxtasksperchild=1) as pool:
        fluid = pool.apply(run, (args.days, args.scale, "fluid"))
    with context.Pool(1, maxtasksperchild=1) as pool:
        month = pool.apply(run, (30.0, args.scale, "fluid"))
    print(
        f"NASA week x{args.scale:g} as a 1-s trace; {request[3]:,} requests in {args.days:g} day(s)"
    )
    print(f"{'run':34} {'seconds':>8} {'s / day':>8} {'x faster':>9} {'replicas':>9} {'cost $':>8}")
    per_day = request[0] / args.days
    for name, (seconds, replicas, cost, _), days in (
        (f"request-level, {args.days:g} day(s) (baseline)", request, args.days),
        (f"fluid, {args.days:g} day(s)", fluid, args.days),
        ("fluid, 30 days", month, 30.0),
    ):
        print(
            f"{name:34} {seconds:8.2f} {seconds / days:8.3f} {per_day / (seconds / days):9.1f} "
            f"{replicas:9.2f} {cost:8.2f}"
        )


if __name__ == "__main__":
    main()
