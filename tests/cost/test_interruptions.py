"""Spot interruptions by the provider, and durations a tariff must refuse.

Issue 15 A10(b): a Linux Spot instance interrupted by EC2 in its first hour
is not charged; after it, the seconds used are (AWS, "Billing for
interrupted Spot Instances"). RHEL/SUSE-style hourly billing charges the full
hours used and not the interrupted partial hour. Issue 15 B6: negative and
NaN durations are refused.
"""

from decimal import Decimal as D

import numpy as np
import pytest

from elastic.cost import Fargate, Hourly, Ledger, PerSecond, Spot
from elastic.cost.money import QUANTUM
from elastic.errors import ParameterError
from elastic.sim import Constant

TARIFFS = {
    "spot": PerSecond("0.036"),
    "series": Spot([0, 60], ["0.036", "0.072"]),
    "suse": Hourly("0.05"),
    "fargate": Fargate(1, 2, "0.04048", "0.004445"),
}


def bill(kind, seconds, *, interrupted, until=None):
    ledger = Ledger(TARIFFS)
    ledger.start("i", kind, 0.0)
    ledger.stop("i", seconds, interrupted=interrupted)
    return ledger.total(until=until)


@pytest.mark.parametrize(
    ("kind", "seconds", "expected", "why"),
    [
        ("spot", 1800.0, D(0), "interrupted by EC2 in the first hour: no charge"),
        ("spot", 30.0, D(0), "not even the 60 s minimum"),
        ("spot", 3599.9, D(0), "still the first hour"),
        ("spot", 3600.0, D("0.036"), "after the first hour: the seconds used"),
        ("spot", 5000.5, D("0.036") * 5001 / 3600, "the seconds used, rounded up"),
        ("series", 1800.0, D(0), "a price series: the same rule"),
        ("suse", 1800.0, D(0), "hourly: no charge in the first hour"),
        ("suse", 9000.0, D("0.10"), "hourly: full hours used, not the interrupted partial hour"),
        ("fargate", 30.0, D("0.04937") * 60 / 3600, "Fargate has no such rule"),
    ],
)
def test_an_interruption_by_the_provider_in_the_first_hour_is_not_charged(
    kind, seconds, expected, why
):
    assert bill(kind, seconds, interrupted=True) == expected.quantize(QUANTUM), why


def test_stopping_a_spot_instance_yourself_is_charged():
    assert bill("spot", 1800.0, interrupted=False) == D("0.018")


def test_an_interrupted_lifecycle_is_free_at_every_time_so_the_bill_never_decreases():
    for until in (10.0, 900.0, 1800.0, 4000.0):
        assert bill("spot", 1800.0, interrupted=True, until=until) == 0
    hourly = [bill("suse", 9000.0, interrupted=True, until=u) for u in (100, 3700, 7300, 8000)]
    assert hourly == sorted(hourly) == [D("0.05"), D("0.10"), D("0.10"), D("0.10")]


def test_the_interruption_is_recorded_and_itemized():
    ledger = Ledger(TARIFFS)
    ledger.start_many(["a", "b"], "spot", 0.0)
    ledger.stop_many(["a", "b"], [600.0, 600.0], interrupted=[True, False])
    assert [c.interrupted for c in ledger.lifecycles()] == [True, False]
    assert ledger.by_unit() == {"a": D(0), "b": D("0.006")}
    _, buckets = ledger.by_time(300.0, until=600.0, exact=True)
    assert sum(buckets) == ledger.total() == D("0.006")
    bulk = Ledger(TARIFFS)
    bulk.add_lifecycles("spot", [0.0, 0.0], [600.0, 600.0], interrupted=[True, False])
    assert bulk.total() == D("0.006")


@pytest.mark.parametrize("seconds", [-1.0, np.nan, np.inf, 1e19])
@pytest.mark.parametrize("tariff", [PerSecond("0.096"), Hourly("0.096"), Spot([0], ["0.036"])])
def test_a_tariff_refuses_durations_that_are_not_a_duration(tariff, seconds):
    starts, durations = np.array([0.0, 0.0]), np.array([30.0, seconds])
    for method in (tariff.amount, tariff.amounts):
        expected = r"seconds\[1\]=.*expected a number of seconds from 0 to 1e\+12"
        with pytest.raises(ParameterError, match=expected):
            method(starts, durations)


def test_a_tariff_refuses_starts_that_are_not_times():
    with pytest.raises(ParameterError, match=r"starts\[0\]=nan"):
        PerSecond("0.096").amount(np.array([np.nan]), np.array([3.0]))
    with pytest.raises(ParameterError, match="one start per duration"):
        PerSecond("0.096").amount(np.array([0.0]), np.array([3.0, 4.0]))


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_the_simulator_bills_its_spot_interruptions_as_interruptions(fidelity):
    from elastic import DecisionLoop
    from elastic.policies import TargetTracking
    from elastic.sim import Poisson, ReplicaSpec, Scenario, simulate

    scenario = Scenario(
        Poisson(2.0),
        duration=3000.0,
        replica=ReplicaSpec(spot_mtbi=1500.0, boot=Constant(30.0)),
        initial_replicas=4,
    )
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=4, max_replicas=4)
    result = simulate(scenario, loop, seed=3, fidelity=fidelity)
    assert result.totals["spot_interruptions"] > 0
    assert result.ledger is not None
    cycles = [c for c in result.ledger.lifecycles() if c.start < scenario.duration]
    interrupted = [c for c in cycles if c.interrupted]
    # (a notice still running at the end of the run has not stopped its replica yet)
    assert 0 < len(interrupted) <= result.totals["spot_interruptions"]
    items = result.ledger.by_unit(until=scenario.duration)
    # interrupted within their first hour (the run is shorter): not charged
    assert all(items[c.unit] == 0 for c in interrupted)
    assert all(items[c.unit] > 0 for c in cycles if not c.interrupted)
