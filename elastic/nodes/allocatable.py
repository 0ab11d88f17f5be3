"""What a node offers pods: its capacity less what the kubelet reserves and the eviction threshold.

The kubelet advertises ``allocatable = capacity - kube-reserved -
system-reserved - hard eviction threshold`` for each resource, and sets a
negative result to 0 (kubernetes/kubernetes ``pkg/kubelet/nodestatus/setters.go``,
``pkg/kubelet/cm/node_container_manager_linux.go``; "Reserve Compute
Resources for System Daemons" in the Kubernetes documentation). The
scheduler places pods against allocatable, never against capacity.

On EKS the AMI writes the reservation into the kubelet's configuration
(awslabs/amazon-eks-ami ``nodeadm/internal/kubelet/config.go``,
``withDefaultReservedResources``, ``getCPUMillicoresToReserve``,
``getMemoryMebibytesToReserve`` and the default ``evictionHard``; the same
numbers as the AL2 ``bootstrap.sh`` before AL2 support was removed):

- kube-reserved memory: ``11 MiB x max_pods + 255 MiB``;
- kube-reserved CPU: 6 % of the first core, 1 % of the second, 0.5 % of
  the third and fourth, 0.25 % of every core above four. Each range is
  computed in millicores as ``cores_in_range_millis x basis_points // 10000``,
  rounded down per range (Go integer division), then summed: 2 vCPU reserve
  70m, 4 vCPU 80m, 5 vCPU 82m (the fifth core's 2.5m rounds down to 2m);
- system-reserved: none (nodeadm sets only its cgroup);
- hard eviction threshold: ``memory.available`` 100 MiB (and ``nodefs``
  thresholds for disk, which is not modelled here).

``memory_bytes`` is the capacity the kubelet reports (the memory the
operating system sees), which is somewhat less than the instance type's
nominal memory. This module takes the capacity as given; Karpenter
estimates it as the nominal memory less 7.5 % (``VM_MEMORY_OVERHEAD_PERCENT``),
less 64 MiB more on Graviton (aws/karpenter-provider-aws
``pkg/providers/instancetype/types.go``, ``memory``). Given the nominal
memory, an m5.large's allocatable is 7,518 MiB; Karpenter's reference
table, starting from its estimate, shows 6,903 MiB.

Integers throughout: CPU in millicores, memory in bytes, pods as a count.
"""

from __future__ import annotations

from dataclasses import dataclass

from elastic.core.validate import check_int
from elastic.errors import ParameterError

__all__ = [
    "EVICTION_HARD_MEMORY_BYTES",
    "Reservation",
    "allocatable",
    "eks_reservation",
]

MIB = 2**20

#: The EKS AMI's hard eviction threshold ``memory.available``: 100 MiB.
EVICTION_HARD_MEMORY_BYTES = 100 * MIB

# kube-reserved CPU on EKS: (start, end) of each range in millicores, and the share of it
# reserved in basis points (1/100 %); the last range has no end.
_CPU_RANGES = ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, None, 25))


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a node keeps from pods: kube-reserved, system-reserved and eviction threshold together.

    Parameters
    ----------
    cpu_millis
        CPU kept from pods, in millicores.
    memory_bytes
        Memory kept from pods, in bytes.
    description
        Where the numbers come from, for reports.

    Examples
    --------
    >>> Reservation(100, 512 * 2**20, "our own kubelet flags").cpu_millis
    100
    >>> Reservation(-1, 0, "")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: Reservation: cpu_millis=-1 is invalid; expected an integer >= 0
    """

    cpu_millis: int
    memory_bytes: int
    description: str = ""

    def __post_init__(self) -> None:
        check_int(self.cpu_millis, "cpu_millis", owner="Reservation", ge=0)
        check_int(self.memory_bytes, "memory_bytes", owner="Reservation", ge=0)


def _check_node(vcpu: int, memory_bytes: int, max_pods: int, owner: str) -> None:
    check_int(vcpu, "vcpu", owner=owner, ge=1)
    check_int(memory_bytes, "memory_bytes", owner=owner, ge=1)
    check_int(max_pods, "max_pods", owner=owner, ge=1)


def _kube_reserved_cpu_millis(vcpu: int) -> int:
    total = vcpu * 1000
    reserved = 0
    for start, end, basis_points in _CPU_RANGES:
        if total > start:
            top = total if end is None else min(total, end)
            reserved += (top - start) * basis_points // 10000
    return reserved


def eks_reservation(vcpu: int, memory_bytes: int, max_pods: int) -> Reservation:
    """The reservation the EKS AMI configures on a node of ``vcpu`` cores and ``max_pods`` pods.

    kube-reserved CPU by core ranges, kube-reserved memory ``11 MiB x
    max_pods + 255 MiB`` and the 100 MiB ``memory.available`` eviction
    threshold, as the module docstring gives with their sources. The EKS
    rule does not depend on ``memory_bytes``; it is checked and taken so
    that every reservation rule has the same signature (other
    distributions reserve a share of memory).

    Examples
    --------
    An m5.large (2 vCPU, 8 GiB, 29 pods): 70m CPU, and 574 MiB kube-reserved
    plus 100 MiB for eviction:

    >>> r = eks_reservation(2, 8 * 2**30, 29)
    >>> r.cpu_millis, r.memory_bytes // 2**20
    (70, 674)
    >>> eks_reservation(64, 256 * 2**30, 737).cpu_millis   # 60 + 10 + 10 + 150
    230
    """
    _check_node(vcpu, memory_bytes, max_pods, "eks_reservation")
    cpu = _kube_reserved_cpu_millis(vcpu)
    kube_memory = (11 * max_pods + 255) * MIB
    description = (
        f"EKS AMI: kube-reserved {cpu}m CPU and {kube_memory // MIB}Mi memory "
        f"(11Mi x {max_pods} pods + 255Mi), eviction memory.available 100Mi"
    )
    return Reservation(cpu, kube_memory + EVICTION_HARD_MEMORY_BYTES, description)


def allocatable(
    vcpu: int, memory_bytes: int, max_pods: int, reservation: Reservation | None = None
) -> tuple[int, int, int]:
    """The CPU (millicores), memory (bytes) and pods a node offers the scheduler.

    Capacity less ``reservation`` (the EKS one, :func:`eks_reservation`,
    when None), each resource at least 0 as the kubelet sets it; pods are
    ``max_pods``. ``memory_bytes`` is the capacity the kubelet reports (see
    the module docstring on the nominal memory).

    Examples
    --------
    An m5.large from its nominal memory, and from Karpenter's estimate of
    its capacity (8,192 MiB less 7.5 % rounded up: 7,577 MiB), which gives
    the 1930m and 6903Mi of Karpenter's instance-types reference:

    >>> allocatable(2, 8 * 2**30, 29)
    (1930, 7883194368, 29)
    >>> cpu, memory, pods = allocatable(2, 7577 * 2**20, 29)
    >>> cpu, memory // 2**20, pods
    (1930, 6903, 29)
    >>> allocatable(2, 8 * 2**30, 29, Reservation(0, 0, "nothing reserved"))
    (2000, 8589934592, 29)
    >>> allocatable(2, 8 * 2**30, 0)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: allocatable: max_pods=0 is invalid; expected an integer >= 1
    """
    _check_node(vcpu, memory_bytes, max_pods, "allocatable")
    if reservation is None:
        reservation = eks_reservation(vcpu, memory_bytes, max_pods)
    elif not isinstance(reservation, Reservation):
        raise ParameterError(
            "reservation", reservation, "a Reservation or None", owner="allocatable"
        )
    cpu = max(vcpu * 1000 - reservation.cpu_millis, 0)
    memory = max(memory_bytes - reservation.memory_bytes, 0)
    return cpu, memory, max_pods
