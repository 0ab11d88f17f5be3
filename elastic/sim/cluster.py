"""Two levels, every request simulated: the replicas are pods on nodes that a node autoscaler runs.

:class:`ClusterFleet` is the request-level :class:`~elastic.sim.fleet.Fleet`
with its replicas made pods of a :class:`~elastic.nodes.cluster.ClusterState`
(see :class:`~elastic.sim.node_level.NodeLevel` for the rules), with the
node level simulated by a :class:`~elastic.sim.node_plane.NodePlane` in the
same SimPy environment. What it adds:

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

from elastic.cost.ledger import CostObserver, Ledger
from elastic.sim.fleet import PROVISIONING, Fleet, Replica
from elastic.sim.node_cost import CostSplit
from elastic.sim.node_plane import NodePlane
from elastic.sim.randomness import Streams
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
        assert scenario.nodes is not None
        self._pods: dict[int, int] = {}  # replica id -> pod id
        self._replicas: dict[int, Replica] = {}  # pod id -> replica
        super().__init__(scenario, streams, ledger)  # its first replicas' pods wait for start()
        self.plane = NodePlane(scenario.nodes, self.env, self, streams, ledger)
        for replica in self.replicas:
            self._pods[replica.id] = pod = self.plane.add_pod(0.0, placed_later=True)
            self._replicas[pod] = replica
        self.plane.start()

    # --- the replicas' side of the pods ------------------------------------------------------

    def _start_initial(self) -> None:
        # the plane does not exist yet: the first replicas are made here, their pods in __init__
        for _ in range(self.scenario.initial_replicas):
            self._request(booted=True)

    def _created(self, replica: Replica, *, booted: bool) -> None:
        if booted:
            return
        pod = self.plane.add_pod(replica.requested_at)
        self._pods[replica.id] = pod
        self._replicas[pod] = replica

    def _gone(self, replica: Replica, now: float, *, interrupted: bool) -> None:
        pod = self._pods.pop(replica.id)
        del self._replicas[pod]
        self.plane.gone(pod, now)

    def _drain(self, replica: Replica, now: float) -> None:
        super()._drain(replica, now)
        self.plane.leaving(self._pods[replica.id])

    # --- what the node level asks (PodHost) ---------------------------------------------------

    def pods_bound(self, pods: list[int], t: float, *, started: bool) -> None:
        for pod in pods:
            replica = self._replicas[pod]
            if started:
                self._become_accepting(replica, ready=True)
            else:
                self.env.process(self._booting(replica))

    def pod_evicted(self, pod: int, t: float) -> None:
        replica = self._replicas[pod]
        if replica.state == PROVISIONING:
            self._terminate(replica, t)
        else:
            self._drain(replica, t)

    def pod_killed(self, pod: int, t: float) -> None:
        self._terminate(self._replicas[pod], t)

    def replace(self, count: int, t: float) -> None:
        for _ in range(count):
            self._request()

    # --- what a run reports ---------------------------------------------------------------------

    def cluster(self, t: float) -> dict[str, float]:
        return self.plane.series(t)

    def cost_split(self, ledger: Ledger, until: float) -> CostSplit:
        return self.plane.cost_split(ledger.by_unit(until=until), until)

    def totals(self) -> dict[str, float]:
        return super().totals() | self.plane.totals()
