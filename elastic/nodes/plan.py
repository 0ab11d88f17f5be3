"""What a node autoscaler decides, and the protocol every node autoscaler follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from elastic.errors import ParameterError
from elastic.nodes.cluster import ClusterState

__all__ = ["Launch", "NodeAutoscaler", "NodePlan", "Removal"]


@dataclass(frozen=True, slots=True)
class Launch:
    """Launch ``count`` nodes of a template.

    ``replaces``: node ids this launch replaces (a consolidation): they are
    drained once every node of this launch is ready.
    """

    template: str
    count: int = 1
    reason: str = "pending pods"
    replaces: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if type(self.count) is not int or self.count < 1:
            raise ParameterError("count", self.count, "an integer >= 1", owner="Launch")


@dataclass(frozen=True, slots=True)
class Removal:
    """Drain the node ``node`` (cordon it, evict its pods) and terminate it.

    ``reason``: why, in the autoscaler's own words (``empty``, ``underutilized``,
    ``expired``, ``consolidated``).
    """

    node: int
    reason: str


@dataclass(frozen=True, slots=True)
class NodePlan:
    """One step's decisions: nodes to launch and nodes to remove, with a note on why not more.

    Examples
    --------
    >>> NodePlan(launches=(Launch("general", 2),)).empty
    False
    >>> NodePlan(note="scale-down in cooldown").empty
    True
    """

    launches: tuple[Launch, ...] = ()
    removals: tuple[Removal, ...] = ()
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.launches and not self.removals


class NodeAutoscaler(Protocol):
    """A node autoscaler: a decider called every ``interval`` seconds.

    ``step`` reads the cluster (never changes it) and returns what to do; it
    may keep its own clocks (how long a node has been unneeded, when the
    last scale-up was) in attributes ending with ``_``. No wall clock, no
    I/O, and randomness only from the generator passed in.
    """

    #: seconds between two calls of :meth:`step`
    interval: float

    def step(self, cluster: ClusterState, now: float, rng: np.random.Generator) -> NodePlan:
        """What to launch and remove at ``now``."""
        ...
