"""Karpenter: NodePools, batched provisioning of pending pods, and disruption.

Sources (kubernetes-sigs/karpenter): ``pkg/controllers/provisioning/batcher.go``
and ``controller.go`` (batching and the pod trigger), ``scheduling/`` (packing:
see :mod:`elastic.nodes.karpenter_packing`), ``pkg/controllers/disruption/``
(see :mod:`elastic.nodes.karpenter_disruption`), ``pkg/apis/v1/nodepool.go``
(defaults), and the website's concepts pages (nodepools, scheduling, disruption).
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from elastic.core.validate import check_number
from elastic.errors import ParameterError, SimulationError
from elastic.nodes.cluster import (
    BOUND,
    DRAINING,
    LAUNCHING,
    PENDING,
    READY,
    REGISTERED,
    ClusterState,
)
from elastic.nodes.disruption import DisruptionCost
from elastic.nodes.karpenter_nodepool import CONSOLIDATION_POLICIES, NodePool
from elastic.nodes.karpenter_packing import _BIG, Offerings, PackResult, pack
from elastic.nodes.plan import Launch, NodePlan
from elastic.nodes.templates import NodeTemplate

__all__ = [
    "BATCH_IDLE",
    "BATCH_MAX",
    "CANDIDATE",
    "CONSOLIDATION_POLICIES",
    "MOVING",
    "PENDING_POD",
    "POLL_PERIOD",
    "REQUEUE",
    "Karpenter",
    "NodePool",
    "Targets",
]

#: ``BATCH_IDLE_DURATION`` / ``BATCH_MAX_DURATION`` (pkg/operator/options/options.go)
BATCH_IDLE, BATCH_MAX = 1.0, 10.0
#: the disruption controller's ``pollingPeriod`` (pkg/controllers/disruption/controller.go)
POLL_PERIOD = 10.0
#: a pending pod triggers the provisioner again every 10 s (``RequeueAfter`` in
#: pkg/controllers/provisioning/controller.go)
REQUEUE = 10.0
#: the kinds of pods a scheduling simulation places (helpers.go ``SimulateScheduling``):
#: pods of the consolidation candidates, pods of nodes marked for deletion, pending pods
CANDIDATE, MOVING, PENDING_POD = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Targets:
    """The nodes a pack may place pods on, in the order they are tried (``rows``), their
    room, the NodePools' remaining limits, and each node row's position in ``rows`` (-1:
    not a target)."""

    rows: NDArray[np.int64]
    room: NDArray[np.int64]
    limits: NDArray[np.int64]
    position: NDArray[np.int64]


class Karpenter:
    """Karpenter as a node autoscaler: batch pending pods, pack them, launch, consolidate.

    Parameters
    ----------
    node_pools
        The NodePools; an offering may belong to one NodePool only.
    batch_idle, batch_max
        A batch of pending pods opens when a pod triggers the provisioner (it
        becomes pending, or is still pending 10 s after its last trigger) and
        closes ``batch_idle`` seconds after the last trigger or ``batch_max``
        seconds after it opened, whichever is first (defaults 1 s and 10 s).
    interval
        Seconds between two calls of :meth:`step` (the batching resolution).
    consolidation_interval
        Seconds between two disruption passes (upstream ``pollingPeriod``, 10 s).
    spot_to_spot
        Allow replacing a Spot node by a cheaper Spot node (upstream's
        ``SpotToSpotConsolidation`` feature gate, off by default).
    disruption_cost
        Consolidate only when the saving over its horizon exceeds the cost of
        the evictions (:class:`~elastic.nodes.disruption.DisruptionCost`);
        ``None``: Karpenter's rule (any saving).
    origin
        The UTC datetime at which the simulation clock reads 0, for budget
        schedules; ``None``: the clock is Unix time.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.pods import PodSpec
    >>> from elastic.nodes.resources import Resources
    >>> GiB = 2**30
    >>> large = NodeTemplate("m5.large", "m5.large", "on-demand", Resources(1930, 7 * GiB, 29),
    ...                      Decimal("0.096"), group="default")
    >>> xlarge = NodeTemplate("m5.xlarge", "m5.xlarge", "on-demand", Resources(3920, 14 * GiB, 58),
    ...                       Decimal("0.192"), group="default")
    >>> cluster = ClusterState([large, xlarge], [PodSpec("web", Resources.parse("1", "1Gi"))])
    >>> karpenter = Karpenter([NodePool("default", [large, xlarge])])
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(3):
    ...     _ = cluster.add_pod("web", now=0.0)
    >>> karpenter.step(cluster, 0.0, rng).empty      # the batch opens
    True
    >>> karpenter.step(cluster, 1.0, rng).launches   # 1 s idle: it closes; 3 x 1 CPU
    (Launch(template='m5.xlarge', count=1, reason='pending pods', replaces=()),)
    """

    def __init__(
        self,
        node_pools: Sequence[NodePool],
        *,
        batch_idle: float = BATCH_IDLE,
        batch_max: float = BATCH_MAX,
        interval: float = 1.0,
        consolidation_interval: float = POLL_PERIOD,
        spot_to_spot: bool = False,
        disruption_cost: DisruptionCost | None = None,
        origin: datetime | None = None,
    ) -> None:
        owner = "Karpenter"
        if isinstance(node_pools, NodePool) or not all(isinstance(p, NodePool) for p in node_pools):
            raise ParameterError("node_pools", node_pools, "a sequence of NodePool", owner=owner)
        pools = sorted(node_pools, key=lambda p: (-p.weight, p.name))
        if not pools:
            raise ParameterError("node_pools", [], "at least one NodePool", owner=owner)
        names = [p.name for p in pools]
        if len(set(names)) != len(names):
            raise ParameterError("node_pools", names, "NodePools with unique names", owner=owner)
        seen: dict[str, str] = {}
        for pool in pools:
            for template in pool.allowed:
                if template.name in seen:
                    raise ParameterError(
                        "node_pools",
                        template.name,
                        f"an offering in one NodePool only (it is in {seen[template.name]!r} "
                        f"and {pool.name!r})",
                        owner=owner,
                    )
                seen[template.name] = pool.name
        self.node_pools = tuple(pools)
        #: the node shapes it may launch (a simulator builds its cluster with them)
        self.templates = tuple(t for pool in self.node_pools for t in pool.allowed)
        self.batch_idle = check_number(batch_idle, "batch_idle", owner=owner, gt=0)
        self.batch_max = check_number(batch_max, "batch_max", owner=owner, gt=0)
        if self.batch_max < self.batch_idle:
            raise ParameterError(
                "batch_max", batch_max, f"a number >= batch_idle ({batch_idle:g})", owner=owner
            )
        self.interval = check_number(interval, "interval", owner=owner, gt=0)
        self.consolidation_interval = check_number(
            consolidation_interval, "consolidation_interval", owner=owner, gt=0
        )
        if not isinstance(spot_to_spot, bool):
            raise ParameterError("spot_to_spot", spot_to_spot, "True or False", owner=owner)
        self.spot_to_spot = spot_to_spot
        if disruption_cost is not None and not isinstance(disruption_cost, DisruptionCost):
            raise ParameterError(
                "disruption_cost", disruption_cost, "None or a DisruptionCost", owner=owner
            )
        self.disruption_cost = disruption_cost
        if origin is not None and (not isinstance(origin, datetime) or origin.tzinfo is None):
            raise ParameterError(
                "origin", origin, "None or a datetime with a time zone", owner=owner
            )
        self.origin = origin if origin is not None else datetime(1970, 1, 1, tzinfo=UTC)
        # clocks and memory
        self.batch_opened_: float | None = None
        self.batch_last_: float | None = None
        self.triggered_ids_ = np.zeros(0, dtype=np.int64)
        self.triggered_at_ = np.zeros(0)
        self.last_disruption_: float | None = None
        self.replacing_: dict[int, float] = {}  # node id -> when a replacement was asked for
        #: node id -> until when it is nominated for pods a simulation placed on it
        #: (``nominationWindow``: max(2 x batch_max, 10 s), pkg/controllers/state/statenode.go)
        self.nominated_: dict[int, float] = {}
        self.nomination = max(2 * self.batch_max, 10.0)
        #: a command waiting for its validation: (when computed, method index, the command)
        self.command_: tuple[float, int, Any] | None = None
        # (when, cluster state) of the last disruption pass that found nothing to do
        self.consolidated_: tuple[float, int] | None = None
        self._templates: tuple[NodeTemplate, ...] | None = None

    # --- the cluster's templates as arrays ------------------------------------------------------

    def offerings(self, cluster: ClusterState) -> Offerings:
        """The packer's view of ``cluster``'s templates (computed once per template set)."""
        if self._templates is not cluster.templates:
            self._build(cluster)
        return self._offerings

    def _build(self, cluster: ClusterState) -> None:
        templates = cluster.templates
        n = len(templates)
        pools = []
        self._pool_of = np.full(n, -1, dtype=np.int64)
        for p, pool in enumerate(self.node_pools):
            indices = []
            for template in pool.allowed:
                index = cluster.template_index.get(template.name)
                if index is None:
                    raise SimulationError(
                        f"Karpenter: NodePool {pool.name!r} offers template {template.name!r}, "
                        "which the cluster does not have"
                    )
                indices.append(index)
                self._pool_of[index] = p
            pools.append(np.array(sorted(indices), dtype=np.int64))
        daemon = cluster.daemon
        overhead = (cluster.admits[daemon].T.astype(np.int64) @ cluster.requests[daemon]).reshape(
            n, 3
        )
        self._overhead = overhead
        prices = [t.price_per_hour for t in templates]
        order = sorted(range(n), key=lambda i: (prices[i], i))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        self._offerings = Offerings(
            usable=cluster.template_allocatable - overhead,
            capacity=np.array(
                [(1000 * t.vcpu, t.memory_bytes) for t in templates], dtype=np.int64
            ).reshape(n, 2),
            rank=rank,
            spot=np.array([t.capacity_type == "spot" for t in templates], dtype=bool),
            pools=tuple(pools),
        )
        self._templates = templates

    def headroom(self, cluster: ClusterState, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """Free resources of ``rows``, less the daemon pods still to arrive on them."""
        template = cluster.node_template[rows]
        missing = np.maximum(self._overhead[template] - cluster.daemon_requested[rows], 0)
        room: NDArray[np.int64] = cluster.allocatable[rows] - cluster.requested[rows] - missing
        return room

    def remaining_limits(self, cluster: ClusterState) -> NDArray[np.int64]:
        """Per NodePool: (cpu, memory) capacity it may still launch."""
        limits = np.full((len(self.node_pools), 2), _BIG, dtype=np.int64)
        rows = cluster.node_rows()
        owner = self._pool_of[cluster.node_template[rows]]
        used = self._offerings.capacity[cluster.node_template[rows]]
        for p, pool in enumerate(self.node_pools):
            if pool.limits is not None:
                limits[p] = np.array(pool.limits) - used[owner == p].sum(axis=0)
        return limits

    def at(self, now: float) -> datetime:
        """The UTC datetime of simulation time ``now``."""
        return self.origin + timedelta(seconds=now)

    # --- the step -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        # what a run's facts describe it by: the same in every process (no object address)
        pools = ", ".join(f"{p.name}[{len(p.allowed)} offerings]" for p in self.node_pools)
        return f"Karpenter(node_pools=[{pools}], interval={self.interval:g})"

    def step(self, cluster: ClusterState, now: float, rng: np.random.Generator) -> NodePlan:
        """Batch, provision at a batch's close, then (every ``consolidation_interval``) disrupt."""
        from elastic.nodes.karpenter_disruption import disrupt

        self.offerings(cluster)
        notes: list[str] = []
        self.nominated_ = {n: t for n, t in self.nominated_.items() if t > now}
        rows = self.pending_rows(cluster)
        launches: tuple[Launch, ...] = ()
        if self._batch(cluster.pod_id[rows], now):
            launches, unplaced = self._provision(cluster, now)
            notes += unplaced
            self.batch_opened_ = self.batch_last_ = None
        plan = disrupt(self, cluster, now)
        notes += [plan.note] if plan.note else []
        return NodePlan(launches + plan.launches, plan.removals, "; ".join(notes))

    def _batch(self, pending: NDArray[np.int64], now: float) -> bool:
        """Record the triggers of the pending pods; whether the batch closes now."""
        ids = np.sort(pending)
        known_ids, known_at = self.triggered_ids_, self.triggered_at_
        where = np.searchsorted(known_ids, ids)
        where = np.minimum(where, max(len(known_ids) - 1, 0))
        known = (known_ids[where] == ids) if len(known_ids) else np.zeros(len(ids), dtype=bool)
        last = np.where(known, known_at[where] if len(known_ids) else 0.0, -np.inf)
        fired = ~known | (now - last >= REQUEUE)
        self.triggered_ids_ = ids
        self.triggered_at_ = np.where(fired, now, last)
        if fired.any():
            if self.batch_opened_ is None:
                self.batch_opened_ = now
            self.batch_last_ = now
        if self.batch_opened_ is None or self.batch_last_ is None:
            return False
        return (
            now - self.batch_last_ >= self.batch_idle or now - self.batch_opened_ >= self.batch_max
        )

    @staticmethod
    def pending_rows(cluster: ClusterState) -> NDArray[np.int64]:
        """Pod rows of the pending pods, daemon pods aside."""
        rows = np.flatnonzero((cluster.pod_id >= 0) & (cluster.pod_state == PENDING))
        out: NDArray[np.int64] = rows[~cluster.daemon[cluster.pod_spec[rows]]]
        return out

    def moving_rows(self, cluster: ClusterState) -> NDArray[np.int64]:
        """Pod rows of the bound pods (daemon pods aside) on nodes marked for deletion: being
        replaced, or draining. Upstream's provisioner and consolidation schedule them with the
        pending pods (``nodes.Deleting().CurrentlyReschedulablePods``)."""
        rows = cluster.node_rows(READY, DRAINING)
        marked = cluster.node_state[rows] == DRAINING
        if self.replacing_:
            ids = np.fromiter(self.replacing_, dtype=np.int64)
            marked |= np.isin(cluster.node_id[rows], ids)
        if not marked.any():
            return np.zeros(0, dtype=np.int64)
        pods = np.flatnonzero(
            (cluster.pod_id >= 0) & (cluster.pod_state == BOUND) & ~cluster.daemon[cluster.pod_spec]
        )
        out: NDArray[np.int64] = pods[np.isin(cluster.pod_node[pods], rows[marked])]
        return out

    def kind_runs(
        self, cluster: ClusterState, groups: Sequence[NDArray[np.int64]]
    ) -> tuple[list[tuple[int, int]], list[int]]:
        """Pod rows of several kinds (``groups[k]``: the rows of kind ``k``: ``CANDIDATE``,
        ``MOVING``, ``PENDING_POD``) as runs in the
        queue's order (CPU, then memory, descending; then creation: the pod id), each run of
        one spec and one kind; and the kind of each run."""
        rows = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
        if not len(rows):
            return [], []
        kinds = np.concatenate([np.full(len(g), k, dtype=np.int64) for k, g in enumerate(groups)])
        specs = cluster.pod_spec[rows]
        req = cluster.requests[specs]
        order = np.lexsort((cluster.pod_id[rows], -req[:, 1], -req[:, 0]))
        specs, kinds = specs[order], kinds[order]
        starts = np.flatnonzero(
            np.concatenate([[True], (specs[1:] != specs[:-1]) | (kinds[1:] != kinds[:-1])])
        )
        ends = np.append(starts[1:], len(specs))
        runs = [(int(specs[a]), int(b - a)) for a, b in zip(starts, ends, strict=True)]
        return runs, [int(kinds[a]) for a in starts]

    def nominate(
        self, cluster: ClusterState, result: PackResult, rows: NDArray[np.int64], now: float
    ) -> None:
        """Nominate the nodes a simulation placed pods on (``Results.Record``): they are not
        disruption candidates for the nomination window."""
        for _, row, _ in result.on_nodes:
            self.nominated_[int(cluster.node_id[rows[row]])] = now + self.nomination

    def runs(
        self, cluster: ClusterState, specs: NDArray[np.int64], ids: NDArray[np.int64]
    ) -> list[tuple[int, int]]:
        """Pods grouped by spec, in the queue's order: CPU, then memory, descending; ties by the
        spec's oldest pod (upstream: creation time, then UID)."""
        if not len(specs):
            return []
        counts = np.bincount(specs, minlength=len(cluster.specs))
        first = np.full(len(cluster.specs), np.iinfo(np.int64).max)
        np.minimum.at(first, specs, ids)
        present = np.flatnonzero(counts)
        req = cluster.requests[present]
        order = np.lexsort((first[present], -req[:, 1], -req[:, 0]))
        return [(int(present[i]), int(counts[present[i]])) for i in order]

    def target_rows(
        self, cluster: ClusterState, exclude: Set[int] = frozenset()
    ) -> NDArray[np.int64]:
        """Nodes pods may be placed on: ready ones first, then in-flight ones, oldest first."""
        ready = cluster.node_rows(READY)
        flight = cluster.node_rows(LAUNCHING, REGISTERED)
        rows = np.concatenate([ready, flight])
        if exclude:
            keep = ~np.isin(cluster.node_id[rows], np.fromiter(exclude, dtype=np.int64))
            rows = rows[keep]
        return rows

    def pack(
        self,
        cluster: ClusterState,
        runs: list[tuple[int, int]],
        exclude: Set[int] = frozenset(),
        *,
        targets: Targets | None = None,
    ) -> tuple[PackResult, NDArray[np.int64]]:
        """Pack ``runs`` onto the cluster's nodes (less ``exclude``) and new claims.

        ``targets``: the nodes as :meth:`targets` gives them, when a caller packs several
        times on one cluster state; ``exclude`` is then masked out, and the positions in the
        result index ``targets.rows``."""
        offerings = self.offerings(cluster)
        if targets is None:
            targets = self.targets(cluster, exclude)
            ok = np.ones(len(targets.rows), dtype=bool)
        else:
            ok = np.ones(len(targets.rows), dtype=bool)
            where = targets.position[[cluster.row_of(n) for n in exclude]]
            ok[where[where >= 0]] = False
        result = pack(
            runs,
            cluster.requests,
            cluster.admits,
            offerings,
            targets.room.copy(),
            ok,
            cluster.node_template[targets.rows],
            targets.limits.copy(),
        )
        return result, targets.rows

    def targets(self, cluster: ClusterState, exclude: Set[int] = frozenset()) -> Targets:
        """The nodes a pack may place pods on (:meth:`target_rows`, less ``exclude`` and the
        nodes being replaced), their room, and the NodePools' remaining limits.

        Examples
        --------
        >>> from decimal import Decimal
        >>> from elastic.nodes.pods import PodSpec
        >>> from elastic.nodes.resources import Resources
        >>> large = NodeTemplate("m5.large", "m5.large", "on-demand",
        ...                      Resources(1930, 7 * 2**30, 29), Decimal("0.096"))
        >>> cluster = ClusterState([large], [PodSpec("web", Resources.parse("1", "1Gi"))])
        >>> first, second = cluster.add_node("m5.large", 0.0), cluster.add_node("m5.large", 0.0)
        >>> cluster.set_node_state(second, READY, 1.0)
        >>> karpenter = Karpenter([NodePool("default", [large])])
        >>> nodes = karpenter.targets(cluster)   # ready nodes first, then in-flight ones
        >>> [int(cluster.node_id[row]) for row in nodes.rows], nodes.room[:, 0].tolist()
        ([1, 0], [1930, 1930])
        >>> result, rows = karpenter.pack(cluster, [(0, 3)], {second}, targets=nodes)
        >>> [(int(cluster.node_id[rows[row]]), count) for _, row, count in result.on_nodes]
        [(0, 1)]
        """
        self.offerings(cluster)
        rows = self.target_rows(cluster, exclude | set(self.replacing_))
        position = np.full(len(cluster.node_id), -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        return Targets(rows, self.headroom(cluster, rows), self.remaining_limits(cluster), position)

    def _provision(self, cluster: ClusterState, now: float) -> tuple[tuple[Launch, ...], list[str]]:
        """A batch closes: schedule the pending pods and the pods of nodes marked for deletion
        (provisioner.go ``Schedule``); launches, and notes on the pending pods left pending."""
        groups = [
            np.zeros(0, dtype=np.int64),
            self.moving_rows(cluster),
            self.pending_rows(cluster),
        ]
        runs, kinds = self.kind_runs(cluster, groups)
        result, rows = self.pack(cluster, runs)
        self.nominate(cluster, result, rows, now)
        launches = self._launches(cluster, result)
        notes = [
            f"{count} pod(s) of {cluster.specs[spec].name} left pending: {why}"
            for (spec, count, why), run in zip(result.unplaced, result.unplaced_runs, strict=True)
            if kinds[run] == PENDING_POD
        ]
        return launches, notes

    def _launches(self, cluster: ClusterState, result: PackResult) -> tuple[Launch, ...]:
        chosen: dict[int, int] = {}
        for claim in result.claims:
            template = claim.choice(self._offerings)
            chosen[template] = chosen.get(template, 0) + 1
        return tuple(
            Launch(cluster.templates[t].name, count, "pending pods")
            for t, count in sorted(chosen.items())
        )

    def provision(
        self, cluster: ClusterState, specs: NDArray[np.int64], ids: NDArray[np.int64]
    ) -> tuple[tuple[Launch, ...], list[str], int]:
        """Launches for the pending pods, notes on those left pending, and how many are."""
        result, _ = self.pack(cluster, self.runs(cluster, specs, ids))
        launches = self._launches(cluster, result)
        notes = [
            f"{count} pod(s) of {cluster.specs[spec].name} left pending: {why}"
            for spec, count, why in result.unplaced
        ]
        return launches, notes, sum(count for _, count, _ in result.unplaced)

    def pods_per_node(self, cluster: ClusterState) -> NDArray[np.int64]:
        """Per node row: its bound pods that are not daemon pods (what a move evicts)."""
        rows = np.flatnonzero(
            (cluster.pod_id >= 0) & (cluster.pod_state == BOUND) & ~cluster.daemon[cluster.pod_spec]
        )
        counts: NDArray[np.int64] = np.bincount(
            cluster.pod_node[rows], minlength=len(cluster.node_id)
        )
        return counts
