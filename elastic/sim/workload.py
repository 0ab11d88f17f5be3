"""Workloads: when requests arrive, replayed from real traces or generated.

A :class:`Workload` is a description (parameters only). ``workload.stream(rng)``
makes the stateful :class:`ArrivalStream` of one run, which hands out arrival
times window by window: ``stream.take(until)`` returns the arrivals in
``[previous until, until)``, in time order. Generators with a rate that
changes over time are exact non-homogeneous Poisson processes (thinning).

Common random numbers: a generator draws its arrivals in fixed blocks of
time aligned to absolute time (block ``k`` covers ``[k L, (k + 1) L)``, ``L``
a power of two set by the workload's peak rate), each block from its own
generator spawned from the stream's seed by the block's index. So the
arrivals are a function of the workload and the seed alone: however a run
cuts time into windows (a request-level run cuts it at every event, and
its events depend on the policy), it gets the same arrivals.

Trace replay keeps the trace's counts: the ``count`` requests of a bucket
arrive at random times within it (``spread="poisson"``: a Poisson process
given its count) or evenly spaced (``spread="uniform"``). Buckets the trace
did not log (a ``logged`` column) are gaps, filled by an explicit rule, never
read as zero demand unless asked.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from elastic.core.params import Params
from elastic.core.validate import check_choice, check_number
from elastic.errors import ParameterError
from elastic.sim.limits import MAX_BUCKET_COUNT

__all__ = [
    "MMPP",
    "ArrivalStream",
    "Diurnal",
    "FlashCrowd",
    "Poisson",
    "Ramp",
    "Superpose",
    "Timestamps",
    "TraceReplay",
    "Workload",
]

FloatArray = NDArray[np.float64]


class ArrivalStream(ABC):
    """The arrivals of one run, handed out in consecutive windows."""

    def __init__(self, start: float) -> None:
        self.time = start
        self.handed = 0  # arrivals handed out by take(), counted where they leave the stream

    def take(self, until: float) -> FloatArray:
        """Arrival times in ``[self.time, until)``, sorted; moves ``self.time`` to ``until``."""
        if until <= self.time:
            return np.empty(0)
        arrivals = self._take(self.time, until)
        self.time = until
        self.handed += len(arrivals)
        return arrivals

    def counts(self, until: float, tick: float) -> NDArray[np.int64]:
        """Arrivals per tick of ``tick`` seconds in ``[self.time, until)``; moves ``self.time``.

        For fluid runs. The default counts the arrival times; a replayed
        trace hands out its bucket counts directly, and a generator with a
        rate function its expected counts (the mean field), rounded
        cumulatively.
        """
        ticks = round((until - self.time) / tick)
        edges = self.time + tick * np.arange(ticks + 1)
        arrivals = self.take(until)
        return np.histogram(arrivals, edges)[0].astype(np.int64)

    def counts_of(self, ends: Sequence[float], tick: float) -> NDArray[np.int64]:
        """:meth:`counts` of consecutive windows ending at ``ends``, a row each.

        The windows must have the same number of ticks. The rows are what
        calls of :meth:`counts` in turn give; a stream that can, fetches
        them at once.
        """
        return np.stack([self.counts(end, tick) for end in ends])

    @abstractmethod
    def _take(self, start: float, end: float) -> FloatArray: ...


class Workload(Params, ABC):
    """A description of arrivals over time."""

    #: whether a fluid run's counts are the expected ones (a rate function's mean field),
    #: not counts of drawn arrivals with their Poisson noise in
    expected_counts: ClassVar[bool] = False

    @abstractmethod
    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        """The arrivals of one run, drawn from ``rng``."""

    @abstractmethod
    def mean_rate(self, times: ArrayLike) -> FloatArray:
        """Expected arrivals per second at ``times``."""

    def changes(self, duration: float) -> float:
        """About how many state changes a run of ``duration`` seconds steps through besides
        its arrivals (an MMPP's switches, a noisy diurnal's buckets): what bounds a run."""
        return 0.0

    def __add__(self, other: Workload) -> Superpose:
        return Superpose([self, other])


# --- generators drawn in blocks of time ---------------------------------------------------------

_BLOCK_ARRIVALS = 65536.0  # expected arrivals per block at the peak rate
_BLOCK_EXPONENTS = (-6, 12)  # block lengths from 1/64 s to 4096 s (powers of two: exact edges)
_BLOCKS, _NOISE, _PATH = 0, 1, 2  # what a child generator is for (the first word of its key)


def _block_length(peak: float) -> float:
    """Seconds per block: a power of two holding about ``_BLOCK_ARRIVALS`` at ``peak``."""
    low, high = _BLOCK_EXPONENTS
    if not peak > 0 or not math.isfinite(peak):
        return 2.0**high
    return 2.0 ** min(max(math.floor(math.log2(_BLOCK_ARRIVALS / peak)), low), high)


def _zigzag(index: int) -> int:
    """A non-negative key for any integer index (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...)."""
    return 2 * index if index >= 0 else -2 * index - 1


class _Children:
    """Child generators of one stream, by key: what they draw depends on the key alone."""

    def __init__(self, rng: np.random.Generator) -> None:
        # four words of the run's generator seed the stream (works for any Generator)
        entropy = rng.integers(0, 2**32, size=4, dtype=np.uint64).tolist()
        self.root = np.random.SeedSequence(entropy)

    def generator(self, *key: int) -> np.random.Generator:
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.root.entropy, spawn_key=key))
        )


class _BlockStream(ArrivalStream):
    """Arrivals drawn block by block, each block from its own generator.

    A window's arrivals are read from the blocks it overlaps; the last block
    drawn is kept, so the many small windows of a request-level run cost a
    search each.
    """

    def __init__(self, rng: np.random.Generator, start: float, block: float) -> None:
        super().__init__(start)
        self.children = _Children(rng)
        self.block = block
        self._index: int | None = None  # the block kept
        self._times: FloatArray = np.empty(0)

    def _take(self, start: float, end: float) -> FloatArray:
        pieces = []
        length = self.block
        while start < end:
            index = math.floor(start / length)
            if index != self._index:
                self._times, self._index = self._draw(index), index
            times = self._times
            lo, hi = np.searchsorted(times, (start, end), side="left")
            if hi > lo:
                pieces.append(times[lo:hi])
            start = (index + 1) * length
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces) if pieces else np.empty(0)

    @abstractmethod
    def _draw(self, index: int) -> FloatArray:
        """The sorted arrival times of block ``index``."""


# --- generators with a rate function -----------------------------------------------------------


class _RateStream(_BlockStream):
    """Thinning (Lewis-Shedler): Poisson at the peak rate, each kept with rate(t) / peak."""

    workload: _RateWorkload

    def __init__(self, workload: _RateWorkload, rng: np.random.Generator, start: float) -> None:
        super().__init__(rng, start, _block_length(workload.peak_rate(-math.inf, math.inf)))
        self.workload = workload
        self.carry = 0.0

    def counts(self, until: float, tick: float) -> NDArray[np.int64]:
        # The mean-field counts a fluid model wants: the expected arrivals (rate at the
        # middle of each tick), rounded cumulatively so that none is lost between ticks.
        ticks = round((until - self.time) / tick)
        middles = self.time + tick * (np.arange(ticks) + 0.5)
        self.time = until
        expected = self.carry + np.cumsum(self.workload.mean_rate(middles) * tick)
        whole = np.floor(expected + 1e-9)
        counts = np.diff(np.concatenate(([0.0], whole))).astype(np.int64)
        self.carry = float(expected[-1] - whole[-1]) if ticks else self.carry
        return counts

    def _draw(self, index: int) -> FloatArray:
        """The sorted arrival times of block ``index`` (thinning at the block's peak rate)."""
        low = index * self.block
        high = low + self.block
        peak = self._peak(low, high)
        if not peak > 0:
            return np.empty(0)
        rng = self.children.generator(_BLOCKS, _zigzag(index))
        count = rng.poisson(peak * self.block)
        times = low + self.block * np.sort(rng.random(count))
        inside = times < high  # low + block * u can round up to high far from 0
        if self._constant():
            return times if inside.all() else times[inside]
        thinning = rng.random(count)
        return times[inside & (thinning * peak < self._rate(times))]

    def _constant(self) -> bool:
        """Whether the rate is its peak everywhere (every candidate point is kept)."""
        return self.workload.constant

    def _peak(self, start: float, end: float) -> float:
        """An upper bound of the rate on ``[start, end)``."""
        return self.workload.peak_rate(start, end)

    def _rate(self, times: FloatArray) -> FloatArray:
        """The rate at ``times``."""
        return self.workload.mean_rate(times)


class _RateWorkload(Workload):
    constant = False  # the rate is its peak everywhere
    expected_counts = True

    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        return _RateStream(self, rng, start)

    @abstractmethod
    def peak_rate(self, start: float, end: float) -> float:
        """An upper bound of the rate on ``[start, end)``."""


class Poisson(_RateWorkload):
    """Poisson arrivals at a constant ``rate`` per second.

    Examples
    --------
    >>> stream = Poisson(50.0).stream(np.random.default_rng(0))
    >>> round(len(stream.take(1000.0)) / 1000.0)
    50
    """

    constant = True

    def __init__(self, rate: float) -> None:
        self.rate = check_number(rate, "rate", owner="Poisson", ge=0)

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        return np.full(np.shape(times), self.rate)

    def peak_rate(self, start: float, end: float) -> float:
        return self.rate


class Diurnal(_RateWorkload):
    """A daily cycle: ``mean * (1 + amplitude * sin(2 pi (t - peak_at) / period + pi / 2))``.

    The rate peaks at ``peak_at`` seconds (mod ``period``). With ``noise``
    > 0, the rate of each ``noise_step``-second bucket is multiplied by a
    log-normal factor of mean 1 and that sigma, drawn per run.

    Examples
    --------
    >>> day = Diurnal(10.0, 0.5, peak_at=14 * 3600)
    >>> day.mean_rate([14 * 3600, 2 * 3600]).round(6).tolist()
    [15.0, 5.0]
    """

    def __init__(
        self,
        mean: float,
        amplitude: float,
        *,
        period: float = 86400.0,
        peak_at: float = 0.0,
        noise: float = 0.0,
        noise_step: float = 60.0,
    ) -> None:
        self.mean = check_number(mean, "mean", owner="Diurnal", ge=0)
        self.amplitude = check_number(amplitude, "amplitude", owner="Diurnal", ge=0, le=1)
        self.period = check_number(period, "period", owner="Diurnal", gt=0)
        self.peak_at = check_number(peak_at, "peak_at", owner="Diurnal")
        self.noise = check_number(noise, "noise", owner="Diurnal", ge=0)
        self.noise_step = check_number(noise_step, "noise_step", owner="Diurnal", gt=0)

    def changes(self, duration: float) -> float:
        return duration / float(self.noise_step) if self.noise else 0.0

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        t = np.asarray(times, dtype=np.float64)
        phase = 2 * np.pi * (t - self.peak_at) / self.period
        return self.mean * (1 + self.amplitude * np.cos(phase))

    def peak_rate(self, start: float, end: float) -> float:
        top = self.mean * (1 + self.amplitude)
        span = end - start
        if not 0 <= span < self.period or not math.isfinite(start):
            return top
        # the rate moves at most mean * amplitude * 2 pi / period per second
        slope = self.mean * self.amplitude * 2 * math.pi / self.period
        return min(top, float(self.mean_rate([start, end]).max()) + slope * span)

    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        if self.noise == 0:
            return _RateStream(self, rng, start)
        return _NoisyStream(self, rng, start)


class _NoisyStream(_RateStream):
    """A rate-function stream whose rate is scaled by a random factor per noise bucket.

    The factors of buckets ``c * 256`` to ``c * 256 + 255`` come from a
    generator of their own (key ``c``), so they too are the same whatever
    the windows.
    """

    workload: Diurnal
    CHUNK = 256

    def __init__(self, workload: Diurnal, rng: np.random.Generator, start: float) -> None:
        super().__init__(workload, rng, start)
        self.chunks: dict[int, FloatArray] = {}

    def counts(self, until: float, tick: float) -> NDArray[np.int64]:
        return ArrivalStream.counts(self, until, tick)

    def _factors(self, first: int, last: int) -> FloatArray:
        """The factors of noise buckets ``first`` to ``last - 1``."""
        sigma, size = self.workload.noise, self.CHUNK
        low, high = first // size, (last - 1) // size
        for chunk in range(low, high + 1):
            if chunk not in self.chunks:
                rng = self.children.generator(_NOISE, _zigzag(chunk))
                self.chunks[chunk] = np.exp(rng.normal(-(sigma**2) / 2, sigma, size))
        self.chunks = {c: v for c, v in self.chunks.items() if c >= low}
        factors = np.concatenate([self.chunks[c] for c in range(low, high + 1)])
        return factors[first - low * size : last - low * size]

    def _buckets(self, start: float, end: float) -> tuple[int, int]:
        step = self.workload.noise_step
        return math.floor(start / step), max(math.ceil(end / step), math.floor(start / step) + 1)

    def _peak(self, start: float, end: float) -> float:
        factors = self._factors(*self._buckets(start, end))
        return self.workload.peak_rate(start, end) * float(factors.max())

    def _rate(self, times: FloatArray) -> FloatArray:
        if not len(times):
            return np.empty(0)
        buckets = np.floor(times / self.workload.noise_step).astype(np.int64)
        first = int(buckets[0])
        factors = self._factors(first, int(buckets[-1]) + 1)
        return self.workload.mean_rate(times) * factors[buckets - first]


class Ramp(_RateWorkload):
    """A rate going linearly from ``start_rate`` at ``start`` to ``end_rate`` at ``end``.

    Examples
    --------
    >>> Ramp(10, 30, start=100, end=200).mean_rate([0, 150, 500]).tolist()
    [10.0, 20.0, 30.0]
    """

    def __init__(self, start_rate: float, end_rate: float, *, start: float, end: float) -> None:
        self.start_rate = check_number(start_rate, "start_rate", owner="Ramp", ge=0)
        self.end_rate = check_number(end_rate, "end_rate", owner="Ramp", ge=0)
        self.start = check_number(start, "start", owner="Ramp")
        self.end = check_number(end, "end", owner="Ramp", gt=self.start)

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        t = np.asarray(times, dtype=np.float64)
        return np.interp(t, [self.start, self.end], [self.start_rate, self.end_rate])

    def peak_rate(self, start: float, end: float) -> float:
        if not (math.isfinite(start) and math.isfinite(end)):
            return max(self.start_rate, self.end_rate)
        return float(self.mean_rate([start, end]).max())  # linear: the top is at an end


class FlashCrowd(_RateWorkload):
    """A surge on top of nothing: 0 before ``at``, up to ``peak`` over ``rise`` seconds,
    held for ``hold`` seconds, then decaying exponentially with time constant ``decay``.

    Add it to a base load: ``Diurnal(...) + FlashCrowd(...)``.

    Examples
    --------
    >>> crowd = FlashCrowd(100.0, at=1000, rise=60, hold=600, decay=300)
    >>> crowd.mean_rate([999, 1030, 1500, 1660 + 300]).round(2).tolist()
    [0.0, 50.0, 100.0, 36.79]
    """

    def __init__(
        self, peak: float, *, at: float, rise: float, hold: float = 0.0, decay: float
    ) -> None:
        self.peak = check_number(peak, "peak", owner="FlashCrowd", ge=0)
        self.at = check_number(at, "at", owner="FlashCrowd")
        self.rise = check_number(rise, "rise", owner="FlashCrowd", ge=0)
        self.hold = check_number(hold, "hold", owner="FlashCrowd", ge=0)
        self.decay = check_number(decay, "decay", owner="FlashCrowd", gt=0)

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        t = np.asarray(times, dtype=np.float64) - self.at
        rising = self.peak * (t / self.rise if self.rise else np.ones_like(t))
        top = self.rise + self.hold
        falling = self.peak * np.exp(-np.maximum(t - top, 0) / self.decay)
        rate = np.where(t < self.rise, rising, np.where(t < top, self.peak, falling))
        return np.where(t < 0, 0.0, rate)

    def peak_rate(self, start: float, end: float) -> float:
        return self.peak


# --- a bursty generator --------------------------------------------------------------------------


class MMPP(Workload):
    """A two-state Markov-modulated Poisson process: bursts of ``rates[1]`` in a ``rates[0]`` load.

    The process stays in state ``i`` for an exponential time of mean
    ``mean_durations[i]`` seconds, then switches.

    Examples
    --------
    >>> bursty = MMPP((5.0, 50.0), (600.0, 60.0))
    >>> round(float(bursty.mean_rate([0.0])[0]), 2)  # (5 * 600 + 50 * 60) / 660
    9.09
    """

    def __init__(self, rates: Sequence[float], mean_durations: Sequence[float]) -> None:
        if len(rates) != 2 or len(mean_durations) != 2:
            raise ParameterError("rates", rates, "two rates and two mean durations", owner="MMPP")
        self.rates = tuple(check_number(r, "rates", owner="MMPP", ge=0) for r in rates)
        self.mean_durations = tuple(
            check_number(d, "mean_durations", owner="MMPP", gt=0) for d in mean_durations
        )

    def changes(self, duration: float) -> float:
        return duration / min(self.mean_durations)

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        (r0, r1), (d0, d1) = self.rates, self.mean_durations
        return np.full(np.shape(times), (r0 * d0 + r1 * d1) / (d0 + d1))

    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        return _MMPPStream(self, rng, start)


class _MMPPStream(_BlockStream):
    """The state path comes from a generator of its own, drawn ahead as far as asked;
    a block's arrivals, piece by piece of the path inside it, from the block's generator."""

    CHUNK = 256  # state durations drawn at a time

    def __init__(self, workload: MMPP, rng: np.random.Generator, start: float) -> None:
        super().__init__(rng, start, _block_length(max(workload.rates)))
        self.workload = workload
        self.path = self.children.generator(_PATH)
        d0, d1 = workload.mean_durations
        self.state = int(self.path.random() < d1 / (d0 + d1))  # the stationary distribution
        self.switches: FloatArray = np.empty(0)  # the times the state changes, in order
        self.passed = 0  # switches dropped from the front (they are behind every block left)
        self.last = start

    def _extend(self, until: float) -> None:
        """Draw the path's switches up to beyond ``until``."""
        means = np.array(self.workload.mean_durations)
        new: list[FloatArray] = []
        while self.last <= until:
            done = self.passed + len(self.switches) + self.CHUNK * len(new)
            states = (self.state + done + np.arange(self.CHUNK)) % 2
            stays = self.path.standard_exponential(self.CHUNK) * means[states]
            times = self.last + np.cumsum(stays)
            new.append(times)
            self.last = float(times[-1])
        if new:
            self.switches = np.concatenate([self.switches, *new])

    def _draw(self, index: int) -> FloatArray:
        # exact without thinning: a Poisson count and uniform times on each piece of the
        # path inside the block, the pieces in time order
        low = index * self.block
        high = low + self.block
        self._extend(high)
        behind = int(np.searchsorted(self.switches, low, side="right"))
        self.switches, self.passed = self.switches[behind:], self.passed + behind
        inside = int(np.searchsorted(self.switches, high, side="left"))
        edges = [low, *self.switches[:inside].tolist(), high]
        state = self.state + self.passed
        rng = self.children.generator(_BLOCKS, _zigzag(index))
        pieces = []
        for i in range(len(edges) - 1):
            begin, stop = edges[i], edges[i + 1]
            count = rng.poisson(self.workload.rates[(state + i) % 2] * (stop - begin))
            if count:
                pieces.append(begin + (stop - begin) * np.sort(rng.random(count)))
        if not pieces:
            return np.empty(0)
        times = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        return times if times[-1] < high else times[times < high]


# --- replay ---------------------------------------------------------------------------------------

GAPS = ("interpolate", "hold", "zero", "error")


class TraceReplay(Workload):
    """Replay counts per bucket: ``counts[i]`` requests in ``[times[i], times[i] + bucket)``.

    Parameters
    ----------
    times, counts
        Start of each bucket (seconds, increasing, ``bucket`` apart) and its count.
    bucket
        Bucket width in seconds.
    spread
        ``"poisson"``: a bucket's requests arrive at independent uniform
        times in it (a Poisson process given the count); ``"uniform"``:
        evenly spaced.
    logged
        Optional mask, false for buckets the trace did not record.
    gaps
        How an unlogged bucket is filled: ``"interpolate"`` (linear between
        the nearest logged buckets, rounded), ``"hold"`` (the last logged
        count), ``"zero"`` (no demand: only when that is the truth) or
        ``"error"``.
    scale
        Multiplies every count (the fractional part is drawn at random per
        bucket), to fit a trace to the system under test.

    Examples
    --------
    >>> trace = TraceReplay([0, 60, 120], [6, 0, 3], bucket=60, logged=[1, 0, 1])
    >>> trace.counts.tolist(), trace.gap.tolist()
    ([6, 4, 3], [False, True, False])
    >>> stream = trace.stream(np.random.default_rng(0))
    >>> len(stream.take(60.0)), len(stream.take(180.0))
    (6, 7)
    """

    def __init__(
        self,
        times: ArrayLike,
        counts: ArrayLike,
        *,
        bucket: float,
        spread: str = "poisson",
        logged: ArrayLike | None = None,
        gaps: str = "interpolate",
        scale: float = 1.0,
    ) -> None:
        owner = "TraceReplay"
        self.bucket = check_number(bucket, "bucket", owner=owner, gt=0)
        self.spread = check_choice(spread, "spread", ("poisson", "uniform"), owner=owner)
        self.gaps = check_choice(gaps, "gaps", GAPS, owner=owner)
        self.scale = check_number(scale, "scale", owner=owner, ge=0)
        start = np.asarray(times, dtype=np.float64)
        raw = np.asarray(counts, dtype=np.float64)
        if start.ndim != 1 or start.shape != raw.shape or len(start) == 0:
            raise ParameterError("counts", np.shape(counts), f"{len(start)} counts", owner=owner)
        wrong = ~np.isfinite(raw) | (raw < 0) | (raw != np.round(raw)) | (raw > MAX_BUCKET_COUNT)
        if wrong.any():
            bad = int(np.argmax(wrong))
            raise ParameterError(
                f"counts[{bad}]",
                float(raw[bad]),
                f"a whole count from 0 to {MAX_BUCKET_COUNT} (elastic.sim.limits.MAX_BUCKET_COUNT)",
                owner=owner,
            )
        steps = np.diff(start)
        if len(steps) and not np.allclose(steps, self.bucket):
            bad = int(np.argmax(~np.isclose(steps, self.bucket))) + 1
            raise ParameterError(
                f"times[{bad}]",
                start[bad],
                f"{start[bad - 1]} + bucket ({self.bucket})",
                owner=owner,
            )
        self.times = start
        self.gap = (
            np.zeros(len(start), dtype=bool)
            if logged is None
            else ~np.asarray(logged, dtype=bool).reshape(-1)
        )
        if self.gap.shape != start.shape:
            raise ParameterError("logged", self.gap.shape, f"{len(start)} flags", owner=owner)
        self.counts = self._fill(raw.astype(np.int64))
        self.logged = None if logged is None else ~self.gap

    def get_params(self) -> dict[str, object]:
        params = super().get_params()
        params["counts"] = (
            self.counts if self.logged is None else np.where(self.gap, 0, self.counts)
        )
        return params

    def _fill(self, counts: NDArray[np.int64]) -> NDArray[np.int64]:
        if not self.gap.any() or self.gaps == "zero":
            return np.where(self.gap, 0, counts)
        if self.gaps == "error":
            first = int(np.argmax(self.gap))
            raise ParameterError(
                "logged",
                f"bucket {first} (t={self.times[first]:g}) not logged",
                "every bucket logged, or gaps='interpolate'|'hold'|'zero'",
                owner="TraceReplay",
            )
        known = np.flatnonzero(~self.gap)
        if len(known) == 0:
            raise ParameterError("logged", "no bucket logged", "at least one", owner="TraceReplay")
        if self.gaps == "interpolate":
            filled = np.interp(np.arange(len(counts)), known, counts[known])
            return np.where(self.gap, np.round(filled), counts).astype(np.int64)
        last = np.maximum.accumulate(np.where(self.gap, 0, np.arange(len(counts))))
        held = counts[last]
        held[: known[0]] = counts[known[0]]  # before the first logged bucket: the first count
        return np.where(self.gap, held, counts)

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        column: str = "requests",
        time_column: str = "time_s",
        logged_column: str | None = "logged",
        bucket: float | None = None,
        **options: object,
    ) -> TraceReplay:
        """Read a trace of counts per bucket from a CSV file (``.csv`` or ``.csv.gz``).

        ``bucket`` defaults to the step of the time column; a ``logged``
        column, when present, marks the gaps. A problem in the file (a
        text cell, a ragged row, a count above
        :data:`~elastic.sim.limits.MAX_BUCKET_COUNT`, times that are not
        ``bucket`` apart) is a :class:`~elastic.files.FileError` naming the
        file and the line.
        """
        from elastic.sim.tracefile import read_table

        owner = cls.__name__
        table = read_table(path, (column, time_column), owner=owner)
        times, counts = table.column(time_column), table.column(column)
        back = np.flatnonzero(np.diff(times) <= 0)
        if len(back):
            raise table.error(
                f"times in column {time_column!r} that increase, not {times[back[0] + 1]:g} "
                f"after {times[back[0]]:g}",
                row=int(back[0]) + 1,
                owner=owner,
            )
        logged = (
            table.column(logged_column)
            if logged_column is not None and logged_column in table.header
            else None
        )
        step = (
            bucket if bucket is not None else float(times[1] - times[0]) if len(times) > 1 else 1.0
        )
        try:
            return cls(times, counts, bucket=step, logged=logged, **options)  # type: ignore[arg-type]
        except ParameterError as error:
            row = re.fullmatch(r"\w+\[(\d+)\]", error.name)
            if row is None:
                raise
            raise table.error(str(error), row=int(row.group(1)), owner=owner) from None

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        t = np.asarray(times, dtype=np.float64)
        index = np.floor((t - self.times[0]) / self.bucket).astype(np.int64)
        inside = (index >= 0) & (index < len(self.counts))
        rate = self.counts[np.clip(index, 0, len(self.counts) - 1)] * self.scale / self.bucket
        return np.where(inside, rate, 0.0)

    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        return _ReplayStream(self, rng, start)


class _ReplayStream(ArrivalStream):
    def __init__(self, trace: TraceReplay, rng: np.random.Generator, start: float) -> None:
        super().__init__(start)
        self.trace, self.rng = trace, rng
        # the scaled counts' fractions from a generator of their own: drawn bucket after
        # bucket, apart from the arrival times, so neither depends on how time is cut
        self.scaling = rng.spawn(1)[0]
        self.origin = float(trace.times[0])
        self.next_bucket = int(np.searchsorted(trace.times + trace.bucket, start, side="right"))
        self.pending = np.empty(0)
        self.carry = np.empty(0, dtype=np.int64)  # tick counts left of a bucket begun

    def _aligned(self, tick: float) -> int:
        """Ticks per bucket if the buckets split into whole ticks from ``self.time`` on, else 0."""
        trace = self.trace
        per = round(trace.bucket / tick)
        aligned = (
            abs(per * tick - trace.bucket) < 1e-9 * trace.bucket
            and per >= 1
            and not len(self.pending)
            and abs(
                self.origin + self.next_bucket * trace.bucket - len(self.carry) * tick - self.time
            )
            < 1e-9
        )
        return per if aligned else 0

    def counts_of(self, ends: Sequence[float], tick: float) -> NDArray[np.int64]:
        # with a bucket per tick and no scaling nothing is drawn: one slice for all windows
        windows, time = [], self.time
        for end in ends:
            windows.append(round((end - time) / tick))
            time = end
        if (
            self.trace.scale == 1.0
            and self._aligned(tick) == 1
            and len(set(windows)) == 1
            and sum(windows) == round((ends[-1] - self.time) / tick)
        ):
            return self.counts(ends[-1], tick).reshape(len(ends), windows[0])
        return ArrivalStream.counts_of(self, ends, tick)

    def counts(self, until: float, tick: float) -> NDArray[np.int64]:
        # Bucket counts handed out directly, split into ticks when a bucket spans several
        # (multinomially for "poisson", by the even positions for "uniform").
        trace = self.trace
        per = self._aligned(tick)
        first = self.next_bucket
        if not per:
            return ArrivalStream.counts(self, until, tick)
        ticks = round((until - self.time) / tick)
        missing = max(0, ticks - len(self.carry))
        last = min(first + -(-missing // per), len(trace.times))
        split = self._split(self._scaled(first, last), per) if last > first else self.carry[:0]
        pool = np.concatenate([self.carry, split]) if len(self.carry) else split
        if len(pool) < ticks:  # past the end of the trace
            pool = np.concatenate([pool, np.zeros(ticks - len(pool), dtype=np.int64)])
        self.carry = pool[ticks:]
        self.next_bucket, self.time = last, until
        return pool[:ticks]

    def _split(self, counts: NDArray[np.int64], per: int) -> NDArray[np.int64]:
        """Each bucket's count over its ``per`` ticks."""
        if per == 1:
            return counts
        if self.trace.spread == "poisson":
            return self.rng.multinomial(counts, np.full(per, 1 / per)).astype(np.int64).ravel()
        # evenly spaced arrivals at (j + 0.5) / n of the bucket: count them per tick
        edges = np.arange(per + 1) / per
        below = np.ceil(np.outer(counts, edges) - 0.5).astype(np.int64)
        return np.diff(below, axis=1).ravel()

    def _scaled(self, first: int, last: int) -> NDArray[np.int64]:
        """The counts of buckets ``first`` to ``last``, scaled (fractions drawn at random)."""
        trace = self.trace
        if trace.scale == 1.0:
            return trace.counts[first:last]
        scaled = trace.counts[first:last].astype(np.float64) * trace.scale
        whole = np.floor(scaled)
        return (whole + (self.scaling.random(len(scaled)) < scaled - whole)).astype(np.int64)

    def _take(self, start: float, end: float) -> FloatArray:
        trace = self.trace
        last = int(np.searchsorted(trace.times, end, side="left"))
        if last > self.next_bucket:
            new = self._arrivals(self.next_bucket, last)
            self.pending = np.concatenate([self.pending, new])
            self.next_bucket = last
        pending = self.pending[self.pending >= start]
        cut = int(np.searchsorted(pending, end, side="left"))
        self.pending = pending[cut:]
        return pending[:cut]

    def _arrivals(self, first: int, last: int) -> FloatArray:
        trace = self.trace
        counts = self._scaled(first, last)
        starts = np.repeat(trace.times[first:last], counts)
        if trace.spread == "poisson":
            offsets = self.rng.random(len(starts))
        else:
            rank = np.arange(len(starts)) - np.repeat(np.cumsum(counts) - counts, counts)
            offsets = (rank + 0.5) / np.repeat(np.maximum(counts, 1), counts)
        times = starts + offsets * trace.bucket
        return np.sort(times)


class Timestamps(Workload):
    """Replay of one arrival time per request (for example the Azure LLM request files).

    Examples
    --------
    >>> Timestamps([0.5, 0.1, 2.0]).stream(np.random.default_rng(0)).take(1.0).tolist()
    [0.1, 0.5]
    """

    def __init__(self, times: ArrayLike) -> None:
        values = np.sort(np.asarray(times, dtype=np.float64).reshape(-1))
        if not np.all(np.isfinite(values)):
            raise ParameterError("times", "non-finite", "finite times", owner="Timestamps")
        self.times = values

    @classmethod
    def from_csv(cls, path: str | Path, *, column: str = "t_ms", unit: float = 1e-3) -> Timestamps:
        """Read arrival times from a CSV column, multiplied by ``unit`` to get seconds.

        A problem in the file is a :class:`~elastic.files.FileError` naming the file and the
        line (see :func:`~elastic.sim.tracefile.read_table`).
        """
        from elastic.sim.tracefile import read_table

        check_number(unit, "unit", owner="Timestamps", gt=0)
        return cls(read_table(path, (column,), owner="Timestamps").column(column) * unit)

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        t = np.asarray(times, dtype=np.float64)
        # arrivals in the surrounding minute, per second
        window = 60.0
        counts = np.searchsorted(self.times, t + window / 2) - np.searchsorted(
            self.times, t - window / 2
        )
        return counts / window

    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        return _FixedStream(self.times, start)


class _FixedStream(ArrivalStream):
    def __init__(self, times: FloatArray, start: float) -> None:
        super().__init__(start)
        self.times = times

    def _take(self, start: float, end: float) -> FloatArray:
        lo, hi = np.searchsorted(self.times, [start, end], side="left")
        return self.times[lo:hi]


class Superpose(Workload):
    """The arrivals of several workloads together.

    Examples
    --------
    >>> both = Poisson(5.0) + Poisson(2.0)
    >>> float(both.mean_rate([0.0])[0])
    7.0
    """

    def __init__(self, workloads: Sequence[Workload]) -> None:
        parts: list[Workload] = []
        for workload in workloads:
            if not isinstance(workload, Workload):
                raise ParameterError("workloads", workload, "Workload objects", owner="Superpose")
            parts.extend(workload.workloads if isinstance(workload, Superpose) else [workload])
        self.workloads: tuple[Workload, ...] = tuple(parts)

    def changes(self, duration: float) -> float:
        return sum(workload.changes(duration) for workload in self.workloads)

    def mean_rate(self, times: ArrayLike) -> FloatArray:
        return np.asarray(np.sum([w.mean_rate(times) for w in self.workloads], axis=0), float)

    def stream(self, rng: np.random.Generator, start: float = 0.0) -> ArrivalStream:
        children = rng.spawn(len(self.workloads))
        return _MergedStream(
            [w.stream(g, start) for w, g in zip(self.workloads, children, strict=True)], start
        )


class _MergedStream(ArrivalStream):
    def __init__(self, streams: list[ArrivalStream], start: float) -> None:
        super().__init__(start)
        self.streams = streams

    def _take(self, start: float, end: float) -> FloatArray:
        return np.sort(np.concatenate([s.take(end) for s in self.streams]))

    def counts(self, until: float, tick: float) -> NDArray[np.int64]:
        self.time = until
        parts = [s.counts(until, tick) for s in self.streams]
        return np.asarray(np.sum(parts, axis=0), dtype=np.int64)
