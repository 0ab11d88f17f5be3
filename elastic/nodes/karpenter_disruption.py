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

import bisect
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from elastic.nodes.cluster import BOUND, DRAINING, READY, ClusterState
from elastic.nodes.karpenter import CANDIDATE, MOVING, PENDING_POD
from elastic.nodes.karpenter_budgets import allowed_disruptions
from elastic.nodes.karpenter_packing import _counts
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


class _Candidate(NamedTuple):  # a tuple: cheap to make by the hundred every pass
    node: int
    row: int
    pool: int
    pods: int
    cost: float  # upstream's disruption cost: pods x lifetime remaining


def disrupt(karpenter: Karpenter, cluster: ClusterState, now: float) -> NodePlan:
    """Expired nodes (every step), then at most one disruption command (every poll period)."""
    if karpenter.replacing_:
        karpenter.replacing_ = {
            n: t
            for n, t in karpenter.replacing_.items()
            if n in cluster and now - t < REPLACEMENT_TTL
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
    sim = _Simulation(karpenter, cluster)
    methods = [_emptiness, _multi_node, _single_node]
    waiting = karpenter.command_
    if waiting is not None:
        at, index, command = waiting
        if now - at < VALIDATION_DELAY:  # the controller waits to validate the command
            return NodePlan(removals=tuple(removals))
        karpenter.command_ = None
        valid = _validate(karpenter, cluster, now, candidates, expired, index, command, sim)
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
        found = method(karpenter, cluster, now, candidates, expired, sim)
        if found is not None:
            index = [_emptiness, _multi_node, _single_node].index(method)
            karpenter.command_ = (now, index, found)
            return NodePlan(removals=tuple(removals))
    if waiting is None:
        karpenter.consolidated_ = (now, state)
    return NodePlan(removals=tuple(removals))


class _Simulation:
    """What every consolidation simulation of one disruption pass shares, computed once.

    The cluster does not change within a pass, so the target nodes (ready, then in flight,
    oldest first, less the nodes being replaced) and their room, the NodePools' remaining
    limits, the pods of nodes marked for deletion and the pending pods (in the queue's
    order), and every node's pods are the same for each simulation; a candidate's simulation
    only masks its own nodes out and merges its pods into the queue. The cheap screen
    (:meth:`possible`) is built on first use."""

    def __init__(self, karpenter: Karpenter, cluster: ClusterState) -> None:
        self._karpenter, self._cluster = karpenter, cluster
        self._built = False

    def build(self) -> _Simulation:
        """Compute the shared parts (once; a pass that simulates nothing never does)."""
        if self._built:
            return self
        self._built = True
        karpenter, cluster = self._karpenter, self._cluster
        self.nodes = karpenter.targets(cluster)
        self.targets = self.nodes.rows
        self.room = self.nodes.room
        self.ready = cluster.node_state[self.targets] == READY
        pods = np.flatnonzero(
            (cluster.pod_id >= 0) & (cluster.pod_state == BOUND) & ~cluster.daemon[cluster.pod_spec]
        )
        by_node = np.argsort(cluster.pod_node[pods], kind="stable")
        self.bound = pods[by_node]  # bound pods (daemon pods aside), by node row, then pod row
        self.first = np.searchsorted(
            cluster.pod_node[self.bound], np.arange(len(cluster.node_id) + 1)
        )
        self.moving = karpenter.moving_rows(cluster)
        self.pending = karpenter.pending_rows(cluster)
        # the queue's order (CPU, then memory, descending; then the pod id) of every pod that
        # a simulation may place: a rank per pod row
        every = np.concatenate([self.bound, self.pending])
        request = cluster.requests[cluster.pod_spec[every]]
        order = np.lexsort((cluster.pod_id[every], -request[:, 1], -request[:, 0]))
        self.rank = np.zeros(len(cluster.pod_id), dtype=np.int64)
        self.rank[every[order]] = np.arange(len(every))
        base = np.concatenate([self.moving, self.pending])
        kinds = np.concatenate(
            [np.full(len(self.moving), MOVING), np.full(len(self.pending), PENDING_POD)]
        ).astype(np.int64)
        base_order = np.argsort(self.rank[base])
        self.base_rank = self.rank[base][base_order]
        self.base_spec = cluster.pod_spec[base][base_order]
        self.base_kind = kinds[base_order]
        self._screen: _Screen | None = None
        return self

    def pods_of(self, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """Rows of the bound pods (daemon pods aside) on the node rows ``rows``, ascending."""
        parts = [self.bound[self.first[r] : self.first[r + 1]] for r in rows.tolist()]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def runs(self, pod_rows: NDArray[np.int64]) -> tuple[list[tuple[int, int]], list[int]]:
        """The runs of :meth:`Karpenter.kind_runs` for the candidates' pods ``pod_rows``, the
        pods of nodes marked for deletion and the pending pods: the candidates' pods merged
        into the shared queue."""
        cluster = self._cluster
        rank = self.rank[pod_rows]
        order = np.argsort(rank)
        at = np.searchsorted(self.base_rank, rank[order])
        specs = np.insert(self.base_spec, at, cluster.pod_spec[pod_rows][order])
        kinds = np.insert(self.base_kind, at, CANDIDATE)
        if not len(specs):
            return [], []
        starts = np.flatnonzero(
            np.concatenate([[True], (specs[1:] != specs[:-1]) | (kinds[1:] != kinds[:-1])])
        )
        ends = np.append(starts[1:], len(specs))
        runs = [(int(specs[a]), int(b - a)) for a, b in zip(starts, ends, strict=True)]
        return runs, [int(kinds[a]) for a in starts]

    def screen(self, karpenter: Karpenter) -> _Screen:
        """The cheap necessary conditions of a consolidation (built on first use)."""
        self.build()
        if self._screen is None:
            self._screen = _Screen(karpenter, self)
        return self._screen


class _Screen:
    """Necessary conditions for a single-node consolidation, checked without a pack.

    A simulation succeeds only if every pod that is not pending is placed, the candidate's
    pods on ready nodes or on the one new node, and at most one new node is needed, cheaper
    than the candidate. Every pod requests at least ``low`` and at most ``high`` (per
    resource, over the pods in the cluster), so a node with room ``r`` takes at most
    ``n = fit(r, low)`` pods and at most ``min(r, n x high)`` of each resource; a new node
    at most that of its usable room, for the cheapest offerings up to the candidate's price.
    Pending pods that some offering can take are placed on a node or on the new node when no
    NodePool has limits (otherwise they may stay pending, so they are not counted). If the
    pods to place ask for more than those bounds, the simulation cannot succeed.

    And nodes come before new nodes in the first fit: when the candidate's pods cannot all
    go to ready nodes, one of them must go to the new node, so at that point no node (ready
    or in flight) may have room for it. Only the pods ahead of it in the queue can have
    taken that room: at least ``fit(r, high)`` of them for a node with room ``r`` that every
    pod may go to (each takes at most ``high``), and the candidate's own pods may only be on
    ready nodes. With fewer pods of the rest of the queue ahead of the candidate's last pod
    than the in-flight nodes need, plus what the ready ones need beyond the candidate's other
    pods, the simulation cannot succeed."""

    def __init__(self, karpenter: Karpenter, sim: _Simulation) -> None:
        cluster = sim._cluster
        offerings = karpenter.offerings(cluster)
        specs = np.unique(cluster.pod_spec[np.concatenate([sim.bound, sim.pending])])
        requests = cluster.requests[specs]
        low = requests.min(axis=0) if len(specs) else np.zeros(3, dtype=np.int64)
        self.high = requests.max(axis=0) if len(specs) else np.zeros(3, dtype=np.int64)
        self.low = low
        bound = self.bound(sim.room)
        self.free_ready = bound[sim.ready].sum(axis=0)
        self.free = bound.sum(axis=0)
        self.freed = np.zeros((len(cluster.node_id), 2, 3), dtype=np.int64)
        self.freed[sim.targets, 0] = bound * sim.ready[:, None]
        self.freed[sim.targets, 1] = bound
        load = np.zeros((len(cluster.node_id), 3), dtype=np.int64)
        np.add.at(load, cluster.pod_node[sim.bound], cluster.requests[cluster.pod_spec[sim.bound]])
        self.load = load
        others = cluster.requests[cluster.pod_spec[sim.moving]].sum(axis=0)
        if all(pool.limits is None for pool in karpenter.node_pools):
            pooled = np.zeros(len(cluster.templates), dtype=bool)
            for indices in offerings.pools:
                pooled[indices] = True
            takes = np.array(
                [
                    (
                        _counts(offerings.usable, cluster.requests[s])
                        * (cluster.admits[s] & pooled)
                    ).max(initial=0)
                    >= 1
                    for s in range(len(cluster.specs))
                ],
                dtype=bool,
            )
            pending = sim.pending[takes[cluster.pod_spec[sim.pending]]]
            others = others + cluster.requests[cluster.pod_spec[pending]].sum(axis=0)
        self.others = others
        # the most one new node can take, by price: a running maximum over the offerings in
        # price order (the candidate's replacement must be cheaper than the candidate)
        indices = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *offerings.pools]))
        prices = [cluster.templates[i].price_per_hour for i in indices.tolist()]
        order = sorted(range(len(indices)), key=lambda i: prices[i])
        self.prices = [prices[i] for i in order]
        claim = self.bound(offerings.usable[indices[order]]) if len(order) else np.zeros((0, 3))
        self.claim = np.vstack(
            [np.zeros((1, 3), dtype=np.int64), np.maximum.accumulate(claim, axis=0)]
        ).astype(np.int64)
        self.node_price = [t.price_per_hour for t in cluster.templates]
        self.node_template = cluster.node_template
        # per node row: the pods it takes to leave no room there for any pod (for a target
        # that takes every pod; 0 for others)
        every = len(sim.bound) + len(sim.pending)
        takes_all = cluster.admits[specs][:, cluster.node_template[sim.targets]].all(axis=0)
        fill = np.minimum(_counts(sim.room, self.high), every + 1) * takes_all
        self.fill_flight = int(fill[~sim.ready].sum())
        self.fill_ready = int(fill[sim.ready].sum())
        self.filled = np.zeros(len(cluster.node_id), dtype=np.int64)
        self.filled[sim.targets] = fill
        self.pods = np.bincount(cluster.pod_node[sim.bound], minlength=len(cluster.node_id))
        self.lands_in_flight = self._lands_in_flight(sim, specs)
        last = np.full(len(cluster.node_id), -1, dtype=np.int64)
        np.maximum.at(last, cluster.pod_node[sim.bound], sim.rank[sim.bound])
        # per node row: the pods not on it that are ahead of its last pod in the queue
        self.ahead = np.searchsorted(sim.base_rank, last)

    def _lands_in_flight(self, sim: _Simulation, specs: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Per node row: one of its pods surely lands on an in-flight node when it is the
        candidate. Known when every pod of the simulation is alike (the same requests and
        the same admitted templates): the first fill takes exactly ``fit(room, request)``
        pods on each node, so the first ``R`` pods of the queue go to the ready nodes (the
        candidate aside) and the next ``F`` to the in-flight ones."""
        cluster = sim._cluster
        n = len(cluster.node_id)
        templates = cluster.node_template[sim.targets]
        admits = cluster.admits[specs][:, templates]
        requests = cluster.requests[specs]
        if not len(specs) or (requests != requests[0]).any() or (admits != admits[0]).any():
            return np.zeros(n, dtype=bool)
        slots = _counts(sim.room, requests[0]) * admits[0]
        ready, flight = int(slots[sim.ready].sum()), int(slots[~sim.ready].sum())
        if not flight:
            return np.zeros(n, dtype=bool)
        on = np.zeros(n, dtype=np.int64)
        on[sim.targets] = slots
        node, rank = cluster.pod_node[sim.bound], sim.rank[sim.bound]
        order = np.lexsort((rank, node))
        node, rank = node[order], rank[order]
        # the pod's place in the queue when its node is the candidate: the rest of the queue
        # ahead of it, and its node's pods ahead of it
        first = np.searchsorted(node, node)
        place = np.searchsorted(sim.base_rank, rank) + np.arange(len(node)) - first
        before = ready - on[node]
        inside = (place >= before) & (place < before + flight)
        lands: NDArray[np.bool_] = np.bincount(node[inside], minlength=n) > 0
        return lands

    def bound(self, room: NDArray[np.int64]) -> NDArray[np.int64]:
        """Per row of ``room``: the most of each resource the pods can take there."""
        limit = np.maximum(room, 0)
        high = np.maximum(self.high, 1)
        pods = np.minimum(_counts(room, self.low)[:, None], limit // high + 1)
        out: NDArray[np.int64] = np.minimum(limit, pods * self.high)
        return out

    def possible(self, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Per node row of ``rows``: whether consolidating that node alone may succeed."""
        cheaper = [
            bisect.bisect_left(self.prices, self.node_price[t])
            for t in self.node_template[rows].tolist()
        ]
        claim = self.claim[cheaper]
        load = self.load[rows]
        freed = self.freed[rows]
        on_ready = (load <= self.free_ready - freed[:, 0]).all(axis=1)
        # pods to fill the other ready nodes, less what the candidate's own pods ahead can fill
        ready, own = self.fill_ready - self.filled[rows], self.pods[rows] - 1
        ok: NDArray[np.bool_] = (
            ~self.lands_in_flight[rows]
            & (load <= self.free_ready - freed[:, 0] + claim).all(axis=1)
            & (load + self.others <= self.free - freed[:, 1] + claim).all(axis=1)
            & (on_ready | (self.ahead[rows] >= self.fill_flight + np.maximum(ready - own, 0)))
        )
        return ok


def _validate(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    candidates: list[_Candidate],
    expired: set[int],
    method: int,
    command: _Found,
    sim: _Simulation,
) -> _Found | None:
    """The command, as it can still be carried out ``VALIDATION_DELAY`` after it was computed,
    or None (validation.go). Emptiness keeps the candidates still empty, candidates and within
    the budget; a consolidation needs all its candidates still candidates within the budget,
    and a new simulation that gives the same decision: a delete still needs no new node, a
    replacement still one node whose options include all the command's."""
    current = {c.node: c for c in candidates}
    if method == 0:  # the same emptiness, over the command's candidates that still are some
        still = [current[n] for n in command.candidates if n in current]
        return _emptiness(karpenter, cluster, now, still, expired, sim)
    if any(n not in current or current[n].pods == 0 for n in command.candidates):
        return None
    chosen = [current[n] for n in command.candidates]
    budget = _budgets(karpenter, cluster, now, "Underutilized", expired)
    if len(_within(budget, chosen)) != len(chosen):
        return None
    again = _consolidate(karpenter, cluster, chosen, sim)
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
    # per NodePool (and -1: no NodePool), when its nodes expire; never: infinite
    expire = np.array(
        [np.inf if p.expire_after is None else p.expire_after for p in karpenter.node_pools]
        + [np.inf]
    )
    pool = karpenter._pool_of[cluster.node_template]
    due = (
        (cluster.node_id >= 0)
        & (cluster.node_state != DRAINING)
        & (now - cluster.launched_at >= expire[pool])
    )
    if not due.any():
        return []
    rows = np.flatnonzero(due)
    rows = rows[np.lexsort((cluster.node_id[rows], pool[rows]))]  # by NodePool, oldest first
    return [Removal(int(n), "expired") for n in cluster.node_id[rows].tolist()]


def _candidates(
    karpenter: Karpenter,
    cluster: ClusterState,
    now: float,
    pods: NDArray[np.int64],
    expired: set[int],
) -> list[_Candidate]:
    """Ready nodes of a NodePool past ``consolidateAfter``, cheapest to disrupt first."""
    rows = cluster.node_rows(READY)
    pool = karpenter._pool_of[cluster.node_template[rows]]
    ids = cluster.node_id[rows]
    held = set(karpenter.replacing_) | set(karpenter.nominated_) | expired
    keep = pool >= 0
    if held:  # statenode.go ValidateNodeDisruptable: nominated, already being deleted
        keep &= ~np.isin(ids, np.fromiter(held, dtype=np.int64, count=len(held)))
    pools = karpenter.node_pools
    after = np.array(
        [np.nan if p.consolidate_after is None else p.consolidate_after for p in pools]
    )
    expire = np.array([np.nan if p.expire_after is None else p.expire_after for p in pools])
    rows, pool, ids = rows[keep], pool[keep], ids[keep]
    wait, lifetime = after[pool], expire[pool]
    changed, ready = cluster.changed_at[rows], cluster.ready_at[rows]
    quiet_since = np.where(ready > changed, ready, changed)  # max(changed, ready), as Python's
    keep = ~np.isnan(wait) & ~(now - quiet_since < wait)
    rows, pool, ids, lifetime = rows[keep], pool[keep], ids[keep], lifetime[keep]
    # lifetime remaining: clamp((expire_after - age) / expire_after, 0, 1); 1 without expiry
    left = (lifetime - (now - cluster.launched_at[rows])) / lifetime
    left = np.where(left < 0.0, 0.0, left)
    left = np.where(left > 1.0, 1.0, left)
    left = np.where(np.isnan(lifetime), 1.0, left)
    count = pods[rows]
    cost = count.astype(np.float64) * left
    order = np.lexsort((ids, cost))
    return [
        _Candidate(node, row, p, n, c)
        for node, row, p, n, c in zip(
            ids[order].tolist(),
            rows[order].tolist(),
            pool[order].tolist(),
            count[order].tolist(),
            cost[order].tolist(),
            strict=True,
        )
    ]


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
    sim: _Simulation,
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
    sim: _Simulation,
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
        plan = _consolidate(karpenter, cluster, movable[: mid + 1], sim)
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
    sim: _Simulation,
) -> _Found | None:
    budget = _budgets(karpenter, cluster, now, "Underutilized", expired)
    movable = [c for c in _underutilized(candidates, karpenter) if budget[c.pool] > 0]
    if not movable:
        return None
    rows = np.array([c.row for c in movable], dtype=np.int64)
    possible = sim.screen(karpenter).possible(rows)
    for c in itertools.compress(movable, possible):
        plan = _consolidate(karpenter, cluster, [c], sim)
        if plan is not None:
            return plan
    return None


def _consolidate(
    karpenter: Karpenter, cluster: ClusterState, chosen: list[_Candidate], sim: _Simulation
) -> _Found | None:
    """Delete ``chosen`` (their pods fit elsewhere) or replace them by one cheaper node; the
    plan and the nodes its simulation placed pods on.

    The simulation (helpers.go ``SimulateScheduling``) places the candidates' pods with the
    pods of nodes marked for deletion and the pending pods, in the queue's order. It fails
    when a pod that is not pending is left unplaced, or when a candidate's pod would need a
    node that is not initialized yet (``UninitializedNodeError``)."""
    ids = {c.node for c in chosen}
    rows = np.array([c.row for c in chosen], dtype=np.int64)
    sim = sim.build()
    pod_rows = sim.pods_of(rows)
    runs, kinds = sim.runs(pod_rows)
    result, targets = karpenter.pack(cluster, runs, ids, targets=sim.nodes)
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
