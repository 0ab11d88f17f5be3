"""The Kubernetes Cluster Autoscaler as a pure decider over a :class:`ClusterState`.

Every ``scan_interval`` seconds :meth:`ClusterAutoscaler.step` reads the
cluster and returns a :class:`NodePlan`: launches for pending pods, removals
of nodes that failed to come up in time, and removals of unneeded nodes.
Parameters keep the upstream flag names in snake_case (``--scale-down-unneeded-time``
is ``scale_down_unneeded_time``, in seconds). Sources are files of
kubernetes/autoscaler under ``cluster-autoscaler/``:

- Loop order and cooldowns: ``core/static_autoscaler.go`` (``RunOnce``,
  ``isScaleDownInCooldown``: in cooldown while ``last + delay > now``).
- Upcoming nodes: nodes launched but not yet ready are replaced by template
  placeholders on which pending pods are packed first (``RunOnce``,
  ``addUpcomingNodesToClusterSnapshot``); they are never scale-down candidates.
- Scale-up estimate: ``estimator/binpacking_estimator.go`` with
  ``estimator/decreasing_pod_orderer.go`` (first-fit decreasing by
  ``cpu/allocatable + memory/allocatable``), capped by the group's max size.
- Failed provisioning and backoff: ``clusterstate/clusterstate.go`` and
  ``utils/backoff/exponential_backoff.go`` (5 min, doubling, at most 30 min,
  forgotten 3 h after the last failure).
- Scale-down: ``core/scaledown/eligibility/eligibility.go`` (utilization
  ``>= threshold`` is not a candidate), ``core/scaledown/planner/planner.go``
  (candidates in order; a removable node's pods stay moved and it stops being
  a destination), ``core/scaledown/unneeded/nodes.go`` (removable when
  ``since + unneeded_time`` is *before* now, i.e. strictly longer than the
  unneeded time; min size: ``size - deletions in progress <= min`` blocks),
  ``core/scaledown/budgets/budgets.go`` (empty nodes within the parallelism
  budget, non-empty ones within the drain budget).
- Defaults: the FAQ's parameter table (``FAQ.md``) and the flag definitions
  (``main.go``, newer ``config/flags/flags.go``); see docs/nodes/cluster-autoscaler.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

import numpy as np
from numpy.typing import NDArray

from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError
from elastic.nodes.cluster import (
    BOUND,
    DRAINING,
    LAUNCHING,
    READY,
    REGISTERED,
    ClusterState,
)
from elastic.nodes.expanders import Expander, Option
from elastic.nodes.plan import Launch, NodePlan, Removal
from elastic.nodes.templates import NodeTemplate

__all__ = ["ClusterAutoscaler", "NodeGroup"]

_OWNER = "ClusterAutoscaler"


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """A Cluster Autoscaler node group: one node template, scaled between ``min_size`` and
    ``max_size`` nodes (``--nodes=min:max:name``).

    Its name is the template's ``group``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.resources import Resources
    >>> t = NodeTemplate("general", "m5.large", "on-demand", Resources(1930, 7 * 2**30, 29),
    ...                  Decimal("0.096"))
    >>> NodeGroup(t, min_size=1, max_size=10).name
    'general'
    >>> NodeGroup(t, min_size=3, max_size=2)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: NodeGroup: max_size=2 is invalid; expected ... >= min_size (3)
    """

    template: NodeTemplate
    _: KW_ONLY
    max_size: int
    min_size: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.template, NodeTemplate):
            raise ParameterError("template", self.template, "a NodeTemplate", owner="NodeGroup")
        check_int(self.min_size, "min_size", owner="NodeGroup", ge=0)
        check_int(self.max_size, "max_size", owner="NodeGroup", ge=0)
        if self.max_size < self.min_size:
            raise ParameterError(
                "max_size",
                self.max_size,
                f"an integer >= min_size ({self.min_size})",
                owner="NodeGroup",
            )

    @property
    def name(self) -> str:
        return self.template.group


@dataclass(slots=True)
class _Backoff:
    duration: float
    until: float
    last_failure: float


@dataclass(slots=True)
class _Frame:
    """What one step reads of the cluster, per row and per group."""

    rows: NDArray[np.int64]  # live rows, oldest first
    group: NDArray[np.int64]  # per row of the cluster: index of our group, -1 when none
    group_template: NDArray[np.int64]  # per group: template index in the cluster
    template_free: NDArray[np.int64]  # per group: a new node's free resources (daemon pods placed)
    size: NDArray[np.int64]  # per group: live nodes
    notes: list[str] = field(default_factory=list)


class ClusterAutoscaler:
    """The Kubernetes Cluster Autoscaler (``cluster-autoscaler``), as a node-autoscaler decider.

    Parameters
    ----------
    groups
        The node groups it may scale (``--nodes``), one template each.
    scan_interval
        ``--scan-interval``: seconds between two steps (10).
    expander
        ``--expander``: ``random`` (default), ``most-pods``, ``least-waste``,
        ``price``, ``priority`` or a chain (``"priority,least-waste"``).
    priorities
        The priority expander's ConfigMap, ``priority -> [regex, ...]``.
    scale_down_enabled
        ``--scale-down-enabled`` (True).
    scale_down_utilization_threshold
        ``--scale-down-utilization-threshold`` (0.5): a node is a candidate when
        ``max(cpu requested / allocatable, memory requested / allocatable)`` is
        strictly below it.
    scale_down_unneeded_time
        ``--scale-down-unneeded-time`` (600 s): how long a node must be unneeded,
        continuously, before it is removed (strictly longer than this).
    scale_down_delay_after_add, scale_down_delay_after_delete, scale_down_delay_after_failure
        ``--scale-down-delay-after-add`` (600 s), ``--scale-down-delay-after-delete``
        (the scan interval when ``None``), ``--scale-down-delay-after-failure`` (180 s).
    max_node_provision_time
        ``--max-node-provision-time`` (900 s): a node not ready this long after
        its launch is removed and its group backed off.
    max_empty_bulk_delete
        ``--max-empty-bulk-delete`` (10): empty nodes removed at once (also the
        parallelism budget, as ``--max-scale-down-parallelism`` defaults to it).
    max_drain_parallelism
        ``--max-drain-parallelism`` (1): non-empty nodes drained at once.
    unremovable_node_recheck_timeout
        ``--unremovable-node-recheck-timeout`` (300 s): a node whose pods did
        not fit elsewhere is not simulated again for this long.
    ignore_daemonsets_utilization
        ``--ignore-daemonsets-utilization`` (False).
    initial_node_group_backoff_duration, max_node_group_backoff_duration
        ``--initial-node-group-backoff-duration`` (300 s) and
        ``--max-node-group-backoff-duration`` (1800 s): a failed group waits the
        first, doubled at each failure after a wait is over, up to the second.
    node_group_backoff_reset_timeout
        ``--node-group-backoff-reset-timeout`` (10800 s): a backoff is forgotten
        this long after the group's last failure.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.cluster import READY, ClusterState
    >>> from elastic.nodes.pods import PodSpec
    >>> from elastic.nodes.resources import Resources
    >>> small = NodeTemplate("small", "m5.large", "on-demand", Resources(2000, 8 * 2**30, 29),
    ...                      Decimal("0.096"))
    >>> web = PodSpec("web", Resources.parse(cpu="600m", memory="1Gi"))
    >>> cluster = ClusterState([small], [web])
    >>> for _ in range(7):
    ...     _ = cluster.add_pod("web", now=0.0)
    >>> ca = ClusterAutoscaler([NodeGroup(small, max_size=5)])
    >>> ca.step(cluster, now=10.0, rng=np.random.default_rng(0)).launches
    (Launch(template='small', count=3, reason='7 pending pods (random)', replaces=()),)
    """

    def __init__(
        self,
        groups: Sequence[NodeGroup],
        *,
        scan_interval: float = 10.0,
        expander: str | Sequence[str] = "random",
        priorities: Mapping[int, Sequence[str]] | None = None,
        scale_down_enabled: bool = True,
        scale_down_utilization_threshold: float = 0.5,
        scale_down_unneeded_time: float = 600.0,
        scale_down_delay_after_add: float = 600.0,
        scale_down_delay_after_delete: float | None = None,
        scale_down_delay_after_failure: float = 180.0,
        max_node_provision_time: float = 900.0,
        max_empty_bulk_delete: int = 10,
        max_drain_parallelism: int = 1,
        unremovable_node_recheck_timeout: float = 300.0,
        ignore_daemonsets_utilization: bool = False,
        initial_node_group_backoff_duration: float = 300.0,
        max_node_group_backoff_duration: float = 1800.0,
        node_group_backoff_reset_timeout: float = 10800.0,
    ) -> None:
        if isinstance(groups, NodeGroup) or not all(isinstance(g, NodeGroup) for g in groups):
            raise ParameterError("groups", groups, "a sequence of NodeGroup", owner=_OWNER)
        self.groups = tuple(groups)
        if not self.groups:
            raise ParameterError("groups", groups, "at least one NodeGroup", owner=_OWNER)
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ParameterError("groups", names, "node groups with unique names", owner=_OWNER)
        #: the node shapes it may launch (a simulator builds its cluster with them)
        self.templates = tuple(g.template for g in self.groups)
        self.scan_interval = check_number(scan_interval, "scan_interval", owner=_OWNER, gt=0)
        self.interval = self.scan_interval
        self.expander = Expander(expander, priorities, owner=_OWNER)
        for name, flag in (
            ("scale_down_enabled", scale_down_enabled),
            ("ignore_daemonsets_utilization", ignore_daemonsets_utilization),
        ):
            if not isinstance(flag, bool):
                raise ParameterError(name, flag, "True or False", owner=_OWNER)
        self.scale_down_enabled = scale_down_enabled
        self.ignore_daemonsets_utilization = ignore_daemonsets_utilization
        self.scale_down_utilization_threshold = check_number(
            scale_down_utilization_threshold,
            "scale_down_utilization_threshold",
            owner=_OWNER,
            ge=0,
            le=1,
        )
        seconds = {
            "scale_down_unneeded_time": scale_down_unneeded_time,
            "scale_down_delay_after_add": scale_down_delay_after_add,
            "scale_down_delay_after_delete": (
                self.scan_interval
                if scale_down_delay_after_delete is None
                else scale_down_delay_after_delete
            ),
            "scale_down_delay_after_failure": scale_down_delay_after_failure,
            "max_node_provision_time": max_node_provision_time,
            "node_group_backoff_reset_timeout": node_group_backoff_reset_timeout,
        }
        checked = {k: check_number(v, k, owner=_OWNER, ge=0) for k, v in seconds.items()}
        self.scale_down_unneeded_time = checked["scale_down_unneeded_time"]
        self.scale_down_delay_after_add = checked["scale_down_delay_after_add"]
        self.scale_down_delay_after_delete = checked["scale_down_delay_after_delete"]
        self.scale_down_delay_after_failure = checked["scale_down_delay_after_failure"]
        self.max_node_provision_time = checked["max_node_provision_time"]
        self.node_group_backoff_reset_timeout = checked["node_group_backoff_reset_timeout"]
        self.initial_node_group_backoff_duration = check_number(
            initial_node_group_backoff_duration,
            "initial_node_group_backoff_duration",
            owner=_OWNER,
            gt=0,
        )
        self.max_node_group_backoff_duration = check_number(
            max_node_group_backoff_duration,
            "max_node_group_backoff_duration",
            owner=_OWNER,
            ge=self.initial_node_group_backoff_duration,
        )
        self.max_empty_bulk_delete = check_int(
            max_empty_bulk_delete, "max_empty_bulk_delete", owner=_OWNER, ge=1
        )
        self.max_drain_parallelism = check_int(
            max_drain_parallelism, "max_drain_parallelism", owner=_OWNER, ge=1
        )
        self.unremovable_node_recheck_timeout = check_number(
            unremovable_node_recheck_timeout,
            "unremovable_node_recheck_timeout",
            owner=_OWNER,
            ge=0,
        )
        # clocks (seconds of simulated time), never the wall clock
        self.last_scale_up_: float = -np.inf
        self.last_scale_down_delete_: float = -np.inf
        self.last_scale_down_failure_: float = -np.inf
        #: node id -> since when it has been unneeded (continuously)
        self.unneeded_since_: dict[int, float] = {}
        #: node id -> until when it is not simulated again (its pods did not fit elsewhere)
        self.unremovable_until_: dict[int, float] = {}
        self.backoff_: dict[str, _Backoff] = {}

    # --- the loop -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        # what a run's facts describe it by: the same in every process (no object address)
        groups = ", ".join(f"{g.name}[{g.min_size}..{g.max_size}]" for g in self.groups)
        return (
            f"ClusterAutoscaler(groups=[{groups}], expander={','.join(self.expander.chain)!r}, "
            f"scan_interval={self.scan_interval:g})"
        )

    def step(self, cluster: ClusterState, now: float, rng: np.random.Generator) -> NodePlan:
        """What to launch and remove at ``now`` (seconds)."""
        frame = self._frame(cluster)
        removals = self._provisioning_timeouts(cluster, frame, now)
        self._forget_backoffs(cluster, frame, now)
        timed_out = {r.node for r in removals}
        # the snapshot: what is free per row, and the pods the simulation put there per spec
        room = cluster.headroom().copy()
        placed = np.zeros((len(room), len(cluster.specs)), dtype=np.int64)
        launches = self._scale_up(cluster, frame, room, placed, timed_out, now, rng)
        if launches:
            self.last_scale_up_ = now
        if self.scale_down_enabled:
            removals += self._scale_down(cluster, frame, room, placed, now)
        return NodePlan(launches=launches, removals=tuple(removals), note="; ".join(frame.notes))

    def _frame(self, cluster: ClusterState) -> _Frame:
        templates = []
        for g in self.groups:
            index = cluster.template_index.get(g.template.name)
            if index is None:
                raise ParameterError(
                    "groups",
                    g.template.name,
                    "node groups whose templates are in the cluster: "
                    + ", ".join(cluster.template_index),
                    owner=_OWNER,
                )
            templates.append(index)
        group_template = np.array(templates, dtype=np.int64)
        of_template = np.full(len(cluster.templates), -1, dtype=np.int64)
        of_template[group_template] = np.arange(len(self.groups))
        rows = cluster.node_rows()
        group = np.full(len(cluster.node_id), -1, dtype=np.int64)
        group[rows] = of_template[cluster.node_template[rows]]
        # a new node runs the daemon pods that may run on it (CA's template node info)
        daemon = cluster.daemon[:, None] & cluster.admits  # (S, T)
        daemon_requests = daemon.T.astype(np.int64) @ cluster.requests  # (T, 3)
        template_free = (cluster.template_allocatable - daemon_requests)[group_template]
        size = np.bincount(group[rows][group[rows] >= 0], minlength=len(self.groups))
        return _Frame(rows, group, group_template, template_free, size.astype(np.int64))

    # --- failed provisioning ----------------------------------------------------------------------

    def _provisioning_timeouts(
        self, cluster: ClusterState, frame: _Frame, now: float
    ) -> list[Removal]:
        rows = frame.rows
        late = rows[
            (frame.group[rows] >= 0)
            & np.isin(cluster.node_state[rows], (LAUNCHING, REGISTERED))
            & (cluster.launched_at[rows] + self.max_node_provision_time < now)
        ]
        failed: dict[int, None] = {}
        removals = []
        for row in late.tolist():
            removals.append(Removal(int(cluster.node_id[row]), "provisioning timeout"))
            failed[int(frame.group[row])] = None
        for g in failed:
            self._back_off(self.groups[g].name, now)
            frame.notes.append(
                f"node group {self.groups[g].name}: nodes not ready after "
                f"{self.max_node_provision_time:g} s, backed off until "
                f"{self.backoff_[self.groups[g].name].until:g}"
            )
        if failed:
            # our simulator never fails a removal: a provisioning failure is what
            # --scale-down-delay-after-failure waits for (see docs/nodes/cluster-autoscaler.md)
            self.last_scale_down_failure_ = now
        return removals

    def _back_off(self, group: str, now: float) -> None:
        duration = self.initial_node_group_backoff_duration
        known = self.backoff_.get(group)
        if known is not None and known.until < now:
            duration = min(2 * known.duration, self.max_node_group_backoff_duration)
        elif known is not None:
            duration = known.duration  # failures while backed off do not lengthen it
        self.backoff_[group] = _Backoff(duration, now + duration, now)

    def _forget_backoffs(self, cluster: ClusterState, frame: _Frame, now: float) -> None:
        for g, group in enumerate(self.groups):
            known = self.backoff_.get(group.name)
            if known is None:
                continue
            if known.last_failure + self.node_group_backoff_reset_timeout < now:
                del self.backoff_[group.name]
                continue
            # a node launched after the failure became ready: the scale-up succeeded
            rows = frame.rows[frame.group[frame.rows] == g]
            if (
                (cluster.node_state[rows] == READY)
                & (cluster.launched_at[rows] > known.last_failure)
            ).any():
                del self.backoff_[group.name]

    def backed_off(self, group: str, now: float) -> bool:
        """Whether scale-ups of ``group`` are backed off at ``now``."""
        known = self.backoff_.get(group)
        return known is not None and known.until > now

    # --- scale-up -------------------------------------------------------------------------------

    def _scale_up(
        self,
        cluster: ClusterState,
        frame: _Frame,
        room: NDArray[np.int64],
        placed: NDArray[np.int64],
        timed_out: set[int],
        now: float,
        rng: np.random.Generator,
    ) -> tuple[Launch, ...]:
        pending = cluster.pending()
        if not len(pending):
            return ()
        specs = cluster.pod_spec[[cluster.pod_row(p) for p in pending.tolist()]]
        specs = specs[~cluster.daemon[specs]]  # DaemonSet pods never trigger a scale-up
        if not len(specs):
            return ()
        order = list(dict.fromkeys(specs.tolist()))  # specs in queue order
        counts = np.bincount(specs, minlength=len(cluster.specs))
        # 1. pods the scheduler can place now on ready nodes stay in the snapshot (room)
        schedulable = cluster.schedulable()
        for s in order:
            mask = schedulable & cluster.admits[s, cluster.node_template]
            counts[s] -= _fill(
                room, mask, cluster.requests[s], int(counts[s]), frame.rows, placed[:, s]
            )
        # 2. then upcoming nodes of our groups, each as a fresh template node
        rows = frame.rows
        upcoming = rows[
            (frame.group[rows] >= 0) & np.isin(cluster.node_state[rows], (LAUNCHING, REGISTERED))
        ]
        upcoming = upcoming[~np.isin(cluster.node_id[upcoming], list(timed_out))]
        placeholder = frame.template_free[frame.group[upcoming]].copy()
        every = np.ones(len(upcoming), dtype=bool)
        for s in order:
            if counts[s]:
                admits = every & cluster.admits[s, cluster.node_template[upcoming]]
                counts[s] -= _fill(placeholder, admits, cluster.requests[s], int(counts[s]))
        waiting = [s for s in order if counts[s] > 0]
        if not waiting:
            return ()
        # 3. an option per node group: the binpacking estimate on its template
        options, why_not = self._options(cluster, frame, counts, waiting, now)
        unhelped = [s for s in waiting if not any(s in o_specs for _, o_specs in options)]
        for s in unhelped:
            frame.notes.append(
                f"{int(counts[s])} pending pod(s) of {cluster.specs[s].name} fit no node group: "
                + why_not.get(s, "no node group's template admits them")
            )
        if not options:
            return ()
        chosen = self.expander.choose([o for o, _ in options], rng, cluster.nodes())
        assert chosen is not None  # options is not empty
        pods = int(counts[waiting].sum())
        return (
            Launch(
                chosen.template.name,
                chosen.node_count,
                reason=f"{pods} pending pods ({','.join(self.expander.chain)})",
            ),
        )

    def _options(
        self,
        cluster: ClusterState,
        frame: _Frame,
        counts: NDArray[np.int64],
        waiting: list[int],
        now: float,
    ) -> tuple[list[tuple[Option, set[int]]], dict[int, str]]:
        options: list[tuple[Option, set[int]]] = []
        why_not: dict[int, list[str]] = {}
        for g, group in enumerate(self.groups):
            t = int(frame.group_template[g])
            free = frame.template_free[g]
            helps = [
                s for s in waiting if cluster.admits[s, t] and (free >= cluster.requests[s]).all()
            ]
            if not helps:
                continue
            limit = group.max_size - int(frame.size[g])
            reason = None
            if limit <= 0:
                reason = f"{group.name} is at its max size {group.max_size}"
            elif self.backed_off(group.name, now):
                reason = f"{group.name} is backed off until {self.backoff_[group.name].until:g}"
            if reason is not None:
                for s in helps:
                    why_not.setdefault(s, []).append(reason)
                continue
            nodes, placed = _binpack(
                free, cluster.requests, helps, counts, limit, cluster.template_allocatable[t]
            )
            if nodes == 0:
                continue
            taken = {s for s in helps if placed[s] > 0}
            requested = placed @ cluster.requests
            options.append(
                (
                    Option(
                        group.name,
                        group.template,
                        nodes,
                        int(placed.sum()),
                        cpu=int(requested[0]),
                        memory=int(requested[1]),
                    ),
                    taken,
                )
            )
        return options, {s: "; ".join(r) for s, r in why_not.items()}

    # --- scale-down -----------------------------------------------------------------------------

    def _scale_down(
        self,
        cluster: ClusterState,
        frame: _Frame,
        room: NDArray[np.int64],
        placed: NDArray[np.int64],
        now: float,
    ) -> list[Removal]:
        rows = frame.rows
        state = cluster.node_state
        ready = rows[state[rows] == READY]
        draining = rows[state[rows] == DRAINING]
        moves = _Moves(cluster, rows, room, placed, cluster.schedulable())
        # pods of nodes being drained will need a place: put them in the snapshot first
        for row in draining.tolist():
            moves.move(int(row), undo=False)
        # candidates: our ready nodes, previously unneeded first (planner order)
        ours = ready[frame.group[ready] >= 0]
        utilization = self._utilization(cluster, ours, moves.headroom())
        candidates = ours[utilization < self.scale_down_utilization_threshold]
        ids = cluster.node_id[candidates]
        known = np.array([self.unneeded_since_.get(int(i), np.inf) for i in ids.tolist()])
        candidates = candidates[np.lexsort((ids, known))]
        unneeded: dict[int, float] = {}
        empty: set[int] = set()
        limit = self._unneeded_limit()
        live = set(ids.tolist())
        self.unremovable_until_ = {
            n: t for n, t in self.unremovable_until_.items() if t > now and n in live
        }
        for row in candidates.tolist():
            if len(unneeded) >= limit:
                frame.notes.append(f"{limit} unneeded nodes found: no more simulated this loop")
                break
            node = int(cluster.node_id[row])
            if node in self.unremovable_until_:
                continue
            moved = moves.move(row)
            if moved is None:
                self.unremovable_until_[node] = now + self.unremovable_node_recheck_timeout
                continue
            # the node's pods stay moved for the next candidates; it takes no more pods
            unneeded[node] = self.unneeded_since_.get(node, now)
            if moved == 0:
                empty.add(node)
        self.unneeded_since_ = unneeded
        cooldown = self._cooldown(now)
        if cooldown:
            if unneeded:
                frame.notes.append(f"scale-down in cooldown ({cooldown})")
            return []
        return self._removable(cluster, frame, unneeded, empty, draining, now)

    def _unneeded_limit(self) -> int:
        """How many unneeded nodes one loop looks for before it stops simulating: with
        ``N`` = ``--max-scale-down-parallelism`` (here ``max_empty_bulk_delete``, which it
        defaults to), ``min(unneeded so far + 2N, N x unneeded time / scan interval + N)``
        (upstream ``Planner.unneededNodesLimit``, ``core/scaledown/planner/planner.go``)."""
        n = self.max_empty_bulk_delete
        loops = int(max(self.scale_down_unneeded_time, self.scan_interval) // self.scan_interval)
        return min(len(self.unneeded_since_) + 2 * n, n * loops + n)

    def _utilization(
        self, cluster: ClusterState, rows: NDArray[np.int64], room: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        # requested in the snapshot: bound pods and the pending pods placed there
        requested = (cluster.allocatable[rows, :2] - room[rows, :2]).astype(np.float64)
        if self.ignore_daemonsets_utilization:
            requested -= cluster.daemon_requested[rows, :2]
        allocatable = cluster.allocatable[rows, :2].astype(np.float64)
        share = np.divide(
            requested, allocatable, out=np.zeros_like(requested), where=allocatable > 0
        )
        utilization: NDArray[np.float64] = share.max(axis=1, initial=0.0)
        return utilization

    def _cooldown(self, now: float) -> str:
        if self.last_scale_up_ + self.scale_down_delay_after_add > now:
            return f"scale-up at {self.last_scale_up_:g}"
        if self.last_scale_down_delete_ + self.scale_down_delay_after_delete > now:
            return f"scale-down at {self.last_scale_down_delete_:g}"
        if self.last_scale_down_failure_ + self.scale_down_delay_after_failure > now:
            return f"failure at {self.last_scale_down_failure_:g}"
        return ""

    def _removable(
        self,
        cluster: ClusterState,
        frame: _Frame,
        unneeded: dict[int, float],
        empty: set[int],
        draining: NDArray[np.int64],
        now: float,
    ) -> list[Removal]:
        in_progress = np.bincount(
            frame.group[draining][frame.group[draining] >= 0], minlength=len(self.groups)
        )
        left = frame.size - in_progress  # size minus deletions in progress
        drains_in_progress = sum(
            1
            for row in draining.tolist()
            if (cluster.requested[row] - cluster.daemon_requested[row])[2] > 0
        )
        budget = self.max_empty_bulk_delete - len(draining)
        drain_budget = self.max_drain_parallelism - drains_in_progress
        removals: list[Removal] = []
        waiting = 0
        by_since = sorted(unneeded, key=lambda n: (unneeded[n], n))
        for is_empty in (True, False):
            for node in by_since:
                if (node in empty) != is_empty:
                    continue
                if not unneeded[node] + self.scale_down_unneeded_time < now:
                    waiting += 1
                    continue
                g = int(frame.group[cluster.row_of(node)])
                if left[g] <= self.groups[g].min_size:
                    frame.notes.append(
                        f"node {node} unneeded, but {self.groups[g].name} is at its min size "
                        f"{self.groups[g].min_size}"
                    )
                    continue
                if budget <= 0 or (not is_empty and drain_budget <= 0):
                    continue
                left[g] -= 1
                budget -= 1
                if not is_empty:
                    drain_budget -= 1
                removals.append(Removal(node, "empty" if is_empty else "underutilized"))
        if removals:
            self.last_scale_down_delete_ = now
            for r in removals:
                del self.unneeded_since_[r.node]
        return removals


class _Moves:
    """The scale-down simulation's snapshot: where the pods of removed nodes would go.

    Pods go first fit onto the destination nodes in node age order (upstream's
    snapshot starts from a rotating node instead). Within one loop the free room
    only shrinks and destinations only go away, except when a candidate whose
    pods do not all fit is undone; so each spec keeps the first position that may
    still take one of its pods, and one loop costs about a pass over the nodes plus
    one step per pod moved, in plain Python over small lists.
    """

    def __init__(
        self,
        cluster: ClusterState,
        order: NDArray[np.int64],
        room: NDArray[np.int64],
        placed: NDArray[np.int64],
        destinations: NDArray[np.bool_],
    ) -> None:
        self.order = order
        self.position = {row: i for i, row in enumerate(order.tolist())}
        self.room: list[list[int]] = room[order].tolist()
        self.open: list[bool] = destinations[order].tolist()
        templates = cluster.node_template[order]
        self.admits: list[list[bool]] = [
            cluster.admits[s, templates].tolist() for s in range(len(cluster.specs))
        ]
        self.requests: list[list[int]] = cluster.requests.tolist()
        self.first = [0] * len(cluster.specs)
        self._room = room
        # per position and spec: the node's non-daemon pods, bound or put there by the
        # simulation (``placed``, then the moves)
        held = (cluster.pod_id >= 0) & (cluster.pod_state == BOUND)
        held &= ~cluster.daemon[cluster.pod_spec]
        specs = len(cluster.specs)
        cell = cluster.pod_node[held] * specs + cluster.pod_spec[held]  # (row, spec) flattened
        rows = len(cluster.node_id)
        bound = np.bincount(cell, minlength=rows * specs).reshape(rows, specs)
        self.pods: list[list[int]] = (bound + placed)[order].tolist()

    def headroom(self) -> NDArray[np.int64]:
        """Free room per row now, as the cluster's rows."""
        room = self._room.copy()
        room[self.order] = np.array(self.room, dtype=np.int64).reshape(len(self.order), 3)
        return room

    def move(self, row: int, *, undo: bool = True) -> int | None:
        """Move the pods of the node at ``row`` elsewhere; it takes no pods after. How many
        moved, or None when one does not fit (then, with ``undo``, nothing moved)."""
        at = self.position[row]
        counts = list(self.pods[at])
        self.open[at] = False
        taken: list[tuple[int, int, int]] = []  # (position, spec, pods) to undo
        for spec, count in enumerate(counts):
            if count and not self._fill(spec, count, taken):
                if undo:
                    self._undo(taken, at)
                return None
        return sum(counts)

    def _fill(self, spec: int, count: int, taken: list[tuple[int, int, int]]) -> bool:
        cpu, memory, slots = self.requests[spec]
        admits, room, open_ = self.admits[spec], self.room, self.open
        p, last = self.first[spec], len(room)
        while count and p < last:
            if open_[p] and admits[p]:
                free = room[p]
                fit = min(
                    free[0] // cpu if cpu else count,
                    free[1] // memory if memory else count,
                    free[2] // slots if slots else count,
                )
                if fit > 0:
                    k = min(fit, count)
                    free[0] -= k * cpu
                    free[1] -= k * memory
                    free[2] -= k * slots
                    self.pods[p][spec] += k
                    taken.append((p, spec, k))
                    count -= k
                    if fit > k:
                        break  # room left here for the next pod of this spec
            p += 1
        self.first[spec] = p
        return count == 0

    def _undo(self, taken: list[tuple[int, int, int]], at: int) -> None:
        """Take back a failed move: the room it took, and the node at ``at`` open again
        (a spec's first position may now be any of these)."""
        self.open[at] = True
        for p, spec, k in taken:
            cpu, memory, slots = self.requests[spec]
            free = self.room[p]
            free[0] += k * cpu
            free[1] += k * memory
            free[2] += k * slots
            self.pods[p][spec] -= k
        lowest = min([at, *(p for p, _, _ in taken)])
        self.first = [min(f, lowest) for f in self.first]


def _capacity(free: NDArray[np.int64], request: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per row of ``free``: how many pods of ``request`` fit (a pod takes one pod slot)."""
    need = request > 0
    if not need.any():
        return np.full(len(free), np.iinfo(np.int64).max // 4, dtype=np.int64)
    fit: NDArray[np.int64] = (np.maximum(free[:, need], 0) // request[need]).min(axis=1)
    return fit


def _fill(
    room: NDArray[np.int64],
    mask: NDArray[np.bool_],
    request: NDArray[np.int64],
    count: int,
    order: NDArray[np.int64] | None = None,
    placed: NDArray[np.int64] | None = None,
) -> int:
    """Place up to ``count`` identical pods first-fit onto the rows of ``room`` where ``mask``
    holds, tried in ``order`` (rows; row order when None); ``room`` (and the per-row count
    ``placed``, when given) are updated; how many were placed."""
    if count <= 0:
        return 0
    rows = np.flatnonzero(mask) if order is None else order[mask[order]]
    if not len(rows):
        return 0
    cap = _capacity(room[rows], request)
    before = np.cumsum(cap) - cap
    taken = np.clip(count - before, 0, cap)
    room[rows] -= taken[:, None] * request
    if placed is not None:
        placed[rows] += taken
    return int(taken.sum())


def _binpack(
    free: NDArray[np.int64],
    requests: NDArray[np.int64],
    specs: list[int],
    counts: NDArray[np.int64],
    limit: int,
    allocatable: NDArray[np.int64],
) -> tuple[int, NDArray[np.int64]]:
    """The binpacking estimator on one template: (nodes, pods placed per spec).

    Pod groups go in decreasing ``cpu/allocatable + memory/allocatable``; each is
    put first on the nodes added so far (first fit), then on new nodes while
    fewer than ``limit`` have been added.
    """
    share = np.divide(
        requests[:, :2],
        allocatable[:2],
        out=np.zeros((len(requests), 2)),
        where=allocatable[:2] > 0,
    ).sum(axis=1)
    ordered = sorted(specs, key=lambda s: -share[s])  # stable: queue order on ties
    placed = np.zeros(len(requests), dtype=np.int64)
    nodes = np.zeros((0, 3), dtype=np.int64)
    for s in ordered:
        n = int(counts[s])
        request = requests[s]
        if len(nodes):
            n -= _fill(nodes, np.ones(len(nodes), dtype=bool), request, n)
        per_node = int(_capacity(free[None, :], request)[0])
        if n > 0 and per_node > 0 and len(nodes) < limit:
            add = min(-(-n // per_node), limit - len(nodes))
            fresh = np.repeat(free[None, :], add, axis=0)
            n -= _fill(fresh, np.ones(add, dtype=bool), request, n)
            nodes = np.concatenate([nodes, fresh])
        placed[s] = int(counts[s]) - n
    return len(nodes), placed
