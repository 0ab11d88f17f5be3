"""Properties of two-level runs over random small scenarios, both fidelities (Hypothesis).

Each example is a few minutes of a random cluster: random node templates
(Spot among them), pod requests, initial nodes, and a node autoscaler that
is either a script of random launches, replacements and removals or a real
one (Cluster Autoscaler, Karpenter, ECS managed scaling), with node
failures and Spot interruptions sometimes. What is checked is observed from
outside the node plane: the cluster's mutators, the plane's calls to its
host and the ledger's ``stop`` are wrapped to record what happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic import DecisionLoop
from elastic.cost.money import to_decimal
from elastic.nodes import Launch, NodePlan, NodeTemplate, PodSpec, Removal, Resources
from elastic.nodes.cluster import BOUND
from elastic.policies import TargetTracking
from elastic.sim import Constant, Poisson, ReplicaSpec, Scenario
from elastic.sim.node_cost import request_weight
from elastic.sim.node_level import NodeLevel
from elastic.sim.result import RunResult
from elastic.sim.run import Simulation
from tests.sim.test_cluster import Scripted

GiB = 2**30
SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@st.composite
def templates(draw: st.DrawFn) -> tuple[NodeTemplate, ...]:
    count = draw(st.integers(1, 3))
    made = []
    for i in range(count):
        cpu = draw(st.sampled_from([940, 1930, 3920]))
        memory = draw(st.sampled_from([3, 7, 15])) * GiB
        spot = draw(st.booleans())
        price = draw(st.sampled_from(["0.0416", "0.096", "0.192"]))
        made.append(
            NodeTemplate(
                f"t{i}",
                "m5.large",
                "spot" if spot else "on-demand",
                Resources(cpu, memory, draw(st.sampled_from([4, 29]))),
                Decimal(price),
                group=f"g{i}",
            )
        )
    return tuple(made)


@st.composite
def scripts(draw: st.DrawFn, kinds: tuple[NodeTemplate, ...]) -> Scripted:
    plans: dict[float, NodePlan] = {}
    for _ in range(draw(st.integers(0, 6))):
        at = 10.0 * draw(st.integers(0, 30))
        template = draw(st.sampled_from(kinds)).name
        what = draw(st.sampled_from(["launch", "replace", "remove"]))
        node = draw(st.integers(0, 6))
        if what == "launch":
            plan = NodePlan(launches=(Launch(template, draw(st.integers(1, 2))),))
        elif what == "replace":
            plan = NodePlan(launches=(Launch(template, 1, "consolidation", replaces=(node,)),))
        else:
            plan = NodePlan(removals=(Removal(node, "underutilized"),))
        plans[at] = plan
    return Scripted(plans, kinds)


def real(name: str, kinds: tuple[NodeTemplate, ...]) -> Any:
    from elastic.nodes.cluster_autoscaler import ClusterAutoscaler, NodeGroup
    from elastic.nodes.ecs import CapacityProvider, EcsManagedScaling
    from elastic.nodes.karpenter import Karpenter, NodePool

    if name == "cluster-autoscaler":
        return ClusterAutoscaler(
            [NodeGroup(t, max_size=4) for t in kinds],
            expander="least-waste",
            scale_down_unneeded_time=60.0,
            scale_down_delay_after_add=60.0,
        )
    if name == "karpenter":
        return Karpenter([NodePool("default", kinds)])
    return EcsManagedScaling(
        [CapacityProvider("web", kinds, max_size=4, managed_termination_protection=True)]
    )


@st.composite
def runs(draw: st.DrawFn) -> tuple[Scenario, DecisionLoop, int, str]:
    kinds = draw(templates())
    pod = PodSpec(
        "web",
        Resources(draw(st.sampled_from([250, 500, 900])), draw(st.sampled_from([1, 2])) * GiB // 2),
    )
    which = draw(st.sampled_from(["script", "cluster-autoscaler", "karpenter", "ecs"]))
    autoscaler = draw(scripts(kinds)) if which == "script" else real(which, kinds)
    level = NodeLevel(
        pod,
        templates=kinds,
        autoscaler=autoscaler,
        initial_nodes={kinds[0].name: draw(st.integers(0, 2))},
        node_mtbf=draw(st.sampled_from([None, None, 400.0])),
        spot_mtbi=draw(st.sampled_from([None, 300.0])),
        spot_notice=30.0,
    )
    scenario = Scenario(
        Poisson(draw(st.sampled_from([5.0, 20.0]))),
        duration=draw(st.sampled_from([300.0, 600.0])),
        service=Constant(0.05),
        replica=ReplicaSpec(boot=Constant(5.0), drain_timeout=10.0),
        initial_replicas=draw(st.integers(0, 3)),
        nodes=level,
    )
    top = draw(st.integers(1, 6))
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=draw(st.integers(1, top)),
                        max_replicas=top)  # fmt: skip
    return scenario, loop, draw(st.integers(0, 3)), draw(st.sampled_from(["request", "fluid"]))


@dataclass
class Watched:
    """What a run's node plane did, recorded from outside it."""

    run: Simulation
    lives: dict[int, list[Any]] = field(default_factory=dict)  # node: [template, start, end, cut]
    evicted: set[int] = field(default_factory=set)
    killed: dict[int, int] = field(default_factory=dict)  # pod: its node
    killing_nodes: set[int] = field(default_factory=set)  # ended killing pods never evicted
    bound: dict[int, tuple[int, float]] = field(default_factory=dict)  # pod: (node, since)
    held: dict[int, Fraction] = field(default_factory=dict)  # node: pod-seconds bound there
    problems: list[str] = field(default_factory=list)


def watched(scenario: Scenario, loop: DecisionLoop, seed: int, fidelity: str) -> Watched:
    run = Simulation(scenario, loop, seed=seed, fidelity=fidelity)
    backend: Any = run.backend
    plane = backend.plane
    cluster, ledger = plane.cluster, plane.ledger
    seen = Watched(run)
    for node in cluster:  # the initial nodes, launched before anything could be wrapped
        row = cluster.row_of(node)
        seen.lives[node] = [cluster.templates[cluster.node_template[row]], 0.0, None, False]

    add_node, remove_node, stop = cluster.add_node, cluster.remove_node, ledger.stop
    bind, remove_pod = cluster.bind, cluster.remove_pod
    for node in cluster:
        for pod in cluster.pods_on(node):
            seen.bound[pod] = (node, 0.0)

    def unbound(pod: int, now: float) -> None:
        node, since = seen.bound.pop(pod)
        seen.held[node] = seen.held.get(node, Fraction(0)) + Fraction(now) - Fraction(since)

    def binding(pod: int, node: int, now: float) -> None:
        bind(pod, node, now)
        seen.bound[pod] = (node, now)

    def removing_pod(pod: int, now: float) -> None:
        if pod in seen.bound:
            unbound(pod, now)
        remove_pod(pod, now)

    pod_evicted, pod_killed = backend.pod_evicted, backend.pod_killed

    def adding(template: str, now: float) -> int:
        node = add_node(template, now)
        seen.lives[node] = [cluster.templates[cluster.template_index[template]], now, None, False]
        return node

    def removing(node: int, now: float) -> list[int]:
        for pod in cluster.pods_on(node):
            if pod not in seen.evicted and pod not in seen.killed:
                seen.problems.append(f"node {node} ended at {now} under pod {pod}, not told")
        if any(seen.killed.get(p) == node and p not in seen.evicted for p in seen.killed):
            seen.killing_nodes.add(node)
        seen.lives[node][2] = now
        for pod in cluster.pods_on(node):
            unbound(pod, now)
        return remove_node(node, now)

    def stopping(unit: str, time: float, *, interrupted: bool = False) -> None:
        seen.lives[int(unit.removeprefix("node"))][3] = interrupted
        stop(unit, time, interrupted=interrupted)

    def evicting(pod: int, t: float) -> None:
        if cluster.pod_state[cluster.pod_row(pod)] != BOUND:
            seen.problems.append(f"pod {pod} evicted while not bound")
        seen.evicted.add(pod)
        pod_evicted(pod, t)

    def killing(pod: int, t: float) -> None:
        seen.killed[pod] = int(cluster.node_id[cluster.pod_node[cluster.pod_row(pod)]])
        pod_killed(pod, t)

    cluster.add_node, cluster.remove_node, ledger.stop = adding, removing, stopping
    cluster.bind, cluster.remove_pod = binding, removing_pod
    backend.pod_evicted, backend.pod_killed = evicting, killing
    return seen


def charge(
    template: NodeTemplate, start: float, end: float | None, cut: bool, until: float
) -> Fraction:
    """EC2's bill of one node, written out: per second, 60 s minimum, a Spot node the
    provider interrupted in its first hour free; one still running is billed up to ``until``."""
    if start >= until or (cut and end is not None and end - start < 3600):
        return Fraction(0)
    seconds = (until if end is None else min(end, until)) - start
    billed = max(60, math.ceil(seconds - 1e-9) if seconds > 1e-9 else 0)
    return Fraction(template.price_per_hour) * billed / 3600


@SETTINGS
@given(runs())
def test_two_level_runs_keep_their_books(case: tuple[Scenario, DecisionLoop, int, str]) -> None:
    scenario = case[0]
    seen = watched(*case)
    run = seen.run
    cluster = run.backend.plane.cluster  # type: ignore[attr-defined]
    for _ in run:
        rows = cluster.node_rows()
        # (b) requested never exceeds allocatable on any node at any record
        assert (cluster.requested[rows] <= cluster.allocatable[rows]).all()
    result = run.result()
    totals = result.totals
    # (a) the bill is each node's tariff over its life, written out apart from the ledger
    expected = sum(
        (
            charge(t, start, end, cut, scenario.duration)
            for t, start, end, cut in seen.lives.values()
        ),
        Fraction(0),
    )
    assert result.bill == to_decimal(expected)  # rounded to 1e-18 $ as the ledger hands it out
    #     and the cost split conserves the bill exactly
    split = result.cost_split()
    assert split["nodes"] == result.bill
    assert split["nodes"] == sum(split["allocated"].values(), Decimal(0)) + split["idle"]
    assert split["idle"] >= 0 and all(v >= 0 for v in split["allocated"].values())
    #     each node's bill by the share of its life its pods held, written out from the bindings
    until, level = scenario.duration, scenario.nodes
    assert level is not None
    for node, since in seen.bound.values():  # still bound at the end
        seen.held[node] = seen.held.get(node, Fraction(0)) + Fraction(until) - Fraction(since)
    allocated = Fraction(0)
    for node, (template, start, end, cut) in seen.lives.items():
        life = Fraction(until if end is None else min(end, until)) - Fraction(start)
        if life > 0:
            bill = charge(template, start, end, cut, until)
            weight = request_weight(level.pod.requests, template)
            allocated += bill * weight * seen.held.get(node, Fraction(0)) / life
    assert abs(Fraction(split["allocated"]["web"]) - allocated) <= Fraction(1, 10**18)
    # (c) no node ends under a pod it did not evict or kill; evictions are counted, and a
    #     node that killed pods it had not evicted failed (or was taken at its interruption)
    assert not seen.problems, seen.problems
    assert totals["pods_evicted"] == len(seen.evicted)
    assert len(seen.killing_nodes) <= totals["node_failures"] + totals["node_interruptions"]
    assert totals["nodes_terminated"] == sum(life[2] is not None for life in seen.lives.values())
    # (d) requests conserved across both levels
    assert result.conserved()


@settings(max_examples=8, deadline=None, derandomize=True)
@given(runs())
def test_same_seed_same_two_level_run(case: tuple[Scenario, DecisionLoop, int, str]) -> None:
    scenario, loop, seed, fidelity = case
    first, second = (Simulation(scenario, loop.clone(), seed=seed, fidelity=fidelity).result()
                     for _ in range(2))  # fmt: skip
    assert same(first, second)


def same(a: RunResult, b: RunResult) -> bool:
    return (
        a.totals.keys() == b.totals.keys()
        and all(
            a.totals[k] == b.totals[k]
            or (a.totals[k] != a.totals[k] and b.totals[k] != b.totals[k])
            for k in a.totals
        )
        and a.bill == b.bill
        and a.split == b.split
        and a.cluster.keys() == b.cluster.keys()
        and all(np.array_equal(a.cluster[k], b.cluster[k], equal_nan=True) for k in a.cluster)
        and np.array_equal(a.ready, b.ready)
        and np.array_equal(a.completed, b.completed)
    )
