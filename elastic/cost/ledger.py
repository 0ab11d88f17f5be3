"""The ledger: lifecycles of billable units and per-request records, billed exactly and itemized.

The simulator (or an importer of real usage) tells the ledger what happens
through three calls, the :class:`CostObserver` interface: a unit
``start``\\ s, a unit ``stop``\\ s, a ``request`` completes. The ledger knows
nothing else about the simulation, and the simulation nothing about prices.

**What ``until`` means.** ``total(until=t)`` is what the provider would have
charged for everything that happened before ``t``: a unit still running at
``t`` is billed as if it had stopped at ``t`` (its minimum charge, owed from
its start, included); a request counts if it completed before ``t``. This
bill never decreases as ``t`` grows, and the bill of ``[t0, t1)`` is
``total(until=t1) - total(until=t0)``: the parts of a run split at any times
add up to the run, with each start's minimum counted once, in the part where
the unit started, the way the provider counts it.

**Interruptions.** A unit the provider stops (a Spot interruption:
``stop(unit, time, interrupted=True)``) is billed by its tariff's rule for
interruptions: EC2 Linux Spot charges nothing for an instance it interrupts
in its first hour. Such a unit is billed at every ``until`` no more than its
whole lifecycle is, so the bill still never decreases.

Every amount is exact: quantities (seconds, hours, milliseconds, requests)
are integers summed with numpy, multiplied by exact rates once, and rounded
to the :data:`~elastic.cost.money.QUANTUM` (1e-18 $) only when handed out.
Parts are rounded so that they add up: the items of ``by_unit`` and
``by_type`` add up to ``total`` exactly, the buckets of ``by_time`` to
``between`` of their span, and ``between`` of consecutive spans to
``between`` of their union (``total(until=t)`` is everything billed before ``t``).
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, cast, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from elastic.core.validate import check_number
from elastic.cost.money import NOISE, apportion, from_quanta, quanta, to_decimal
from elastic.cost.tariffs import MAX_SECONDS, LambdaRequests, QuantityTariff, Tariff
from elastic.errors import ParameterError

__all__ = ["CostObserver", "Ledger", "Lifecycle"]

_OWNER = "Ledger"
MAX_BUCKETS = 10_000_000  # by_time: a bucket is a few words, so at most about 100 MB


@runtime_checkable
class CostObserver(Protocol):
    """What a simulator tells cost accounting: units start and stop, requests complete."""

    def start(self, unit: str, kind: str, time: float) -> None:
        """Unit ``unit`` of type ``kind`` starts being billed at ``time``."""

    def stop(self, unit: str, time: float, *, interrupted: bool = False) -> None:
        """Unit ``unit`` stops being billed at ``time`` (``interrupted``: by the provider)."""

    def request(self, kind: str, time: float, duration: float, *, init: float = 0.0) -> None:
        """A request billed per use completed at ``time`` after ``duration`` seconds."""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """One billed lifecycle: a unit of a kind, from ``start`` to ``end`` (None: still running)."""

    unit: str
    kind: str
    start: float
    end: float | None
    interrupted: bool = False


@dataclass
class _Lifecycles:
    units: list[str] = field(default_factory=list)
    starts: array[float] = field(default_factory=lambda: array("d"))
    ends: array[float] = field(default_factory=lambda: array("d"))
    interrupted: array[int] = field(default_factory=lambda: array("b"))

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return np.array(self.starts, dtype=np.float64), np.array(self.ends, dtype=np.float64)

    def stopped_by_provider(self) -> NDArray[np.bool_]:
        return np.array(self.interrupted, dtype=bool)


@dataclass
class _Requests:
    times: array[float] = field(default_factory=lambda: array("d"))
    billed_ms: array[int] = field(default_factory=lambda: array("q"))

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        return np.array(self.times, dtype=np.float64), np.array(self.billed_ms, dtype=np.int64)


class Ledger:
    """Lifecycles and requests of a run, and their bill.

    Parameters
    ----------
    tariffs
        The tariff of each kind of unit, by name (``"m5.large"``): a
        :class:`~elastic.cost.Tariff` for units billed over their lifecycle,
        a :class:`~elastic.cost.LambdaRequests` for requests billed per use.

    Examples
    --------
    Two m5.large instances, one for 30 s (billed its 60 s minimum) and one
    from 0 s until it is still running at one hour:

    >>> from elastic.cost import default_catalog
    >>> ledger = Ledger({"m5.large": default_catalog().on_demand("m5.large")})
    >>> ledger.start("i-1", "m5.large", 0.0)
    >>> ledger.start("i-2", "m5.large", 0.0)
    >>> ledger.stop("i-1", 30.0)
    >>> ledger.total(until=3600.0)
    Decimal('0.0976')
    >>> list(ledger.lifecycles())[0]
    Lifecycle(unit='i-1', kind='m5.large', start=0.0, end=30.0, interrupted=False)
    >>> ledger.by_unit(until=3600.0)
    {'i-1': Decimal('0.0016'), 'i-2': Decimal('0.096')}
    >>> edges, cost = ledger.by_time(1800.0, until=3600.0)
    >>> edges.tolist(), cost.tolist()
    ([0.0, 1800.0, 3600.0], [0.0496, 0.048])
    """

    def __init__(self, tariffs: Mapping[str, Tariff | LambdaRequests]) -> None:
        for kind, tariff in tariffs.items():
            if not isinstance(tariff, Tariff | LambdaRequests):
                raise ParameterError(
                    f"tariffs[{kind!r}]", tariff, "a Tariff or LambdaRequests", owner=_OWNER
                )
        self.tariffs = dict(tariffs)
        self._lifecycles: dict[str, _Lifecycles] = {}
        self._requests: dict[str, _Requests] = {}
        self._running: dict[str, tuple[str, int]] = {}
        self._started: dict[str, Tariff] = {}  # the tariffs of the kinds started, checked

    def __repr__(self) -> str:
        count = sum(len(c.units) for c in self._lifecycles.values())
        requests = sum(len(r.times) for r in self._requests.values())
        return (
            f"Ledger({len(self.tariffs)} tariffs, {count} lifecycles "
            f"({len(self._running)} running), {requests} requests)"
        )

    # --- recording: the CostObserver interface and its bulk forms ---------------------------

    def start(self, unit: str, kind: str, time: float) -> None:
        """Unit ``unit`` of type ``kind`` starts being billed at ``time``."""
        start = self._start_time(kind, time)
        if unit in self._running:
            raise ParameterError("unit", unit, "a unit that is not already running", owner=_OWNER)
        self._record_starts([unit], kind, start)

    def start_many(self, units: Sequence[str], kind: str, time: float) -> None:
        """Units ``units`` of type ``kind`` all start being billed at ``time``.

        The same as :meth:`start` for each, in one call (a simulator starting
        a hundred replicas at once).

        Examples
        --------
        >>> from elastic.cost import default_catalog
        >>> ledger = Ledger({"m5.large": default_catalog().on_demand("m5.large")})
        >>> ledger.start_many(["a", "b"], "m5.large", 0.0)
        >>> ledger.stop_many(["a", "b"], [60.0, 3600.0])
        >>> ledger.total(until=3600.0)
        Decimal('0.0976')
        """
        start = self._start_time(kind, time)
        names = list(units)
        running = self._running
        if len(set(names)) != len(names) or not running.keys().isdisjoint(names):
            again = next(u for i, u in enumerate(names) if u in running or u in names[:i])
            raise ParameterError("units", again, "units that are not already running", owner=_OWNER)
        self._record_starts(names, kind, start)

    def stop(self, unit: str, time: float, *, interrupted: bool = False) -> None:
        """Unit ``unit`` stops being billed at ``time`` (not before it started).

        ``interrupted``: the provider stopped it (a Spot interruption), which
        its tariff may bill otherwise (see :meth:`Tariff.interrupted_amounts`).
        """
        self.stop_many((unit,), (time,), interrupted=interrupted)

    def stop_many(
        self,
        units: Sequence[str],
        times: Sequence[float],
        *,
        interrupted: bool | Sequence[bool] = False,
    ) -> None:
        """Each of ``units`` stops being billed at its time in ``times`` (see :meth:`stop`)."""
        flags = _flags(interrupted, len(units))
        if len(units) != len(times):
            raise ParameterError(
                "times", len(times), f"one time per unit ({len(units)})", owner=_OWNER
            )
        running, books = self._running, self._lifecycles
        found = list(map(running.get, units))
        if None in found:
            missing = next(unit for unit, at in zip(units, found, strict=True) if at is None)
            raise ParameterError("unit", missing, "a running unit", owner=_OWNER)
        if len(set(units)) != len(units):
            again = next(u for i, u in enumerate(units) if u in units[:i])
            raise ParameterError("units", again, "each unit once", owner=_OWNER)
        located = cast("list[tuple[str, int]]", found)
        checked = []
        for (kind, index), time in zip(located, times, strict=True):
            begun = books[kind].starts[index]
            if not (type(time) is float and begun <= time < np.inf):
                time = check_number(time, "time", owner=_OWNER, ge=begun)
            checked.append(time)
        # nothing is changed before every unit and time is checked
        for (kind, index), time, flag in zip(located, checked, flags, strict=True):
            books[kind].ends[index] = time
            books[kind].interrupted[index] = flag
        for unit in units:
            del running[unit]

    def _start_time(self, kind: str, time: float) -> float:
        """``time`` as the start of a ``kind`` lifecycle, checked (the tariff once per kind)."""
        tariff = self._started.get(kind)
        if tariff is None:
            tariff = self._started[kind] = self._lifecycle_tariff(kind)
        start = check_number(time, "time", owner=_OWNER)
        tariff.check_start(start)
        return start

    def _record_starts(self, units: list[str], kind: str, start: float) -> None:
        book = self._lifecycles.get(kind)
        if book is None:
            book = self._lifecycles[kind] = _Lifecycles()
        first, count = len(book.units), len(units)
        indices = zip(itertools.repeat(kind, count), range(first, first + count), strict=True)
        self._running.update(zip(units, indices, strict=True))
        book.units.extend(units)
        book.starts.extend(array("d", (start,)) * count)
        book.ends.extend(array("d", (np.inf,)) * count)
        book.interrupted.extend(array("b", (0,)) * count)

    def request(self, kind: str, time: float, duration: float, *, init: float = 0.0) -> None:
        """A request of ``kind`` completed at ``time``, after ``duration`` (+ ``init``) seconds."""
        tariff = self._request_tariff(kind)
        completed = check_number(time, "time", owner=_OWNER)
        check_number(duration, "duration", owner=_OWNER, ge=0)
        check_number(init, "init", owner=_OWNER, ge=0)
        billed = tariff.billed_ms_of(duration, init)
        book = self._requests.get(kind)
        if book is None:
            book = self._requests[kind] = _Requests()
        book.times.append(completed)
        book.billed_ms.append(billed)

    def add_lifecycles(
        self,
        kind: str,
        starts: ArrayLike,
        ends: ArrayLike,
        units: Sequence[str] | None = None,
        *,
        interrupted: ArrayLike | None = None,
    ) -> None:
        """Record finished lifecycles in bulk (unit ids default to ``"kind/i"``).

        ``interrupted`` marks those the provider stopped (see :meth:`stop`).
        """
        tariff = self._lifecycle_tariff(kind)
        begin = _times(starts, "starts")
        end = _times(ends, "ends")
        if begin.shape != end.shape or (units is not None and len(units) != len(begin)):
            raise ParameterError(
                "ends", np.shape(ends), f"as many values as starts ({len(begin)})", owner=_OWNER
            )
        if np.any(end < begin):
            bad = int(np.argmax(end < begin))
            raise ParameterError(
                f"ends[{bad}]", float(end[bad]), f"a time >= starts[{bad}]", owner=_OWNER
            )
        if len(begin):
            tariff.check_start(float(begin.min()))
        book = self._lifecycles.setdefault(kind, _Lifecycles())
        first = len(book.units)
        book.units.extend(units if units is not None else _ids(kind, first, len(begin)))
        flags = np.zeros(len(begin), dtype=np.int8) if interrupted is None else interrupted
        stopped = np.asarray(flags, dtype=bool).reshape(-1)
        if stopped.shape != begin.shape:
            raise ParameterError(
                "interrupted",
                np.shape(flags),
                f"one flag per lifecycle ({len(begin)})",
                owner=_OWNER,
            )
        book.starts.frombytes(begin.tobytes())
        book.ends.frombytes(end.tobytes())
        book.interrupted.frombytes(stopped.astype(np.int8).tobytes())

    def add_requests(
        self,
        kind: str,
        times: ArrayLike,
        durations: ArrayLike,
        init: ArrayLike | None = None,
    ) -> None:
        """Record completed requests in bulk (durations and init in seconds)."""
        tariff = self._request_tariff(kind)
        completed = _times(times, "times")
        duration = _times(durations, "durations", nonnegative=True)
        extra = None if init is None else _times(init, "init", nonnegative=True)
        if duration.shape != completed.shape or (
            extra is not None and extra.shape != duration.shape
        ):
            raise ParameterError(
                "durations",
                np.shape(durations),
                f"as many values as times ({len(completed)})",
                owner=_OWNER,
            )
        book = self._requests.setdefault(kind, _Requests())
        book.times.frombytes(completed.tobytes())
        book.billed_ms.frombytes(tariff.billed_ms(duration, extra).astype(np.int64).tobytes())

    def lifecycles(self) -> Iterator[Lifecycle]:
        """The recorded lifecycles, kind by kind, in the order they were recorded."""
        for kind, book in self._lifecycles.items():
            rows = zip(book.units, book.starts, book.ends, book.interrupted, strict=True)
            for unit, start, end, interrupted in rows:
                end_ = None if end == np.inf else end
                yield Lifecycle(unit, kind, start, end_, bool(interrupted))

    @property
    def running(self) -> tuple[str, ...]:
        """The units started and not yet stopped."""
        return tuple(self._running)

    # --- the bill ------------------------------------------------------------------------------

    def total(self, *, until: float | None = None) -> Decimal:
        """The bill of everything before ``until`` (of everything, if None: no unit may run)."""
        return to_decimal(sum(self._by_type(until).values(), Fraction(0)))

    def between(self, start: float, end: float) -> Decimal:
        """The bill of ``[start, end)``: ``total(until=end) - total(until=start)``, exactly."""
        if not end >= start:
            raise ParameterError("end", end, f"a time >= start ({start})", owner=_OWNER)
        later = sum(self._by_type(end).values(), Fraction(0))
        earlier = sum(self._by_type(start).values(), Fraction(0))
        return from_quanta(
            quanta(later.numerator, later.denominator)
            - quanta(earlier.numerator, earlier.denominator)
        )

    def by_type(self, *, until: float | None = None) -> dict[str, Decimal]:
        """The bill itemized by kind of unit (instance type, task size, function).

        The items add up to :meth:`total` exactly (each is within 1e-18 $ of its exact amount).
        """
        return _itemized(self._by_type(until))

    def by_unit(self, *, until: float | None = None) -> dict[str, Decimal]:
        """The bill itemized by unit id; requests are billed to their kind.

        The items add up to :meth:`total` exactly (each is within 1e-18 $ of its exact amount).
        """
        amounts: dict[str, Fraction] = {}
        for kind, book in self._lifecycles.items():
            tariff = self._lifecycle_tariff(kind)
            mask, billed = self._billed(kind, book, until)
            units = [book.units[i] for i in np.flatnonzero(mask).tolist()]
            if isinstance(tariff, QuantityTariff):
                rate = tariff.rate
                billed = [rate * q for q in cast("NDArray[np.int64]", billed).tolist()]
            for unit, amount in zip(units, cast("list[Fraction]", billed), strict=True):
                amounts[unit] = amounts.get(unit, Fraction(0)) + amount
        for kind in self._requests:
            amounts[kind] = amounts.get(kind, Fraction(0)) + self._request_amount(kind, until)
        return _itemized(amounts)

    def by_time(
        self, step: float = 3600.0, *, until: float, start: float = 0.0, exact: bool = False
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | NDArray[np.object_]]:
        """The bill of each time bucket ``[edges[i], edges[i + 1])``, for plotting.

        Buckets are ``step`` seconds long from ``start``; the last one ends at
        ``until``. Each is ``between(edges[i], edges[i + 1])``, so with
        ``exact=True`` (Decimals) they add up to ``between(start, until)``
        exactly; else they are floats converted from those Decimals.
        """
        step = check_number(step, "step", owner=_OWNER, gt=0)
        start = check_number(start, "start", owner=_OWNER)
        until = check_number(until, "until", owner=_OWNER, gt=start)
        count = max(1, int(np.ceil((until - start) / step - NOISE)))
        if count > MAX_BUCKETS:
            raise ParameterError(
                "step",
                step,
                f"at least {(until - start) / MAX_BUCKETS:.3g} s from {start:g} to {until:g}: "
                f"at most {MAX_BUCKETS} buckets",
                owner=_OWNER,
            )
        edges = start + step * np.arange(count + 1, dtype=np.float64)
        edges[-1] = until
        # the bill as of each edge, as integer numerators over one common denominator:
        # a month of one-minute buckets in Fractions would take seconds
        numerators, denominator = [0] * len(edges), 1
        parts = [
            self._lifecycles_at(self._lifecycle_tariff(kind), book, edges)
            for kind, book in self._lifecycles.items()
        ] + [
            _over_common(self._requests_at(self._request_tariff(kind), requests, edges))
            for kind, requests in self._requests.items()
        ]
        for values, below in parts:
            common = math.lcm(denominator, below)
            mine, theirs = common // denominator, common // below
            numerators = [a * mine + b * theirs for a, b in zip(numerators, values, strict=True)]
            denominator = common
        # each edge's bill rounded as total rounds it; a bucket is the difference
        rounded = [quanta(n, denominator) for n in numerators]
        buckets = [from_quanta(b - a) for a, b in itertools.pairwise(rounded)]
        if exact:
            return edges, np.array(buckets, dtype=object)
        return edges, np.array([float(b) for b in buckets], dtype=np.float64)

    # --- internals -----------------------------------------------------------------------------

    def _lifecycle_tariff(self, kind: str) -> Tariff:
        tariff = self._tariff(kind)
        if not isinstance(tariff, Tariff):
            raise ParameterError("kind", kind, "a kind billed over lifecycles", owner=_OWNER)
        return tariff

    def _request_tariff(self, kind: str) -> LambdaRequests:
        tariff = self._tariff(kind)
        if not isinstance(tariff, LambdaRequests):
            raise ParameterError("kind", kind, "a kind billed per request", owner=_OWNER)
        return tariff

    def _tariff(self, kind: str) -> Tariff | LambdaRequests:
        if kind not in self.tariffs:
            known = ", ".join(map(repr, self.tariffs)) or "none: the ledger has no tariffs"
            raise ParameterError("kind", kind, f"one of {known}", owner=_OWNER)
        return self.tariffs[kind]

    def _clipped(
        self, kind: str, book: _Lifecycles, until: float | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Starts and billed durations of the lifecycles begun before ``until``."""
        starts, ends = book.arrays()
        if until is None:
            running = [u for u, (k, _) in self._running.items() if k == kind]
            if running:
                raise ParameterError(
                    "until",
                    None,
                    f"a time, since {len(running)} unit(s) still run ({', '.join(running[:3])})",
                    owner=_OWNER,
                )
            return starts, ends - starts, np.ones(len(starts), dtype=bool)
        until = check_number(until, "until", owner=_OWNER)
        mask = starts < until
        starts = starts[mask]
        return starts, np.minimum(ends[mask], until) - starts, mask

    def _billed(
        self, kind: str, book: _Lifecycles, until: float | None
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64] | list[Fraction]]:
        """Which lifecycles began before ``until``, and the bill of each as of ``until``.

        Quantities for a :class:`QuantityTariff`, else exact amounts. A
        lifecycle the provider interrupted is billed no more than its whole
        lifecycle is under the tariff's rule for interruptions.
        """
        starts, seconds, mask = self._clipped(kind, book, until)
        ends = np.array(book.ends, dtype=np.float64)[mask]
        stopped = book.stopped_by_provider()[mask]
        return mask, _as_of(self._lifecycle_tariff(kind), starts, seconds, ends, stopped)

    def _by_type(self, until: float | None) -> dict[str, Fraction]:
        amounts: dict[str, Fraction] = {}
        for kind, book in self._lifecycles.items():
            tariff = self._lifecycle_tariff(kind)
            _, billed = self._billed(kind, book, until)
            if isinstance(tariff, QuantityTariff):
                amounts[kind] = tariff.rate * int(cast("NDArray[np.int64]", billed).sum())
            else:
                amounts[kind] = sum(cast("list[Fraction]", billed), Fraction(0))
        for kind in self._requests:
            amounts[kind] = self._request_amount(kind, until)
        return amounts

    def _request_amount(self, kind: str, until: float | None) -> Fraction:
        times, billed = self._requests[kind].arrays()
        if until is not None:
            billed = billed[times < check_number(until, "until", owner=_OWNER)]
        return self._request_tariff(kind).amount(len(billed), int(billed.sum()))

    @staticmethod
    def _lifecycles_at(
        tariff: Tariff, book: _Lifecycles, edges: NDArray[np.float64]
    ) -> tuple[list[int], int]:
        """The bill of the lifecycles as of each edge: numerators over one denominator."""
        starts, ends = book.arrays()
        stopped = book.stopped_by_provider()
        if not isinstance(tariff, QuantityTariff):
            amounts = []
            for edge in edges.tolist():
                mask = starts < edge
                begun = starts[mask]
                billed = _as_of(
                    tariff, begun, np.minimum(ends[mask], edge) - begun, ends[mask], stopped[mask]
                )
                amounts.append(sum(cast("list[Fraction]", billed), Fraction(0)))
            return _over_common(amounts)
        # Interrupted lifecycles billed less than their whole under the rule for
        # interruptions are billed apart, one by one, capped at that bill (they are few).
        capped = np.zeros(len(edges), dtype=np.int64)
        if stopped.any():
            whole = ends[stopped] - starts[stopped]
            ceiling = tariff.interrupted_quantity(whole)
            apart = np.zeros(len(starts), dtype=bool)
            apart[stopped] = ceiling < tariff.quantity(whole)
            for begin, end, most in zip(
                starts[apart].tolist(),
                ends[apart].tolist(),
                ceiling[apart[stopped]].tolist(),
                strict=True,
            ):
                at = np.flatnonzero(edges > begin)
                if most and len(at):
                    used = tariff.quantity(np.minimum(edges[at], end) - begin)
                    capped[at] += np.minimum(used, most)
            starts, ends = starts[~apart], ends[~apart]
        # Finished by the edge: the whole lifecycle. A zero-length one counts
        # only once the edge is past its start, hence the nudged key.
        finished = np.isfinite(ends)
        final_q = tariff.quantity(ends[finished] - starts[finished])
        keys = ends[finished]
        keys = np.where(starts[finished] == keys, np.nextafter(keys, np.inf), keys)
        quantity = _from_edge(np.searchsorted(edges, keys, side="left"), final_q, len(edges))
        # Running at the edge (start < edge < end): the part up to the edge. Lifecycles
        # that start together (replicas requested at once) owe the same at each edge they
        # run across: each start is expanded over its edges once, weighted by how many of
        # its lifecycles still run there.
        first = np.searchsorted(edges, starts, side="right")
        last = np.searchsorted(edges, ends, side="left")
        running = last > first
        begun, group = np.unique(starts[running], return_inverse=True)
        order = np.argsort(group, kind="stable")
        member_group = group[order]
        group_first = np.searchsorted(edges, begun, side="right")
        member_end = last[running][order] - group_first[member_group]  # past its group's first
        members = np.bincount(member_group, minlength=len(begun))
        spans = np.zeros(len(begun), dtype=np.int64)
        np.maximum.at(spans, member_group, member_end)
        through, joined = np.cumsum(spans), np.cumsum(members)
        begin = 0
        while begin < len(begun):  # about _PAIRS (start, edge) pairs at a time
            done = int(through[begin - 1]) if begin else 0
            end = max(begin + 1, int(np.searchsorted(through, done + _PAIRS, side="right")))
            span = spans[begin:end]
            size = int(through[end - 1]) - done
            offset = through[begin:end] - span - done  # each start's first pair
            mine = slice(int(joined[begin - 1]) if begin else 0, int(joined[end - 1]))
            # lifecycles running at each pair: all of a start's at its first pair, less those
            # that ended; each start's count falls to zero one past its last pair
            change = np.bincount(offset, weights=members[begin:end], minlength=size + 1)
            ended = offset[member_group[mine] - begin] + member_end[mine]
            change -= np.bincount(ended, minlength=size + 1)
            weight = np.cumsum(change)[:size].astype(np.int64)
            at = np.arange(size) + np.repeat(group_first[begin:end] - offset, span)
            partial = tariff.quantity(edges[at] - np.repeat(begun[begin:end], span))
            quantity += _count_at(at, partial * weight, len(edges))
            begin = end
        rate = tariff.rate
        quantity += capped
        return [rate.numerator * q for q in quantity.tolist()], rate.denominator

    @staticmethod
    def _requests_at(
        tariff: LambdaRequests, book: _Requests, edges: NDArray[np.float64]
    ) -> list[Fraction]:
        times, billed = book.arrays()
        # a request completed at t counts from the first edge after t
        first = np.searchsorted(edges, times, side="right")
        counts = _from_edge(first, np.ones(len(times), dtype=np.int64), len(edges))
        billed_ms = _from_edge(first, billed, len(edges))
        return [
            tariff.amount(n, ms) for n, ms in zip(counts.tolist(), billed_ms.tolist(), strict=True)
        ]


_PAIRS = 1 << 21  # (start, edge) pairs billed at once by by_time: 16 MB an array


def _over_common(amounts: Sequence[Fraction]) -> tuple[list[int], int]:
    """``amounts`` as integer numerators over their least common denominator."""
    denominator = math.lcm(*{a.denominator for a in amounts}) if amounts else 1
    return [a.numerator * (denominator // a.denominator) for a in amounts], denominator


def _from_edge(first: NDArray[np.intp], values: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """At each of ``size`` edges, the sum of the values counted from edge ``first[i]`` on."""
    return np.cumsum(_count_at(first, values, size + 1)[:size])


def _count_at(at: NDArray[np.intp], values: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """The sum of ``values`` at each index below ``size`` (exact while sums stay below 2**53)."""
    return np.bincount(at, weights=values, minlength=size)[:size].astype(np.int64)


def _times(values: ArrayLike, name: str, *, nonnegative: bool = False) -> NDArray[np.float64]:
    array_ = np.asarray(values, dtype=np.float64).reshape(-1)
    bad = ~(np.abs(array_) <= MAX_SECONDS) | ((array_ < 0) if nonnegative else False)
    if np.any(bad):
        index = int(np.argmax(bad))
        expected = f"a number from {0 if nonnegative else -MAX_SECONDS:g} to {MAX_SECONDS:g}"
        raise ParameterError(f"{name}[{index}]", float(array_[index]), expected, owner=_OWNER)
    return array_


def _as_of(
    tariff: Tariff,
    starts: NDArray[np.float64],
    seconds: NDArray[np.float64],
    ends: NDArray[np.float64],
    stopped: NDArray[np.bool_],
) -> NDArray[np.int64] | list[Fraction]:
    """The bill of lifecycles run ``seconds`` so far: quantities, or amounts if not by quantity.

    One the provider interrupted (``stopped``, ending at ``ends``) is billed
    no more than its whole lifecycle is under the tariff's rule for
    interruptions, so that its bill never decreases with time.
    """
    whole = ends[stopped] - starts[stopped]
    if isinstance(tariff, QuantityTariff):
        quantity = tariff.quantity(seconds)
        if stopped.any():
            quantity[stopped] = np.minimum(quantity[stopped], tariff.interrupted_quantity(whole))
        return quantity
    amounts = tariff.amounts(starts, seconds)
    if not stopped.any():
        return amounts
    ceiling = iter(tariff.interrupted_amounts(starts[stopped], whole))
    return [
        min(amount, next(ceiling)) if flag else amount
        for amount, flag in zip(amounts, stopped.tolist(), strict=True)
    ]


def _itemized(amounts: Mapping[str, Fraction]) -> dict[str, Decimal]:
    """Exact amounts by name, rounded so that they add up to the rounded total exactly.

    They are apportioned in the order of their names, so that the items do
    not depend on the order the records came in.
    """
    names = sorted(amounts)
    numerators, denominator = _over_common([amounts[name] for name in names])
    rounded = dict(zip(names, apportion(numerators, denominator), strict=True))
    return {name: rounded[name] for name in amounts}


def _flags(interrupted: bool | Sequence[bool], count: int) -> list[bool]:
    if isinstance(interrupted, bool | np.bool_):
        return [bool(interrupted)] * count
    flags = list(interrupted)
    if len(flags) != count or not all(isinstance(f, bool | np.bool_) for f in flags):
        raise ParameterError(
            "interrupted", interrupted, f"a bool, or one bool per unit ({count})", owner=_OWNER
        )
    return [bool(f) for f in flags]


def _ids(kind: str, first: int, count: int) -> Iterable[str]:
    return (f"{kind}/{i}" for i in range(first, first + count))
