"""The serverless platform: cold and warm starts, keep-alive, scale rate, limits, the bill."""

from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic import DecisionLoop
from elastic.errors import ParameterError
from elastic.policies import TargetTracking
from elastic.sim import Constant, Poisson, RunResult, Scenario, Timestamps, simulate
from elastic.sim.scenario import ServerlessSpec


def pinned(provisioned):
    return DecisionLoop(
        TargetTracking("provisioned_utilization", 0.7),
        min_replicas=provisioned,
        max_replicas=provisioned,
    )


def function(times, *, service=0.1, duration=None, provisioned=0, **spec):
    scenario = Scenario(
        Timestamps(times),
        duration=duration or float(max(times)) + 10.0,
        service=Constant(service),
        serverless=ServerlessSpec(cold_start=Constant(0.5), **spec),
        initial_replicas=provisioned,
    )
    return simulate(scenario, pinned(provisioned), seed=0)


def test_the_first_request_starts_cold_the_next_ones_warm():
    run = function([0.0, 1.0, 2.0, 3.0])
    assert run.totals["cold_starts"] == 1
    assert run.latency.max == pytest.approx(0.6), "init 0.5 s + 0.1 s of work"
    assert run.totals["completed"] == 4


def test_an_environment_idle_longer_than_the_keep_alive_is_gone():
    run = function([0.0, 700.0, 1000.0], keep_alive=600.0)
    assert run.totals["cold_starts"] == 2, "700 s idle: cold again; 300 s: warm"


def test_new_environments_come_at_the_scale_rate():
    # 30 requests at once, each busy for 100 s: 10 start, 20 are throttled;
    # 5 s later 5 tokens have come back
    times = [0.0] * 30 + [5.0] * 10
    run = function(times, service=100.0, duration=20.0, burst=10, scale_rate=1.0)
    assert run.totals["cold_starts"] == 15
    assert run.totals["throttled"] == 25
    assert run.totals["dropped"] == 25 and run.conserved()


def test_the_concurrency_limit_throttles():
    run = function([0.0] * 8, service=10.0, duration=20.0, concurrency_limit=5)
    assert (run.totals["completed"], run.totals["throttled"]) == (5, 3)


def test_provisioned_environments_serve_without_cold_starts_and_are_billed_while_enabled():
    run = function([1.0, 2.0, 3.0], provisioned=2, duration=600.0)
    assert run.totals["cold_starts"] == 0
    by_type = run.ledger.by_type(until=600.0)
    # two environments of 1 GB enabled 600 s (two 5-minute periods each)
    assert by_type["provisioned-concurrency"] == D("0.0000041667") * 2 * 600
    # 100 ms of 1 GB each at the provisioned duration rate, plus the request price
    assert by_type["lambda-provisioned"] == 3 * (D("0.0000002") + D("0.0000097222") * D("0.1"))
    assert "lambda" not in by_type


def test_requests_are_billed_like_the_lambda_pricing_page():
    run = function([0.0, 1.0], service=0.1202)
    init_and_first = D("0.0000166667") * D("0.621")  # 500 ms init + 120.2 ms -> 621 ms
    second = D("0.0000166667") * D("0.121")
    assert run.cost() == 2 * D("0.0000002") + init_and_first + second


def test_arm_has_no_provisioned_concurrency_prices():
    scenario = Scenario(
        Poisson(1.0), duration=60.0, serverless=ServerlessSpec(arch="arm"), initial_replicas=1
    )
    with pytest.raises(ParameterError) as info:
        simulate(scenario, pinned(1))
    assert info.value.name == "arch"


def test_fluid_does_not_model_serverless():
    scenario = Scenario(Poisson(1.0), duration=60.0, serverless=ServerlessSpec())
    with pytest.raises(ParameterError) as info:
        simulate(scenario, pinned(0), fidelity="fluid")
    assert info.value.name == "fidelity"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.floats(1.0, 300.0),
    provisioned=st.integers(0, 20),
    limit=st.integers(5, 200),
    keep_alive=st.floats(0.0, 120.0),
    seed=st.integers(0, 2**32),
)
def test_no_request_is_lost_on_a_serverless_platform(rate, provisioned, limit, keep_alive, seed):
    scenario = Scenario(
        Poisson(rate),
        duration=300.0,
        service=Constant(0.3),
        serverless=ServerlessSpec(concurrency_limit=limit, keep_alive=keep_alive, burst=50),
        initial_replicas=provisioned,
    )
    loop = DecisionLoop(
        TargetTracking("provisioned_utilization", 0.7), min_replicas=provisioned, max_replicas=40
    )
    run = simulate(scenario, loop, seed=seed)
    assert run.conserved()
    assert np.all(run.throttled <= run.dropped)
    assert run.cost() == simulate(scenario, loop, seed=seed).cost()


def test_a_serverless_run_reports_its_environments_over_time():
    # 50 req/s of 0.2 s: about 10 environments busy (Little's law), and the warm ones
    # waiting for the next request idle; no provisioned concurrency, so 0 replicas
    scenario = Scenario(
        Poisson(50.0),
        duration=600.0,
        service=Constant(0.2),
        serverless=ServerlessSpec(cold_start=Constant(0.3), keep_alive=600.0),
        initial_replicas=0,
    )
    run = simulate(scenario, pinned(0), seed=0)
    assert np.all(run.replicas == 0)
    assert float(run.busy_environments[4:].mean()) == pytest.approx(10.0, rel=0.15)
    assert np.all(run.idle_environments[4:] > 0)
    # every environment ever started is busy, idle or gone: never more than the cold starts
    assert np.all(run.busy_environments + run.idle_environments <= np.cumsum(run.cold_starts))
    summary = run.summary()  # its mean_replicas is 0: the environments are what it kept
    assert summary["mean_replicas"] == 0.0
    assert summary["mean_busy_environments"] == pytest.approx(float(run.busy_environments.mean()))
    assert summary["mean_environments"] == pytest.approx(
        summary["mean_busy_environments"] + summary["mean_idle_environments"]
    )
    assert summary["mean_environments"] > 10.0
    again = RunResult.from_json(run.to_json()).summary()
    assert again["mean_environments"] == summary["mean_environments"]
    # one sample: a timestamped trace of 3 requests, 2 s of work each, a minute of keep-alive
    three = function([0.0, 0.5, 20.0], service=2.0, keep_alive=60.0, duration=30.0)
    assert three.busy_environments.tolist() == [0, 0]
    assert three.idle_environments.tolist() == [2, 2]
