"""Node templates: the shape of a node a node autoscaler can launch."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from elastic.cost.catalog import DEFAULT_MAX_PODS, Catalog, default_catalog
from elastic.cost.money import money
from elastic.cost.tariffs import PerSecond, Spot, Tariff
from elastic.errors import ParameterError
from elastic.nodes.allocatable import MIB, Reservation, allocatable
from elastic.nodes.labels import (
    ARCH,
    CAPACITY_TYPE,
    INSTANCE_CATEGORY,
    INSTANCE_CPU,
    INSTANCE_FAMILY,
    INSTANCE_GENERATION,
    INSTANCE_MEMORY,
    INSTANCE_SIZE,
    INSTANCE_TYPE,
    Taint,
)
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources

__all__ = ["CAPACITY_TYPES", "VM_MEMORY_OVERHEAD", "NodeTemplate"]

#: the share of an instance's nominal memory the kubelet does not report: Karpenter's default
#: estimate (``--vm-memory-overhead-percent`` 0.075, karpenter.sh/docs/reference/settings)
VM_MEMORY_OVERHEAD = 0.075

CapacityType = Literal["on-demand", "spot"]
CAPACITY_TYPES: tuple[str, ...] = ("on-demand", "spot")


@dataclass(frozen=True, slots=True)
class NodeTemplate:
    """A node as launched: instance type, capacity type, what pods may use, labels, taints, price.

    Every node launched from one template is the same, so what a pod spec may
    use of it (:meth:`admits`) is computed once per pair, not per node.

    Parameters
    ----------
    name
        Unique within a run: a node group's name, or ``nodepool/type/capacity``.
    instance_type
        The catalog's name for it (``m5.large``).
    capacity_type
        ``on-demand`` or ``spot``.
    allocatable
        What pods may request: capacity minus the system reservation, and max pods.
    price_per_hour
        The on-demand hourly price, or the Spot price the choice is made on.
    labels, taints
        The node's; the well-known instance-type, architecture and capacity-type
        labels are added when missing.
    arch
        ``amd64`` or ``arm64``.
    vcpu, memory_bytes
        The instance's capacity (what a price per vCPU or a waste score counts).
    group
        The node group, NodePool or capacity provider it belongs to (``name``
        when empty): min, max and limits count by group.

    Examples
    --------
    >>> t = NodeTemplate("general", "m5.large", "on-demand",
    ...                  Resources(cpu=1930, memory=7_340_032_000, pods=29), Decimal("0.096"),
    ...                  arch="amd64", vcpu=2, memory_bytes=8 * 2**30)
    >>> t.labels["node.kubernetes.io/instance-type"], t.labels["karpenter.sh/capacity-type"]
    ('m5.large', 'on-demand')
    >>> t.admits(PodSpec("web", Resources.parse(cpu="1", memory="1Gi")))
    True
    >>> t.admits(PodSpec("big", Resources.parse(cpu="2", memory="1Gi")))
    False
    """

    name: str
    instance_type: str
    capacity_type: CapacityType
    allocatable: Resources
    price_per_hour: Decimal
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    arch: str = "amd64"
    vcpu: int = 0
    memory_bytes: int = 0
    group: str = ""

    def __post_init__(self) -> None:
        owner = "NodeTemplate"
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", self.name, "a non-empty name", owner=owner)
        if self.capacity_type not in CAPACITY_TYPES:
            raise ParameterError(
                "capacity_type", self.capacity_type, "on-demand or spot", owner=owner
            )
        allocatable = self.allocatable
        if (
            not isinstance(allocatable, Resources)
            or not all(type(v) is int for v in allocatable)
            or min(allocatable) < 0
        ):
            raise ParameterError(
                "allocatable", allocatable, "Resources of integers >= 0", owner=owner
            )
        # a float by its shortest repr: 0.1 is Decimal("0.1"), not its binary neighbour
        price = money(self.price_per_hour, "price_per_hour", owner=owner)
        object.__setattr__(self, "price_per_hour", price)
        if not isinstance(self.taints, tuple) or not all(isinstance(t, Taint) for t in self.taints):
            raise ParameterError("taints", self.taints, "a tuple of Taint", owner=owner)
        labels = dict(self.labels)
        labels.setdefault(INSTANCE_TYPE, self.instance_type)
        labels.setdefault(ARCH, self.arch)
        labels.setdefault(CAPACITY_TYPE, self.capacity_type)
        object.__setattr__(self, "labels", MappingProxyType(labels))
        if self.vcpu == 0:
            object.__setattr__(self, "vcpu", -(-allocatable.cpu // 1000))
        if self.memory_bytes == 0:
            object.__setattr__(self, "memory_bytes", allocatable.memory)
        if not self.group:
            object.__setattr__(self, "group", self.name)

    @classmethod
    def from_catalog(
        cls,
        instance_type: str,
        capacity_type: CapacityType = "on-demand",
        *,
        catalog: Catalog | None = None,
        name: str = "",
        group: str = "",
        labels: Mapping[str, str] | None = None,
        taints: tuple[Taint, ...] = (),
        reservation: Reservation | None = None,
    ) -> NodeTemplate:
        """A node of a catalog's instance type, with what pods may use of it.

        The memory the kubelet reports is taken as the nominal memory less
        :data:`VM_MEMORY_OVERHEAD` (7.5 %, rounded up to the MiB: Karpenter's
        default estimate, ``--vm-memory-overhead-percent``), then the
        reservation (the EKS AMI's by default) is taken off
        (:func:`~elastic.nodes.allocatable.allocatable`). The price is the
        on-demand one, or the catalog's Spot price. Karpenter's well-known
        labels are set (family, size, category, generation, cpu, memory).

        Examples
        --------
        >>> t = NodeTemplate.from_catalog("m5.large")
        >>> t.name, t.allocatable.cpu, t.allocatable.memory // 2**20, t.allocatable.pods
        ('m5.large', 1930, 6903, 29)
        >>> t.labels["karpenter.k8s.aws/instance-category"], t.price_per_hour
        ('m', Decimal('0.096'))
        >>> NodeTemplate.from_catalog("m7g.large", "spot").name
        'm7g.large/spot'
        """
        catalog = default_catalog() if catalog is None else catalog
        kind = catalog.instance(instance_type)
        nominal_mib = kind.memory_bytes // MIB
        kubelet_mib = nominal_mib - math.ceil(nominal_mib * VM_MEMORY_OVERHEAD)
        cpu, memory, pods = allocatable(
            kind.vcpu, kubelet_mib * MIB, kind.max_pods or DEFAULT_MAX_PODS, reservation
        )
        spot = capacity_type == "spot"
        well_known = {
            INSTANCE_FAMILY: kind.family,
            INSTANCE_SIZE: kind.size,
            INSTANCE_CATEGORY: _category(kind.family),
            INSTANCE_CPU: str(kind.vcpu),
            INSTANCE_MEMORY: str(nominal_mib),
        }
        if kind.generation is not None:
            well_known[INSTANCE_GENERATION] = str(kind.generation)
        return cls(
            name or (f"{instance_type}/spot" if spot else instance_type),
            instance_type,
            capacity_type,
            Resources(cpu, memory, pods),
            catalog.spot_price(instance_type) if spot else kind.price_per_hour,
            labels=well_known | dict(labels or {}),
            taints=taints,
            arch=kind.arch,
            vcpu=kind.vcpu,
            memory_bytes=kind.memory_bytes,
            group=group,
        )

    def tariff(self) -> Tariff:
        """What a node of this template is billed: EC2 per second with a 60 s minimum, at
        the on-demand price, or for Spot at this template's price as a constant series."""
        if self.capacity_type == "spot":
            return Spot([0.0], [self.price_per_hour], label=self.name)
        return PerSecond(self.price_per_hour, label=self.name)

    def admits(self, spec: PodSpec) -> bool:
        """Whether one pod of ``spec`` could run on an empty node of this template."""
        return spec.accepts(self.labels, self.taints) and spec.requests.fits(self.allocatable)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            NodeTemplate,
            (
                self.name,
                self.instance_type,
                self.capacity_type,
                self.allocatable,
                self.price_per_hour,
                dict(self.labels),
                self.taints,
                self.arch,
                self.vcpu,
                self.memory_bytes,
                self.group,
            ),
        )


def _category(family: str) -> str:
    """Karpenter's ``instance-category``: the letters before the generation (``m`` of
    ``m7g``, ``u`` of ``u-6tb1``)."""
    match = re.match(r"[a-z]+", family)
    return match.group() if match else family
