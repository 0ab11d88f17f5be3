"""Karpenter's disruption: budgets, consolidateAfter, policies, expiration, the cost knob; packing
properties."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.errors import ParameterError
from elastic.nodes.cluster import READY, ClusterState
from elastic.nodes.disruption import DisruptionCost
from elastic.nodes.karpenter import Karpenter, NodePool
from elastic.nodes.karpenter_budgets import Budget, allowed_disruptions
from elastic.nodes.karpenter_disruption import VALIDATION_DELAY
from elastic.nodes.labels import Taint
from elastic.nodes.plan import Launch, NodePlan, Removal
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30
RNG = np.random.default_rng(0)
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def template(
    name: str, cpu: int, gib: int, price: str, capacity: str = "on-demand"
) -> NodeTemplate:
    return NodeTemplate(
        name,
        name.split("/")[0],
        capacity,
        Resources(cpu, gib * GiB, 110),
        Decimal(price),  # type: ignore[arg-type]
        vcpu=cpu // 1000,
        memory_bytes=gib * GiB,
    )


LARGE = template("m5.large", 2000, 8, "0.096")
XLARGE = template("m5.xlarge", 4000, 16, "0.192")
WEB = PodSpec("web", Resources.parse(cpu="1", memory="1Gi"))


# --- budgets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budgets", "reason", "total", "disrupting", "allowed", "why"),
    [
        ([Budget()], "Empty", 7, 0, 1, "10% of 7 = 0.7, rounded up to 1"),
        ([Budget()], "Empty", 10, 0, 1, "10% of 10 = 1 exactly"),
        ([Budget()], "Empty", 11, 0, 2, "10% of 11 = 1.1, rounded up to 2"),
        ([Budget()], "Empty", 0, 0, 0, "no nodes: nothing to disrupt"),
        ([Budget("0%")], "Empty", 7, 0, 0, "0%: never"),
        ([Budget("0")], "Empty", 7, 0, 0, "a count of 0: never"),
        ([Budget("5")], "Empty", 7, 0, 5, "a count"),
        ([Budget("100%")], "Empty", 7, 0, 7, "100%: all"),
        ([Budget("50%")], "Empty", 7, 2, 2, "roundup(3.5) = 4, less 2 deleting or not ready"),
        ([Budget("50%")], "Empty", 7, 5, 0, "more disrupting than allowed: 0, not negative"),
        ([Budget("50%"), Budget("1")], "Empty", 7, 0, 1, "the most restrictive budget wins"),
        ([Budget("0", reasons=("Empty",))], "Empty", 7, 0, 0, "a budget scoped to Empty"),
        ([Budget("0", reasons=("Empty",))], "Underutilized", 7, 1, 6, "other reasons: no limit"),
    ],
)
def test_allowed_disruptions(
    budgets: list[Budget], reason: str, total: int, disrupting: int, allowed: int, why: str
) -> None:
    assert (
        allowed_disruptions(budgets, reason, total=total, disrupting=disrupting, at=NOON) == allowed
    ), why


@pytest.mark.parametrize(
    ("hour", "minute", "second", "active", "why"),
    [
        (8, 59, 59, False, "before the schedule fires at 09:00"),
        (9, 0, 0, True, "at the firing itself"),
        (9, 59, 59, True, "within the hour's duration"),
        (10, 0, 0, False, "exactly duration after the firing: over (fired in (t - d, t] only)"),
    ],
)
def test_a_scheduled_budget_is_active_for_its_duration(
    hour: int, minute: int, second: int, active: bool, why: str
) -> None:
    budget = Budget("0", schedule="0 9 * * *", duration=3600)
    at = datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)
    assert budget.active(at) is active, why
    expected = 0 if active else 7
    assert allowed_disruptions([budget], "Empty", total=7, disrupting=0, at=at) == expected, why


def test_cron_descriptors() -> None:
    daily = Budget("0", schedule="@daily", duration=600)
    assert daily.active(datetime(2026, 3, 2, 0, 9, tzinfo=UTC))
    assert not daily.active(datetime(2026, 3, 2, 0, 10, tzinfo=UTC))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"nodes": "110%"}, "nodes"),
        ({"nodes": "ten"}, "nodes"),
        ({"nodes": "-1"}, "nodes"),
        ({"schedule": "0 9 * * *"}, "duration"),
        ({"duration": 60}, "schedule"),
        ({"schedule": "0 25 * * *", "duration": 60}, "hour"),
        ({"reasons": ("Expired",)}, "reasons"),
    ],
)
def test_bad_budgets_are_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        Budget(**kwargs)  # type: ignore[arg-type]


# --- consolidation -------------------------------------------------------------------------------


def cluster_with(nodes: list[tuple[str, int]], now: float = 0.0) -> tuple[ClusterState, list[int]]:
    """Ready nodes launched at ``now``, each with a number of web pods."""
    cluster = ClusterState([LARGE, XLARGE], [WEB])
    ids = []
    for name, count in nodes:
        node = cluster.add_node(name, now)
        cluster.set_node_state(node, READY, now)
        for _ in range(count):
            cluster.bind(cluster.add_pod("web", now), node, now)
        ids.append(node)
    return cluster, ids


def karpenter(**pool: object) -> Karpenter:
    return Karpenter([NodePool("default", [LARGE, XLARGE], **pool)])  # type: ignore[arg-type]


def decide(k: Karpenter, cluster: ClusterState, now: float) -> NodePlan:
    """The command a pass at ``now`` computes, as carried out once validated 15 s later."""
    first = k.step(cluster, now, RNG)
    assert not first.launches and not first.removals, "a command waits for its validation"
    return k.step(cluster, now + VALIDATION_DELAY, RNG)


@pytest.mark.parametrize(
    ("now", "removed", "why"),
    [
        (29.999, False, "quiet for less than consolidateAfter"),
        (30.0, True, "quiet exactly consolidateAfter: consolidatable (upstream: since < after)"),
    ],
)
def test_consolidate_after_boundary(now: float, removed: bool, why: str) -> None:
    cluster, (node,) = cluster_with([("m5.large", 0)])
    plan = decide(karpenter(consolidate_after=30.0, budgets=[Budget("100%")]), cluster, now)
    assert (plan.removals == (Removal(node, "empty"),)) is removed, why


def test_consolidate_after_counts_from_the_last_pod_change() -> None:
    cluster, (node,) = cluster_with([("m5.large", 1)])
    cluster.remove_pod(cluster.pods_on(node)[0], 100.0)
    k = karpenter(consolidate_after=30.0, budgets=[Budget("100%")])
    assert k.step(cluster, 129.0, RNG).empty
    k.last_disruption_ = None
    assert decide(k, cluster, 130.0).removals == (Removal(node, "empty"),)


def test_never_disables_consolidation() -> None:
    cluster, _ = cluster_with([("m5.large", 0)])
    assert karpenter(consolidate_after=None).step(cluster, 1e6, RNG).empty


@pytest.mark.parametrize(
    ("policy", "budget", "expected", "why"),
    [
        ("WhenEmpty", "100%", "nothing", "WhenEmpty: nodes with pods are left alone"),
        ("WhenEmptyOrUnderutilized", "100%", "replace both", "multi-node: 2 x xlarge -> 1 large"),
        ("WhenEmptyOrUnderutilized", "10%", "delete one", "budget 1 of 2: single node, delete"),
        ("WhenEmptyOrUnderutilized", "0", "nothing", "a budget of 0 blocks consolidation"),
    ],
)
def test_consolidation_policy_and_budgets(
    policy: str, budget: str, expected: str, why: str
) -> None:
    cluster, (a, b) = cluster_with([("m5.xlarge", 1), ("m5.xlarge", 1)])
    plan = decide(karpenter(consolidation_policy=policy, budgets=[Budget(budget)]), cluster, 60.0)
    outcome = {
        (): "nothing",
        ((Launch("m5.large", 1, "consolidation", (a, b)),), ()): "replace both",
        ((), (Removal(a, "underutilized"),)): "delete one",
    }.get((plan.launches, plan.removals) if not plan.empty else (), str(plan))
    assert outcome == expected, why


def test_single_node_replaced_by_a_cheaper_one_once() -> None:
    cluster, (node,) = cluster_with([("m5.xlarge", 1)])
    k = karpenter(budgets=[Budget("100%")])
    plan = decide(k, cluster, 60.0)
    assert plan.launches == (Launch("m5.large", 1, "consolidation", (node,)),)
    # the node is being replaced: the next passes do not ask again
    assert k.step(cluster, 76.0, RNG).empty and k.step(cluster, 91.0, RNG).empty


def test_no_replacement_that_is_not_cheaper() -> None:
    cluster, _ = cluster_with([("m5.large", 1)])
    assert karpenter(budgets=[Budget("100%")]).step(cluster, 60.0, RNG).empty


def test_a_node_nominated_during_validation_is_kept() -> None:
    # emptiness looks at nominations, not at pending pods: the pass at 60 s finds the node
    # empty, but the pending pod's batch closes at 61 s and plans it onto the node, which is
    # nominated; the validation at 75 s drops the command (validation.go: nominated)
    cluster, (node,) = cluster_with([("m5.large", 0)])
    cluster.add_pod("web", 0.0)
    k = karpenter(budgets=[Budget("100%")])
    assert k.step(cluster, 60.0, RNG).empty
    assert k.step(cluster, 61.0, RNG).empty and node in k.nominated_
    assert not k.step(cluster, 75.0, RNG).removals


@pytest.mark.parametrize(
    ("eviction", "worth", "why"),
    [
        ("0.095", True, "saving 0.096 over an hour > 0.095 for the one evicted pod"),
        ("0.096", False, "saving equals the cost: not worth it (strictly greater needed)"),
    ],
)
def test_disruption_cost_knob(eviction: str, worth: bool, why: str) -> None:
    cluster, _ = cluster_with([("m5.xlarge", 1)])
    knob = DisruptionCost(horizon=3600, per_pod_eviction=Decimal(eviction))
    k = Karpenter(
        [NodePool("default", [LARGE, XLARGE], budgets=[Budget("100%")])], disruption_cost=knob
    )
    assert bool(decide(k, cluster, 60.0).launches) is worth, why


def test_lost_seconds_are_priced_at_the_pods_share() -> None:
    knob = DisruptionCost(horizon=3600, per_pod_lost_seconds=3600)
    # 1 CPU of 4 (memory 1 of 16 GiB): a quarter of 0.192 per hour, for an hour
    share = knob.share_price(1000, GiB, 4000, 16 * GiB, Decimal("0.192"))
    assert knob.cost(1, share) == Decimal("0.048")


@pytest.mark.parametrize(
    ("now", "expired", "why"),
    [
        (3599.0, False, "younger than expireAfter"),
        (3600.0, True, "exactly expireAfter: expired, even with a budget of 0"),
    ],
)
def test_expiration_ignores_budgets(now: float, expired: bool, why: str) -> None:
    cluster, (node,) = cluster_with([("m5.large", 1)])
    k = karpenter(expire_after=3600.0, budgets=[Budget("0")])
    assert (Removal(node, "expired") in k.step(cluster, now, RNG).removals) is expired, why


def test_spot_to_spot_needs_the_gate() -> None:
    spot_x = template("m5.xlarge/spot", 4000, 16, "0.080", "spot")
    spot_l = template("m5.large/spot", 2000, 8, "0.040", "spot")
    cluster = ClusterState([spot_x, spot_l], [WEB])
    node = cluster.add_node("m5.xlarge/spot", 0.0)
    cluster.set_node_state(node, READY, 0.0)
    cluster.bind(cluster.add_pod("web", 0.0), node, 0.0)
    for gate in (False, True):  # with the gate: still too few (< 15) cheaper spot options
        k = Karpenter(
            [NodePool("p", [spot_x, spot_l], budgets=[Budget("100%")])], spot_to_spot=gate
        )
        assert k.step(cluster, 60.0, RNG).empty, gate


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(50, 5000), st.integers(1, 16), st.integers(1, 30)),
        min_size=1,
        max_size=5,
    ),
    st.lists(
        st.tuples(st.integers(1, 16), st.integers(1, 64), st.integers(1, 40)),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), max_size=4),
    st.booleans(),
)
def test_nothing_is_placed_where_it_does_not_fit(
    specs: list[tuple[int, int, int]],
    shapes: list[tuple[int, int, int]],
    existing: list[tuple[int, int]],
    tainted: bool,
) -> None:
    templates = [
        NodeTemplate(
            f"t{i}",
            f"t{i}",
            "on-demand",
            Resources(1000 * cpu - 70, gib * GiB, pods),
            Decimal(cpu * 7 + gib) / 100,
            taints=(Taint("dedicated", "x"),) if tainted and i == 0 else (),
        )
        for i, (cpu, gib, pods) in enumerate(shapes)
    ]
    pod_specs = [
        PodSpec(f"s{i}", Resources(cpu, gib * GiB // 4, 1)) for i, (cpu, gib, _) in enumerate(specs)
    ]
    pod_specs.append(PodSpec("agent", Resources(100, 2**26, 1), daemon=True))
    cluster = ClusterState(templates, pod_specs)
    for t, n in existing:
        if t < len(templates):
            node = cluster.add_node(f"t{t}", 0.0)
            if n % 2:
                cluster.set_node_state(node, READY, 0.0)
    for i, (_, _, count) in enumerate(specs):
        for _ in range(count):
            cluster.add_pod(f"s{i}", 0.0)
    k = Karpenter([NodePool("p", templates)])
    k.offerings(cluster)
    rows = np.flatnonzero((cluster.pod_id >= 0) & ~cluster.daemon[cluster.pod_spec])
    runs = k.runs(cluster, cluster.pod_spec[rows], cluster.pod_id[rows])
    result, targets = k.pack(cluster, runs)
    # every pod is placed or reported
    assert result.placed + sum(n for _, n, _ in result.unplaced) == len(rows)
    # on existing nodes: the placed pods fit the headroom left for them, where they may run
    used = np.zeros((len(targets), 3), dtype=np.int64)
    for spec, row, count in result.on_nodes:
        assert cluster.admits[spec, cluster.node_template[targets[row]]]
        used[row] += count * cluster.requests[spec]
    assert (used <= k.headroom(cluster, targets)).all()
    # on claims: the chosen offering takes all the claim's pods and the daemon pods
    for claim in result.claims:
        chosen = claim.choice(k._offerings)
        total = sum(
            (n * cluster.requests[s] for s, n in claim.specs.items()), np.zeros(3, np.int64)
        )
        assert all(cluster.admits[s, chosen] for s in claim.specs)
        assert (total + k._overhead[chosen] <= cluster.template_allocatable[chosen]).all()


def test_a_pod_no_node_can_take_does_not_hold_consolidation() -> None:
    # a 64-CPU pod fits no offering: it stays pending forever, yet the empty node must go
    huge = PodSpec("huge", Resources.parse(cpu="64"))
    cluster = ClusterState([LARGE, XLARGE], [WEB, huge])
    node = cluster.add_node("m5.large", 0.0)
    cluster.set_node_state(node, READY, 0.0)
    cluster.add_pod("huge", 0.0)
    k = karpenter(budgets=[Budget("100%")])
    for now in range(0, 31):
        plan = k.step(cluster, float(now), RNG)
        if plan.removals:
            break
    assert plan.removals == (Removal(node, "empty"),)


def test_an_unchanged_cluster_is_not_simulated_again_for_5_minutes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # two full xlarge nodes: nothing to consolidate; upstream marks the cluster consolidated
    # and looks again only when it changes or 5 minutes later (state.Cluster.ConsolidationState)
    cluster, (a, _) = cluster_with([("m5.xlarge", 4), ("m5.xlarge", 4)])
    k = karpenter(budgets=[Budget("100%")])
    calls: list[float] = []
    real = k.pack
    monkeypatch.setattr(k, "pack", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    counts = []
    for now in (60.0, 70.0, 80.0, 360.0):
        assert k.step(cluster, now, RNG).empty
        counts.append(len(calls))
    assert counts[0] > 0 and counts[1] == counts[0] and counts[2] == counts[0], counts
    assert counts[3] > counts[2], "looked again after 5 minutes"
    cluster.remove_pod(cluster.pods_on(a)[0], 365.0)  # a change: look again at the next pass
    k.step(cluster, 370.0, RNG)
    assert len(calls) > counts[3]


# --- what upstream's consolidation simulation counts (helpers.go SimulateScheduling) -------------


def test_candidate_pods_may_not_rely_on_an_uninitialized_node() -> None:
    # the only room for the candidate's pod is on a node still launching: upstream fails the
    # simulation ("would schedule against uninitialized"); m5.large has no cheaper replacement
    cluster, (node,) = cluster_with([("m5.large", 1)])
    cluster.add_node("m5.large", 0.0)  # launching
    k = karpenter(budgets=[Budget("100%")])
    assert Removal(node, "underutilized") not in k.step(cluster, 60.0, RNG).removals


def test_pods_of_a_node_being_replaced_are_simulated_in_consolidation() -> None:
    # a node marked for deletion (waiting for its replacement) still has 2 pods: they are
    # older than the candidate's pod and take the only ready room first, so the candidate
    # cannot be deleted (its pod would need the in-flight replacement)
    cluster, (replaced, quiet, busy) = cluster_with(
        [("m5.large", 2), ("m5.large", 1), ("m5.large", 0)]
    )
    cluster.add_node("m5.large", 0.0)  # the replacement, launching
    cluster.bind(cluster.add_pod("web", 55.0), busy, 55.0)  # busy: a pod event 5 s ago
    k = karpenter(consolidate_after=30.0, budgets=[Budget("100%")])
    k.replacing_[replaced] = 50.0
    plan = k.step(cluster, 60.0, RNG)
    assert Removal(quiet, "underutilized") not in plan.removals, plan


def test_provisioning_counts_the_pods_of_a_node_being_replaced() -> None:
    # the in-flight replacement has room for the replaced node's 2 pods only; a new pending
    # pod needs a node of its own (upstream's provisioner schedules deleting nodes' pods too)
    cluster, (replaced,) = cluster_with([("m5.large", 2)])
    cluster.add_node("m5.large", 50.0)  # the replacement, launching
    k = karpenter(budgets=[Budget("0")])
    k.replacing_[replaced] = 50.0
    cluster.add_pod("web", 60.0)
    k.step(cluster, 60.0, RNG)
    assert k.step(cluster, 61.0, RNG).launches == (Launch("m5.large", 1, "pending pods"),)


def test_pending_pods_are_simulated_and_nominate_their_nodes() -> None:
    # an m5.xlarge and an m5.large with 1 pod each, and a pending pod: the batch closes at
    # 101 s and plans the pod onto the xlarge, which is nominated for 20 s (not a candidate);
    # the large's pod moves next to them, so the large is deleted: pending pods do not hold
    # consolidation, they take their room in its simulation
    cluster, (first, second) = cluster_with([("m5.xlarge", 1), ("m5.large", 1)])
    cluster.add_pod("web", 100.0)
    k = karpenter(budgets=[Budget("100%")])
    k.last_disruption_ = 100.0  # the last disruption pass was at 100 s
    assert k.step(cluster, 100.0, RNG).empty  # the batch opens
    assert k.step(cluster, 101.0, RNG).empty  # it closes: the pod fits on `first`
    assert first in k.nominated_
    plan = decide(k, cluster, 110.0)
    assert plan.removals == (Removal(second, "underutilized"),), plan


def test_a_command_is_carried_out_only_if_still_valid_15_s_later() -> None:
    # validation.go: an empty node found at 60 s is removed at 75 s if it is still empty; a
    # replacement that became ready empty, and got its pods within the 15 s, is kept
    cluster, (node,) = cluster_with([("m5.large", 0)])
    k = karpenter(budgets=[Budget("100%")])
    assert k.step(cluster, 60.0, RNG).empty
    assert k.step(cluster, 74.0, RNG).empty
    assert k.step(cluster, 75.0, RNG).removals == (Removal(node, "empty"),)
    cluster, (node,) = cluster_with([("m5.large", 0)])
    k = karpenter(budgets=[Budget("100%")])
    assert k.step(cluster, 60.0, RNG).empty
    cluster.bind(cluster.add_pod("web", 65.0), node, 65.0)
    assert not k.step(cluster, 75.0, RNG).removals
