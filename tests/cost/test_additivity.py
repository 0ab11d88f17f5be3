"""Exact additivity: the items, time buckets and splits of a bill add up to it to the last digit.

Regression tests for issue 15 A8 (3 units for 100 s itemized to
0.008000000000000000000000000001 against a total of 0.008).
"""

import itertools
from decimal import Decimal as D
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.cost import Fargate, Hourly, LambdaRequests, Ledger, PerSecond, Spot
from elastic.cost.money import QUANTUM, apportion, quanta, to_decimal

TARIFFS = {
    "m5.large": PerSecond("0.096"),
    "odd": PerSecond("0.0973"),
    "hourly": Hourly("0.0413"),
    "fargate": Fargate(0.25, 0.5, "0.04048", "0.004445"),
    "spot": Spot([0, 60, 5000], ["0.036", "0.072", "0.05"]),
    "fn": LambdaRequests(1024, "0.0000166667", "0.0000002"),
}
KINDS = ["m5.large", "odd", "hourly", "fargate", "spot"]


def test_three_units_itemize_exactly_to_their_total():
    ledger = Ledger({"k": PerSecond("0.096")})
    for unit in ("a", "b", "c"):
        ledger.start(unit, "k", 0.0)
        ledger.stop(unit, 100.0)
    items = ledger.by_unit()
    assert sum(items.values()) == ledger.total() == D("0.008")
    assert ledger.by_time(30.0, until=100.0, exact=True)[1].sum() == ledger.total(until=100.0)


def test_every_amount_is_on_the_quantum():
    ledger = Ledger({"k": PerSecond("0.096")})
    ledger.start("a", "k", 0.0)
    ledger.stop("a", 100.0)
    assert ledger.total() == to_decimal(Fraction("0.096") * 100 / 3600)
    assert ledger.total().quantize(QUANTUM) == ledger.total()


def test_apportion_adds_up_and_stays_within_a_quantum():
    numerators, denominator = [1, 2, 5, 7, 11], 3 * 7 * 10**17
    parts = apportion(numerators, denominator)
    assert sum(parts) == to_decimal(Fraction(sum(numerators), denominator))
    for part, n in zip(parts, numerators, strict=True):
        assert abs(Fraction(part) - Fraction(n, denominator)) <= Fraction(QUANTUM)


def test_quanta_round_half_to_even():
    half = 10**18 * 2
    assert [quanta(1, half), quanta(3, half), quanta(5, half)] == [0, 2, 2]


times = st.one_of(st.sampled_from([0.0, 60.0, 3600.0]), st.floats(0, 20_000))
durations = st.one_of(st.none(), st.sampled_from([0.0, 30.0, 100.0]), st.floats(0, 8_000))
runs = st.tuples(
    st.lists(st.tuples(st.sampled_from(KINDS), times, durations, st.booleans()), max_size=10),
    st.lists(st.tuples(times, st.floats(0, 30), st.floats(0, 2)), max_size=6),
)


def ledger_of(lifecycles, requests):
    ledger = Ledger(TARIFFS)
    for i, (kind, start, duration, interrupted) in enumerate(lifecycles):
        # a few units start twice (restarted), so by_unit sums several lifecycles
        unit = f"u{i % 4}" if f"u{i % 4}" not in ledger.running else f"w{i}"
        ledger.start(unit, kind, start)
        if duration is not None:
            ledger.stop(unit, start + duration, interrupted=interrupted)
    for time, duration, init in requests:
        ledger.request("fn", time, duration, init=init)
    return ledger


@settings(max_examples=80, deadline=None)
@given(run=runs, until=st.floats(0.5, 40_000), step=st.floats(30, 9_000))
def test_items_buckets_and_splits_add_up_exactly(run, until, step):
    ledger = ledger_of(*run)
    total = ledger.total(until=until)
    assert sum(ledger.by_unit(until=until).values(), D(0)) == total
    assert sum(ledger.by_type(until=until).values(), D(0)) == total
    edges, buckets = ledger.by_time(step, until=until, exact=True)
    assert sum(buckets, D(0)) == total
    for begin, end, bucket in zip(edges[:-1], edges[1:], buckets, strict=True):
        assert ledger.between(float(begin), float(end)) == bucket


@settings(max_examples=80, deadline=None)
@given(run=runs, cuts=st.lists(st.floats(0, 40_000), min_size=1, max_size=5))
def test_a_run_split_at_any_times_adds_up_to_its_total(run, cuts):
    ledger = ledger_of(*run)
    points = [0.0, *sorted(cuts)]
    parts = sum((ledger.between(a, b) for a, b in itertools.pairwise(points)), D(0))
    assert parts == ledger.total(until=points[-1])
