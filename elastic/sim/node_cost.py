"""A two-level run's node bill split as cost-allocation tools split it: requests, and idle.

The rule is the OpenCost specification's (``spec/opencost-specv01.md`` in
opencost/opencost): a workload is allocated the node cost of what it
reserves, *max(request, usage)*, and "Cluster Idle Cost = Cluster Asset
Costs - Workload Costs". A simulated pod uses no more than it requests (there
is no usage beyond requests in the model), so what it reserves is its
requests.

A node's price covers its CPU and its memory. EC2 bills the whole instance,
so the price is split between them as OpenCost does when a provider gives
only a node's price (``GetNodeCost`` in ``pkg/costmodel/costmodel.go``): at
the ratio of its default prices (``configs/default.json``: $0.031611 per
vCPU-hour, $0.004237 per GiB-hour), scaled so that the node's vCPUs and GiB
add up to its price. A pod requesting ``c`` cores and ``m`` GiB on a node of
``C`` vCPUs and ``M`` GiB is allocated, while it is bound there::

    weight = (r c + m) / (r C + M),   r = 0.031611 / 0.004237

of the node's cost. ``C`` and ``M`` are the node's capacity (its instance
type's vCPUs and memory), not its allocatable: the system reservation
(kube-reserved, the eviction threshold, the memory the kubelet does not
see) is requested by no workload, so its cost is idle, as in OpenCost.

Over a run, a node's bill (the ledger's, with its minimum charge, Spot price
and interruption rule) is split by the node's time-averaged requested share
over its life: ``allocated = bill * Σ weight * (pod-seconds bound there) /
(its seconds)``, and idle is the exact rest. The pod-seconds are integrated
exactly (each change of a node's pods at its float instant, as integers
over a power of two), so the parts add up to the bill to the last
1e-18 $.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from elastic.cost.money import apportion, to_decimal
from elastic.errors import ParameterError
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

__all__ = ["CPU_PRICE", "RAM_PRICE", "CostSplit", "NodeCosts", "request_weight"]

CPU_PRICE = Fraction("0.031611")  # $ per vCPU-hour: OpenCost's configs/default.json
RAM_PRICE = Fraction("0.004237")  # $ per GiB-hour: the same
_CPU_TO_RAM = CPU_PRICE / RAM_PRICE
_GIB = 2**30


def request_weight(requests: Resources, template: NodeTemplate) -> Fraction:
    """The share of a node's cost that a pod with ``requests`` is allocated while bound to it.

    OpenCost's split of a node's price into CPU and memory (see the module's
    docstring), over the node's capacity: its vCPUs and memory, or its
    allocatable if that is larger (a template built without them).

    Examples
    --------
    >>> from decimal import Decimal
    >>> node = NodeTemplate("m5.large", "m5.large", "on-demand",
    ...                     Resources(1930, 7 * 2**30, 29), Decimal("0.096"),
    ...                     vcpu=2, memory_bytes=8 * 2**30)
    >>> weight = request_weight(Resources.parse(cpu="1", memory="4Gi"), node)
    >>> round(float(weight), 4)   # (7.4607 + 4) / (2 * 7.4607 + 8): a half of each
    0.5
    """
    cores = Fraction(requests.cpu, 1000)
    gib = Fraction(requests.memory, _GIB)
    capacity_cores = Fraction(max(template.vcpu * 1000, template.allocatable.cpu), 1000)
    capacity_gib = Fraction(max(template.memory_bytes, template.allocatable.memory), _GIB)
    whole = _CPU_TO_RAM * capacity_cores + capacity_gib
    return (_CPU_TO_RAM * cores + gib) / whole if whole else Fraction(0)


@dataclass(frozen=True)
class CostSplit:
    """A run's node bill split: ``nodes`` == ``sum(allocated.values())`` + ``idle``, exactly.

    ``allocated`` is by workload (the pod spec's name); ``idle`` is the
    cost of what no pod requested, the system reservation included.

    Examples
    --------
    >>> split = CostSplit(Decimal("1.5"), {"web": Decimal("1.2")}, Decimal("0.3"))
    >>> split.idle_share, split.as_dict()["idle"]
    (0.2, Decimal('0.3'))
    >>> CostSplit.from_dict(split.to_dict()) == split
    True
    """

    nodes: Decimal
    allocated: Mapping[str, Decimal] = field(default_factory=dict)
    idle: Decimal = Decimal(0)

    @property
    def idle_share(self) -> float:
        """Idle over the node bill (NaN for a bill of 0)."""
        return float(self.idle / self.nodes) if self.nodes else math.nan

    def as_dict(self) -> dict[str, Any]:
        """``{"nodes": ..., "allocated": {workload: ...}, "idle": ...}`` in Decimals."""
        return {"nodes": self.nodes, "allocated": dict(self.allocated), "idle": self.idle}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the amounts as strings (exact)."""
        return {
            "nodes": str(self.nodes),
            "allocated": {name: str(v) for name, v in self.allocated.items()},
            "idle": str(self.idle),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostSplit:
        """Read back what :meth:`to_dict` gave."""
        try:
            return cls(
                Decimal(data["nodes"]),
                {str(k): Decimal(v) for k, v in data["allocated"].items()},
                Decimal(data["idle"]),
            )
        except (KeyError, TypeError, AttributeError, ArithmeticError, ValueError):
            raise ParameterError(
                "cost_split",
                data,
                "{'nodes': ..., 'allocated': {...}, 'idle': ...}",
                owner="RunResult",
            ) from None


class _Integral:
    """The exact integral of an integer step function of float time, from 0.

    ``level`` is its value now; the sum of ``change * instant`` over its
    changes is kept as an integer over a power of two (a float is an integer
    over a power of two), so the integral up to ``t`` is ``level t - sum``.
    """

    __slots__ = ("_num", "_shift", "level")

    def __init__(self) -> None:
        self.level = 0
        self._num = 0
        self._shift = 0

    def change(self, delta: int, t: float) -> None:
        numerator, denominator = t.as_integer_ratio()
        shift = denominator.bit_length() - 1
        if shift > self._shift:
            self._num <<= shift - self._shift
            self._shift = shift
        self._num += (delta * numerator) << (self._shift - shift)
        self.level += delta

    def upto(self, t: float) -> Fraction:
        """The integral from 0 to ``t`` (no change after ``t``)."""
        return self.level * Fraction(t) - Fraction(self._num, 1 << self._shift)


@dataclass
class _Node:
    template: int
    launched: float
    ended: float | None = None
    pods: dict[int, _Integral] = field(default_factory=dict)  # by spec: pods bound over time


class NodeCosts:
    """What the pods request of each node over time, kept exactly as a run goes.

    The simulator tells it when a node is launched and terminated and when a
    pod of a spec is bound to a node or gone from it; :meth:`split` divides
    the nodes' bills at the run's end, and :meth:`interval_share` gives the
    requested share of each control interval's node cost, for plotting.

    Examples
    --------
    One node of $0.096 an hour for an hour; a pod requesting half of it
    (by OpenCost's weights) bound from 900 s to 2700 s: half of its life.

    >>> node = NodeTemplate("m5.large", "m5.large", "on-demand",
    ...                     Resources(1930, 7 * 2**30, 29), Decimal("0.096"),
    ...                     vcpu=2, memory_bytes=8 * 2**30)
    >>> costs = NodeCosts([node], [PodSpec("web", Resources.parse(cpu="1", memory="4Gi"))])
    >>> costs.launched(0, 0, 0.0)
    >>> costs.changed(0, 0, +1, 900.0); costs.changed(0, 0, -1, 2700.0)
    >>> split = costs.split({0: Decimal("0.096")}, until=3600.0)
    >>> split.allocated["web"], split.idle
    (Decimal('0.024'), Decimal('0.072'))
    """

    def __init__(self, templates: Sequence[NodeTemplate], specs: Sequence[PodSpec]) -> None:
        self.templates = tuple(templates)
        self.specs = tuple(specs)
        self.weights = [[request_weight(s.requests, t) for t in self.templates] for s in self.specs]
        self._nodes: dict[int, _Node] = {}
        # for the per-interval shares (floats): price-weighted requested and node time, each
        # as rate * t - offset
        self._prices = [float(t.price_per_hour) for t in self.templates]
        self._fweights = [[float(w) for w in row] for row in self.weights]
        self._requested = [0.0, 0.0]  # rate, offset
        self._whole = [0.0, 0.0]
        self._last = (0.0, 0.0)  # both at the previous interval_share

    def nodes(self) -> list[int]:
        """The ids of the nodes launched so far."""
        return list(self._nodes)

    def launched(self, node: int, template: int, t: float) -> None:
        """Node ``node`` of template index ``template`` is billed from ``t``."""
        self._nodes[node] = _Node(template, t)
        _add(self._whole, self._prices[template], t)

    def changed(self, node: int, spec: int, delta: int, t: float) -> None:
        """``delta`` pods of spec index ``spec`` were bound to (+) or left (-) ``node`` at ``t``."""
        record = self._nodes[node]
        pods = record.pods.get(spec)
        if pods is None:
            pods = record.pods[spec] = _Integral()
        pods.change(delta, t)
        price = self._prices[record.template] * self._fweights[spec][record.template]
        _add(self._requested, price * delta, t)

    def terminated(self, node: int, t: float) -> None:
        """The node stops being billed at ``t``; the pods it still held count up to ``t``."""
        record = self._nodes[node]
        record.ended = t
        _add(self._whole, -self._prices[record.template], t)
        for spec, pods in record.pods.items():
            price = self._prices[record.template] * self._fweights[spec][record.template]
            _add(self._requested, -price * pods.level, t)

    def interval_share(self, t: float) -> float:
        """The requested share of the node cost since the previous call, at list prices.

        Price-weighted pod-seconds over price-weighted node-seconds in the
        interval (floats; NaN without a node in it). Times the interval's
        bill, it is the interval's allocated cost, for plotting: the exact
        split of the run is :meth:`split`'s.
        """
        requested = self._requested[0] * t - self._requested[1]
        whole = self._whole[0] * t - self._whole[1]
        before_requested, before_whole = self._last
        self._last = (requested, whole)
        spent = whole - before_whole
        if spent <= 0:
            return math.nan
        return min(max((requested - before_requested) / spent, 0.0), 1.0)

    def split(self, bills: Mapping[int, Decimal], *, until: float) -> CostSplit:
        """The nodes' bills (by node id, as the ledger itemizes them up to ``until``, the
        run's end) split into what each workload's requests are allocated and idle."""
        allocated = dict.fromkeys(range(len(self.specs)), Fraction(0))
        whole = Fraction(0)
        for node, record in self._nodes.items():
            bill = Fraction(bills.get(node, Decimal(0)))
            whole += bill
            stop = until if record.ended is None else min(record.ended, until)
            life = Fraction(stop) - Fraction(record.launched)
            if life <= 0 or not bill:
                continue
            for spec, pods in record.pods.items():
                held = pods.upto(stop)
                allocated[spec] += bill * self.weights[spec][record.template] * held / life
        parts = [*allocated.values(), whole - sum(allocated.values(), Fraction(0))]
        denominator = math.lcm(*(p.denominator for p in parts))
        rounded = apportion([p.numerator * (denominator // p.denominator) for p in parts],
                            denominator)  # fmt: skip
        names = [s.name for s in self.specs]
        return CostSplit(to_decimal(whole), dict(zip(names, rounded[:-1], strict=True)),
                         rounded[-1])  # fmt: skip


def _add(line: list[float], rate: float, t: float) -> None:
    """Raise the rate of ``rate * t - offset`` by ``rate`` from ``t`` on."""
    line[0] += rate
    line[1] += rate * t
