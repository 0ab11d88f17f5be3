"""Karpenter: batching, packing, NodePool limits and requirements, hand-worked."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from elastic.errors import ParameterError, SimulationError
from elastic.nodes.cluster import READY, REGISTERED, ClusterState
from elastic.nodes.karpenter import Karpenter, NodePool
from elastic.nodes.labels import CAPACITY_TYPE, Requirement, Toleration
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30
RNG = np.random.default_rng(0)


def template(
    name: str, cpu: int, gib: int, price: str, capacity: str = "on-demand", **kw: object
) -> NodeTemplate:
    return NodeTemplate(
        name,
        name.split("/")[0],
        capacity,  # type: ignore[arg-type]
        Resources(cpu, gib * GiB, 110),
        Decimal(price),
        vcpu=cpu // 1000,
        memory_bytes=gib * GiB,
        **kw,  # type: ignore[arg-type]
    )


LARGE = template("m5.large", 2000, 8, "0.096")
XLARGE = template("m5.xlarge", 4000, 16, "0.192")
X2LARGE = template("m5.2xlarge", 8000, 32, "0.384")
C_XLARGE = template("c5.xlarge", 4000, 8, "0.170")
LARGE_SPOT = template("m5.large/spot", 2000, 8, "0.040", "spot")
WEB = PodSpec("web", Resources.parse(cpu="1", memory="1Gi"))
BIG = PodSpec("big", Resources.parse(cpu="3", memory="2Gi"))
MEM = PodSpec("mem", Resources.parse(cpu="1", memory="12Gi"))
AGENT = PodSpec(
    "agent",
    Resources.parse(cpu="500m", memory="512Mi"),
    daemon=True,
    tolerations=(Toleration(operator="Exists"),),
)
HUGE = PodSpec("huge", Resources.parse(cpu="64", memory="1Gi"))
EDGE = PodSpec("edge", Resources.parse(cpu="3500m", memory="1Gi"))


def setup(
    templates: list[NodeTemplate] | None = None,
    specs: list[PodSpec] | None = None,
    **pool: object,
) -> tuple[ClusterState, Karpenter]:
    templates = templates or [LARGE, XLARGE, X2LARGE]
    cluster = ClusterState(templates, specs or [WEB, BIG, MEM, AGENT, HUGE, EDGE])
    karpenter = Karpenter([NodePool("default", templates, **pool)])  # type: ignore[arg-type]
    return cluster, karpenter


def pods(cluster: ClusterState, spec: str, count: int, now: float = 0.0) -> list[int]:
    return [cluster.add_pod(spec, now) for _ in range(count)]


def ready_node(cluster: ClusterState, name: str, now: float = 0.0) -> int:
    node = cluster.add_node(name, now)
    cluster.set_node_state(node, READY, now)
    return node


# --- batching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arrivals", "closes_at", "why"),
    [
        ([0.0], 1.0, "one pod: closes exactly 1 s after it (idle reached at equality)"),
        ([0.0, 0.5], 2.0, "a pod at 0.5 s is seen at the 1 s step: idle restarts then"),
        ([0.0, 1.0], 2.0, "a pod seen at 1 s extends the window by 1 s"),
        ([float(t) for t in range(12)], 10.0, "a pod every second: closes at the 10 s maximum"),
    ],
)
def test_batch_closes_after_idle_or_max(arrivals: list[float], closes_at: float, why: str) -> None:
    cluster, karpenter = setup()
    launched_at = None
    for step in range(15):
        now = float(step)
        for t in arrivals:
            if now - 1.0 < t <= now:
                cluster.add_pod("web", t)
        plan = karpenter.step(cluster, now, RNG)
        if plan.launches:
            launched_at = now
            break
    assert launched_at == closes_at, why


def test_a_still_pending_pod_triggers_again_every_10_s() -> None:
    # limits block the launch: the pod stays pending, and retriggers a batch at 10 s (RequeueAfter)
    cluster, karpenter = setup(limits=(0, 0))
    pods(cluster, "web", 1)
    notes = [karpenter.step(cluster, float(t), RNG).note for t in range(13)]
    assert "limits" in notes[1] and not notes[2] and "limits" in notes[11], notes


# --- queue order and packing ---------------------------------------------------------------------


def test_runs_sort_by_cpu_then_memory_descending() -> None:
    cluster, karpenter = setup()
    for spec in ("web", "mem", "big", "web"):
        cluster.add_pod(spec, 0.0)
    pending = np.array(sorted(cluster.pending().tolist()))
    specs = cluster.pod_spec[[cluster.pod_row(p) for p in pending]]
    runs = karpenter.runs(cluster, specs, pending)
    # big (3 CPU) first; mem and web both 1 CPU: mem has more memory
    assert [(cluster.specs[s].name, n) for s, n in runs] == [("big", 1), ("mem", 1), ("web", 2)]


@pytest.mark.parametrize(
    ("spec", "count", "launch", "why"),
    [
        ("web", 1, {"m5.large": 1}, "1 CPU: the cheapest type that fits is m5.large"),
        (
            "web",
            3,
            {"m5.xlarge": 1},
            "3 x 1 CPU on one claim: m5.large is dropped, xlarge is cheapest",
        ),
        ("web", 7, {"m5.2xlarge": 1}, "7 x 1 CPU + the 500m agent: 7500m fit a 2xlarge"),
        ("web", 8, {"m5.2xlarge": 1, "m5.large": 1}, "the 8th opens a second claim: m5.large"),
        ("edge", 1, {"m5.xlarge": 1}, "3500m + the 500m agent = xlarge's 4000m exactly: fits"),
        ("big", 2, {"m5.2xlarge": 1}, "2 x 3 CPU need 6000m: only 2xlarge"),
        ("mem", 2, {"m5.2xlarge": 1}, "2 x 12 GiB (2 CPU): memory decides, only 32 GiB fits"),
    ],
)
def test_each_claim_launches_its_cheapest_remaining_offering(
    spec: str, count: int, launch: dict[str, int], why: str
) -> None:
    cluster, karpenter = setup()
    pods(cluster, spec, count)
    plan = karpenter.step(cluster, 0.0, RNG)
    plan = karpenter.step(cluster, 1.0, RNG)
    assert {x.template: x.count for x in plan.launches} == launch, why


def test_daemon_pods_reserve_room_on_new_nodes() -> None:
    # the agent daemon takes 500m of every node: 2 x 1 CPU no longer fit m5.large's 2000m
    cluster, karpenter = setup()
    pods(cluster, "web", 2)
    karpenter.step(cluster, 0.0, RNG)
    plan = karpenter.step(cluster, 1.0, RNG)
    assert [(x.template, x.count) for x in plan.launches] == [("m5.xlarge", 1)]


def test_existing_then_in_flight_nodes_before_new_claims() -> None:
    cluster, karpenter = setup()
    ready = ready_node(cluster, "m5.xlarge")  # 4000m - 500m agent still to come = 3500m
    flight = cluster.add_node("m5.large", 0.0)  # 2000m - 500m = 1500m
    cluster.set_node_state(flight, REGISTERED, 0.0)
    pods(cluster, "web", 4)  # 3 on the ready node, 1 on the in-flight one
    karpenter.step(cluster, 0.0, RNG)
    assert karpenter.step(cluster, 1.0, RNG).empty
    pods(cluster, "web", 1, 1.0)  # no room left: a new claim
    karpenter.step(cluster, 1.0, RNG)
    assert [x.template for x in karpenter.step(cluster, 2.0, RNG).launches] == ["m5.large"]
    assert ready != flight


def test_claims_take_pods_fewest_pods_first() -> None:
    # two big pods open two claims? No: 2 x 3 CPU fit one 2xlarge claim. Then webs fill it.
    cluster, karpenter = setup()
    pods(cluster, "big", 3)  # 3 x 3000 + 500 agent: claim 1 (2xlarge: 2 bigs), claim 2 (1 big)
    pods(cluster, "web", 1)  # goes to claim 2 (fewer pods): 3000 + 1000 + 500 <= 8000
    result, _ = karpenter.pack(
        cluster, karpenter.runs(cluster, cluster.pod_spec[:4], cluster.pod_id[:4])
    )
    assert [(c.pods, sorted(c.specs.values())) for c in result.claims] == [(2, [2]), (2, [1, 1])]


# --- NodePool requirements, spot, limits ---------------------------------------------------------


def test_spot_is_preferred_when_the_pool_allows_both() -> None:
    cluster, karpenter = setup([LARGE, LARGE_SPOT])
    pods(cluster, "web", 1)
    karpenter.step(cluster, 0.0, RNG)
    assert [x.template for x in karpenter.step(cluster, 1.0, RNG).launches] == ["m5.large/spot"]


def test_requirements_filter_offerings() -> None:
    on_demand = Requirement(CAPACITY_TYPE, "In", ("on-demand",))
    cluster, karpenter = setup([LARGE, LARGE_SPOT], requirements=[on_demand])
    pods(cluster, "web", 1)
    karpenter.step(cluster, 0.0, RNG)
    assert [x.template for x in karpenter.step(cluster, 1.0, RNG).launches] == ["m5.large"]


@pytest.mark.parametrize(
    ("limits", "launch", "note", "why"),
    [
        (None, {"m5.xlarge": 1}, "", "no limits: the cheapest fit"),
        ((4000, 16 * GiB), {"m5.xlarge": 1}, "", "a limit equal to one xlarge: allowed"),
        ((3999, 16 * GiB), {"m5.large": 1}, "limits", "1m short of an xlarge: 1 pod on a large"),
        ((0, 0), {}, "limits reached", "a zero limit: nothing launched, pods pending"),
        ((8000, 32 * GiB), {"m5.xlarge": 1}, "", "2xlarge fits the limit; the claim picks xlarge"),
    ],
)
def test_limits_bound_what_a_pool_launches(
    limits: tuple[int, int] | None, launch: dict[str, int], note: str, why: str
) -> None:
    cluster, karpenter = setup(limits=limits)
    pods(cluster, "web", 3)
    karpenter.step(cluster, 0.0, RNG)
    plan = karpenter.step(cluster, 1.0, RNG)
    assert {x.template: x.count for x in plan.launches} == launch, why
    assert note in plan.note, why


def test_existing_nodes_count_against_limits() -> None:
    cluster, karpenter = setup(limits=(6000, 24 * GiB))
    ready_node(cluster, "m5.xlarge")  # 4000m of the 6000m used
    pods(cluster, "big", 2)  # one fits the node (3000 + 500); the other needs a new node
    karpenter.step(cluster, 0.0, RNG)
    plan = karpenter.step(cluster, 1.0, RNG)
    assert not plan.launches and "limits reached" in plan.note  # xlarge would make 8000m > 6000m


def test_a_pod_fitting_no_offering_stays_pending_with_a_note() -> None:
    cluster, karpenter = setup()
    pods(cluster, "huge", 1)
    karpenter.step(cluster, 0.0, RNG)
    plan = karpenter.step(cluster, 1.0, RNG)
    assert plan.empty and "huge" in plan.note and "admits it" in plan.note


def test_higher_weight_pool_first() -> None:
    cluster = ClusterState([LARGE, XLARGE], [WEB])
    karpenter = Karpenter([NodePool("a", [LARGE]), NodePool("b", [XLARGE], weight=10)])
    pods(cluster, "web", 1)
    karpenter.step(cluster, 0.0, RNG)
    assert [x.template for x in karpenter.step(cluster, 1.0, RNG).launches] == ["m5.xlarge"]


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: NodePool("p", []), "offerings"),
        (
            lambda: NodePool(
                "p", [LARGE], requirements=[Requirement(CAPACITY_TYPE, "In", ("spot",))]
            ),
            "requirements",
        ),
        (lambda: NodePool("p", [LARGE], consolidation_policy="Sometimes"), "consolidation_policy"),
        (lambda: NodePool("p", [LARGE], limits=(1.5, 2)), "limits"),  # type: ignore[arg-type]
        (lambda: NodePool("p", [LARGE], consolidate_after=-1), "consolidate_after"),
        (lambda: Karpenter([NodePool("a", [LARGE]), NodePool("b", [LARGE])]), "one NodePool only"),
        (lambda: Karpenter([NodePool("a", [LARGE])], batch_idle=5, batch_max=1), "batch_max"),
        (lambda: Karpenter([]), "at least one"),
    ],
)
def test_bad_parameters_are_named(make: object, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        make()  # type: ignore[operator]


def test_an_offering_the_cluster_lacks_is_a_simulation_error() -> None:
    cluster = ClusterState([LARGE], [WEB])
    karpenter = Karpenter([NodePool("p", [XLARGE])])
    with pytest.raises(SimulationError, match=r"m5\.xlarge"):
        karpenter.step(cluster, 0.0, RNG)


@pytest.mark.parametrize(
    ("webs", "expected", "why"),
    [
        (4, [{"big": 2, "web": 2}, {"big": 1, "web": 2}], "c2, c1, c2, c1"),
        (2, [{"big": 2, "web": 1}, {"big": 1, "web": 1}], "c2 (1 pod < 2), then a tie: c1 older"),
    ],
)
def test_identical_pods_alternate_between_claims_with_equal_pod_counts(
    webs: int, expected: list[dict[str, int]], why: str
) -> None:
    # no daemon: claim 1 = 2 bigs (6000m), claim 2 = 1 big; then 4 webs, fewest pods first,
    # ties to the older claim: c2, c1, c2, c1 (not all four onto c2, which has the room)
    cluster, karpenter = setup(specs=[WEB, BIG])
    pods(cluster, "big", 3)
    pods(cluster, "web", webs)
    rows = np.flatnonzero(cluster.pod_id >= 0)
    result, _ = karpenter.pack(
        cluster, karpenter.runs(cluster, cluster.pod_spec[rows], cluster.pod_id[rows])
    )
    names = [{cluster.specs[s].name: n for s, n in c.specs.items()} for c in result.claims]
    assert names == expected, why
