"""Fluid fidelity: its recursion, its invariants, and its agreement with request-level runs."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic import Behavior, DecisionLoop
from elastic.data import load_trace
from elastic.errors import ParameterError
from elastic.policies import TargetTracking
from elastic.queueing import erlang_c, mmc_mean_wait
from elastic.sim import (
    Constant,
    Diurnal,
    Exponential,
    FluidSimulation,
    LogNormal,
    MetricsSpec,
    Poisson,
    ReplicaSpec,
    Scenario,
    TraceReplay,
    fluid_arrivals,
    simulate,
)
from elastic.sim.fluid import backlog_recursion
from tests.sim.test_simulate import loops, pinned, scenarios, scripted

finite = st.floats(0, 100, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    initial=finite,
    flows=st.lists(st.tuples(finite, finite), min_size=1, max_size=50),
    top=st.one_of(st.none(), st.floats(0, 50)),
)
def test_the_recursion_is_the_queue_tick_by_tick(initial, flows, top):
    work = np.array([w for w, _ in flows])
    capacity = np.array([c for _, c in flows])
    cap = None if top is None else np.full(len(work), top)
    backlog, served, lost = backlog_recursion(initial, work, capacity, cap)
    level = initial
    for k in range(len(work)):
        after = max(0.0, level + work[k] - capacity[k])
        kept = after if top is None else min(after, top)
        assert backlog[k] == pytest.approx(kept, abs=1e-6)
        assert served[k] == pytest.approx(level + work[k] - after, abs=1e-6)
        assert lost[k] == pytest.approx(after - kept, abs=1e-6)
        level = kept
    assert initial + work.sum() == pytest.approx(backlog[-1] + served.sum() + lost.sum())


fluid_scenarios = scenarios.filter(lambda s: s.control_interval % 1 == 0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=fluid_scenarios, loop=loops, seed=st.integers(0, 2**32))
def test_fluid_runs_conserve_requests_and_repeat_themselves(scenario, loop, seed):
    first = simulate(scenario, loop, seed=seed, fidelity="fluid")
    assert first.conserved()
    assert np.all(first.in_flight >= 0) and np.all(first.completed >= 0)
    assert first.end[-1] == scenario.duration
    again = simulate(scenario, loop, seed=seed, fidelity="fluid")
    np.testing.assert_array_equal(first.replicas, again.replicas)
    np.testing.assert_array_equal(first.completed, again.completed)
    assert first.cost() == again.cost()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=fluid_scenarios,
    loop=loops,
    seed=st.integers(0, 2**32),
    batch=st.sampled_from([1, 7, 130]),
)
def test_fetching_arrivals_ahead_in_batches_of_any_size_changes_nothing(
    scenario, loop, seed, batch
):
    # the arrivals of up to 2**16 ticks are fetched ahead; a batch of one interval is the
    # interval-by-interval reference
    reference = simulate(scenario, loop, seed=seed, fidelity="fluid")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fluid_arrivals, "_BATCH_TICKS", batch)
        batched = simulate(scenario, loop, seed=seed, fidelity="fluid")
    assert batched.to_dict() == reference.to_dict()


HPA = DecisionLoop(
    TargetTracking("cpu", 60.0),
    min_replicas=1,
    max_replicas=50,
    behavior=Behavior.kubernetes_default(),
)
TIME, COUNTS = load_trace("nasa-1995-jul09")
AGREEMENT = {
    "poisson, steady": Scenario(
        Poisson(50.0),
        duration=7200.0,
        service=Exponential(0.1),
        replica=ReplicaSpec(slots=2, boot=Constant(30.0)),
        initial_replicas=5,
    ),
    "diurnal, 2 h period": Scenario(
        Diurnal(40.0, 0.8, period=7200.0),
        duration=14400.0,
        service=Exponential(0.1),
        replica=ReplicaSpec(slots=2, boot=Constant(60.0)),
        initial_replicas=3,
    ),
    "NASA trace x10, one day": Scenario(
        TraceReplay(TIME, COUNTS, bucket=60.0, scale=10),
        duration=86400.0,
        service=Exponential(0.5),
        replica=ReplicaSpec(slots=2, boot=Constant(120.0)),
        control_interval=60.0,
        initial_replicas=3,
    ),
}


@pytest.mark.parametrize("name", AGREEMENT)
def test_fluid_agrees_with_request_level_within_the_documented_tolerances(name):
    # tolerances stated in docs/simulator.md
    scenario = AGREEMENT[name]
    request = simulate(scenario, HPA, seed=0)
    fluid = simulate(scenario, HPA, seed=0, fidelity="fluid")
    assert fluid.replicas.mean() == pytest.approx(request.replicas.mean(), rel=0.05)
    assert float(fluid.cost()) == pytest.approx(float(request.cost()), rel=0.05)
    assert fluid.totals["completed"] == pytest.approx(request.totals["completed"], rel=0.005)
    assert np.nanmean(fluid.utilization) == pytest.approx(np.nanmean(request.utilization), abs=0.03)
    assert fluid.latency.mean == pytest.approx(request.latency.mean, rel=0.25)


def test_fluid_latency_follows_erlang_c_for_a_pooled_replica_set():
    # least outstanding requests pools the replicas: M/M/(n c) at 80 % load
    scenario = Scenario(
        Poisson(8.0),
        duration=3600.0,
        service=Exponential(1.0),
        replica=ReplicaSpec(slots=2),
        balancer="least_outstanding",
        initial_replicas=5,
    )
    fluid = simulate(scenario, pinned(5), seed=0, fidelity="fluid")
    assert fluid.latency.mean == pytest.approx(1.0 + mmc_mean_wait(10, 8.0, 1.0), rel=0.05)
    # and its quantiles, whose distribution is known exactly (fluid used to report the
    # quantiles of the per-tick means)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = mmc_response_quantile(q, 10, 8.0, 1.0)
        assert fluid.latency.quantile(q) == pytest.approx(exact, rel=0.03), q


def test_a_replayed_trace_keeps_its_counts_in_fluid_runs():
    scenario = Scenario(
        TraceReplay(TIME, COUNTS, bucket=60.0), duration=86400.0, initial_replicas=1
    )
    fluid = simulate(scenario, pinned(1), seed=0, fidelity="fluid")
    assert fluid.totals["arrived"] == int(COUNTS[:1440].sum())


def test_ticks_must_divide_the_control_schedule():
    scenario = Scenario(Poisson(1.0), duration=100.0, metrics=MetricsSpec(resolution=15.0))
    with pytest.raises(ParameterError) as info:
        FluidSimulation(scenario, pinned(1), tick=10.0)
    assert info.value.name == "control_interval"


def test_scrapes_no_decision_reads_are_not_measured_and_change_nothing():
    # lag and resolution that do not divide the interval: some scrapes are read, most not
    scenario = Scenario(
        Poisson(25.0),
        duration=1800.0,
        metrics=MetricsSpec(resolution=20.0, lag=10.0, missing=0.3),
        control_interval=60.0,
        initial_replicas=2,
    )
    run = FluidSimulation(scenario, pinned(2), seed=1)
    measured = []
    sample = run.metrics.sampler
    run.metrics.sampler = lambda now: measured.append(now) or sample(now)
    result = run.result()
    # a decision at d reads the newest scrape at or before d - 10: the one at 40, 100, 160...
    assert measured[:3] == [40.0, 100.0, 160.0]
    assert len(measured) == 30
    assert not np.all(np.isnan(result.observed["cpu"]))
    every = FluidSimulation(scenario, pinned(2), seed=1)
    every.metrics.read = lambda scrape: True  # measure every scrape, as a reference
    reference = every.result()
    np.testing.assert_array_equal(result.observed["cpu"], reference.observed["cpu"])
    np.testing.assert_array_equal(result.replicas, reference.replicas)


def test_replicas_requested_together_are_billed_one_by_one_and_leave_newest_first():
    # identical replicas are one cohort inside the fluid model; the bill must not show it
    scenario = Scenario(
        Poisson(1.0),
        duration=600.0,
        replica=ReplicaSpec(slots=2, boot=Constant(30.0)),
        control_interval=60.0,
        initial_replicas=1,
    )
    loop = scripted([(60.0, 5), (120.0, 7), (240.0, 3), (300.0, 3)])
    run = FluidSimulation(scenario, loop.clone())
    result = run.result()
    assert result.replicas.tolist()[:5] == [5, 7, 7, 3, 3]
    assert result.ready.tolist()[:5] == [1, 5, 7, 3, 3]
    lifecycles = {c.unit: (c.start, c.end) for c in run.ledger.lifecycles()}
    assert lifecycles == {
        "r0": (0.0, None),
        **{f"r{i}": (60.0, None) for i in (1, 2)},
        **{f"r{i}": (60.0, 240.0) for i in (3, 4)},
        **{f"r{i}": (120.0, 240.0) for i in (5, 6)},
    }


# --- replica failures (issue 15, A1) -------------------------------------------------------------

FAILING = Scenario(
    TraceReplay(np.arange(120.0), [100] * 30 + [0] * 90, bucket=1.0),  # 30 s at 100 requests/s
    duration=120.0,
    service=Exponential(0.1),
    replica=ReplicaSpec(slots=2, mtbf=50.0, boot=Constant(20.0)),
    initial_replicas=1,
)


@pytest.mark.parametrize("seed", range(12))
def test_a_replica_failure_fails_each_request_once(seed):
    # a failure used to take back requests already counted as completed and count them as
    # failed: outcomes exceeded arrivals and in flight went negative (seed 1: -2 from 30 s on)
    loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=20)
    run = simulate(FAILING, loop, seed=seed, fidelity="fluid")
    assert run.conserved(), run.in_flight.tolist()  # the strengthened rule catches it alone
    t = run.totals
    assert t["arrived"] == 3000
    assert t["completed"] + t["dropped"] + t["timed_out"] + t["failed"] <= t["arrived"]
    assert np.all(run.in_flight >= 0)


def test_conservation_is_refused_when_in_flight_goes_negative():
    # counts that add up (arrived = outcomes + in flight) but with fewer than nothing in flight
    run = simulate(FAILING, pinned(1), seed=1, fidelity="fluid")
    assert run.conserved() and run.in_flight.min() < 5
    run.completed[0] += 5
    run.in_flight[:] -= 5
    assert not run.conserved()


def test_conservation_ties_arrivals_to_what_the_workload_produced():
    run = simulate(FAILING, pinned(1), seed=1, fidelity="fluid")
    assert run.totals["workload_arrivals"] == 3000
    # an interval that lost arrivals on the way into the records, and its outcomes with them
    run.arrived[0] -= 7
    run.completed[0] -= 7
    assert not run.conserved()


@pytest.mark.parametrize(
    "workload",
    [Poisson(10.0), TraceReplay([0.0, 60.0], [600, 0], bucket=60.0)],
    ids=["poisson", "trace"],
)
def test_requests_that_take_no_time_complete_at_once_with_no_busy_time(workload):
    # Constant(0) service used to divide by zero in the fluid metrics and counts
    scenario = Scenario(workload, duration=120.0, service=Constant(0.0), initial_replicas=2)
    run = simulate(scenario, pinned(2), seed=0, fidelity="fluid")
    assert run.conserved()
    assert run.totals["completed"] == run.totals["arrived"] > 0
    assert run.totals["in_flight"] == 0
    assert run.latency.mean == 0.0
    assert np.all(run.utilization == 0.0)
    assert np.all(run.observed["cpu"][~np.isnan(run.observed["cpu"])] == 0.0)
    summary = run.summary()  # demand is a replica wherever anything arrives
    assert summary["theta_u"] == 0.0 and summary["latency_p99"] == 0.0


# --- target tracking while replicas boot (issue 15, A10c) ------------------------------------

DOCUMENTED = Scenario(  # the example of docs/simulator.md
    Diurnal(40.0, 0.6, period=3600.0, peak_at=1800.0),
    duration=3600.0,
    service=Exponential(0.1),
    replica=ReplicaSpec(slots=2, boot=Constant(60.0)),
    initial_replicas=3,
)
DOCUMENTED_LOOP = DecisionLoop(
    TargetTracking("cpu", 60.0),
    min_replicas=1,
    max_replicas=20,
    behavior=Behavior.kubernetes_default(),
)


@pytest.mark.parametrize("seed", range(6))
def test_fluid_cost_agrees_with_request_level_on_every_seed_not_one(seed):
    # target tracking multiplied booting replicas by the ready ones' utilization: fluid
    # overshot (+1 % to +18.7 % over seeds 0-5) and the documented 5 % held for seed 1 only
    request = simulate(DOCUMENTED, DOCUMENTED_LOOP, seed=seed)
    fluid = simulate(DOCUMENTED, DOCUMENTED_LOOP, seed=seed, fidelity="fluid")
    assert float(fluid.cost()) == pytest.approx(float(request.cost()), rel=0.05)
    assert fluid.replicas.mean() == pytest.approx(request.replicas.mean(), rel=0.05)


# --- the sampling noise of a finite scrape (issue 15, A10d) ----------------------------------


@pytest.mark.parametrize(
    "rate",
    [36.0, 48.0, 72.0, 42.0, 54.0],
    ids=["3 at target", "4 at target", "6 at target", "3.5 at target", "4.5 at target"],
)
def test_fluid_holds_what_request_level_holds_on_and_off_a_replica_boundary(rate):
    # one replica carries 12 requests/s at the 60 % target. On a boundary a scrape of real
    # requests is above the 10 % band now and then and the HPA keeps one replica more; fluid
    # measured the expected utilization exactly and held one fewer (cost -12 % to -22 %)
    scenario = Scenario(
        Poisson(rate),
        duration=3600.0,
        service=Exponential(0.1),
        replica=ReplicaSpec(slots=2, boot=Constant(30.0)),
        initial_replicas=5,
    )
    for seed in (0, 1):
        request = simulate(scenario, HPA, seed=seed)
        fluid = simulate(scenario, HPA, seed=seed, fidelity="fluid")
        assert float(fluid.cost()) == pytest.approx(float(request.cost()), rel=0.05), seed


# --- the latency distribution (issue 15, A3) ---------------------------------------------------


def mmc_response_quantile(q, servers, rate, service):
    """The ``q`` quantile of the M/M/c response time (FIFO): an exact tail, solved by bisection."""
    mu, chance = 1 / service, erlang_c(servers, rate * service)
    gap = servers * mu - rate

    def tail(t):
        return math.exp(-mu * t) + chance * mu / (gap - mu) * (
            math.exp(-mu * t) - math.exp(-gap * t)
        )

    low, high = 0.0, 100 * service
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if tail(middle) > 1 - q else (low, middle)
    return low


LATENCY = {
    # a LogNormal service whose own p99 is 6.4 s, four replicas of two slots at 62 %
    "lognormal, round robin": Scenario(
        Poisson(3.6),
        duration=3600.0,
        service=LogNormal(1.0, 0.8),
        replica=ReplicaSpec(slots=2),
        initial_replicas=4,
        slo=5.0,
    ),
    "lognormal, pooled, 83 %": Scenario(
        Poisson(4.8),
        duration=3600.0,
        service=LogNormal(1.0, 0.8),
        replica=ReplicaSpec(slots=2),
        balancer="least_outstanding",
        initial_replicas=4,
        slo=5.0,
    ),
    "exponential, round robin, 80 %": Scenario(
        Poisson(16.0),
        duration=3600.0,
        service=Exponential(0.5),
        replica=ReplicaSpec(slots=4),
        initial_replicas=5,
        slo=2.0,
    ),
}


@pytest.mark.parametrize("name", LATENCY)
def test_fluid_latency_percentiles_and_slo_attainment_agree_with_request_level(name):
    # tolerances stated in docs/simulator.md; fluid used to give p99 = 1.9 s here (the
    # quantile of per-tick means) where request level gives 8.1 s
    scenario = LATENCY[name]
    replicas = scenario.initial_replicas
    # (over seeds 0-9: p50 within 18 %, p95 and p99 within 14 %, attainment within 0.024)
    for seed in (0, 1, 2):
        request = simulate(scenario, pinned(replicas), seed=seed).summary()
        fluid = simulate(scenario, pinned(replicas), seed=seed, fidelity="fluid").summary()
        for key, tolerance in (("latency_p50", 0.2), ("latency_p95", 0.15), ("latency_p99", 0.15)):
            assert fluid[key] == pytest.approx(request[key], rel=tolerance), (key, seed)
        assert fluid["slo_attainment"] == pytest.approx(request["slo_attainment"], abs=0.03)


def test_fluid_latency_tail_agrees_under_autoscaling_on_a_diurnal_cycle():
    scenario = dataclasses.replace(AGREEMENT["diurnal, 2 h period"], slo=1.0)
    # the p99 is not claimed under autoscaling: over seeds 0-5 it was -31 % to +76 % off,
    # as transients after scale-ups are what fluid does not model (docs/simulator.md)
    for seed in (0, 1, 2):
        request = simulate(scenario, HPA, seed=seed).summary()
        fluid = simulate(scenario, HPA, seed=seed, fidelity="fluid").summary()
        for key, tolerance in (("latency_p50", 0.2), ("latency_p95", 0.1)):
            assert fluid[key] == pytest.approx(request[key], rel=tolerance), (key, seed)
        assert fluid["slo_attainment"] == pytest.approx(request["slo_attainment"], abs=0.01)


def test_a_fluid_run_refuses_more_ticks_than_the_limit_at_once():
    from elastic.sim.limits import MAX_FLUID_TICKS

    duration = 9 * 365 * 86400.0  # 9 years: within the run limits at these spans
    scenario = Scenario(
        Poisson(1.0), duration=duration, control_interval=30.001, metrics=MetricsSpec(30.001)
    )
    assert duration / 0.001 > MAX_FLUID_TICKS  # the common tick of 30.001 s and 1 s
    with pytest.raises(ParameterError, match=r"tick=0\.001 .* at most 320000000 ticks"):
        simulate(scenario, pinned(1), fidelity="fluid")


SPOT = Scenario(
    Poisson(1.0),
    duration=3600.0,
    control_interval=60.0,
    service=Exponential(0.2),
    replica=ReplicaSpec(slots=2, spot_mtbi=900.0, boot=Constant(10.0)),
    initial_replicas=2,
)


@pytest.mark.parametrize("seed", [0, 2, 3])
def test_spot_notices_drain_and_bill_alike_in_both_fidelities(seed):
    # fluid used to stop a noticed replica as soon as its backlog share was done (free,
    # and never draining) where request level keeps it until EC2 takes it at the notice's end
    runs = [simulate(SPOT, pinned(2), seed=seed, fidelity=f) for f in ("request", "fluid")]
    cycles = [
        [(c.unit, c.start, c.end and round(c.end, 6), c.interrupted) for c in ledger.lifecycles()]
        for ledger in (run.ledger for run in runs)
    ]
    assert cycles[0] == cycles[1]
    assert runs[0].cost() == runs[1].cost()
    assert np.array_equal(runs[0].draining, runs[1].draining)
    assert runs[0].totals["spot_interruptions"] > 0


def test_scrape_noise_is_a_bool_not_anything_truthy():
    scenario = Scenario(Poisson(1.0), duration=60.0)
    with pytest.raises(ParameterError, match=r"scrape_noise=.no. .* True or False"):
        FluidSimulation(scenario, pinned(1), scrape_noise="no")
