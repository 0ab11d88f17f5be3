"""Evaluation metrics against values worked out by hand on small series."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elastic.errors import ParameterError
from elastic.evaluate import (
    demand_replicas,
    elastic_speedup,
    instability,
    jitter,
    latency_percentiles,
    scaling_actions,
    seconds_in_violation,
    slo_attainment,
    tau_o,
    tau_u,
    theta_o,
    theta_u,
    time_to_scale_out,
)

D = [4, 4, 2, 2]  # demand over four 60-s samples
S = [2, 4, 4, 1]  # supply: short, right, over, short


@pytest.mark.parametrize(
    ("metric", "kwargs", "expected", "why"),
    [
        (theta_u, {}, 100 * (2 / 4 + 1 / 2) / 4, "short by half at t0 and t3: (0.5 + 0.5) / 4"),
        (theta_o, {}, 100 * (2 / 2) / 4, "double the demand at t2: 1.0 / 4"),
        (theta_u, {"normalised": False}, (2 + 1) / 4, "BUNGEE: 3 replica-samples short over 4"),
        (theta_o, {"normalised": False}, 2 / 4, "BUNGEE: 2 replica-samples over, over 4"),
        (tau_u, {}, 50.0, "short in two samples of four"),
        (tau_o, {}, 25.0, "over in one sample of four"),
        (theta_u, {"dt": [10, 10, 10, 70]}, 100 * (0.5 * 10 + 0.5 * 70) / 100, "weighted by Δt"),
        (tau_u, {"dt": [10, 10, 10, 70]}, 80.0, "the last sample is 70 % of the time"),
    ],
)
def test_spec_accuracy_and_timeshare(metric, kwargs, expected, why):
    assert metric(D, S, **kwargs) == pytest.approx(expected), why


@pytest.mark.parametrize(
    ("demand", "supply", "expected", "why"),
    [
        ([1, 2, 3, 4], [1, 2, 3, 4], 0.0, "supply follows every move"),
        ([1, 2, 3, 4], [1, 1, 1, 1], 100.0, "demand rises, supply never moves"),
        ([1, 2, 3, 2], [1, 2, 2, 1], 100 / 3, "one move in three differs (rise vs stay)"),
        ([3, 3, 3], [3, 4, 3], 100.0, "supply oscillates under a flat demand"),
    ],
)
def test_instability(demand, supply, expected, why):
    assert instability(demand, supply) == pytest.approx(expected), why


@pytest.mark.parametrize(
    ("supply", "units", "expected", "why"),
    [
        ([1, 3, 1, 3], True, (6 - 2) / 240 * 60, "6 units of supply moves vs 2 of demand in 4 min"),
        ([1, 3, 1, 3], False, (3 - 2) / 240 * 60, "3 supply changes vs 2 demand changes"),
        ([1, 1, 1, 1], True, -2 / 240 * 60, "supply never moves: too inert, negative"),
    ],
)
def test_jitter(supply, units, expected, why):
    assert jitter([1, 2, 3, 3], supply, dt=60.0, units=units) == pytest.approx(expected), why


def test_elastic_speedup_is_a_geometric_mean_of_ratios():
    base = {"theta_u": 8.0, "theta_o": 4.0, "tau_u": 2.0, "tau_o": 1.0}
    # twice as good on theta_u, twice as bad on tau_o: the product of ratios is 1
    assert elastic_speedup({**base, "theta_u": 4.0, "tau_o": 2.0}, base) == pytest.approx(1.0)
    # twice as good everywhere
    assert elastic_speedup({k: v / 2 for k, v in base.items()}, base) == pytest.approx(2.0)
    assert elastic_speedup({**base, "tau_o": 0.0}, base) == math.inf
    with pytest.raises(ParameterError):
        elastic_speedup({"theta_u": 1.0}, base)


@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=2, max_size=40),
)
def test_elasticity_metrics_stay_in_range(pairs):
    demand, supply = [d for d, _ in pairs], [s for _, s in pairs]
    assert 0 <= tau_u(demand, supply) + tau_o(demand, supply) <= 100 + 1e-9
    assert theta_u(demand, supply) <= 100 + 1e-9, "never more than all of the demand is missing"
    assert theta_u(demand, supply) >= 0 and theta_o(demand, supply) >= 0
    assert 0 <= instability(demand, supply) <= 100
    assert theta_u(demand, demand) == theta_o(demand, demand) == tau_u(demand, demand) == 0


@pytest.mark.parametrize(
    ("kwargs", "expected", "why"),
    [
        ({}, 0.75, "three of four within 0.5 s"),
        ({"dropped": 1}, 0.6, "a dropped request missed the objective"),
        ({"timed_out": 2, "failed": 2}, 3 / 8, "so did timed-out and failed ones"),
    ],
)
def test_slo_attainment(kwargs, expected, why):
    assert slo_attainment([0.1, 0.5, 0.4, 0.9], 0.5, **kwargs) == pytest.approx(expected), why


def test_latency_percentiles_and_violation_time():
    assert latency_percentiles([1, 2, 3, 4, 5]) == {
        "p50": 3.0,
        "p90": 4.6,
        "p95": 4.8,
        "p99": 4.96,
        "max": 5.0,
    }
    assert all(math.isnan(v) for v in latency_percentiles([]).values())
    assert seconds_in_violation([15, 15, 30], [0.6, 0.4, 0.7], 0.5) == 45.0


@pytest.mark.parametrize(
    ("replicas", "expected", "why"),
    [
        ([3, 3, 3], {"actions": 0, "up": 0, "down": 0}, "no change"),
        ([1, 5, 2], {"actions": 2, "up": 1, "down": 1}, "a jump of four counts once"),
        ([1, 2, 3, 2, 1], {"actions": 4, "up": 2, "down": 2}, "steps one by one"),
    ],
)
def test_scaling_actions(replicas, expected, why):
    assert scaling_actions(replicas) == expected, why


@pytest.mark.parametrize(
    ("demand", "supply", "expected", "why"),
    [
        ([2, 4, 4, 4], [2, 2, 4, 4], 10.0, "one step, met 10 s later"),
        ([2, 4, 4, 4], [2, 2, 2, 2], math.nan, "never met: no finished episode"),
        ([2, 4, 2, 6, 6], [2, 2, 4, 4, 6], 10.0, "two episodes of 10 s each"),
    ],
)
def test_time_to_scale_out(demand, supply, expected, why):
    t = np.arange(len(demand)) * 10.0
    result = time_to_scale_out(t, demand, supply)
    assert (math.isnan(result) and math.isnan(expected)) or result == expected, why


@pytest.mark.parametrize(
    ("rate", "kwargs", "expected", "why"),
    [
        (0.0, {}, 0, "no load, no replica"),
        (10.0, {"slots": 2}, 3, "5 busy slots: 3 replicas of 2 (83 %)"),
        (8.0, {"slots": 2, "utilization": 0.5}, 4, "4 busy slots at 50 %: 8 slots"),
        (4.0, {}, 3, "exactly 2 busy slots on 1-slot replicas: 100 % never settles, so 3"),
        (10.0, {"slots": 2, "objective": 0.6}, 4, "0.1 s of mean wait allowed: M/M/8"),
    ],
)
def test_demand_replicas(rate, kwargs, expected, why):
    assert demand_replicas([rate], 0.5, **kwargs).tolist() == [expected], why


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: theta_u([1, 2], [1]), "supply"),
        (lambda: theta_u([1, -2], [1, 1]), "demand"),
        (lambda: tau_u([1, 2], [1, 1], dt=[1, 0]), "dt"),
        (lambda: slo_attainment([1.0], 0.0), "objective"),
        (lambda: demand_replicas([1.0], 0.5, objective=0.4), "objective"),
    ],
)
def test_bad_inputs_name_the_field(call, name):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name
