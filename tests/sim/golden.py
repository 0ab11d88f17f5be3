"""A golden set of runs: what refactors of the simulator and the loop must not change.

Each case is a policy, scenario, fidelity and seed; its record is the run's
summary (every number as ``repr``), totals, bill, a digest of every series
(:func:`elastic.testing.properties.digest`) and a digest of the decisions
(replicas and reason at every step). ``tests/sim/test_golden.py`` compares a
fresh run with ``golden.json`` byte for byte.

Re-record only when a change fixes a defect on purpose, and say in the
commit which cases moved and why::

    python -m tests.sim.golden
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from elastic import Behavior, Cooldown, DecisionLoop, ScalingRules
from elastic.data import load_trace
from elastic.forecast import AWSStyle
from elastic.keda import ScaledObject
from elastic.knative import KnativeKPA
from elastic.kubernetes import HorizontalPodAutoscaler, Metric
from elastic.policies import Predictive, Scheduled, ScheduledAction, StepScaling, TargetTracking
from elastic.sim import (
    Diurnal,
    MetricsSpec,
    Poisson,
    ReplicaSpec,
    Scenario,
    ServerlessSpec,
    TraceReplay,
    simulate,
)
from elastic.sim.distributions import Constant, Exponential, LogNormal, Uniform
from elastic.sim.result import RunResult
from elastic.testing.properties import digest

PATH = Path(__file__).with_name("golden.json")
SEEDS = (0, 1)


def scenarios() -> dict[str, Scenario]:
    """Scenarios that exercise failures, spot, warm-up, drain, queues, timeouts, a trace."""
    _, counts = load_trace("nasa-1995-jul09")
    window = counts[3 * 1440 + 600 : 3 * 1440 + 660]
    return {
        "steady-failures-spot": Scenario(
            Poisson(30.0),
            duration=1800.0,
            service=Exponential(0.2),
            replica=ReplicaSpec(
                slots=2,
                boot=Uniform(20.0, 60.0),
                warmup=30.0,
                drain_timeout=30.0,
                mtbf=1500.0,
                spot_mtbi=2500.0,
                scale_in="least_loaded",
            ),
            metrics=MetricsSpec(lag=15.0, missing=0.1),
            initial_replicas=2,
            slo=0.5,
        ),
        "diurnal-queue-timeout": Scenario(
            Diurnal(20.0, 0.8, period=1800.0, noise=0.2, noise_step=60.0),
            duration=1800.0,
            service=LogNormal(0.15, 0.8),
            replica=ReplicaSpec(slots=4, queue_capacity=8, timeout=1.5, boot=Constant(30.0)),
            balancer="least_outstanding",
            control_interval=30.0,
            initial_replicas=1,
            slo=0.4,
        ),
        "nasa-hour": Scenario(
            TraceReplay(60.0 * np.arange(len(window)), 20 * window, bucket=60.0),
            duration=3600.0,
            service=LogNormal(0.1, 0.5),
            replica=ReplicaSpec(slots=1, boot=Constant(45.0), drain_timeout=10.0),
            initial_replicas=2,
            slo=0.3,
        ),
    }


def serverless() -> Scenario:
    return Scenario(
        Diurnal(15.0, 0.7, period=1200.0),
        duration=1200.0,
        service=Exponential(0.3),
        serverless=ServerlessSpec(memory_mb=512, keep_alive=120.0),
        slo=1.0,
    )


def loops() -> dict[str, Callable[[], DecisionLoop]]:
    """The policies, each as a fresh loop."""
    history = (60.0 * (np.arange(240) - 240.0), 20.0 + 5 * np.sin(np.arange(240) / 30))
    hpa = HorizontalPodAutoscaler(
        [Metric("Resource", "cpu", "Utilization", 60)], min_replicas=1, max_replicas=20
    )
    return {
        "target-tracking-k8s": lambda: DecisionLoop(
            TargetTracking("cpu", 60.0),
            behavior=Behavior.kubernetes_default(),
            min_replicas=1,
            max_replicas=20,
            warmup=30.0,
        ),
        "step-cooldown": lambda: DecisionLoop(
            StepScaling("cpu", 70.0, [(0, 20, 1), (20, None, 3), (None, -40, -1), (-40, 0, 0)]),
            cooldown=Cooldown.simple(120.0),
            min_replicas=1,
            max_replicas=20,
        ),
        "hpa": lambda: hpa.clone().loop(),
        "kpa": lambda: KnativeKPA("concurrency", 2.0).loop(1, 20),
        "keda-rps": lambda: ScaledObject(
            TargetTracking("rps", 8.0, kind="value"),
            "rps",
            min_replica_count=1,
            max_replica_count=20,
            polling_interval=15.0,
        ).loop(),
        "predictive+tracking": lambda: DecisionLoop(
            [
                Predictive(AWSStyle(), "rps", 8.0, history=history),
                TargetTracking("cpu", 60.0, scale_in_margin=0.1),
            ],
            behavior=Behavior(scale_down=ScalingRules(stabilization_window_seconds=300.0)),
            warmup=60.0,
            min_replicas=1,
            max_replicas=20,
        ),
        "scheduled+tracking": lambda: DecisionLoop(
            [
                Scheduled(
                    [
                        ScheduledAction(at=600, min_replicas=4),
                        ScheduledAction(at=1200, min_replicas=1),
                    ]
                ),
                TargetTracking("cpu", 50.0),
            ],
            min_replicas=1,
            max_replicas=20,
        ),
    }


def serverless_loops() -> dict[str, Callable[[], DecisionLoop]]:
    return {
        "provisioned-tracking": lambda: DecisionLoop(
            TargetTracking("concurrency", 3.0, kind="value"), min_replicas=0, max_replicas=30
        ),
    }


def cases() -> Iterator[tuple[str, Scenario, Callable[[], DecisionLoop], str, int]]:
    """Every case: (name, scenario, loop factory, fidelity, seed)."""
    for scenario_name, scenario in scenarios().items():
        for loop_name, loop in loops().items():
            for fidelity in ("request", "fluid"):
                for seed in SEEDS:
                    name = f"{scenario_name}/{loop_name}/{fidelity}/{seed}"
                    yield name, scenario, loop, fidelity, seed
    for loop_name, loop in serverless_loops().items():
        for seed in SEEDS:
            yield f"serverless/{loop_name}/request/{seed}", serverless(), loop, "request", seed


def _decisions(result: RunResult) -> str:
    h = hashlib.sha256()
    for decision in result.decisions:
        if decision is not None:
            h.update(f"{decision.replicas}:{decision.reason.value};".encode())
    return h.hexdigest()


def record(result: RunResult) -> dict[str, Any]:
    """What the golden file keeps of one run."""
    return {
        "summary": {k: repr(v) for k, v in result.summary().items()},
        "totals": {k: repr(v) for k, v in sorted(result.totals.items())},
        "bill": str(result.cost()),
        "series": digest(result),
        "decisions": _decisions(result),
    }


def run_all() -> dict[str, dict[str, Any]]:
    return {
        name: record(simulate(scenario, loop(), seed=seed, fidelity=fidelity))
        for name, scenario, loop, fidelity, seed in cases()
    }


if __name__ == "__main__":
    PATH.write_text(json.dumps(run_all(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH}")
