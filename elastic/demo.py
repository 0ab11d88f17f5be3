"""The main job until the simulator lands: compare policies on a week of a real trace.

The model is deliberately small and says what it is. Time advances in steps of
one minute (the trace's bucket). Each request needs ``work`` CPU-seconds; a
replica gives one CPU, so 60 CPU-seconds per minute. Work that does not fit in
a minute waits in a backlog (a fluid queue). A replica asked for becomes ready
``boot`` minutes later; a replica removed stops at once. The controller runs
every minute and sees the CPU utilization of the minute before (metric lag).
Cost is what AWS would bill for m5.large instances (per second, 60 s minimum
per start), from the moment a replica is asked for until it is removed, kept
by an :class:`elastic.cost.Ledger`. Request-level queueing and latency come
with the simulator.

Examples
--------
>>> rows = compare(days=1)
>>> [row.name for row in rows][:2]
['static, 9 replicas', 'HPA: cpu 60 %, Kubernetes behavior']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from elastic.core import Behavior, Cooldown, DecisionLoop, Observation, ScalingRules
from elastic.cost import Ledger, default_catalog
from elastic.data import load_trace
from elastic.policies import StepScaling, TargetTracking

__all__ = ["Row", "compare", "main", "replay"]

INSTANCE = "m5.large"


@dataclass(frozen=True, slots=True)
class Row:
    """What one policy did over the trace."""

    name: str
    replica_hours: float
    cost: float
    mean_replicas: float
    peak_replicas: int
    late_minutes: int
    mean_delay_s: float
    scale_ups: int
    scale_downs: int


def replay(
    loop: DecisionLoop,
    requests: np.ndarray,
    *,
    name: str,
    work: float = 6.0,
    boot: int = 2,
    start: int = 4,
) -> Row:
    """Run ``loop`` against per-minute ``requests`` with the fluid model of this module."""
    demand = requests.astype(float) * work  # CPU-seconds arriving each minute
    start = max(start, loop.min_replicas)
    desired, backlog, last_utilization = start, 0.0, 0.0
    booting: list[tuple[int, int]] = []  # (minute ready, count)
    ready = start
    ledger = Ledger({INSTANCE: default_catalog().on_demand(INSTANCE)})
    units: list[str] = []  # running instances, oldest first

    def resize(count: int, now: float) -> None:
        while len(units) < count:
            units.append(f"r{len(units)}@{now:g}")
            ledger.start(units[-1], INSTANCE, now)
        while len(units) > count:
            ledger.stop(units.pop(), now)

    resize(start, 0.0)
    replicas_used = late_minutes = ups = downs = 0
    queued = 0.0  # CPU-second-minutes of work waiting in the backlog
    peak = start
    for minute, arriving in enumerate(demand):
        obs = Observation(
            time=60.0 * minute,
            replicas=desired,
            metrics={"cpu": last_utilization},
            ready=ready,
            pending=desired - ready,
        )
        decision = loop.step(obs)
        if decision.replicas > desired:
            booting.append((minute + boot, decision.replicas - desired))
            ups += 1
        elif decision.replicas < desired:
            cut = desired - decision.replicas
            while cut and booting:  # replicas still booting go first, newest first
                when, count = booting.pop()
                if count > cut:
                    booting.append((when, count - cut))
                cut -= min(cut, count)
            ready -= cut
            downs += 1
        desired = decision.replicas
        resize(desired, obs.time)
        ready += sum(count for when, count in booting if when <= minute)
        booting = [(when, count) for when, count in booting if when > minute]

        capacity = 60.0 * ready
        served = min(backlog + arriving, capacity)
        backlog = backlog + arriving - served
        last_utilization = 100.0 * served / capacity if capacity else 100.0
        if backlog > 1e-9:
            late_minutes += 1
            queued += backlog
        replicas_used += desired
        peak = max(peak, desired)
    hours = replicas_used / 60.0
    return Row(
        name=name,
        replica_hours=hours,
        cost=float(ledger.total(until=60.0 * len(demand))),
        mean_replicas=replicas_used / len(demand),
        peak_replicas=peak,
        late_minutes=late_minutes,
        # Little's law on the fluid queue: time-averaged backlog / arrival rate
        mean_delay_s=60.0 * queued / demand.sum() if demand.sum() else 0.0,
        scale_ups=ups,
        scale_downs=downs,
    )


def _candidates(peak_replicas: int) -> list[tuple[str, Callable[[], DecisionLoop]]]:
    return [
        (
            f"static, {peak_replicas} replicas",
            lambda: DecisionLoop(
                TargetTracking("cpu", 60.0),
                min_replicas=peak_replicas,
                max_replicas=peak_replicas,
            ),
        ),
        (
            "HPA: cpu 60 %, Kubernetes behavior",
            lambda: DecisionLoop(
                TargetTracking("cpu", 60.0),
                behavior=Behavior.kubernetes_default(),
                min_replicas=1,
                max_replicas=60,
            ),
        ),
        (
            # AWS scales in after 15 one-minute datapoints below its low alarm
            "AWS-like target tracking: cpu 60 %",
            lambda: DecisionLoop(
                TargetTracking("cpu", 60.0, scale_in_margin=0.1),
                behavior=Behavior(scale_down=ScalingRules(stabilization_window_seconds=900.0)),
                warmup=180.0,
                min_replicas=1,
                max_replicas=60,
            ),
        ),
        (
            "step scaling at 70 %, cooldown 5 min",
            lambda: DecisionLoop(
                StepScaling(
                    "cpu",
                    70.0,
                    [(0, 20, 1), (20, None, 3), (None, -40, -1), (-40, 0, 0)],
                ),
                cooldown=Cooldown.simple(300.0),
                min_replicas=1,
                max_replicas=60,
            ),
        ),
    ]


def compare(days: int = 7, work: float = 6.0, boot: int = 2) -> list[Row]:
    """Replay the first ``days`` of the shipped NASA week under each candidate policy."""
    _, requests = load_trace("nasa-1995-jul09")
    requests = requests[: days * 1440]
    peak = math.ceil(requests.max() * work / 60.0)
    return [
        replay(make(), requests, name=name, work=work, boot=boot)
        for name, make in _candidates(peak)
    ]


def main(days: int = 7, work: float = 6.0, boot: int = 2) -> None:
    """Print the comparison table."""
    rows = compare(days, work, boot)
    print(
        f"NASA Kennedy Space Center web server, {days} day(s) from 1995-07-09 "
        f"(STS-70 launch on day 5)\n"
        f"each request = {work:g} CPU-seconds, replica = 1 CPU, boot = {boot} min, "
        f"metric lag = 1 min, control every 60 s\n"
        f"cost = {INSTANCE} on-demand, us-east-1, "
        f"${default_catalog().instance(INSTANCE).price_per_hour}/h billed per second, "
        f"60 s minimum per start\n"
    )
    header = (
        f"{'policy':46} {'cost $':>7} {'mean':>6} {'peak':>5} "
        f"{'late min':>9} {'delay s':>8} {'ups':>5} {'downs':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.name:46} {r.cost:7.2f} {r.mean_replicas:6.1f} {r.peak_replicas:5d} "
            f"{r.late_minutes:9d} {r.mean_delay_s:8.2f} {r.scale_ups:5d} {r.scale_downs:6d}"
        )
    print(
        "\nlate min: minutes that ended with work still queued; delay s: mean time work "
        "waits in the queue (Little's law on the fluid backlog).\n"
        "A toy fluid model (see elastic/demo.py); request-level simulation comes with "
        "elastic.sim."
    )
