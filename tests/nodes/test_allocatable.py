"""A node's allocatable resources: capacity less the EKS AMI's reservation.

Expected values, row by row, come from two upstream sources:

- Karpenter's generated reference table (aws/karpenter-provider-aws
  ``website/content/en/docs/reference/instance-types.md``, "Resources"
  of each type), which applies the same kube-reserved and eviction rules
  to its estimate of the kubelet's capacity: nominal MiB (less 64 on
  Graviton) less 7.5 % rounded up (``pkg/providers/instancetype/types.go``);
- the EKS AMI's end-to-end fixtures (awslabs/amazon-eks-ami
  ``nodeadm/test/e2e/cases/*/expected-kubelet-config.json``): kubeReserved
  memory 739Mi for maxPods 44, 893Mi for 58, 1465Mi for 110.
"""

import math

import pytest

from elastic.errors import ParameterError
from elastic.nodes.allocatable import (
    EVICTION_HARD_MEMORY_BYTES,
    Reservation,
    allocatable,
    eks_reservation,
)

MIB = 2**20
GIB = 2**30


def karpenter_capacity_mib(nominal_mib: int, arm: bool) -> int:
    """Karpenter's estimate of what the kubelet reports (VM_MEMORY_OVERHEAD_PERCENT 0.075)."""
    mib = nominal_mib - (64 if arm else 0)
    return mib - math.ceil(mib * 0.075)


@pytest.mark.parametrize(
    ("name", "vcpu", "nominal_gib", "max_pods", "arm", "cpu", "memory_mib"),
    [
        # Karpenter's instance-types.md: cpu and memory under "Resources"
        ("m5.large", 2, 8, 29, False, 1930, 6903),
        ("m5.xlarge", 4, 16, 58, False, 3920, 14162),
        ("m5.4xlarge", 16, 64, 234, False, 15890, 57691),
        ("m5.12xlarge", 48, 192, 234, False, 47810, 178933),
        ("m5.16xlarge", 64, 256, 737, False, 63770, 234021),
        ("m6g.large", 2, 8, 29, True, 1930, 6844),  # Graviton: 64 MiB less capacity
        ("c5.large", 2, 4, 29, False, 1930, 3114),
        ("t3.medium", 2, 4, 17, False, 1930, 3246),
        ("r6i.8xlarge", 32, 256, 234, False, 31850, 239554),
    ],
)
def test_allocatable_matches_karpenters_reference(
    name, vcpu, nominal_gib, max_pods, arm, cpu, memory_mib
):
    capacity = karpenter_capacity_mib(nominal_gib * 1024, arm) * MIB
    assert allocatable(vcpu, capacity, max_pods) == (cpu, memory_mib * MIB, max_pods), name


@pytest.mark.parametrize(
    ("max_pods", "kube_reserved_mib"),
    [(44, 739), (58, 893), (110, 1465), (29, 574), (17, 442)],
)
def test_kube_reserved_memory_matches_the_ami(max_pods, kube_reserved_mib):
    # the first three: the AMI's e2e fixtures; then m5.large and t3.medium by the formula
    reserved = eks_reservation(2, 8 * GIB, max_pods).memory_bytes
    assert reserved == kube_reserved_mib * MIB + EVICTION_HARD_MEMORY_BYTES


@pytest.mark.parametrize(
    ("vcpu", "cpu_millis", "why"),
    [
        (1, 60, "6 % of the only core"),
        (2, 70, "+ 1 % of the second"),
        (3, 75, "+ 0.5 % of the third"),
        (4, 80, "+ 0.5 % of the fourth: the last range with its own rate"),
        (5, 82, "+ 0.25 % of the fifth = 2.5m, rounded down per range"),
        (6, 85, "two cores above four: 5m exactly"),
        (8, 90, "four above four"),
        (48, 190, "44 above four: 110m"),
        (192, 550, "188 above four: 470m"),
    ],
)
def test_kube_reserved_cpu_by_core_ranges(vcpu, cpu_millis, why):
    assert eks_reservation(vcpu, GIB, 10).cpu_millis == cpu_millis, why
    assert allocatable(vcpu, 64 * GIB, 10)[0] == vcpu * 1000 - cpu_millis


def test_the_nominal_memory_gives_more_than_karpenter_estimates():
    # what the module documents: from the nominal 8 GiB an m5.large keeps 8192 - 574 - 100 MiB
    assert allocatable(2, 8 * GIB, 29) == (1930, 7518 * MIB, 29)


def test_a_reservation_of_ones_own():
    mine = Reservation(500, 1 * GIB, "systemReserved 500m, 1Gi")
    assert allocatable(4, 16 * GIB, 110, mine) == (3500, 15 * GIB, 110)
    assert allocatable(4, 16 * GIB, 110, Reservation(0, 0)) == (4000, 16 * GIB, 110)


def test_a_reservation_above_capacity_leaves_zero_as_the_kubelet_does():
    huge = Reservation(5000, 32 * GIB, "more than the node")
    assert allocatable(2, 8 * GIB, 29, huge) == (0, 0, 29)
    # the EKS rule on a tiny node: 674 MiB reserved of 512 MiB
    assert allocatable(1, 512 * MIB, 29)[1] == 0


def test_the_description_says_where_the_numbers_come_from():
    text = eks_reservation(2, 8 * GIB, 29).description
    assert "70m" in text and "574Mi" in text and "100Mi" in text


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((2, 8 * GIB, 0), "max_pods"),
        ((2, 8 * GIB, -1), "max_pods"),
        ((0, 8 * GIB, 29), "vcpu"),
        ((2.0, 8 * GIB, 29), "vcpu"),
        ((True, 8 * GIB, 29), "vcpu"),
        ((2, 0, 29), "memory_bytes"),
        ((2, 8.5 * GIB, 29), "memory_bytes"),
    ],
)
def test_bad_nodes_name_the_field(args, name):
    for function in (allocatable, eks_reservation):
        with pytest.raises(ParameterError) as info:
            function(*args)
        assert info.value.name == name


def test_bad_reservations_are_refused():
    with pytest.raises(ParameterError, match="memory_bytes"):
        Reservation(0, -1)
    with pytest.raises(ParameterError, match="cpu_millis"):
        Reservation(0.5, 0)
    with pytest.raises(ParameterError, match="reservation"):
        allocatable(2, 8 * GIB, 29, (70, 0))
