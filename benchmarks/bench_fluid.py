"""Fluid against request-level fidelity on a month of a one-second trace.

Scenario: a 1-second trace made from the shipped NASA week (each minute's
count times a scale, spread over its seconds as Poisson counts, the week
repeated to 30 days), 50 ms exponential service, replicas of 2 slots
booting in 120 s, target tracking at 60 % CPU every 60 s with the Kubernetes
default behavior, scrapes every 15 s.

Request-level time grows with the number of requests, fluid time with the
number of control intervals, so the ratio between them grows with the
traffic; it is measured at several scales. At each scale:

- fluid fidelity runs the whole month;
- request-level fidelity runs a slice of it (sized so that it serves about
  20 million requests at every scale), and its month is its time per
  request times the month's requests. Its time per control interval is
  under 2 % of its time per request at these rates, so the projection is
  close to what a month would take (hours);
- both report mean replicas and cost over the slice, to show they agree;
  ``replicas`` is the month's mean, in fluid fidelity;
- ``loop alone`` is the part of the month that no simulator running the
  same ``DecisionLoop`` in Python can skip: the month's observations
  replayed into the loop, and a record built per interval. ``x at most`` is
  the request-level month over it: how much faster than request-level any
  such fluid run could be.

Each run is in a fresh process, best of ``--repeats``.

Run: ``.venv/bin/python benchmarks/bench_fluid.py [--scales 3000,10000,30000]``
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from elastic import Behavior, DecisionLoop, Observation
from elastic.data import load_trace
from elastic.policies import TargetTracking
from elastic.sim import (
    Constant,
    Exponential,
    FluidSimulation,
    ReplicaSpec,
    Scenario,
    TraceReplay,
    simulate,
)
from elastic.sim.result import IntervalRecord

T = TypeVar("T")


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


def hpa() -> DecisionLoop:
    return DecisionLoop(
        TargetTracking("cpu", 60.0),
        min_replicas=1,
        max_replicas=50_000,
        behavior=Behavior.kubernetes_default(),
    )


def run(days: float, scale: float, fidelity: str) -> tuple[float, float, float, int]:
    """Seconds, mean replicas, cost and arrivals of one run, in this process."""
    loop = hpa()
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


def loop_alone(days: float, scale: float) -> float:
    """Seconds of the part of a fluid run no simulator can skip: the decisions and the records.

    The observations of a fluid run are replayed into a fresh loop, and an
    ``IntervalRecord`` is built per interval, as every run builds them.
    """
    run = FluidSimulation(scenario(days, scale), hpa())
    run.result()
    seen = [(r.start, r.end, r.observed, r.decision) for r in run.records if r.decision]
    del run
    loop, records = hpa(), []
    nan = math.nan
    start = time.perf_counter()
    for begin, end, observed, decision in seen:
        assert decision is not None
        obs = Observation(time=end, replicas=decision.current, metrics=observed, startup=120.0)
        made = loop.step(obs)
        records.append(
            IntervalRecord(
                start=begin, end=end, arrived=0, completed=0, dropped=0, timed_out=0,
                failed=0, in_flight=0, replicas=made.replicas, ready=made.replicas, pending=0,
                warming=0, draining=0, utilization=nan, latency_mean=nan, latency_max=nan,
                latency_p50=nan, latency_p90=nan, latency_p95=nan, latency_p99=nan,
                observed=observed, decision=made,
            )
        )  # fmt: skip
    return time.perf_counter() - start


def best(function: Callable[..., T], args: tuple[Any, ...], repeats: int) -> T:
    """The fastest of ``repeats`` calls, each in a fresh process (timings here vary)."""
    context = multiprocessing.get_context("spawn")
    runs = []
    for _ in range(repeats):
        with context.Pool(1, maxtasksperchild=1) as pool:
            runs.append(pool.apply(function, args))
    return min(runs)  # type: ignore[type-var]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="3000,10000,30000")
    parser.add_argument("--requests", type=float, default=20e6, help="in the request-level slice")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    _, per_minute = load_trace("nasa-1995-jul09")
    week = float(per_minute.sum())
    print(f"NASA week as a 1-s trace, 30 days; best of {args.repeats} runs in fresh processes")
    print(
        f"{'scale':>6} {'req/s':>7} {'replicas':>9} {'fluid month s':>14} {'request slice':>14} "
        f"{'us / request':>13} {'request month s':>16} {'x faster':>9} "
        f"{'replicas (r / f)':>17} {'cost $ (r / f)':>16} {'loop alone s':>13} {'x at most':>10}"
    )
    for scale in (float(s) for s in args.scales.split(",")):
        month = best(run, (30.0, scale, "fluid"), args.repeats)
        rate = week * scale * 30 / 7 / (30 * 86400)
        days = max(1, round(args.requests / rate / 60)) * 60 / 86400  # whole intervals
        request = best(run, (days, scale, "request"), args.repeats)
        fluid = best(run, (days, scale, "fluid"), 1)
        alone = best(loop_alone, (30.0, scale), args.repeats)
        per_request = request[0] / request[3]
        projected = per_request * month[3]
        print(
            f"{scale:6g} {rate:7.0f} {month[1]:9.1f} {month[0]:14.2f} "
            f"{f'{days:.3g} d, {request[0]:.1f} s':>14} "
            f"{per_request * 1e6:13.3f} {projected:16.0f} {projected / month[0]:9.0f} "
            f"{f'{request[1]:.1f} / {fluid[1]:.1f}':>17} {f'{request[2]:.2f} / {fluid[2]:.2f}':>16}"
            f" {alone:13.2f} {projected / alone:10.0f}"
        )


if __name__ == "__main__":
    main()
