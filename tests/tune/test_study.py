"""The study's engine: Pareto fronts, pruning, batches on any executor, screening and confirming,
resumed studies, refused candidates."""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from elastic import DecisionLoop, ParameterError
from elastic.bench.compare import SerialExecutor
from elastic.policies import TargetTracking
from elastic.sim import Poisson, Scenario
from elastic.tune import Choice, Float, InfeasibleError, tune
from elastic.tune import study as study_module

STEADY = {"steady": Scenario(Poisson(30.0), duration=900.0, slo=0.5, initial_replicas=4)}
SPACE = {"target": Float(30.0, 95.0)}


def build(params: dict[str, Any]) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", params["target"]), min_replicas=1, max_replicas=20)


def search(**options: Any) -> Any:
    given: dict[str, Any] = {"seeds": 3, "constraints": ["slo_attainment>=0.9"],
                             "executor": SerialExecutor(), "space": SPACE}  # fmt: skip
    given.update(options)
    space = given.pop("space")
    return tune(given.pop("build", build), space, given.pop("scenarios", STEADY), **given)


def key(result: Any) -> list[tuple[Any, ...]]:
    return [(t.number, t.params, t.state, t.objective, t.feasible) for t in result.trials]


def test_two_objectives_give_a_front_no_feasible_trial_beats() -> None:
    result = search(objective=("cost", "slo_attainment"), sampler="nsga2", trials=12, seed=3)
    front = result.front
    assert len(front) >= 2
    feasible = [t for t in result.trials if t.feasible]
    for member in front:
        assert member.feasible
        for other in feasible:  # nobody cheaper and at least as good on attainment
            assert not (
                other.values["cost"] <= member.values["cost"]
                and other.values["slo_attainment"] >= member.values["slo_attainment"]
                and (other.values["cost"], other.values["slo_attainment"])
                != (member.values["cost"], member.values["slo_attainment"])
            )
    costs = [t.values["cost"] for t in front]
    attainments = [t.values["slo_attainment"] for t in front]
    assert costs == sorted(costs) and attainments == sorted(attainments)  # a trade-off
    assert result.directions == ("minimize", "maximize")
    assert [d.name for d in result.study.directions] == ["MINIMIZE", "MAXIMIZE"]


def test_pruning_stops_hopeless_candidates_after_one_seed_and_keeps_the_winner() -> None:
    # the random sampler draws the same candidates whatever the trials gave
    full = search(sampler="random", trials=12, seed=5, prune=False)
    pruned = search(sampler="random", trials=12, seed=5)
    assert [t.params for t in full.trials] == [t.params for t in pruned.trials]
    cut = [t for t in pruned.trials if t.state == "pruned"]
    assert cut and all(t.runs == 1 and not t.feasible for t in cut)
    assert pruned.simulations < full.simulations
    for trial in cut:  # each pruned one was indeed no better than the winner, or infeasible
        same = next(t for t in full.trials if t.number == trial.number)
        assert not same.feasible or same.objective > full.best.objective
    assert pruned.best.params == full.best.params


def test_a_batch_gives_the_same_trials_in_any_executor_and_random_for_any_batch() -> None:
    serial = search(sampler="random", trials=6, seed=2, batch=1, prune=False)
    with ProcessPoolExecutor(max_workers=2) as pool:
        batched = search(sampler="random", trials=6, seed=2, batch=4, prune=False, executor=pool)
        tpe_pool = search(trials=6, seed=2, batch=3, executor=pool)
    assert key(batched) == key(serial)
    assert key(search(trials=6, seed=2, batch=3)) == key(tpe_pool)


def test_a_dask_local_cluster_gives_the_same_study_as_a_serial_run() -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    serial = search(trials=4, seed=4, batch=2)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        remote = search(trials=4, seed=4, batch=2, executor=client.get_executor())
    assert key(remote) == key(serial)


def test_screening_on_a_slice_then_confirming_at_request_level() -> None:
    result = search(space={"target": Choice((40.0, 55.0, 70.0, 85.0))}, sampler="grid",
                    trials=4, screen_duration=300.0, confirm=2)  # fmt: skip
    assert {t.fidelity for t in result.trials} == {"fluid"}
    assert all(t.values["requests"] < 30.0 * 400 for t in result.trials)  # 300 s, not 900
    assert [t.fidelity for t in result.confirmed] == ["request", "request"]
    assert all(t.values["requests"] > 30.0 * 800 for t in result.confirmed)
    screened_best = min((t for t in result.trials if t.feasible), key=lambda t: t.objective)
    assert result.confirmed[0].number == screened_best.number
    assert result.best in result.confirmed
    table = result.disagreements()
    assert [row["trial"] for row in table] == [t.number for t in result.confirmed]
    row = table[0]
    assert set(row) >= {"cost[fluid]", "cost[request]", "cost_difference", "feasible[fluid]",
                        "feasible[request]", "agrees"}  # fmt: skip
    # a slice a third as long costs about a third
    assert row["cost[fluid]"] < 0.5 * row["cost[request]"]
    assert row["agrees"] is False
    rates = result.disagreements(["cost_per_hour"])[0]
    assert abs(rates["cost_per_hour_difference"]) < abs(row["cost_difference"])
    assert result.simulations == 4 * 3 - 2 * sum(t.state == "pruned" for t in result.trials) + 6


def test_a_resumed_study_keeps_its_trials_and_draws_new_candidates(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = search(sampler="random", trials=3, storage=storage, seed=1)
    again = search(sampler="random", trials=3, storage=storage, seed=1)
    assert [t.number for t in again.trials] == list(range(6))
    assert key(again)[:3] == key(first)
    drawn = [t.params["target"] for t in again.trials]
    assert len(set(drawn)) == 6, "a resumed sampler must not draw the same candidates again"
    with pytest.raises(ParameterError, match="constraints: stored"):
        search(trials=1, storage=storage, seed=1, constraints=["slo_attainment>=0.95"])
    grid = f"sqlite:///{tmp_path / 'grid.db'}"
    choices = {"target": Choice((40.0, 60.0, 80.0))}
    search(space=choices, sampler="grid", trials=2, storage=grid)
    rest = search(space=choices, sampler="grid", trials=5, storage=grid)
    assert sorted(t.params["target"] for t in rest.trials) == [40.0, 60.0, 80.0]


def test_candidates_build_refuses_are_recorded_and_a_space_of_only_those_is_refused() -> None:
    def picky(params: dict[str, Any]) -> DecisionLoop:
        return DecisionLoop(TargetTracking("cpu", params["target"]),
                            min_replicas=params["low"], max_replicas=20)  # fmt: skip

    space = {"target": Choice((50.0, 70.0)), "low": Choice((1, 30))}
    result = search(space=space, build=picky, sampler="grid", trials=4, seeds=2)
    refused = [t for t in result.trials if t.state == "refused"]
    assert sorted(t.params["target"] for t in refused) == [50.0, 70.0]
    assert all(t.params["low"] == 30 for t in refused)
    assert result.best.params["low"] == 1
    with pytest.raises(ParameterError, match="all 2 were refused, the first with: "):
        search(space={"target": Choice((50.0, 70.0)), "low": Choice((30,))}, build=picky,
               sampler="grid", trials=2)  # fmt: skip


def test_an_infeasible_study_names_pruned_candidates_too() -> None:
    result = search(space={"target": Choice((85.0, 95.0))}, sampler="grid", trials=2,
                    constraints=["slo_attainment>=0.999"])  # fmt: skip
    with pytest.raises(InfeasibleError, match=r"none of the 2 trials met slo_attainment>=0\.999"):
        _ = result.best


def test_the_pruning_rule_follows_its_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = search(sampler="random", trials=12, seed=5)
    monkeypatch.setattr(study_module, "PRUNE_MARGIN", math.inf)
    assert not any(t.state == "pruned" for t in search(sampler="random", trials=12, seed=5).trials)
    assert any(t.state == "pruned" for t in kept.trials)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"objective": ()}, "a summary metric's name, or several distinct ones"),
        ({"objective": ("cost", "cost")}, "several distinct ones"),
        ({"objective": ("cost", "nosuch")}, "objective='nosuch' is invalid"),
        ({"batch": 0}, "batch=0 is invalid; expected an integer >= 1 and <= 1,024"),
        ({"trials": 10**9}, "expected an integer >= 1 and <= 100,000"),
        ({"confirm": -1}, "confirm=-1 is invalid"),
        ({"screen_duration": 0.0}, "screen_duration=0.0 is invalid"),
        ({"seeds": [1, 1]}, "distinct seeds"),
        ({"seeds": 0}, "seeds=0 is invalid"),
        ({"scenarios": {}}, "at least one Scenario"),
        ({"prune": "yes"}, "prune='yes' is invalid"),
        ({"confirm_fidelity": "exact"}, "confirm_fidelity='exact' is invalid"),
        ({"sampler": "cmaes"}, "sampler='cmaes' is invalid"),
    ],
)
def test_bad_study_options_are_refused_in_words(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        search(**{"trials": 1, **options})


def test_an_interrupted_study_leaves_no_trial_running_in_its_storage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import optuna

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    monkeypatch.setattr(study_module, "run_row", interrupted)
    with pytest.raises(KeyboardInterrupt):
        search(trials=4, batch=2, storage=storage)
    states = [t.state for t in optuna.load_study(study_name="elastic", storage=storage).trials]
    assert states == [optuna.trial.TrialState.FAIL] * 2


def test_a_candidate_can_change_the_scenario_a_node_autoscalers_settings() -> None:
    import dataclasses
    from decimal import Decimal

    import numpy as np

    from elastic.nodes import NodeTemplate, PodSpec, Resources
    from elastic.nodes.cluster_autoscaler import ClusterAutoscaler, NodeGroup
    from elastic.sim import Constant, ReplicaSpec, TraceReplay
    from elastic.sim.node_level import NodeLevel
    from elastic.tune import Candidate

    node = NodeTemplate("general", "m5.large", "on-demand", Resources(1930, 7 * 2**30, 29),
                        Decimal("0.096"))  # fmt: skip
    times = np.arange(0.0, 3600.0, 60.0)
    rates = np.where((times >= 300.0) & (times < 1500.0), 60.0, 5.0)
    peak = Scenario(
        TraceReplay(times, (rates * 60).astype(int), bucket=60.0), duration=3600.0,
        service=Constant(0.05), replica=ReplicaSpec(boot=Constant(5.0), drain_timeout=10.0),
        nodes=NodeLevel(PodSpec("web", Resources.parse(cpu="900m", memory="1Gi")),
                        templates=(node,), initial_nodes={"general": 1}),
    )  # fmt: skip
    seen: list[float] = []

    def build(params: dict[str, Any]) -> Candidate:
        autoscaler = ClusterAutoscaler([NodeGroup(node, max_size=10)],
                                       scale_down_unneeded_time=params["unneeded"])  # fmt: skip

        def nodes(s: Scenario) -> Scenario:
            assert s.nodes is not None
            seen.append(params["unneeded"])
            return dataclasses.replace(s, nodes=dataclasses.replace(s.nodes, autoscaler=autoscaler))

        loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=12)
        return Candidate(loop, nodes)

    result = search(build=build, space={"unneeded": Choice((60.0, 1200.0))}, sampler="grid",
                    trials=2, seeds=2, scenarios={"peak": peak}, constraints=[])  # fmt: skip
    assert sorted(seen) == [60.0, 1200.0]
    cost = {t.params["unneeded"]: t.objective for t in result.trials}
    assert cost[60.0] < cost[1200.0]  # nodes removed sooner after the peak cost less
    assert result.best.params == {"unneeded": 60.0}


def test_a_candidate_whose_objective_cannot_be_measured_is_not_feasible() -> None:
    import numpy as np

    from elastic.sim import TraceReplay

    idle = Scenario(TraceReplay(np.arange(0.0, 600.0, 60.0), np.zeros(10, dtype=int), bucket=60.0),
                    duration=600.0, slo=0.5)  # fmt: skip
    result = search(scenarios={"idle": idle}, objective="cost_per_million_requests",
                    constraints=[], trials=2, sampler="random")  # fmt: skip
    assert all(math.isnan(t.objective) and not t.feasible for t in result.trials)
    with pytest.raises(
        InfeasibleError, match=r"was feasible; .*cost_per_million_requests not measured"
    ):
        _ = result.best


def test_a_seed_numpy_cannot_take_is_refused() -> None:
    with pytest.raises(ParameterError, match="seed=4294967296 is invalid"):
        search(trials=1, seed=2**32)


@pytest.mark.parametrize("sampler", ["grid", "random"])
def test_a_conditional_parameter_is_searched_only_where_it_is_active(sampler: str) -> None:
    seen: list[dict[str, Any]] = []

    def built(params: dict[str, Any]) -> DecisionLoop:
        seen.append(dict(params))
        margin = params.get("margin", 0.0)
        return DecisionLoop(TargetTracking("cpu", 60.0, scale_in_margin=margin),
                            min_replicas=1, max_replicas=20)  # fmt: skip

    space = {"keep": Choice((False, True)),
             "margin": Choice((0.1, 0.2)) if sampler == "grid" else Float(0.05, 0.3)}  # fmt: skip
    space["margin"] = dataclasses.replace(space["margin"], when={"keep": (False,)})
    result = search(space=space, build=built, sampler=sampler, trials=6, seeds=2)
    for params in seen:
        assert ("margin" in params) == (params["keep"] is False)
    if sampler == "grid":  # 2 points with a margin, 1 without: and then it stops
        assert len(result.trials) == 3
        points = [{"keep": False, "margin": 0.1}, {"keep": False, "margin": 0.2}, {"keep": True}]
        assert sorted(map(str, seen)) == sorted(map(str, points))
