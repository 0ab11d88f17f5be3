"""Two levels in fluid fidelity: the fluid model's replicas are pods on nodes.

:class:`FluidClusterFleet` is :class:`~elastic.sim.fluid.FluidFleet` with its
replicas made pods that a :class:`~elastic.sim.node_plane.NodePlane` places
on nodes. The node level is the request-level one, event by event, in an
environment of its own that runs up to each control interval's end before
the interval's ticks are computed: what the node level does depends on the
pods and their requests, never on the load within an interval. The fluid
model sees its results as it sees any lifecycle change:

- a requested replica is a pending pod, counted as pending, serving nothing,
  until the plane binds it; it then boots as a fluid replica does, and
  serves from the first tick after it is ready;
- pods bound together (one scheduling pass) with a constant boot time are
  one cohort;
- an evicted pod drains its share of the backlog within its grace period (the
  replica's ``drain_timeout``); a killed one (its node failed or was taken)
  fails its share and its requests in service; both take effect on the
  backlog at the start of the control interval they fall in, on capacity at
  their tick, as the fluid model's failures do;
- replicas are not billed: the plane bills the nodes.
"""

from __future__ import annotations

from heapq import heappush
from itertools import islice

import simpy

from elastic.cost.ledger import Ledger
from elastic.sim.distributions import Constant
from elastic.sim.fluid import FluidFleet, _Unit
from elastic.sim.node_cost import CostSplit
from elastic.sim.node_plane import NodePlane
from elastic.sim.randomness import Streams
from elastic.sim.scenario import Scenario

__all__ = ["FluidClusterFleet"]


class _PodUnit(_Unit):
    """A cohort of pods bound together: which pods, oldest first."""

    __slots__ = ("pods",)

    def __init__(self, index: int, first: int, pods: list[int], ready_at: float, warm_at: float):
        super().__init__(index, first, len(pods), ready_at, warm_at)
        self.pods = pods


class FluidClusterFleet(FluidFleet):
    """Pods on nodes, in fluid fidelity (see the module's docstring for the model).

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic import DecisionLoop
    >>> from elastic.nodes import NodeTemplate, PodSpec, Resources
    >>> from elastic.policies import TargetTracking
    >>> from elastic.sim import NodeLevel, Poisson, Scenario, simulate
    >>> node = NodeTemplate("general", "m5.large", "on-demand",
    ...                     Resources(1930, 7 * 2**30, 29), Decimal("0.096"))
    >>> level = NodeLevel(PodSpec("web", Resources.parse(cpu="900m", memory="1Gi")),
    ...                   templates=(node,), initial_nodes={"general": 2})
    >>> scenario = Scenario(Poisson(20.0), duration=300.0, initial_replicas=2, nodes=level)
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    >>> result = simulate(scenario, loop, fidelity="fluid")
    >>> result.conserved(), int(result.replicas.max()), int(result.ready.max())
    (True, 8, 4)
    """

    def __init__(
        self,
        scenario: Scenario,
        streams: Streams,
        ledger: Ledger,
        *,
        tick: float | None = None,
        scrape_noise: bool = True,
    ) -> None:
        assert scenario.nodes is not None
        self.env = simpy.Environment()
        self.plane = NodePlane(scenario.nodes, self.env, self, streams, ledger)
        self._unbound: dict[int, None] = {}  # pending pods bound to no node, oldest first
        self._units_of: dict[int, _PodUnit] = {}  # a bound pod's cohort
        # the first replicas' pods are asked for here, and placed when the plane starts
        super().__init__(scenario, streams, ledger, tick=tick, scrape_noise=scrape_noise)
        self.plane.start()

    # --- the replicas' side of the pods ------------------------------------------------------

    def _request(self, now: float, count: int, *, booted: bool = False) -> None:
        for _ in range(count):
            self._unbound[self.plane.add_pod(now, placed_later=booted)] = None
        self._live += count
        self._pending += count

    def scale_to(self, replicas: int, now: float) -> None:
        # pods bound to no node go first, newest first (as a ReplicaSet scales in)
        for pod in list(islice(reversed(self._unbound), max(self._live - replicas, 0))):
            del self._unbound[pod]
            self._live -= 1
            self._pending -= 1
            self.plane.gone(pod, now)
        super().scale_to(replicas, now)

    def _left(
        self, unit: _Unit, names: list[str], stops: list[float], *, interrupted: bool
    ) -> None:
        assert isinstance(unit, _PodUnit)
        for stop in stops:  # newest first, as they left
            pod = unit.pods.pop()
            del self._units_of[pod]
            if stop > self.env.now:
                self.plane.leaving(pod)
                self.plane.gone_at(pod, stop)
            else:
                self.plane.gone(pod, self.env.now)

    def _lifecycle_events(self, end: float) -> None:
        super()._lifecycle_events(end)
        if end > self.env.now:
            self.env.run(until=end)  # the node level up to the interval's end

    # --- what the node level asks (PodHost) ---------------------------------------------------

    def pods_bound(self, pods: list[int], t: float, *, started: bool) -> None:
        spec = self.scenario.replica
        alike = started or isinstance(spec.boot, Constant)
        for group in [pods] if alike else [[pod] for pod in pods]:
            boot = 0.0 if started else spec.boot.one(self.rng["boot"])
            ready = t + boot
            unit = _PodUnit(
                len(self.units),
                self._numbered,
                group,
                ready,
                ready + (0.0 if started else spec.warmup),
            )
            self._numbered += len(group)
            self.units.append(unit)
            self.live[unit.id] = unit
            for pod in group:
                del self._unbound[pod]
                self._units_of[pod] = unit
            heappush(self._boots, (unit.ready_at, unit.id))
            self._change(unit.ready_at, spec.slots * len(group))

    def pod_evicted(self, pod: int, t: float) -> None:
        self._one_leaves(pod, t, fail=False)

    def pod_killed(self, pod: int, t: float) -> None:
        if pod in self._units_of:
            self._one_leaves(pod, t, fail=True)
        else:  # already draining: what it had left was counted when it began to
            self.plane.gone(pod, t)

    def _one_leaves(self, pod: int, t: float, *, fail: bool) -> None:
        unit = self._units_of[pod]
        unit.pods.remove(pod)
        unit.pods.append(pod)  # _leave takes the newest: make it this one
        limit = 0.0 if fail else self.scenario.replica.drain_timeout
        self._leave(unit, 1, t, limit=limit, fail_rest=fail)

    def replace(self, count: int, t: float) -> None:
        self._request(t, count)

    # --- what a run reports ---------------------------------------------------------------------

    def cluster(self, t: float) -> dict[str, float]:
        return self.plane.series(t)

    def cost_split(self, ledger: Ledger, until: float) -> CostSplit:
        return self.plane.cost_split(ledger.by_unit(until=until), until)

    def totals(self) -> dict[str, float]:
        return super().totals() | self.plane.totals()
