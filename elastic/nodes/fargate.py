"""Fargate: the launch type without nodes. Task sizes, and the size EKS Fargate bills a pod.

Nothing is scheduled onto nodes: each task (or EKS pod) runs on its own
Fargate capacity of a configured size, and is billed per second (one-minute
minimum) on that size's vCPU and GB, not on its usage
(:class:`elastic.cost.Fargate`). Sizes are the ECS Developer Guide's table
("Task CPU and memory", ``developerguide/task-cpu-memory-error.html``;
the ``memory`` field of ``RegisterTaskDefinition``); the pod rounding is
the EKS User Guide's ("Understand Fargate Pod configuration details",
``eks/latest/userguide/fargate-pod-configuration.html``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from elastic.cost.catalog import Catalog, default_catalog
from elastic.cost.tariffs import Fargate
from elastic.errors import ParameterError
from elastic.nodes.resources import Resources

__all__ = [
    "EKS_POD_OVERHEAD_MIB",
    "FARGATE_SIZES",
    "FargateProfile",
    "FargateSize",
    "fargate_pod_size",
    "fargate_task_size",
]

MiB = 2**20


def _steps(low_gb: int, high_gb: int, step_gb: int) -> tuple[int, ...]:
    return tuple(range(low_gb * 1024, high_gb * 1024 + 1, step_gb * 1024))


#: CPU units (1024 = 1 vCPU) -> the memory sizes (MiB) Fargate allows with them
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1, 4, 1),
    1024: _steps(2, 8, 1),
    2048: _steps(4, 16, 1),
    4096: _steps(8, 30, 1),
    8192: _steps(16, 60, 4),  # Linux platform 1.4.0 or later
    16384: _steps(32, 120, 8),  # Linux platform 1.4.0 or later
}
#: what EKS Fargate adds to a pod's memory for kubelet, kube-proxy and containerd
EKS_POD_OVERHEAD_MIB = 256

_VCPU = re.compile(r"\s*(\d+(?:\.\d+)?)\s*vcpu\s*", re.IGNORECASE)
_GB = re.compile(r"\s*(\d+(?:\.\d+)?)\s*gb\s*", re.IGNORECASE)


@dataclass(frozen=True, slots=True, order=True)
class FargateSize:
    """One Fargate task size: CPU units (1024 = 1 vCPU) and memory in MiB.

    Examples
    --------
    >>> size = FargateSize(512, 2048)
    >>> size.vcpu, size.memory_gb
    (Decimal('0.5'), Decimal('2'))
    """

    cpu: int
    memory: int

    @property
    def vcpu(self) -> Decimal:
        """The vCPU billed."""
        return Decimal(self.cpu) / 1024

    @property
    def memory_gb(self) -> Decimal:
        """The GB billed (Fargate's GB are 1024 MiB)."""
        return Decimal(self.memory) / 1024


def _units(value: int | str, pattern: re.Pattern[str], name: str) -> int:
    """A task definition's cpu or memory: an integer (units, MiB), ``"N vCPU"`` or ``"N GB"``."""
    if isinstance(value, bool):
        raise ParameterError(name, value, "an integer or a string", owner="fargate_task_size")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.strip().isdigit():
            return int(value)
        match = pattern.fullmatch(value)
        if match:
            scaled = Decimal(match.group(1)) * 1024
            if scaled == scaled.to_integral_value():
                return int(scaled)
    unit = "'1 vCPU'" if name == "cpu" else "'2 GB'"
    raise ParameterError(
        name,
        value,
        f"an integer ({'CPU units' if name == 'cpu' else 'MiB'}) or a string like {unit}",
        owner="fargate_task_size",
    )


def _describe(memories: tuple[int, ...]) -> str:
    if len(memories) <= 4:
        return ", ".join(str(m) for m in memories)
    step = memories[1] - memories[0]
    return f"{memories[0]} to {memories[-1]} in steps of {step}"


def fargate_task_size(cpu: int | str, memory: int | str) -> FargateSize:
    """The Fargate size of an ECS task definition, checked against Fargate's combinations.

    ``cpu`` in CPU units (``1024`` or ``"1 vCPU"``), ``memory`` in MiB
    (``2048`` or ``"2 GB"``), as ECS reads them.

    Examples
    --------
    >>> fargate_task_size(256, 512)
    FargateSize(cpu=256, memory=512)
    >>> fargate_task_size("2 vCPU", "5 GB")
    FargateSize(cpu=2048, memory=5120)
    >>> fargate_task_size(8192, 18432)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: fargate_task_size: memory=18432 is invalid; expected with \
cpu=8192, one of 16384 to 61440 in steps of 4096 (MiB)
    """
    units = _units(cpu, _VCPU, "cpu")
    mib = _units(memory, _GB, "memory")
    if units not in FARGATE_SIZES:
        raise ParameterError(
            "cpu",
            cpu,
            "one of " + ", ".join(str(c) for c in FARGATE_SIZES) + " (CPU units)",
            owner="fargate_task_size",
        )
    allowed = FARGATE_SIZES[units]
    if mib not in allowed:
        raise ParameterError(
            "memory",
            memory,
            f"with cpu={units}, one of {_describe(allowed)} (MiB)",
            owner="fargate_task_size",
        )
    return FargateSize(units, mib)


def fargate_pod_size(requests: Resources) -> FargateSize:
    """The Fargate size EKS provisions (and bills) for a pod's requests.

    EKS adds 256 MiB to the pod's memory for the Kubernetes components,
    then rounds up to the smallest combination that holds both the CPU and
    the memory (fewest vCPU, then least memory: also the cheapest). A pod
    without requests gets the smallest size, 0.25 vCPU and 0.5 GB.

    Examples
    --------
    The EKS User Guide's example: 1 vCPU and 8 GB become 2 vCPU and 9 GB.

    >>> size = fargate_pod_size(Resources.parse(cpu="1", memory="8Gi"))
    >>> size.vcpu, size.memory_gb
    (Decimal('2'), Decimal('9'))
    """
    if not isinstance(requests, Resources) or min(requests) < 0:
        raise ParameterError(
            "requests", requests, "Resources of integers >= 0", owner="fargate_pod_size"
        )
    units = -(-requests.cpu * 1024 // 1000)  # millicores to CPU units, up
    mib = -(-requests.memory // MiB) + EKS_POD_OVERHEAD_MIB
    for cpu, memories in FARGATE_SIZES.items():
        if cpu >= units and memories[-1] >= mib:
            return FargateSize(cpu, next(m for m in memories if m >= mib))
    raise ParameterError(
        "requests",
        requests,
        f"at most 16 vCPU and {120 * 1024 - EKS_POD_OVERHEAD_MIB} MiB of memory "
        f"(the largest Fargate size, 16 vCPU and 120 GB, less EKS's {EKS_POD_OVERHEAD_MIB} MiB)",
        owner="fargate_pod_size",
    )


@dataclass(frozen=True, slots=True)
class FargateProfile:
    """Where Fargate tasks run and how they are billed: the architecture's prices.

    Parameters
    ----------
    arch
        ``x86`` or ``arm`` (the catalog's Fargate price keys).
    catalog
        The price catalog (the shipped one by default).

    Examples
    --------
    >>> profile = FargateProfile()
    >>> tariff = profile.tariff(fargate_task_size(256, 512))
    >>> tariff.charge(45)          # 60 s billed: the one-minute minimum
    Decimal('0.000205708333333333')
    """

    arch: Literal["x86", "arm"] = "x86"
    catalog: Catalog | None = None

    def __post_init__(self) -> None:
        if self.arch not in ("x86", "arm"):
            raise ParameterError("arch", self.arch, "'x86' or 'arm'", owner="FargateProfile")
        if self.catalog is not None and not isinstance(self.catalog, Catalog):
            raise ParameterError("catalog", self.catalog, "a Catalog", owner="FargateProfile")

    def tariff(self, size: FargateSize) -> Fargate:
        """The tariff of one task of ``size`` (configured vCPU and GB per second)."""
        if not isinstance(size, FargateSize):
            raise ParameterError("size", size, "a FargateSize", owner="FargateProfile")
        catalog = self.catalog if self.catalog is not None else default_catalog()
        return catalog.fargate_task(size.vcpu, size.memory_gb, arch=self.arch)

    def task(self, cpu: int | str, memory: int | str) -> Fargate:
        """The tariff of an ECS task definition's size (checked: :func:`fargate_task_size`)."""
        return self.tariff(fargate_task_size(cpu, memory))

    def pod(self, requests: Resources) -> Fargate:
        """The tariff of an EKS pod's size (rounded: :func:`fargate_pod_size`)."""
        return self.tariff(fargate_pod_size(requests))
