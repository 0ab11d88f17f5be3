"""Fluid fidelity: the same scenario advanced tick by tick with aggregated demand.

The replicas of a run share one backlog of work (perfect load balancing).
Per tick, ``count * E[service]`` seconds of work arrive and the accepting
replicas serve ``slots * tick`` seconds of it; the backlog recursion
``B[k] = max(0, B[k-1] + work[k] - capacity[k])`` is solved for a whole
control interval at once with cumulative sums (a Lindley recursion).

The control plane is the request-level one (the same ``DecisionLoop``,
metrics delays, boot, warm-up, drain, failures, spot notices, the same
ledger), on the tick grid: a replica starts or stops serving at the first
tick boundary after the moment it does so in the request-level model, while
billing uses the exact moments.

What it reports, and how it approximates the request-level run:

- counts are whole requests: ``completed`` is the served work divided by the
  mean service time, rounded down cumulatively, so conservation holds exactly;
- ``utilization`` is served work over offered capacity, as in request-level;
- the mean latency of a tick is ``E[S] + B / slots`` (the backlog ahead)
  plus the Allen-Cunneen mean wait at the interval's load when it is below
  capacity (see ``_queueing``); the run's latency histogram is the
  distribution this implies, the service distribution and an Erlang C
  wait around those means, mixed over the ticks
  (:class:`~elastic.sim.fluid_latency.LatencyMix`). Per-interval
  percentiles are NaN, and ``latency_p95`` is not among the metrics a
  controller sees;
- a queue bound or a timeout caps the backlog (``slots + queue_capacity``
  requests per replica; ``timeout`` seconds of wait): the excess is dropped
  or timed out;
- a draining replica takes its share of the backlog with it and finishes it
  at its own capacity, within the drain timeout; a failed replica fails its
  share and its busy slots' requests in service (taken from the work served
  in the interval of the failure, so a request is never both completed and
  failed);
- a failure or a spot notice takes effect on the backlog at the start of
  the control interval it falls in (on capacity, at its tick).
"""

from __future__ import annotations

import math
from heapq import heappop, heappush
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from elastic.core.validate import check_number
from elastic.cost.ledger import Ledger
from elastic.errors import ParameterError
from elastic.queueing import mmc_wait
from elastic.sim.backend import FleetState, Outcomes
from elastic.sim.clock import same_instant
from elastic.sim.distributions import Constant
from elastic.sim.fluid_arrivals import ArrivalBatches, MeanField
from elastic.sim.fluid_backlog import Ticks, backlog_recursion
from elastic.sim.fluid_latency import LatencyMix
from elastic.sim.limits import MAX_FLUID_TICKS
from elastic.sim.node_cost import CostSplit
from elastic.sim.randomness import Streams
from elastic.sim.records import QUANTILES
from elastic.sim.scenario import Scenario
from elastic.sim.stats import LatencyHistogram
from elastic.sim.workload import TraceReplay

__all__ = ["FluidFleet", "backlog_recursion"]

FloatArray = NDArray[np.float64]
_INF = math.inf
# per-interval percentiles are not claimed in fluid (see the module's docstring)
_NO_PERCENTILES = {"latency_max": math.nan, **dict.fromkeys(QUANTILES, math.nan)}


class _Unit:
    """Replicas of the fluid model requested together, sharing the moments of their lifecycle.

    A cohort holds the replicas numbered ``first`` to ``first + count - 1``
    (billed as ``r<number>``). Replicas that can fail or be interrupted on
    their own, or that boot in random times, are cohorts of one; so a scale-up
    of a hundred identical replicas is one object and one event, not a hundred.
    """

    __slots__ = ("count", "first", "id", "leave_at", "phase", "ready_at", "warm_at")

    def __init__(self, index: int, first: int, count: int, ready_at: float, warm_at: float) -> None:
        self.id = index
        self.first = first
        self.count = count
        self.ready_at = ready_at
        self.warm_at = warm_at
        self.leave_at = _INF  # its last replica stops taking work (drain, notice, failure, cancel)
        self.phase = "pending"  # then "warming", "ready"; "gone" once the last one leaves


class FluidFleet:
    """The replicas of a fluid run: cohorts sharing one backlog of work, advanced tick by tick.

    The fluid backend of the driver (see the module's docstring for the
    model). A call of :meth:`run_until` computes the ticks of the whole
    control interval it falls in; scrapes in that interval read them.

    Parameters
    ----------
    tick
        Seconds per step of the fluid model. The default is the longest
        step that divides the control interval, the scrape resolution, the
        duration and the bucket of a replayed trace (1 s for generated
        workloads); each of those must be a whole number of ticks.
    scrape_noise
        Whether a scrape measures with the sampling noise of a finite
        window of requests (see :meth:`_noisy`), or the expected values.
    """

    #: every metric a fluid controller can be given
    PRODUCES: ClassVar[tuple[str, ...]] = ("cpu", "concurrency", "rps", "queue_length")

    def __init__(
        self,
        scenario: Scenario,
        streams: Streams,
        ledger: Ledger,
        *,
        tick: float | None = None,
        scrape_noise: bool = True,
    ) -> None:
        self.scenario = scenario
        workload = scenario.workload
        if tick is None:
            bucket = workload.bucket if isinstance(workload, TraceReplay) else 1.0
            tick = _common_tick(
                bucket, scenario.control_interval, scenario.metrics.resolution, scenario.duration
            )
        self.tick = check_number(tick, "tick", owner="simulate", gt=0)
        if scenario.duration / self.tick > MAX_FLUID_TICKS:
            raise ParameterError(
                "tick",
                self.tick,
                f"at least {scenario.duration / MAX_FLUID_TICKS:.3g} s for a duration of "
                f"{scenario.duration:g} s: a fluid run makes at most {MAX_FLUID_TICKS} ticks "
                "(the tick is the longest that divides the control interval, the metrics "
                "resolution, the duration and a trace's bucket: make them whole seconds)",
                owner="simulate",
            )
        for name, value in (
            ("control_interval", scenario.control_interval),
            ("metrics.resolution", scenario.metrics.resolution),
            ("duration", scenario.duration),
        ):
            if not _whole(value, self.tick):
                raise ParameterError(
                    name,
                    value,
                    f"a whole number of fluid ticks ({self.tick:g} s)",
                    owner="simulate",
                )
        self.arrivals = ArrivalBatches(
            workload.stream(streams.generator("arrivals")),
            self.tick,
            scenario.control_interval,
            scenario.duration,
            scenario.service.mean,
        )
        self.rng = {name: streams.generator(name) for name in ("boot", "failures", "spot")}
        self.ledger = ledger
        # the sampling noise of each scrape: a stream of its own, row k for the k-th scrape
        # on the schedule (read or not), so measuring more or fewer scrapes changes nothing
        if not isinstance(scrape_noise, bool):
            raise ParameterError("scrape_noise", scrape_noise, "True or False", owner="simulate")
        self.scrape_noise = scrape_noise
        self._noise = streams.generator("scrape noise")
        self._noise_rows: list[list[float]] = []
        self._noise_block = -1  # the block of rows drawn last
        self._expected = MeanField(workload)
        self.service = scenario.service.mean
        # every cohort of the run by id; None once its last replica has left, so that a
        # month of churn does not keep tens of thousands of objects for the GC to walk
        self.units: list[_Unit | None] = []
        self.live: dict[int, _Unit] = {}  # cohorts not yet leaving, by id, oldest first
        self._live = 0  # replicas in them
        self._numbered = 0  # replicas requested so far
        self.leaving: list[tuple[float, int]] = []  # draining: (stops at, replicas)
        self._changes: list[tuple[int, int, int]] = []  # (tick number, order, slot change), a heap
        self._events: list[tuple[float, int, str]] = []  # (time, unit, failure or notice)
        self._level = 0  # accepting slots at the current tick
        self._boots: list[tuple[float, int]] = []  # (ready at, unit), a heap
        self._warms: list[tuple[float, int]] = []  # (warm at, unit), a heap
        self._pending = self._warming = 0
        self._sequence = 0
        self.backlog = 0.0  # seconds of work not yet done
        self._utilization = 0.0  # busy share of the slots in the last tick
        self.now = 0.0
        self._start = 0.0  # the interval whose ticks are computed: [_start, now)
        self._ticks: Ticks | None = None
        self._skipped: float | None = None  # the newest scrape skipped since the last one taken
        # cumulative counts; completions are served work / E[S], rounded down
        self.arrived = self.dropped = 0
        self.served = 0.0
        self.lost_drop = self.lost_timeout = self.lost_fail = 0.0  # work, for exact counts
        self._in_service_failed = 0.0  # work in service on replicas failed in this interval
        self._counted = (0, 0, 0, 0)  # completed, dropped, timed out, failed: last record
        self.failures = self.interruptions = 0
        # the latency distribution of the run, counted exactly at the SLO
        self._latencies = LatencyMix(
            scenario.service, streams.generator("fluid service"), objective=scenario.slo
        )
        self._scv = scenario.service.scv
        self._scrape = _ScrapeState()
        self._request(0.0, scenario.initial_replicas, booted=True)

    # --- the replicas ------------------------------------------------------------------------

    def _request(self, now: float, count: int, *, booted: bool = False) -> None:
        spec = self.scenario.replica
        if not count:
            return
        alike = spec.mtbf is None and spec.spot_mtbi is None and isinstance(spec.boot, Constant)
        for size in [count] if alike else [1] * count:
            boot = 0.0 if booted else spec.boot.one(self.rng["boot"])
            ready = now + boot
            unit = _Unit(
                len(self.units),
                self._numbered,
                size,
                ready,
                ready + (0.0 if booted else spec.warmup),
            )
            self._numbered += size
            self.units.append(unit)
            self.live[unit.id] = unit
            self._live += size
            self._pending += size
            heappush(self._boots, (unit.ready_at, unit.id))
            self._change(unit.ready_at, spec.slots * size)
            if spec.mtbf is not None:
                fail_at = now + self.rng["failures"].exponential(spec.mtbf)
                heappush(self._events, (fail_at, unit.id, "fail"))
            if spec.spot_mtbi is not None:
                notice_at = now + self.rng["spot"].exponential(spec.spot_mtbi)
                heappush(self._events, (notice_at, unit.id, "notice"))
            names = [f"r{number}" for number in range(unit.first, unit.first + size)]
            self.ledger.start_many(names, spec.kind, now)

    def _change(self, t: float, slots: int) -> None:
        """Accepting slots change by ``slots`` from the first tick boundary at or after ``t``."""
        self._sequence += 1
        heappush(self._changes, (math.ceil(t / self.tick - 1e-9), self._sequence, slots))

    def _slots(self, start: float, ticks: int, end: float) -> int | NDArray[np.int64]:
        """Accepting slots at each tick start of ``[start, end)`` (one number if constant)."""
        changes = self._changes
        first = round(start / self.tick)  # the interval's first tick, counted from 0
        # changes at the first tick (boots and scale-ins land on decision times) keep it flat
        while changes and changes[0][0] <= first:
            self._level += heappop(changes)[2]
        if not changes or changes[0][0] >= first + ticks:
            return self._level
        change = np.zeros(ticks, dtype=np.int64)
        while changes and changes[0][0] < first + ticks:
            at, _, slots = heappop(changes)
            change[at - first] += slots
        level = self._level + np.cumsum(change)
        self._level = int(level[-1])
        return level

    def _leave(
        self,
        unit: _Unit,
        count: int,
        t: float,
        *,
        limit: float,
        fail_rest: bool,
        interrupted: bool = False,
    ) -> None:
        """The ``count`` newest replicas of ``unit`` stop taking work at ``t``.

        Each has ``limit`` seconds for its share of the backlog, newest first.
        ``interrupted``: the provider takes them back (a spot interruption), which
        the ledger bills by its own rule.
        """
        slots = self.scenario.replica.slots
        self._states(t)
        if unit.phase == "pending":
            self._pending -= count
        elif unit.phase == "warming":
            self._warming -= count
        last = unit.first + unit.count
        numbers = range(last - 1, last - 1 - count, -1)
        unit.count -= count
        self._live -= count
        if not unit.count:
            del self.live[unit.id]
            unit.leave_at = t
            unit.phase = "gone"
            self.units[unit.id] = None
        names = [f"r{number}" for number in numbers]
        if unit.ready_at > t:  # still provisioning: cancelled
            self._change(unit.ready_at, -slots * count)
            self._left(unit, names, [t] * count, interrupted=interrupted)
            return
        self._change(t, -slots * count)
        # the provider takes an interrupted replica at the notice's end, however soon its
        # work is done (as at request level): drained until then, and billed until then
        if not self.backlog and not fail_rest:  # nothing to finish: they all stop now
            stop = t + limit if interrupted else t
            self._stopped(stop, count)
            self._left(unit, names, [stop] * count, interrupted=interrupted)
            return
        accepting = max(self._level // slots, 1)
        stops = []
        for _ in range(count):  # newest first, each taking its share of what is left
            share = self.backlog / accepting
            self.backlog -= share
            finish = share / slots
            if fail_rest:
                # its requests in service fail too: about its busy slots' worth of requests.
                # Their work counts as served as it is done, so they are taken from the work
                # served in this interval (never from requests already counted as completed)
                self._lose(share, "fail")
                self._in_service_failed += slots * self._utilization * self.service
                finish = 0.0
            elif finish > limit:
                self._lose(share - slots * limit, "fail")
                self.served += slots * limit
                finish = limit
            else:
                self.served += share
            stop = t + limit if interrupted else t + finish
            stops.append(stop)
            self._stopped(stop, 1)
        self._left(unit, names, stops, interrupted=interrupted)

    def _left(
        self, unit: _Unit, names: list[str], stops: list[float], *, interrupted: bool
    ) -> None:
        """Replicas ``names`` of ``unit`` (newest first) stopped taking work; each is gone
        at its ``stops``: billed until then."""
        self.ledger.stop_many(names, stops, interrupted=interrupted)

    def _stopped(self, stop: float, count: int) -> None:
        """``count`` replicas drain until ``stop``."""
        leaving = self.leaving
        if leaving and leaving[-1][0] == stop:
            leaving[-1] = (stop, leaving[-1][1] + count)
        else:
            leaving.append((stop, count))

    def _lose(self, work: float, why: str) -> None:
        if work <= 0:
            return
        if why == "drop":
            self.lost_drop += work
        elif why == "timeout":
            self.lost_timeout += work
        else:
            self.lost_fail += work

    def scale_to(self, replicas: int, now: float) -> None:
        """Request or remove replicas so that ``replicas`` are live (newest go first)."""
        if replicas > self._live:
            self._request(now, replicas - self._live)
            return
        left = self._live - replicas
        plan: list[tuple[_Unit, int]] = []
        for provisioning in (True, False) if self._pending else (False,):
            # provisioning ones first, then the others; newest first in each
            for unit in reversed(self.live.values()):
                if not left:
                    break
                if (unit.ready_at > now) == provisioning:
                    plan.append((unit, min(left, unit.count)))
                    left -= plan[-1][1]
        for unit, count in plan:
            self._leave(
                unit, count, now, limit=self.scenario.replica.drain_timeout, fail_rest=False
            )

    def _lifecycle_events(self, end: float) -> None:
        """Failures and spot notices before ``end``."""
        spec = self.scenario.replica
        events = self._events
        while events and events[0][0] < end:
            at, index, kind = heappop(events)
            unit = self.units[index]
            if unit is None or at >= unit.leave_at:
                continue  # it had already left
            if kind == "fail":
                self.failures += 1
                self._leave(unit, 1, at, limit=0.0, fail_rest=True)
            else:
                self.interruptions += 1
                self._leave(unit, 1, at, limit=spec.spot_notice, fail_rest=False, interrupted=True)

    def _states(self, t: float) -> tuple[int, int, int]:
        """Live replicas provisioning, warming and ready at ``t`` (``t`` never goes back)."""
        boots, warms, units = self._boots, self._warms, self.units
        while boots and boots[0][0] <= t:
            unit = units[heappop(boots)[1]]
            if unit is not None and unit.phase == "pending":
                self._pending -= unit.count
                if unit.warm_at > t:
                    unit.phase = "warming"
                    self._warming += unit.count
                    heappush(warms, (unit.warm_at, unit.id))
                else:
                    unit.phase = "ready"
        while warms and warms[0][0] <= t:
            unit = units[heappop(warms)[1]]
            if unit is not None and unit.phase == "warming":
                unit.phase = "ready"
                self._warming -= unit.count
        return self._pending, self._warming, self._live - self._pending - self._warming

    # --- one control interval ------------------------------------------------------------------

    def _advance(self) -> Ticks:
        """Run the ticks of the next control interval, ``[self.now, self.arrivals.end)``."""
        start, tick, service = self.now, self.tick, self.service
        arrivals = self.arrivals
        arrivals.next(start)
        end, counts, arrived = arrivals.end, arrivals.row_counts, arrivals.arrived
        ticks = len(counts)
        self._lifecycle_events(end)
        level = self._slots(start, ticks, end)
        spec = self.scenario.replica
        self.arrived += arrived
        self.now = end
        if isinstance(level, int):
            capacity = level * tick
            if (
                level > 0
                and self.backlog == 0.0
                and spec.queue_capacity is None
                and spec.timeout is None
                and (not arrived or arrivals.peak <= capacity)
            ):
                # nothing queued and every tick below capacity (the usual interval):
                # no backlog builds, all work is served, one latency for the interval
                served_total = arrivals.total
                self.served += served_total
                self._utilization = arrivals.last / capacity
                load = arrived * service / (ticks * tick)
                wait, chance = self._queueing(level / spec.slots, load)
                return Ticks(
                    counts=counts,
                    served=arrivals.row_work,
                    capacity=capacity,
                    backlog=0.0,
                    latency=service + wait,
                    delay=0.0,
                    wait=wait,
                    chance=chance,
                    arrived=arrived,
                    served_total=served_total,
                    everyone=True,
                    served_upto=arrivals.row_work_upto,
                    arrived_upto=arrivals.row_counts_upto,
                )
            slots = np.full(ticks, level, dtype=np.int64)
        else:
            slots = level
        work = arrivals.row_work.copy()
        everyone = bool(slots.min() > 0)
        if not everyone:
            nobody = slots == 0
            self.dropped += int(counts[nobody].sum())
            work[nobody] = 0.0
        capacities: FloatArray = np.multiply(slots, tick, dtype=np.float64)
        cap = None
        if spec.queue_capacity is not None or spec.timeout is not None:
            cap = np.full(ticks, np.inf)
            if spec.queue_capacity is not None:
                replicas = slots / spec.slots
                cap = np.minimum(cap, replicas * (spec.slots + spec.queue_capacity) * service)
            if spec.timeout is not None:
                cap = np.minimum(cap, slots * spec.timeout)
        backlog, served, lost = backlog_recursion(self.backlog, work, capacities, cap)
        served_total = float(served.sum())
        self.served += served_total
        if cap is not None:
            why = "timeout" if spec.timeout is not None and spec.queue_capacity is None else "drop"
            self._lose(float(lost.sum()), why)
        self.backlog = float(backlog[-1])
        if capacities[-1] > 0:
            self._utilization = float(served[-1] / capacities[-1])
        # latency: the backlog ahead, plus the queueing wait below capacity
        wait = chance = 0.0
        if everyone:
            delay = backlog / slots
            load = arrived * service / (ticks * tick)
            wait, chance = self._queueing(float(slots.mean()) / spec.slots, load)
        else:
            serving = ~nobody
            delay = np.where(serving, backlog / np.maximum(slots, 1), np.nan)
            if serving.any():
                load = float(counts[serving].sum()) * service / (serving.sum() * tick)
                wait, chance = self._queueing(float(slots[serving].mean()) / spec.slots, load)
        return Ticks(
            counts=counts,
            served=served,
            capacity=capacities,
            backlog=backlog,
            latency=service + delay + wait,
            delay=delay,
            wait=wait,
            chance=chance,
            arrived=arrived,
            served_total=served_total,
            everyone=everyone,
            served_upto=np.cumsum(served),
            arrived_upto=arrivals.row_counts_upto,
        )

    def _queueing(self, replicas: float, load: float) -> tuple[float, float]:
        """Mean wait below capacity (Allen-Cunneen: ``(ca2 + cs2) / 2`` times the M/M/c wait).

        With it, the chance to wait (Erlang C), for the wait's distribution.

        A balancer that reads the load pools the replicas into one M/M/(n c)
        queue; round robin and random give each replica its own M/M/c queue,
        fed by an Erlang-n (``ca2 = 1/n``) or a Poisson (``ca2 = 1``) stream.
        """
        slots, balancer = self.scenario.replica.slots, self.scenario.balancer
        if balancer in ("least_outstanding", "shortest_queue"):
            servers, offered, ca2 = round(replicas * slots), load, 1.0
        else:
            servers, offered = slots, load / replicas
            ca2 = 1 / replicas if balancer == "round_robin" else 1.0
        wait, chance = mmc_wait(servers, offered, self.service)
        return (ca2 + self._scv) / 2 * wait, chance

    # --- what the controller sees ---------------------------------------------------------------

    def _sample(self, now: float) -> dict[str, float]:
        state = self._scrape
        window = now - state.last
        sample: dict[str, float] = {}
        arrived = float(state.arrived_now - state.arrived_then)
        served = state.served_now - state.served_then
        busy = state.busy_now
        offered = state.capacity_now - state.capacity_then
        if self.scrape_noise and window > 0:
            arrived, served, busy = self._noisy(now, window, arrived, served, busy, offered)
        if window > 0:
            sample["rps"] = arrived / window
        ready = self._states(now)[2]
        queued = state.backlog_now / self.service if self.service else 0.0
        if ready and offered > 0:
            sample["cpu"] = 100.0 * served / offered
            sample["concurrency"] = (busy + queued) / ready
        sample["queue_length"] = queued
        state.last = now
        state.arrived_then, state.served_then = state.arrived_now, state.served_now
        state.capacity_then = state.capacity_now
        return sample

    def _noisy(
        self, now: float, window: float, arrived: float, served: float, busy: float, offered: float
    ) -> tuple[float, float, float]:
        """What a scrape of real requests measures: arrivals, busy work, busy slots, with noise.

        The fluid values are expectations; a finite window of requests has a
        Poisson count (when the fluid counts are expected ones, see
        :class:`~elastic.sim.fluid_arrivals.MeanField`) and random service
        times. Over a window ``W`` at ``n`` requests of mean ``s`` and
        squared coefficient of variation ``scv``, the busy time of an
        infinite-server queue has variance ``(n / W) s**2 (c + scv) h``,
        ``h = W - s (1 - exp(-W / s))`` (``h`` is ``W`` for windows much longer than a request, and
        ``W**2 / (2 s)`` for much shorter ones) where ``c`` is the share of
        the counts that are expected; the busy slots at the scrape vary as a
        Poisson count. Nothing varies while work is queued (every slot is busy).
        """
        z_count, z_service, z_busy = self._scrape.noise
        s = self.service
        count_share = self._expected.share(now)
        if count_share and arrived > 0:
            arrived = max(0.0, arrived + math.sqrt(count_share * arrived) * z_count)
        if self._scrape.backlog_now > 0 or s <= 0:
            return arrived, served, busy
        requests = served / s
        if requests > 0:
            h = window - s * -math.expm1(-window / s)
            rate = requests / window
            count = s * math.sqrt(rate * count_share * h) * z_count
            service = s * math.sqrt(rate * self._scv * h) * z_service
            served = min(max(served + count + service, 0.0), offered)
        if busy > 0:
            busy = min(max(busy + math.sqrt(busy) * z_busy, 0.0), float(self._level))
        return arrived, served, busy

    # --- the backend's interface ---------------------------------------------------------------

    def run_until(self, t: float) -> None:
        """Compute the ticks of the control interval ``t`` falls in, if not done yet."""
        if t > self.now and not same_instant(t, self.now):
            assert self._ticks is None, "outcomes() closes an interval before the next one"
            self._start = self.now
            self._ticks = self._advance()

    def _current(self) -> Ticks:
        assert self._ticks is not None, "run_until() first"
        return self._ticks

    def sample(self, t: float) -> dict[str, float]:
        """The scrape at ``t``, read from the ticks of its interval."""
        ticks, state = self._current(), self._scrape
        if self.scrape_noise:
            state.noise = self._noise_of(t)
        self._catch_up(ticks)
        k = self._reach(t, ticks)
        state.busy_now = float(ticks.served[k]) / self.tick
        state.backlog_now = ticks.backlog_at(k)
        return self._sample(t)

    def skip(self, t: float) -> None:
        """A scrape no decision reads only moves the window on (when the next one is taken)."""
        self._skipped = t

    def state(self, t: float) -> FleetState:
        pending, warming, ready = self._states(t)
        return FleetState(
            replicas=self._live,
            ready=warming + ready,
            pending=pending,
            warming=warming,
            draining=sum(count for stop, count in self.leaving if stop > t),
        )

    def outcomes(self, start: float, end: float) -> Outcomes:
        ticks = self._current()
        self._ticks = None
        self._catch_up(ticks)
        state = self._scrape
        state.served_base += float(ticks.served_upto[-1])
        state.arrived_base += int(ticks.arrived_upto[-1])
        state.capacity_base += ticks.offered(len(ticks.counts))
        if self._in_service_failed:
            # what the failed replicas had in service is served work of this interval that
            # fails instead; at most that work, so no completed request is counted twice
            taken = min(self._in_service_failed, ticks.served_total)
            self.served -= taken
            self._lose(taken, "fail")
            self._in_service_failed = 0.0
        now = self._totals()
        before, self._counted = self._counted, now
        if self.leaving:
            self.leaving = [(stop, count) for stop, count in self.leaving if stop > end]
        counts, latency, delay = ticks.counts, ticks.latency, ticks.delay
        if isinstance(latency, float):
            served = ticks.arrived
            mean = latency if served else math.nan
            if served:
                self._latencies.add(0.0, served, wait=ticks.wait, chance=ticks.chance)
        else:
            assert not isinstance(delay, float)
            if not ticks.everyone:
                known = np.isfinite(latency)
                counts, latency, delay = counts[known], latency[known], delay[known]
            served = int(counts.sum())
            mean = float((latency * counts).sum() / served) if served else math.nan
            if served:
                self._latencies.add(delay, counts, wait=ticks.wait, chance=ticks.chance)
        offered = ticks.offered(len(ticks.counts))
        if self._latencies.pending() >= 1000:
            self._latencies.fold()
        return Outcomes(
            arrived=ticks.arrived,
            completed=now[0] - before[0],
            dropped=now[1] - before[1],
            timed_out=now[2] - before[2],
            failed=now[3] - before[3],
            in_flight=self.arrived - sum(now),
            utilization=ticks.served_total / offered if offered > 0 else math.nan,
            latency={**_NO_PERCENTILES, "latency_mean": mean},
        )

    def _totals(self) -> tuple[int, int, int, int]:
        """Completed, dropped, timed out, failed, since the start, in whole requests."""
        service = self.service
        if not service:
            # requests that take no time: no work, no backlog; each completes in its tick
            # unless no replica took it (dropped)
            return self.arrived - self.dropped, self.dropped, 0, 0
        completed = math.floor(self.served / service + 1e-9)
        dropped = self.dropped + math.floor(self.lost_drop / service + 1e-9)
        timed_out = math.floor(self.lost_timeout / service + 1e-9)
        failed = math.floor(self.lost_fail / service + 1e-9)
        # rounding must never count more requests than arrived
        excess = completed + dropped + timed_out + failed - self.arrived
        completed = max(self._counted[0], completed - max(excess, 0))
        return completed, dropped, timed_out, failed

    def totals(self) -> dict[str, float]:
        return {
            "wait_seconds": math.nan,
            "replica_failures": self.failures,
            "spot_interruptions": self.interruptions,
            "workload_arrivals": self.arrivals.produced,
        }

    def cluster(self, t: float) -> dict[str, float]:
        return {}

    def cost_split(self, ledger: Ledger, until: float) -> CostSplit | None:
        return None

    def latency(self) -> LatencyHistogram:
        return self._latencies.histogram()

    # --- the scrapes of an interval -------------------------------------------------------------

    def _noise_of(self, t: float) -> list[float]:
        """The draws of the scrape at ``t``: row k of the noise stream for the k-th scrape.

        The stream is drawn 1,024 rows at a time, every block in turn.
        """
        block, row = divmod(round(t / self.scenario.metrics.resolution) - 1, 1024)
        while self._noise_block < block:
            self._noise_rows = self._noise.standard_normal((1024, 3)).tolist()
            self._noise_block += 1
        return self._noise_rows[row]

    def _reach(self, t: float, ticks: Ticks) -> int:
        """Set the cumulative values at the scrape ``t`` of the interval; its last tick."""
        state = self._scrape
        k = round((t - self._start) / self.tick) - 1
        state.served_now = state.served_base + float(ticks.served_upto[k])
        state.arrived_now = state.arrived_base + int(ticks.arrived_upto[k])
        state.capacity_now = state.capacity_base + ticks.offered(k + 1)
        return k

    def _catch_up(self, ticks: Ticks) -> None:
        """Move the window on to the newest scrape skipped, if any (before one is taken, or
        before the interval closes)."""
        if self._skipped is not None:
            self._move_window(self._skipped, ticks)
            self._skipped = None

    def _move_window(self, t: float, ticks: Ticks) -> None:
        """The window of the next scrape starts at the skipped scrape ``t``."""
        self._reach(t, ticks)
        state = self._scrape
        state.last = t
        state.arrived_then, state.served_then = state.arrived_now, state.served_now
        state.capacity_then = state.capacity_now


class _ScrapeState:
    """Cumulative served work, capacity and arrivals at the scrapes, for windowed metrics."""

    def __init__(self) -> None:
        self.last = 0.0
        self.served_base = self.capacity_base = 0.0
        self.arrived_base = 0
        self.served_now = self.served_then = 0.0
        self.capacity_now = self.capacity_then = 0.0
        self.arrived_now = self.arrived_then = 0
        self.busy_now = self.backlog_now = 0.0
        self.noise: list[float] = [0.0, 0.0, 0.0]  # standard normal draws of the scrape


def _common_tick(*spans: float) -> float:
    """The longest tick that divides every span (in milliseconds), at most the first one."""
    millis = [round(span * 1000) for span in spans]
    if any(abs(m - span * 1000) > 1e-6 for m, span in zip(millis, spans, strict=True)):
        return 1.0
    return math.gcd(*millis) / 1000


def _whole(value: float, tick: float) -> bool:
    ratio = value / tick
    return abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1
