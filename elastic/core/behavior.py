"""Stabilization windows and rate limits per direction, as data.

The shape follows the Kubernetes HPA ``behavior`` field, which is the most
complete published form of these rules; :meth:`Behavior.kubernetes_default`
gives its defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from elastic.core.validate import check_choice, check_int, check_number

__all__ = ["Behavior", "RateLimit", "ScaleEvent", "ScalingRules"]

RateLimitType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``value`` pods, or ``value`` percent, of change per ``period_seconds``.

    Examples
    --------
    >>> RateLimit("Pods", 4, 15)
    RateLimit(type='Pods', value=4, period_seconds=15)
    """

    type: RateLimitType
    value: int
    period_seconds: float

    def __post_init__(self) -> None:
        owner = "RateLimit"
        check_choice(self.type, "type", ("Pods", "Percent"), owner=owner)
        check_int(self.value, "value", owner=owner, ge=1)
        check_number(self.period_seconds, "period_seconds", owner=owner, gt=0)


@dataclass(frozen=True, slots=True)
class ScalingRules:
    """The rules for one direction.

    Parameters
    ----------
    stabilization_window_seconds
        Look back this far over earlier recommendations: scale-down takes the
        highest of them, scale-up the lowest. 0 disables the window.
    policies
        Rate limits; an empty sequence means no limit.
    select_policy
        ``"Max"`` applies the limit that allows the largest change, ``"Min"`` the
        smallest, ``"Disabled"`` forbids scaling in this direction.
    """

    stabilization_window_seconds: float = 0.0
    policies: Sequence[RateLimit] = ()
    select_policy: SelectPolicy = "Max"

    def __post_init__(self) -> None:
        owner = "ScalingRules"
        check_number(
            self.stabilization_window_seconds, "stabilization_window_seconds", owner=owner, ge=0
        )
        check_choice(self.select_policy, "select_policy", ("Max", "Min", "Disabled"), owner=owner)
        policies = tuple(self.policies)
        for i, policy in enumerate(policies):
            if not isinstance(policy, RateLimit):
                check_choice(type(policy).__name__, f"policies[{i}]", ("RateLimit",), owner=owner)
        object.__setattr__(self, "policies", policies)

    @property
    def longest_period(self) -> float:
        """The longest rate-limit period, 0 when there is none."""
        return max((p.period_seconds for p in self.policies), default=0.0)


@dataclass(frozen=True, slots=True)
class Behavior:
    """Stabilization and rate-limit rules for scaling up and scaling down.

    ``Behavior()`` has no window and no limit in either direction.

    Examples
    --------
    >>> k8s = Behavior.kubernetes_default()
    >>> k8s.scale_down.stabilization_window_seconds
    300.0
    >>> [(p.type, p.value, p.period_seconds) for p in k8s.scale_up.policies]
    [('Pods', 4, 15.0), ('Percent', 100, 15.0)]
    """

    scale_up: ScalingRules = field(default_factory=ScalingRules)
    scale_down: ScalingRules = field(default_factory=ScalingRules)

    @classmethod
    def kubernetes_default(cls) -> Behavior:
        """The Kubernetes HPA defaults (``pkg/apis/autoscaling/v2/defaults.go``).

        Scale-up: no window, at most ``max(4 pods, 100 %)`` per 15 s.
        Scale-down: a 300 s window, at most 100 % per 15 s.
        """
        return cls(
            scale_up=ScalingRules(
                stabilization_window_seconds=0.0,
                policies=(RateLimit("Pods", 4, 15.0), RateLimit("Percent", 100, 15.0)),
                select_policy="Max",
            ),
            scale_down=ScalingRules(
                stabilization_window_seconds=300.0,
                policies=(RateLimit("Percent", 100, 15.0),),
                select_policy="Max",
            ),
        )

    @property
    def horizon(self) -> float:
        """How far back the loop must remember recommendations and scale events."""
        return max(
            self.scale_up.stabilization_window_seconds,
            self.scale_down.stabilization_window_seconds,
            self.scale_up.longest_period,
            self.scale_down.longest_period,
        )


@dataclass(frozen=True, slots=True)
class ScaleEvent:
    """A change the loop applied: ``replica_change`` replicas (a magnitude) at ``time``."""

    replica_change: int
    time: float
