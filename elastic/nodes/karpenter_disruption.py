"""Karpenter's disruption: expiration, then emptiness, multi-node or single-node consolidation.

Sources (kubernetes-sigs/karpenter): ``pkg/controllers/nodeclaim/expiration``
(``expireAfter``: the node is deleted when it expires, budgets or not; its pods
go pending and provisioning replaces it), ``pkg/controllers/disruption/``:
``controller.go`` (methods in order, the first that finds a command acts;
every ``pollingPeriod``), ``emptiness.go`` (empty nodes, reason ``Empty``, as
many as the budget allows, in one command), ``multinodeconsolidation.go``
(binary search for the longest prefix of at most 100 candidates that can be
deleted, or replaced by one cheaper node), ``singlenodeconsolidation.go``
(the first candidate that can be deleted or replaced by a cheaper node),
``consolidation.go`` (``computeConsolidation``: all the candidates' pods must
fit elsewhere, with at most one new node, cheaper than the candidates;
Spot-to-Spot needs the feature gate and 15 cheaper options for a single
node), ``helpers.go`` (budgets), ``pkg/utils/disruption`` (disruption cost =
evicted pods x lifetime remaining, candidates taken cheapest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from elastic.nodes.cluster import BOUND, DRAINING, READY, ClusterState
from elastic.nodes.karpenter import CANDIDATE, PENDING_POD
from elastic.nodes.karpenter_budgets import allowed_disruptions
from elastic.nodes.plan import Launch, NodePlan, Removal

if TYPE_CHECKING:
    from elastic.nodes.karpenter import Karpenter


@dataclass(slots=True)
class _Found:
    """A command: its plan, its candidates, the nodes its simulation placed pods on (they are
    nominated when it runs), and the replacement's options before the price filter."""

    plan: NodePlan
    candidates: tuple[int, ...]
    targets: tuple[int, ...] = ()
    options: NDArray[np.bool_] | None = None
    replacement: NDArray[np.bool_] | None = None  # the options it launches from


__all__ = [
    "MAX_MULTI_NODE",
    "MIN_SPOT_TO_SPOT_OPTIONS",
    "RECHECK",
    "REPLACEMENT_TTL",
    "VALIDATION_DELAY",
    "disrupt",
]

#: multi-node consolidation considers at most this many candidates (multinodeconsolidation.go)
MAX_MULTI_NODE = 100
#: ``MinInstanceTypesForSpotToSpotConsolidation`` (consolidation.go)
MIN_SPOT_TO_SPOT_OPTIONS = 15
#: an unchanged cluster where nothing was found is looked at again after this long
#: (``state.Cluster.ConsolidationState``: at least once every 5 minutes)
RECHECK = 300.0
#: a replacement that has not let its node go after this long is forgotten (the
#: NodeClaim registration TTL, 15 min, after which upstream abandons a launch)
REPLACEMENT_TTL = 900.0
#: a command is carried out only if it is still valid this long after it was computed
#: (``commandValidationDelay``, consolidation.go; validation.go)
VALIDATION_DELAY = 15.0


@dataclass(frozen=True, slots=True)
class _Candidate:
    node: int
    row: int
    pool: int
    pods: int
    cost: float  # upstream's disruption cost: pods x lifetime remaining


def disrupt(karpenter: Karpenter, cluster: ClusterState, now: float) -> NodePlan:
    """Expired nodes (every step), then at most one disruption command (every poll period)."""
    live = set(cluster.node_id[cluster.node_rows()].tolist())
    karpenter.replacing_ = {
        n: t for n, t in karpenter.replacing_.items() if n in live and now - t < REPLACEMENT_TTL
    }
    removals = list(_expired(karpenter, cluster, now))
    if (
        karpenter.last_disruption_ is not None
        and now - karpenter.last_disruption_ < karpenter.consolidation_interval
    ):
        return NodePlan(removals=tuple(removals))
    expired = {r.node for r in removals}
    pods = karpenter.pods_per_node(cluster)
    candidates = _candidates(karpenter, cluster, now, pods, expired)
    methods = [_emptiness, _multi_node, _single_node]
    waiting = karpenter.command_
    if waiting is not None:
        at, index, command = waiting
        if now - at < VALIDATION_DELAY:  # the controller waits to validate the command
            return NodePlan(removals=tuple(removals))
        karpenter.command_ = None
        valid = _validate(karpenter, cluster, now, candidates, expired, index, command)
        if valid is not None:
            for node in valid.targets:  # the command's simulation nominates its target nodes
                karpenter.nominated_[node] = now + karpenter.nomination
            karpenter.consolidated_ = None
            for launch in valid.plan.launches:
                karpenter.replacing_.update(dict.fromkeys(launch.replaces, now))
            karpenter.last_disruption_ = None  # upstream requeues at once after a command
            plan = valid.plan
            return NodePlan(plan.launches, tuple(removals) + plan.removals, plan.note)
        methods = methods[index + 1 :]  # not valid any more: the next methods are tried
    elif (
        karpenter.last_disruption_ is not None
        and now - karpenter.last_disruption_ < karpenter.consolidation_interval
    ):
        return NodePlan(removals=tuple(removals))
    karpenter.last_disruption_ = now
    state = _state(karpenter, cluster, now, candidates, expired)
    memo = karpenter.consolidated_
    if waiting is None and memo is not None and memo[1] == state and now - memo[0] < RECHECK:
        return NodePlan(removals=tuple(removals))
    for method in methods:
        found = method(karpenter, cluster, now, candidates, expired)
        if found is not None:
            index = [_emptiness, _multi_node, _single_node].index(method)
            karpenter.command_ = (now, index, found)
            return NodePlan(removals=tuple(removals))
    if waiting is None:
        karpenter.consolidated_ = (now, state)
    return NodePlan(removals=tuple(removals))


def _validate(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    candidates: list[_Candidate],
    expired: set[int],
    method: int,
    command: _Found,
) -> _Found | None:
    """The command, as it can still be carried out ``VALIDATION_DELAY`` after it was computed,
    or None (validation.go). Emptiness keeps the candidates still empty, candidates and within
    the budget; a consolidation needs all its candidates still candidates within the budget,
    and a new simulation that gives the same decision: a delete still needs no new node, a
    replacement still one node whose options include all the command's."""
    current = {c.node: c for c in candidates}
    if method == 0:
        still = [current[n] for n in command.candidates if n in current and current[n].pods == 0]
        chosen = _within(_budgets(karpenter, cluster, now, "Empty", expired), still)
        if not chosen:
            return None
        return _Found(
            NodePlan(removals=tuple(Removal(c.node, "empty") for c in chosen)),
            tuple(c.node for c in chosen),
        )
    if any(n not in current or current[n].pods == 0 for n in command.candidates):
        return None
    chosen = [current[n] for n in command.candidates]
    budget = _budgets(karpenter, cluster, now, "Underutilized", expired)
    if len(_within(budget, chosen)) != len(chosen):
        return None
    again = _consolidate(karpenter, cluster, chosen)
    if again is None or bool(again.plan.launches) != bool(command.plan.launches):
        return None
    replacement, options = command.replacement, again.options
    if replacement is not None and options is not None and (replacement & ~options).any():
        return None
    return _Found(command.plan, command.candidates, again.targets)


def _state(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    candidates: list[_Candidate],
    expired: set[int],
) -> int:
    """What consolidation depends on: nodes, their states and requests, the candidates and
    the budgets (a candidate appears when its ``consolidateAfter`` passes)."""
    rows = cluster.node_rows()
    budgets = tuple(
        tuple(_budgets(karpenter, cluster, now, reason, expired))
        for reason in ("Empty", "Underutilized")
    )
    return hash(
        (
            cluster.node_id[rows].tobytes(),
            cluster.node_state[rows].tobytes(),
            cluster.requested[rows].tobytes(),
            tuple(c.node for c in candidates),
            tuple(sorted(karpenter.replacing_)),
            budgets,
        )
    )


def _expired(karpenter: Karpenter, cluster: ClusterState, now: float) -> list[Removal]:
    rows = cluster.node_rows()
    rows = rows[cluster.node_state[rows] != DRAINING]
    pool = karpenter._pool_of[cluster.node_template[rows]]
    out = []
    for p, node_pool in enumerate(karpenter.node_pools):
        if node_pool.expire_after is None:
            continue
        mine = rows[(pool == p) & (now - cluster.launched_at[rows] >= node_pool.expire_after)]
        out += [Removal(int(cluster.node_id[r]), "expired") for r in mine]
    return out


def _candidates(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    pods: NDArray[np.int64],
    expired: set[int],
) -> list[_Candidate]:
    """Ready nodes of a NodePool past ``consolidateAfter``, cheapest to disrupt first."""
    rows = cluster.node_rows(READY)
    out = []
    for row in rows.tolist():
        node = int(cluster.node_id[row])
        p = int(karpenter._pool_of[cluster.node_template[row]])
        if p < 0 or node in expired or node in karpenter.replacing_:
            continue
        if node in karpenter.nominated_:  # statenode.go ValidateNodeDisruptable: nominated
            continue
        pool = karpenter.node_pools[p]
        if pool.consolidate_after is None:
            continue
        quiet_since = max(float(cluster.changed_at[row]), float(cluster.ready_at[row]))
        if now - quiet_since < pool.consolidate_after:
            continue
        remaining = 1.0
        if pool.expire_after is not None:
            age = now - float(cluster.launched_at[row])
            remaining = min(max((pool.expire_after - age) / pool.expire_after, 0.0), 1.0)
        out.append(_Candidate(node, row, p, int(pods[row]), int(pods[row]) * remaining))
    out.sort(key=lambda c: (c.cost, c.node))
    return out


def _budgets(
    karpenter: Karpenter, cluster: ClusterState, now: float, reason: str, expired: set[int]
) -> list[int]:
    """Per NodePool: how many nodes it may disrupt now for ``reason``."""
    rows = cluster.node_rows(READY, DRAINING)
    pool = karpenter._pool_of[cluster.node_template[rows]]
    ids = cluster.node_id[rows]
    deleting = (cluster.node_state[rows] == DRAINING) | np.isin(
        ids, np.fromiter(set(karpenter.replacing_) | expired, dtype=np.int64)
    )
    at = karpenter.at(now)
    return [
        allowed_disruptions(
            node_pool.budgets,
            reason,
            total=int((pool == p).sum()),
            disrupting=int((deleting & (pool == p)).sum()),
            at=at,
        )
        for p, node_pool in enumerate(karpenter.node_pools)
    ]


def _within(budget: list[int], candidates: list[_Candidate]) -> list[_Candidate]:
    out = []
    for c in candidates:
        if budget[c.pool] > 0:
            budget[c.pool] -= 1
            out.append(c)
    return out


def _emptiness(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    candidates: list[_Candidate],
    expired: set[int],
) -> _Found | None:
    empty = [c for c in candidates if c.pods == 0]
    if not empty:
        return None
    chosen = _within(_budgets(karpenter, cluster, now, "Empty", expired), empty)
    if not chosen:
        return None
    return _Found(
        NodePlan(removals=tuple(Removal(c.node, "empty") for c in chosen)),
        tuple(c.node for c in chosen),
    )


def _underutilized(candidates: list[_Candidate], karpenter: Karpenter) -> list[_Candidate]:
    return [
        c
        for c in candidates
        if c.pods > 0
        and karpenter.node_pools[c.pool].consolidation_policy == "WhenEmptyOrUnderutilized"
    ]


def _multi_node(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    candidates: list[_Candidate],
    expired: set[int],
) -> _Found | None:
    movable = _within(
        _budgets(karpenter, cluster, now, "Underutilized", expired),
        _underutilized(candidates, karpenter),
    )
    if len(movable) < 2:
        return None
    low, high = 1, min(len(movable), MAX_MULTI_NODE) - 1
    best: _Found | None = None
    while low <= high:
        mid = (low + high) // 2
        plan = _consolidate(karpenter, cluster, movable[: mid + 1])
        if plan is not None:
            best, low = plan, mid + 1
        else:
            high = mid - 1
    return best


def _single_node(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    candidates: list[_Candidate],
    expired: set[int],
) -> _Found | None:
    budget = _budgets(karpenter, cluster, now, "Underutilized", expired)
    for c in _underutilized(candidates, karpenter):
        if budget[c.pool] <= 0:
            continue
        plan = _consolidate(karpenter, cluster, [c])
        if plan is not None:
            return plan
    return None


def _consolidate(
    karpenter: Karpenter, cluster: ClusterState, chosen: list[_Candidate]
) -> _Found | None:
    """Delete ``chosen`` (their pods fit elsewhere) or replace them by one cheaper node; the
    plan and the nodes its simulation placed pods on.

    The simulation (helpers.go ``SimulateScheduling``) places the candidates' pods with the
    pods of nodes marked for deletion and the pending pods, in the queue's order. It fails
    when a pod that is not pending is left unplaced, or when a candidate's pod would need a
    node that is not initialized yet (``UninitializedNodeError``)."""
    ids = {c.node for c in chosen}
    rows = np.array([c.row for c in chosen], dtype=np.int64)
    pod_rows = np.flatnonzero(
        (cluster.pod_id >= 0)
        & (cluster.pod_state == BOUND)
        & np.isin(cluster.pod_node, rows)
        & ~cluster.daemon[cluster.pod_spec]
    )
    groups = [pod_rows, karpenter.moving_rows(cluster), karpenter.pending_rows(cluster)]
    runs, kinds = karpenter.kind_runs(cluster, groups)
    result, targets = karpenter.pack(cluster, runs, ids)
    if len(result.claims) > 1:
        return None
    if any(kinds[run] != PENDING_POD for run in result.unplaced_runs):
        return None
    initialized = cluster.node_state[targets] == READY
    for (_, row, _), run in zip(result.on_nodes, result.node_runs, strict=True):
        if kinds[run] == CANDIDATE and not initialized[row]:
            return None
    nominated = tuple(sorted({int(cluster.node_id[targets[row]]) for _, row, _ in result.on_nodes}))
    templates = cluster.templates
    price = sum((templates[cluster.node_template[r]].price_per_hour for r in rows), Decimal(0))
    launched = Decimal(0)
    launch: tuple[Launch, ...] = ()
    reason = "underutilized"
    simulated: NDArray[np.bool_] | None = None
    if result.claims:
        claim = result.claims[0]
        simulated = claim.options.copy()
        offerings = karpenter._offerings
        prices = [t.price_per_hour for t in templates]
        options = claim.options & np.array([p < price for p in prices], dtype=bool)
        if len(chosen) > 1:
            mine: dict[str, Decimal] = {}
            for r in rows.tolist():
                t = templates[cluster.node_template[r]]
                mine[t.instance_type] = min(
                    mine.get(t.instance_type, t.price_per_hour), t.price_per_hour
                )
            same = [
                mine[templates[i].instance_type]
                for i in np.flatnonzero(options)
                if templates[i].instance_type in mine
            ]
            if same:
                cap = min(same)
                options &= np.array([p < cap for p in prices], dtype=bool)
        all_spot = all(templates[cluster.node_template[r]].capacity_type == "spot" for r in rows)
        spot_options = options & offerings.spot
        if all_spot and spot_options.any():
            if not karpenter.spot_to_spot:
                options = options & ~offerings.spot
            elif len(chosen) == 1 and spot_options.sum() < MIN_SPOT_TO_SPOT_OPTIONS:
                return None
        if not options.any():
            return None
        claim.options = options
        choice = claim.choice(offerings)
        launched = prices[choice]
        launch = (Launch(templates[choice].name, 1, "consolidation", tuple(sorted(ids))),)
        reason = "consolidated"
    knob = karpenter.disruption_cost
    if knob is not None:
        share = Decimal(0)
        if knob.per_pod_lost_seconds:
            for row in pod_rows.tolist():
                node = int(cluster.pod_node[row])
                cpu, memory, _ = cluster.requests[cluster.pod_spec[row]].tolist()
                alloc = cluster.allocatable[node]
                share += knob.share_price(
                    cpu,
                    memory,
                    int(alloc[0]),
                    int(alloc[1]),
                    templates[cluster.node_template[node]].price_per_hour,
                )
        if not knob.worth(knob.saving(price, launched), knob.cost(len(pod_rows), share)):
            return None
    candidates = tuple(sorted(ids))
    if launch:
        plan = NodePlan(launches=launch, note=f"replacing {len(ids)} node(s) by a cheaper one")
        return _Found(plan, candidates, nominated, simulated, result.claims[0].options)
    plan = NodePlan(removals=tuple(Removal(n, reason) for n in candidates))
    return _Found(plan, candidates, nominated)
