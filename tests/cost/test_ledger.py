"""The ledger: hand-computed bills, its errors, and its invariants."""

import re
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.cost import (
    CostObserver,
    Fargate,
    Hourly,
    LambdaRequests,
    Ledger,
    Lifecycle,
    PerSecond,
    ProvisionedConcurrency,
    Spot,
    per_second,
)
from elastic.cost.money import QUANTUM
from elastic.errors import ParameterError

PER_HOUR = D("0.096")
TARIFFS = {
    "m5.large": PerSecond("0.096"),
    "hourly": Hourly("0.096"),
    "fargate": Fargate(0.25, 0.5, "0.04048", "0.004445"),
    "spot": Spot([0, 60, 5000], ["0.036", "0.072", "0.05"]),
    "pc": ProvisionedConcurrency(10, 512, "0.0000041667"),
    "fn": LambdaRequests(1024, "0.0000166667", "0.0000002"),
}


def seconds(n):
    """The price of ``n`` billed seconds of an m5.large."""
    return PER_HOUR * n / 3600


def ledger_with(*lifecycles):
    ledger = Ledger(TARIFFS)
    for unit, kind, start, end in lifecycles:
        ledger.start(unit, kind, start)
        if end is not None:
            ledger.stop(unit, end)
    return ledger


@pytest.mark.parametrize(
    ("lifecycles", "until", "expected", "why"),
    [
        ([("a", "m5.large", 0, 30)], None, seconds(60), "30 s is billed the 60 s minimum"),
        ([("a", "m5.large", 0, None)], 30, seconds(60), "running at 30 s: the minimum is owed"),
        ([("a", "m5.large", 0, None)], 90.5, seconds(91), "running at 90.5 s: 91 s"),
        ([("a", "m5.large", 30, None)], 30, D(0), "a start at `until` is not before it"),
        ([("a", "m5.large", 5, 5)], None, seconds(60), "a zero-length start is still a start"),
        (
            [("a", "m5.large", 0, 10), ("b", "m5.large", 5, 3605)],
            None,
            seconds(60 + 3600),
            "two instances, summed",
        ),
        ([("h", "hourly", 0, 3601)], None, D("0.192"), "3601 s hourly: two started hours"),
        (
            [("t", "fargate", 0, 45)],
            None,
            D("0.0123425") * 60 / 3600,
            "0.25 vCPU / 0.5 GB for 45 s is billed 60 s of both",
        ),
        (
            [("s", "spot", 30, 40)],
            None,
            (D("0.036") * 30 + D("0.072") * 30) / 3600,
            "the spot minimum runs across a price change",
        ),
        (
            [("p", "pc", 0, 301)],
            None,
            D("0.0000041667") * D("0.5") * 10 * 600,
            "provisioned concurrency: 301 s is two 5-minute periods",
        ),
    ],
)
def test_hand_computed_bills(lifecycles, until, expected, why):
    # bills are handed out to the 1e-18 $ quantum
    assert ledger_with(*lifecycles).total(until=until) == expected.quantize(QUANTUM), why


def test_a_restarted_unit_pays_a_minimum_per_start():
    ledger = ledger_with(("a", "m5.large", 0, 10), ("a", "m5.large", 100, 110))
    assert ledger.by_unit() == {"a": seconds(120)}


def test_requests_are_billed_when_they_complete():
    ledger = Ledger(TARIFFS)
    for i in range(1000):
        ledger.request("fn", float(i), 0.1202)
    one = D("0.0000002") + D("0.0000166667") * D("0.121")  # 121 ms of 1 GB plus a request
    assert ledger.total() == one * 1000
    assert ledger.total(until=500) == one * 500, "the request completing at 500 s is not before it"
    ledger.request("fn", 2000.0, 0.0005, init=0.2503)
    assert ledger.total() - one * 1000 == D("0.0000002") + D("0.0000166667") * D("0.251")


def test_bulk_records_bill_like_events():
    one_by_one = ledger_with(("m5.large/0", "m5.large", 0, 30), ("m5.large/1", "m5.large", 10, 900))
    bulk = Ledger(TARIFFS)
    bulk.add_lifecycles("m5.large", [0, 10], [30, 900])
    assert bulk.by_unit() == one_by_one.by_unit()
    requests = Ledger(TARIFFS)
    requests.add_requests("fn", [1.0, 2.0], [0.1202, 0.001], init=[0.0, 0.5])
    events = Ledger(TARIFFS)
    events.request("fn", 1.0, 0.1202)
    events.request("fn", 2.0, 0.001, init=0.5)
    assert requests.total() == events.total()


def test_itemized_by_type_and_time():
    ledger = ledger_with(
        ("a", "m5.large", 1000, None),  # running across three buckets
        ("b", "m5.large", 3590, 3620),  # its minimum falls in the bucket it started in
        ("h", "hourly", 0, 10),
        ("z", "m5.large", 3600, 3600),  # a zero-length start on an edge belongs to the next bucket
    )
    edges, cost = ledger.by_time(3600, until=9000, exact=True)
    assert edges.tolist() == [0, 3600, 7200, 9000]
    expected = [seconds(2600) + seconds(60) + PER_HOUR, seconds(3600) + seconds(60), seconds(1800)]
    # each bucket within a quantum of its exact bill, and together exactly the total
    assert all(abs(c - e) <= QUANTUM for c, e in zip(cost, expected, strict=True))
    assert sum(cost) == ledger.total(until=9000)
    assert ledger.by_type(until=9000) == {
        "m5.large": seconds(8000 + 120).quantize(QUANTUM),
        "hourly": PER_HOUR,
    }


def test_by_time_starts_where_asked():
    ledger = ledger_with(("a", "m5.large", 0, 7200))
    edges, cost = ledger.by_time(1800, start=3600, until=7200)
    assert edges.tolist() == [3600, 5400, 7200]
    assert cost.tolist() == [float(seconds(1800))] * 2
    assert ledger.between(3600, 7200) == seconds(3600)


def test_the_ledger_is_what_a_simulator_talks_to():
    assert isinstance(Ledger(TARIFFS), CostObserver)


def test_lifecycles_read_back_as_recorded():
    ledger = ledger_with(("a", "m5.large", 0, 30), ("b", "hourly", 5, None))
    assert list(ledger.lifecycles()) == [
        Lifecycle("a", "m5.large", 0.0, 30.0),
        Lifecycle("b", "hourly", 5.0, None),
    ]
    assert ledger.running == ("b",)


@pytest.mark.parametrize(
    ("call", "name", "why"),
    [
        (lambda ledger: ledger.start("x", "m6.large", 0), "kind", "an unknown kind"),
        (lambda ledger: ledger.start("x", "fn", 0), "kind", "requests have no lifecycle"),
        (lambda ledger: ledger.request("m5.large", 0, 1), "kind", "instances are not requests"),
        (lambda ledger: ledger.start("a", "m5.large", 0), "unit", "`a` already runs"),
        (lambda ledger: ledger.stop("x", 0), "unit", "`x` never started"),
        (lambda ledger: ledger.stop("a", 5), "time", "a stop before its start"),
        (lambda ledger: ledger.start("x", "m5.large", float("nan")), "time", "a NaN time"),
        (lambda ledger: ledger.start("x", "spot", -1), "start", "before the first spot price"),
        (lambda ledger: ledger.total(), "until", "`a` still runs: say until when"),
        (lambda ledger: ledger.request("fn", 0, -1), "duration", "a negative duration"),
        (lambda ledger: ledger.add_lifecycles("m5.large", [0, 5], [1, 4]), "ends[1]", "4 < 5"),
        (lambda ledger: ledger.add_lifecycles("m5.large", [0], [1, 2]), "ends", "sizes differ"),
        (lambda ledger: ledger.add_requests("fn", [0, np.inf], [1, 1]), "times[1]", "infinite"),
        (lambda ledger: ledger.by_time(60, start=10, until=10), "until", "an empty span"),
        (lambda ledger: ledger.by_time(0, until=3600), "step", "a zero step"),
        (lambda ledger: ledger.start_many(["x", "a"], "m5.large", 0), "units", "`a` runs"),
        (lambda ledger: ledger.start_many(["x", "x"], "m5.large", 0), "units", "`x` twice"),
        (lambda ledger: ledger.start_many(["x"], "fn", 0), "kind", "requests have no lifecycle"),
        (lambda ledger: ledger.stop_many(["a"], [20, 30]), "times", "one time per unit"),
        (lambda ledger: ledger.stop_many(["a"], [5]), "time", "a stop before its start"),
    ],
)
def test_bad_records_name_the_field(call, name, why):
    ledger = ledger_with(("a", "m5.large", 10, None))
    with pytest.raises(ParameterError) as info:
        call(ledger)
    assert info.value.name == name, why


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(ParameterError, match=re.escape("'m5.large', 'hourly'")):
        Ledger(TARIFFS).start("x", "m6.large", 0)


# --- invariants ------------------------------------------------------------------------------

LIFECYCLE_KINDS = ["m5.large", "hourly", "fargate", "spot", "pc"]
# round times too, so that records fall on bucket edges and on each other
times = st.one_of(st.sampled_from([0.0, 60.0, 3600.0, 7200.0]), st.floats(0, 20_000))
durations = st.one_of(st.sampled_from([0.0, 30.0, 3600.0]), st.floats(0, 8_000))
lifecycle = st.tuples(st.sampled_from(LIFECYCLE_KINDS), times, st.one_of(st.none(), durations))
request = st.tuples(times, st.floats(0, 30, allow_nan=False), st.floats(0, 2, allow_nan=False))
runs = st.tuples(st.lists(lifecycle, max_size=12), st.lists(request, max_size=12))


def build(lifecycles, requests):
    ledger = Ledger(TARIFFS)
    for i, (kind, start, duration) in enumerate(lifecycles):
        ledger.start(f"u{i}", kind, start)
        if duration is not None:
            ledger.stop(f"u{i}", start + duration)
    for time, duration, init in requests:
        ledger.request("fn", time, duration, init=init)
    return ledger


@settings(max_examples=60, deadline=None)
@given(run=runs, cuts=st.lists(st.floats(0, 40_000, allow_nan=False), min_size=2, max_size=6))
def test_the_bill_never_decreases_and_is_never_negative(run, cuts):
    ledger = build(*run)
    totals = [ledger.total(until=t) for t in sorted(cuts)]
    assert all(t >= 0 for t in totals)
    assert totals == sorted(totals)


@settings(max_examples=60, deadline=None)
@given(
    run=runs,
    step=st.one_of(st.just(3600.0), st.floats(60, 20_000)),
    until=st.one_of(st.just(7200.0), st.floats(1, 40_000)),
)
def test_time_buckets_add_up_to_the_total(run, step, until):
    # by_time sweeps sorted edges; total masks the records: two ways to the same bill
    ledger = build(*run)
    edges, cost = ledger.by_time(step, until=until, exact=True)
    assert all(c >= 0 for c in cost)
    assert abs(sum(cost) - ledger.total(until=until)) <= D("1e-20")
    for edge, running_sum in zip(edges[1:], np.cumsum(cost), strict=True):
        assert abs(running_sum - ledger.total(until=edge)) <= D("1e-20")


@settings(max_examples=60, deadline=None)
@given(run=runs, data=st.data())
def test_the_order_records_arrive_in_does_not_matter(run, data):
    lifecycles, requests = run
    shuffled = (data.draw(st.permutations(lifecycles)), data.draw(st.permutations(requests)))
    until = data.draw(st.floats(0, 40_000))
    assert build(*shuffled).by_type(until=until) == build(*run).by_type(until=until)


@settings(max_examples=60, deadline=None)
@given(run=runs, data=st.data())
def test_a_run_split_in_two_ledgers_bills_the_same(run, data):
    lifecycles, requests = run
    side = data.draw(st.lists(st.booleans(), min_size=len(lifecycles), max_size=len(lifecycles)))
    first = [c for c, s in zip(lifecycles, side, strict=True) if s]
    second = [c for c, s in zip(lifecycles, side, strict=True) if not s]
    cut = data.draw(st.integers(0, len(requests)))
    until = data.draw(st.floats(0, 40_000))
    whole = build(lifecycles, requests).total(until=until)
    parts = build(first, requests[:cut]).total(until=until) + build(second, requests[cut:]).total(
        until=until
    )
    assert abs(whole - parts) <= QUANTUM  # each ledger's bill is rounded once


@settings(max_examples=60, deadline=None)
@given(
    lifecycles=st.lists(st.tuples(times, durations), max_size=12),
    until=st.floats(0, 40_000),
)
def test_the_ledger_bills_like_the_one_shot_function(lifecycles, until):
    ledger = Ledger(TARIFFS)
    ledger.add_lifecycles("m5.large", [s for s, _ in lifecycles], [s + d for s, d in lifecycles])
    expected = sum(
        (per_second(min(s + d, until) - s, "0.096") for s, d in lifecycles if s < until), D(0)
    )
    # each one-shot bill is rounded to the quantum, and the ledger's total once
    assert abs(ledger.total(until=until) - expected) <= QUANTUM * (len(lifecycles) + 1)


@pytest.mark.parametrize("pairs", [1, 7, 1000])
def test_by_time_bills_the_same_in_small_batches_of_lifecycles(monkeypatch, pairs):
    # by_time bills running lifecycles a batch at a time to bound its memory
    # and bills lifecycles that start together once per edge: some start in groups here
    rng = np.random.default_rng(1)
    ledger = Ledger(TARIFFS)
    for i in range(200):
        start = float(rng.uniform(0, 5000)) if i % 3 else round(float(rng.uniform(0, 50))) * 100
        ledger.start(f"u{i}", "m5.large", start)
        if rng.random() < 0.7:
            ledger.stop(f"u{i}", start + float(rng.exponential(900)))
    whole = ledger.by_time(60.0, until=8000.0, exact=True)[1]
    for cut in np.arange(60.0, 8000.0, 60.0):
        assert abs(sum(whole[: int(cut // 60)]) - ledger.total(until=float(cut))) <= D("1e-20")
    monkeypatch.setattr("elastic.cost.ledger._PAIRS", pairs)
    assert list(ledger.by_time(60.0, until=8000.0, exact=True)[1]) == list(whole)


def test_bulk_starts_and_stops_record_what_one_at_a_time_records():
    one, bulk = Ledger(TARIFFS), Ledger(TARIFFS)
    for unit in ("a", "b", "c"):
        one.start(unit, "hourly", 100.0)
    for unit, end in (("a", 200.0), ("c", 9000.0)):
        one.stop(unit, end)
    bulk.start_many(["a", "b", "c"], "hourly", 100.0)
    bulk.stop_many(["a", "c"], [200.0, 9000.0])
    assert list(bulk.lifecycles()) == list(one.lifecycles())
    assert bulk.total(until=10_000.0) == one.total(until=10_000.0)


@pytest.mark.parametrize(
    ("units", "times", "why"),
    [
        (["a", "x"], [20.0, 20.0], "`x` never started"),
        (["a", "b"], [20.0, 5.0], "`b` would stop before its start"),
        (["a", "b", "a"], [20.0, 20.0, 30.0], "`a` twice"),
    ],
)
def test_a_bulk_stop_that_fails_stops_nothing(units, times, why):
    ledger = ledger_with(("a", "m5.large", 10, None), ("b", "m5.large", 10, None))
    with pytest.raises(ParameterError):
        ledger.stop_many(units, times)
    assert ledger.running == ("a", "b"), why
    assert [c.end for c in ledger.lifecycles()] == [None, None], why


def test_by_time_refuses_more_buckets_than_it_can_hold():
    ledger = Ledger({"m": PerSecond("3600")})
    ledger.add_lifecycles("m", [0.0], [100.0])
    with pytest.raises(ParameterError, match=r"step=1e-09 .* at most 10000000 buckets"):
        ledger.by_time(1e-9, until=100.0)


def test_a_lifecycle_longer_than_the_bills_can_count_is_refused():
    # 1e19 s overflowed the whole seconds and billed the 60 s minimum, silently
    ledger = Ledger({"m": PerSecond("3600")})
    with pytest.raises(ParameterError, match=r"ends\[0\]=1e\+19 .* to 1e\+12"):
        ledger.add_lifecycles("m", [0.0], [1e19])
