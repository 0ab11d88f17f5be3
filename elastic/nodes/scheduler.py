"""The scheduler: kube-scheduler's filter-then-score, vectorized over the nodes of a cluster.

For each pending pod, in queue order: **filter** the nodes it may go to
(:meth:`ClusterState.fits <elastic.nodes.cluster.ClusterState.fits>`: node
ready and not cordoned, node selector and affinity, taints, resources and
max pods), **score** the nodes that pass, and bind the pod to the best one.
The scores are upstream's, with its integer arithmetic
(kubernetes/kubernetes ``pkg/scheduler/framework/plugins/``):

- ``noderesources/least_allocated.go``: per resource (cpu, memory; weight 1
  each) ``(allocatable - requested) * 100 // allocatable`` (0 when
  requested > allocatable), then ``sum(score * weight) // sum(weight)``,
  resources with allocatable 0 left out;
- ``noderesources/most_allocated.go``: ``min(requested, allocatable) * 100
  // allocatable``, combined the same way;
- ``noderesources/balanced_allocation.go``: the fractions ``requested /
  allocatable`` (floats, capped at 1) of cpu and memory, ``std = |f_cpu -
  f_mem| / 2``, score ``int((1 - std) * 100)``; skipped (0) for a pod that
  requests neither cpu nor memory;
- ``tainttoleration/taint_toleration.go``: the count of ``PreferNoSchedule``
  taints the pod does not tolerate, normalized over the feasible nodes and
  reversed (``helper/normalize_score.go``): ``100 - 100 * count // max``,
  all 100 when no feasible node has one.

"requested" is the node's requests **plus the pod's own**
(``noderesources/resource_allocation.go``). LeastAllocated and
MostAllocated count a pod that requests no cpu as 100m and no memory as
200 MiB (``GetNonZeroRequested``; ``pkg/scheduler/util``'s
``DefaultMilliCPURequest``/``DefaultMemoryRequest``); BalancedAllocation
counts requests as they are. The total is ``sum(plugin score * weight)``
with the default profile's weights (``pkg/scheduler/apis/config/v1/
default_plugins.go``): NodeResourcesFit 1, NodeResourcesBalancedAllocation
1, TaintToleration 3. The default strategy is that profile:
``LeastAllocated+BalancedAllocation``.

Ties: upstream picks at random among the best nodes (``selectHost``); we
pick the lowest node id (the oldest node), so a run is reproducible.
Upstream scores only a sample of the feasible nodes in large clusters
(``percentageOfNodesToScore``); we score them all.

DaemonSet pods (``PodSpec.daemon``) are not scored: upstream pins each one
to its node. Here a pending daemon pod goes to the oldest registered node
(registered, ready or cordoned: daemon pods tolerate not-ready and
unschedulable nodes) that admits it, has room and runs no pod of its spec
yet.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from elastic.core.validate import check_choice, check_number
from elastic.errors import ParameterError, SimulationError
from elastic.nodes.cluster import DRAINING, PENDING, READY, REGISTERED, ClusterState

__all__ = [
    "DEFAULT_MEMORY_REQUEST",
    "DEFAULT_MILLI_CPU_REQUEST",
    "DEFAULT_STRATEGY",
    "MAX_NODE_SCORE",
    "NO_NODES",
    "STRATEGIES",
    "TAINT_TOLERATION_WEIGHT",
    "Schedule",
    "Scheduler",
]

#: ``fwk.MaxNodeScore``: every plugin scores a node in [0, 100]
MAX_NODE_SCORE = 100
#: the default profile's weight of TaintToleration (NodeResourcesFit and
#: BalancedAllocation weigh 1): ``apis/config/v1/default_plugins.go``
TAINT_TOLERATION_WEIGHT = 3
#: what LeastAllocated/MostAllocated count for a pod without requests (``pkg/scheduler/util``)
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
STRATEGIES: tuple[str, ...] = (
    "LeastAllocated+BalancedAllocation",
    "LeastAllocated",
    "MostAllocated",
    "BalancedAllocation",
    "MostAllocated+BalancedAllocation",
)
#: kube-scheduler's default profile: NodeResourcesFit (LeastAllocated) and BalancedAllocation
DEFAULT_STRATEGY = STRATEGIES[0]
#: upstream's ``ErrNoNodesAvailable`` (``pkg/scheduler/schedule_one.go``)
NO_NODES = "no nodes available to schedule pods"

# filter reasons, as upstream words them (plugins' ErrReason* constants)
_UNSCHEDULABLE = "node(s) were unschedulable"  # nodeunschedulable
_MISMATCH = "node(s) didn't match Pod's node affinity/selector"  # nodeaffinity
_NOT_READY = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
_RESOURCE_REASONS = ((2, "Too many pods"), (0, "Insufficient cpu"), (1, "Insufficient memory"))
_REGISTERED_STATES = (REGISTERED, READY, DRAINING)
#: how many pods of one spec a pass scores ahead on each node at once (see ``_SpecRun``)
_AHEAD = 16


@dataclass(frozen=True)
class Schedule:
    """What one scheduling pass decided: which pod goes to which node, and why the rest wait.

    Parameters
    ----------
    time
        When the pass ran (the simulator's clock).
    bindings
        ``(pod_id, node_id)`` in the order the pods were placed (queue order).
    unschedulable
        ``pod_id -> reason`` for each pod left pending, worded as kube-scheduler's
        ``FailedScheduling`` event (``"0/3 nodes are available: 2 Insufficient cpu, ..."``).
    """

    time: float
    bindings: list[tuple[int, int]] = field(default_factory=list)
    unschedulable: dict[int, str] = field(default_factory=dict)


class Scheduler:
    """kube-scheduler's filter and score, over every node at once, with a deterministic tie-break.

    Parameters
    ----------
    strategy
        The score plugins: ``"LeastAllocated+BalancedAllocation"`` (the default:
        kube-scheduler's default profile), ``"LeastAllocated"`` (spreads),
        ``"MostAllocated"`` (packs), ``"BalancedAllocation"`` or
        ``"MostAllocated+BalancedAllocation"``. TaintToleration's score of
        ``PreferNoSchedule`` taints (weight 3) is always added, as in every
        upstream profile.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes import ClusterState, NodeTemplate, PodSpec, Resources
    >>> from elastic.nodes.cluster import READY
    >>> node = NodeTemplate("m5.large", "m5.large", "on-demand",
    ...                     Resources(2000, 8 * 2**30, 29), Decimal("0.096"))
    >>> web = PodSpec("web", Resources.parse(cpu="500m", memory="1Gi"))
    >>> cluster = ClusterState([node], [web])
    >>> for _ in range(2):
    ...     cluster.set_node_state(cluster.add_node("m5.large", now=0.0), READY, now=60.0)
    >>> pods = [cluster.add_pod("web", now=60.0) for _ in range(3)]
    >>> Scheduler().schedule(cluster, now=61.0).bindings  # spreads, oldest node first
    [(0, 0), (1, 1), (2, 0)]
    >>> Scheduler("MostAllocated").schedule(cluster, now=61.0).bindings  # packs
    [(0, 0), (1, 0), (2, 0)]
    """

    def __init__(self, strategy: str = DEFAULT_STRATEGY) -> None:
        self.strategy = check_choice(strategy, "strategy", STRATEGIES, owner="Scheduler")
        parts = self.strategy.split("+")
        self._fit = parts[0] if parts[0] != "BalancedAllocation" else ""
        self._balanced = "BalancedAllocation" in parts

    def __repr__(self) -> str:
        return f"Scheduler({self.strategy!r})"

    # --- one pod --------------------------------------------------------------------------------

    def scores(
        self,
        cluster: ClusterState,
        spec: int,
        mask: NDArray[np.bool_] | None = None,
        headroom: NDArray[np.int64] | None = None,
    ) -> NDArray[np.int64]:
        """Per row: the weighted score of placing one pod of spec index ``spec`` there.

        Only meaningful where ``mask`` (default: the rows the pod may go to, as
        :meth:`place` filters them); TaintToleration normalizes over ``mask``.
        ``headroom``: what is free per row, for a caller simulating placements.
        """
        spec = _check_spec(cluster, spec)
        room = _check_headroom(cluster, headroom)
        if mask is None:
            mask = self._mask(cluster, spec, room)
        elif not (
            isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == room.shape[:1]
        ):
            raise ParameterError(
                "mask", mask, f"a boolean array of {room.shape[0]} rows", owner="Scheduler"
            )
        resource = self._resource_scores(
            cluster, spec, cluster.allocatable, room, _nonzero_extra(cluster),
            _nonzero_bump(cluster)[spec],
        )  # fmt: skip
        counts = _prefer_no_schedule_counts(cluster, spec)[cluster.node_template]
        scores: NDArray[np.int64] = resource + TAINT_TOLERATION_WEIGHT * _taint_scores(counts, mask)
        return scores

    def place(
        self, cluster: ClusterState, spec: int, headroom: NDArray[np.int64] | None = None
    ) -> int | None:
        """The row one pod of spec index ``spec`` would be bound to, or None when none fits.

        The best score wins; among equals, the lowest node id (the oldest node).
        A daemon pod goes to the oldest registered node that has room and runs
        no pod of its spec (among the cluster's bound pods).
        """
        spec = _check_spec(cluster, spec)
        room = _check_headroom(cluster, headroom)
        mask = self._mask(cluster, spec, room)
        rows = cluster.node_rows()
        rows = rows[mask[rows]]
        if not len(rows):
            return None
        if cluster.daemon[spec]:
            return int(rows[0])
        scores = self.scores(cluster, spec, mask, room)
        return int(rows[np.argmax(scores[rows])])  # argmax: the first best, the lowest id

    # --- a pass over the pending pods ---------------------------------------------------------

    def schedule(
        self, cluster: ClusterState, now: float, pods: Sequence[int] | None = None
    ) -> Schedule:
        """Decide where the pending pods go, in queue order, without changing ``cluster``.

        Each pod sees the placements decided before it in the pass (they are
        made on a copy of the headroom). Pods of a spec that found no node
        are left with the reason built once for that spec: the pass only
        takes room, so a later pod of the spec cannot fit either.

        ``pods``: the pending pods to place, in order (default: every pending
        pod, in the order it became pending).
        """
        time = check_number(now, "now", owner="Scheduler")
        ids, specs = _pending_pods(cluster, pods)
        order = cluster.node_rows()  # live nodes, oldest first: positions in the pass
        room = cluster.headroom().copy()
        extra = _nonzero_extra(cluster)
        bump = _nonzero_bump(cluster)
        placed: list[tuple[int, int]] = []  # (position, spec), in the order pods were placed
        runs: dict[int, _SpecRun] = {}
        failed: dict[int, str] = {}
        bindings: list[tuple[int, int]] = []
        unschedulable: dict[int, str] = {}
        node_ids = cluster.node_id[order].tolist()
        streaks = _streaks(specs)
        for pod, spec in zip(ids, specs, strict=True):
            reason = failed.get(spec)
            if reason is not None:
                unschedulable[pod] = reason
                continue
            run = runs.get(spec)
            if run is None:
                run = runs[spec] = _SpecRun(
                    self, cluster, spec, order, room, extra, len(placed), streaks[spec]
                )
            else:
                run.refresh(placed, room, extra)
            position = run.best()
            if position < 0:
                failed[spec] = unschedulable[pod] = _reason(cluster, spec, order, room, run.runs)
                continue
            row = order[position]
            room[row] -= cluster.requests[spec]
            extra[row] += bump[spec]
            run.took(position)
            placed.append((position, spec))
            bindings.append((pod, node_ids[position]))
        return Schedule(time, bindings, unschedulable)

    # --- internals ------------------------------------------------------------------------------

    def _mask(self, cluster: ClusterState, spec: int, room: NDArray[np.int64]) -> NDArray[np.bool_]:
        if not cluster.daemon[spec]:
            return cluster.fits(spec, room)
        registered = (cluster.node_id >= 0) & np.isin(cluster.node_state, _REGISTERED_STATES)
        mask: NDArray[np.bool_] = (
            registered
            & cluster.admits[spec, cluster.node_template]
            & (room >= cluster.requests[spec]).all(axis=1)
            & ~_runs_spec(cluster, spec)
        )
        return mask

    def _resource_scores(
        self,
        cluster: ClusterState,
        spec: int,
        allocatable: NDArray[np.int64],
        room: NDArray[np.int64],
        extra: NDArray[np.int64],
        bump: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """NodeResourcesFit's and BalancedAllocation's weighted scores of one pod of ``spec``
        on nodes with ``allocatable``, free ``room`` and bound pods' default requests
        ``extra`` (the last axis is the resources; the others broadcast; ``bump``: what
        the spec's own requests count as for NodeResourcesFit)."""
        allocatable = allocatable[..., :2]
        request = cluster.requests[spec, :2]
        requested = allocatable - room[..., :2] + request
        total = np.zeros(requested.shape[:-1], dtype=np.int64)
        if self._fit:
            nonzero = requested + extra + bump
            total += _fit_score(nonzero, allocatable, most=self._fit == "MostAllocated")
        if self._balanced and request.any():  # a best-effort pod skips it upstream
            total += _balanced_score(requested, allocatable)
        return total


class _SpecRun:
    """The filter and scores of one spec over the pass's positions, kept up to date.

    A node's filter and score for the next pod of the spec depend only on what
    the pass placed on it; so each node is scored for its next ``ahead`` pods
    of the spec at once (one vectorized call for all nodes), and a node is
    scored again only when a pod of another spec went there or it took all
    ``ahead``: a pod costs a few lookups, not numpy calls on one row.
    ``ahead`` is at most the spec's longest streak of consecutive pods in the
    queue (``streak``): where specs alternate, pods of the others make most of
    what was scored ahead stale.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        cluster: ClusterState,
        spec: int,
        order: NDArray[np.int64],
        room: NDArray[np.int64],
        extra: NDArray[np.int64],
        seen: int,
        streak: int,
    ) -> None:
        self.scheduler = scheduler
        self.cluster = cluster
        self.spec = spec
        self.order = order
        self.daemon = bool(cluster.daemon[spec])
        self.request = cluster.requests[spec]
        self.bump = _nonzero_bump(cluster)[spec]
        self.feasible = scheduler._mask(cluster, spec, room)[order]
        # per position: the node runs a pod of this spec (bound, or placed in this pass)
        self.runs = _runs_spec(cluster, spec)[order]
        self.seen = seen
        n = len(order)
        # per position: the resource score and the resource fit after k more pods of the spec
        # (k < ahead), and k: how many the pass placed there since
        self.ahead = max(1, min(_AHEAD, streak))
        steps = np.arange(self.ahead)[:, None]  # k, for a node's room and default requests
        self.room_steps = steps * self.request
        self.extra_steps = steps * self.bump
        self.ahead_scores = np.zeros((n, self.ahead), dtype=np.int64)
        self.ahead_fits = np.zeros((n, self.ahead), dtype=bool)
        self.taken = np.zeros(n, dtype=np.int64)
        self._score_ahead(np.arange(n), room, extra)
        self.resource = self.ahead_scores[:, 0].copy()
        if self.daemon:  # not scored: the oldest feasible node
            self.counts = np.zeros(n, dtype=np.int64)
        else:
            self.counts = _prefer_no_schedule_counts(cluster, spec)[cluster.node_template[order]]
        self.taint_varies = bool(self.counts.any())
        self.taint = _taint_scores(self.counts, self.feasible)
        self.masked = np.where(self.feasible, self._total(), -1)

    def _total(self) -> NDArray[np.int64]:
        total: NDArray[np.int64] = self.resource + TAINT_TOLERATION_WEIGHT * self.taint
        return total

    def _score_ahead(
        self, positions: NDArray[np.intp], room: NDArray[np.int64], extra: NDArray[np.int64]
    ) -> None:
        """Score the nodes at ``positions`` for their next ``ahead`` pods of the spec."""
        rows = self.order[positions]
        rooms = room[rows, None, :] - self.room_steps  # [position, k, resource]
        self.ahead_fits[positions] = (rooms >= self.request).all(axis=-1)
        if not self.daemon:
            self.ahead_scores[positions] = self.scheduler._resource_scores(
                self.cluster,
                self.spec,
                self.cluster.allocatable[rows, None, :],
                rooms,
                extra[rows, None, :] + self.extra_steps,
                self.bump,
            )
        self.taken[positions] = 0

    def refresh(
        self, placed: list[tuple[int, int]], room: NDArray[np.int64], extra: NDArray[np.int64]
    ) -> None:
        """Catch up with the pods placed since the run last looked (``(position, spec)``)."""
        if self.seen == len(placed):
            return
        changed: dict[int, None] = {}  # positions, once each
        stale: list[int] = []  # positions to score again from ``room`` and ``extra``
        for position, spec in placed[self.seen :]:
            changed[position] = None
            if spec != self.spec:
                stale.append(position)
            else:
                self.taken[position] += 1
                if self.taken[position] >= self.ahead:
                    stale.append(position)
        self.seen = len(placed)
        if stale:
            self._score_ahead(np.asarray(stale, dtype=np.intp), room, extra)
        dropped = False  # a node stopped passing the filter
        for position in changed:
            k = self.taken[position]
            was = bool(self.feasible[position])
            now = was and bool(self.ahead_fits[position, k])
            self.feasible[position] = now
            self.resource[position] = self.ahead_scores[position, k]
            dropped = dropped or (was and not now)
        if self.taint_varies and dropped:  # the normalization's max may move
            self.taint = _taint_scores(self.counts, self.feasible)
            self.masked = np.where(self.feasible, self._total(), -1)
            return
        for position in changed:
            self.masked[position] = (
                self.resource[position] + TAINT_TOLERATION_WEIGHT * self.taint[position]
                if self.feasible[position]
                else -1
            )

    def took(self, position: int) -> None:
        """A pod of this spec was placed at ``position``: a daemon spec is done there."""
        self.runs[position] = True
        if self.daemon:
            self.feasible[position] = False
            self.masked[position] = -1

    def best(self) -> int:
        if not len(self.masked):
            return -1
        position = int(np.argmax(self.masked))  # the first best: the lowest node id
        return position if self.masked[position] >= 0 else -1


def _streaks(specs: Sequence[int]) -> dict[int, int]:
    """Per spec: its longest run of consecutive pods in the queue ``specs``."""
    longest: dict[int, int] = {}
    for spec, run in itertools.groupby(specs):
        longest[spec] = max(longest.get(spec, 0), sum(1 for _ in run))
    return longest


# --- score formulas (upstream's integer arithmetic) --------------------------------------------


def _fit_score(
    requested: NDArray[np.int64], allocatable: NDArray[np.int64], *, most: bool
) -> NDArray[np.int64]:
    """LeastAllocated (or MostAllocated) over cpu and memory, weight 1 each, per row
    (the last axis is cpu, memory; the others broadcast).

    A resource with nothing allocatable is left out of the sum and of the
    weights (its term below is 0 either way).
    """
    # requested > allocatable: MostAllocated counts it full, LeastAllocated scores 0
    used = np.minimum(requested, allocatable) if most else np.maximum(allocatable - requested, 0)
    per = used * MAX_NODE_SCORE // np.maximum(allocatable, 1)
    weights = (allocatable > 0).sum(axis=-1)
    score: NDArray[np.int64] = per.sum(axis=-1) // np.maximum(weights, 1)
    return score


def _balanced_score(
    requested: NDArray[np.int64], allocatable: NDArray[np.int64]
) -> NDArray[np.int64]:
    """BalancedAllocation over cpu and memory: ``int((1 - |f_cpu - f_mem| / 2) * 100)``
    (the last axis is cpu, memory; the others broadcast)."""
    fraction = np.minimum(requested / np.maximum(allocatable, 1), 1.0)  # float64, as upstream
    std = np.abs((fraction[..., 0] - fraction[..., 1]) / 2)
    std = np.where((allocatable == 0).any(axis=-1), 0.0, std)  # one resource (or none): std 0
    score: NDArray[np.int64] = ((1 - std) * float(MAX_NODE_SCORE)).astype(np.int64)
    return score


def _taint_scores(counts: NDArray[np.int64], mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """TaintToleration: intolerable PreferNoSchedule counts, normalized over ``mask``, reversed."""
    highest = int(counts[mask].max()) if mask.any() else 0
    if highest == 0:
        return np.full(len(counts), MAX_NODE_SCORE, dtype=np.int64)
    score: NDArray[np.int64] = MAX_NODE_SCORE - MAX_NODE_SCORE * counts // highest
    return score


# --- facts per spec and per node ---------------------------------------------------------------


def _prefer_no_schedule_counts(cluster: ClusterState, spec: int) -> NDArray[np.int64]:
    """Per template: how many PreferNoSchedule taints a pod of ``spec`` does not tolerate."""
    tolerations = cluster.specs[spec].tolerations
    return np.array(
        [
            sum(
                1
                for taint in template.taints
                if taint.effect == "PreferNoSchedule"
                and not any(t.tolerates(taint) for t in tolerations)
            )
            for template in cluster.templates
        ],
        dtype=np.int64,
    )


def _nonzero_bump(cluster: ClusterState) -> NDArray[np.int64]:
    """Per spec: what GetNonZeroRequested adds to its cpu and memory requests (0 when set)."""
    requests = cluster.requests[:, :2]
    defaults = np.array([DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST], dtype=np.int64)
    bump: NDArray[np.int64] = np.where(requests == 0, defaults, 0)
    return bump


def _nonzero_extra(cluster: ClusterState) -> NDArray[np.int64]:
    """Per row: the bound pods' default requests counted by LeastAllocated/MostAllocated."""
    extra = np.zeros((len(cluster.node_id), 2), dtype=np.int64)
    bump = _nonzero_bump(cluster)
    if bump.any():
        held = (cluster.pod_id >= 0) & (cluster.pod_state != PENDING)
        np.add.at(extra, cluster.pod_node[held], bump[cluster.pod_spec[held]])
    return extra


def _runs_spec(cluster: ClusterState, spec: int) -> NDArray[np.bool_]:
    """Per row: the node holds a pod of ``spec`` (bound or terminating)."""
    runs = np.zeros(len(cluster.node_id), dtype=bool)
    held = (cluster.pod_id >= 0) & (cluster.pod_state != PENDING) & (cluster.pod_spec == spec)
    runs[cluster.pod_node[held]] = True
    return runs


def _reason(
    cluster: ClusterState,
    spec: int,
    order: NDArray[np.int64],
    room: NDArray[np.int64],
    runs: NDArray[np.bool_],
) -> str:
    """kube-scheduler's FitError message for a pod of ``spec`` that fits no node.

    Filters run in the default profile's order, and a node fails at the
    first one that rejects it (NodeUnschedulable, TaintToleration,
    NodeAffinity, NodeResourcesFit); NodeResourcesFit gives every resource
    that is short. Reasons are counted over the nodes and sorted as strings
    (``FitError.Error`` in ``framework/types.go``). Nodes still launching are
    not registered, so not counted; a registered node not ready yet carries
    the ``node.kubernetes.io/not-ready`` taint. ``runs``: per position, the
    node runs a pod of ``spec`` already (what rules a daemon pod out).
    """
    daemon = bool(cluster.daemon[spec])
    state = cluster.node_state[order]
    template = cluster.node_template[order]
    left = np.isin(state, _REGISTERED_STATES)
    nodes = int(left.sum())
    if nodes == 0:
        return NO_NODES
    reasons: Counter[str] = Counter()

    def reject(reason: str, where: NDArray[np.bool_]) -> None:
        nonlocal left
        count = int((where & left).sum())
        if count:
            reasons[reason] += count
            left = left & ~where

    if not daemon:  # daemon pods tolerate unschedulable and not-ready nodes
        reject(_UNSCHEDULABLE, state == DRAINING)
        reject(_NOT_READY, state == REGISTERED)
    pod = cluster.specs[spec]
    by_taint: dict[str, list[int]] = {}
    for index, t in enumerate(cluster.templates):
        for taint in t.taints:
            if taint.repels and not any(tol.tolerates(taint) for tol in pod.tolerations):
                key = f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
                by_taint.setdefault(key, []).append(index)
                break  # upstream reports the first untolerated taint
    for reason, templates in by_taint.items():
        reject(reason, np.isin(template, templates))
    mismatch = np.array([not pod.accepts(t.labels, ()) for t in cluster.templates], dtype=bool)
    elsewhere = mismatch[template]
    if daemon:  # upstream pins a daemon pod to one node: the others fail its affinity
        elsewhere = elsewhere | runs
    reject(_MISMATCH, elsewhere)
    short = room[order] < cluster.requests[spec]
    for column, reason in _RESOURCE_REASONS:
        count = int((short[:, column] & left).sum())
        if count:
            reasons[reason] += count
    listed = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return f"0/{nodes} nodes are available: {listed}."


# --- checks ----------------------------------------------------------------------------------


def _check_spec(cluster: ClusterState, spec: object) -> int:
    if (
        isinstance(spec, int | np.integer)
        and not isinstance(spec, bool)
        and 0 <= int(spec) < len(cluster.specs)
    ):
        return int(spec)
    raise ParameterError(
        "spec", spec, f"a spec index in [0, {len(cluster.specs)})", owner="Scheduler"
    )


def _check_headroom(cluster: ClusterState, headroom: object) -> NDArray[np.int64]:
    if headroom is None:
        return cluster.headroom()
    shape = (len(cluster.node_id), 3)
    if (
        not isinstance(headroom, np.ndarray)
        or headroom.shape != shape
        or not np.issubdtype(headroom.dtype, np.integer)
    ):
        raise ParameterError(
            "headroom",
            headroom if not isinstance(headroom, np.ndarray) else f"array{headroom.shape}",
            f"an integer array of shape {shape} (a copy of cluster.headroom())",
            owner="Scheduler",
        )
    room: NDArray[np.int64] = headroom.astype(np.int64, copy=False)
    return room


def _pending_pods(cluster: ClusterState, pods: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """The pods' ids and spec indexes, checked to be distinct pending pods."""
    ids = cluster.pending().tolist() if pods is None else [int(p) for p in pods]
    rows = [cluster.pod_row(pod) for pod in ids]  # an unknown pod: SimulationError
    if pods is not None:
        states = cluster.pod_state[rows]
        if (states != PENDING).any():
            pod = ids[int(np.flatnonzero(states != PENDING)[0])]
            raise SimulationError(f"pod {pod} is not pending: only pending pods are scheduled")
        if len(set(ids)) != len(ids):
            pod = next(p for p, n in Counter(ids).items() if n > 1)
            raise SimulationError(f"pod {pod} is listed twice in one scheduling pass")
    return ids, cluster.pod_spec[rows].tolist()
