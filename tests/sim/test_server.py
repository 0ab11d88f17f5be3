"""The replica's queueing recursion against an event simulation written with SimPy, and theory."""

import json
from pathlib import Path

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.queueing import erlang_b, erlang_c, mmc_mean_wait, mmc_wait_tail
from elastic.sim.server import ACCEPTED, DROPPED, TIMING_OUT, Server

REFERENCE = json.loads((Path(__file__).parent / "erlang_reference.json").read_text())["rows"]


def simpy_reference(arrivals, services, slots, capacity, timeout):
    """The same station as SimPy users write it: a process per request, a Resource."""
    env = simpy.Environment()
    station = simpy.Resource(env, capacity=slots)
    outcome = {}

    def request(i, service):
        if capacity is not None and station.count == slots and len(station.queue) >= capacity:
            outcome[i] = ("dropped", env.now)
            return
        arrived = env.now
        with station.request() as slot:
            patience = env.timeout(timeout) if timeout is not None else env.event()
            got = yield slot | patience
            if slot not in got:
                outcome[i] = ("timed out", env.now)
                return
            start = env.now
            yield env.timeout(service)
            outcome[i] = ("completed", start - arrived, env.now - arrived)

    def source():
        last = 0.0
        for i, (arrival, service) in enumerate(zip(arrivals, services, strict=True)):
            yield env.timeout(arrival - last)
            last = arrival
            env.process(request(i, service))

    env.process(source())
    env.run()
    return outcome


@settings(max_examples=150, deadline=None)
@given(
    gaps=st.lists(st.floats(0.001, 2.0), min_size=1, max_size=40),
    services=st.data(),
    slots=st.integers(1, 4),
    capacity=st.one_of(st.none(), st.integers(0, 5)),
    timeout=st.one_of(st.none(), st.floats(0.01, 3.0)),
)
def test_the_recursion_serves_exactly_like_an_event_simulation(
    gaps, services, slots, capacity, timeout
):
    # Exact ties between an arrival and a completion are ordered completion-first here and by
    # scheduling order in SimPy; irrational nudges keep the generated times from tying.
    nudge = np.arange(1, len(gaps) + 1) * 1e-6
    arrivals = (np.cumsum(gaps) + nudge * np.sqrt(2)).tolist()
    drawn = services.draw(st.lists(st.floats(0.001, 5.0), min_size=len(gaps), max_size=len(gaps)))
    service = (np.array(drawn) + nudge * np.sqrt(3)).tolist()
    expected = simpy_reference(arrivals, service, slots, capacity, timeout)
    server = Server(slots, capacity, timeout)
    outcomes = [server.offer(a, s) for a, s in zip(arrivals, service, strict=True)]
    kinds = {ACCEPTED: "completed", DROPPED: "dropped", TIMING_OUT: "timed out"}
    assert [kinds[o] for o in outcomes] == [expected[i][0] for i in range(len(arrivals))]
    done = server.settle(float("inf"))
    completed = [expected[i] for i in range(len(arrivals)) if expected[i][0] == "completed"]
    assert done.completed == len(completed)
    assert done.timed_out == outcomes.count(TIMING_OUT)
    waits = np.concatenate(done.waits) if done.waits else np.array([])
    latencies = np.concatenate(done.latencies) if done.latencies else np.array([])
    np.testing.assert_allclose(sorted(waits), sorted(w for _, w, _ in completed), atol=1e-9)
    np.testing.assert_allclose(sorted(latencies), sorted(r for _, _, r in completed), atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    gaps=st.lists(st.floats(0.001, 2.0), min_size=1, max_size=40),
    cut=st.floats(0, 60),
    slots=st.integers(1, 3),
    capacity=st.one_of(st.none(), st.integers(0, 3)),
    timeout=st.one_of(st.none(), st.floats(0.01, 3.0)),
)
def test_nothing_is_lost_when_a_replica_fails(gaps, cut, slots, capacity, timeout):
    arrivals = np.cumsum(gaps)
    server = Server(slots, capacity, timeout)
    before = arrivals[arrivals < cut].tolist()
    outcomes = [server.offer(a, 1.5) for a in before]
    early = server.settle(cut / 2)
    assert server.in_flight() + early.completed + early.timed_out == outcomes.count(
        ACCEPTED
    ) + outcomes.count(TIMING_OUT)
    failed = server.fail(cut)
    assert (
        early.completed + early.timed_out + failed.completed + failed.timed_out + failed.failed
        == len(before) - outcomes.count(DROPPED)
    )
    assert server.in_flight() == 0


def run_mmc(c, rho, n, seed):
    rng = np.random.default_rng(seed)
    lam = c * rho
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    server = Server(c)
    server.offer_many(arrivals, rng.exponential(1.0, n))
    done = server.settle(float("inf"))  # one settle: waits and latencies in arrival order
    return arrivals, np.concatenate(done.waits), np.concatenate(done.latencies)


def batch_means(values, batches=20):
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    return means.mean(), means.std(ddof=1) / np.sqrt(batches)


SIMULATED = [row for row in REFERENCE if row["mean_wait_Wq"] > 1e-3]


@pytest.mark.parametrize("row", SIMULATED, ids=lambda r: f"c={r['c']},rho={r['rho']}")
def test_mean_wait_and_its_tail_match_erlang_c(row):
    c, rho = row["c"], row["rho"]
    n = 1_000_000
    _, waits, _ = run_mmc(c, rho, n, seed=c * 100 + int(rho * 100))
    waits = waits[n // 10 :]  # warm-up
    mean, error = batch_means(waits)
    assert abs(mean - row["mean_wait_Wq"]) <= 4 * error, (mean, error, row["mean_wait_Wq"])
    # tails below 1 % come from rare, long busy periods: a million requests do not pin them
    for t, p in row["P_wait_gt_t"].items():
        if p < 0.01:
            continue
        frac, error = batch_means((waits > float(t)).astype(float))
        assert abs(frac - p) <= 4 * error, (t, frac, error, p)


def test_littles_law_at_random_instants():
    # L measured by looking at the system at random times, against lambda * W per request
    arrivals, _, latencies = run_mmc(5, 0.8, 400_000, seed=7)
    ends = arrivals + latencies
    rng = np.random.default_rng(8)
    horizon = arrivals[-1]
    looks = np.sort(rng.uniform(0.1 * horizon, 0.9 * horizon, 20_000))
    in_system = np.searchsorted(np.sort(arrivals), looks, "right") - np.searchsorted(
        np.sort(ends), looks, "right"
    )
    lam = len(arrivals) / horizon
    assert in_system.mean() == pytest.approx(lam * latencies.mean(), rel=0.05)
    assert in_system.mean() == pytest.approx(4.0 + 2.21645, rel=0.05)  # L = A + Lq (c=5, rho=.8)


@pytest.mark.parametrize("row", REFERENCE, ids=lambda r: f"c={r['c']},rho={r['rho']}")
def test_the_formulas_match_the_reference(row):
    c, lam = row["c"], row["lambda"]
    assert erlang_b(c, lam) == pytest.approx(row["erlang_b_blocking"], rel=1e-9)
    assert erlang_c(c, lam) == pytest.approx(row["erlang_c_prob_wait"], rel=1e-9)
    assert mmc_mean_wait(c, lam, 1.0) == pytest.approx(row["mean_wait_Wq"], rel=1e-9)
    for t, p in row["P_wait_gt_t"].items():
        assert mmc_wait_tail(c, lam, 1.0, float(t)) == pytest.approx(p, rel=1e-9, abs=1e-300)


def test_reference_copy_is_the_shared_one():
    shared = Path(__file__).parents[3] / "shared" / "reference" / "erlang_reference.json"
    if not shared.exists():
        pytest.skip("../shared/reference is not here (a user's clone): nothing to compare")
    assert json.loads(shared.read_text())["rows"] == REFERENCE


def test_the_compiled_kernel_gives_exactly_the_reference_starts():
    from elastic.sim import kernel

    if not kernel.COMPILED:
        pytest.skip("numba is not installed (the fast extra)")
    rng = np.random.default_rng(3)
    for slots in (1, 3, 50):
        arrivals = np.cumsum(rng.exponential(0.1, 5000))
        services = rng.lognormal(0.0, 1.0, 5000)
        python_free = [0.0] * slots
        reference = kernel.starts_python(arrivals, services, python_free)
        compiled_free = [0.0] * slots
        compiled = kernel.starts(arrivals, services, compiled_free)
        assert np.array_equal(np.asarray(compiled), np.asarray(reference))
        assert sorted(compiled_free) == sorted(python_free)
