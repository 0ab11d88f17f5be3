"""Scheduler: upstream's score arithmetic row by row, ties, reasons, and a pass that fits."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import elastic.nodes.scheduler as scheduler_module
from elastic.errors import ParameterError, SimulationError
from elastic.nodes.cluster import DRAINING, READY, REGISTERED, ClusterState
from elastic.nodes.labels import Taint, Toleration
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.scheduler import (
    DEFAULT_STRATEGY,
    NO_NODES,
    STRATEGIES,
    Schedule,
    Scheduler,
    _balanced_score,
    _fit_score,
    _taint_scores,
)
from elastic.nodes.templates import NodeTemplate

GiB = 2**30
MiB = 2**20


def template(
    name: str, cpu: int = 2000, memory: int = 8 * GiB, pods: int = 110, **kw: object
) -> NodeTemplate:
    return NodeTemplate(
        name, "m5.large", "on-demand", Resources(cpu, memory, pods), Decimal("0.1"), **kw
    )  # type: ignore[arg-type]


def pod(name: str, cpu: str | int = "500m", memory: str | int = "1Gi", **kw: object) -> PodSpec:
    return PodSpec(name, Resources.parse(cpu=cpu, memory=memory), **kw)  # type: ignore[arg-type]


def ready(cluster: ClusterState, name: str, count: int = 1, state: int = READY) -> list[int]:
    nodes = []
    for _ in range(count):
        node = cluster.add_node(name, 0.0)
        if state != 0:
            cluster.set_node_state(node, REGISTERED if state == REGISTERED else READY, 1.0)
            if state == DRAINING:
                cluster.set_node_state(node, DRAINING, 2.0)
        nodes.append(node)
    return nodes


def pair(cpu: tuple[int, int], memory: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(requested, allocatable) rows of one node: cpu then memory."""
    return np.array([[cpu[0], memory[0]]]), np.array([[cpu[1], memory[1]]])


# --- the formulas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpu", "memory", "least", "most", "why"),
    [
        ((500, 2000), (GiB, 8 * GiB), 81, 18, "least (75 + 87) // 2; most (25 + 12) // 2"),
        ((1, 3), (2, 3), 49, 49, "each resource floors first: least (66 + 33) // 2, not 50"),
        ((2000, 2000), (8 * GiB, 8 * GiB), 0, 100, "exactly full"),
        ((0, 2000), (0, 8 * GiB), 100, 0, "empty"),
        ((3000, 2000), (0, 8 * GiB), 50, 50, "over capacity: least 0, most capped at 100"),
        ((100, 0), (4 * GiB, 8 * GiB), 50, 50, "no cpu allocatable: memory alone, weight 1"),
        ((100, 0), (5, 0), 0, 0, "nothing allocatable: 0"),
    ],
)
def test_fit_scores_use_upstreams_integer_arithmetic(
    cpu: tuple[int, int], memory: tuple[int, int], least: int, most: int, why: str
) -> None:
    requested, allocatable = pair(cpu, memory)
    assert _fit_score(requested, allocatable, most=False).tolist() == [least], why
    assert _fit_score(requested, allocatable, most=True).tolist() == [most], why


@pytest.mark.parametrize(
    ("cpu", "memory", "score", "why"),
    [
        ((500, 2000), (GiB, 8 * GiB), 93, "fractions 0.25 and 0.125: (1 - 0.0625) * 100 = 93.75"),
        ((1000, 2000), (4 * GiB, 8 * GiB), 100, "equal fractions: std 0"),
        ((2000, 2000), (0, 8 * GiB), 50, "fractions 1 and 0: std 0.5"),
        ((4000, 2000), (0, 8 * GiB), 50, "a fraction is capped at 1 (uncapped: 0)"),
        ((1, 3), (0, 8), 83, "std 1/6: 83.33 truncates"),
        ((1500, 0), (GiB, 8 * GiB), 100, "one resource allocatable: std 0"),
    ],
)
def test_balanced_allocation_scores_the_spread_of_fractions(
    cpu: tuple[int, int], memory: tuple[int, int], score: int, why: str
) -> None:
    requested, allocatable = pair(cpu, memory)
    assert _balanced_score(requested, allocatable).tolist() == [score], why


@pytest.mark.parametrize(
    ("counts", "mask", "scores", "why"),
    [
        ([0, 1, 2], [1, 1, 1], [100, 50, 0], "100 - 100 * count // max, max 2"),
        ([1, 2, 3], [1, 1, 1], [67, 34, 0], "integer division: 100 - 33, 100 - 66"),
        ([0, 0], [1, 1], [100, 100], "no intolerable taint anywhere: all 100"),
        ([1, 3, 0], [1, 0, 1], [0, None, 100], "the max is over feasible nodes only"),
    ],
)
def test_taint_toleration_normalizes_reversed_over_feasible_nodes(
    counts: list[int], mask: list[int], scores: list[int | None], why: str
) -> None:
    got = _taint_scores(np.array(counts), np.array(mask, dtype=bool)).tolist()
    assert [g if s is not None else None for g, s in zip(got, scores, strict=True)] == scores, why


# --- scores end to end -----------------------------------------------------------------------


def test_the_default_is_kube_schedulers_default_profile() -> None:
    assert Scheduler().strategy == DEFAULT_STRATEGY == "LeastAllocated+BalancedAllocation"
    c = ClusterState([template("a")], [pod("web")])
    (node,) = ready(c, "a")
    row = c.row_of(node)
    expected = {  # 500m / 2000m and 1Gi / 8Gi with the pod's own request added
        "LeastAllocated+BalancedAllocation": 81 + 93 + 300,
        "LeastAllocated": 81 + 300,
        "MostAllocated": 18 + 300,
        "BalancedAllocation": 93 + 300,
        "MostAllocated+BalancedAllocation": 18 + 93 + 300,
    }
    assert set(expected) == set(STRATEGIES)
    for strategy, score in expected.items():
        assert Scheduler(strategy).scores(c, 0)[row] == score, strategy


def test_the_pods_own_request_and_bound_pods_count() -> None:
    c = ClusterState([template("a")], [pod("web")])
    a, b = ready(c, "a", 2)
    c.bind(c.add_pod("web", 1.0), a, 1.0)
    s = Scheduler("LeastAllocated").scores(c, 0)
    # a: 1000m of 2000m and 2Gi of 8Gi after the pod: (50 + 75) // 2; b: (75 + 87) // 2
    assert (s[c.row_of(a)], s[c.row_of(b)]) == (62 + 300, 81 + 300)


def test_a_pod_without_requests_counts_as_100m_and_200mi_for_fit_only() -> None:
    node = template("a", cpu=1000, memory=1000 * MiB)
    c = ClusterState([node], [pod("idle", cpu=0, memory=0)])
    a, b = ready(c, "a", 2)
    c.bind(c.add_pod("idle", 1.0), a, 1.0)
    s = Scheduler().scores(c, 0)
    # b: (1000-100)/1000 -> 90, (1000-200)/1000 MiB -> 80: 85; a holds one more: 80, 60: 70;
    # BalancedAllocation is skipped for a best-effort pod (0), TaintToleration adds 300
    assert (s[c.row_of(a)], s[c.row_of(b)]) == (70 + 300, 85 + 300)


def test_prefer_no_schedule_taints_steer_pods_away_when_there_is_a_choice() -> None:
    soft = template("soft", taints=(Taint("spot", "true", "PreferNoSchedule"),))
    tolerant = pod("batch", tolerations=(Toleration("spot", "Equal", "true"),))
    c = ClusterState([soft, template("plain")], [pod("web"), tolerant])
    s_node, p_node = ready(c, "soft")[0], ready(c, "plain")[0]
    sched = Scheduler()
    web = sched.scores(c, 0)
    # web does not tolerate the taint: count 1 is the max -> 0; the plain node -> 100 (x3)
    assert web[c.row_of(s_node)] == 81 + 93 + 0 and web[c.row_of(p_node)] == 81 + 93 + 300
    assert sched.place(c, 0) == c.row_of(p_node)
    batch = sched.scores(c, 1)
    assert batch[c.row_of(s_node)] == batch[c.row_of(p_node)], "a tolerated taint counts 0"
    assert sched.place(c, 1) == c.row_of(s_node), "tie: the older node"


# --- ties ------------------------------------------------------------------------------------


def test_ties_go_to_the_lowest_node_id_not_the_lowest_row() -> None:
    c = ClusterState([template("a")], [pod("web")])
    first, second, _ = ready(c, "a", 3)
    c.remove_node(first, 5.0)
    (newest,) = ready(c, "a")  # reuses the freed row 0
    assert c.row_of(newest) < c.row_of(second)
    assert Scheduler().place(c, 0) == c.row_of(second)
    assert Scheduler().schedule(c, 6.0, [c.add_pod("web", 6.0)]).bindings[0][1] == second


def test_most_allocated_packs_and_least_allocated_spreads() -> None:
    c = ClusterState([template("a")], [pod("web")])
    nodes = ready(c, "a", 3)
    pods = [c.add_pod("web", 1.0) for _ in range(4)]
    packed = Scheduler("MostAllocated").schedule(c, 2.0)
    spread = Scheduler("LeastAllocated").schedule(c, 2.0)
    assert [n for _, n in packed.bindings] == [nodes[0]] * 4
    assert [n for _, n in spread.bindings] == [nodes[0], nodes[1], nodes[2], nodes[0]]
    assert [p for p, _ in spread.bindings] == pods


# --- what a pass leaves pending, and why ---------------------------------------------------------


def test_unschedulable_reasons_are_kube_scheduler_events() -> None:
    gpu = template("gpu", taints=(Taint("dedicated", "gpu"),))
    arm = template("arm", arch="arm64")
    tiny = template("tiny", pods=2)
    web = pod("web", cpu="1500m", node_selector={"kubernetes.io/arch": "amd64"})
    specs = [web, pod("filler", "1", "7Gi"), pod("big", "1", "7680Mi"), pod("mini", "10m", "10Mi")]
    c = ClusterState([template("a"), gpu, arm, tiny], specs)
    a = ready(c, "a", 3)
    for node, spec in zip(a, ["filler", "filler", "big"], strict=True):
        c.bind(c.add_pod(spec, 1.0), node, 1.0)  # 1000m left; "big" leaves 512Mi too
    ready(c, "gpu", 2)
    ready(c, "arm")
    ready(c, "a", state=DRAINING)
    ready(c, "a", state=REGISTERED)
    ready(c, "a", state=0)  # launching: not a node of the cluster yet, not counted
    (t,) = ready(c, "tiny")
    for _ in range(2):
        c.bind(c.add_pod("mini", 1.0), t, 1.0)
    pending = [c.add_pod("web", 2.0) for _ in range(3)]
    result = Scheduler().schedule(c, 3.0)
    assert result.bindings == []
    message = (
        "0/9 nodes are available: 1 Insufficient memory, 1 Too many pods, "
        "1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "1 node(s) were unschedulable, 2 node(s) had untolerated taint {dedicated: gpu}, "
        "3 Insufficient cpu."
    )
    assert result.unschedulable == dict.fromkeys(pending, message)


def test_no_registered_node_is_upstreams_no_nodes_message() -> None:
    c = ClusterState([template("a")], [pod("web")])
    ready(c, "a", state=0)
    p = c.add_pod("web", 0.0)
    assert Scheduler().schedule(c, 1.0).unschedulable == {p: NO_NODES}


def test_the_reason_is_built_once_per_spec_per_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    c = ClusterState([template("a")], [pod("web", cpu="3")])
    ready(c, "a")
    pods = [c.add_pod("web", 0.0) for _ in range(50)]
    calls = []
    real = scheduler_module._reason

    def counted(*args: object) -> str:
        calls.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler_module, "_reason", counted)
    result = Scheduler().schedule(c, 1.0)
    assert len(calls) == 1
    assert result.unschedulable == dict.fromkeys(
        pods, "0/1 nodes are available: 1 Insufficient cpu."
    )


def test_max_pods_is_a_filter() -> None:
    c = ClusterState([template("a", pods=2)], [pod("web", "10m", "10Mi")])
    (node,) = ready(c, "a")
    pods = [c.add_pod("web", 0.0) for _ in range(3)]
    result = Scheduler().schedule(c, 1.0)
    assert result.bindings == [(pods[0], node), (pods[1], node)]
    assert result.unschedulable == {pods[2]: "0/1 nodes are available: 1 Too many pods."}


def test_a_pass_sees_its_own_placements_but_leaves_the_cluster_alone() -> None:
    c = ClusterState([template("a")], [pod("web", cpu="1")])
    a, b = ready(c, "a", 2)
    pods = [c.add_pod("web", 0.0) for _ in range(5)]
    before = (c.requested.copy(), c.pending().tolist())
    result = Scheduler().schedule(c, 1.0)
    assert sorted(n for _, n in result.bindings) == [a, a, b, b]  # 2 x 1000m per node
    assert list(result.unschedulable) == [pods[4]]
    assert (c.requested == before[0]).all() and c.pending().tolist() == before[1]
    assert isinstance(result, Schedule) and result.time == 1.0


# --- daemon pods ----------------------------------------------------------------------------


def test_daemon_pods_go_one_per_registered_node_oldest_first() -> None:
    agent = pod("agent", "100m", "128Mi", daemon=True, tolerations=(Toleration(operator="Exists"),))
    c = ClusterState([template("a")], [agent])
    launching = ready(c, "a", state=0)[0]
    registered = ready(c, "a", state=REGISTERED)[0]
    cordoned = ready(c, "a", state=DRAINING)[0]
    (running,) = ready(c, "a")
    c.bind(c.add_pod("agent", 1.0), running, 1.0)
    pods = [c.add_pod("agent", 2.0) for _ in range(3)]
    result = Scheduler().schedule(c, 3.0)
    assert result.bindings == [(pods[0], registered), (pods[1], cordoned)]
    assert launching not in {n for _, n in result.bindings}
    assert result.unschedulable == {
        pods[2]: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    }
    assert Scheduler().place(c, 0) == c.row_of(registered)


def test_daemon_pods_are_filtered_by_room_and_taints() -> None:
    agent = pod("agent", "1", "1Gi", daemon=True)
    gpu = template("gpu", taints=(Taint("dedicated", "gpu"),))
    c = ClusterState([template("a"), gpu], [agent, pod("web", "1500m")])
    (a,) = ready(c, "a")
    ready(c, "gpu")
    c.bind(c.add_pod("web", 0.0), a, 0.0)
    p = c.add_pod("agent", 1.0)
    assert Scheduler().schedule(c, 1.0).unschedulable == {
        p: "0/2 nodes are available: 1 Insufficient cpu, "
        "1 node(s) had untolerated taint {dedicated: gpu}."
    }


# --- bad input ------------------------------------------------------------------------------


def test_bad_input_gets_a_precise_error() -> None:
    c = ClusterState([template("a")], [pod("web")])
    (node,) = ready(c, "a")
    bound = c.add_pod("web", 0.0)
    c.bind(bound, node, 0.0)
    waiting = c.add_pod("web", 0.0)
    with pytest.raises(ParameterError, match=r"strategy='Spread'.*one of 'LeastAllocated"):
        Scheduler("Spread")
    with pytest.raises(
        ParameterError, match=r"spec=1 is invalid; expected a spec index in \[0, 1\)"
    ):
        Scheduler().scores(c, 1)
    with pytest.raises(ParameterError, match="spec=True"):
        Scheduler().place(c, True)
    with pytest.raises(ParameterError, match=r"headroom.*shape \(16, 3\)"):
        Scheduler().place(c, 0, np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ParameterError, match="mask"):
        Scheduler().scores(c, 0, mask=np.ones(3, dtype=bool))
    with pytest.raises(ParameterError, match="now=nan"):
        Scheduler().schedule(c, float("nan"))
    with pytest.raises(SimulationError, match=f"pod {bound} is not pending"):
        Scheduler().schedule(c, 1.0, [waiting, bound])
    with pytest.raises(SimulationError, match=f"pod {waiting} is listed twice"):
        Scheduler().schedule(c, 1.0, [waiting, waiting])
    with pytest.raises(SimulationError, match="pod 99 is not in the cluster"):
        Scheduler().schedule(c, 1.0, [99])


# --- the property ---------------------------------------------------------------------------

TAINTS = st.sampled_from(
    [(), (Taint("dedicated", "gpu"),), (Taint("spot", "true", "PreferNoSchedule"),),
     (Taint("spot", "true", "PreferNoSchedule"), Taint("zone", "b", "PreferNoSchedule"))]
)  # fmt: skip
TOLERATIONS = st.sampled_from(
    [(), (Toleration(operator="Exists"),), (Toleration("spot", "Equal", "true"),)]
)


@st.composite
def clusters(draw: st.DrawFn) -> tuple[ClusterState, list[int]]:
    templates = [
        template(
            f"t{i}",
            cpu=draw(st.integers(0, 4000)),
            memory=draw(st.integers(0, 4)) * GiB,
            pods=draw(st.integers(1, 6)),
            taints=draw(TAINTS),
            arch=draw(st.sampled_from(["amd64", "arm64"])),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    specs = [
        PodSpec(
            f"s{i}",
            Resources(
                draw(st.sampled_from([0, 100, 500, 1500])), draw(st.integers(0, 3)) * GiB // 2
            ),
            node_selector=draw(st.sampled_from([{}, {"kubernetes.io/arch": "arm64"}])),
            tolerations=draw(TOLERATIONS),
            daemon=draw(st.booleans()),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    c = ClusterState(templates, specs)
    draining = []  # cordoned after their pods are bound
    for _ in range(draw(st.integers(0, 12))):
        state = draw(st.sampled_from([0, REGISTERED, READY, READY, READY, DRAINING]))
        (node,) = ready(c, f"t{draw(st.integers(0, len(templates) - 1))}", state=min(state, READY))
        if state == DRAINING:
            draining.append(node)
    for node in (
        draw(st.lists(st.sampled_from(list(c)), max_size=2, unique=True)) if c.nodes() else []
    ):
        c.remove_node(node, 0.0)  # frees its row: a later node takes it, with a higher id
        if node in draining:
            draining.remove(node)
    ready(c, "t0", draw(st.integers(0, 2)))
    for node in list(c):  # some pods already bound where they fit
        for _ in range(draw(st.integers(0, 2))):
            spec = draw(st.integers(0, len(specs) - 1))
            row = c.row_of(node)
            if (
                c.admits[spec, c.node_template[row]]
                and (c.headroom()[row] >= c.requests[spec]).all()
            ):
                c.bind(c.add_pod(specs[spec].name, 0.0), node, 0.0)
    for node in draining:
        c.set_node_state(node, DRAINING, 0.5)
    pods = [
        c.add_pod(f"s{draw(st.integers(0, len(specs) - 1))}", 1.0)
        for _ in range(draw(st.integers(0, 25)))
    ]
    return c, pods


@settings(max_examples=60, deadline=None)
@given(clusters(), st.sampled_from(STRATEGIES))
def test_a_pass_binds_only_where_pods_fit_and_leaves_none_that_fit(
    built: tuple[ClusterState, list[int]], strategy: str
) -> None:
    c, _ = built
    sched = Scheduler(strategy)
    result = sched.schedule(c, 2.0)
    assert set(result.unschedulable) | {p for p, _ in result.bindings} == set(c.pending().tolist())
    chosen = dict(result.bindings)
    # replay in queue order on the real cluster: at its turn, each pod goes where a fresh
    # filter-and-score over the cluster as it then is would put it, or nowhere fits it
    for p in c.pending().tolist():
        spec = int(c.pod_spec[c.pod_row(p)])
        expected = sched.place(c, spec)
        if p in chosen:
            assert expected is not None and c.row_of(chosen[p]) == expected
            c.bind(p, chosen[p], 2.0)  # never raises: it fits
        else:
            assert expected is None, result.unschedulable[p]
        assert (c.requested <= c.allocatable).all()


def test_a_node_leaving_the_filter_renormalizes_taint_scores() -> None:
    soft = [Taint(f"soft{i}", "x", "PreferNoSchedule") for i in range(4)]
    a = template("a", cpu=16000, memory=64 * GiB, taints=tuple(soft))  # 4 intolerable taints
    b = template("b", cpu=15000, memory=256 * GiB, taints=tuple(soft[:1]))  # 1
    web = pod("web", "500m", "64Mi")
    filler = pod("filler", "16", "1Gi", tolerations=(Toleration(operator="Exists"),))
    c = ClusterState([a, b, template("c")], [web, filler, pod("hog", "1400m", "64Mi")])
    node_a, node_b, node_c = ready(c, "a")[0], ready(c, "b")[0], ready(c, "c")[0]
    c.bind(c.add_pod("hog", 0.0), node_c, 0.0)
    first, fill, second = c.add_pod("web", 1.0), c.add_pod("filler", 1.0), c.add_pod("web", 1.0)
    result = Scheduler().schedule(c, 2.0)
    # first: taint max 4 -> b scores 75 x 3 on top of ~195, c 100 x 3 on top of 104: b.
    # filler takes all of a; a leaves web's filter, the max is now b's 1: b's taint score
    # drops to 0, so second goes to c (192 + 0 < 104 + 300)
    assert result.bindings == [(first, node_b), (fill, node_a), (second, node_c)]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_node_taking_more_pods_than_scored_ahead_is_scored_again(strategy: str) -> None:
    # a pass scores each node for its next _AHEAD pods of a spec at once; a node that takes
    # more (the big one) is scored again from where it is, and pods of another spec in the
    # queue make the nodes they went to scored again too: every pod still goes where a fresh
    # filter-and-score would put it
    big = template("big", cpu=32000, memory=128 * GiB)
    c = ClusterState([big, template("small", cpu=4000, memory=16 * GiB)], [
        pod("web", "100m", "256Mi"), pod("api", "700m", "64Mi"), pod("be", 0, 0),
    ])  # fmt: skip
    nodes = ready(c, "small") + ready(c, "big") + ready(c, "small")
    queue = ["web"] * 50 + ["api"] + ["web"] * 30 + ["be"] * 20 + ["api"] * 3 + ["web"] * 10
    pods = [c.add_pod(name, 1.0) for name in queue]
    sched = Scheduler(strategy)
    result = sched.schedule(c, 2.0)
    assert [p for p, _ in result.bindings] == pods  # all fit
    for p, node in result.bindings:
        assert c.row_of(node) == sched.place(c, int(c.pod_spec[c.pod_row(p)]))
        c.bind(p, node, 2.0)
    per_node = [len(c.pods_on(n)) for n in nodes]
    assert max(per_node) > 2 * scheduler_module._AHEAD, per_node  # the path is taken
