"""Resource amounts of pods and nodes: CPU, memory and pod slots, as exact integers."""

from __future__ import annotations

from typing import NamedTuple

from elastic.errors import ParameterError
from elastic.kubernetes.quantity import parse_quantity

__all__ = ["Resources"]


class Resources(NamedTuple):
    """CPU in millicores, memory in bytes and pod slots, as Kubernetes counts them.

    A pod's requests take one pod slot; a node's allocatable holds its max pods.
    Integers keep every fit exact (a pod that fits exactly, fits).

    Examples
    --------
    >>> pod = Resources.parse(cpu="500m", memory="1Gi")
    >>> pod
    Resources(cpu=500, memory=1073741824, pods=1)
    >>> node = Resources(cpu=1930, memory=7 * 2**30, pods=29)
    >>> pod.fits(node), Resources.parse(cpu=2).fits(node)
    (True, False)
    """

    cpu: int
    """Millicores (1000 = one vCPU)."""
    memory: int
    """Bytes."""
    pods: int = 1
    """Pod slots: 1 for a pod, max pods for a node."""

    @classmethod
    def parse(cls, cpu: str | int | float = 0, memory: str | int | float = 0) -> Resources:
        """One pod's requests from Kubernetes quantities (``"500m"``, ``2``, ``"512Mi"``).

        Memory rounds up to a whole byte, as Kubernetes' ``Value()`` does.
        """
        millicores = parse_quantity(cpu, "cpu")
        milli_bytes = parse_quantity(memory, "memory")
        if millicores < 0:
            raise ParameterError("cpu", cpu, "a quantity >= 0", owner="Resources")
        if milli_bytes < 0:
            raise ParameterError("memory", memory, "a quantity >= 0", owner="Resources")
        return cls(millicores, -(-milli_bytes // 1000), 1)

    def fits(self, free: Resources) -> bool:
        """Whether these requests fit in ``free`` in every resource."""
        return self.cpu <= free.cpu and self.memory <= free.memory and self.pods <= free.pods

    def __add__(self, other: object) -> Resources:
        if not isinstance(other, Resources):
            return NotImplemented
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory, self.pods - other.pods)

    def times(self, count: int) -> Resources:
        """``count`` pods of these requests."""
        return Resources(self.cpu * count, self.memory * count, self.pods * count)
