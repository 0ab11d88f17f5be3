"""What the simulated controller is told besides the metrics."""

import pytest

from elastic import DecisionLoop, Observation, Reason, Recommendation
from elastic.policies.base import BasePolicy
from elastic.sim import LogNormal, Poisson, ReplicaSpec, Scenario, iter_run


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
