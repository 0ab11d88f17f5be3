"""Comparisons: the same numbers on any executor; failures reported, not fatal."""

import csv
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


def mixed_comparison():
    """Runs with and without nodes: the second has metrics the first has not."""
    from elastic.bench import Comparison

    plain = [{"policy": "hpa", "scenario": "s", "seed": seed, "cost": 1.0 + seed,
              "slo_attainment": 0.99} for seed in range(2)]  # fmt: skip
    nodes = [{"policy": "karpenter", "scenario": "s", "seed": seed, "cost": 2.0 + seed,
              "slo_attainment": 0.98, "nodes_mean": 3.0 + seed} for seed in range(2)]  # fmt: skip
    return Comparison([*plain, *nodes])


def test_runs_with_different_metrics_aggregate_over_the_union_of_columns(tmp_path):
    result = mixed_comparison()
    assert result.metrics() == ["cost", "slo_attainment", "nodes_mean"]
    table = {row["policy"]: row for row in result.aggregate()}
    assert table["karpenter"]["nodes_mean"] == pytest.approx(3.5)
    assert math.isnan(table["hpa"]["nodes_mean"]) and math.isnan(table["hpa"]["nodes_mean_ci"])
    # the runs without nodes show an empty cell, not a made-up value
    hpa, karpenter = result.format(["cost", "nodes_mean"]).splitlines()[1:]
    assert hpa.split() == ["hpa", "s", "1.5", "±6.4"]
    assert karpenter.split() == ["karpenter", "s", "2.5", "±6.4", "3.5", "±6.4"]
    (paired,) = result.paired("nodes_mean", baseline="hpa")
    assert paired["seeds"] == 0 and math.isnan(paired["difference"])
    result.to_csv(tmp_path / "runs.csv")
    with (tmp_path / "runs.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["policy", "scenario", "seed", "cost", "slo_attainment", "nodes_mean"]
    assert [row["nodes_mean"] for row in rows] == ["", "", "3.0", "4.0"]


def test_json_reads_back_the_rows_the_failures_and_the_kept_results(tmp_path):
    from elastic.bench import Comparison

    scenarios = {**SCENARIOS, "arm": Scenario(Poisson(5.0), duration=60.0,
                                              serverless=ServerlessSpec(arch="arm"),
                                              initial_replicas=1)}  # fmt: skip
    result = compare({"step": LOOPS["step"]}, scenarios, [3], executor=SerialExecutor(),
                     progress=False, fidelity="fluid", keep_results=True)  # fmt: skip
    assert result.failures and result.results
    text = result.to_json(tmp_path / "runs.json")
    assert "NaN" not in text, "strict JSON: NaN is null"
    again = Comparison.from_json(tmp_path / "runs.json")
    assert again.rows.__repr__() == result.rows.__repr__()  # NaN == NaN by repr
    assert again.failures == result.failures
    ((key, run),) = again.results.items()
    assert key == ("step", "poisson", 3)
    assert run.summary().__repr__() == result.results[key].summary().__repr__()
    assert Comparison.from_json(text).rows.__repr__() == result.rows.__repr__()


@pytest.mark.parametrize(
    ("source", "expected"),
    [('{"format": "elastic.RunResult/1"}', "format='elastic.RunResult/1'"),
     ('{"format": "elastic.Comparison/1", "rows": [{"policy": "a"}]}', "KeyError"),
     ('{"format": "elastic.Comparison/1",\n "rows": [}', "line 2, column 11"),
     ("/nonexistent/runs.json", "a readable JSON file")],
)  # fmt: skip
def test_a_bad_comparison_file_is_refused_in_words(source, expected):
    from elastic.bench import Comparison

    with pytest.raises(ParameterError, match="Comparison") as info:
        Comparison.from_json(source)
    assert expected in str(info.value)


def test_the_html_view_shows_means_with_intervals_and_lists_failures():
    from elastic.bench import Comparison, Failure

    result = mixed_comparison()
    view = result._repr_html_()
    assert "<th>cost</th>" in view and "<th>slo_attainment</th>" in view
    assert "<td style='text-align:right'>1.5 ±6.4</td>" in view
    assert "failed" not in view
    failing = Comparison(result.rows, [Failure("hpa", "s", 9, "ValueError('<boom>')", "")])
    view = failing._repr_html_()
    assert "1 runs failed" in view
    assert "hpa on s, seed 9: <code>ValueError(&#x27;&lt;boom&gt;" in view
    assert "<th>nodes_mean</th>" in result.to_html(["nodes_mean"])
