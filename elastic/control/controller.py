"""The controller: a decision loop driven by the wall clock against a real system."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO

from prometheus_client import CollectorRegistry

from elastic.control.actuators import Applied, Retry
from elastic.control.checkpoint import Checkpoint, FileCheckpoint, Snapshotter, restore
from elastic.control.clock import Clock, ObservationClock, SystemClock, Ticker
from elastic.control.log import DecisionLog
from elastic.control.shadow import Shadow, ShadowStep
from elastic.control.sources import Observe, Sample
from elastic.control.step import StepRecord
from elastic.control.telemetry import Telemetry
from elastic.core.loop import DecisionLoop
from elastic.core.protocols import Actuator, MetricsSource
from elastic.core.types import Decision, Observation, Reason, Stage
from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError

__all__ = ["MAX_INTERVAL", "MIN_INTERVAL", "Controller"]

#: the bounds of a controller's interval, in seconds (a millisecond; a day)
MIN_INTERVAL = 0.001
MAX_INTERVAL = 86_400.0


class Controller:
    """Runs ``loop`` every ``interval`` seconds: observe, decide, act, log.

    Each step reads ``source`` (an :class:`~elastic.control.Observe`, or
    any :class:`~elastic.core.protocols.MetricsSource`), asks the loop to
    :meth:`~elastic.DecisionLoop.propose`, asks ``actuator`` for the count
    when it changed (retrying as ``retry`` says, never past the next tick)
    and :meth:`~elastic.DecisionLoop.acknowledge` s what the system took.
    A refused request leaves nothing in the loop: no scale event, no
    cooldown, no warming replicas.

    A controller keeps running through the failures of the world: replica
    counts it cannot read skip the step, a policy that raises holds the
    count (``Reason.POLICY_ERROR``), a refused request is retried and
    reported; each is logged and counted. ``strict=True`` raises instead.

    Parameters
    ----------
    loop
        The decision loop (the object a simulation ran).
    source
        Where observations come from.
    actuator
        Where decisions go: ``apply(decision)`` returns the count taken, or
        ``None`` for the count asked; raising means refused.
    interval
        Seconds between steps (the HPA's sync period is 15 s).
    name
        The ``controller`` label of its metrics.
    clock
        :class:`~elastic.control.clock.SystemClock` by default.
    log
        A path or a text stream for the JSON-lines decision log, or a
        :class:`~elastic.control.log.DecisionLog`; ``None`` for none.
    registry
        The ``prometheus-client`` registry of its metrics (its own by default;
        :meth:`serve_metrics` exposes it).
    retry
        How a refused request is retried.
    checkpoint
        Where the loop's state is kept after each step: a path (a
        :class:`~elastic.control.checkpoint.FileCheckpoint`) or any
        :class:`~elastic.control.checkpoint.Checkpoint`. A checkpoint found
        there at the start is restored into ``loop`` (which must have the
        parameters it was written with), so a restarted controller decides as
        one that never stopped.
    shadow
        Candidate loops that decide beside the live one on the same
        observations and never act (:class:`~elastic.control.shadow.Shadow`).
    strict
        Raise the errors of the source, the policies, the actuator and the
        checkpoint.
    keep
        How many of the last steps :attr:`history` keeps.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.control import CallableSource, CallbackActuator, Observe
    >>> from elastic.control.clock import ManualClock
    >>> from elastic.policies import TargetTracking
    >>> replicas = [2]
    >>> def scale(n):
    ...     replicas[0] = n
    >>> controller = Controller(
    ...     DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10),
    ...     Observe(CallableSource(lambda now: {"cpu": 50.0 * 4 / replicas[0]}),
    ...             lambda: replicas[0]),
    ...     CallbackActuator(scale),
    ...     interval=15.0,
    ...     clock=ManualClock(),
    ... )
    >>> controller.run(steps=3)
    >>> replicas[0], [r.applied for r in controller.history]
    (4, [4, 4, 4])
    """

    def __init__(
        self,
        loop: DecisionLoop,
        source: Observe | MetricsSource,
        actuator: Actuator,
        *,
        interval: float = 15.0,
        name: str = "elastic",
        clock: Clock | None = None,
        log: str | Path | IO[str] | DecisionLog | None = None,
        registry: CollectorRegistry | None = None,
        retry: Retry | None = None,
        checkpoint: str | Path | Checkpoint | None = None,
        shadow: Shadow | None = None,
        strict: bool = False,
        keep: int = 100,
    ) -> None:
        owner = "Controller"
        if not isinstance(loop, DecisionLoop):
            raise ParameterError("loop", loop, "a DecisionLoop", owner=owner)
        if not isinstance(source, Observe | MetricsSource):
            raise ParameterError(
                "source", source, "an Observe or a MetricsSource (read(now))", owner=owner
            )
        if not isinstance(actuator, Actuator):
            raise ParameterError(
                "actuator", actuator, "an Actuator (an object with apply(decision))", owner=owner
            )
        interval = check_number(interval, "interval", owner=owner, gt=0)
        if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
            raise ParameterError(
                "interval", interval, f"seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}",
                owner=owner,
            )  # fmt: skip
        if not isinstance(name, str) or not name:
            raise ParameterError("name", name, "a non-empty string", owner=owner)
        if clock is not None and not isinstance(clock, Clock):
            raise ParameterError(
                "clock", clock, "a Clock (monotonic(), wall() and sleep())", owner=owner
            )
        if retry is not None and not isinstance(retry, Retry):
            raise ParameterError("retry", retry, "None or a Retry", owner=owner)
        if shadow is not None and not isinstance(shadow, Shadow):
            raise ParameterError("shadow", shadow, "None or a Shadow", owner=owner)
        if shadow is not None and any(c is loop for c in shadow.candidates.values()):
            raise ParameterError(
                "shadow", shadow, "candidates with loops of their own, not the live loop",
                owner=owner,
            )  # fmt: skip
        if not isinstance(strict, bool):
            raise ParameterError("strict", strict, "True or False", owner=owner)
        if isinstance(checkpoint, str | Path) and not Path(checkpoint).parent.is_dir():
            raise ParameterError(
                "checkpoint", str(checkpoint), "a file in an existing folder", owner=owner
            )
        self.loop = loop
        self.source = source
        self.actuator = actuator
        self.interval = interval
        self.name = name
        self.clock: Clock = SystemClock() if clock is None else clock
        self.log = log if log is None or isinstance(log, DecisionLog) else DecisionLog(log)
        self.telemetry = Telemetry(name, registry)
        self.retry = Retry() if retry is None else retry
        self.strict = strict
        self.keep = check_int(keep, "keep", owner=owner, ge=1)
        self.shadow = shadow
        self.history: list[StepRecord] = []  # the last ``keep`` steps
        self.checkpoint = (
            FileCheckpoint(checkpoint) if isinstance(checkpoint, str | Path) else checkpoint
        )
        if self.checkpoint is not None:
            saved = self.checkpoint.load()
            if saved is not None:
                restore(loop, saved, source=str(checkpoint))
        self._snapshot = Snapshotter(loop)
        self._stop = threading.Event()
        self._ticks = 0
        self._last: float | None = None  # when the last step started (monotonic)
        self._closed = False
        # observation times never go below the loop's last one (restored from a checkpoint)
        floor = -math.inf if loop.time_ is None else loop.time_
        self._now = ObservationClock(self.clock, floor=floor)

    def step(self) -> StepRecord:
        """Run one step now (outside :meth:`run`'s schedule)."""
        self._check_open("Controller.step")
        record = self._step(self._ticks, self.clock.monotonic() + self.interval, missed=0)
        self._ticks += 1
        return record

    def stop(self) -> None:
        """Ask :meth:`run` to return once the current step is done (safe from any thread)."""
        self._stop.set()

    def run(self, *, until: float | None = None, steps: int | None = None) -> None:
        """Step every ``interval`` seconds until :meth:`stop`, SIGINT or SIGTERM, until the
        observation time would pass ``until`` (wall seconds), or for ``steps`` steps.

        A second SIGINT or SIGTERM while the step under way finishes exits at
        once (``SystemExit``), for a source or an actuator that hangs."""
        _check_run(until, steps, "Controller.run")
        self._check_open("Controller.run")
        self._stop.clear()
        ticker = self._ticker()
        done = 0
        with self._signals():
            while not self._stop.is_set() and (steps is None or done < steps):
                tick, left = ticker.due()
                if until is not None and self._now() + max(left, 0.0) > until:
                    break
                if left > 0:
                    self._pause(left)
                    continue  # ask again: a stop may have come, or the sleep ended early
                missed = ticker.missed
                ticker.take(tick)
                deadline = self.clock.monotonic() + self.interval
                self._step(self._ticks, deadline, missed=ticker.missed - missed)
                self._ticks += 1
                done += 1

    async def arun(self, *, until: float | None = None, steps: int | None = None) -> None:
        """:meth:`run` inside an asyncio event loop: the steps run in a worker thread, so the
        event loop stays free; SIGINT and SIGTERM stop it as they stop :meth:`run`."""
        _check_run(until, steps, "Controller.arun")
        self._check_open("Controller.arun")
        self._stop.clear()
        ticker = self._ticker()
        event_loop = asyncio.get_running_loop()
        installed = []
        for number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                event_loop.add_signal_handler(number, self._stop.set)
                installed.append(number)
        done = 0
        try:
            while not self._stop.is_set() and (steps is None or done < steps):
                tick, left = ticker.due()
                if until is not None and self._now() + max(left, 0.0) > until:
                    break
                if left > 0:
                    if isinstance(self.clock, SystemClock):
                        await asyncio.sleep(min(left, 1.0))  # wakes at least every second
                    else:
                        self.clock.sleep(left)
                    continue
                missed = ticker.missed
                ticker.take(tick)
                deadline = self.clock.monotonic() + self.interval
                await asyncio.to_thread(self._step, self._ticks, deadline, ticker.missed - missed)
                self._ticks += 1
                done += 1
        finally:
            for number in installed:
                event_loop.remove_signal_handler(number)

    def _ticker(self) -> Ticker:
        """The schedule of a run: now, or one interval after the last step if that is later
        (a second run() neither repeats the last decision's instant nor bunches up)."""
        now = self.clock.monotonic()
        start = now if self._last is None else max(now, self._last + self.interval)
        return Ticker(self.interval, self.clock, start)

    def serve_metrics(self, port: int, address: str = "127.0.0.1") -> None:
        """Expose the controller's metrics for Prometheus at ``http://address:port/metrics``."""
        self.telemetry.serve(port, address)

    def close(self) -> None:
        """Close the decision log's file and release the checkpoint; the controller runs no
        more steps."""
        self._closed = True
        if self.log is not None:
            self.log.close()
        release = getattr(self.checkpoint, "close", None)
        if callable(release):
            release()

    def _check_open(self, owner: str) -> None:
        if self._closed:
            raise ParameterError("controller", "closed", "a controller not yet closed", owner=owner)

    # --- one step ---------------------------------------------------------------------------

    def _step(self, tick: int, deadline: float, missed: int) -> StepRecord:
        started = self._last = self.clock.monotonic()
        now = self._now()
        observation: Observation | None = None
        missing: dict[str, str] = {}
        decision: Decision | None = None
        applied = Applied(None, 0)
        failed: list[str] = []  # what failed: "source", "policy", "actuator", "checkpoint"
        error: str | None = None
        try:
            sample = self._sample(now)
        except Exception as failure:
            if self.strict:
                raise
            failed.append("source")
            error = f"the replica counts could not be read: {_words(failure)}"
        else:
            observation, missing = sample.observation, dict(sample.missing)
            try:
                decision = self.loop.propose(observation)
            except Exception as failure:
                if self.strict:
                    raise
                failed.append("policy")
                error = f"the loop raised {_words(failure)}: the count is held"
                decision = _held(observation, error)
            else:
                if decision.changed:
                    applied = self.retry.apply(self.actuator.apply, decision, self.clock, deadline)
                    if applied.replicas is None:
                        if self.strict:
                            raise RuntimeError(f"the actuator refused: {applied.error}")
                        failed.append("actuator")
                        error = (
                            f"the system refused {decision.replicas} replicas after "
                            f"{applied.attempts} attempts: {applied.error}"
                        )
                    else:
                        self.loop.acknowledge(decision, applied.replicas)
                else:
                    self.loop.acknowledge(decision)
                    applied = Applied(decision.replicas, 0)
        shadows: dict[str, ShadowStep] = {}
        if self.shadow is not None and observation is not None and decision is not None:
            shadows = self.shadow.step(observation, decision)
        if self.checkpoint is not None:
            try:
                self.checkpoint.save(self._snapshot())
            except Exception as failure:
                if self.strict:
                    raise
                failed.append("checkpoint")
                saved = f"the checkpoint could not be saved: {_words(failure)}"
                error = saved if error is None else f"{error}; {saved}"
        record = StepRecord(
            tick,
            now,
            observation,
            missing,
            decision,
            applied.replicas,
            applied.attempts,
            error,
            self.clock.monotonic() - started,
            shadows,
        )
        self.history.append(record)
        del self.history[: -self.keep]
        if self.log is not None:
            self.log.write(record)
        self.telemetry.record(record, failed=failed, missed=missed, wall=self.clock.wall())
        return record

    def _sample(self, now: float) -> Sample:
        if isinstance(self.source, Observe):
            return self.source.sample(now)
        return Sample(self.source.read(now))

    def _pause(self, seconds: float) -> None:
        if isinstance(self.clock, SystemClock):
            self._stop.wait(seconds)  # a stop ends the wait at once
        else:
            self.clock.sleep(seconds)

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop the run (in the main thread, where Python delivers them)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(number: int, frame: FrameType | None) -> None:
            if self._stop.is_set():  # asked twice: the step under way may hang
                raise SystemExit(128 + number)
            self._stop.set()

        previous = {n: signal.signal(n, stop) for n in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, old in previous.items():
                signal.signal(number, old)

    def __repr__(self) -> str:
        return (
            f"Controller({self.loop!r}, {self.source!r}, {self.actuator!r}, "
            f"interval={self.interval:g})"
        )


def _check_run(until: float | None, steps: int | None, owner: str) -> None:
    if until is not None:
        check_number(until, "until", owner=owner)
    if steps is not None:
        check_int(steps, "steps", owner=owner, ge=0)


def _words(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _held(observation: Observation, why: str) -> Decision:
    """The decision of a step whose loop raised: the count stays."""
    current = observation.replicas
    return Decision(
        observation.time,
        current,
        current,
        (),
        (Stage("combine", current, Reason.POLICY_ERROR, why),),
    )
