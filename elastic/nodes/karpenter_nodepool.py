"""Karpenter's NodePool (``karpenter.sh/v1``): what it may launch, and when it may disrupt.

Defaults from kubernetes-sigs/karpenter ``pkg/apis/v1/nodepool.go`` (kubebuilder markers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError
from elastic.nodes.karpenter_budgets import Budget
from elastic.nodes.labels import Requirement
from elastic.nodes.templates import NodeTemplate

__all__ = ["CONSOLIDATION_POLICIES", "NodePool"]

#: ``consolidationPolicy`` values modelled (``Balanced``, newer upstream, is not)
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized")
_HOURS_720 = 720 * 3600.0


@dataclass(frozen=True, slots=True)
class NodePool:
    """A Karpenter NodePool (``karpenter.sh/v1``): what it may launch and when it may disrupt.

    Parameters
    ----------
    name
        The NodePool's name.
    offerings
        Node templates it may launch (one per instance type x capacity type),
        labelled with the well-known labels; those that meet ``requirements``
        are kept.
    requirements
        Node requirements on the offerings' labels (capacity type, families,
        sizes, architectures, zones).
    limits
        ``(cpu millicores, memory bytes)`` the NodePool's nodes may total
        (capacity, as upstream counts it); ``None``: unlimited.
    weight
        NodePools are tried by weight, highest first (then by name).
    consolidation_policy
        ``WhenEmptyOrUnderutilized`` (the default) or ``WhenEmpty``.
    consolidate_after
        Seconds a node must have gone without a pod arriving or leaving before
        it may be consolidated; the v1 default is ``0s``
        (``+kubebuilder:default:="0s"`` in pkg/apis/v1/nodepool.go); ``None``
        is ``Never`` (no consolidation).
    expire_after
        Seconds after launch at which a node is drained and replaced, regardless
        of budgets; default 720 h; ``None`` is ``Never``.
    budgets
        Disruption budgets; default one ``nodes: "10%"``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.resources import Resources
    >>> spot = NodeTemplate("m5.large-spot", "m5.large", "spot", Resources(1930, 7 * 2**30, 29),
    ...                     Decimal("0.035"))
    >>> od = NodeTemplate("m5.large-od", "m5.large", "on-demand", Resources(1930, 7 * 2**30, 29),
    ...                   Decimal("0.096"))
    >>> on_demand = Requirement("karpenter.sh/capacity-type", "In", ("on-demand",))
    >>> pool = NodePool("default", [spot, od], requirements=[on_demand])
    >>> [t.name for t in pool.allowed]
    ['m5.large-od']
    """

    name: str
    offerings: Sequence[NodeTemplate]
    requirements: Sequence[Requirement] = ()
    limits: tuple[int, int] | None = None
    weight: int = 0
    consolidation_policy: str = "WhenEmptyOrUnderutilized"
    consolidate_after: float | None = 0.0
    expire_after: float | None = _HOURS_720
    budgets: Sequence[Budget] = (Budget(),)

    def __post_init__(self) -> None:
        owner = f"NodePool {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", self.name, "a non-empty name", owner="NodePool")
        for attr, kind in (
            ("offerings", NodeTemplate),
            ("requirements", Requirement),
            ("budgets", Budget),
        ):
            value = getattr(self, attr)
            if isinstance(value, str | bytes) or not all(isinstance(v, kind) for v in value):
                raise ParameterError(attr, value, f"a sequence of {kind.__name__}", owner=owner)
            object.__setattr__(self, attr, tuple(value))
        if not self.offerings:
            raise ParameterError("offerings", [], "at least one NodeTemplate", owner=owner)
        names = [t.name for t in self.offerings]
        if len(set(names)) != len(names):
            raise ParameterError("offerings", names, "templates with unique names", owner=owner)
        if self.limits is not None:
            limits = self.limits
            if (
                not isinstance(limits, tuple | list)
                or len(limits) != 2
                or not all(type(v) is int and v >= 0 for v in limits)
            ):
                raise ParameterError(
                    "limits",
                    limits,
                    "None or (cpu millicores, memory bytes) integers >= 0",
                    owner=owner,
                )
            object.__setattr__(self, "limits", (int(limits[0]), int(limits[1])))
        object.__setattr__(self, "weight", check_int(self.weight, "weight", owner=owner, ge=0))
        if self.weight > 100:
            raise ParameterError("weight", self.weight, "an integer 0-100", owner=owner)
        check_choice(
            self.consolidation_policy, "consolidation_policy", CONSOLIDATION_POLICIES, owner=owner
        )
        for attr in ("consolidate_after", "expire_after"):
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(
                    self,
                    attr,
                    check_number(
                        value, attr, owner=owner, ge=0 if attr == "consolidate_after" else 1e-9
                    ),
                )
        if not self.allowed:
            raise ParameterError(
                "requirements",
                [f"{r.key} {r.operator} {list(r.values)}" for r in self.requirements],
                "requirements that at least one offering meets",
                owner=owner,
            )

    @property
    def allowed(self) -> tuple[NodeTemplate, ...]:
        """The offerings whose labels meet every requirement."""
        return tuple(
            t for t in self.offerings if all(r.matches(t.labels) for r in self.requirements)
        )
