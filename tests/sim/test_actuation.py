"""A simulated scale API that fails behaves as a real one: nothing changes, nothing is recorded."""

import numpy as np
import pytest

from elastic import DecisionLoop, ParameterError, Reason
from elastic.policies import TargetTracking
from elastic.sim import Constant, Diurnal, Poisson, ReplicaSpec, Scenario, simulate


def scenario(failure: float) -> Scenario:
    return Scenario(
        Poisson(40.0),
        duration=1800.0,
        service=Constant(0.1),
        replica=ReplicaSpec(boot=Constant(30.0)),
        initial_replicas=1,
        actuation_failure=failure,
    )


def loop() -> DecisionLoop:
    return DecisionLoop(
        TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=30, warmup=300.0, cooldown=300.0
    )


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_api_that_always_fails_changes_nothing_and_holds_nothing(
    fidelity: str, seed: int
) -> None:
    result = simulate(scenario(1.0), loop(), seed=seed, fidelity=fidelity)
    assert set(result.replicas.tolist()) == {1}
    decisions = [d for d in result.decisions if d is not None]
    # overloaded all run long: every step asks again for the scale-out, never held by a
    # warm-up or a cooldown of replicas that were never added
    assert all(d.replicas > 1 for d in decisions)
    assert not {d.reason for d in decisions} & {Reason.WARMUP, Reason.COOLDOWN}
    assert result.totals["actuation_failures"] == len(decisions)
    assert result.conserved()


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_failures_draw_from_their_own_stream(fidelity: str) -> None:
    runs = [simulate(scenario(p), loop(), seed=3, fidelity=fidelity) for p in (0.0, 0.5)]
    # the workload is the same whatever the scale API does (paired runs)
    assert runs[0].totals["workload_arrivals"] == runs[1].totals["workload_arrivals"]
    assert runs[0].totals["actuation_failures"] == 0
    again = simulate(scenario(0.5), loop(), seed=3, fidelity=fidelity)
    assert np.array_equal(again.replicas, runs[1].replicas)
    assert again.totals == runs[1].totals


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_about_the_given_share_of_requests_fails(seed: int) -> None:
    # a load that keeps changing: many scale requests, each failing with probability 0.3
    changing = Scenario(
        Diurnal(40.0, 0.8, period=1800.0, noise=0.3, noise_step=60.0),
        duration=4 * 3600.0,
        service=Constant(0.1),
        actuation_failure=0.3,
    )
    plain = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=30)
    result = simulate(changing, plain, seed=seed, fidelity="fluid")
    changed = sum(1 for d in result.decisions if d is not None and d.changed)
    failed = result.totals["actuation_failures"]
    assert changed >= 100
    assert 0.2 < failed / changed < 0.4


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "often"])
def test_a_failure_probability_outside_0_to_1_is_refused(bad: object) -> None:
    with pytest.raises(ParameterError, match="actuation_failure"):
        scenario(bad)  # type: ignore[arg-type]
