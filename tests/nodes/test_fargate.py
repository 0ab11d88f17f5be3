"""Fargate: task sizes checked against the allowed combinations, and EKS's rounding of pods."""

from __future__ import annotations

from decimal import Decimal

import pytest

from elastic.errors import ParameterError
from elastic.nodes.fargate import (
    FARGATE_SIZES,
    FargateProfile,
    FargateSize,
    fargate_pod_size,
    fargate_task_size,
)
from elastic.nodes.resources import Resources

Mi = 2**20
Gi = 2**30

# (why, cpu request in millicores, memory request in bytes, expected CPU units, MiB)
POD_TABLE = [
    ("no requests: the smallest size, 0.25 vCPU / 0.5 GB", 0, 0, 256, 512),
    ("256 Mi + EKS's 256 Mi = 512 Mi exactly: 0.5 GB", 250, 256 * Mi, 256, 512),
    ("one MiB more: the next memory, 1 GB", 250, 257 * Mi, 256, 1024),
    ("1792 Mi + 256 = 2 GB: the largest at 0.25 vCPU", 250, 1792 * Mi, 256, 2048),
    ("2 GB + 1 MiB fits no 0.25 vCPU size: 0.5 vCPU / 3 GB", 250, 1793 * Mi, 512, 3072),
    ("0.5 vCPU: its smallest memory, 1 GB", 500, 0, 512, 1024),
    ("1001 m is 1025.02 CPU units: more than 1 vCPU, so 2 vCPU / 4 GB", 1001, 0, 2048, 4096),
    ("the EKS guide's example: 1 vCPU / 8 GB -> 2 vCPU / 9 GB", 1000, 8 * Gi, 2048, 9216),
    (
        "30 GB + 256 Mi is over 4 vCPU's 30 GB: 8 vCPU, 4 GB steps -> 32 GB",
        4000,
        30 * Gi,
        8192,
        32768,
    ),
    ("16 GB - 256 Mi + 256 Mi = 16 GB at 2 vCPU", 2000, 16 * Gi - 256 * Mi, 2048, 16384),
    ("8 vCPU / 17 GB + 256 Mi: 4 GB steps -> 20 GB", 8000, 17 * Gi, 8192, 20480),
    ("the largest: 16 vCPU / 120 GB", 16000, 120 * Gi - 256 * Mi, 16384, 122880),
    ("memory rounds up to the MiB: 1 byte is 1 MiB", 250, 1, 256, 512),
]


@pytest.mark.parametrize(
    ("cpu", "memory", "units", "mib"),
    [row[1:] for row in POD_TABLE],
    ids=[row[0] for row in POD_TABLE],
)
def test_pod_size_table(cpu: int, memory: int, units: int, mib: int) -> None:
    size = fargate_pod_size(Resources(cpu, memory, 1))
    assert size == FargateSize(units, mib)
    assert mib in FARGATE_SIZES[units]


@pytest.mark.parametrize(
    "requests",
    [Resources(16_001, Gi, 1), Resources(1000, 120 * Gi, 1), Resources(-1, 0, 1)],
    ids=["more than 16 vCPU", "120 GB + EKS's 256 Mi is over 120 GB", "negative"],
)
def test_pods_no_fargate_size_holds_are_refused(requests: Resources) -> None:
    with pytest.raises(ParameterError, match="requests="):
        fargate_pod_size(requests)


VALID_TASKS = [
    (256, 512, 256, 512),
    (256, 2048, 256, 2048),
    (512, 4096, 512, 4096),
    (1024, 8192, 1024, 8192),
    (2048, 4096, 2048, 4096),
    (4096, 30720, 4096, 30720),
    (8192, 16384, 8192, 16384),
    (8192, 61440, 8192, 61440),
    (16384, 122880, 16384, 122880),
    ("1 vCPU", "2 GB", 1024, 2048),
    ("0.25 vCPU", "0.5 GB", 256, 512),
    ("16 vcpu", "120GB", 16384, 122880),
    ("1024", "3072", 1024, 3072),
]


@pytest.mark.parametrize(("cpu", "memory", "units", "mib"), VALID_TASKS)
def test_valid_task_sizes(cpu: int | str, memory: int | str, units: int, mib: int) -> None:
    assert fargate_task_size(cpu, memory) == FargateSize(units, mib)


BAD_TASKS = [
    ("0.25 vCPU allows 0.5, 1 and 2 GB only", 256, 4096, "memory=4096"),
    ("1.5 GB is no size at 0.25 vCPU", 256, 1536, "one of 512, 1024, 2048"),
    ("300 CPU units is no size", 300, 512, "cpu=300"),
    ("4 vCPU stops at 30 GB", 4096, 31744, "8192 to 30720 in steps of 1024"),
    ("8 vCPU takes 4 GB steps", 8192, 17408, "16384 to 61440 in steps of 4096"),
    ("16 vCPU takes 8 GB steps", 16384, 36864, "32768 to 122880 in steps of 8192"),
    ("1.3 vCPU is not a whole number of CPU units", "1.3 vCPU", 2048, "cpu='1.3 vCPU'"),
    ("a bool is not a size", True, 512, "cpu=True"),
    ("an unknown unit", 256, "512 MB", "memory='512 MB'"),
]


@pytest.mark.parametrize(
    ("cpu", "memory", "message"), [row[1:] for row in BAD_TASKS], ids=[row[0] for row in BAD_TASKS]
)
def test_bad_task_sizes_name_the_field(cpu: int | str, memory: int | str, message: str) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        fargate_task_size(cpu, memory)


def test_the_table_is_the_documented_one() -> None:
    assert list(FARGATE_SIZES) == [256, 512, 1024, 2048, 4096, 8192, 16384]
    assert [(m[0], m[-1], len(m)) for m in FARGATE_SIZES.values()] == [
        (512, 2048, 3),
        (1024, 4096, 4),
        (2048, 8192, 7),
        (4096, 16384, 13),
        (8192, 30720, 23),
        (16384, 61440, 12),
        (32768, 122880, 12),
    ]


def test_profiles_bill_the_configured_size() -> None:
    # 1 vCPU and 2 GB for an hour: 0.04048 + 2 x 0.004445 (x86), 0.03238 + 2 x 0.00356 (arm)
    assert FargateProfile().task(1024, 2048).charge(3600) == Decimal("0.04937")
    assert FargateProfile("arm").task(1024, 2048).charge(3600) == Decimal("0.0395")
    # an EKS pod of 1 vCPU / 8 GB is billed as 2 vCPU / 9 GB
    tariff = FargateProfile().pod(Resources.parse(cpu="1", memory="8Gi"))
    assert (tariff.vcpu, tariff.memory_gb) == (Decimal("2"), Decimal("9"))
    with pytest.raises(ParameterError, match="arch='windows'"):
        FargateProfile("windows")  # type: ignore[arg-type]
