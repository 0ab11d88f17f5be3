"""Two levels, every request simulated: the replicas are pods on nodes that a node autoscaler runs.

:class:`ClusterFleet` is the request-level :class:`~elastic.sim.fleet.Fleet`
with its replicas made pods of a :class:`~elastic.nodes.cluster.ClusterState`
(see :class:`~elastic.sim.node_level.NodeLevel` for the rules). What it adds:

- a replica is not billed; the nodes are, per second from launch, at their
  template's tariff;
- a requested replica is a pending pod until the scheduler binds it (a pass
  runs at every instant something could change a placement: a pod created or
  gone, a node ready), then it boots as any replica does;
- the node autoscaler's plans are carried out: launches boot and register;
  removals cordon the node and evict its pods (each drains within its grace
  period while a replacement pod is created), and the node terminates when
  they are gone; a launch that replaces nodes drains them once it is ready;
- node failures kill their pods (in-flight requests fail); Spot
  interruptions drain the node during the notice, then take it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from elastic.cost.ledger import CostObserver
from elastic.nodes.cluster import (
    BOUND,
    DRAINING,
    LAUNCHING,
    PENDING,
    READY,
    REGISTERED,
    ClusterState,
)
from elastic.nodes.plan import NodePlan
from elastic.nodes.scheduler import Scheduler
from elastic.sim.fleet import PROVISIONING, Fleet, Replica
from elastic.sim.randomness import Streams
from elastic.sim.records import percentiles_of_sorted
from elastic.sim.scenario import Scenario

__all__ = ["ClusterFleet"]


class ClusterFleet(Fleet):
    """Replicas as pods on nodes, under a node autoscaler; every request simulated.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes import NodeTemplate, PodSpec, Resources
    >>> from elastic.sim import Poisson, Scenario, simulate
    >>> from elastic.sim.node_level import NodeLevel
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> node = NodeTemplate("general", "m5.large", "on-demand",
    ...                     Resources(1930, 7 * 2**30, 29), Decimal("0.096"))
    >>> level = NodeLevel(PodSpec("web", Resources.parse(cpu="900m", memory="1Gi")),
    ...                   templates=(node,), initial_nodes={"general": 2})
    >>> scenario = Scenario(Poisson(20.0), duration=300.0, initial_replicas=2, nodes=level)
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    >>> result = simulate(scenario, loop)
    >>> result.conserved(), int(result.replicas.max()), int(result.ready.max())
    (True, 8, 4)

    Eight pods asked for, four running: two nodes hold two pods each, and with no node
    autoscaler the other four stay pending.
    """

    def __init__(self, scenario: Scenario, streams: Streams, ledger: CostObserver) -> None:
        level = scenario.nodes
        assert level is not None
        self.level = level
        self.cluster_state = ClusterState(level.all_templates(), [level.pod])
        self.scheduler = Scheduler(level.scheduler)
        self.autoscaler = level.fresh_autoscaler()
        self.node_rng = {
            name: streams.generator(name)
            for name in ("node_boot", "node_failures", "node_spot", "node_autoscaler")
        }
        self._pods: dict[int, int] = {}  # replica id -> pod id
        self._replicas: dict[int, Replica] = {}  # pod id -> replica
        self._draining_nodes: set[int] = set()
        # a replacing launch: the new nodes not ready yet, and the nodes they replace
        self._replacing: list[tuple[set[int], tuple[int, ...]]] = []
        self._pass_due = False
        self.pending_seconds: list[float] = []  # per binding: how long the pod was pending
        self.node_counts = dict.fromkeys(
            ("launched", "terminated", "failures", "interruptions", "evictions"), 0
        )
        self.notes: list[tuple[float, str]] = []  # what the autoscaler said, when it changed
        super().__init__(scenario, streams, ledger)
        if self.autoscaler is not None:
            self.env.process(self._autoscaling())

    # --- pods ---------------------------------------------------------------------------------

    def _start_initial(self) -> None:
        for name, count in self.level.initial_nodes.items():
            for _ in range(count):
                self._launch(name, ready=True)
        for _ in range(self.scenario.initial_replicas):
            self._request(booted=True)
        self._schedule(booted=True)

    def _created(self, replica: Replica, *, booted: bool) -> None:
        pod = self.cluster_state.add_pod(self.level.pod.name, replica.requested_at)
        self._pods[replica.id] = pod
        self._replicas[pod] = replica
        if not booted:
            self._schedule_soon()

    def _gone(self, replica: Replica, now: float, *, interrupted: bool) -> None:
        pod = self._pods.pop(replica.id)
        del self._replicas[pod]
        cluster = self.cluster_state
        row = cluster.pod_row(pod)
        node = (
            int(cluster.node_id[cluster.pod_node[row]])
            if cluster.pod_state[row] != PENDING
            else None
        )
        cluster.remove_pod(pod, now)
        if node is not None and node in self._draining_nodes and not cluster.pods_on(node):
            self._terminate_node(node)
        self._schedule_soon()

    def _drain(self, replica: Replica, now: float) -> None:
        super()._drain(replica, now)
        self.cluster_state.terminating(self._pods[replica.id])

    def _schedule_soon(self) -> None:
        """Run a scheduling pass at this instant, once, after what else happens at it."""
        if not self._pass_due:
            self._pass_due = True
            self.env.process(self._pass())

    def _pass(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(0)
        self._pass_due = False
        self._schedule()

    def _schedule(self, *, booted: bool = False) -> None:
        cluster, now = self.cluster_state, self.env.now
        if not cluster.pending().size:
            return
        for pod, node in self.scheduler.schedule(cluster, now).bindings:
            self.pending_seconds.append(now - float(cluster.pending_since[cluster.pod_row(pod)]))
            cluster.bind(pod, node, now)
            replica = self._replicas[pod]
            if booted:
                self._become_accepting(replica, ready=True)
            else:
                self.env.process(self._booting(replica))

    # --- nodes --------------------------------------------------------------------------------

    def _launch(self, template: str, *, ready: bool = False) -> int:
        cluster, now = self.cluster_state, self.env.now
        node = cluster.add_node(template, now)
        self.ledger.start(f"node{node}", template, now)
        if ready:
            cluster.set_node_state(node, REGISTERED, now)
            cluster.set_node_state(node, READY, now)
        else:
            self.node_counts["launched"] += 1  # in the run: the initial nodes are not counted
            self.env.process(self._node_booting(node))
        if self.level.node_mtbf is not None:
            self.env.process(self._node_failing(node))
        if self.level.spot_mtbi is not None and cluster.template_of(node).capacity_type == "spot":
            self.env.process(self._node_interrupted(node))
        return node

    def _alive(self, node: int) -> bool:
        return node in self.cluster_state

    def _state(self, node: int) -> int:
        return int(self.cluster_state.node_state[self.cluster_state.row_of(node)])

    def _node_booting(self, node: int) -> Generator[simpy.Event, Any, None]:
        level, rng = self.level, self.node_rng["node_boot"]
        yield self.env.timeout(level.node_boot.one(rng))
        if not self._alive(node) or self._state(node) != LAUNCHING:
            return
        self.cluster_state.set_node_state(node, REGISTERED, self.env.now)
        yield self.env.timeout(level.node_registration.one(rng))
        if not self._alive(node) or self._state(node) != REGISTERED:
            return
        self.cluster_state.set_node_state(node, READY, self.env.now)
        self._replaced_when_ready(node)
        self._schedule_soon()

    def _remove_node(self, node: int) -> None:
        """Cordon the node and evict its pods; it terminates once they are gone."""
        if node in self._draining_nodes or not self._alive(node):
            return
        cluster, now = self.cluster_state, self.env.now
        self._draining_nodes.add(node)
        cluster.set_node_state(node, DRAINING, now)
        for pod in cluster.pods_on(node):
            if cluster.pod_state[cluster.pod_row(pod)] != BOUND:
                continue  # already leaving
            self.node_counts["evictions"] += 1
            self._evict(self._replicas[pod], now)
        if not cluster.pods_on(node):
            self._terminate_node(node)

    def _evict(self, replica: Replica, now: float) -> None:
        """The pod goes (draining within its grace period) and its ReplicaSet makes another."""
        if replica.state == PROVISIONING:
            self._terminate(replica, now)
        else:
            self._drain(replica, now)
        self._request()

    def _terminate_node(self, node: int, *, interrupted: bool = False) -> None:
        """Take the node away now: what its pods still had in flight fails."""
        cluster, now = self.cluster_state, self.env.now
        self._draining_nodes.discard(node)
        for pod in cluster.pods_on(node):
            self._terminate(self._replicas[pod], now)
        cluster.remove_node(node, now)
        self.ledger.stop(f"node{node}", now, interrupted=interrupted)
        self.node_counts["terminated"] += 1
        self._replacing = [(new, old) for new, old in self._replacing if node not in new]

    def _node_failing(self, node: int) -> Generator[simpy.Event, Any, None]:
        assert self.level.node_mtbf is not None
        yield self.env.timeout(self.node_rng["node_failures"].exponential(self.level.node_mtbf))
        if not self._alive(node):
            return
        self.node_counts["failures"] += 1
        cluster = self.cluster_state
        for pod in cluster.pods_on(node):
            if cluster.pod_state[cluster.pod_row(pod)] == BOUND:
                self._request()  # replaced; those already leaving were replaced at eviction
        self._terminate_node(node)

    def _node_interrupted(self, node: int) -> Generator[simpy.Event, Any, None]:
        assert self.level.spot_mtbi is not None
        yield self.env.timeout(self.node_rng["node_spot"].exponential(self.level.spot_mtbi))
        if not self._alive(node):
            return
        self.node_counts["interruptions"] += 1
        self._remove_node(node)
        yield self.env.timeout(self.level.spot_notice)
        if self._alive(node):
            self._terminate_node(node, interrupted=True)

    def _replaced_when_ready(self, node: int) -> None:
        still: list[tuple[set[int], tuple[int, ...]]] = []
        for new, old in self._replacing:
            new.discard(node)
            if new:
                still.append((new, old))
            else:
                for replaced in old:
                    self._remove_node(replaced)
        self._replacing = still

    # --- the node autoscaler --------------------------------------------------------------------

    def _autoscaling(self) -> Generator[simpy.Event, Any, None]:
        autoscaler = self.autoscaler
        assert autoscaler is not None
        rng = self.node_rng["node_autoscaler"]
        while True:
            self._apply(autoscaler.step(self.cluster_state, self.env.now, rng))
            yield self.env.timeout(autoscaler.interval)

    def _apply(self, plan: NodePlan) -> None:
        if plan.note and (not self.notes or self.notes[-1][1] != plan.note):
            self.notes.append((self.env.now, plan.note))
        for launch in plan.launches:
            new = {self._launch(launch.template) for _ in range(launch.count)}
            if launch.replaces:
                self._replacing.append((new, launch.replaces))
        for removal in plan.removals:
            self._remove_node(removal.node)

    # --- what a run reports -----------------------------------------------------------------------

    def cluster(self, t: float) -> dict[str, float]:
        """The node level at ``t``.

        ``nodes`` (live: launching to draining), ``nodes_ready``,
        ``nodes_starting`` (launching or registered), ``nodes_draining``;
        ``pods_unscheduled`` (pending, bound to no node); over ready nodes,
        ``cpu_requested`` and ``memory_requested`` (shares of allocatable, NaN
        without a ready node) and ``stranded_cpu``: vCPU left free on ready
        nodes where the workload's pod no longer fits (another resource or
        the pod count is exhausted there).
        """
        c = self.cluster_state
        rows = c.node_rows()
        states = c.node_state[rows]
        ready = rows[states == READY]
        allocatable = c.allocatable[ready].sum(axis=0)
        requested = c.requested[ready].sum(axis=0)
        room = c.allocatable[ready] - c.requested[ready]
        blocked = ~(room >= c.requests[0]).all(axis=1)
        return {
            "nodes": float(len(rows)),
            "nodes_ready": float(len(ready)),
            "nodes_starting": float(np.isin(states, (LAUNCHING, REGISTERED)).sum()),
            "nodes_draining": float((states == DRAINING).sum()),
            "pods_unscheduled": float(c.pending().size),
            "cpu_requested": _share(requested[0], allocatable[0]),
            "memory_requested": _share(requested[1], allocatable[1]),
            "stranded_cpu": float(room[blocked, 0].sum()) / 1000,
        }

    def totals(self) -> dict[str, float]:
        totals = super().totals()
        counts = self.node_counts
        waits = np.sort(np.array(self.pending_seconds))
        p50, p99 = percentiles_of_sorted(waits, [50, 99]) if waits.size else [float("nan")] * 2
        totals.update(
            nodes_launched=counts["launched"],
            nodes_terminated=counts["terminated"],
            node_failures=counts["failures"],
            node_interruptions=counts["interruptions"],
            pods_evicted=counts["evictions"],
            pod_pending_p50=p50,
            pod_pending_p99=p99,
        )
        return totals


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else float("nan")
