"""Workloads: replayed counts are kept exactly, generators have the rates they promise."""

import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.errors import ParameterError
from elastic.sim.randomness import Streams
from elastic.sim.workload import (
    MMPP,
    Diurnal,
    FlashCrowd,
    Poisson,
    Ramp,
    Timestamps,
    TraceReplay,
)

SHARED = Path(__file__).parents[3] / "shared" / "traces"


def take_in_windows(stream, cuts):
    return np.concatenate([stream.take(t) for t in sorted(cuts)])


@settings(max_examples=80, deadline=None)
@given(
    counts=st.lists(st.integers(0, 30), min_size=1, max_size=20),
    cuts=st.lists(st.floats(0, 1300), max_size=8),
    spread=st.sampled_from(["poisson", "uniform"]),
)
def test_replay_keeps_every_bucket_count_whatever_the_windows(counts, cuts, spread):
    trace = TraceReplay(np.arange(len(counts)) * 60.0, counts, bucket=60.0, spread=spread)
    arrivals = take_in_windows(trace.stream(np.random.default_rng(1)), [*cuts, 1300.0])
    assert np.all(np.diff(arrivals) >= 0), "in time order across windows"
    per_bucket = np.bincount((arrivals // 60).astype(int), minlength=len(counts))
    assert per_bucket.tolist() == counts


def test_uniform_spread_is_evenly_spaced():
    trace = TraceReplay([0.0, 60.0], [3, 1], bucket=60.0, spread="uniform")
    assert trace.stream(np.random.default_rng(0)).take(120.0).tolist() == [10.0, 30.0, 50.0, 90.0]


@pytest.mark.parametrize(
    ("gaps", "expected", "why"),
    [
        ("interpolate", [10, 20, 30, 40], "linear between the logged neighbours"),
        ("hold", [10, 10, 10, 40], "the last logged count"),
        ("zero", [10, 0, 0, 40], "zero only when asked"),
    ],
)
def test_gaps_are_filled_explicitly(gaps, expected, why):
    trace = TraceReplay(
        [0, 60, 120, 180], [10, 0, 0, 40], bucket=60, logged=[1, 0, 0, 1], gaps=gaps
    )
    assert trace.counts.tolist() == expected, why
    assert trace.gap.tolist() == [False, True, True, False]


def test_a_gap_can_be_an_error():
    with pytest.raises(ParameterError, match="bucket 1"):
        TraceReplay([0, 60], [1, 0], bucket=60, logged=[1, 0], gaps="error")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"times": [0, 60], "counts": [1, -1], "bucket": 60}, "counts[1]"),
        ({"times": [0, 60], "counts": [1, 1.5], "bucket": 60}, "counts[1]"),
        ({"times": [0, 60], "counts": [1e300, 1], "bucket": 60}, "counts[0]"),
        ({"times": [0, 60], "counts": [1, 1_000_000_001], "bucket": 60}, "counts[1]"),
        ({"times": [0, 60, 90], "counts": [1, 1, 1], "bucket": 60}, "times[2]"),
        ({"times": [0, 60], "counts": [1], "bucket": 60}, "counts"),
        ({"times": [0], "counts": [1], "bucket": 60, "spread": "even"}, "spread"),
    ],
)
def test_bad_traces_name_the_field(kwargs, name):
    with pytest.raises(ParameterError) as info:
        TraceReplay(**kwargs)
    assert info.value.name == name


def test_the_shipped_trace_replays_all_its_requests():
    path = resources.files("elastic.data").joinpath("nasa_kennedy_1995_jul09_per_minute.csv.gz")
    trace = TraceReplay.from_csv(Path(str(path)))
    assert trace.bucket == 60.0 and int(trace.counts.sum()) == 544_913
    day = trace.stream(np.random.default_rng(0)).take(86400.0)
    assert len(day) == int(trace.counts[:1440].sum())


def test_a_trace_with_outages_reads_them_as_gaps():
    path = SHARED / "nasa_kennedy_1995_per_minute.csv.gz"
    if not path.exists():
        pytest.skip("../shared/traces is not here (a user's clone)")
    trace = TraceReplay.from_csv(path)
    assert trace.gap.sum() > 0 and np.all(trace.counts[trace.gap] > 0)


def test_timestamps_replay_each_request_once():
    times = np.random.default_rng(3).uniform(0, 100, 500)
    stream = Timestamps(times).stream(np.random.default_rng(0))
    assert np.array_equal(take_in_windows(stream, [10.0, 10.0, 55.5, 100.0]), np.sort(times))


def test_azure_llm_request_file_loads():
    path = SHARED / "azure_llm_2023_code_requests.csv"
    if not path.exists():
        pytest.skip("../shared/traces is not here (a user's clone)")
    assert len(Timestamps.from_csv(path).times) == 8_819


@pytest.mark.parametrize(
    ("workload", "horizon", "band"),
    [
        (Poisson(20.0), 5_000.0, 0.0),
        (Diurnal(10.0, 0.8, peak_at=3600.0), 86_400.0, 0.0),
        # 1440 log-normal factors of sigma 0.3: the day's total has an sd of about 0.8 %
        (Diurnal(10.0, 0.8, noise=0.3), 86_400.0, 0.03),
        (Ramp(0.0, 20.0, start=0.0, end=5_000.0), 5_000.0, 0.0),
        (FlashCrowd(50.0, at=100.0, rise=60.0, hold=300.0, decay=200.0), 3_000.0, 0.0),
        # about 600 bursts of exponential length: the total has an sd of about 3 %
        (MMPP((2.0, 40.0), (300.0, 30.0)), 200_000.0, 0.12),
        (Poisson(3.0) + FlashCrowd(20.0, at=0.0, rise=0.0, decay=100.0), 2_000.0, 0.0),
    ],
    ids=["poisson", "diurnal", "diurnal-noise", "ramp", "flash", "mmpp", "sum"],
)
def test_generators_deliver_their_mean_rate(workload, horizon, band):
    rng = np.random.default_rng(11)
    arrivals = take_in_windows(workload.stream(rng), np.linspace(0, horizon, 37)[1:])
    grid = np.linspace(0, horizon, 200_001)
    expected = float(np.trapezoid(workload.mean_rate(grid), grid))
    # Poisson counts: sd = sqrt(mean); a random rate adds variance, hence the band
    assert abs(len(arrivals) - expected) <= 6 * np.sqrt(expected) + band * expected
    assert np.all(np.diff(arrivals) >= 0) and arrivals.min() >= 0 and arrivals.max() < horizon


def test_poisson_gaps_are_exponential():
    arrivals = Poisson(10.0).stream(np.random.default_rng(5)).take(20_000.0)
    gaps = np.diff(arrivals)
    assert gaps.mean() == pytest.approx(0.1, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.02)


def test_same_seed_same_arrivals_in_another_process():
    code = (
        "from elastic.sim.randomness import Streams; from elastic.sim.workload import MMPP;"
        "a = MMPP((1.0, 9.0), (60.0, 6.0)).stream(Streams(42).generator('arrivals')).take(5e3);"
        "print(len(a), repr(float(a.sum())))"
    )
    here = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    arrivals = MMPP((1.0, 9.0), (60.0, 6.0)).stream(Streams(42).generator("arrivals")).take(5e3)
    assert here.stdout.split() == [str(len(arrivals)), repr(float(arrivals.sum()))]


def test_fluid_counts_of_a_rate_are_its_expected_arrivals_rounded_cumulatively():
    stream = Poisson(2.5).stream(np.random.default_rng(0))
    first, second = stream.counts(10.0, 1.0), stream.counts(20.0, 1.0)
    assert first.tolist() == [2, 3, 2, 3, 2, 3, 2, 3, 2, 3]
    assert int(first.sum() + second.sum()) == 50


def test_fluid_counts_of_a_trace_are_its_buckets():
    trace = TraceReplay([0.0, 60.0, 120.0], [5, 0, 7], bucket=60.0)
    assert trace.stream(np.random.default_rng(0)).counts(240.0, 60.0).tolist() == [5, 0, 7, 0]


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=12),
    windows=st.lists(st.integers(1, 9), min_size=1, max_size=10),
    spread=st.sampled_from(["poisson", "uniform"]),
)
def test_fluid_counts_split_buckets_into_ticks_without_losing_any(counts, windows, spread):
    trace = TraceReplay(np.arange(len(counts)) * 60.0, counts, bucket=60.0, spread=spread)
    stream = trace.stream(np.random.default_rng(2))
    ticks, until = [], 0.0
    for width in windows:  # windows of whole 15-s ticks, cutting through buckets
        until += 15.0 * width
        ticks.extend(stream.counts(until, 15.0).tolist())
    per_bucket = [sum(ticks[i : i + 4]) for i in range(0, len(ticks), 4)]
    covered = min(len(ticks) // 4, len(counts))
    assert per_bucket[:covered] == counts[:covered]
    if spread == "uniform":
        arrivals = trace.stream(np.random.default_rng(2)).take(until)
        assert ticks == np.histogram(arrivals, np.arange(len(ticks) + 1) * 15.0)[0].tolist()


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    bucket=st.sampled_from([1.0, 2.0, 3.0]),
    scale=st.sampled_from([1.0, 0.5]),
    width=st.integers(1, 6),
    windows=st.integers(1, 8),
    offset=st.integers(0, 3),
)
def test_fluid_counts_of_windows_at_once_are_those_of_windows_in_turn(
    counts, bucket, scale, width, windows, offset
):
    # a bucket per tick and no scaling is fetched as one slice; the rest window by window
    trace = TraceReplay(np.arange(len(counts)) * bucket, counts, bucket=bucket, scale=scale)
    one, each = (trace.stream(np.random.default_rng(3)) for _ in range(2))
    one.counts(float(offset), 1.0), each.counts(float(offset), 1.0)
    ends = [offset + width * (i + 1.0) for i in range(windows)]
    rows = one.counts_of(ends, 1.0)
    assert rows.tolist() == [each.counts(end, 1.0).tolist() for end in ends]
    assert one.counts(ends[-1] + 5.0, 1.0).tolist() == each.counts(ends[-1] + 5.0, 1.0).tolist()


def test_fluid_counts_of_a_generator_at_once_are_those_of_windows_in_turn():
    one, each = (
        Diurnal(30.0, 0.5, period=600.0).stream(np.random.default_rng(4)) for _ in range(2)
    )
    ends = [60.0, 120.0, 180.0]
    assert one.counts_of(ends, 1.0).tolist() == [each.counts(end, 1.0).tolist() for end in ends]


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(0.1, 500.0), cuts=st.lists(st.floats(0, 100), max_size=6))
def test_a_constant_rate_skips_thinning_yet_draws_what_any_rate_draws(rate, cuts):
    # Poisson keeps every candidate point without comparing; a flat ramp compares them all
    flat = Ramp(rate, rate, start=0.0, end=100.0)
    poisson, ramp = (w.stream(np.random.default_rng(5)) for w in (Poisson(rate), flat))
    windows = [*sorted(cuts), 100.0]
    assert take_in_windows(poisson, windows).tolist() == take_in_windows(ramp, windows).tolist()


# --- common random numbers: arrivals are a function of the workload and the seed alone ----------

CRN_WORKLOADS = {
    "poisson": Poisson(40.0),
    "diurnal": Diurnal(30.0, 0.8, period=400.0, peak_at=100.0),
    "diurnal-noise": Diurnal(30.0, 0.8, period=400.0, noise=0.4, noise_step=7.0),
    "ramp": Ramp(1.0, 60.0, start=10.0, end=290.0),
    "flash": FlashCrowd(80.0, at=50.0, rise=20.0, hold=30.0, decay=40.0),
    "mmpp": MMPP((5.0, 90.0), (40.0, 8.0)),
    "sum": Poisson(3.0) + MMPP((1.0, 30.0), (20.0, 5.0)) + Ramp(0.0, 20.0, start=0, end=300),
    "trace-scaled": TraceReplay(
        np.arange(10) * 30.0, [3, 50, 7, 0, 9, 80, 2, 1, 4, 6], bucket=30.0, scale=1.7
    ),
}


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(CRN_WORKLOADS)),
    cuts=st.lists(st.floats(0.0, 300.0), max_size=40),
    seed=st.integers(0, 3),
)
def test_arrivals_do_not_depend_on_how_the_run_is_cut_into_windows(name, cuts, seed):
    workload = CRN_WORKLOADS[name]
    whole = workload.stream(np.random.default_rng(seed)).take(300.0)
    pieces = take_in_windows(workload.stream(np.random.default_rng(seed)), [*cuts, 300.0])
    seconds = take_in_windows(workload.stream(np.random.default_rng(seed)), np.arange(1.0, 301.0))
    assert pieces.tolist() == whole.tolist()
    assert seconds.tolist() == whole.tolist()


def test_a_ramp_gives_the_same_arrivals_in_one_window_or_in_many():
    # the case of issue 15: 875, 860 and 819 arrivals for one ramp and one seed
    ramp = Ramp(1.0, 5.0, start=0.0, end=300.0)
    totals = {
        len(take_in_windows(ramp.stream(np.random.default_rng(0)), cuts))
        for cuts in ([300.0], np.linspace(300 / 49, 300.0, 49), np.arange(1.0, 301.0))
    }
    assert len(totals) == 1
