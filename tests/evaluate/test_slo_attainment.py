"""SLO attainment is one computation, exact: the run summary agrees with ``slo_attainment``.

Regression test for issue 15 A7: the summary counted the whole histogram bin
containing the objective, so latencies just above the objective counted as
within it.
"""

import numpy as np
import pytest

from elastic import DecisionLoop
from elastic.evaluate import attainment, slo_attainment
from elastic.policies import TargetTracking
from elastic.sim import Constant, Poisson, ReplicaSpec, RunResult, Scenario, simulate
from elastic.sim.stats import LatencyHistogram


def test_the_histogram_counts_the_objective_exactly():
    values = np.array([0.2, 0.2, 0.1, 0.3])
    histogram = LatencyHistogram(objective=0.1998)  # in the bin of 0.2, just below it
    histogram.add(values)
    assert histogram.within == 1
    assert histogram.fraction_within(0.1998) == slo_attainment(values, 0.1998) == 0.25
    weighted = LatencyHistogram(objective=0.1998)
    weighted.add(values, np.array([1, 2, 3, 4]))
    assert weighted.within == 3


def test_attainment_is_one_rule_for_counts_and_latencies():
    assert attainment(3, 4, 1) == slo_attainment([0.1, 0.2, 0.4, 0.9], 0.5, dropped=1) == 0.6
    assert np.isnan(attainment(0, 0, 0))


def test_a_run_summary_counts_latencies_above_the_objective_as_missing_it():
    # every latency is the 0.2 s service time (or more): none is within 0.1998 s,
    # which falls in the same histogram bin as 0.2 s
    scenario = Scenario(
        Poisson(1.0),
        duration=300.0,
        service=Constant(0.2),
        replica=ReplicaSpec(slots=4),
        initial_replicas=2,
        slo=0.1998,
    )
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=2, max_replicas=2)
    result = simulate(scenario, loop, seed=0)
    assert result.totals["completed"] > 200
    assert result.summary()["slo_attainment"] == 0.0
    assert RunResult.from_json(result.to_json()).summary()["slo_attainment"] == 0.0
    within = simulate(scenario.__class__(**{**scenario.__dict__, "slo": 0.2001}), loop, seed=0)
    assert within.summary()["slo_attainment"] == pytest.approx(1.0)
