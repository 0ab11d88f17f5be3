"""The controller: its schedule, its clocks, and how it keeps running through failures."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from elastic import Behavior, DecisionLoop, ParameterError, Reason
from elastic.control import (
    CallableSource,
    CallbackActuator,
    Controller,
    ManualClock,
    Observe,
    ReplicaCounts,
    Retry,
    SystemClock,
)
from elastic.policies import TargetTracking

WALL = 1_700_000_000.0


class System:
    """A system of replicas whose CPU is ``load / replicas``; scaling may fail or take time."""

    def __init__(self, clock: ManualClock, load: float = 200.0, replicas: int = 2) -> None:
        self.clock = clock
        self.load = load
        self.replicas = replicas
        self.refuse = 0  # refuse this many requests
        self.asked: list[int] = []
        self.step_seconds = 0.0  # how long reading the metrics takes

    def metrics(self, now: float) -> Mapping[str, float]:
        self.clock.advance(self.step_seconds)
        return {"cpu": self.load / self.replicas}

    def scale(self, replicas: int) -> None:
        self.asked.append(replicas)
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("the API server is unreachable")
        self.replicas = replicas


def controller(
    system: System,
    loop: DecisionLoop | None = None,
    metrics: Callable[[float], Mapping[str, float]] | None = None,
    **options: object,
) -> Controller:
    return Controller(
        loop
        or DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20, warmup=60.0),
        Observe(CallableSource(metrics or system.metrics, names=("cpu",)), lambda: system.replicas),
        CallbackActuator(system.scale),
        **{"interval": 15.0, "clock": system.clock, **options},  # type: ignore[arg-type]
    )


def test_steps_are_on_a_fixed_grid_whatever_each_step_takes() -> None:
    system = System(ManualClock(WALL))
    system.step_seconds = 2.5  # every step takes 2.5 s: the grid must not drift by it
    c = controller(system)
    c.run(steps=40)
    times = [r.time for r in c.history[-40:]]
    assert times == [WALL + 15.0 * k + 2.5 * 0 for k in range(40)]


def test_an_overrunning_step_skips_the_ticks_it_missed_instead_of_bunching() -> None:
    system = System(ManualClock(WALL))
    slow = {4}

    def metrics(now: float) -> Mapping[str, float]:
        if len(c.history) in slow:
            system.clock.advance(50.0)  # one step of 50 s: ticks 5, 6, 7 are missed
        return system.metrics(now)

    registry = CollectorRegistry()
    c = controller(system, metrics=metrics, registry=registry)
    c.run(steps=8)
    starts = [r.time - WALL for r in c.history]
    assert starts == [0.0, 15.0, 30.0, 45.0, 60.0, 110.0, 120.0, 135.0]
    # 110 s: the step due at 105 s runs late, once; then back on the grid, no burst
    assert registry.get_sample_value("elastic_ticks_missed_total", {"controller": "elastic"}) == 2


def test_a_wall_clock_step_neither_repeats_nor_skips_a_decision() -> None:
    system = System(ManualClock(WALL))
    c = controller(system)
    c.run(steps=3)
    system.clock.step_wall(-3600.0)  # NTP or an operator sets the clock an hour back
    c.run(steps=3)
    system.clock.step_wall(+7200.0)
    c.run(steps=3)
    times = [r.time for r in c.history]
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {15.0}, times
    assert all(r.error is None for r in c.history)


def test_a_refusing_system_leaves_no_phantom_replicas_and_the_next_step_asks_again() -> None:
    system = System(ManualClock(WALL), load=400.0, replicas=2)
    system.refuse = 6  # two steps of three attempts each
    registry = CollectorRegistry()
    c = controller(system, registry=registry, retry=Retry(attempts=3, backoff=1.0))
    c.run(steps=3)
    first, second, third = c.history
    assert first.applied is None and second.applied is None
    assert (first.attempts, second.attempts) == (3, 3)
    assert "refused 8 replicas after 3 attempts: ConnectionError" in (first.error or "")
    assert second.decision is not None and second.decision.reason is Reason.TARGET_TRACKING
    assert third.applied == 8 and system.replicas == 8
    assert [e.replica_change for e in c.loop.up_events_] == [6]  # only what happened
    errors = registry.get_sample_value("elastic_actuator_errors_total", {"controller": "elastic"})
    assert errors == 2


def test_retries_stop_before_the_next_tick() -> None:
    system = System(ManualClock(WALL), load=400.0)
    system.refuse = 100
    c = controller(system, retry=Retry(attempts=50, backoff=4.0, factor=1.0))
    c.run(steps=2)
    # 4 s apart within a 15 s interval: 4 attempts (0, 4, 8, 12 s), none past 15 s
    assert [r.attempts for r in c.history] == [4, 4]
    assert [r.time - WALL for r in c.history] == [0.0, 15.0]


def test_a_system_that_takes_another_count_is_acknowledged_with_that_count() -> None:
    system = System(ManualClock(WALL), load=400.0)

    def capped(replicas: int) -> int:
        system.replicas = min(replicas, 5)  # a quota
        return system.replicas

    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20, warmup=60.0),
        Observe(CallableSource(system.metrics), lambda: system.replicas),
        CallbackActuator(capped),
        clock=system.clock,
    )
    record = c.step()
    assert record.decision is not None and record.decision.replicas == 8
    assert record.applied == 5 and c.loop.up_events_[-1].replica_change == 3


class Broken(TargetTracking):
    def recommend(self, obs):  # type: ignore[no-untyped-def]
        if obs.time >= WALL + 30.0:
            raise ZeroDivisionError("a bug in a policy")
        return super().recommend(obs)


def test_a_policy_that_raises_holds_the_count_and_the_controller_goes_on() -> None:
    system = System(ManualClock(WALL), load=400.0)
    registry = CollectorRegistry()
    loop = DecisionLoop(Broken("cpu", 50.0), min_replicas=1, max_replicas=20)
    c = controller(system, loop=loop, registry=registry)
    c.run(steps=4)
    held = c.history[2:]
    assert all(r.decision is not None for r in held)
    assert {r.decision.reason for r in held if r.decision} == {Reason.POLICY_ERROR}
    assert all(r.applied is None and "ZeroDivisionError: a bug" in (r.error or "") for r in held)
    assert system.replicas == 8  # what the first step set, held since
    assert registry.get_sample_value("elastic_policy_errors_total", {"controller": "elastic"}) == 2
    strict = controller(
        System(ManualClock(WALL + 30.0)),
        loop=DecisionLoop(Broken("cpu", 50.0), min_replicas=1, max_replicas=20),
        strict=True,
    )
    with pytest.raises(ZeroDivisionError):
        strict.step()


def test_unreadable_replica_counts_skip_the_step() -> None:
    system = System(ManualClock(WALL))
    calls = []

    def counts() -> int:
        calls.append(1)
        if len(calls) == 2:
            raise TimeoutError("the API server did not answer")
        return system.replicas

    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
        Observe(CallableSource(system.metrics), counts),
        CallbackActuator(system.scale),
        clock=system.clock,
    )
    c.run(steps=3)
    skipped = c.history[1]
    assert skipped.observation is None and skipped.decision is None
    assert skipped.error == (
        "the replica counts could not be read: TimeoutError: the API server did not answer"
    )
    assert c.history[2].decision is not None


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "high"])
def test_a_missing_metric_holds_the_count_with_its_reason(value: object) -> None:
    system = System(ManualClock(WALL), load=20.0, replicas=6)  # idle: it would scale in
    c = controller(system, metrics=lambda now: {"cpu": value})  # type: ignore[dict-item]
    c.run(steps=3)
    assert system.replicas == 6 and system.asked == []
    assert all(r.decision and r.decision.reason is Reason.NO_DATA for r in c.history)
    assert "cpu" in c.history[0].missing


def test_the_decision_log_has_one_json_line_a_step() -> None:
    system = System(ManualClock(WALL), load=400.0)
    system.refuse = 3
    stream = io.StringIO()
    c = controller(system, log=stream)
    c.run(steps=2)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["observation"] == {
        "replicas": 2,
        "ready": None,
        "pending": 0,
        "warming": 0,
        "terminating": 0,
        "metrics": {"cpu": 200.0},
    }
    assert [s["stage"] for s in first["stages"]] == [
        "combine",
        "stabilize",
        "rate_limit",
        "bounds",
        "cooldown",
    ]
    assert (first["desired"], first["applied"], first["attempts"]) == (8, None, 3)
    assert first["error"].startswith("the system refused 8 replicas")
    assert (second["applied"], second["error"], second["time"]) == (8, None, WALL + 15.0)


def test_the_decision_log_writes_a_missing_value_as_null(tmp_path: Path) -> None:
    system = System(ManualClock(WALL))
    path = tmp_path / "decisions.jsonl"
    c = controller(system, log=path, metrics=lambda now: {"cpu": math.nan})
    c.run(steps=1)
    c.close()
    (line,) = path.read_text().splitlines()
    assert json.loads(line)["missing"] == {"cpu": "cpu=nan is not a finite number"}


def test_metrics_count_decisions_by_reason() -> None:
    system = System(ManualClock(WALL), load=400.0)
    registry = CollectorRegistry()
    c = controller(system, registry=registry, name="web")
    c.run(steps=3)
    text = generate_latest(registry).decode()
    assert 'elastic_decisions_total{controller="web",reason="target_tracking"} 1.0' in text
    assert 'elastic_desired_replicas{controller="web"} 8.0' in text
    assert 'elastic_applied_replicas{controller="web"} 8.0' in text
    assert 'elastic_step_duration_seconds_count{controller="web"} 3.0' in text


def test_run_until_stops_before_the_observation_time_passes_it() -> None:
    system = System(ManualClock(WALL))
    c = controller(system)
    c.run(until=WALL + 60.0)
    assert [r.time - WALL for r in c.history] == [0.0, 15.0, 30.0, 45.0, 60.0]


def test_arun_steps_like_run() -> None:
    a, b = System(ManualClock(WALL), load=400.0), System(ManualClock(WALL), load=400.0)
    ca, cb = controller(a), controller(b)
    ca.run(steps=5)
    asyncio.run(cb.arun(steps=5))
    assert [r.decision for r in ca.history] == [r.decision for r in cb.history]


def test_stop_from_another_thread_ends_a_real_time_run_at_once() -> None:
    replicas = [2]
    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
        Observe(CallableSource(lambda now: {"cpu": 50.0}), lambda: replicas[0]),
        CallbackActuator(lambda n: None),
        interval=30.0,
        clock=SystemClock(),
    )
    threading.Timer(0.2, c.stop).start()
    started = time.monotonic()
    c.run()
    assert time.monotonic() - started < 5.0
    assert len(c.history) == 1  # the first step ran at once; the stop came during the wait


def test_sigterm_stops_a_controller_process_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "decisions.jsonl"
    script = textwrap.dedent(
        f"""
        from elastic import DecisionLoop
        from elastic.control import CallableSource, CallbackActuator, Controller, Observe
        from elastic.policies import TargetTracking
        c = Controller(
            DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
            Observe(CallableSource(lambda now: {{"cpu": 50.0}}), lambda: 2),
            CallbackActuator(lambda n: None),
            interval=0.05,
            log={str(log)!r},
        )
        print("running", flush=True)
        c.run()
        c.close()
        print("stopped", flush=True)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "running"
    time.sleep(0.5)
    process.terminate()
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0 and out.strip() == "stopped"
    lines = log.read_text().splitlines()
    assert len(lines) >= 3 and all(json.loads(line)["error"] is None for line in lines)


@pytest.mark.parametrize(
    ("why", "arguments", "message"),
    [
        ("a loop that is not one", {"loop": "hpa"}, "loop='hpa' is invalid; expected a Decision"),
        ("an actuator without apply", {"actuator": object()}, "expected an Actuator"),
        ("a source without read", {"source": 3}, "expected an Observe or a MetricsSource"),
        ("a zero interval", {"interval": 0}, "interval=0 is invalid"),
    ],
)
def test_bad_arguments_are_refused_in_words(
    why: str, arguments: dict[str, object], message: str
) -> None:
    system = System(ManualClock(WALL))
    given: dict[str, object] = {
        "loop": DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
        "source": Observe(CallableSource(system.metrics), lambda: 1),
        "actuator": CallbackActuator(system.scale),
        "interval": 15.0,
    }
    given.update(arguments)
    with pytest.raises(ParameterError, match=message):
        Controller(
            given["loop"],  # type: ignore[arg-type]
            given["source"],  # type: ignore[arg-type]
            given["actuator"],  # type: ignore[arg-type]
            interval=given["interval"],  # type: ignore[arg-type]
        )


def test_replica_counts_with_pending_and_warming_reach_the_policies() -> None:
    system = System(ManualClock(WALL), load=400.0)
    counts = ReplicaCounts(replicas=4, ready=3, pending=1, warming=1)
    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
        Observe(CallableSource(system.metrics), lambda: counts),
        CallbackActuator(system.scale),
        clock=system.clock,
    )
    record = c.step()
    assert record.observation is not None
    assert (record.observation.ready, record.observation.pending) == (3, 1)
    assert record.observation.warming == 1


def test_a_behavior_loop_runs_unchanged_under_the_controller() -> None:
    """The controller adds nothing to the loop: same observations, same decisions as step()."""
    system = System(ManualClock(WALL), load=400.0)
    loop = DecisionLoop(
        TargetTracking("cpu", 50.0),
        min_replicas=1,
        max_replicas=20,
        behavior=Behavior.kubernetes_default(),
    )
    reference = loop.clone()
    c = controller(system, loop=loop)
    c.run(steps=10)
    for record in c.history:
        assert record.observation is not None
        assert reference.step(record.observation) == record.decision


def test_a_negative_utilization_is_missing_never_a_scale_to_the_minimum() -> None:
    system = System(ManualClock(WALL), replicas=6)
    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
        Observe(CallableSource(lambda now: {"cpu": -3.0}, utilization={"cpu"}), lambda: 6),
        CallbackActuator(system.scale),
        clock=system.clock,
    )
    record = c.step()
    assert system.asked == [] and record.decision is not None
    assert record.decision.reason is Reason.NO_DATA
    assert record.missing == {"cpu": "cpu=-3.0 is negative"}


def test_with_two_policies_a_missing_metric_blocks_the_scale_in_the_other_wants() -> None:
    system = System(ManualClock(WALL), replicas=6)
    loop = DecisionLoop(
        [TargetTracking("cpu", 50.0), TargetTracking("rps", 100.0, kind="value")],
        min_replicas=1,
        max_replicas=20,
    )
    c = Controller(
        loop,
        Observe(CallableSource(lambda now: {"cpu": 10.0, "rps": math.nan}), lambda: 6),
        CallbackActuator(system.scale),
        clock=system.clock,
    )
    record = c.step()
    assert system.asked == []
    assert record.decision is not None and record.decision.reason is Reason.SCALE_IN_BLOCKED


@pytest.mark.parametrize(
    ("why", "options", "message"),
    [
        ("an interval below a millisecond", {"interval": 1e-9}, "interval=1e-09 is invalid"),
        ("an interval above a day", {"interval": 1e12}, "interval=1000000000000.0 is invalid"),
        ("a NaN interval", {"interval": math.nan}, "interval=nan is invalid"),
        ("a name that is not a string", {"name": None}, "name=None is invalid"),
        ("a clock that is not one", {"clock": "x"}, "clock='x' is invalid"),
        ("a retry that is not one", {"retry": "x"}, "retry='x' is invalid"),
        ("a shadow that is not one", {"shadow": "x"}, "shadow='x' is invalid"),
        ("strict that is not a bool", {"strict": "yes"}, "strict='yes' is invalid"),
        ("keep 0 (it kept everything)", {"keep": 0}, "keep=0 is invalid"),
        ("keep not an integer", {"keep": 1.5}, "keep=1.5 is invalid"),
        ("a checkpoint in a missing folder", {"checkpoint": "/nonexistent/x/ck"}, "checkpoint="),
        ("a log in a missing folder", {"log": "/nonexistent/x/log.jsonl"}, "log="),
        ("a log that is a folder", {"log": "/tmp"}, "log='/tmp' is invalid"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    why: str, options: dict[str, object], message: str
) -> None:
    system = System(ManualClock(WALL), load=400.0)
    with pytest.raises(ParameterError, match=re.escape(message)):
        controller(system, **options)
    assert system.asked == [], why


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"until": math.nan}, "until=nan is invalid"),
        ({"steps": 2.5}, "steps=2.5 is invalid"),
        ({"steps": -1}, "steps=-1 is invalid"),
        ({"steps": "3"}, "steps='3' is invalid"),
    ],
)
def test_bad_run_arguments_are_refused_before_any_step(
    arguments: dict[str, object], message: str
) -> None:
    system = System(ManualClock(WALL), load=400.0)
    c = controller(system)
    with pytest.raises(ParameterError, match=re.escape(message)):
        c.run(**arguments)  # type: ignore[arg-type]
    assert system.asked == [] and c.history == []


def test_a_closed_controller_runs_no_step(tmp_path: Path) -> None:
    system = System(ManualClock(WALL), load=400.0)
    c = controller(system, log=tmp_path / "log.jsonl")
    c.close()
    with pytest.raises(ParameterError, match="a controller not yet closed"):
        c.run(steps=1)
    assert system.asked == []


def test_a_log_line_cut_short_by_a_crash_stays_apart_from_the_next(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text('{"time": 1.0, "tick": 0}\n{"time": 2.0, "ti')  # killed mid-line
    c = controller(System(ManualClock(WALL)), log=path)
    c.run(steps=1)
    c.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"time": 2.0, "ti' and json.loads(lines[2])["time"] == WALL


def test_a_request_the_actuator_calls_invalid_is_not_retried() -> None:
    system = System(ManualClock(WALL), load=400.0)

    def refuse(decision: object) -> None:
        calls.append(1)
        raise ParameterError("replicas", 8, "at most max_workers (4)", owner="ProcessPool")

    calls: list[int] = []
    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
        Observe(CallableSource(system.metrics), lambda: system.replicas),
        type("Refusing", (), {"apply": staticmethod(refuse)})(),
        clock=system.clock,
    )
    record = c.step()
    assert calls == [1] and record.attempts == 1 and "max_workers" in (record.error or "")


def test_a_checkpoint_failure_is_counted_even_when_the_actuator_failed_too() -> None:
    class Full:
        def save(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

        def load(self) -> bytes | None:
            return None

    system = System(ManualClock(WALL), load=400.0)
    system.refuse = 10
    registry = CollectorRegistry()
    c = controller(system, registry=registry, checkpoint=Full(), retry=Retry(attempts=1))
    record = c.step()
    assert "refused" in (record.error or "") and "checkpoint could not be saved" in (
        record.error or ""
    )
    labels = {"controller": "elastic"}
    assert registry.get_sample_value("elastic_actuator_errors_total", labels) == 1
    assert registry.get_sample_value("elastic_checkpoint_errors_total", labels) == 1
    assert registry.get_sample_value("elastic_last_step_timestamp_seconds", labels) == WALL


def test_a_bad_startup_is_refused_and_a_huge_value_is_a_missing_metric() -> None:
    with pytest.raises(ParameterError, match="startup=-5 is invalid"):
        Observe(CallableSource(lambda now: {}), lambda: 1, startup=-5)
    reading = CallableSource(lambda now: {"cpu": 10**400}).read(0.0)
    assert reading.values == {} and "is not a finite number" in reading.missing["cpu"]


def test_a_second_sigterm_ends_a_step_that_hangs() -> None:
    script = textwrap.dedent(
        """
        import time
        from elastic import DecisionLoop
        from elastic.control import CallableSource, CallbackActuator, Controller, Observe
        from elastic.policies import TargetTracking
        def hang(n):
            print("hanging", flush=True)
            time.sleep(10**6)
        c = Controller(
            DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20),
            Observe(CallableSource(lambda now: {"cpu": 500.0}), lambda: 2),
            CallbackActuator(hang),
            interval=1.0,
        )
        c.run()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "hanging"
            process.terminate()  # the first asks the run to stop after the step: it hangs
            time.sleep(0.5)
            assert process.poll() is None
            process.terminate()  # the second ends it
            assert process.wait(timeout=10) == 128 + 15
        finally:
            process.kill()  # whatever happened, no process is left behind


def test_an_actuator_claiming_more_replicas_than_any_system_holds_is_not_acknowledged() -> None:
    system = System(ManualClock(WALL), load=400.0)
    c = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10),
        Observe(CallableSource(system.metrics), lambda: system.replicas),
        CallbackActuator(lambda n: 2**31),
        clock=system.clock,
        retry=Retry(attempts=1),
    )
    record = c.step()
    assert record.applied is None and "from 0 to 2147483647" in (record.error or "")
    assert c.loop.up_events_ == []


def test_missing_metric_labels_are_bounded_whatever_names_a_source_makes_up() -> None:
    system = System(ManualClock(WALL))
    registry = CollectorRegistry()
    names = {f"m{i}": math.nan for i in range(150)}
    c = controller(system, registry=registry, metrics=lambda now: {"cpu": 50.0, **names})
    c.run(steps=2)
    labelled = {
        sample.labels["metric"]
        for metric in registry.collect()
        if metric.name == "elastic_metrics_missing"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
    assert len(labelled) == 101 and "_other" in labelled
