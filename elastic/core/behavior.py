"""Stabilization windows and rate limits per direction, as data.

The shape follows the Kubernetes HPA ``behavior`` field, which is the most
complete published form of these rules; :meth:`Behavior.kubernetes_default`
gives its defaults and :meth:`Behavior.kubernetes_no_behavior` the HPA's
rules for a manifest without ``behavior``. This is the one runtime type of
these rules: the HPA, its manifests and the scenario manifests build it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from elastic.core.frozen import fast_init
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError

__all__ = ["DOWNSCALE_STABILIZATION_SECONDS", "Behavior", "RateLimit", "ScaleEvent", "ScalingRules"]

#: The Kubernetes controller's ``--horizontal-pod-autoscaler-downscale-stabilization``
#: (5 minutes): the scale-down window of an HPA that does not set one.
DOWNSCALE_STABILIZATION_SECONDS = 300.0

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
    tolerance
        The tolerance band of this direction for a policy that reads it (the
        HPA's ``tolerance`` field, alpha ``HPAConfigurableTolerance``):
        no change while the metric's ratio to its target is within it.
        ``None`` leaves the policy's own. The loop's stages do not use it.
    """

    stabilization_window_seconds: float = 0.0
    policies: Sequence[RateLimit] = ()
    select_policy: SelectPolicy = "Max"
    tolerance: float | None = None

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
        if self.tolerance is not None:
            check_number(self.tolerance, "tolerance", owner=owner, ge=0)

    @property
    def longest_period(self) -> float:
        """The longest rate-limit period, 0 when there is none."""
        return max((p.period_seconds for p in self.policies), default=0.0)


@dataclass(frozen=True, slots=True)
class Behavior:
    """Stabilization and rate-limit rules for scaling up and scaling down.

    ``Behavior()`` has no window and no limit in either direction.

    Parameters
    ----------
    scale_up, scale_down
        The rules of each direction.
    no_behavior
        The Kubernetes HPA's path for a manifest without ``behavior``
        (upstream ``normalizeDesiredReplicas``), made with
        :meth:`kubernetes_no_behavior`: the count is the highest of the
        recommendations of the last ``scale_down.stabilization_window_seconds``
        (the window's start included), in both directions, and a scale-up is
        capped at ``max(2 * current, 4)``; a scale-down is not rate limited.
        It takes no other rule.

    Examples
    --------
    >>> k8s = Behavior.kubernetes_default()
    >>> k8s.scale_down.stabilization_window_seconds
    300.0
    >>> [(p.type, p.value, p.period_seconds) for p in k8s.scale_up.policies]
    [('Pods', 4, 15.0), ('Percent', 100, 15.0)]
    >>> Behavior.kubernetes_no_behavior().no_behavior
    True
    """

    scale_up: ScalingRules = field(default_factory=ScalingRules)
    scale_down: ScalingRules = field(default_factory=ScalingRules)
    no_behavior: bool = False

    def __post_init__(self) -> None:
        owner = "Behavior"
        for name in ("scale_up", "scale_down"):
            rules = getattr(self, name)
            if not isinstance(rules, ScalingRules):
                raise ParameterError(name, rules, "a ScalingRules", owner=owner)
        if not isinstance(self.no_behavior, bool):
            raise ParameterError("no_behavior", self.no_behavior, "True or False", owner=owner)
        if self.no_behavior:
            window = self.scale_down.stabilization_window_seconds
            if self.scale_up != ScalingRules() or self.scale_down != ScalingRules(window):
                raise ParameterError(
                    "no_behavior",
                    True,
                    "no rules but scale_down.stabilization_window_seconds: the HPA "
                    "without behavior has no other (Behavior.kubernetes_no_behavior())",
                    owner=owner,
                )

    @classmethod
    def kubernetes_default(cls) -> Behavior:
        """The Kubernetes HPA defaults (``pkg/apis/autoscaling/v2/defaults.go``).

        Scale-up: no window, at most ``max(4 pods, 100 %)`` per 15 s.
        Scale-down: a 300 s window, at most 100 % per 15 s. An HPA manifest's
        ``behavior`` takes these for every field it leaves out.
        """
        return cls(
            scale_up=ScalingRules(
                stabilization_window_seconds=0.0,
                policies=(RateLimit("Pods", 4, 15.0), RateLimit("Percent", 100, 15.0)),
                select_policy="Max",
            ),
            scale_down=ScalingRules(
                stabilization_window_seconds=DOWNSCALE_STABILIZATION_SECONDS,
                policies=(RateLimit("Percent", 100, 15.0),),
                select_policy="Max",
            ),
        )

    @classmethod
    def kubernetes_no_behavior(
        cls, downscale_stabilization_seconds: float = DOWNSCALE_STABILIZATION_SECONDS
    ) -> Behavior:
        """The Kubernetes HPA without ``spec.behavior`` (see ``no_behavior``).

        ``downscale_stabilization_seconds`` is the controller's
        ``--horizontal-pod-autoscaler-downscale-stabilization`` (300 s).

        Examples
        --------
        >>> b = Behavior.kubernetes_no_behavior()
        >>> b.scale_down.stabilization_window_seconds, b.scale_up.policies
        (300.0, ())
        """
        window = check_number(
            downscale_stabilization_seconds,
            "downscale_stabilization_seconds",
            owner="Behavior.kubernetes_no_behavior",
            ge=0,
        )
        return cls(scale_down=ScalingRules(window), no_behavior=True)

    @property
    def horizon(self) -> float:
        """How far back the loop must remember recommendations and scale events."""
        return max(
            self.scale_up.stabilization_window_seconds,
            self.scale_down.stabilization_window_seconds,
            self.scale_up.longest_period,
            self.scale_down.longest_period,
        )


@fast_init
@dataclass(frozen=True, slots=True)
class ScaleEvent:
    """A change the loop applied: ``replica_change`` replicas (a magnitude) at ``time``."""

    replica_change: int
    time: float
