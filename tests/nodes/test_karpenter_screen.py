"""Karpenter's consolidation shortcuts change no decision: the screen rejects a single-node
candidate only when its simulation fails, the simulation parts shared by a pass give what
each simulation computed alone, and consecutive runs of one spec packed as one report their
placements run by run."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.nodes.cluster import DRAINING, READY, REGISTERED, ClusterState
from elastic.nodes.karpenter import CANDIDATE, Karpenter, NodePool
from elastic.nodes.karpenter_disruption import (
    _candidates,
    _consolidate,
    _Simulation,
)
from elastic.nodes.karpenter_packing import Offerings, pack
from elastic.nodes.labels import Taint, Toleration
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30

shapes = st.lists(
    st.tuples(st.integers(1, 8), st.integers(2, 32), st.integers(3, 20)), min_size=1, max_size=4
)
specs = st.lists(
    st.tuples(st.integers(1, 15), st.integers(1, 8)), min_size=1, max_size=3
)  # (cpu in 100m, memory in 0.5 GiB)
nodes = st.lists(
    st.tuples(
        st.integers(0, 3),  # template
        st.sampled_from(["ready", "ready", "ready", "launching", "registered", "draining"]),
        st.lists(st.integers(0, 2), max_size=6),  # pods, by spec
    ),
    min_size=2,
    max_size=10,
)


def build(
    shape: list[tuple[int, int, int]],
    spec: list[tuple[int, int]],
    node: list[tuple[int, str, list[int]]],
    pending: list[int],
    tainted: bool,
    limited: bool,
    replacing: int,
) -> tuple[ClusterState, Karpenter]:
    templates = [
        NodeTemplate(
            f"t{i}",
            f"t{i}",
            "on-demand",
            Resources(1000 * cpu - 100, gib * GiB, pods),
            Decimal(cpu * 5 + gib) / 100,
            vcpu=cpu,
            memory_bytes=gib * GiB,
            taints=(Taint("dedicated", "x"),) if tainted and i == 0 else (),
        )
        for i, (cpu, gib, pods) in enumerate(shape)
    ]
    pod_specs = [
        PodSpec(
            f"s{i}",
            Resources(100 * cpu, gib * GiB // 2, 1),
            tolerations=(Toleration("dedicated", "Equal", "x"),) if i == 0 else (),
        )
        for i, (cpu, gib) in enumerate(spec)
    ]
    cluster = ClusterState(templates, pod_specs)
    ids = []
    for t, state, pods in node:
        if t >= len(templates):
            continue
        n = cluster.add_node(f"t{t}", 0.0)
        ids.append(n)
        if state == "launching":
            continue
        cluster.set_node_state(n, REGISTERED if state == "registered" else READY, 0.0)
        if state == "registered":
            continue
        row = cluster.row_of(n)
        for s in pods:
            s %= len(pod_specs)
            fits = (cluster.requested[row] + cluster.requests[s] <= cluster.allocatable[row]).all()
            if fits and cluster.admits[s, cluster.node_template[row]]:
                cluster.bind(cluster.add_pod(f"s{s}", 0.0), n, 0.0)
        if state == "draining":
            cluster.set_node_state(n, DRAINING, 0.0)
    for s in pending:
        cluster.add_pod(f"s{s % len(pod_specs)}", 0.0)
    limits = (4000, 64 * GiB) if limited else None
    k = Karpenter([NodePool("p", templates, limits=limits)])
    k.offerings(cluster)
    ready = [n for n in ids if cluster.node_state[cluster.row_of(n)] == READY]
    if ready and replacing >= 0:
        k.replacing_ = {ready[replacing % len(ready)]: 0.0}
    return cluster, k


@settings(max_examples=200, deadline=None)
@given(
    shapes,
    specs,
    nodes,
    st.lists(st.integers(0, 2), max_size=25),
    st.booleans(),
    st.booleans(),
    st.integers(-3, 5),
)
def test_the_screen_rejects_only_candidates_whose_simulation_fails(
    shape: list[tuple[int, int, int]],
    spec: list[tuple[int, int]],
    node: list[tuple[int, str, list[int]]],
    pending: list[int],
    tainted: bool,
    limited: bool,
    replacing: int,
) -> None:
    cluster, k = build(shape, spec, node, pending, tainted, limited, replacing)
    sim = _Simulation(k, cluster)
    candidates = [
        c for c in _candidates(k, cluster, 60.0, k.pods_per_node(cluster), set()) if c.pods > 0
    ]
    if not candidates:
        return
    possible = sim.screen(k).possible(np.array([c.row for c in candidates], dtype=np.int64))
    lands = sim.screen(k).lands_in_flight
    moving, waiting = k.moving_rows(cluster), k.pending_rows(cluster)
    for c, maybe in zip(candidates, possible.tolist(), strict=True):
        found = _consolidate(k, cluster, [c], sim)
        assert maybe or found is None, f"node {c.node} rejected, yet it can be consolidated"
        # the pass's shared parts give what this simulation computes on its own
        pods = sim.pods_of(np.array([c.row]))
        runs = k.kind_runs(cluster, [pods, moving, waiting])
        assert sim.runs(pods) == runs
        if lands[c.row]:  # then one of its pods does land on an in-flight node
            result, targets = k.pack(cluster, runs[0], {c.node}, targets=sim.nodes)
            assert any(
                runs[1][run] == CANDIDATE and cluster.node_state[targets[row]] != READY
                for (_, row, _), run in zip(result.on_nodes, result.node_runs, strict=True)
            )
        alone, rows = k.pack(cluster, runs[0], {c.node})
        shared, targets = k.pack(cluster, runs[0], {c.node}, targets=sim.nodes)
        assert [(s, int(rows[r]), n) for s, r, n in alone.on_nodes] == [
            (s, int(targets[r]), n) for s, r, n in shared.on_nodes
        ]
        assert (alone.node_runs, alone.unplaced, alone.unplaced_runs) == (
            shared.node_runs,
            shared.unplaced,
            shared.unplaced_runs,
        )
        assert [(c.pods, c.specs, c.options.tolist()) for c in alone.claims] == [
            (c.pods, c.specs, c.options.tolist()) for c in shared.claims
        ]


def test_a_candidate_whose_pod_would_land_on_an_in_flight_node_is_screened_out() -> None:
    # node a has room for one more pod, candidate b holds 2, node c is launching, and a
    # 1-pod type is cheaper than b: b's pods come first in the queue, the first goes to a,
    # the second to c ("would schedule against uninitialized"), so b cannot be consolidated,
    # though the room left and one cheaper new node could hold its pods
    large = NodeTemplate(
        "m5.large", "m5.large", "on-demand", Resources(2000, 8 * GiB, 29), Decimal("0.096")
    )
    small = NodeTemplate(
        "t3.small", "t3.small", "on-demand", Resources(1000, 2 * GiB, 11), Decimal("0.02")
    )
    cluster = ClusterState([large, small], [PodSpec("web", Resources.parse("1", "1Gi"))])
    a, b, c = (cluster.add_node("m5.large", 0.0) for _ in range(3))
    for n, pods in ((a, 1), (b, 2)):
        cluster.set_node_state(n, READY, 0.0)
        for _ in range(pods):
            cluster.bind(cluster.add_pod("web", 0.0), n, 0.0)
    k = Karpenter([NodePool("default", [large, small])])
    k.offerings(cluster)
    sim = _Simulation(k, cluster)
    (candidate,) = [
        x for x in _candidates(k, cluster, 60.0, k.pods_per_node(cluster), set()) if x.node == b
    ]
    assert _consolidate(k, cluster, [candidate], sim) is None
    assert not sim.screen(k).possible(np.array([candidate.row])).any()
    # once c is ready, b's second pod goes to c: b is deleted, and the screen lets it through
    cluster.set_node_state(c, READY, 1.0)
    sim = _Simulation(k, cluster)
    assert sim.screen(k).possible(np.array([candidate.row])).all()
    found = _consolidate(k, cluster, [candidate], sim)
    assert found is not None and found.candidates == (b,)


LARGE = NodeTemplate(
    "m5.large",
    "m5.large",
    "on-demand",
    Resources(2000, 8 * GiB, 29),
    Decimal("0.096"),
    vcpu=2,
    memory_bytes=8 * GiB,
)
SMALL = NodeTemplate(
    "t3.small",
    "t3.small",
    "on-demand",
    Resources(1000, 2 * GiB, 11),
    Decimal("0.02"),
    vcpu=1,
    memory_bytes=2 * GiB,
)


@pytest.mark.parametrize(
    ("others", "flight", "pending", "small", "limited", "possible", "decision", "why"),
    [
        ([0], 0, 0, False, False, True, "delete", "its 2 pods fit the 2 free places exactly"),
        ([1], 0, 0, False, False, False, None, "1 place for 2 pods, no cheaper node"),
        ([1], 0, 0, True, False, True, "replace", "1 place, and a cheaper node takes 1 pod"),
        ([0], 0, 1, True, False, True, "replace", "the pending pod goes to a cheaper node"),
        ([0], 0, 2, True, False, False, None, "2 pending pods need 2 new nodes or a dearer one"),
        ([0], 0, 2, True, True, True, "replace", "the limits leave the second pending pod pending"),
        ([1], 1, 0, True, False, False, None, "its second pod would go to the launching node"),
        ([0], 1, 0, True, False, True, "delete", "both pods go to ready nodes"),
        ([1], 1, 2, True, False, False, None, "pending pods come after its pods in the queue"),
    ],
)
def test_the_screen_at_its_edges(
    others: list[int],
    flight: int,
    pending: int,
    small: bool,
    limited: bool,
    possible: bool,
    decision: str | None,
    why: str,
) -> None:
    # a candidate m5.large with 2 pods of 1 CPU; other ready m5.large nodes with ``others``
    # pods each; ``flight`` launching m5.large nodes; pending pods, younger than its pods
    templates = [LARGE, SMALL] if small else [LARGE]
    cluster = ClusterState(templates, [PodSpec("web", Resources.parse("1", "1Gi"))])
    nodes = [cluster.add_node("m5.large", 0.0) for _ in range(1 + len(others))]
    candidate = nodes[0]
    for node, count in zip(nodes, [2, *others], strict=True):
        cluster.set_node_state(node, READY, 0.0)
        for _ in range(count):
            cluster.bind(cluster.add_pod("web", 0.0), node, 0.0)
    for _ in range(flight):
        cluster.add_node("m5.large", 0.0)
    for _ in range(pending):
        cluster.add_pod("web", 1.0)
    limits = (5000, 1000 * GiB) if limited else None  # room for one more small node
    k = Karpenter([NodePool("default", templates, limits=limits)])
    k.offerings(cluster)
    sim = _Simulation(k, cluster)
    (c,) = [
        x
        for x in _candidates(k, cluster, 60.0, k.pods_per_node(cluster), set())
        if x.node == candidate
    ]
    found = _consolidate(k, cluster, [c], sim)
    assert (found is not None and ("replace" if found.plan.launches else "delete")) == (
        decision or False
    ), why
    assert bool(sim.screen(k).possible(np.array([c.row])).all()) is possible, why


def test_an_in_flight_node_the_pods_may_not_use_is_not_counted() -> None:
    # as the 7th row above, but the launching node is tainted: the candidate's second pod
    # skips it and goes to a cheaper new node, so the candidate is replaced
    gpu = NodeTemplate(
        "g5.xlarge",
        "g5.xlarge",
        "on-demand",
        Resources(3920, 14 * GiB, 58),
        Decimal("1.006"),
        vcpu=4,
        memory_bytes=16 * GiB,
        taints=(Taint("nvidia.com/gpu", "true"),),
    )
    cluster = ClusterState([LARGE, SMALL, gpu], [PodSpec("web", Resources.parse("1", "1Gi"))])
    candidate, other = cluster.add_node("m5.large", 0.0), cluster.add_node("m5.large", 0.0)
    for node, count in ((candidate, 2), (other, 1)):
        cluster.set_node_state(node, READY, 0.0)
        for _ in range(count):
            cluster.bind(cluster.add_pod("web", 0.0), node, 0.0)
    cluster.add_node("g5.xlarge", 0.0)
    k = Karpenter([NodePool("default", [LARGE, SMALL]), NodePool("gpu", [gpu])])
    k.offerings(cluster)
    sim = _Simulation(k, cluster)
    (c,) = [
        x
        for x in _candidates(k, cluster, 60.0, k.pods_per_node(cluster), set())
        if x.node == candidate
    ]
    found = _consolidate(k, cluster, [c], sim)
    assert found is not None and found.plan.launches[0].template == "t3.small"
    assert sim.screen(k).possible(np.array([c.row])).all()


def test_runs_of_one_spec_are_packed_as_one_and_reported_run_by_run() -> None:
    # two nodes with room for 3 pods each, then new nodes of 2 pods within a limit of 2 nodes:
    # runs of 2, 3 and 6 identical pods (kinds alternate in a consolidation's queue)
    offers = Offerings(
        usable=np.array([[2000, 8, 10]]),
        capacity=np.array([[2000, 8]]),
        rank=np.array([0]),
        spot=np.array([False]),
        pools=(np.array([0]),),
    )
    request = np.array([[1000, 1, 1]])
    room = np.array([[3000, 8, 10], [3000, 8, 10]])
    result = pack(
        [(0, 2), (0, 3), (0, 6)],
        request,
        np.array([[True]]),
        offers,
        room,
        np.ones(2, dtype=bool),
        np.zeros(2, dtype=np.int64),
        np.array([[4000, 16]]),  # two new nodes at most
    )
    assert list(zip(result.on_nodes, result.node_runs, strict=True)) == [
        ((0, 0, 2), 0),  # run 0: its 2 pods on the first node
        ((0, 0, 1), 1),  # run 1: the first node's last place, then 2 on the second
        ((0, 1, 2), 1),
        ((0, 1, 1), 2),  # run 2: the second node's last place, 4 on two new nodes, 1 left
    ], "the first pods are the earlier run's"
    assert [c.pods for c in result.claims] == [2, 2]
    assert list(zip(result.unplaced, result.unplaced_runs, strict=True)) == [
        ((0, 1, "NodePool limits reached"), 2)
    ], "the pods left are the last ones"
    # the same pods as one run: the same placements
    one = pack(
        [(0, 11)],
        request,
        np.array([[True]]),
        offers,
        np.array([[3000, 8, 10], [3000, 8, 10]]),
        np.ones(2, dtype=bool),
        np.zeros(2, dtype=np.int64),
        np.array([[4000, 16]]),
    )
    assert [(r, n) for _, r, n in one.on_nodes] == [(0, 3), (1, 3)]
    assert [c.pods for c in one.claims] == [2, 2] and one.unplaced[0][1] == 1


def test_an_unplaced_suffix_spanning_runs_is_split_between_them() -> None:
    offers = Offerings(
        usable=np.array([[2000, 8, 10]]),
        capacity=np.array([[2000, 8]]),
        rank=np.array([0]),
        spot=np.array([False]),
        pools=(np.array([0]),),
    )
    result = pack(
        [(0, 1), (0, 2), (0, 2)],
        np.array([[1000, 1, 1]]),
        np.array([[True]]),
        offers,
        np.zeros((0, 3), dtype=np.int64),
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=np.int64),
        np.array([[2000, 8]]),  # one new node of 2 pods
    )
    assert [c.pods for c in result.claims] == [2]
    assert [
        (n, run) for (_, n, _), run in zip(result.unplaced, result.unplaced_runs, strict=True)
    ] == [(1, 1), (2, 2)]
