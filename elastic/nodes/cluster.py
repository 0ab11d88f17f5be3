"""The state of a cluster: its nodes and pods, as columns a scheduler and an autoscaler read.

One :class:`ClusterState` holds every live node and pod of a run. The
simulator changes it (a node launched, ready, drained, removed; a pod
created, bound, evicted); the scheduler and the node autoscalers only read
it. Nodes and pods are rows of numpy columns, so a filter or a score over
every node is one vectorized expression; rows of removed nodes and pods
are reused, so memory follows what is live, not what a run has churned.

Nodes and pods have ids that never repeat (``node_id``/``pod_id``); rows
are where they sit now. A node's requested resources are the sum of the
requests of the pods bound to it, terminating ones included (they hold
their resources until they are gone, as kube-scheduler counts them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from elastic.errors import ParameterError, SimulationError
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

__all__ = [
    "BOUND",
    "DRAINING",
    "LAUNCHING",
    "NODE_STATES",
    "PENDING",
    "POD_STATES",
    "READY",
    "REGISTERED",
    "TERMINATED",
    "TERMINATING",
    "ClusterState",
]

# node lifecycle: launching (billed, booting) → registered (joined, not ready) → ready
# → draining (cordoned: no new pods, its pods evicted) → terminated
LAUNCHING, REGISTERED, READY, DRAINING, TERMINATED = 0, 1, 2, 3, 4
NODE_STATES = ("launching", "registered", "ready", "draining", "terminated")
# pod lifecycle here (serving is the pod-level simulator's): pending → bound → terminating
PENDING, BOUND, TERMINATING = 0, 1, 2
POD_STATES = ("pending", "bound", "terminating")
_FREE = -1  # a row no node or pod holds


class ClusterState:
    """Nodes and pods as numpy columns, changed by the simulator and read by deciders.

    Parameters
    ----------
    templates
        Every node shape the run may launch (node groups, NodePool offerings).
    specs
        Every pod spec the run may create (one per workload).

    Examples
    --------
    >>> from decimal import Decimal
    >>> node = NodeTemplate("general", "m5.large", "on-demand",
    ...                     Resources(1930, 7 * 2**30, 29), Decimal("0.096"))
    >>> web = PodSpec("web", Resources.parse(cpu="500m", memory="1Gi"))
    >>> cluster = ClusterState([node], [web])
    >>> n = cluster.add_node("general", now=0.0)
    >>> cluster.set_node_state(n, READY, now=60.0)
    >>> p = cluster.add_pod("web", now=60.0)
    >>> cluster.pending().tolist()
    [0]
    >>> cluster.bind(p, n, now=61.0)
    >>> cluster.free(cluster.row_of(n))
    Resources(cpu=1430, memory=6442450944, pods=28)
    """

    def __init__(self, templates: Sequence[NodeTemplate], specs: Sequence[PodSpec]) -> None:
        self.templates = tuple(templates)
        self.specs = tuple(specs)
        for kind, items in (("templates", self.templates), ("specs", self.specs)):
            names = [item.name for item in items]
            if len(set(names)) != len(names):
                raise ParameterError(kind, names, "unique names", owner="ClusterState")
        self.template_index = {t.name: i for i, t in enumerate(self.templates)}
        self.spec_index = {s.name: i for i, s in enumerate(self.specs)}
        #: admits[s, t]: a pod of spec s may run on an empty node of template t
        self.admits = np.array(
            [[t.admits(s) for t in self.templates] for s in self.specs], dtype=bool
        ).reshape(len(self.specs), len(self.templates))
        self.requests = np.array([s.requests for s in self.specs], dtype=np.int64).reshape(
            len(self.specs), 3
        )
        self.daemon = np.array([s.daemon for s in self.specs], dtype=bool)
        self.template_allocatable = np.array(
            [t.allocatable for t in self.templates], dtype=np.int64
        ).reshape(len(self.templates), 3)
        # nodes
        size = 16
        self.node_id = np.full(size, _FREE, dtype=np.int64)
        self.node_template = np.zeros(size, dtype=np.int64)
        self.node_state = np.full(size, TERMINATED, dtype=np.int8)
        self.allocatable = np.zeros((size, 3), dtype=np.int64)
        self.requested = np.zeros((size, 3), dtype=np.int64)
        self.daemon_requested = np.zeros((size, 3), dtype=np.int64)
        self.launched_at = np.full(size, np.nan)
        self.ready_at = np.full(size, np.nan)
        self.changed_at = np.full(size, np.nan)  # when the node last gained or lost a pod
        self._node_pods: list[dict[int, None]] = [{} for _ in range(size)]
        self._node_rows: dict[int, int] = {}
        self._free_node_rows: list[int] = list(range(size - 1, -1, -1))
        self._next_node = 0
        # pods
        self.pod_id = np.full(size, _FREE, dtype=np.int64)
        self.pod_spec = np.zeros(size, dtype=np.int64)
        self.pod_state = np.full(size, PENDING, dtype=np.int8)
        self.pod_node = np.full(size, _FREE, dtype=np.int64)  # a node row
        self.pending_since = np.full(size, np.nan)
        self._pod_rows: dict[int, int] = {}
        self._free_pod_rows: list[int] = list(range(size - 1, -1, -1))
        self._pending: dict[int, None] = {}  # pod ids, in the order they became pending
        self._next_pod = 0

    # --- reading ------------------------------------------------------------------------------

    def row_of(self, node_id: int) -> int:
        """The row of the live node ``node_id``."""
        try:
            return self._node_rows[node_id]
        except KeyError:
            raise SimulationError(f"node {node_id} is not in the cluster") from None

    def has_pod(self, pod_id: int) -> bool:
        """Whether the pod ``pod_id`` exists (pending, bound or terminating)."""
        return pod_id in self._pod_rows

    def pod_row(self, pod_id: int) -> int:
        """The row of the live pod ``pod_id``."""
        try:
            return self._pod_rows[pod_id]
        except KeyError:
            raise SimulationError(f"pod {pod_id} is not in the cluster") from None

    def node_rows(self, *states: int) -> NDArray[np.int64]:
        """Rows of the nodes in ``states`` (every live one when none is given), oldest first."""
        held = self.node_id != _FREE
        if states:
            state = self.node_state
            wanted = state == states[0]
            for other in states[1:]:  # a few comparisons: cheaper than np.isin here
                wanted |= state == other
            held &= wanted
        rows = np.flatnonzero(held)
        return rows[np.argsort(self.node_id[rows], kind="stable")]

    def nodes(self) -> int:
        """How many nodes are live (not terminated)."""
        return len(self._node_rows)

    def free(self, row: int) -> Resources:
        """What is left to request on the node at ``row``."""
        cpu, memory, pods = (self.allocatable[row] - self.requested[row]).tolist()
        return Resources(cpu, memory, pods)

    def schedulable(self) -> NDArray[np.bool_]:
        """Per row: a ready node that takes new pods (not cordoned)."""
        ready: NDArray[np.bool_] = (self.node_id != _FREE) & (self.node_state == READY)
        return ready

    def headroom(self) -> NDArray[np.int64]:
        """Per row: allocatable minus requested (cpu, memory, pods); zero rows for free rows."""
        room: NDArray[np.int64] = self.allocatable - self.requested
        return room

    def fits(self, spec: int, headroom: NDArray[np.int64] | None = None) -> NDArray[np.bool_]:
        """Per row: a pod of spec index ``spec`` may be bound there now: kube-scheduler's
        filters (node ready and not cordoned, selector, affinity and taints, resources fit).

        ``headroom``: what is free per row, when a caller simulates placements of its own
        (the default is :meth:`headroom`).
        """
        room = self.headroom() if headroom is None else headroom
        mask: NDArray[np.bool_] = (
            self.schedulable()
            & self.admits[spec, self.node_template]
            & (room >= self.requests[spec]).all(axis=1)
        )
        return mask

    def pending(self) -> NDArray[np.int64]:
        """Ids of the pending pods, in the order they became pending."""
        return np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))

    def pods_on(self, node_id: int) -> list[int]:
        """Ids of the pods bound to the node ``node_id``, in the order they were bound."""
        return list(self._node_pods[self.row_of(node_id)])

    def spec_of(self, pod_id: int) -> PodSpec:
        return self.specs[int(self.pod_spec[self.pod_row(pod_id)])]

    def template_of(self, node_id: int) -> NodeTemplate:
        return self.templates[int(self.node_template[self.row_of(node_id)])]

    def pods(self) -> int:
        """How many pods exist (pending, bound or terminating)."""
        return len(self._pod_rows)

    def __contains__(self, node_id: object) -> bool:
        """Whether the node ``node_id`` is live (launched and not terminated)."""
        return node_id in self._node_rows

    def __iter__(self) -> Iterator[int]:
        """The live nodes' ids, oldest first."""
        return iter(self.node_id[self.node_rows()].tolist())

    # --- nodes --------------------------------------------------------------------------------

    def add_node(self, template: str, now: float) -> int:
        """Launch a node of ``template`` at ``now``; its id."""
        index = self.template_index.get(template)
        if index is None:
            raise ParameterError(
                "template",
                template,
                "one of " + ", ".join(self.template_index),
                owner="ClusterState",
            )
        if not self._free_node_rows:
            self._grow_nodes()
        row = self._free_node_rows.pop()
        node = self._next_node
        self._next_node += 1
        self._node_rows[node] = row
        self.node_id[row] = node
        self.node_template[row] = index
        self.node_state[row] = LAUNCHING
        self.allocatable[row] = self.template_allocatable[index]
        self.requested[row] = 0
        self.daemon_requested[row] = 0
        self.launched_at[row] = now
        self.ready_at[row] = np.nan
        self.changed_at[row] = now
        return node

    def set_node_state(self, node_id: int, state: int, now: float) -> None:
        """Move a node on in its lifecycle (to registered, ready or draining)."""
        row = self.row_of(node_id)
        if state not in (REGISTERED, READY, DRAINING) or state < self.node_state[row]:
            raise SimulationError(
                f"node {node_id} cannot go from {NODE_STATES[self.node_state[row]]} "
                f"to {NODE_STATES[state]}"
            )
        self.node_state[row] = state
        if state == READY:
            self.ready_at[row] = now

    def remove_node(self, node_id: int, now: float) -> list[int]:
        """Take the node away; the pods it still held become pending again (their ids)."""
        row = self.row_of(node_id)
        evicted = list(self._node_pods[row])
        for pod in evicted:
            self._unbind(pod, now)
        self._node_pods[row].clear()
        del self._node_rows[node_id]
        self.node_id[row] = _FREE
        self.node_state[row] = TERMINATED
        self._free_node_rows.append(row)
        return evicted

    def _grow_nodes(self) -> None:
        old = len(self.node_id)
        new = 2 * old
        self.node_id = _extend(self.node_id, new, _FREE)
        self.node_template = _extend(self.node_template, new, 0)
        self.node_state = _extend(self.node_state, new, TERMINATED)
        self.allocatable = _extend(self.allocatable, new, 0)
        self.requested = _extend(self.requested, new, 0)
        self.daemon_requested = _extend(self.daemon_requested, new, 0)
        self.launched_at = _extend(self.launched_at, new, np.nan)
        self.ready_at = _extend(self.ready_at, new, np.nan)
        self.changed_at = _extend(self.changed_at, new, np.nan)
        self._node_pods.extend({} for _ in range(new - old))
        self._free_node_rows = list(range(new - 1, old - 1, -1)) + self._free_node_rows

    # --- pods ---------------------------------------------------------------------------------

    def add_pod(self, spec: str, now: float) -> int:
        """Create a pending pod of ``spec`` at ``now``; its id."""
        index = self.spec_index.get(spec)
        if index is None:
            raise ParameterError(
                "spec", spec, "one of " + ", ".join(self.spec_index), owner="ClusterState"
            )
        if not self._free_pod_rows:
            self._grow_pods()
        row = self._free_pod_rows.pop()
        pod = self._next_pod
        self._next_pod += 1
        self._pod_rows[pod] = row
        self.pod_id[row] = pod
        self.pod_spec[row] = index
        self.pod_state[row] = PENDING
        self.pod_node[row] = _FREE
        self.pending_since[row] = now
        self._pending[pod] = None
        return pod

    def bind(self, pod_id: int, node_id: int, now: float) -> None:
        """Bind a pending pod to a node; refused when it does not fit or may not run there."""
        row = self.pod_row(pod_id)
        node = self.row_of(node_id)
        spec = int(self.pod_spec[row])
        if self.pod_state[row] != PENDING:
            raise SimulationError(f"pod {pod_id} is {POD_STATES[self.pod_state[row]]}, not pending")
        if self.node_state[node] not in (READY, LAUNCHING, REGISTERED) and not self.daemon[spec]:
            raise SimulationError(f"node {node_id} is {NODE_STATES[self.node_state[node]]}")
        if not self.admits[spec, self.node_template[node]]:
            raise SimulationError(
                f"pod {pod_id} ({self.specs[spec].name}) may not run on node {node_id} "
                f"({self.templates[self.node_template[node]].name})"
            )
        after = self.requested[node] + self.requests[spec]
        if (after > self.allocatable[node]).any():
            raise SimulationError(
                f"pod {pod_id} ({self.specs[spec].name}) does not fit on node {node_id}: "
                f"requested {after.tolist()} > allocatable {self.allocatable[node].tolist()}"
            )
        self.requested[node] = after
        if self.daemon[spec]:
            self.daemon_requested[node] += self.requests[spec]
        self.pod_state[row] = BOUND
        self.pod_node[row] = node
        self._node_pods[node][pod_id] = None
        self.changed_at[node] = now
        del self._pending[pod_id]

    def terminating(self, pod_id: int) -> None:
        """The pod is leaving (scaled in or evicted); it holds its resources until removed."""
        row = self.pod_row(pod_id)
        if self.pod_state[row] == PENDING:
            raise SimulationError(f"pod {pod_id} is pending: remove it instead")
        self.pod_state[row] = TERMINATING

    def remove_pod(self, pod_id: int, now: float) -> None:
        """The pod is gone; its node's resources are free again."""
        row = self.pod_row(pod_id)
        if self.pod_state[row] == PENDING:
            del self._pending[pod_id]
        else:
            node = int(self.pod_node[row])
            self.changed_at[node] = now
            self._release(row, node)
            del self._node_pods[node][pod_id]
        del self._pod_rows[pod_id]
        self.pod_id[row] = _FREE
        self._free_pod_rows.append(row)

    def _unbind(self, pod_id: int, now: float) -> None:
        row = self._pod_rows[pod_id]
        self._release(row, int(self.pod_node[row]))
        self.pod_node[row] = _FREE
        self.pod_state[row] = PENDING
        self.pending_since[row] = now
        self._pending[pod_id] = None

    def _release(self, row: int, node: int) -> None:
        spec = int(self.pod_spec[row])
        self.requested[node] -= self.requests[spec]
        if self.daemon[spec]:
            self.daemon_requested[node] -= self.requests[spec]

    def _grow_pods(self) -> None:
        old = len(self.pod_id)
        new = 2 * old
        self.pod_id = _extend(self.pod_id, new, _FREE)
        self.pod_spec = _extend(self.pod_spec, new, 0)
        self.pod_state = _extend(self.pod_state, new, PENDING)
        self.pod_node = _extend(self.pod_node, new, _FREE)
        self.pending_since = _extend(self.pending_since, new, np.nan)
        self._free_pod_rows = list(range(new - 1, old - 1, -1)) + self._free_pod_rows


_Array = TypeVar("_Array", bound="NDArray[Any]")


def _extend(array: _Array, size: int, fill: float) -> _Array:
    grown = np.full((size, *array.shape[1:]), fill, dtype=array.dtype)
    grown[: len(array)] = array
    return grown  # type: ignore[return-value]
