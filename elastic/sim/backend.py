"""What a system under simulation offers the driver: the backend interface.

The driver (:class:`~elastic.sim.run.Simulation`) owns time, the metrics
pipeline, the decision step and the records; a backend owns what is
simulated: requests, replicas (or execution environments, or cohorts of a
fluid model) and what they cost. Between two instants the driver calls,
the backend runs on its own (its boots, drains, failures and requests).

Three backends implement it: :class:`~elastic.sim.fleet.Fleet` (every
request, replicas behind a load balancer), :class:`~elastic.sim.serverless.Platform`
(a Lambda-like function; the replica count is provisioned concurrency) and
:class:`~elastic.sim.fluid.FluidFleet` (aggregated demand on a tick grid).
A new system under simulation is a new backend, not a new control plane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol

import simpy

from elastic.core.frozen import fast_init
from elastic.cost.ledger import Ledger
from elastic.sim.node_cost import CostSplit
from elastic.sim.stats import LatencyHistogram

__all__ = ["Backend", "EventBackend", "FleetState", "Outcomes"]


class FleetState(NamedTuple):
    """The replicas at one instant, as a controller counts them."""

    replicas: int
    """Live: requested and not draining (provisioning, warming and ready)."""
    ready: int
    """Taking requests, warming ones included."""
    pending: int
    """Provisioning (booting)."""
    warming: int
    """Taking requests, left out of metrics while they warm up."""
    draining: int
    """Leaving: finishing their requests."""


@fast_init
@dataclass(frozen=True, slots=True)
class Outcomes:
    """What happened to requests in one control interval, and the service given in it."""

    arrived: int
    completed: int
    dropped: int
    timed_out: int
    failed: int
    in_flight: int
    """Taken and not finished, at the interval's end."""
    utilization: float
    """Busy slot-seconds over offered slot-seconds (NaN when nothing was offered)."""
    latency: Mapping[str, float]
    """``latency_mean``, ``latency_p50`` ... ``latency_max`` of the requests completed."""
    cold_starts: int = 0
    throttled: int = 0
    busy_environments: int = 0
    idle_environments: int = 0


class Backend(Protocol):
    """A system under simulation.

    Time only goes forward: the driver calls :meth:`run_until` with
    non-decreasing instants, then at that instant any of the others.
    """

    #: every metric :meth:`sample` can measure (a policy reading another one is refused)
    PRODUCES: ClassVar[tuple[str, ...]]

    def run_until(self, t: float) -> None:
        """Let everything that happens at or before ``t`` happen."""

    def sample(self, t: float) -> dict[str, float]:
        """Measure the metrics of a scrape at ``t``, over the window since the previous scrape."""
        ...

    def skip(self, t: float) -> None:
        """A scrape at ``t`` that no decision reads: only its window moves on."""

    def state(self, t: float) -> FleetState:
        """The replicas at ``t``."""
        ...

    def scale_to(self, replicas: int, t: float) -> None:
        """Request or remove replicas at ``t`` so that ``replicas`` are live."""

    def outcomes(self, start: float, end: float) -> Outcomes:
        """What happened in ``[start, end)``; called once per interval, in order."""
        ...

    def totals(self) -> dict[str, float]:
        """Counts over the whole run beyond request outcomes (``workload_arrivals`` at least)."""
        ...

    def latency(self) -> LatencyHistogram:
        """Every completed request's latency, binned."""
        ...

    def cluster(self, t: float) -> dict[str, float]:
        """The node level at ``t``: nodes, unscheduled pods, utilization (empty without nodes)."""
        ...

    def cost_split(self, ledger: Ledger, until: float) -> CostSplit | None:
        """The bill up to ``until`` split into the workloads' allocated cost and idle (None
        without nodes)."""
        ...


class EventBackend:
    """The time keeping of a backend whose changes are SimPy events.

    Requests are handled by :meth:`dispatch` between events, in one batch
    per span (the replica set is fixed between two events).
    """

    env: simpy.Environment

    def cluster(self, t: float) -> dict[str, float]:
        return {}

    def cost_split(self, ledger: Ledger, until: float) -> CostSplit | None:
        return None

    def dispatch(self, until: float) -> None:
        """Hand the arrivals before ``until`` to the system."""
        raise NotImplementedError

    def run_until(self, t: float) -> None:
        env = self.env
        while env.peek() <= t:
            self.dispatch(env.peek())
            env.step()
        self.dispatch(t)
        if env.now < t:
            env.run(until=t)
