"""Labels, node selector requirements, taints and tolerations, with Kubernetes' matching rules.

The rules are those of ``k8s.io/api/core/v1`` as kube-scheduler applies them
(``NodeSelectorRequirement`` operators; ``Toleration.ToleratesTaint``), and
Karpenter's NodePool requirements use the same operators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from elastic.errors import ParameterError

__all__ = [
    "ARCH",
    "CAPACITY_TYPE",
    "INSTANCE_CATEGORY",
    "INSTANCE_CPU",
    "INSTANCE_FAMILY",
    "INSTANCE_GENERATION",
    "INSTANCE_MEMORY",
    "INSTANCE_SIZE",
    "INSTANCE_TYPE",
    "NODEPOOL",
    "OPERATORS",
    "ZONE",
    "Requirement",
    "Taint",
    "Toleration",
    "tolerates_all",
]

# well-known labels (kubernetes.io/docs/reference/labels-annotations-taints; karpenter.sh)
ARCH = "kubernetes.io/arch"
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
ZONE = "topology.kubernetes.io/zone"
CAPACITY_TYPE = "karpenter.sh/capacity-type"
NODEPOOL = "karpenter.sh/nodepool"
# Karpenter's AWS provider (karpenter.sh/docs/reference/instance-types): what a NodePool selects on
INSTANCE_FAMILY = "karpenter.k8s.aws/instance-family"
INSTANCE_SIZE = "karpenter.k8s.aws/instance-size"
INSTANCE_CATEGORY = "karpenter.k8s.aws/instance-category"
INSTANCE_GENERATION = "karpenter.k8s.aws/instance-generation"
INSTANCE_CPU = "karpenter.k8s.aws/instance-cpu"
INSTANCE_MEMORY = "karpenter.k8s.aws/instance-memory"

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
OPERATORS: tuple[str, ...] = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
Effect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
EFFECTS: tuple[str, ...] = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One node selector requirement: ``key``, ``operator`` and ``values``.

    ``In``: the label is present with one of the values; ``NotIn``: absent or
    none of them; ``Exists`` / ``DoesNotExist``: present / absent (no values);
    ``Gt`` / ``Lt``: present, an integer, greater / less than the one value.

    Examples
    --------
    >>> arm = Requirement("kubernetes.io/arch", "In", ("arm64",))
    >>> arm.matches({"kubernetes.io/arch": "arm64"}), arm.matches({})
    (True, False)
    >>> Requirement("karpenter.k8s.aws/instance-cpu", "Gt", ("4",)).matches(
    ...     {"karpenter.k8s.aws/instance-cpu": "8"})
    True
    """

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ParameterError("key", self.key, "a non-empty label key", owner="Requirement")
        if self.operator not in OPERATORS:
            raise ParameterError(
                "operator", self.operator, "one of " + ", ".join(OPERATORS), owner="Requirement"
            )
        values = self.values
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise ParameterError("values", values, "a list of strings", owner="Requirement")
        object.__setattr__(self, "values", tuple(values))
        if self.operator in ("In", "NotIn") and not values:
            raise ParameterError(
                "values",
                list(values),
                f"at least one value for {self.operator}",
                owner="Requirement",
            )
        if self.operator in ("Exists", "DoesNotExist") and values:
            raise ParameterError(
                "values", list(values), f"no values for {self.operator}", owner="Requirement"
            )
        if self.operator in ("Gt", "Lt") and (len(values) != 1 or not _is_int(values[0])):
            raise ParameterError(
                "values", list(values), f"one integer for {self.operator}", owner="Requirement"
            )

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a node with ``labels`` meets this requirement."""
        value = labels.get(self.key)
        operator = self.operator
        if operator == "In":
            return value is not None and value in self.values
        if operator == "NotIn":
            return value is None or value not in self.values
        if operator == "Exists":
            return value is not None
        if operator == "DoesNotExist":
            return value is None
        if value is None or not _is_int(value):
            return False
        bound = int(self.values[0])
        return int(value) > bound if operator == "Gt" else int(value) < bound


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Taint:
    """A node's taint: pods that do not tolerate it are kept off (``NoSchedule``,
    ``NoExecute``) or placed elsewhere when they can be (``PreferNoSchedule``).

    Examples
    --------
    >>> Taint("dedicated", "gpu", "NoSchedule")
    Taint(key='dedicated', value='gpu', effect='NoSchedule')
    """

    key: str
    value: str = ""
    effect: Effect = "NoSchedule"

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ParameterError("key", self.key, "a non-empty taint key", owner="Taint")
        if not isinstance(self.value, str):
            raise ParameterError("value", self.value, "a string", owner="Taint")
        if self.effect not in EFFECTS:
            raise ParameterError(
                "effect", self.effect, "one of " + ", ".join(EFFECTS), owner="Taint"
            )

    @property
    def repels(self) -> bool:
        """Whether a pod that does not tolerate it cannot be scheduled on the node."""
        return self.effect != "PreferNoSchedule"


@dataclass(frozen=True, slots=True)
class Toleration:
    """A pod's toleration of taints, matched as ``ToleratesTaint`` does upstream.

    An empty ``effect`` matches every effect; ``Exists`` ignores the value, and
    with an empty ``key`` tolerates every taint; ``Equal`` needs the same value.

    Examples
    --------
    >>> taint = Taint("dedicated", "gpu", "NoSchedule")
    >>> Toleration("dedicated", "Equal", "gpu").tolerates(taint)
    True
    >>> Toleration("dedicated", "Equal", "cpu").tolerates(taint)
    False
    >>> Toleration(operator="Exists").tolerates(taint)
    True
    """

    key: str = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""

    def __post_init__(self) -> None:
        if self.operator not in ("Equal", "Exists"):
            raise ParameterError("operator", self.operator, "Equal or Exists", owner="Toleration")
        if self.operator == "Equal" and not self.key:
            raise ParameterError(
                "key",
                self.key,
                "a key (only operator Exists may leave it empty)",
                owner="Toleration",
            )
        if self.operator == "Exists" and self.value:
            raise ParameterError(
                "value", self.value, "no value with operator Exists", owner="Toleration"
            )
        if self.effect and self.effect not in EFFECTS:
            raise ParameterError(
                "effect", self.effect, "empty or one of " + ", ".join(EFFECTS), owner="Toleration"
            )

    def tolerates(self, taint: Taint) -> bool:
        """Whether this toleration tolerates ``taint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


def tolerates_all(tolerations: tuple[Toleration, ...], taints: tuple[Taint, ...]) -> bool:
    """Whether every taint that repels pods is tolerated (the ``TaintToleration`` filter).

    Examples
    --------
    >>> tolerates_all((), (Taint("spot", "true", "PreferNoSchedule"),))
    True
    >>> tolerates_all((), (Taint("spot", "true", "NoSchedule"),))
    False
    """
    return all(any(t.tolerates(taint) for t in tolerations) for taint in taints if taint.repels)
