"""Two levels in one run: pods on nodes, the node autoscaler's plans carried out, nodes billed."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from elastic import DecisionLoop
from elastic.errors import ParameterError
from elastic.nodes import Launch, NodePlan, NodeTemplate, PodSpec, Removal, Resources
from elastic.nodes.cluster import READY, ClusterState
from elastic.policies import TargetTracking
from elastic.sim import Constant, Poisson, ReplicaSpec, Scenario, TraceReplay, simulate
from elastic.sim.node_level import NodeLevel
from elastic.sim.run import Simulation

GiB = 2**30
# two pods of 900m fit on one node (1930m allocatable)
NODE = NodeTemplate(
    "general", "m5.large", "on-demand", Resources(1930, 7 * GiB, 29), Decimal("0.096")
)
SPOT = NodeTemplate("cheap", "m5.large", "spot", Resources(1930, 7 * GiB, 29), Decimal("0.036"))
POD = PodSpec("web", Resources.parse(cpu="900m", memory="1Gi"))


class Scripted:
    """A node autoscaler that does what it is told at given instants (a test double)."""

    interval = 10.0

    def __init__(self, plans: dict[float, NodePlan], templates: tuple[NodeTemplate, ...]) -> None:
        self.plans = plans
        self.templates = templates
        self.seen: list[tuple[float, int, int]] = []  # (now, live nodes, pending pods)

    def step(self, cluster: ClusterState, now: float, rng: np.random.Generator) -> NodePlan:
        self.seen.append((now, cluster.nodes(), int(cluster.pending().size)))
        return self.plans.get(now, NodePlan())


def scenario(
    *,
    rate: float = 10.0,
    duration: float = 600.0,
    initial_nodes: int = 2,
    initial_replicas: int = 2,
    autoscaler: Scripted | None = None,
    **level: object,
) -> Scenario:
    return Scenario(
        Poisson(rate),
        duration=duration,
        service=Constant(0.05),
        replica=ReplicaSpec(boot=Constant(5.0), drain_timeout=10.0),
        initial_replicas=initial_replicas,
        nodes=NodeLevel(
            POD,
            templates=(NODE, SPOT),
            autoscaler=autoscaler,
            initial_nodes={"general": initial_nodes},
            **level,  # type: ignore[arg-type]
        ),
    )


def fixed(replicas: int) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=replicas, max_replicas=replicas)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_fixed_cluster_conserves_requests_and_is_billed_per_node_exactly(fidelity: str) -> None:
    result = simulate(scenario(), fixed(2), seed=3, fidelity=fidelity)
    assert result.conserved()
    # two nodes all along: 2 x 600 s x $0.096/h, exactly
    assert Fraction(result.bill) == 2 * 600 * Fraction("0.096") / 3600
    assert result.totals["nodes_launched"] == 0 and result.totals["pods_evicted"] == 0


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_pods_that_do_not_fit_stay_pending_and_serve_nothing(fidelity: str) -> None:
    result = simulate(scenario(initial_nodes=1), fixed(3), seed=1, fidelity=fidelity)
    # one node holds two 900m pods: the third waits for a node that never comes
    assert int(result.replicas[-1]) == 3
    assert int(result.pending[-1]) == 1 and int(result.ready[-1]) == 2
    assert result.conserved()


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_same_seed_same_run(fidelity: str) -> None:
    plans = {20.0: NodePlan(launches=(Launch("general"),))}
    runs = [
        simulate(
            scenario(initial_nodes=1, autoscaler=Scripted(plans, (NODE,))),
            fixed(4),
            seed=9,
            fidelity=fidelity,
        )
        for _ in range(2)
    ]
    assert runs[0].totals == runs[1].totals
    assert np.array_equal(runs[0].ready, runs[1].ready)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_launched_node_takes_the_pending_pods_once_ready(fidelity: str) -> None:
    autoscaler = Scripted({20.0: NodePlan(launches=(Launch("general"),))}, (NODE,))
    run = Simulation(
        scenario(initial_nodes=1, autoscaler=autoscaler), fixed(4), seed=2, fidelity=fidelity
    )
    result = run.result()
    # launched at 20 s, ready 60 s later (40 s boot + 20 s registration); pods start in 5 s
    ready = dict(zip(result.end.tolist(), result.ready.tolist(), strict=True))
    assert ready[75.0] == 2 and ready[90.0] == 4
    backend = run.backend
    # the loop asks for 4 at 15 s: two pods pending from 15 s to 80 s
    assert backend.totals()["pod_pending_p99"] == pytest.approx(65.0)
    assert result.conserved()


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_removing_a_node_evicts_its_pods_which_come_back_as_pending_and_are_counted(
    fidelity: str,
) -> None:
    autoscaler = Scripted({30.0: NodePlan(removals=(Removal(0, "underutilized"),))}, (NODE,))
    result = simulate(
        scenario(initial_nodes=2, autoscaler=autoscaler), fixed(2), seed=4, fidelity=fidelity
    )
    # node 0 held the two pods (LeastAllocated spreads: one on each): those are evicted,
    # replaced by pending pods that fit on the node left
    assert result.totals["pods_evicted"] >= 1
    assert result.totals["nodes_terminated"] == 1
    assert int(result.replicas[-1]) == 2 and int(result.ready[-1]) == 2
    assert result.conserved()
    # node 0 went within its pods' 10 s grace period after 30 s: billed EC2's 60 s minimum
    seconds = Fraction(result.bill) * 3600 / Fraction("0.096")
    assert seconds == 600 + 60


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_replacing_launch_drains_the_old_node_only_once_the_new_one_is_ready(
    fidelity: str,
) -> None:
    plan = NodePlan(launches=(Launch("cheap", 1, "consolidation", replaces=(0,)),))
    run = Simulation(
        scenario(initial_nodes=1, autoscaler=Scripted({10.0: plan}, (NODE, SPOT))),
        fixed(2),
        seed=5,
        fidelity=fidelity,
    )
    result = run.result()
    seen = {now: nodes for now, nodes, _ in run.backend.plane.autoscaler.seen}  # the run's own copy
    assert seen[60.0] == 2  # both: the new one is not ready before 70 s
    assert seen[90.0] == 1  # the old one drained after 70 s, gone within its grace period
    assert result.totals["pods_evicted"] == 2
    assert int(result.ready[-1]) == 2 and result.conserved()


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_failed_node_fails_its_in_flight_requests_and_its_pods_are_replaced(
    fidelity: str,
) -> None:
    result = simulate(
        scenario(rate=40.0, duration=1800.0, initial_nodes=3, node_mtbf=600.0),
        fixed(2),
        seed=6,
        fidelity=fidelity,
    )
    assert result.totals["node_failures"] >= 1
    assert result.conserved()


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_spot_interruption_drains_the_node_during_the_notice(fidelity: str) -> None:
    autoscaler = Scripted({0.0: NodePlan(launches=(Launch("cheap", 3),))}, (NODE, SPOT))
    result = simulate(
        scenario(
            duration=3600.0,
            initial_nodes=0,
            initial_replicas=0,
            autoscaler=autoscaler,
            spot_mtbi=1200.0,
        ),
        fixed(2),
        seed=7,
        fidelity=fidelity,
    )
    assert result.totals["node_interruptions"] >= 1
    assert result.conserved()
    # each interrupted node is taken by the provider at its notice's end, drained or not,
    # and billed by the interruption rule (its pods were gone within 10 s)
    assert result.ledger is not None
    taken = [life for life in result.ledger.lifecycles() if life.interrupted]
    assert len(taken) == result.totals["node_interruptions"]
    assert all(life.kind == "cheap" for life in taken)


def test_nodes_and_replica_level_failures_do_not_mix() -> None:
    level = NodeLevel(POD, templates=(NODE,), initial_nodes={"general": 1})
    with pytest.raises(ParameterError, match=r"replica.mtbf.*nodes.node_mtbf"):
        Scenario(Poisson(1.0), duration=60.0, replica=ReplicaSpec(mtbf=100.0), nodes=level)
    with pytest.raises(ParameterError, match="initial_nodes='huge'"):
        NodeLevel(POD, templates=(NODE,), initial_nodes={"huge": 1})


def test_the_cluster_state_stays_consistent_with_the_replicas() -> None:
    autoscaler = Scripted(
        {
            20.0: NodePlan(launches=(Launch("general", 2),)),
            200.0: NodePlan(removals=(Removal(0, "empty"), Removal(2, "underutilized"))),
        },
        (NODE,),
    )
    run = Simulation(scenario(initial_nodes=1, autoscaler=autoscaler), fixed(5), seed=8)
    for _ in run:
        cluster = run.backend.plane.cluster
        rows = cluster.node_rows()
        assert (cluster.requested[rows] <= cluster.allocatable[rows]).all()
        assert cluster.pods() == len(run.backend.live) + len(run.backend.draining)
        assert (cluster.node_state[rows] <= READY).sum() + len(
            run.backend.plane._draining
        ) == cluster.nodes()
    assert run.result().conserved()


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_the_node_level_is_recorded_per_interval_and_survives_json(fidelity: str) -> None:
    from elastic.sim.result import RunResult

    autoscaler = Scripted({20.0: NodePlan(launches=(Launch("general"),))}, (NODE,))
    result = simulate(
        scenario(initial_nodes=1, autoscaler=autoscaler), fixed(4), seed=2, fidelity=fidelity
    )
    at = {end: i for i, end in enumerate(result.end.tolist())}
    cluster = result.cluster
    # at 30 s: one ready node with two 900m pods (1800m of 1930m), one node starting,
    # two pods unscheduled; 130m left free there, where no 900m pod fits: stranded
    i = at[30.0]
    assert cluster["nodes"][i] == 2 and cluster["nodes_ready"][i] == 1
    assert cluster["nodes_starting"][i] == 1 and cluster["pods_unscheduled"][i] == 2
    assert cluster["cpu_requested"][i] == pytest.approx(1800 / 1930)
    assert cluster["stranded_cpu"][i] == pytest.approx(0.13)
    assert cluster["pods_unscheduled"][at[90.0]] == 0
    back = RunResult.from_json(result.to_json())
    assert back.cluster.keys() == cluster.keys()
    assert all(np.array_equal(back.cluster[k], cluster[k], equal_nan=True) for k in cluster)


def node_autoscalers() -> dict[str, object]:
    from elastic.nodes.cluster_autoscaler import ClusterAutoscaler, NodeGroup
    from elastic.nodes.ecs import CapacityProvider, EcsManagedScaling
    from elastic.nodes.karpenter import Karpenter, NodePool

    return {
        "karpenter": Karpenter([NodePool("default", (NODE,))]),
        "cluster-autoscaler": ClusterAutoscaler(
            [NodeGroup(NODE, max_size=10)], expander="least-waste"
        ),
        "ecs": EcsManagedScaling(
            [CapacityProvider("web", (NODE,), max_size=10, managed_termination_protection=True)]
        ),
    }


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
@pytest.mark.parametrize("name", ["cluster-autoscaler", "karpenter", "ecs"])
def test_the_pod_level_loop_and_a_node_autoscaler_in_one_run(name: str, fidelity: str) -> None:
    # demand steps up at 300 s and down at 1500 s: the loop asks for pods, the pods wait
    # for nodes, the node autoscaler adds nodes, then removes them once they are unneeded
    run = Simulation(
        Scenario(
            step_up_and_down(),
            duration=3600.0,
            service=Constant(0.05),
            replica=ReplicaSpec(boot=Constant(5.0), drain_timeout=10.0),
            initial_replicas=1,
            nodes=NodeLevel(POD, autoscaler=node_autoscalers()[name], initial_nodes={"general": 1}),  # type: ignore[arg-type]
        ),
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=12),
        seed=11,
        fidelity=fidelity,
    )
    result = run.result()
    nodes = result.cluster["nodes"]
    assert result.conserved()
    assert nodes.max() >= 3 and nodes[-1] == 1  # up for the peak, back to one after it
    assert result.totals["nodes_launched"] == result.totals["nodes_terminated"] + nodes[-1] - 1
    assert result.totals["pod_pending_p99"] >= 60.0  # a pod waits at least for a node to boot
    assert int(result.ready[-1]) == int(result.replicas[-1])


def step_up_and_down() -> TraceReplay:
    """5 requests/s, 60 from 300 s to 1500 s, then 5 again until 3600 s (per-minute buckets)."""
    times = np.arange(0.0, 3600.0, 60.0)
    rates = np.where((times >= 300.0) & (times < 1500.0), 60.0, 5.0)
    return TraceReplay(times, (rates * 60).astype(int), bucket=60.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_fidelities_agree_on_the_node_level_when_the_pods_do(seed: int) -> None:
    # a fixed pod count and scripted nodes: what the node level does depends on pods and
    # requests only, so both fidelities launch, place and bill exactly alike
    plans = {
        20.0: NodePlan(launches=(Launch("general", 2),)),
        40.0: NodePlan(launches=(Launch("cheap", 1),)),
    }
    runs = {
        fidelity: simulate(
            scenario(initial_nodes=1, autoscaler=Scripted(plans, (NODE, SPOT))),
            fixed(7),
            seed=seed,
            fidelity=fidelity,
        )
        for fidelity in ("request", "fluid")
    }
    request, fluid = runs["request"], runs["fluid"]
    for name in ("nodes", "nodes_ready", "pods_unscheduled", "cpu_requested", "stranded_cpu"):
        assert np.array_equal(request.cluster[name], fluid.cluster[name], equal_nan=True), name
    assert request.bill == fluid.bill
    assert np.array_equal(request.ready, fluid.ready)
    assert request.totals["pod_pending_p99"] == fluid.totals["pod_pending_p99"]
    assert request.conserved() and fluid.conserved()


@pytest.mark.parametrize(
    ("pod", "why"),
    [
        (PodSpec("big", Resources.parse(cpu="2", memory="1Gi")), r"cpu \(m\) 2000 > 1930"),
        (
            PodSpec("arm", POD.requests, node_selector={"kubernetes.io/arch": "arm64"}),
            "node selector",
        ),
    ],
)
def test_a_pod_no_node_template_can_run_is_refused_saying_why_for_each(
    pod: PodSpec, why: str
) -> None:
    with pytest.raises(ParameterError, match=f"pod='{pod.name}'.*general: .*{why}"):
        NodeLevel(pod, templates=(NODE, SPOT), initial_nodes={"general": 1})


class Broken(Scripted):
    """A node autoscaler that goes wrong at 10 s in the way ``what`` says."""

    def __init__(self, what: str) -> None:
        super().__init__({}, (NODE,))
        self.what = what

    def step(self, cluster: ClusterState, now: float, rng: np.random.Generator) -> NodePlan:
        if now < 10.0:
            return NodePlan()
        if self.what == "not a plan":
            return "launch two"  # type: ignore[return-value]
        if self.what == "unknown template":
            return NodePlan(launches=(Launch("m9.huge"),))
        if self.what == "too many":
            return NodePlan(launches=(Launch("general", 10**9),))
        raise ParameterError("threshold", -1, "a number >= 0", owner="Broken")


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("not a plan", r"Broken.step at 10 s returned 'launch two'; expected a NodePlan"),
        ("unknown template", r"Broken's plan at 10 s cannot be carried out: .*template='m9.huge'"),
        ("too many", r"1000000000 nodes launched with 1 live: at most 100000 live nodes"),
        ("raises", r"Broken.step at 10 s: Broken: threshold=-1 is invalid; expected a number"),
    ],
)
@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_node_autoscaler_gone_wrong_stops_the_run_saying_what_it_did(
    what: str, message: str, fidelity: str
) -> None:
    from elastic.errors import SimulationError

    with pytest.raises(SimulationError, match=message):
        simulate(scenario(initial_nodes=1, autoscaler=Broken(what)), fixed(1), fidelity=fidelity)


def test_a_node_autoscaler_deciding_too_often_for_the_run_is_refused() -> None:
    fast = Scripted({}, (NODE,))
    fast.interval = 1e-6
    with pytest.raises(ParameterError, match=r"nodes.autoscaler.interval=1e-06.*at most 10000000"):
        scenario(autoscaler=fast)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_run_whose_pods_never_find_a_node_says_so(fidelity: str) -> None:
    result = simulate(
        Scenario(
            Poisson(10.0),
            duration=600.0,
            initial_replicas=1,
            slo=1.0,
            nodes=NodeLevel(POD, templates=(NODE,)),  # no node, and nothing to launch one
        ),
        fixed(1),
        fidelity=fidelity,
    )
    summary = result.summary()
    assert summary["slo_attainment"] == 0.0  # every request dropped: none within the SLO
    assert summary["pod_pending_p99"] == 600.0  # pending the whole run, not NaN
    assert result.conserved()


def test_a_run_is_described_the_same_in_every_process() -> None:
    # the run's facts describe its scenario by repr: no object address may leak into them
    for autoscaler in node_autoscalers().values():
        assert " at 0x" not in repr(autoscaler), repr(autoscaler)
