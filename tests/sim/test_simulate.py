"""Whole runs: conservation, determinism, lifecycle delays, the metrics pipeline, the bill."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from elastic import DecisionLoop, Observation, Reason, Recommendation
from elastic.cost import PerSecond
from elastic.errors import ParameterError
from elastic.policies import MaxOf, StepScaling, TargetTracking
from elastic.policies.base import BasePolicy
from elastic.queueing import mmc_mean_wait
from elastic.sim import (
    MMPP,
    Constant,
    Diurnal,
    Empirical,
    Exponential,
    LogNormal,
    MetricsSpec,
    Poisson,
    Ramp,
    ReplicaSpec,
    Scenario,
    Simulation,
    TraceReplay,
    Uniform,
    iter_run,
    simulate,
)


def pinned(replicas):
    """A loop that keeps exactly ``replicas``."""
    return DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=replicas, max_replicas=replicas)


class Script:
    """A policy that asks for a scripted count at given times (for lifecycle tests)."""

    def __init__(self, plan):
        self.plan = plan

    def observe(self, obs):
        pass

    def recommend(self, obs):
        wanted = [n for t, n in self.plan if t <= obs.time]
        return Recommendation(wanted[-1] if wanted else None, Reason.SCHEDULED)

    def get_params(self):
        return {"plan": self.plan}

    def clone(self):
        return Script(self.plan)


def scripted(plan, top=20):
    return DecisionLoop(Script(plan), min_replicas=0, max_replicas=top)


scenarios = st.builds(
    Scenario,
    workload=st.one_of(
        st.builds(Poisson, st.floats(0.5, 40.0)),
        st.builds(MMPP, st.just((2.0, 30.0)), st.just((120.0, 30.0))),
        # a random trace of counts per 30 s, some buckets unlogged, then quiet (logged zeros)
        # to at least 900 s, so that it covers any duration drawn
        st.lists(st.tuples(st.integers(0, 600), st.booleans()), min_size=2, max_size=40).map(
            lambda rows: TraceReplay(
                np.arange(max(len(rows), 30)) * 30.0,
                [n for n, _ in rows] + [0] * (30 - len(rows)),
                bucket=30.0,
                logged=[logged or i == 0 for i, (_, logged) in enumerate(rows)]
                + [True] * (30 - len(rows)),
            )
        ),
    ),
    duration=st.integers(60, 900).map(float),
    service=st.sampled_from([Exponential(0.2), Constant(0.1), LogNormal(0.1, 1.0)]),
    replica=st.builds(
        ReplicaSpec,
        slots=st.integers(1, 4),
        queue_capacity=st.one_of(st.none(), st.integers(0, 20)),
        timeout=st.one_of(st.none(), st.floats(0.05, 2.0)),
        boot=st.sampled_from([Constant(20.0), Uniform(5.0, 60.0), Exponential(30.0)]),
        warmup=st.sampled_from([0.0, 30.0]),
        drain_timeout=st.sampled_from([0.0, 1.0, 30.0]),
        mtbf=st.one_of(st.none(), st.floats(60.0, 2000.0)),
        spot_mtbi=st.one_of(st.none(), st.floats(60.0, 2000.0)),
        scale_in=st.sampled_from(["newest", "least_loaded"]),
    ),
    metrics=st.builds(
        MetricsSpec, lag=st.sampled_from([0.0, 30.0]), missing=st.sampled_from([0.0, 0.2])
    ),
    balancer=st.sampled_from(["round_robin", "random", "least_outstanding", "shortest_queue"]),
    control_interval=st.sampled_from([10.0, 15.0, 60.0]),
    initial_replicas=st.integers(0, 4),
)
loops = st.sampled_from(
    [
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=12),
        DecisionLoop(
            StepScaling("cpu", 60.0, steps=[(0, 20, 1), (20, None, 3), (None, 0, -1)]),
            min_replicas=0,
            max_replicas=8,
        ),
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios, loop=loops, seed=st.integers(0, 2**32))
@example(  # found by Hypothesis: a drain ending at the run's end, after the last decision
    scenario=Scenario(
        Poisson(35.0),
        duration=60.0,
        service=Constant(0.1),
        replica=ReplicaSpec(slots=4, boot=Constant(20.0), drain_timeout=0.0),
    ),
    loop=DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=12),
    seed=0,
)
def test_no_request_is_lost_and_the_same_seed_gives_the_same_run(scenario, loop, seed):
    first = simulate(scenario, loop, seed=seed)
    assert first.conserved(), "arrived = completed + dropped + timed out + failed + in flight"
    t = first.totals
    assert (
        t["arrived"]
        == t["completed"] + t["dropped"] + t["timed_out"] + t["failed"] + (t["in_flight"])
    )
    assert first.end[-1] == scenario.duration
    assert np.all(first.replicas <= 12)
    again = simulate(scenario, loop, seed=seed)
    for name in ("arrived", "completed", "failed", "replicas", "latency_p95", "utilization"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert first.cost() == again.cost()


def test_boot_and_warmup_are_honoured_exactly():
    scenario = Scenario(
        Poisson(1.0),
        duration=200.0,
        replica=ReplicaSpec(boot=Constant(45.0), warmup=30.0),
        control_interval=10.0,
        initial_replicas=0,
    )
    run = Simulation(scenario, scripted([(10.0, 1)]), seed=0)
    records = list(run)
    replica = run.backend.replicas[0]
    assert (replica.requested_at, replica.ready_at) == (10.0, 55.0)
    states = {r.end: (r.pending, r.ready, r.warming) for r in records}
    assert states[50.0] == (1, 0, 0), "still booting at 50 s"
    assert states[60.0] == (0, 1, 1), "serving, warming up from 55 s"
    assert states[80.0] == (0, 1, 1) and states[90.0] == (0, 1, 0), "ready from 85 s"
    assert sum(r.dropped for r in records if r.end <= 50.0) == sum(
        r.arrived for r in records if r.end <= 50.0
    ), "no replica before 55 s: every arrival is dropped"


def test_draining_finishes_in_flight_work_then_stops_billing():
    # one slot, 10 s requests arriving fast: the replica always has queued work
    scenario = Scenario(
        Poisson(2.0),
        duration=100.0,
        service=Constant(10.0),
        replica=ReplicaSpec(drain_timeout=25.0),
        control_interval=10.0,
        initial_replicas=2,
    )
    run = Simulation(scenario, scripted([(0.0, 2), (40.0, 1)]), seed=3)
    result = run.result()
    newest = run.backend.replicas[1]
    assert newest.stopped_at == 40.0 + 25.0, "the drain timeout cuts the queue short"
    assert result.totals["failed"] > 0, "what was left at the timeout failed"
    lifecycle = {c.unit: c for c in run.ledger.lifecycles()}
    assert lifecycle["r1"].end == 65.0 and lifecycle["r0"].end is None
    assert result.cost() == PerSecond("0.096").charge(65) + PerSecond("0.096").charge(100)


def test_a_drain_with_little_work_ends_when_the_work_ends():
    scenario = Scenario(
        Poisson(0.05),
        duration=300.0,
        service=Constant(3.0),
        replica=ReplicaSpec(drain_timeout=60.0),
        control_interval=10.0,
        initial_replicas=2,
    )
    run = Simulation(scenario, scripted([(0.0, 2), (100.0, 1)]), seed=1)
    run.result()
    leaving = run.backend.replicas[1]
    assert 100.0 <= leaving.stopped_at <= 103.0


def test_spot_notice_precedes_termination():
    scenario = Scenario(
        Poisson(5.0),
        duration=3000.0,
        replica=ReplicaSpec(spot_mtbi=500.0, spot_notice=120.0, boot=Constant(10.0)),
        initial_replicas=3,
    )
    run = Simulation(scenario, pinned(3), seed=2)
    result = run.result()
    assert result.totals["spot_interruptions"] > 0
    interrupted = [r for r in run.backend.replicas if r.noticed_at is not None]
    assert interrupted
    for replica in interrupted:
        served = replica.ready_at is not None and replica.noticed_at >= replica.ready_at
        if served and replica.noticed_at + 120.0 <= scenario.duration:
            assert replica.stopped_at == pytest.approx(replica.noticed_at + 120.0)
    assert result.conserved()


def test_failed_replicas_fail_their_requests_and_get_replaced_by_the_autoscaler():
    scenario = Scenario(
        Poisson(20.0),
        duration=2000.0,
        service=Exponential(0.2),
        replica=ReplicaSpec(mtbf=300.0, boot=Constant(20.0), slots=2),
        initial_replicas=3,
    )
    result = simulate(scenario, pinned(3), seed=4)
    assert result.totals["replica_failures"] > 0
    assert result.totals["failed"] > 0
    assert result.conserved()
    assert np.any(result.pending > 0), "the loop asked for replacements"


def test_the_controller_sees_metrics_late_and_sometimes_not_at_all():
    scenario = Scenario(
        Poisson(10.0),
        duration=600.0,
        metrics=MetricsSpec(resolution=15.0, lag=60.0),
        initial_replicas=2,
    )
    result = simulate(scenario, pinned(2), seed=0)
    cpu = result.observed["cpu"]
    assert np.all(np.isnan(cpu[result.end < 75.0])), "nothing is 60 s old before 75 s"
    assert not np.any(np.isnan(cpu[result.end >= 75.0]))
    blind = simulate(
        Scenario(Poisson(10.0), duration=600.0, metrics=MetricsSpec(missing=1.0)),
        DecisionLoop(TargetTracking("cpu", 10.0), min_replicas=1, max_replicas=10),
        seed=0,
    )
    # nothing scraped: the controller knows only the control plane's count of terminating replicas
    assert not blind.observed and np.all(blind.replicas == 1), "no scaling"


def test_observed_cpu_tracks_the_true_utilization():
    scenario = Scenario(Poisson(15.0), duration=1800.0, initial_replicas=3)
    result = simulate(scenario, pinned(3), seed=5)
    # 15/s x 0.1 s = 1.5 busy slots of 3: 50 %
    assert np.nanmean(result.observed["cpu"]) == pytest.approx(50.0, rel=0.05)
    assert np.nanmean(result.utilization) == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize(
    "balancer", ["round_robin", "random", "least_outstanding", "shortest_queue"]
)
def test_every_balancer_spreads_the_load(balancer):
    scenario = Scenario(Poisson(20.0), duration=900.0, balancer=balancer, initial_replicas=4)
    run = Simulation(scenario, pinned(4), seed=6)
    result = run.result()
    busy = [r.busy for r in run.backend.replicas]
    assert result.conserved()
    assert max(busy) / min(busy) < 1.3, busy


def test_one_replica_of_c_slots_waits_like_erlang_c():
    c, lam = 10, 8.0
    scenario = Scenario(
        Poisson(lam), duration=20_000.0, service=Exponential(1.0), replica=ReplicaSpec(slots=c)
    )
    result = simulate(scenario, pinned(1), seed=9)
    assert result.mean_wait() == pytest.approx(mmc_mean_wait(c, lam, 1.0), rel=0.1)


def test_the_scale_in_choice_is_a_documented_rule():
    for rule, expected in (("newest", "r2"), ("least_loaded", None)):
        scenario = Scenario(
            Poisson(2.0),
            duration=60.0,
            service=Constant(5.0),
            replica=ReplicaSpec(scale_in=rule),
            control_interval=10.0,
            initial_replicas=3,
        )
        run = Simulation(scenario, scripted([(0.0, 3), (30.0, 2)]), seed=0)
        run.result()
        gone = [r.name for r in run.backend.replicas if r.state in ("draining", "terminated")]
        assert len(gone) == 1
        if expected:
            assert gone == [expected]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: Scenario(Poisson(1.0), duration=0.0), "duration"),
        (lambda: Scenario(Poisson(1.0), duration=10.0, balancer="fastest"), "balancer"),
        (lambda: ReplicaSpec(slots=0), "slots"),
        (lambda: ReplicaSpec(scale_in="oldest"), "scale_in"),
        (lambda: MetricsSpec(missing=1.5), "missing"),
        (lambda: Scenario("poisson", duration=10.0), "workload"),
        (
            lambda: simulate(Scenario(Poisson(1.0), duration=10.0), pinned(1), fidelity="exact"),
            "fidelity",
        ),
    ],
)
def test_bad_scenarios_name_the_field(make, name):
    with pytest.raises(ParameterError) as info:
        make()
    assert info.value.name == name


def test_iterating_a_run_yields_one_record_per_interval():
    scenario = Scenario(Poisson(5.0), duration=100.0, control_interval=15.0)
    records = list(Simulation(scenario, pinned(1), seed=0))
    assert [r.end for r in records] == [15.0, 30.0, 45.0, 60.0, 75.0, 90.0, 100.0]
    assert records[-1].decision is None and isinstance(records[0].decision.replicas, int)
    assert not math.isnan(records[2].latency_p95)


def test_a_run_sums_itself_up():
    scenario = Scenario(Poisson(15.0), duration=1800.0, initial_replicas=3, slo=0.5)
    result = simulate(scenario, pinned(3), seed=5)
    summary = result.summary()
    required = {
        "cost",
        "cost_per_million_requests",
        "slo_attainment",
        "latency_p99",
        "dropped",
        "theta_u",
        "theta_o",
        "tau_u",
        "tau_o",
        "instability",
        "jitter",
        "scaling_actions",
    }
    assert required <= set(summary)
    assert summary["cost"] == pytest.approx(3 * 0.096 / 2), "three m5.large for half an hour"
    assert summary["cost_per_million_requests"] == pytest.approx(
        summary["cost"] / result.totals["arrived"] * 1e6
    )
    assert 0.95 < summary["slo_attainment"] <= 1.0
    assert summary["scaling_actions"] == 0
    # 15/s x 0.1 s = 1.5 busy slots: 2 replicas are enough, 3 are ready: over-provisioned
    assert summary["tau_o"] > 90 and summary["theta_u"] == 0
    assert simulate(scenario, pinned(3), seed=5).summary() == summary


def test_a_run_read_back_from_json_sums_up_the_same(tmp_path):
    scenario = Scenario(
        Poisson(12.0), duration=900.0, initial_replicas=1, slo=0.5, metrics=MetricsSpec(lag=30.0)
    )
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=6)
    result = simulate(scenario, loop, seed=2)
    path = tmp_path / "run.json"
    result.to_json(path)
    again = type(result).from_json(path)
    assert again.summary() == result.summary()
    assert again.cost() == result.cost() and again.scenario is None and again.ledger is None
    np.testing.assert_array_equal(again.observed["cpu"], result.observed["cpu"])
    assert [d.replicas for d in again.decisions] == [d.replicas for d in result.decisions]
    assert (
        again.decisions[3].stage("stabilize").reason
        == result.decisions[3].stage("stabilize").reason
    )
    with pytest.raises(ParameterError):
        type(result).from_dict({"format": "something else"})


def test_a_run_as_a_data_frame_and_in_a_notebook():
    result = simulate(Scenario(Poisson(5.0), duration=120.0, slo=1.0), pinned(1), seed=0)
    frame = result.to_frame()
    assert list(frame.index) == result.end.tolist()
    assert {"arrived", "demand", "desired", "reason", "observed_cpu"} <= set(frame.columns)
    page = result._repr_html_()
    assert "<table>" in page and "slo_attainment" in page and "cost" in page


# --- common random numbers: what a run draws for the workload does not depend on the policy ----


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
@pytest.mark.parametrize(
    "workload",
    [
        Poisson(20.0),
        MMPP((5.0, 40.0), (120.0, 30.0)),
        Diurnal(15.0, 0.7, period=1200.0, noise=0.3),
        Poisson(2.0) + Ramp(0.0, 30.0, start=0.0, end=900.0),
    ],
    ids=["poisson", "mmpp", "diurnal-noise", "sum"],
)
def test_two_policies_on_one_seed_see_the_same_arrivals(workload, fidelity):
    scenario = Scenario(workload, duration=900.0, replica=ReplicaSpec(boot=Uniform(5.0, 60.0)))
    runs = [
        simulate(
            scenario,
            DecisionLoop(TargetTracking("cpu", target), min_replicas=lo, max_replicas=20),
            seed=3,
            fidelity=fidelity,
        )
        for target, lo in ((30.0, 1), (90.0, 2))
    ]
    assert runs[0].replicas.tolist() != runs[1].replicas.tolist(), "the policies differ"
    assert runs[0].arrived.tolist() == runs[1].arrived.tolist()


class Recorded(Exponential):
    """An exponential service time that keeps what it drew."""

    def __init__(self, mean, drawn):
        super().__init__(mean)
        self.drawn = drawn

    def sample(self, rng, size):
        values = super().sample(rng, size)
        self.drawn.append(values)
        return values


def test_service_times_are_drawn_per_request_whatever_the_policy():
    # a policy that leaves no replica accepting drops arrivals: they still take their draw,
    # so the n-th request of the run has the same service time under every policy
    drawn = {}
    for name, plan in (("steady", [(0, 2)]), ("gap", [(0, 2), (60, 0), (200, 2)])):
        drawn[name] = []
        scenario = Scenario(
            Poisson(10.0),
            duration=300.0,
            service=Recorded(0.1, drawn[name]),
            replica=ReplicaSpec(boot=Constant(30.0)),
            initial_replicas=2,
        )
        result = simulate(scenario, scripted(plan), seed=4)
        assert sum(map(len, drawn[name])) == int(result.arrived.sum())
    steady, gap = (np.concatenate(drawn[name]) for name in ("steady", "gap"))
    assert steady.tolist() == gap.tolist()


# --- a policy's metric that the simulator never produces is refused before the run ----------


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_metric_the_simulator_never_produces_is_refused_before_the_run(fidelity):
    scenario = Scenario(Poisson(5.0), duration=60.0)
    loop = DecisionLoop(TargetTracking("busy", 70.0), min_replicas=1, max_replicas=5)
    with pytest.raises(ParameterError, match=r"'busy'.*cpu.*rps"):
        simulate(scenario, loop, fidelity=fidelity)
    nested = DecisionLoop(
        [
            StepScaling("cpu", 80.0, [(0, None, 1)]),
            MaxOf([TargetTracking("cpu", 50.0), TargetTracking("latency_p99", 1.0)]),
        ],
        min_replicas=1,
        max_replicas=5,
    )
    with pytest.raises(ParameterError, match="'latency_p99'"):
        simulate(scenario, nested, fidelity=fidelity)


def test_every_metric_a_simulation_declares_is_one_it_produces():
    from elastic.sim.run import produced_metrics

    scenario = Scenario(
        Poisson(30.0),
        duration=600.0,
        service=Exponential(0.2),
        replica=ReplicaSpec(slots=2, boot=Constant(30.0), drain_timeout=60.0),
        initial_replicas=1,
    )
    for fidelity in ("request", "fluid"):
        loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=8)
        result = simulate(scenario, loop, seed=0, fidelity=fidelity)
        assert set(result.observed) == set(produced_metrics(scenario, fidelity)), fidelity


def test_a_large_fleet_costs_what_its_requests_cost_not_replicas_times_events():
    # 6,000 replicas halved then restored: 3,000 drains and 3,000 boots, each its own event,
    # with 600 req/s spread thin. Visiting every replica at every event (and removing
    # replicas from lists) took 9.6 s of CPU here; visiting only those with work, 1.5.
    import time

    scenario = Scenario(
        Poisson(600.0),
        duration=60.0,
        service=Exponential(1.0),
        replica=ReplicaSpec(boot=Uniform(5.0, 10.0), drain_timeout=5.0),
        initial_replicas=6000,
    )
    loop = scripted([(0, 6000), (15, 3000), (30, 6000)], top=6000)
    began = time.process_time()
    result = simulate(scenario, loop, seed=0)
    spent = time.process_time() - began
    assert result.conserved() and result.replicas.tolist() == [3000, 6000, 6000, 6000]
    assert spent < 6.0, f"{spent:.1f} s of CPU for 60 s of a 6,000-replica fleet"


def test_conservation_catches_arrivals_lost_between_the_workload_and_the_records(monkeypatch):
    # the stream counts what it hands out; a fleet that loses one arrival of every batch
    # keeps its books consistent (every count it has balances), and must still fail
    from elastic.sim.fleet import Fleet

    dispatch = Fleet.dispatch

    def lossy(self, until):
        stream, take = self.arrivals, type(self.arrivals).take
        stream.take = lambda u: take(stream, u)[1:]
        dispatch(self, until)

    scenario = Scenario(Poisson(5.0), duration=300.0, initial_replicas=2)
    assert simulate(scenario, pinned(2), seed=0).conserved()
    monkeypatch.setattr(Fleet, "dispatch", lossy)
    run = simulate(scenario, pinned(2), seed=0)
    assert run.totals["arrived"] < run.totals["workload_arrivals"]
    assert not run.conserved()


@pytest.mark.parametrize(
    ("make", "message"),
    [(lambda: Scenario(Poisson(5.0), duration=120.0, service=Constant(1e-300)),
      "mean is 0 or at least 1e-09 s"),
     (lambda: LogNormal(1.0, 50.0), "sigma for which the mean and variance are finite"),
     (lambda: Empirical([1e308, 1e308]), "mean and variance are finite")],
    ids=["a service of 1e-300 s", "a log-normal without a mean", "durations whose mean overflows"],
)  # fmt: skip
def test_service_times_beyond_a_floats_reach_are_refused(make, message):
    # fluid divided by zero or took the int of NaN on these; request level named an internal
    with pytest.raises(ParameterError, match=message):
        make()


class _Seen(BasePolicy):
    """Scales to ``replicas`` and remembers every observation (test only)."""

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.seen_: list[Observation] = []

    def observe(self, obs: Observation) -> None:
        self.seen_.append(obs)

    def recommend(self, obs: Observation) -> Recommendation:
        return Recommendation(self.replicas, Reason.TARGET_TRACKING)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_decision_sees_everything_that_happened_at_its_instant(fidelity):
    # decisions every 30 s, scrapes every 15 s: the scrape at 30 s, and a replica that
    # finished booting at 30 s, come before the decision at 30 s (the request-level run once
    # decided before them when the interval was a multiple of the scrape resolution)
    counts = np.zeros(8, dtype=np.int64)
    counts[1] = 150  # all of the first minute's requests arrive in [15, 30)
    scenario = Scenario(
        TraceReplay(15.0 * np.arange(8), counts, bucket=15.0, spread="uniform"),
        duration=120.0,
        control_interval=30.0,
        metrics=MetricsSpec(resolution=15.0),
        replica=ReplicaSpec(boot=Constant(30.0)),
        initial_replicas=1,
    )
    policy = _Seen(3)
    loop = DecisionLoop(policy, min_replicas=1, max_replicas=5)
    iter_run(scenario, loop, fidelity=fidelity).result()
    first, second = policy.seen_[:2]
    assert first.time == 30.0 and first.metrics["rps"] == pytest.approx(10.0, rel=0.2)
    assert second.time == 60.0 and (second.ready, second.pending) == (3, 0)


@pytest.mark.parametrize("option", [{"tick": 1.0}, {"scrape_noise": False}])
def test_a_fluid_option_given_to_a_request_level_run_is_refused(option):
    scenario = Scenario(Poisson(5.0), duration=60.0)
    with pytest.raises(ParameterError, match="an option of fidelity='fluid'"):
        Simulation(scenario, pinned(1), **option)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
@pytest.mark.parametrize(
    ("resolution", "interval", "lag", "duration", "boot"),
    [(0.1, 0.3, 0.2, 6.0, 0.3), (0.3, 0.1, 0.0, 30.0, 0.0), (0.2, 0.6, 0.4, 7.7, 1.0)],
)
def test_fractional_timings_keep_every_decision_fed_and_every_interval_whole(
    fidelity, resolution, interval, lag, duration, boot
):
    # 3 * 0.1 is not 0.3 in floating point: scrapes, decisions and fluid ticks must still
    # agree on which instant is which (a run once handed most decisions a skipped scrape,
    # drifted an interval of 1e-13 s onto its end, and crashed in fluid)
    scenario = Scenario(
        Poisson(50.0),
        duration=duration,
        replica=ReplicaSpec(slots=4, boot=Constant(boot)),
        control_interval=interval,
        metrics=MetricsSpec(resolution=resolution, lag=lag),
    )
    loop = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=20)
    result = simulate(scenario, loop, fidelity=fidelity)
    assert result.conserved()
    assert len(result.end) == math.ceil(duration / interval - 1e-9)
    assert result.end[-1] == duration
    fed = [d.reason != Reason.NO_DATA for d in result.decisions if d and d.time >= lag + resolution]
    assert all(fed), f"{fed.count(False)} of {len(fed)} decisions saw no metrics"


def test_a_fleet_larger_than_a_simulation_holds_is_refused_before_the_run():
    with pytest.raises(ParameterError, match=r"initial_replicas=1000000000 .* at most 100000"):
        Scenario(Poisson(1.0), duration=60.0, initial_replicas=10**9)
    loop = DecisionLoop(TargetTracking("cpu", 1e-9), min_replicas=1, max_replicas=2**31 - 1)
    with pytest.raises(ParameterError, match=r"max_replicas=2147483647 .* at most 100000"):
        simulate(Scenario(Poisson(1.0), duration=60.0), loop, fidelity="fluid")


def test_a_run_longer_than_its_trace_is_refused():
    # past its last bucket a trace replays nothing: a run there would read as zero demand
    trace = TraceReplay([0.0, 60.0, 120.0], [10, 20, 5], bucket=60.0)
    assert Scenario(trace, duration=180.0).duration == 180.0
    with pytest.raises(ParameterError, match=r"duration=600.0 .* at most 180 s, where the"):
        Scenario(trace, duration=600.0)
    with pytest.raises(ParameterError, match="at most 180 s"):
        Scenario(trace + Poisson(1.0), duration=600.0)
