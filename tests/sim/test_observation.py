"""What the simulated controller is told besides the metrics."""

import numpy as np
import pytest

from elastic import DecisionLoop, Observation, Reason, Recommendation
from elastic.policies import StepScaling
from elastic.policies.base import BasePolicy
from elastic.sim import Constant, LogNormal, Poisson, ReplicaSpec, Scenario, iter_run, simulate


class Seen(BasePolicy):
    """Keeps the startup time of every observation (learning, so in observe)."""

    def __init__(self) -> None:
        self.startups_: list[float | None] = []

    def observe(self, obs: Observation) -> None:
        self.startups_.append(obs.startup)

    def recommend(self, obs: Observation) -> Recommendation:
        return Recommendation(None, Reason.HOLD)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_observations_carry_the_expected_boot_time(fidelity):
    boot = LogNormal(90.0, 0.3)
    scenario = Scenario(Poisson(5.0), duration=120.0, replica=ReplicaSpec(boot=boot))
    seen = Seen()
    # iter_run runs the loop as given (simulate would run a clone)
    iter_run(
        scenario, DecisionLoop(seen, min_replicas=1, max_replicas=3), fidelity=fidelity
    ).result()
    assert seen.startups_ == [pytest.approx(boot.mean)] * 8


# --- AWS current capacity: replicas scaled in and still draining count while scaling in ------

ONE_DOWN = [(None, 0, -1), (0, None, 1)]


def test_step_scaling_in_does_not_compound_while_replicas_drain():
    # 10 replicas far below the threshold, requests of 300 s, so a drain takes about 5 min.
    # AWS counts terminating instances in the current capacity while scaling in: one alarm
    # a minute takes the fleet to 9 and keeps it there until the drain ends, then to 8
    # (not 10, 9, 8, ..., 1 in nine minutes).
    scenario = Scenario(
        Poisson(0.3),
        duration=420.0,
        service=Constant(300.0),
        control_interval=60.0,
        replica=ReplicaSpec(slots=100, drain_timeout=900.0),
        initial_replicas=10,
    )
    loop = DecisionLoop(StepScaling("cpu", 50.0, ONE_DOWN), min_replicas=1, max_replicas=20)
    result = simulate(scenario, loop, seed=0)
    replicas = result.replicas.tolist()
    assert replicas[:4] == [9, 9, 9, 9], replicas
    assert min(replicas) >= 7, replicas


def test_step_scaling_counts_terminating_replicas_only_when_scaling_in():
    policy = StepScaling("cpu", 50.0, ONE_DOWN, adjustment_type="ChangeInCapacity")
    low = Observation(0.0, 9, {"cpu": 10.0}, terminating=1)
    high = Observation(0.0, 9, {"cpu": 90.0}, terminating=1)
    assert policy.recommend(low).replicas == 9, "9 in service + 1 terminating, minus 1"
    assert policy.recommend(high).replicas == 10, "scale-out adds to the 9 live replicas"
    assert policy.recommend(Observation(0.0, 9, {"cpu": 10.0})).replicas == 8
    percent = StepScaling(
        "cpu", 50.0, [(None, 0, -30), (0, None, 0)], adjustment_type="PercentChangeInCapacity"
    )
    # 30 % of 7 + 3 = 10 is 3: 10 - 3 = 7, the 7 live already; never above the live count
    assert percent.recommend(Observation(0.0, 7, {"cpu": 10.0}, terminating=3)).replicas == 7
    assert percent.recommend(Observation(0.0, 8, {"cpu": 10.0}, terminating=2)).replicas == 7


class Terminating(BasePolicy):
    """Scales in by 3 every minute and keeps the terminating count it is told."""

    def __init__(self) -> None:
        self.seen_: list[float] = []

    def observe(self, obs: Observation) -> None:
        self.seen_.append(obs.terminating)

    def recommend(self, obs: Observation) -> Recommendation:
        return Recommendation(max(obs.replicas - 3, 1), Reason.HOLD)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_every_decision_is_told_the_replicas_still_draining(fidelity):
    # a backlog to drain: 40 req/s of 1 s on 10 replicas of 4 slots, drains of up to 200 s
    scenario = Scenario(
        Poisson(40.0),
        duration=600.0,
        service=Constant(1.0),
        control_interval=60.0,
        replica=ReplicaSpec(slots=4, drain_timeout=200.0),
        initial_replicas=10,
    )
    policy = Terminating()
    loop = DecisionLoop(policy, min_replicas=1, max_replicas=10)
    result = iter_run(scenario, loop, seed=0, fidelity=fidelity).result()
    told = np.array(policy.seen_)
    assert told[0] == 0 and told.max() > 0
    # a decision is told the replicas still draining from before: at most those the
    # previous interval ended with (some may have finished since)
    assert np.all(told[1:] <= result.draining[:-1])
