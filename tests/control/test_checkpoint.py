"""Restart-safe loop state: a restored loop decides as one that never stopped.

Every kind of policy the project ships runs in a closed loop against a small
deterministic world (replicas boot, warm up, serve a load that rises, bursts
and falls; some scale requests are refused; a metric goes missing). The loop is
"restarted" (snapshot, a fresh loop built the same way, restore) at chosen
steps and before every step; the decisions after each restart must be exactly
those of the run that never restarted.
"""

from __future__ import annotations

import enum
import gc
import math
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic import Behavior, Cooldown, Decision, DecisionLoop, Observation, Reason
from elastic.control import checkpoint
from elastic.control.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    FileCheckpoint,
    Snapshotter,
    restore,
    snapshot,
)
from elastic.core.behavior import RateLimit, ScalingRules
from elastic.errors import CheckpointError, ElasticError, ParameterError
from elastic.forecast import EWMA, AWSStyle, Drift, External, HoltWinters, LastValue, SeasonalNaive
from elastic.keda import ScaledObject
from elastic.knative import KnativeKPA
from elastic.kubernetes import HorizontalPodAutoscaler
from elastic.kubernetes.hpa import Metric
from elastic.policies import (
    Fallback,
    MaxOf,
    MinOf,
    Predictive,
    Scheduled,
    StepScaling,
    TargetTracking,
)
from elastic.policies.base import BasePolicy
from elastic.policies.scheduled import ScheduledAction

ROOT = Path(__file__).resolve().parents[2]

# --- a small deterministic world the loops drive --------------------------------------------------


def load_at(t: float) -> float:
    """Requests per second: a base, a ramp to a plateau, a burst, a fall to (almost) nothing."""
    base = 120.0 + 60.0 * math.sin(t / 97.0)
    plateau = 900.0 * min(1.0, max(0.0, (t - 200.0) / 300.0)) * (t < 1100.0)
    burst = 1500.0 if 650.0 <= t < 710.0 else 0.0
    tail = 0.02 if t >= 1500.0 else 1.0  # almost idle at the end: KEDA may scale to zero
    return (base + plateau + burst) * tail


@dataclass
class World:
    """Replicas that boot for ``boot`` s, warm up for ``warm`` s, then serve ``capacity`` rps."""

    replicas: int
    boot: float = 30.0
    warm: float = 30.0
    capacity: float = 100.0
    ready_at: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ready_at = [-math.inf] * self.replicas

    def observe(self, i: int, t: float) -> Observation:
        ready = sum(1 for r in self.ready_at if r <= t)
        warming = sum(1 for r in self.ready_at if r <= t < r + self.warm)
        serving = max(ready - warming, 1)
        rps = load_at(t)
        cpu = 100.0 * rps / (serving * self.capacity)
        if i % 23 == 17:
            cpu = math.nan  # a failed scrape: missing, never a zero
        metrics = {
            "cpu": cpu,
            "rps": rps,
            "concurrency": rps * 0.05 / serving,
            "queue": max(0.0, rps - ready * self.capacity) * 0.5,
        }
        return Observation(
            time=t,
            replicas=self.replicas,
            metrics=metrics,
            ready=ready,
            pending=self.replicas - ready,
            warming=warming,
            startup=self.boot,
        )

    def apply(self, t: float, replicas: int) -> None:
        if replicas > self.replicas:
            self.ready_at += [t + self.boot] * (replicas - self.replicas)
        else:
            self.ready_at = sorted(self.ready_at)[:replicas]
        self.replicas = replicas


@dataclass(frozen=True)
class Case:
    """A loop to restart: how to build it, how it is driven, and what its run must go through."""

    name: str
    build: Callable[[], DecisionLoop]
    reasons: frozenset[Reason]  # the run must meet these (so that the state matters)
    interval: float = 15.0
    steps: int = 120
    start: int = 2

    def __repr__(self) -> str:
        return self.name


def refused(i: int) -> bool:
    """The actuator fails at these steps: the decision is not acknowledged."""
    return i % 11 == 7


Restart = Callable[[DecisionLoop], DecisionLoop]


def fresh(case: Case) -> Restart:
    """A restart as a new process does it: the loop built again from the same code."""

    def restart(loop: DecisionLoop) -> DecisionLoop:
        data = snapshot(loop)
        again = case.build()
        restore(again, data)
        return again

    return restart


def cloned(loop: DecisionLoop) -> DecisionLoop:
    """A restart into ``loop.clone()`` (the same parameters, nothing learned)."""
    data = snapshot(loop)
    again = loop.clone()
    restore(again, data)
    return again


def run(
    case: Case, restarts: Callable[[int], bool] = lambda i: False, restart: Restart | None = None
) -> list[Decision]:
    """The case's decisions, restarting the loop before each step ``i`` where ``restarts(i)``."""
    restart = restart or fresh(case)
    world = World(case.start)
    loop = case.build()
    decisions = []
    for i in range(case.steps):
        if restarts(i):
            loop = restart(loop)
        t = i * case.interval
        obs = world.observe(i, t)
        decision = loop.propose(obs)
        if not refused(i):
            loop.acknowledge(decision)
            world.apply(t, decision.replicas)
        decisions.append(decision)
    return decisions


def reasons(decisions: list[Decision]) -> set[Reason]:
    found = set()
    for d in decisions:
        found.update(stage.reason for stage in d.stages)
        found.update(rec.reason for rec in d.recommendations)
    return found


def first_difference(expected: list[Decision], got: list[Decision]) -> str:
    for i, (a, b) in enumerate(zip(expected, got, strict=True)):
        if a != b:
            return f"step {i}:\n  uninterrupted {a}\n  restarted     {b}"
    return "none"


# --- the loops: every kind of policy the project ships ------------------------------------------


class MeanModel:
    """A model with fit() and predict() that keeps what it learned in itself."""

    def __init__(self) -> None:
        self.mean: float | None = None

    def fit(self, y: np.ndarray) -> None:
        self.mean = float(np.mean(y[-5:]))

    def predict(self, h: int) -> np.ndarray:
        assert self.mean is not None
        return np.full(h, self.mean)


def last_three(y: np.ndarray, h: int) -> np.ndarray:
    return np.full(h, y[-3:].mean() * 1.1)


HOUR = 3600.0
# 48 hourly values before t=0, for the forecasters that need history
HISTORY = (
    [-HOUR * k for k in range(48, 0, -1)],
    [1000.0 + 900.0 * math.sin(2 * math.pi * (k + 3) / 24) for k in range(48, 0, -1)],
)


def predictive(make: Callable[[], Any], **options: Any) -> Callable[[], DecisionLoop]:
    """A loop of one predictive policy; ``make`` builds its forecaster anew each time."""

    def build() -> DecisionLoop:
        # built anew each time: a loop must share no object with another one
        fallback = options.get("fallback")
        policy = Predictive(
            make(), "rps", 100.0, scale_in=True, **{**options, "fallback": fallback and fallback()}
        )
        return DecisionLoop(
            policy,
            min_replicas=1,
            max_replicas=40,
            behavior=Behavior(scale_down=ScalingRules(120.0)),
        )

    return build


def hpa(behavior: Behavior | None) -> HorizontalPodAutoscaler:
    return HorizontalPodAutoscaler(
        [Metric("Resource", "cpu", "Utilization", 60)],
        min_replicas=1,
        max_replicas=30,
        behavior=behavior,
    )


STEPS = [(0, 20, 1), (20, None, 3), (-30, 0, -1), (None, -30, -2)]
HPA_BEHAVIOR = Behavior(
    scale_up=ScalingRules(30.0, [RateLimit("Pods", 2, 60.0)]),
    scale_down=ScalingRules(180.0, [RateLimit("Percent", 50, 60.0)]),
)
R = Reason
CASES = [
    Case(
        "target tracking, Kubernetes behavior",
        lambda: DecisionLoop(
            TargetTracking("cpu", 60.0),
            min_replicas=1,
            max_replicas=30,
            behavior=Behavior.kubernetes_default(),
        ),
        frozenset({R.STABILIZED, R.NO_DATA}),
    ),
    Case(
        "target tracking x2, AWS combine, application cooldown, warm-up",
        lambda: DecisionLoop(
            [TargetTracking("cpu", 60.0), TargetTracking("rps", 90.0, kind="average_value")],
            min_replicas=1,
            max_replicas=60,
            combine="aws",
            cooldown=Cooldown(60.0, 240.0),
            warmup=90.0,
        ),
        frozenset({R.COOLDOWN, R.SCALE_IN_BLOCKED}),
    ),
    Case(
        "step scaling, simple cooldown",
        lambda: DecisionLoop(
            StepScaling("cpu", 60.0, STEPS, evaluation_periods=3),
            min_replicas=1,
            max_replicas=30,
            cooldown=120.0,
        ),
        frozenset({R.EVALUATING, R.COOLDOWN, R.STEP_ADJUSTMENT}),
    ),
    Case(
        "scheduled at times, with target tracking",
        lambda: DecisionLoop(
            [
                Scheduled(
                    [
                        ScheduledAction(at=310.0, min_replicas=5, desired=8),
                        ScheduledAction(at=905.0, min_replicas=1, max_replicas=6),
                    ]
                ),
                TargetTracking("cpu", 60.0),
            ],
            min_replicas=1,
            max_replicas=30,
            behavior=Behavior(scale_down=ScalingRules(120.0)),
        ),
        frozenset({R.SCHEDULED, R.TOO_MANY}),
    ),
    Case(
        "scheduled on cron, with step scaling",
        lambda: DecisionLoop(
            # off the 15 s grid, across the switch to summer time (01:00 UTC)
            [
                Scheduled(
                    [
                        ScheduledAction(
                            cron="*/5 * * * *",
                            timezone="Europe/Paris",
                            min_replicas=3,
                            max_replicas=25,
                            desired=6,
                        )
                    ],
                    origin=datetime(2026, 3, 29, 0, 58, 7, tzinfo=UTC),
                ),
                StepScaling("queue", 10.0, [(0, None, 2), (None, 0, -1)], evaluation_periods=2),
            ],
            min_replicas=1,
            max_replicas=30,
        ),
        frozenset({R.SCHEDULED, R.STEP_ADJUSTMENT}),
    ),
    Case("predictive, last value", predictive(LastValue), frozenset({R.FORECAST})),
    Case(
        "predictive, drift, 90 % level",
        predictive(Drift, level=90.0),
        frozenset({R.FORECAST, R.NO_FORECAST}),
    ),
    Case(
        "predictive, seasonal naive, buckets of 60 s",
        predictive(lambda: SeasonalNaive(period=4), bucket=60.0),
        frozenset({R.FORECAST, R.NO_FORECAST}),
    ),
    Case(
        "predictive, EWMA, fallback to step scaling",
        predictive(
            lambda: EWMA(alpha=0.4),
            fallback=lambda: StepScaling("cpu", 60.0, STEPS, evaluation_periods=2),
        ),
        frozenset({R.FORECAST, R.FALLBACK}),
    ),
    Case(
        "predictive, Holt-Winters, buckets of 30 s",
        predictive(lambda: HoltWinters(periods=(4,)), bucket=30.0),
        frozenset({R.FORECAST, R.NO_FORECAST}),
    ),
    Case(
        "predictive, AWS-style, with history, max capacity raised",
        predictive(
            lambda: AWSStyle(min_history_hours=1, refresh_hours=1),
            history=HISTORY,
            max_capacity_behavior="increase",
            max_capacity=12,
        ),
        frozenset({R.FORECAST}),
        interval=300.0,
        steps=36,
    ),
    Case(
        "predictive, external function",
        predictive(lambda: External(last_three, min_samples=3)),
        frozenset({R.FORECAST, R.NO_FORECAST}),
    ),
    Case(
        "predictive, external model refitted every 4 values",
        predictive(lambda: External(MeanModel(), min_samples=3, refit_every=4)),
        frozenset({R.FORECAST, R.NO_FORECAST}),
    ),
    Case(
        "HPA without behavior",
        lambda: hpa(None).loop(),
        frozenset({R.STABILIZED, R.SCALE_UP_LIMIT, R.NO_DATA}),
    ),
    Case(
        "HPA with behavior",
        lambda: hpa(HPA_BEHAVIOR).loop(),
        frozenset({R.STABILIZED, R.SCALE_UP_LIMIT}),
    ),
    Case(
        "KEDA ScaledObject over an HPA",
        lambda: ScaledObject(
            HorizontalPodAutoscaler(
                [Metric("External", "rps", "AverageValue", 90_000)],
                max_replicas=40,
                behavior=HPA_BEHAVIOR,
            ),
            "rps",
            activation_threshold=20.0,
            cooldown_period=120.0,
            polling_interval=60.0,
        ).loop(),
        frozenset({R.STABILIZED, R.SCALE_UP_LIMIT, R.HOLD}),
        steps=140,
    ),
    Case(
        "KEDA ScaledObject over target tracking",
        lambda: ScaledObject(
            TargetTracking("queue", 20.0, kind="value"),
            "queue",
            activation_threshold=5.0,
            min_replica_count=0,
            max_replica_count=20,
            cooldown_period=60.0,
            polling_interval=15.0,
        ).loop(),
        frozenset({R.TARGET_TRACKING, R.HOLD}),
        steps=140,
    ),
    Case(
        "Knative KPA, scale-down delay",
        lambda: KnativeKPA(
            "concurrency", 3.0, target_burst_capacity=0.0, stable_window=30.0, scale_down_delay=20.0
        ).loop(0, 50),
        frozenset({R.TARGET_TRACKING}),
        interval=6.0,
        steps=150,
    ),
    Case(
        "several policies: behavior, cooldown and warm-up",
        lambda: DecisionLoop(
            [
                TargetTracking("cpu", 60.0),
                StepScaling("queue", 10.0, [(0, 50, 1), (50, None, 4)], evaluation_periods=2),
                Predictive(EWMA(), "rps", 120.0),
            ],
            min_replicas=2,
            max_replicas=30,
            behavior=HPA_BEHAVIOR,
            cooldown=Cooldown(60.0, 180.0),
            warmup=400.0,
        ),
        frozenset({R.STABILIZED, R.SCALE_UP_LIMIT, R.WARMUP}),
    ),
    Case(
        "combinators: max, min, fallback",
        lambda: DecisionLoop(
            [
                MaxOf([TargetTracking("cpu", 60.0), StepScaling("queue", 10.0, [(0, None, 2)])]),
                MinOf(
                    [
                        TargetTracking("rps", 80.0, kind="average_value"),
                        Predictive(Drift(), "rps", 80.0, scale_in=True),
                    ]
                ),
                Fallback(
                    Predictive(HoltWinters(periods=(4,)), "rps", 100.0),
                    StepScaling("cpu", 60.0, STEPS, evaluation_periods=2),
                ),
            ],
            min_replicas=1,
            max_replicas=30,
            cooldown=90.0,
        ),
        frozenset({R.COOLDOWN, R.FALLBACK}),
    ),
]


@pytest.fixture(scope="module")
def uninterrupted() -> dict[str, list[Decision]]:
    return {case.name: run(case) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_the_run_goes_through_the_state_that_matters(case, uninterrupted):
    """Each scenario reaches the stages its state decides (windows, cooldowns, warm-up, ...)."""
    decisions = uninterrupted[case.name]
    assert case.reasons <= reasons(decisions), case.reasons - reasons(decisions)
    counts = {d.replicas for d in decisions}
    assert len(counts) >= 3, f"the loop barely scaled: {sorted(counts)}"


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_a_restart_before_every_step_decides_as_an_uninterrupted_loop(case, uninterrupted):
    """Snapshot and restore into a fresh clone before each step: every decision is the same."""
    got = run(case, lambda i: True, restart=cloned)
    assert got == uninterrupted[case.name], first_difference(uninterrupted[case.name], got)


def moments(case: Case, decisions: list[Decision]) -> list[int]:
    """Restart steps: 0, the middle, and the middle of a held stretch (a window, a cooldown)."""
    held = [
        i
        for i, d in enumerate(decisions)
        if d.reason in (R.STABILIZED, R.COOLDOWN, R.WARMUP, R.SCALE_UP_LIMIT, R.SCALE_DOWN_LIMIT)
    ]
    chosen = {0, case.steps // 2}
    if held:
        chosen.add(held[len(held) // 2])
    return sorted(chosen)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_a_restarted_process_decides_as_an_uninterrupted_loop(case, uninterrupted):
    """One restart at step k into a loop built again by the same code: the rest is the same."""
    expected = uninterrupted[case.name]
    for k in moments(case, expected):
        got = run(case, lambda i, k=k: i == k)
        assert got[k:] == expected[k:], f"restart at {k}: {first_difference(expected, got)}"


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_one_snapshotter_over_a_run_gives_the_bytes_of_a_fresh_snapshot(case):
    """A Snapshotter skips the parameters it found holding no learning object: never one
    that holds one (a list of policies, a forecaster in a policy, the HPA in a ScaledObject)."""
    world = World(case.start)
    loop = case.build()
    snapshots = Snapshotter(loop)
    for i in range(case.steps):
        t = i * case.interval
        decision = loop.propose(world.observe(i, t))
        if not refused(i):
            loop.acknowledge(decision)
            world.apply(t, decision.replicas)
        assert snapshots() == snapshot(loop), f"step {i}"


# The replay must catch a snapshot that forgets any one of these (each was dropped once, on
# purpose, below: the decisions differ). Case name -> (path in the state, attribute).
FORGOTTEN = [
    ("target tracking x2, AWS combine, application cooldown, warm-up", "loop", "up_events_"),
    (
        "target tracking x2, AWS combine, application cooldown, warm-up",
        "loop",
        "scale_in_cooldown_until_",
    ),
    ("step scaling, simple cooldown", "loop", "last_activity_"),
    ("step scaling, simple cooldown", "loop.policies", "streak_"),
    ("HPA with behavior", "loop", "down_events_"),
    ("KEDA ScaledObject over an HPA", "loop.policies.hpa_loop_", "history_"),
    ("Knative KPA, scale-down delay", "loop.policies", "decider_"),
    ("predictive, EWMA, fallback to step scaling", "loop.policies.model_", "level_"),
    ("predictive, external model refitted every 4 values", "loop.policies.model_", "model"),
    ("scheduled at times, with target tracking", "loop.policies[0]", "time_"),
]


@pytest.mark.parametrize(("name", "path", "name_"), FORGOTTEN, ids=lambda x: str(x))
def test_the_replay_catches_a_snapshot_that_forgets_one_piece_of_state(
    name, path, name_, uninterrupted, monkeypatch
):
    """Drop one attribute from the saved state (as a buggy snapshot would): decisions differ.

    This is what makes the two tests above worth having: they fail when any of
    these pieces of state is not carried over.
    """
    case = next(c for c in CASES if c.name == name)
    keep = checkpoint._state
    nodes: dict[int, str] = {}

    def forgetting(obj: Any) -> dict[str, Any]:
        state = keep(obj)
        if nodes.get(id(obj)) == path:
            assert name_ in state, f"{path} has no state {name_}: {sorted(state)}"
            del state[name_]
        return state

    walk = checkpoint._walk

    def tracking(
        loop: DecisionLoop, describe: bool = True, inert: dict[int, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        found, description = walk(loop, describe, inert)
        nodes.update({id(obj): p for p, obj in found.items()})
        return found, description

    monkeypatch.setattr(checkpoint, "_state", forgetting)
    monkeypatch.setattr(checkpoint, "_walk", tracking)
    got = run(case, lambda i: True, restart=cloned)
    assert got != uninterrupted[case.name]


# --- exact values --------------------------------------------------------------------------------


class Weights(BasePolicy):
    """A policy with floats and an array of learned state (for the bit-for-bit test)."""

    def __init__(self, metric: str = "cpu") -> None:
        self.metric = metric
        self.weights_ = np.zeros(3)
        self.level_ = 0.0
        self.special_: list[float] = []

    def observe(self, obs: Observation) -> None:
        x = obs.metric(self.metric) or 0.0
        self.weights_ = self.weights_ * 0.3 + np.array([x, x / 3.0, math.pi * x])
        self.level_ = self.level_ / 7.0 + x * 0.1
        self.special_ = [math.nan, -0.0, 5e-324, math.inf, -math.inf, 0.1 + 0.2]

    def recommend(self, obs: Observation) -> Any:
        return TargetTracking(self.metric, 60.0).recommend(obs)


def float_bits(values: Any) -> bytes:
    return struct.pack(f">{len(values)}d", *values)


def test_floats_and_arrays_round_trip_bit_for_bit():
    loop = DecisionLoop(Weights(), min_replicas=1, max_replicas=10, cooldown=30.0)
    for i in range(5):
        loop.step(Observation(i * 15.0, 3, {"cpu": 10.0 + i / 3.0}))
    again = DecisionLoop(Weights(), min_replicas=1, max_replicas=10, cooldown=30.0)
    restore(again, snapshot(loop))
    before, after = loop.policies, again.policies
    assert after.weights_.dtype == before.weights_.dtype
    assert after.weights_.tobytes() == before.weights_.tobytes()
    assert float_bits([after.level_]) == float_bits([before.level_])
    assert float_bits(after.special_) == float_bits(before.special_)
    assert again.scale_in_cooldown_until_ == loop.scale_in_cooldown_until_
    assert snapshot(again) == snapshot(loop)


def test_the_snapshot_only_reads_the_loop():
    loop = CASES[0].build()
    for i in range(4):
        loop.step(Observation(i * 15.0, 3, {"cpu": 90.0}))
    assert snapshot(loop) == snapshot(loop)


# --- precise errors ------------------------------------------------------------------------------


def tracking_loop(target: float = 60.0, **options: Any) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", target), min_replicas=1, max_replicas=20, **options)


def stepped(loop: DecisionLoop) -> DecisionLoop:
    loop.step(Observation(0.0, 2, {"cpu": 100.0}))
    return loop


def test_restoring_into_a_loop_with_other_parameters_names_them():
    data = snapshot(stepped(tracking_loop(60.0, behavior=Behavior(scale_down=ScalingRules(300.0)))))
    other = tracking_loop(50.0, behavior=Behavior(scale_down=ScalingRules(120.0)))
    before = snapshot(other)
    with pytest.raises(CheckpointError) as caught:
        restore(other, data, source="/var/lib/web.ckpt")
    message = str(caught.value)
    assert message.startswith(
        "/var/lib/web.ckpt: the checkpoint was written by a loop with other parameters: "
    )
    assert "loop.policies.target is 60.0 in the checkpoint and 50.0 in this loop" in message
    assert (
        "loop.behavior.scale_down.stabilization_window_seconds is 300.0 in the checkpoint "
        "and 120.0 in this loop"
    ) in message
    assert snapshot(other) == before  # nothing changed


def test_other_policies_and_forecasters_are_named():
    def build(forecaster: Any, second: Any) -> DecisionLoop:
        return DecisionLoop(
            [Predictive(forecaster, "rps", 100.0), second], min_replicas=1, max_replicas=9
        )

    data = snapshot(build(EWMA(alpha=0.3), TargetTracking("cpu", 60.0)))
    with pytest.raises(CheckpointError) as caught:
        restore(build(EWMA(alpha=0.5), StepScaling("cpu", 60.0, [(0, None, 1)])), data)
    message = str(caught.value)
    assert "loop.policies[0].forecaster.alpha is 0.3 in the checkpoint and 0.5" in message
    assert (
        "loop.policies[1] is elastic.policies.target_tracking.TargetTracking in the checkpoint "
        "and elastic.policies.step.StepScaling in this loop"
    ) in message


def test_many_differences_are_counted_not_listed():
    data = snapshot(
        DecisionLoop(
            [TargetTracking("cpu", float(t)) for t in range(10, 20)], min_replicas=1, max_replicas=9
        )
    )
    other = DecisionLoop(
        [TargetTracking("cpu", float(t)) for t in range(20, 30)], min_replicas=1, max_replicas=9
    )
    with pytest.raises(CheckpointError, match=r"; and 5 more; restore it into a loop built"):
        restore(other, data)


def good() -> bytes:
    return snapshot(stepped(tracking_loop()))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: b"", r"^the checkpoint is empty \(0 bytes\)"),
        (lambda d: d[:10], r"^the checkpoint is truncated: 10 bytes, within its header"),
        (lambda d: d[:25], r"^the checkpoint is truncated: 25 bytes, within its header"),
        (
            lambda d: d[:-1],
            rf"^the checkpoint is truncated: {len(good()) - 1} bytes where its "
            rf"header says {len(good())}",
        ),
        (lambda d: d + b"\n", r"^the checkpoint is too long"),
        (
            lambda d: d[:-5] + bytes([d[-5] ^ 1]) + d[-4:],
            r"^the checkpoint is damaged: its payload does not match its sha256",
        ),
        (lambda d: b"\x80\x05K\x01.", r"^not an elastic checkpoint: it starts with b'\\x80"),
        (lambda d: b"PK\x03\x04 a zip file", r"^not an elastic checkpoint"),
        (
            lambda d: d[:19] + struct.pack(">H", FORMAT_VERSION + 1) + d[21:],
            rf"^the checkpoint has format version {FORMAT_VERSION + 1}; this elastic reads "
            rf"version {FORMAT_VERSION} only",
        ),
        (
            lambda d: checkpoint._envelope(pickle.dumps([1, 2])),
            r"^the checkpoint's payload is not a loop's state",
        ),
        (
            lambda d: checkpoint._envelope(b"\x80\x04celastic.core.gone\nX\n."),
            r"^the checkpoint cannot be read by this elastic: ModuleNotFoundError",
        ),
        (
            lambda d: checkpoint._envelope(b"\x80\x04celastic.core.types\nGone\n."),
            r"^the checkpoint cannot be read by this elastic: AttributeError",
        ),
        (
            lambda d: checkpoint._envelope(b"\x80\x04cno_such_module\nX\n."),
            r"^the checkpoint was refused: it names no_such_module\.X, which a loop's state",
        ),
        (lambda d: d.decode("latin-1"), r"^expected the bytes of a checkpoint, got a str"),
    ],
    ids=[
        "empty",
        "in magic",
        "in header",
        "payload short",
        "too long",
        "bit flip",
        "pickle",
        "zip",
        "version",
        "not a state",
        "module gone",
        "class gone",
        "module refused",
        "str",
    ],
)
def test_bad_checkpoints_are_precise_errors(damage, expected):
    loop = tracking_loop()
    before = snapshot(loop)
    with pytest.raises(CheckpointError, match=expected):
        restore(loop, damage(good()))
    assert snapshot(loop) == before


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_damage_is_a_checkpoint_error_and_never_a_traceback(data):
    original = GOOD
    kind = data.draw(st.sampled_from(["cut", "flip", "random"]))
    if kind == "cut":
        damaged = original[: data.draw(st.integers(0, len(original) - 1))]
    elif kind == "flip":
        i = data.draw(st.integers(0, len(original) - 1))
        bit = data.draw(st.integers(0, 7))
        damaged = original[:i] + bytes([original[i] ^ (1 << bit)]) + original[i + 1 :]
    else:
        damaged = data.draw(st.binary(max_size=200))
    with pytest.raises(CheckpointError):
        restore(tracking_loop(), damaged)


GOOD = snapshot(stepped(tracking_loop()))


class Lazy(BasePolicy):
    """A policy whose state is one attribute more in "a newer version" (set by the test)."""

    def __init__(self) -> None:
        self.seen_ = 0

    def observe(self, obs: Observation) -> None:
        self.seen_ += 1

    def recommend(self, obs: Observation) -> Any:
        return TargetTracking("cpu", 60.0).recommend(obs)


def test_state_of_another_shape_is_named():
    old = stepped(DecisionLoop(Lazy(), min_replicas=1, max_replicas=5))
    new = DecisionLoop(Lazy(), min_replicas=1, max_replicas=5)
    new.policies.window_ = []  # what a newer version of the policy would also learn
    with pytest.raises(CheckpointError) as caught:
        restore(new, snapshot(old))
    assert new.history_ == [] and new.policies.seen_ == 0  # the loop is left as it was
    assert str(caught.value) == (
        "the checkpoint holds other state for loop.policies (tests.control.test_checkpoint.Lazy) "
        "than this loop has: only here: loop.policies.window_; was it written by another "
        "version of elastic?"
    )


def test_unpicklable_state_is_a_checkpoint_error():
    loop = DecisionLoop(Lazy(), min_replicas=1, max_replicas=5)
    loop.policies.seen_ = lambda: 1
    with pytest.raises(CheckpointError, match=r"^the loop's state cannot be pickled: "):
        snapshot(loop)


def test_only_a_loop_is_snapshotted_or_restored():
    with pytest.raises(ParameterError, match=r"snapshot: loop=.* expected a DecisionLoop"):
        snapshot(TargetTracking("cpu", 60.0))  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"restore: loop="):
        restore(TargetTracking("cpu", 60.0), GOOD)  # type: ignore[arg-type]


def test_checkpoint_error_is_an_elastic_error():
    assert issubclass(CheckpointError, ElasticError)


# --- what a checkpoint may build ----------------------------------------------------------------


def text(value: str) -> bytes:
    """A pickle opcode pushing the string ``value`` (SHORT_BINUNICODE)."""
    data = value.encode()
    return b"\x8c" + bytes([len(data)]) + data


def calling(module: str, name: str, argument: str) -> bytes:
    """A pickle that calls ``module.name(argument)`` while it loads (STACK_GLOBAL, REDUCE)."""
    return b"\x80\x04" + text(module) + text(name) + b"\x93" + text(argument) + b"\x85R."


class Payload:
    """Pickles as a call of ``function(*arguments)``: what a crafted checkpoint holds."""

    def __init__(self, function: Any, *arguments: Any) -> None:
        self.function, self.arguments = function, arguments

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.function, self.arguments


def touch(path: str) -> None:
    """A function of a module the loop's classes come from: not a class, never called."""
    Path(path).touch()


def crafted(payload: Any) -> bytes:
    """A whole, valid envelope around a loop's state with ``payload`` inside it."""
    state = {"fingerprint": "0" * 64, "params": {}, "types": {}, "state": {"loop": {"x": payload}}}
    return checkpoint._envelope(pickle.dumps(state, protocol=5))


def external_loop() -> DecisionLoop:
    return next(c for c in CASES if "external model" in c.name).build()


CRAFTED: list[tuple[str, Callable[[Path], bytes], str]] = [
    (
        "os.system by __reduce__",
        lambda m: crafted(Payload(os.system, f"touch {m}")),
        f"{os.system.__module__}.system",
    ),
    (
        "subprocess.Popen by __reduce__",
        lambda m: crafted(Payload(subprocess.Popen, ["touch", str(m)])),
        "subprocess.Popen",
    ),
    (
        "eval",
        lambda m: checkpoint._envelope(
            calling("builtins", "eval", f"open({str(m)!r}, 'w').close()")
        ),
        "builtins.eval",
    ),
    (
        "exec",
        lambda m: checkpoint._envelope(
            calling("builtins", "exec", f"open({str(m)!r}, 'w').close()")
        ),
        "builtins.exec",
    ),
    (
        "getattr",
        lambda m: checkpoint._envelope(calling("builtins", "getattr", "x")),
        "builtins.getattr",
    ),
    (
        "__import__",
        lambda m: checkpoint._envelope(calling("builtins", "__import__", "os")),
        "builtins.__import__",
    ),
    (
        "a name reached through an allowed module",
        lambda m: checkpoint._envelope(calling("elastic.files", "os.system", f"touch {m}")),
        "elastic.files.os.system",
    ),
    (
        "a class of elastic's I/O",
        lambda m: crafted(Payload(checkpoint_log().DecisionLog, str(m))),
        "elastic.control.log.DecisionLog",
    ),
    (
        "a function of the loop's own module",
        lambda m: crafted(Payload(touch, str(m))),
        "tests.control.test_checkpoint.touch",
    ),
    (
        "numpy's memmap",
        lambda m: crafted(Payload(np.memmap, str(m), np.uint8, "w+", 0, (1,))),
        "numpy.memmap",
    ),
    (
        "a module not imported",
        lambda m: checkpoint._envelope(calling("this", "s", "x")),
        "this.s",
    ),
]


def checkpoint_log() -> Any:
    from elastic.control import log

    return log


@pytest.mark.parametrize(("build", "name"), [c[1:] for c in CRAFTED], ids=[c[0] for c in CRAFTED])
def test_a_crafted_checkpoint_is_refused_and_its_payload_never_runs(tmp_path, build, name):
    """A pickle in a valid envelope ran its payload before the CheckpointError: the restricted
    unpickler refuses every name a loop's state does not hold, before building anything."""
    marker = tmp_path / "payload-ran"
    data = build(marker)
    loop = external_loop()  # its model's module (this one) is trusted: its classes only
    before = snapshot(loop)
    imported = "this" in sys.modules
    with pytest.raises(CheckpointError) as caught:
        restore(loop, data, source="/var/lib/web.ckpt")
    assert not marker.exists(), "the payload ran"
    assert str(caught.value).startswith(
        f"/var/lib/web.ckpt: the checkpoint was refused: it names {name}, which "
    )
    assert snapshot(loop) == before
    assert ("this" in sys.modules) == imported  # refused before any import


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Keeper(BasePolicy):
    """A policy that learns values of every kind a loop's state may hold."""

    def __init__(self, metric: str = "cpu") -> None:
        self.metric = metric
        self.kept_: list[Any] = []

    def observe(self, obs: Observation) -> None:
        paris = ZoneInfo("Europe/Paris")
        self.kept_ = [
            np.arange(6.0).reshape(2, 3).T,  # not contiguous: another reconstruction
            np.array([1, None], dtype=object),
            np.float64(obs.time),
            np.int32(7),
            np.dtype("<M8[s]"),
            datetime(2026, 3, 29, 1, 30, tzinfo=paris),
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            timedelta(seconds=obs.time),
            date(2026, 1, 2),
            Decimal("1.10"),
            Fraction(1, 3),
            deque([1, 2], maxlen=5),
            defaultdict(list, {"a": [1]}),
            OrderedDict(b=2, a=1),
            Counter("abca"),
            Level.HIGH,
            Reason.COOLDOWN,
            complex(1, 2),
            range(1, 9, 2),
            slice(1, None),
            frozenset({1, 2}),
            {3, 4},
            bytearray(b"ab"),
            b"cd",
            (1, "x", None, True, math.inf),
        ]

    def recommend(self, obs: Observation) -> Any:
        return TargetTracking(self.metric, 60.0).recommend(obs)


def test_a_loops_state_of_numpy_and_standard_values_is_restored():
    """What a loop's state may legitimately hold goes through the restricted unpickler."""
    loop = stepped(DecisionLoop(Keeper(), min_replicas=1, max_replicas=9))
    again = DecisionLoop(Keeper(), min_replicas=1, max_replicas=9)
    restore(again, snapshot(loop))
    got, expected = again.policies.kept_, loop.policies.kept_
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        assert type(a) is type(b)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist()
        else:
            assert a == b
    assert got[5].tzinfo is ZoneInfo("Europe/Paris")


def test_a_class_this_loop_does_not_hold_is_refused():
    """The modules trusted beyond elastic's are those of the restored loop's own objects: a
    checkpoint of a loop with a user's model is refused by a loop without it."""
    loop = external_loop()
    for i in range(6):
        loop.step(Observation(i * 15.0, 3, {"rps": 100.0 + 30 * i}))
    data = snapshot(loop)
    restore(external_loop(), data)  # the same loop: its model's class is trusted
    with pytest.raises(
        CheckpointError,
        match=r"^the checkpoint was refused: it names tests\.control\.test_checkpoint\.MeanModel",
    ):
        restore(tracking_loop(), data)


# --- the file -------------------------------------------------------------------------------------


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def slots(store: FileCheckpoint) -> list[tuple[int, bytes] | str]:
    """Each slot file's generation and data, or why it is not whole."""
    read: list[tuple[int, bytes] | str] = []
    for path in store.paths:
        try:
            read.append(checkpoint._read_slot(path.read_bytes()))
        except FileNotFoundError:
            read.append("absent")
        except CheckpointError as error:
            read.append(str(error))
    return read


def generation(store: FileCheckpoint, slot: int) -> int:
    read = slots(store)[slot]
    assert isinstance(read, tuple), read
    return read[0]


def read(path: Path) -> bytes | None:
    """The checkpoint at ``path`` as a new controller reads it (then it lets the file go)."""
    with FileCheckpoint(path) as store:
        return store.load()


def flip(path: Path, at: int = -1) -> None:
    """Damage one bit of a file, as a bad disk or a torn write would."""
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def test_a_file_checkpoint_saves_loads_and_replaces(tmp_path):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    assert isinstance(store, Checkpoint)
    assert store.load() is None
    store.save(b"one")
    store.save(b"two")
    assert store.load() == b"two"
    store.close()
    assert read(tmp_path / "web.ckpt") == b"two"  # as a new process reads it
    assert leftovers(tmp_path) == []
    assert store.paths == (tmp_path / "web.ckpt", tmp_path / "web.ckpt.1")
    if os.name == "posix":
        for path in store.paths:
            assert path.stat().st_mode & 0o777 == 0o600
    assert repr(store) == f"FileCheckpoint({str(tmp_path / 'web.ckpt')!r})"


def test_saves_alternate_between_the_slots_with_increasing_generations(tmp_path):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    for n in range(1, 8):
        store.save(b"state %d" % n + b"." * (n % 3) * 50)  # longer and shorter in turn
        assert store.load() == b"state %d" % n + b"." * (n % 3) * 50
        assert generation(store, (n - 1) % 2) == n  # the odd saves in path, the even in path.1
    assert slots(store) == [(7, b"state 7" + b"." * 50), (6, b"state 6")]
    # a slot that was longer is cut to its new length, not left with the old tail
    assert store.paths[1].stat().st_size == len(checkpoint._slot_frame(6, b"state 6"))


def test_saves_overwrite_the_slots_in_place_never_by_rename(tmp_path):
    """What keeps a save cheap: on ext4 a rename over the old file costs a flush of its data."""
    store = FileCheckpoint(tmp_path / "web.ckpt", durable=False)
    store.save(b"one")
    store.save(b"two")
    inodes = [path.stat().st_ino for path in store.paths]
    for n in range(4):
        store.save(b"more %d" % n)
    assert [path.stat().st_ino for path in store.paths] == inodes
    assert store.load() == b"more 3"


def half_then(error: BaseException, calls: list[int] | None = None) -> Callable[[int, Any], int]:
    """os.write that writes half of what it is given, then raises ``error`` (a full disk)."""
    real = os.write

    def write(fd: int, data: Any) -> int:
        if calls is not None:
            calls.append(fd)
        real(fd, bytes(data[: len(data) // 2]))
        raise error

    return write


@pytest.mark.parametrize("before", [1, 2, 3], ids=["creating path.1", "over path", "over .1"])
def test_a_write_that_fails_halfway_leaves_the_previous_checkpoint_chosen(
    tmp_path, monkeypatch, before
):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    for n in range(before - 1):
        store.save(b"older %d" % n)
    store.save(GOOD)
    monkeypatch.setattr(checkpoint.os, "write", half_then(OSError(28, "No space left on device")))
    with pytest.raises(CheckpointError, match=r"cannot write the checkpoint: No space left"):
        store.save(GOOD + b"more")
    monkeypatch.undo()
    assert leftovers(tmp_path) == []  # a failed creation cleans up after itself
    store.close()
    assert read(tmp_path / "web.ckpt") == GOOD
    assert store.load() == GOOD
    restore(tracking_loop(), store.load())
    if before > 1:  # the slot written over is half new: passed over, not read
        assert not isinstance(slots(store)[before % 2], tuple)


def test_the_save_after_a_failed_one_writes_the_same_slot_again(tmp_path, monkeypatch):
    """The intact slot (the previous checkpoint) is kept until a save has succeeded."""
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(b"first")
    store.save(GOOD)
    monkeypatch.setattr(checkpoint.os, "write", half_then(OSError(28, "No space left")))
    with pytest.raises(CheckpointError):
        store.save(b"lost")
    monkeypatch.undo()
    store.save(b"next")
    assert slots(store) == [(3, b"next"), (2, GOOD)]
    flip(store.paths[0])
    assert store.load() == GOOD


def test_an_interrupted_save_leaves_the_previous_checkpoint_and_goes_on(tmp_path, monkeypatch):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(GOOD)
    monkeypatch.setattr(checkpoint.os, "write", half_then(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        store.save(b"new")  # creating path.1
    monkeypatch.undo()
    assert leftovers(tmp_path) == []  # the failed save cleaned up after itself
    assert not store.paths[1].exists()
    assert store.load() == GOOD
    store.save(b"new")
    store.save(b"newer")
    assert store.load() == b"newer"


def test_a_failed_rename_of_a_new_slot_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(GOOD)

    def crash(src: Any, dst: Any) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(checkpoint.os, "replace", crash)
    with pytest.raises(CheckpointError, match=r"web.ckpt.1: cannot write the checkpoint: Input/"):
        store.save(b"new state")
    monkeypatch.undo()
    assert leftovers(tmp_path) == []
    assert store.load() == GOOD


@pytest.mark.parametrize("at", [33, 60, -1], ids=["generation", "sha256", "data"])
def test_a_damaged_newest_slot_falls_back_to_the_older(tmp_path, at):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(b"older")
    store.save(b"newer")
    flip(store.paths[1], at=at)
    store.close()
    assert read(tmp_path / "web.ckpt") == b"older"
    assert store.load() == b"older"


def test_a_new_writer_saves_over_the_damaged_slot_not_the_whole_one(tmp_path):
    """A restarted controller reads both slots before its first save: a slot whose header
    says newer but whose data is damaged is not the newest."""
    FileCheckpoint(tmp_path / "web.ckpt").save(GOOD)
    FileCheckpoint(tmp_path / "web.ckpt").save(b"torn")
    flip(tmp_path / "web.ckpt.1")
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(b"after the restart")
    assert slots(store) == [(1, GOOD), (2, b"after the restart")]
    assert store.load() == b"after the restart"


def test_no_whole_slot_is_a_precise_error_naming_each_file(tmp_path):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(b"older")
    store.save(b"newer")
    flip(store.paths[0])
    store.paths[1].write_bytes(store.paths[1].read_bytes()[:30])
    store.close()
    with pytest.raises(CheckpointError) as caught:
        read(tmp_path / "web.ckpt")
    path = tmp_path / "web.ckpt"
    assert str(caught.value) == (
        f"{path}: no whole checkpoint in either slot: {path}: damaged: generation 1 and its "
        "data do not match their sha256 (a save interrupted while it wrote this slot, or a "
        f"damaged disk); {path}.1: truncated: 30 bytes, within its header"
    )
    store.paths[1].unlink()
    with pytest.raises(CheckpointError, match=r"web.ckpt.1: absent$"):
        store.load()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty (0 bytes)"),
        (b"elastic checkpoint s", "truncated: 20 bytes, within its header"),
        (b"PK\x03\x04 a zip file", "not an elastic checkpoint: it starts with b'PK"),
        (
            checkpoint._SLOT_MAGIC + struct.pack(">H", 9) + bytes(60),
            "a slot of format version 9; this elastic reads version 1 only",
        ),
        (
            checkpoint._slot_frame(4, b"data")[:-1],
            "truncated: 77 bytes where its header says 78",
        ),
        (
            GOOD[:-1],
            "a checkpoint of the format without slots: the checkpoint is truncated",
        ),
    ],
    ids=["empty", "in magic", "foreign", "version", "data short", "old format cut"],
)
def test_a_slot_that_is_not_whole_says_why(tmp_path, content, expected):
    (tmp_path / "web.ckpt").write_bytes(content)
    with pytest.raises(
        CheckpointError, match=rf"web.ckpt: {re.escape(expected)}.*; .*web.ckpt.1: absent$"
    ):
        FileCheckpoint(tmp_path / "web.ckpt").load()


def test_a_checkpoint_file_of_the_format_before_slots_still_loads(tmp_path):
    """Files written by elastic before the slots: the envelope alone at ``path``."""
    path = tmp_path / "web.ckpt"
    path.write_bytes(GOOD)  # what FileCheckpoint.save wrote then
    store = FileCheckpoint(path)
    assert store.load() == GOOD
    restore(tracking_loop(), store.load())
    store.save(b"one")  # generation 1, beside the old file, which is kept
    assert slots(store) == [(0, GOOD), (1, b"one")]
    flip(store.paths[1])
    store.close()
    assert read(path) == GOOD  # a torn first save falls back to the old file
    store.save(b"two")  # the next one goes over the old file
    store.save(b"three")
    assert store.load() == b"three"
    assert generation(store, 0) >= 1


def test_durable_saves_fsync_the_slot_and_the_directory_when_it_is_created(tmp_path, monkeypatch):
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("no /proc/self/fd to tell a directory's descriptor from a file's")
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("directory" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real(fd)

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(b"x")  # creates path
    store.save(b"y")  # creates path.1
    assert synced == ["file", "directory"] * 2
    synced.clear()
    store.save(b"z")  # in place
    store.save(b"w")
    assert synced == ["file", "file"]
    synced.clear()
    other = FileCheckpoint(tmp_path / "other.ckpt", durable=False)
    for data in [b"a", b"b", b"c"]:
        other.save(data)
    assert synced == [] and other.load() == b"c"


RESTARTED = """
import os, signal, sys
from elastic import Observation
from elastic.control import checkpoint
from elastic.control.checkpoint import FileCheckpoint, restore, snapshot
from tests.control.test_checkpoint import CASES

name, path = sys.argv[1], sys.argv[2]
loop = next(c for c in CASES if c.name == name).build()
store = FileCheckpoint(path)
restore(loop, store.load(), source=path)
print(snapshot(loop).hex(), flush=True)
loop.step(Observation(600.0, 3, {"rps": 400.0}))
real = os.write

def half_then_killed(fd, data):  # half of the new slot written over the older one: die here
    real(fd, bytes(data[: len(data) // 2]))
    os.kill(os.getpid(), signal.SIGKILL)

checkpoint.os.write = half_then_killed
store.save(snapshot(loop))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_restarted_process_restores_and_a_kill_mid_save_keeps_the_last_checkpoint(tmp_path):
    """A new process restores the state exactly (no memory address in the parameters'
    fingerprint); SIGKILLed halfway through writing its next save over the older slot, it
    leaves the last whole checkpoint, which the next start loads."""
    case = next(c for c in CASES if "external model" in c.name)
    loop = case.build()
    path = tmp_path / "web.ckpt"
    for i in range(6):
        loop.step(Observation(i * 15.0, 3, {"rps": 100.0 + 30 * i}))
        if i >= 4:
            FileCheckpoint(path).save(snapshot(loop))
    last = snapshot(loop)
    assert slots(FileCheckpoint(path))[1] == (2, last)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", RESTARTED, case.name, str(path)],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert bytes.fromhex(child.stdout.decode()) == last
    torn = path.read_bytes()  # generation 3, half written over generation 1
    assert struct.unpack_from(">HQ", torn, len(checkpoint._SLOT_MAGIC)) == (1, 3)
    assert not isinstance(slots(FileCheckpoint(path))[0], tuple)
    store = FileCheckpoint(path)
    assert store.load() == last
    again = case.build()
    restore(again, last)
    assert snapshot(again) == snapshot(loop)
    store.save(b"after")  # the restarted controller goes on over the torn slot
    assert slots(store) == [(3, b"after"), (2, last)]


def test_load_removes_the_leftovers_of_a_crashed_save_only(tmp_path):
    (tmp_path / ".web.ckpt.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".web.ckpt.1.abc123.tmp").write_bytes(b"half")
    (tmp_path / ".other.ckpt.abc123.tmp").write_bytes(b"someone else's")
    store = FileCheckpoint(tmp_path / "web.ckpt")
    assert store.load() is None
    assert leftovers(tmp_path) == [".other.ckpt.abc123.tmp"]


def test_file_errors_name_the_file(tmp_path):
    missing = FileCheckpoint(tmp_path / "no" / "such" / "dir" / "web.ckpt")
    with pytest.raises(
        CheckpointError,
        match=r"no/such/dir/web.ckpt.lock: cannot lock the checkpoint: No such file",
    ):
        missing.save(b"x")
    (tmp_path / "adir").mkdir()
    with pytest.raises(CheckpointError, match=r"adir: cannot read the checkpoint: Is a dir"):
        FileCheckpoint(tmp_path / "adir").load()
    with pytest.raises(ParameterError, match=r"FileCheckpoint.save: data='text'"):
        FileCheckpoint(tmp_path / "x").save("text")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"FileCheckpoint: path=''"):
        FileCheckpoint("")


def owned_by_another_user(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``path`` another user's: chown it when root, else pretend to be another user."""
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)  # nobody
    else:
        uid = os.geteuid() + 1
        monkeypatch.setattr(checkpoint.os, "geteuid", lambda: uid)


@pytest.mark.skipif(os.name != "posix", reason="file owners and modes are POSIX")
@pytest.mark.parametrize("slot", [0, 1])
def test_a_slot_file_of_another_user_is_refused(tmp_path, monkeypatch, slot):
    """Someone else's file would be unpickled as ours: load and the first save refuse it."""
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(GOOD)
    store.save(GOOD)
    store.close()
    owned_by_another_user(store.paths[slot], monkeypatch)
    expected = (
        rf"^{re.escape(str(store.paths[slot]))}: refused: the checkpoint file is owned by "
        rf"user \d+, not by this process's user \(\d+\); a checkpoint is unpickled when it is "
        r"loaded: it must be this controller's own file"
    )
    with pytest.raises(CheckpointError, match=expected):
        FileCheckpoint(tmp_path / "web.ckpt").load()
    with pytest.raises(CheckpointError, match=expected):
        FileCheckpoint(tmp_path / "web.ckpt").save(GOOD)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize(
    ("mode", "who"), [(0o620, "its group"), (0o602, "others"), (0o666, "its group and others")]
)
def test_a_slot_file_others_may_write_is_refused(tmp_path, mode, who):
    store = FileCheckpoint(tmp_path / "web.ckpt")
    store.save(GOOD)
    store.close()
    store.paths[0].chmod(mode)
    with pytest.raises(CheckpointError) as caught:
        store.load()
    assert str(caught.value) == (
        f"{store.paths[0]}: refused: the checkpoint file may be written by {who} "
        f"(mode {mode:04o}); a checkpoint is unpickled when it is loaded: make it writable "
        f"by its owner only (chmod 600 {store.paths[0]})"
    )
    store.paths[0].chmod(0o644)  # readable by others is their business, not a danger to us
    assert store.load() == GOOD


def in_use(path: Path, pid: int | None) -> str:
    holder = "another process" if pid is None else f"process {pid}"
    return (
        rf"^{re.escape(str(path))}: the checkpoint is in use by {holder} \(which holds the "
        rf"lock {re.escape(str(path))}\.lock\); one controller per checkpoint: stop the other "
        r"one, or give this one another file$"
    )


@pytest.mark.skipif(os.name != "posix", reason="the lock is POSIX's flock")
def test_two_checkpoint_objects_on_one_file_in_one_process_are_refused(tmp_path):
    """Two controllers on one file both ran and the last writer won: the second is refused."""
    path = tmp_path / "web.ckpt"
    first = FileCheckpoint(path)
    second = FileCheckpoint(path)  # built, not used yet: no lock taken
    first.save(b"one")
    with pytest.raises(CheckpointError, match=in_use(path, os.getpid())):
        second.load()
    with pytest.raises(CheckpointError, match=in_use(path, os.getpid())):
        second.save(b"two")
    assert first.load() == b"one"  # the holder goes on
    lock = tmp_path / "web.ckpt.lock"
    assert lock.read_text() == f"{os.getpid()}\n"
    assert lock.stat().st_mode & 0o777 == 0o600
    lock.write_text("")  # taken, its holder's pid not written yet
    with pytest.raises(CheckpointError, match=in_use(path, None)):
        second.load()
    first.close()
    first.close()  # closing twice is no error
    second.save(b"two")  # the lock was released: the second takes it
    with pytest.raises(CheckpointError, match=in_use(path, os.getpid())):
        first.load()  # used again after close(): it asks for the lock again
    del second
    gc.collect()  # a FileCheckpoint collected releases its lock
    assert first.load() == b"two"  # read again: the other one wrote while it was closed
    first.save(b"three")
    assert slots(first) == [(3, b"three"), (2, b"two")]
    first.close()
    with FileCheckpoint(path) as store:
        assert store.load() == b"three"
    assert FileCheckpoint(path).load() == b"three"


HOLDER = """
import sys
from elastic.control.checkpoint import FileCheckpoint

FileCheckpoint(sys.argv[1]).save(b"lost")  # used and collected: the lock goes with it
store = FileCheckpoint(sys.argv[1])
store.save(b"child")
print("holding", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(os.name != "posix", reason="the lock is POSIX's flock")
def test_a_checkpoint_held_by_another_process_is_refused_until_it_is_killed(tmp_path):
    """The child holds the lock; killed (SIGKILL: no close, no cleanup), it leaves none."""
    path = tmp_path / "web.ckpt"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"holding\n"
        with pytest.raises(CheckpointError, match=in_use(path, child.pid)):
            FileCheckpoint(path).load()
        child.kill()
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert FileCheckpoint(path).load() == b"child"


class Memory:
    """Another store: the Checkpoint protocol is all a controller needs."""

    def __init__(self) -> None:
        self.data: bytes | None = None

    def save(self, data: bytes) -> None:
        self.data = bytes(data)

    def load(self) -> bytes | None:
        return self.data


def test_any_store_with_save_and_load_is_a_checkpoint():
    store = Memory()
    assert isinstance(store, Checkpoint)
    loop = stepped(tracking_loop(cooldown=300.0))
    store.save(snapshot(loop))
    again = tracking_loop(cooldown=300.0)
    data = store.load()
    assert data is not None
    restore(again, data)
    assert again.step(Observation(15.0, 4, {"cpu": 100.0})).reason is Reason.COOLDOWN


def test_a_snapshotter_gives_the_bytes_snapshot_gives_at_every_step() -> None:
    from elastic import Observation
    from elastic.control.checkpoint import Snapshotter
    from elastic.policies import TargetTracking

    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20, warmup=60.0)
    snapshots = Snapshotter(loop)
    for t, cpu in enumerate([100.0, 20.0, 300.0, 10.0]):
        loop.step(Observation(15.0 * t, loop.history_[-1][1] if loop.history_ else 2, {"cpu": cpu}))
        assert snapshots() == snapshot(loop)


def test_a_checkpoint_that_is_not_durable_still_keeps_the_last_whole(tmp_path: Path) -> None:
    store = FileCheckpoint(tmp_path / "loop.ckpt", durable=False)
    store.save(b"first")
    store.save(b"second")
    assert store.load() == b"second" and repr(store).endswith("durable=False)")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "loop.ckpt",
        "loop.ckpt.1",
        "loop.ckpt.lock",
    ]
