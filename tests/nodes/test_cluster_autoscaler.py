"""The Cluster Autoscaler decider: hand-worked tables of its rules and edges, and a property."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.errors import ParameterError
from elastic.nodes.cluster import DRAINING, READY, REGISTERED, ClusterState
from elastic.nodes.cluster_autoscaler import ClusterAutoscaler, NodeGroup, _binpack
from elastic.nodes.labels import Toleration
from elastic.nodes.plan import NodePlan
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30
SMALL = NodeTemplate(
    "small",
    "m5.large",
    "on-demand",
    Resources(2000, 8 * GiB, 29),
    Decimal("0.096"),
    vcpu=2,
    memory_bytes=8 * GiB,
)
LARGE = NodeTemplate(
    "large",
    "m5.xlarge",
    "on-demand",
    Resources(4000, 16 * GiB, 58),
    Decimal("0.192"),
    vcpu=4,
    memory_bytes=16 * GiB,
)
WEB = PodSpec("web", Resources.parse(cpu="500m", memory="1Gi"))
HUGE = PodSpec("huge", Resources.parse(cpu="8", memory="1Gi"))
AGENT = PodSpec(
    "agent",
    Resources.parse(cpu="100m", memory="128Mi"),
    daemon=True,
    tolerations=(Toleration(operator="Exists"),),
)
RNG = np.random.default_rng(0)


def cluster(*specs: PodSpec) -> ClusterState:
    return ClusterState([SMALL, LARGE], list(specs) or [WEB, HUGE, AGENT])


def ready(c: ClusterState, template: str = "small", pods: int = 0, spec: str = "web") -> int:
    node = c.add_node(template, 0.0)
    c.set_node_state(node, READY, 0.0)
    for _ in range(pods):
        c.bind(c.add_pod(spec, 0.0), node, 0.0)
    return node


def pending(c: ClusterState, n: int, spec: str = "web") -> None:
    for _ in range(n):
        c.add_pod(spec, 0.0)


def ca(**kw: object) -> ClusterAutoscaler:
    groups = kw.pop("groups") if "groups" in kw else [NodeGroup(SMALL, max_size=10)]
    return ClusterAutoscaler(groups, **kw)  # type: ignore[arg-type]


def removed(plan: NodePlan) -> dict[int, str]:
    return {r.node: r.reason for r in plan.removals}


# --- scale-up ----------


@pytest.mark.parametrize(
    ("pods", "ready_pods", "upcoming", "max_size", "launched", "why"),
    [
        (4, 0, 0, 10, 1, "4 x 500m fill one 2000m node exactly"),
        (5, 0, 0, 10, 2, "the fifth pod opens a second node"),
        (12, 0, 0, 2, 2, "the estimate is capped at max_size"),
        (4, 2, 0, 10, 1, "2 fit the ready node's 1000m left, 2 need a new node"),
        (2, 2, 0, 10, 0, "both fit on the ready node: the scheduler will place them"),
        (4, 0, 1, 10, 0, "an upcoming node counts as present: no second scale-up"),
        (6, 0, 1, 10, 1, "4 go onto the upcoming node, 2 need a new one"),
    ],
)
def test_scale_up_counts_ready_and_upcoming_nodes_then_binpacks(
    pods: int, ready_pods: int, upcoming: int, max_size: int, launched: int, why: str
) -> None:
    c = cluster(WEB)  # no daemon pods: a new node has all its 2000m free
    if ready_pods:
        ready(c, pods=ready_pods)
    for _ in range(upcoming):
        c.add_node("small", 0.0)  # launching: not ready yet
    pending(c, pods)
    plan = ca(groups=[NodeGroup(SMALL, max_size=max_size)]).step(c, 10.0, RNG)
    assert sum(launch.count for launch in plan.launches) == launched, why


def test_binpacking_counts_daemon_pods_on_the_template() -> None:
    # each new node runs the agent (100m): only 3 web pods fit in 2000m - 100m
    c = cluster()
    pending(c, 4)
    plan = ca().step(c, 10.0, RNG)
    assert plan.launches[0].count == 2


@pytest.mark.parametrize(
    ("limit", "nodes", "placed", "why"),
    [
        (1, 1, [1, 1], "decreasing: the 1400m pod first, then one 600m pod fills the node"),
        (9, 2, [3, 1], "1400+600 on the first node, 600+600 on the second"),
        (0, 0, [0, 0], "no room to grow: nothing placed"),
    ],
)
def test_binpacking_is_first_fit_decreasing(
    limit: int, nodes: int, placed: list[int], why: str
) -> None:
    # in queue order (600m x 3 first) a capped estimate would keep three 600m pods
    requests = np.array([[600, 0, 1], [1400, 0, 1]], dtype=np.int64)
    free = np.array([2000, 8 * GiB, 29], dtype=np.int64)
    counts = np.array([3, 1], dtype=np.int64)
    got_nodes, got_placed = _binpack(free, requests, [0, 1], counts, limit, free)
    assert (got_nodes, got_placed.tolist()) == (nodes, placed), why


def test_a_group_at_max_size_and_a_max_zero_group_are_skipped_with_a_note() -> None:
    c = cluster()
    ready(c, pods=4)  # full
    pending(c, 3)
    groups = [NodeGroup(SMALL, max_size=1), NodeGroup(LARGE, max_size=0)]
    plan = ca(groups=groups).step(c, 10.0, RNG)
    assert plan.launches == ()
    assert "small is at its max size 1" in plan.note
    assert "large is at its max size 0" in plan.note


def test_a_pod_that_fits_no_group_stays_pending_with_a_note() -> None:
    c = cluster()
    pending(c, 2, "huge")  # 8 vCPU: no template has it
    pending(c, 1)
    plan = ca(groups=[NodeGroup(SMALL, max_size=5), NodeGroup(LARGE, max_size=5)]).step(
        c, 10.0, RNG
    )
    assert plan.launches[0].count == 1, "the web pod still gets its node"
    assert "2 pending pod(s) of huge fit no node group" in plan.note


def test_daemon_pods_pending_never_trigger_a_scale_up() -> None:
    c = cluster()
    pending(c, 3, "agent")
    assert ca().step(c, 10.0, RNG).empty


def test_expander_picks_among_groups_least_waste() -> None:
    # one pod of 1500m and 6 GiB: a small node wastes 0.25 + 0.25, a large one 0.625 + 0.625
    heavy = PodSpec("heavy", Resources.parse(cpu="1500m", memory="6Gi"))
    c = ClusterState([SMALL, LARGE], [heavy])
    c.add_pod("heavy", 0.0)
    groups = [NodeGroup(SMALL, max_size=5), NodeGroup(LARGE, max_size=5)]
    plan = ca(groups=groups, expander="least-waste").step(c, 10.0, RNG)
    assert plan.launches[0].template == "small"


# --- provisioning timeout and backoff ----------


def test_a_node_not_ready_after_max_node_provision_time_is_removed_and_its_group_backed_off() -> (
    None
):
    c = cluster()
    late = c.add_node("small", 0.0)
    c.set_node_state(late, REGISTERED, 100.0)
    pending(c, 1)
    scaler = ca(groups=[NodeGroup(SMALL, max_size=5), NodeGroup(LARGE, max_size=5)])
    assert scaler.step(c, 900.0, RNG).removals == (), "exactly 900 s: not yet (strictly later)"
    plan = scaler.step(c, 910.0, RNG)
    assert removed(plan) == {late: "provisioning timeout"}
    assert scaler.backed_off("small", 910.0 + 299.0)
    assert not scaler.backed_off("small", 910.0 + 300.0)
    assert [launch.template for launch in plan.launches] == ["large"], "small is backed off"


@pytest.mark.parametrize(
    ("failures", "expected", "why"),
    [
        ([0.0], 300.0, "first failure: 5 min"),
        ([0.0, 400.0], 600.0, "after the wait is over, doubled"),
        ([0.0, 100.0], 300.0, "a failure during the wait does not lengthen it"),
        ([0.0, 400.0, 1100.0, 2400.0, 4300.0], 1800.0, "capped at 30 min"),
    ],
)
def test_backoff_is_exponential_from_5_to_30_minutes(
    failures: list[float], expected: float, why: str
) -> None:
    scaler = ca()
    for t in failures:
        scaler._back_off("small", t)
    assert scaler.backoff_["small"].duration == expected, why


# --- scale-down ----------


def unneeded_after(
    c: ClusterState, scaler: ClusterAutoscaler, until: float, step: float = 10.0
) -> NodePlan:
    t = 0.0
    plan = NodePlan()
    while t <= until:
        plan = scaler.step(c, t, RNG)
        t += step
    return plan


@pytest.mark.parametrize(
    ("cpu", "candidate", "why"),
    [
        ("999m", True, "0.4995 < 0.5"),
        ("1000m", False, "exactly 0.5 is not below the threshold"),
        ("0", True, "memory alone decides: 1 GiB of 8"),
    ],
)
def test_utilization_strictly_below_threshold(cpu: str, candidate: bool, why: str) -> None:
    spec = PodSpec("p", Resources.parse(cpu=cpu, memory="1Gi"))
    c = ClusterState([SMALL, LARGE], [spec])
    node = ready(c, pods=1, spec="p")
    ready(c, "large", pods=0)  # somewhere to go, not ours
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    assert (node in scaler.unneeded_since_) == candidate, why


def test_utilization_takes_the_larger_of_cpu_and_memory() -> None:
    spec = PodSpec("p", Resources.parse(cpu="100m", memory="4Gi"))  # 0.05 cpu, 0.5 memory
    c = ClusterState([SMALL, LARGE], [spec])
    node = ready(c, pods=1, spec="p")
    ready(c, "large")
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    assert node not in scaler.unneeded_since_


@pytest.mark.parametrize(
    ("ignore", "candidate", "why"),
    [
        (False, False, "agent 100m + 900m = 0.5: not below"),
        (True, True, "without the daemon pod: 0.45"),
    ],
)
def test_ignore_daemonsets_utilization(ignore: bool, candidate: bool, why: str) -> None:
    spec = PodSpec("p", Resources.parse(cpu="900m", memory="0"))
    c = ClusterState([SMALL, LARGE], [spec, AGENT])
    node = ready(c, pods=1, spec="p")
    c.bind(c.add_pod("agent", 0.0), node, 0.0)
    ready(c, "large")
    scaler = ca(ignore_daemonsets_utilization=ignore)
    scaler.step(c, 0.0, RNG)
    assert (node in scaler.unneeded_since_) == candidate, why


@pytest.mark.parametrize(
    ("now", "removed_", "why"),
    [
        (600.0, False, "exactly 600 s unneeded: not removable (since + 600 must be before now)"),
        (610.0, True, "strictly longer than 600 s"),
    ],
)
def test_unneeded_time_is_strict(now: float, removed_: bool, why: str) -> None:
    c = cluster()
    node = ready(c)  # empty
    ready(c, "large")
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    plan = scaler.step(c, now, RNG)
    assert (node in removed(plan)) == removed_, why


def test_the_unneeded_clock_resets_when_a_node_stops_being_a_candidate() -> None:
    c = cluster()
    node = ready(c, pods=1)
    ready(c, "large")
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    assert scaler.unneeded_since_[node] == 0.0
    busy = [c.add_pod("web", 300.0) for _ in range(2)]
    for p in busy:
        c.bind(p, node, 300.0)  # 1500m: 0.75
    scaler.step(c, 300.0, RNG)
    assert node not in scaler.unneeded_since_
    for p in busy:
        c.remove_pod(p, 400.0)
    scaler.step(c, 400.0, RNG)
    assert scaler.unneeded_since_[node] == 400.0
    assert node not in removed(scaler.step(c, 700.0, RNG)), "only 300 s since it came back"
    assert removed(scaler.step(c, 1010.0, RNG)) == {node: "underutilized"}


@pytest.mark.parametrize(
    ("now", "allowed", "why"),
    [
        (1199.0, False, "1 s before scale-up + 600"),
        (1200.0, True, "scale-up + 600 is not after now: cooldown over"),
    ],
)
def test_delay_after_add_boundary(now: float, allowed: bool, why: str) -> None:
    c = cluster()
    node = ready(c)
    ready(c, "large")
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    scaler.last_scale_up_ = 600.0
    plan = scaler.step(c, now, RNG)
    assert (node in removed(plan)) == allowed, why
    if not allowed:
        assert "cooldown" in plan.note


@pytest.mark.parametrize(
    ("attribute", "delay", "why"),
    [
        ("last_scale_down_delete_", 10.0, "delay after delete defaults to the scan interval"),
        ("last_scale_down_failure_", 180.0, "delay after failure: 3 min"),
    ],
)
def test_delays_after_delete_and_failure(attribute: str, delay: float, why: str) -> None:
    c = cluster()
    node = ready(c)
    ready(c, "large")
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    setattr(scaler, attribute, 1000.0)
    assert node not in removed(scaler.step(c, 1000.0 + delay - 1, RNG)), why
    assert node in removed(scaler.step(c, 1000.0 + delay, RNG)), why


def test_a_scale_up_step_removes_nothing() -> None:
    c = cluster()
    idle = ready(c)
    ready(c, "large", pods=8)  # full of web pods
    scaler = ca(groups=[NodeGroup(SMALL, max_size=5)])
    scaler.step(c, 0.0, RNG)
    pending(c, 9)  # 9 x 500m: 4 fit on the idle node, 5 need more
    plan = scaler.step(c, 700.0, RNG)
    assert plan.launches and not plan.removals
    assert idle not in scaler.unneeded_since_, "the pending pods fill it in the snapshot"


def test_min_size_is_respected() -> None:
    c = cluster()
    nodes = [ready(c) for _ in range(3)]
    scaler = ca(groups=[NodeGroup(SMALL, min_size=2, max_size=5)])
    plan = unneeded_after(c, scaler, 610.0)
    assert len(plan.removals) == 1, "3 nodes, min 2: one goes"
    assert plan.removals[0].node == nodes[0]
    assert "at its min size 2" in plan.note


def test_empty_nodes_go_in_bulk_up_to_max_empty_bulk_delete() -> None:
    c = cluster()
    for _ in range(5):
        ready(c)
    scaler = ca(max_empty_bulk_delete=3)
    plan = unneeded_after(c, scaler, 610.0)
    assert list(removed(plan).values()) == ["empty"] * 3


def test_non_empty_nodes_go_one_at_a_time_and_not_while_one_drains() -> None:
    c = cluster()
    a, b = ready(c, pods=1), ready(c, pods=1)
    ready(c, "large")
    scaler = ca()
    plan = unneeded_after(c, scaler, 610.0)
    assert list(removed(plan).values()) == ["underutilized"], "one drain at a time"
    c.set_node_state(a if a in removed(plan) else b, DRAINING, 610.0)
    plan = scaler.step(c, 700.0, RNG)
    assert plan.removals == (), "a non-empty node is still draining"


def test_a_destination_in_the_simulation_is_no_longer_empty() -> None:
    # a's pod moves onto b in the simulation; b then holds it and cannot also go
    c = cluster()
    a, b = ready(c, pods=1), ready(c)
    scaler = ca(groups=[NodeGroup(SMALL, max_size=5)])
    scaler.step(c, 0.0, RNG)
    assert a in scaler.unneeded_since_
    assert b not in scaler.unneeded_since_, "b receives a's pod and has nowhere to send it"


def test_pods_that_fit_nowhere_keep_their_node() -> None:
    spec = PodSpec("p", Resources.parse(cpu="900m", memory="1Gi"))  # 0.45
    c = ClusterState([SMALL], [spec])
    a = ready(c, pods=1, spec="p")
    b = ready(c, pods=1, spec="p")
    c.bind(c.add_pod("p", 0.0), b, 0.0)  # b: 1800m, full enough to take nothing
    scaler = ca()
    scaler.step(c, 0.0, RNG)
    assert a not in scaler.unneeded_since_


def test_scale_down_disabled_removes_nothing() -> None:
    c = cluster()
    ready(c)
    ready(c, "large")
    plan = unneeded_after(c, ca(scale_down_enabled=False), 700.0)
    assert plan.removals == ()


# --- the property ----------


@settings(max_examples=40, deadline=None)
@given(
    nodes=st.lists(
        st.tuples(st.sampled_from(["small", "large"]), st.integers(0, 8)), min_size=1, max_size=6
    ),
    agents=st.booleans(),
)
def test_a_node_with_pods_is_removed_only_when_its_pods_fit_elsewhere(
    nodes: list[tuple[str, int]], agents: bool
) -> None:
    c = ClusterState([SMALL, LARGE], [WEB, AGENT])
    ids = []
    for template, pods in nodes:
        node = c.add_node(template, 0.0)
        c.set_node_state(node, READY, 0.0)
        if agents:
            c.bind(c.add_pod("agent", 0.0), node, 0.0)
        for _ in range(min(pods, 3 if template == "small" else 7)):
            c.bind(c.add_pod("web", 0.0), node, 0.0)
        ids.append(node)
    groups = [NodeGroup(SMALL, max_size=10), NodeGroup(LARGE, max_size=10)]
    scaler = ClusterAutoscaler(groups)
    scaler.step(c, 0.0, RNG)
    plan = scaler.step(c, 700.0, RNG)
    gone = set(removed(plan))
    moving = sum(1 for n in gone for p in c.pods_on(n) if not c.spec_of(p).daemon)
    # one kind of pod: they fit elsewhere iff the other ready nodes have that many slots
    web = c.requests[0]
    slots = 0
    for n in ids:
        if n in gone:
            continue
        free = c.headroom()[c.row_of(n)]
        slots += int(min(free[0] // web[0], free[1] // web[1], free[2]))
    assert moving <= slots
    for n, reason in removed(plan).items():
        has_pods = any(not c.spec_of(p).daemon for p in c.pods_on(n))
        assert reason == ("underutilized" if has_pods else "empty")


# --- bad input ----------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scan_interval": 0}, "scan_interval"),
        ({"scale_down_utilization_threshold": 1.5}, "scale_down_utilization_threshold"),
        ({"scale_down_unneeded_time": -1}, "scale_down_unneeded_time"),
        ({"max_empty_bulk_delete": 0}, "max_empty_bulk_delete"),
        ({"max_node_provision_time": float("nan")}, "max_node_provision_time"),
        ({"expander": "cheapest"}, "expander"),
        ({"expander": "priority"}, "priorities"),
        ({"scale_down_enabled": "yes"}, "scale_down_enabled"),
        ({"max_node_group_backoff_duration": 10}, "max_node_group_backoff_duration"),
        ({"groups": []}, "groups"),
        ({"groups": [NodeGroup(SMALL, max_size=1), NodeGroup(SMALL, max_size=2)]}, "groups"),
    ],
)
def test_bad_parameters_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ParameterError) as error:
        ca(**kwargs)
    assert error.value.name == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_size": -1}, "max_size"),
        ({"min_size": 2, "max_size": 1}, "max_size"),
        ({"max_size": 1.5}, "max_size"),
    ],
)
def test_bad_node_groups_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ParameterError) as error:
        NodeGroup(SMALL, **kwargs)  # type: ignore[arg-type]
    assert error.value.name == field


def test_a_group_whose_template_is_not_in_the_cluster_is_refused_with_the_names() -> None:
    c = ClusterState([LARGE], [WEB])
    with pytest.raises(ParameterError, match="small"):
        ca().step(c, 0.0, RNG)


# --- how much one loop simulates (upstream's planner) -----------------------------------------


def test_a_node_whose_pods_fit_nowhere_is_not_simulated_again_for_the_recheck_timeout() -> None:
    c = cluster()
    full = ready(c, pods=1)  # 25 %, a candidate; its pod fits on no other node (none)
    autoscaler = ca(scale_down_delay_after_add=0)
    for t in (0.0, 10.0):
        autoscaler.step(c, t, RNG)
    assert autoscaler.unremovable_until_ == {full: 300.0}  # from the first loop's failure
    ready(c, pods=3)  # room appears elsewhere: 500m free on a node at 75 %, not a candidate
    autoscaler.step(c, 290.0, RNG)
    assert full not in autoscaler.unneeded_since_  # not simulated before 300 s
    autoscaler.step(c, 300.0, RNG)
    assert autoscaler.unneeded_since_[full] == 300.0  # the recheck found it removable


@pytest.mark.parametrize(
    ("bulk", "unneeded_time", "before", "limit", "why"),
    [
        (10, 600.0, 0, 20, "no node unneeded yet: 0 + 2 x 10"),
        (10, 600.0, 5, 25, "5 unneeded already: 5 + 20"),
        (1, 600.0, 0, 2, "parallelism 1: 0 + 2"),
        (1, 20.0, 7, 3, "the bound: 1 x (20 s / 10 s) + 1 = 3 below 7 + 2"),
        (2, 5.0, 0, 4, "an unneeded time below the scan interval counts as one loop: 2 x 1 + 2"),
    ],
)
def test_one_loop_looks_for_at_most_the_unneeded_nodes_limit(
    bulk: int, unneeded_time: float, before: int, limit: int, why: str
) -> None:
    autoscaler = ca(max_empty_bulk_delete=bulk, scale_down_unneeded_time=unneeded_time)
    autoscaler.unneeded_since_ = dict.fromkeys(range(100, 100 + before), 0.0)
    assert autoscaler._unneeded_limit() == limit, why


def test_the_limit_stops_the_simulation_of_more_candidates() -> None:
    c = cluster()
    for _ in range(6):
        ready(c)  # six empty nodes
    autoscaler = ca(max_empty_bulk_delete=1, scale_down_delay_after_add=0)
    plan = autoscaler.step(c, 0.0, RNG)
    assert len(autoscaler.unneeded_since_) == 2  # 0 + 2 x 1
    assert "2 unneeded nodes found" in plan.note
    autoscaler.step(c, 10.0, RNG)
    assert len(autoscaler.unneeded_since_) == 4  # 2 + 2 x 1


def test_a_candidate_whose_move_failed_is_a_destination_again_for_the_next() -> None:
    # the older node (large) holds a pod that may run on large nodes only: its move fails
    # and is undone; the younger small node's pod must then be able to go to the large one
    pinned = PodSpec(
        "pinned",
        Resources.parse(cpu="100m", memory="128Mi"),
        node_selector={"node.kubernetes.io/instance-type": "m5.xlarge"},
    )
    c = cluster(WEB, pinned)
    large = c.add_node("large", 0.0)
    c.set_node_state(large, READY, 0.0)
    c.bind(c.add_pod("web", 0.0), large, 0.0)
    c.bind(c.add_pod("pinned", 0.0), large, 0.0)
    small = ready(c, pods=1)
    autoscaler = ca(groups=[NodeGroup(SMALL, max_size=5), NodeGroup(LARGE, max_size=5)])
    autoscaler.step(c, 0.0, RNG)
    assert large in autoscaler.unremovable_until_  # its pinned pod fits nowhere else
    assert small in autoscaler.unneeded_since_  # its pod fits on the large node
