"""Time for a controller: which clock says what, and a ticker that does not drift.

Two clocks, each for what it is good at:

- the **monotonic** clock measures intervals (when the next decision is
  due, how long a step took, backoff). It never jumps;
- the **wall** clock gives ``Observation.time``: cron schedules
  (:class:`~elastic.policies.Scheduled`) and logs need the time of day. A
  controller reads it once, at its start, and advances it by the monotonic
  clock from there (:class:`ObservationClock`), so a wall-clock step (NTP,
  a manual ``date -s``) neither skips nor repeats a decision and never
  sends the loop's time backwards.
"""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable

from elastic.core.validate import check_number

__all__ = ["Clock", "ManualClock", "ObservationClock", "SystemClock", "Ticker"]


@runtime_checkable
class Clock(Protocol):
    """The clocks and the sleep a controller uses; swap it for a :class:`ManualClock` in tests."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (only differences mean anything)."""
        ...

    def wall(self) -> float:
        """Unix time in seconds."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""


class SystemClock:
    """The machine's clocks: :func:`time.monotonic`, :func:`time.time` and :func:`time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to: :meth:`sleep` advances it at once.

    For tests and examples: a controller on it runs hours of decisions in
    milliseconds. :meth:`step_wall` moves the wall clock alone, as NTP or an
    operator would.

    Examples
    --------
    >>> clock = ManualClock(wall=1_700_000_000.0)
    >>> clock.sleep(15.0)
    >>> clock.monotonic(), clock.wall()
    (15.0, 1700000015.0)
    >>> clock.step_wall(-3600.0)
    >>> clock.monotonic(), clock.wall()
    (15.0, 1699996415.0)
    """

    def __init__(self, wall: float = 0.0) -> None:
        self._monotonic = 0.0
        self._wall = check_number(wall, "wall", owner="ManualClock")

    def monotonic(self) -> float:
        return self._monotonic

    def wall(self) -> float:
        return self._wall

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        """Move both clocks ``seconds`` forward."""
        seconds = check_number(seconds, "seconds", owner="ManualClock.advance", ge=0)
        self._monotonic += seconds
        self._wall += seconds

    def step_wall(self, seconds: float) -> None:
        """Move the wall clock alone by ``seconds`` (either way)."""
        self._wall += check_number(seconds, "seconds", owner="ManualClock.step_wall")

    def __repr__(self) -> str:
        return f"ManualClock(monotonic={self._monotonic:g}, wall={self._wall:g})"


class ObservationClock:
    """``Observation.time``: the wall time at the start, advanced by the monotonic clock.

    ``floor`` is a time the clock never goes below (the last decision's time
    restored from a checkpoint, when the wall clock has since gone back).

    Examples
    --------
    >>> clock = ManualClock(wall=1000.0)
    >>> now = ObservationClock(clock)
    >>> clock.advance(15.0); clock.step_wall(-600.0)
    >>> now()   # the step of the wall clock does not move it
    1015.0
    """

    def __init__(self, clock: Clock, floor: float = -math.inf) -> None:
        self._clock = clock
        self._wall = clock.wall()
        self._start = clock.monotonic()
        self._floor = floor

    def __call__(self) -> float:
        return max(self._wall + (self._clock.monotonic() - self._start), self._floor)


class Ticker:
    """Ticks every ``interval`` seconds on the monotonic clock, without drift.

    Tick ``k`` is due at ``start + k * interval`` (``start``: now, unless
    given, on the clock's monotonic time): a step's own duration
    does not push the later ones back. A step that overruns makes the
    ticker skip the ticks it missed (counted in :attr:`missed`) and go on
    with the latest one due, at once, rather than run a burst of late
    decisions.

    Examples
    --------
    >>> clock = ManualClock()
    >>> ticker = Ticker(15.0, clock)
    >>> ticker.wait(), clock.monotonic()
    (0, 0.0)
    >>> clock.advance(2.0)             # the step took 2 s
    >>> ticker.wait(), clock.monotonic()
    (1, 15.0)
    >>> clock.advance(40.0)            # a step of 40 s: ticks 2 and 3 are missed
    >>> ticker.wait(), clock.monotonic(), ticker.missed
    (3, 55.0, 1)
    """

    def __init__(self, interval: float, clock: Clock, start: float | None = None) -> None:
        self.interval = check_number(interval, "interval", owner="Ticker", gt=0)
        self._clock = clock
        self._start = clock.monotonic() if start is None else start
        self._next = 0
        self.missed = 0

    def due(self) -> tuple[int, float]:
        """The next tick and how many seconds until it is due (``<= 0``: due now)."""
        now = self._clock.monotonic()
        late = math.floor((now - self._start) / self.interval)
        tick = max(self._next, late)
        return tick, self._start + tick * self.interval - now

    def take(self, tick: int) -> None:
        """Mark ``tick`` as run: ticks before it that were not run count as missed."""
        self.missed += tick - self._next
        self._next = tick + 1

    def wait(self) -> int:
        """Sleep until the next tick is due; the tick's number."""
        tick, left = self.due()
        if left > 0:
            self._clock.sleep(left)
        self.take(tick)
        return tick
