"""Demand follows the load intensity the workload defines, not each interval's random counts.

Regression test for issue 15 A9: a fixed fleet scored instability 42.3 and
jitter -1.835 because demand was estimated from realized Poisson counts.
"""

import numpy as np
import pytest

from elastic import DecisionLoop
from elastic.evaluate import offered_rate
from elastic.policies import TargetTracking
from elastic.sim import Diurnal, Poisson, ReplicaSpec, RunResult, Scenario, simulate


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_fixed_fleet_is_perfectly_stable_whatever_the_seed(seed):
    scenario = Scenario(
        Poisson(40.0), duration=1800.0, replica=ReplicaSpec(slots=2), initial_replicas=5, slo=0.5
    )
    loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=5, max_replicas=5)
    summary = simulate(scenario, loop, seed=seed).summary()
    assert summary["instability"] == 0.0
    assert summary["jitter"] == 0.0


def test_demand_is_the_workloads_intensity_per_interval():
    scenario = Scenario(Diurnal(20.0, 0.5, period=3600.0), duration=3600.0, initial_replicas=3)
    loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=3, max_replicas=3)
    result = simulate(scenario, loop, seed=2)
    mids = (result.start + result.end) / 2
    assert result.offered == pytest.approx(scenario.workload.mean_rate(mids), rel=1e-3)
    again = RunResult.from_json(result.to_json())
    assert np.array_equal(again.offered, result.offered)
    assert np.array_equal(again.demand(), result.demand())


def test_offered_rate_averages_the_rate_over_each_interval():
    def step(times):
        return np.where(np.asarray(times) < 10.0, 0.0, 6.0)

    rate = offered_rate(step, np.array([0.0, 5.0, 10.0]), np.array([5.0, 15.0, 20.0]))
    assert rate.tolist() == [0.0, 3.0, 6.0]
