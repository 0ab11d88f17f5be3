"""Comparisons: the same numbers on any executor; failures reported, not fatal."""

import math
from concurrent.futures import ProcessPoolExecutor

import pytest

from elastic import DecisionLoop, Scenario
from elastic.bench import SerialExecutor, compare, mean_ci
from elastic.errors import ParameterError
from elastic.policies import StepScaling, TargetTracking
from elastic.sim import Poisson, ServerlessSpec

LOOPS = {
    "target tracking": DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=10),
    "step": DecisionLoop(
        StepScaling("cpu", 70.0, steps=[(0, None, 2), (-30, 0, 0), (None, -30, -1)]),
        min_replicas=1,
        max_replicas=10,
    ),
}
SCENARIOS = {"poisson": Scenario(Poisson(25.0), duration=600.0, slo=0.5)}


def test_serial_and_process_pool_give_identical_rows():
    serial = compare(LOOPS, SCENARIOS, 2, executor=SerialExecutor(), progress=False)
    with ProcessPoolExecutor(2) as pool:
        parallel = compare(LOOPS, SCENARIOS, 2, executor=pool, progress=False)
    default = compare(LOOPS, SCENARIOS, 2, progress=False)
    assert len(serial) == 4
    assert serial.rows == parallel.rows == default.rows


def test_a_failed_run_is_reported_and_the_others_kept():
    scenarios = {
        **SCENARIOS,
        # arm has no provisioned concurrency price: the run raises when it provisions
        "arm function": Scenario(
            Poisson(5.0), duration=60.0, serverless=ServerlessSpec(arch="arm"), initial_replicas=1
        ),
    }
    result = compare(LOOPS, scenarios, [7], executor=SerialExecutor(), progress=False)
    assert len(result.rows) == 2 and {r["scenario"] for r in result.rows} == {"poisson"}
    assert [(f.policy, f.scenario, f.seed) for f in result.failures] == [
        ("step", "arm function", 7),
        ("target tracking", "arm function", 7),
    ]
    assert "ParameterError" in result.failures[0].error


def test_aggregate_gives_means_and_confidence_intervals(capsys):
    result = compare(LOOPS, SCENARIOS, 3, executor=SerialExecutor(), progress=True)
    assert "runs" in capsys.readouterr().err, "a progress bar"
    table = {row["policy"]: row for row in result.aggregate(["cost", "slo_attainment"])}
    costs = [r["cost"] for r in result.rows if r["policy"] == "step"]
    assert table["step"]["seeds"] == 3
    assert table["step"]["cost"] == pytest.approx(sum(costs) / 3)
    assert table["step"]["cost_ci"] == pytest.approx(mean_ci(costs)[1])
    text = result.format(["cost", "slo_attainment"])
    assert text.splitlines()[0].split() == ["policy", "scenario", "cost", "slo_attainment"]


@pytest.mark.parametrize(
    ("values", "expected", "why"),
    [
        ([1.0, 2.0, 3.0], (2.0, 4.302652729749464 / math.sqrt(3)), "t(2) = 4.3027, sd 1"),
        ([4.0, 4.0], (4.0, 0.0), "no spread"),
        ([5.0, math.nan], (5.0, math.nan), "NaN left out; one value has no interval"),
    ],
)
def test_mean_ci(values, expected, why):
    mean, half = mean_ci(values)
    assert mean == pytest.approx(expected[0]), why
    assert (math.isnan(half) and math.isnan(expected[1])) or half == pytest.approx(expected[1])


def test_bad_inputs_name_themselves():
    with pytest.raises(ParameterError) as info:
        compare({"x": "not a loop"}, SCENARIOS, 1, executor=SerialExecutor(), progress=False)
    assert info.value.name == "policies['x']"


def test_a_dask_local_cluster_gives_the_same_rows():
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    serial = compare(LOOPS, SCENARIOS, 2, executor=SerialExecutor(), progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = compare(LOOPS, SCENARIOS, 2, executor=client.get_executor(), progress=False)
    assert remote.rows == serial.rows


def test_paired_differences_are_per_seed_differences_against_the_baseline():
    # issue 15 A2: the same scenario and seed pair two policies' runs
    result = compare(LOOPS, SCENARIOS, 3, executor=SerialExecutor(), progress=False)
    rows = result.paired("cost", baseline="target tracking")
    assert [(r["policy"], r["baseline"], r["scenario"], r["seeds"]) for r in rows] == [
        ("step", "target tracking", "poisson", 3)
    ]
    by = {(r["policy"], r["seed"]): r["cost"] for r in result.rows}
    differences = [by[("step", s)] - by[("target tracking", s)] for s in range(3)]
    mean, half = mean_ci(differences)
    assert rows[0]["difference"] == pytest.approx(mean)
    assert rows[0]["difference_ci"] == pytest.approx(half)
    text = result.format_paired(["cost"], baseline="target tracking")
    assert text.splitlines()[0].split() == ["policy", "baseline", "scenario", "seeds", "cost"]


def test_a_policy_against_itself_differs_by_exactly_zero():
    twins = {"a": LOOPS["step"], "b": LOOPS["step"]}
    result = compare(twins, SCENARIOS, 2, executor=SerialExecutor(), progress=False)
    (row,) = result.paired("cost", baseline="a")
    assert (row["difference"], row["difference_ci"]) == (0.0, 0.0)


def test_paired_differences_refuse_an_unknown_baseline():
    result = compare(LOOPS, SCENARIOS, 1, executor=SerialExecutor(), progress=False)
    with pytest.raises(ParameterError, match="baseline"):
        result.paired("cost", baseline="nope")


@pytest.mark.parametrize(
    ("options", "name"),
    [({"seeds": 1.5}, "seeds"), ({"seeds": 0}, "seeds"), ({"seeds": -1}, "seeds"),
     ({"seeds": True}, "seeds"), ({"seeds": [1, 1]}, "seeds"), ({"seeds": []}, "seeds"),
     ({"fidelity": "bogus"}, "fidelity")],
)  # fmt: skip
def test_bad_comparison_requests_are_refused_before_any_run(options, name):
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=3)
    setup = Scenario(Poisson(1.0), duration=60.0)
    with pytest.raises(ParameterError, match=rf"compare: {name}="):
        compare({"a": loop}, {"s": setup}, executor=SerialExecutor(), progress=False, **options)
