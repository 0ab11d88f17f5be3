"""The node level of a two-level run, at either fidelity: nodes, the scheduler, the autoscaler.

:class:`NodePlane` is a small discrete-event simulation of its own (SimPy
processes: nodes booting and registering, failing, interrupted; the node
autoscaler every ``interval``; scheduling passes). It does not serve
requests: the pod-level backend does, and the two talk through
:class:`PodHost`. The plane asks the host to start a bound pod, to evict one
(it drains within its grace period), to kill one (its node is gone) and to
replace pods (a ReplicaSet's work); the host tells the plane when it wants
a pod (:meth:`NodePlane.add_pod`), when a pod starts leaving
(:meth:`NodePlane.leaving`) and when it is gone (:meth:`NodePlane.gone`).

The request-level backend shares its SimPy environment with the plane, so
node and request events interleave exactly; the fluid backend gives the
plane an environment of its own and runs it up to each control interval's
end before computing the interval (what the node level does depends on
pods and requests, never on the load within an interval).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import simpy
from numpy.typing import NDArray

from elastic.cost.ledger import CostObserver
from elastic.errors import ElasticError, SimulationError
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
from elastic.sim.limits import MAX_FLEET
from elastic.sim.node_cost import CostSplit, NodeCosts
from elastic.sim.node_level import NodeLevel
from elastic.sim.randomness import Streams
from elastic.sim.records import percentiles_of_sorted
from elastic.sim.stats import RoundedCounts

__all__ = ["NodePlane", "PodHost"]


class PodHost(Protocol):
    """What the node level asks of the pod-level backend."""

    def pods_bound(self, pods: list[int], t: float, *, started: bool) -> None:
        """These pending pods were bound to nodes at ``t``: start them (``started``: they
        are the run's first pods, serving at once)."""

    def pod_evicted(self, pod: int, t: float) -> None:
        """Its node is being drained: the pod drains within its grace period (or stops
        now if it is not serving yet); report it gone with :meth:`NodePlane.gone`."""

    def pod_killed(self, pod: int, t: float) -> None:
        """Its node is gone: what the pod had in flight fails; report it gone now."""

    def replace(self, count: int, t: float) -> None:
        """Create ``count`` pods to replace evicted or killed ones (the ReplicaSet)."""


class NodePlane:
    """Nodes under the pods of one run: the plane carries out the node autoscaler's plans."""

    def __init__(
        self,
        level: NodeLevel,
        env: simpy.Environment,
        host: PodHost,
        streams: Streams,
        ledger: CostObserver,
    ) -> None:
        self.level = level
        self.env = env
        self.host = host
        self.ledger = ledger
        self.cluster = ClusterState(level.all_templates(), [level.pod])
        self.scheduler = Scheduler(level.scheduler)
        self.autoscaler = level.fresh_autoscaler()
        self.rng = {
            name: streams.generator(name)
            for name in ("node_boot", "node_failures", "node_spot", "node_autoscaler")
        }
        self._draining: set[int] = set()  # nodes being drained
        self._noticed: set[int] = set()  # Spot nodes under an interruption notice
        # a replacing launch: the new nodes not ready yet, and the nodes they replace
        self._replacing: list[tuple[set[int], tuple[int, ...]]] = []
        self._pass_due = False
        # how long each bound pod was pending: over the run (bounded), and in this interval
        self.pending = RoundedCounts()
        self._interval_pending: list[float] = []
        self.costs = NodeCosts(self.cluster.templates, self.cluster.specs)
        self.counts = dict.fromkeys(
            ("launched", "terminated", "failures", "interruptions", "evictions"), 0
        )
        self.notes: list[tuple[float, str]] = []  # what the autoscaler said, when it changed
        self._templates_seen: set[int] = set()

    def start(self) -> None:
        """The run's first nodes, ready at once; the pods already asked for are placed on
        them at once and serve from the start; then the node autoscaler begins."""
        for name, count in self.level.initial_nodes.items():
            for _ in range(count):
                self._launch(name, ready=True)
        self._schedule(started=True)
        if self.autoscaler is not None:
            self.env.process(self._autoscaling())

    # --- pods, as the host reports them ------------------------------------------------------

    def add_pod(self, t: float, *, placed_later: bool = False) -> int:
        """A pod the host wants (pending until the scheduler binds it); its id."""
        pod = self.cluster.add_pod(self.level.pod.name, t)
        if not placed_later:
            self._schedule_soon()
        return pod

    def leaving(self, pod: int) -> None:
        """A bound pod is leaving: it keeps its requests until it is gone."""
        self.cluster.terminating(pod)

    def gone(self, pod: int, t: float) -> None:
        """The pod is gone at ``t``: its node's resources are free (and a drained node
        with nothing left on it terminates)."""
        cluster = self.cluster
        row = cluster.pod_row(pod)
        node = (
            int(cluster.node_id[cluster.pod_node[row]])
            if cluster.pod_state[row] != PENDING
            else None
        )
        spec = int(cluster.pod_spec[row])
        cluster.remove_pod(pod, t)
        if node is not None:
            self.costs.changed(node, spec, -1, t)
            self._end_if_drained(node)
        self._schedule_soon()

    def gone_at(self, pod: int, t: float) -> None:
        """The pod will be gone at ``t`` (a drain whose end is known now)."""
        self.env.process(self._gone_at(pod, t))

    def _gone_at(self, pod: int, t: float) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(max(t - self.env.now, 0.0))
        if self.cluster.has_pod(pod):  # not killed with its node in the meantime
            self.gone(pod, self.env.now)

    # --- scheduling --------------------------------------------------------------------------

    def _schedule_soon(self) -> None:
        """Run a scheduling pass at this instant, once, after what else happens at it."""
        if not self._pass_due:
            self._pass_due = True
            self.env.process(self._pass())

    def _pass(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(0)
        self._pass_due = False
        self._schedule()

    def _schedule(self, *, started: bool = False) -> None:
        cluster, now = self.cluster, self.env.now
        if not cluster.pending().size:
            return
        bound = []
        for pod, node in self.scheduler.schedule(cluster, now).bindings:
            row = cluster.pod_row(pod)
            wait = now - float(cluster.pending_since[row])
            self.pending.add(wait)
            self._interval_pending.append(wait)
            cluster.bind(pod, node, now)
            self.costs.changed(node, int(cluster.pod_spec[row]), +1, now)
            bound.append(pod)
        if bound:
            self.host.pods_bound(bound, now, started=started)

    # --- nodes --------------------------------------------------------------------------------

    def _launch(self, template: str, *, ready: bool = False) -> int:
        cluster, now = self.cluster, self.env.now
        node = cluster.add_node(template, now)
        self.ledger.start(_unit(node), template, now)
        self.costs.launched(node, int(cluster.node_template[cluster.row_of(node)]), now)
        if ready:
            cluster.set_node_state(node, REGISTERED, now)
            cluster.set_node_state(node, READY, now)
        else:
            self.counts["launched"] += 1  # in the run: the initial nodes are not counted
            self.env.process(self._booting(node))
        if self.level.node_mtbf is not None:
            self.env.process(self._failing(node))
        if self.level.spot_mtbi is not None and cluster.template_of(node).capacity_type == "spot":
            self.env.process(self._interrupted(node))
        return node

    def _state(self, node: int) -> int:
        return int(self.cluster.node_state[self.cluster.row_of(node)])

    def _booting(self, node: int) -> Generator[simpy.Event, Any, None]:
        level, rng, cluster = self.level, self.rng["node_boot"], self.cluster
        yield self.env.timeout(level.node_boot.one(rng))
        if node not in cluster or self._state(node) != LAUNCHING:
            return
        cluster.set_node_state(node, REGISTERED, self.env.now)
        yield self.env.timeout(level.node_registration.one(rng))
        if node not in cluster or self._state(node) != REGISTERED:
            return
        cluster.set_node_state(node, READY, self.env.now)
        self._replaced_when_ready(node)
        self._schedule_soon()

    def _remove(self, node: int) -> None:
        """Cordon the node and evict its pods; it terminates once they are gone."""
        cluster = self.cluster
        if node in self._draining or node not in cluster:
            return
        now = self.env.now
        self._draining.add(node)
        cluster.set_node_state(node, DRAINING, now)
        evicted = 0
        for pod in cluster.pods_on(node):
            if cluster.pod_state[cluster.pod_row(pod)] != BOUND:
                continue  # already leaving
            evicted += 1
            self.host.pod_evicted(pod, now)
        self.counts["evictions"] += evicted
        if evicted:
            self.host.replace(evicted, now)
        self._end_if_drained(node)

    def _end_if_drained(self, node: int) -> None:
        """A draining node whose pods are all gone terminates now, unless it is under a Spot
        notice (the provider takes it at the notice's end)."""
        cluster = self.cluster
        if node in self._draining and node not in self._noticed and not cluster.pods_on(node):
            self._terminate_node(node)

    def _terminate_node(self, node: int, *, interrupted: bool = False) -> None:
        """Take the node away now: what its pods still had in flight fails."""
        cluster, now = self.cluster, self.env.now
        self._draining.discard(node)
        for pod in cluster.pods_on(node):
            self.host.pod_killed(pod, now)
        self.costs.terminated(node, now)
        cluster.remove_node(node, now)
        self.ledger.stop(_unit(node), now, interrupted=interrupted)
        self.counts["terminated"] += 1
        self._replacing = [(new, old) for new, old in self._replacing if node not in new]

    def _failing(self, node: int) -> Generator[simpy.Event, Any, None]:
        assert self.level.node_mtbf is not None
        yield self.env.timeout(self.rng["node_failures"].exponential(self.level.node_mtbf))
        cluster = self.cluster
        if node not in cluster:
            return
        self.counts["failures"] += 1
        # replaced; those already leaving were replaced when they were evicted
        lost = sum(cluster.pod_state[cluster.pod_row(p)] == BOUND for p in cluster.pods_on(node))
        self._terminate_node(node)
        if lost:
            self.host.replace(int(lost), self.env.now)

    def _interrupted(self, node: int) -> Generator[simpy.Event, Any, None]:
        assert self.level.spot_mtbi is not None
        yield self.env.timeout(self.rng["node_spot"].exponential(self.level.spot_mtbi))
        if node not in self.cluster:
            return
        self.counts["interruptions"] += 1
        # drained during the notice, the node is taken by the provider at its end (billed by
        # the interruption rule), however soon its pods are gone
        self._noticed.add(node)
        self._remove(node)
        yield self.env.timeout(self.level.spot_notice)
        self._noticed.discard(node)
        if node in self.cluster:
            self._terminate_node(node, interrupted=True)

    def _replaced_when_ready(self, node: int) -> None:
        still: list[tuple[set[int], tuple[int, ...]]] = []
        for new, old in self._replacing:
            new.discard(node)
            if new:
                still.append((new, old))
            else:
                for replaced in old:
                    self._remove(replaced)
        self._replacing = still

    # --- the node autoscaler --------------------------------------------------------------------

    def _autoscaling(self) -> Generator[simpy.Event, Any, None]:
        autoscaler = self.autoscaler
        assert autoscaler is not None
        rng = self.rng["node_autoscaler"]
        name = type(autoscaler).__name__
        while True:
            now = self.env.now
            # SimPy re-raises a process's error as a copy made from its args: an error of
            # ours is turned into one that copies whole, with the step's instant in it
            try:
                plan = autoscaler.step(self.cluster, now, rng)
            except ElasticError as error:
                raise SimulationError(f"{name}.step at {now:g} s: {error}") from error
            if not isinstance(plan, NodePlan):
                raise SimulationError(
                    f"{name}.step at {now:g} s returned {plan!r}; expected a NodePlan"
                )
            try:
                self._apply(plan)
            except ElasticError as error:
                raise SimulationError(
                    f"{name}'s plan at {now:g} s cannot be carried out: {error}"
                ) from error
            yield self.env.timeout(autoscaler.interval)

    def _apply(self, plan: NodePlan) -> None:
        if plan.note and (not self.notes or self.notes[-1][1] != plan.note):
            self.notes.append((self.env.now, plan.note))
        asked = sum(launch.count for launch in plan.launches)
        if self.cluster.nodes() + asked > MAX_FLEET:
            raise SimulationError(
                f"{asked} nodes launched with {self.cluster.nodes()} live: at most {MAX_FLEET} "
                "live nodes in a simulation (elastic.sim.limits.MAX_FLEET)"
            )
        for launch in plan.launches:
            new = {self._launch(launch.template) for _ in range(launch.count)}
            if launch.replaces:
                self._replacing.append((new, launch.replaces))
        for removal in plan.removals:
            self._remove(removal.node)

    # --- what a run reports -----------------------------------------------------------------------

    def series(self, t: float) -> dict[str, float]:
        """The node level at ``t``, a control interval's end (called once per interval, in order).

        ``nodes`` (live: launching to draining), ``nodes_ready``,
        ``nodes_starting`` (launching or registered), ``nodes_draining``;
        ``nodes:<template>``, the live nodes of each template;
        ``pods_unscheduled`` (pending, bound to no node); over ready nodes,
        ``cpu_requested`` and ``memory_requested`` (shares of allocatable, NaN
        without a ready node) and ``stranded_cpu``: vCPU left free on ready
        nodes where the workload's pod no longer fits (another resource or
        the pod count is exhausted there). Of the interval since the previous
        call: ``pods_bound`` and the exact ``pod_pending_p99`` of their
        pending times (NaN when none was bound), and ``allocated_share``,
        the requested share of the interval's node cost at list prices
        (:meth:`~elastic.sim.node_cost.NodeCosts.interval_share`).
        """
        c = self.cluster
        rows = c.node_rows()
        states = c.node_state[rows]
        by_template = np.bincount(c.node_template[rows], minlength=len(c.templates))
        waits = np.sort(np.array(self._interval_pending))
        self._interval_pending.clear()
        p99 = percentiles_of_sorted(waits, [99])[0] if waits.size else float("nan")
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
            **{
                f"nodes:{c.templates[i].name}": float(by_template[i])
                for i in self._seen(by_template)
            },
            "pods_bound": float(waits.size),
            "pod_pending_p99": p99,
            "allocated_share": self.costs.interval_share(t),
        }

    def _seen(self, by_template: NDArray[np.int64]) -> list[int]:
        """The templates that have had a live node at an interval's end so far, in order (a
        NodePool offers many; a series of zeros for each would fill the records)."""
        self._templates_seen.update(np.flatnonzero(by_template).tolist())
        return sorted(self._templates_seen)

    def totals(self) -> dict[str, float]:
        """Counts over the run: nodes launched (not the initial ones) and terminated, node
        failures and Spot interruptions, pods evicted, and the pods' pending time, a pod still
        pending at the end counted with its wait so far (its
        percentiles are those of the times rounded down to 11 significant bits: within
        0.1 % below the exact ones, see :class:`~elastic.sim.stats.RoundedCounts`)."""
        cluster, now = self.cluster, self.env.now
        # a pod still pending at the end counts with its wait so far: a run whose pods never
        # found a node reports that, not NaN
        still = (now - float(cluster.pending_since[cluster.pod_row(p)]) for p in cluster.pending())
        p50, p99 = self.pending.with_added(still).percentiles([50, 99])
        counts = self.counts
        return {
            "nodes_launched": counts["launched"],
            "nodes_terminated": counts["terminated"],
            "node_failures": counts["failures"],
            "node_interruptions": counts["interruptions"],
            "pods_evicted": counts["evictions"],
            "pod_pending_p50": p50,
            "pod_pending_p99": p99,
        }

    def cost_split(self, bills: Mapping[str, Decimal], until: float) -> CostSplit:
        """The node bill split into each workload's allocated cost and idle, at the run's
        end (``bills``: the ledger's by unit up to ``until``)."""
        by_node = {node: bills[_unit(node)] for node in self.costs.nodes() if _unit(node) in bills}
        return self.costs.split(by_node, until=until)


def _unit(node: int) -> str:
    """A node's unit in the ledger."""
    return f"node{node}"


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else float("nan")
