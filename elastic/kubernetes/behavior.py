"""The HPA controller's stabilization and normalization functions, as upstream names them.

Written from ``pkg/controller/podautoscaler/horizontal.go``. The rules are
those of :class:`elastic.Behavior` (the one runtime type:
:meth:`~elastic.Behavior.kubernetes_default` has the defaults of
``pkg/apis/autoscaling/v2/defaults.go``), and the arithmetic is that of the
decision loop's stages (:mod:`elastic.core.stages`); these functions add
what the controller keeps in memory and says: its list of recommendations
with the slot of an old one reused, its scale events, and its condition
reasons. :meth:`HorizontalPodAutoscaler.loop` runs the same rules as
:class:`~elastic.DecisionLoop` stages.

Times are seconds on the caller's clock. A window or a period includes
what happened strictly after its start (Go's ``After``); a recommendation
is old, and its slot reused, when it is strictly before both windows.

``Behavior``, ``ScalingRules`` and ``ScalingPolicy`` of this module are
deprecated: use :class:`elastic.Behavior`, :class:`elastic.ScalingRules`
and :class:`elastic.RateLimit`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from elastic.core import behavior as core
from elastic.core.behavior import ScaleEvent
from elastic.core.stages import (
    no_behavior_scale_up_limit,
    scale_down_limit,
    scale_up_limit,
    stabilize_to_highest,
)
from elastic.core.stages import stabilize as core_stabilize
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError

__all__ = [
    "DOWNSCALE_STABILIZATION_SECONDS",
    "ScaleEvent",
    "normalize",
    "stabilize",
    "store_scale_event",
]

#: ``--horizontal-pod-autoscaler-downscale-stabilization`` (default 5 minutes)
DOWNSCALE_STABILIZATION_SECONDS = int(core.DOWNSCALE_STABILIZATION_SECONDS)
#: autoscaling/v2's validation of behavior: longest window and rate-limit period, seconds
API_WINDOW, API_PERIOD = 3600, 1800


def _no_behavior(behavior: core.Behavior | None) -> core.Behavior | None:
    """The no-behavior rules when ``behavior`` is ``None`` or says so, else ``None``."""
    if behavior is None:
        return core.Behavior.kubernetes_no_behavior()
    return behavior if behavior.no_behavior else None


def stabilize(
    recommendations: Sequence[tuple[float, int]],
    desired_replicas: int,
    current_replicas: int,
    now: float,
    behavior: core.Behavior | None,
) -> tuple[int, list[tuple[float, int]]]:
    """The stabilized recommendation, and the recommendations to keep for next time.

    With a behavior (``stabilizeRecommendationWithBehaviors``): the count is
    kept between the lowest recommendation of the scale-up window and the
    highest of the scale-down window, both including ``desired_replicas``.
    Without one (``None`` or :meth:`~elastic.Behavior.kubernetes_no_behavior`,
    ``stabilizeRecommendation``): the highest recommendation of the last
    300 s. ``desired_replicas`` is then recorded at ``now``, in the slot of
    an old recommendation if there is one.

    Examples
    --------
    >>> from elastic import Behavior
    >>> history = [(0.0, 8), (100.0, 6)]
    >>> stabilize(history, 3, 8, 200.0, Behavior.kubernetes_default())[0]
    8
    >>> stabilize(history, 3, 8, 350.0, Behavior.kubernetes_default())
    (6, [(350.0, 3), (100.0, 6)])
    """
    kept = list(recommendations)
    legacy = _no_behavior(behavior)
    if legacy is not None:
        window = legacy.scale_down.stabilization_window_seconds
        stabilized = stabilize_to_highest(desired_replicas, now, kept, window)[0]
        oldest = now - window
    else:
        assert behavior is not None
        up_window = behavior.scale_up.stabilization_window_seconds
        down_window = behavior.scale_down.stabilization_window_seconds
        stabilized = core_stabilize(
            desired_replicas, current_replicas, now, kept, up_window, down_window
        )[0]
        oldest = now - max(up_window, down_window)  # before both windows
    old = None
    for i, (time, _) in enumerate(kept):
        if time < oldest:
            old = i
    if old is None:
        kept.append((now, desired_replicas))
    else:
        kept[old] = (now, desired_replicas)
    return stabilized, kept


def normalize(
    current_replicas: int,
    desired_replicas: int,
    *,
    min_replicas: int,
    max_replicas: int,
    behavior: core.Behavior | None,
    scale_up_events: Sequence[ScaleEvent] = (),
    scale_down_events: Sequence[ScaleEvent] = (),
    now: float = 0.0,
) -> tuple[int, str]:
    """Bound the stabilized count by min/max and the rate limits, with upstream's reason.

    With a behavior (``convertDesiredReplicasWithBehaviorRate``): a scale-up
    is capped by the selected policy over the replicas at the start of each
    period (rebuilt from both event lists) and by ``max_replicas``; a
    scale-down likewise from below. Without one (``None`` or
    :meth:`~elastic.Behavior.kubernetes_no_behavior`,
    ``convertDesiredReplicasWithRules``): ``max(2 * current, 4)`` caps a
    scale-up. Reasons: ``DesiredWithinRange``, ``ScaleUpLimit``,
    ``ScaleDownLimit``, ``TooFewReplicas``, ``TooManyReplicas``.

    Examples
    --------
    >>> from elastic import Behavior, ScaleEvent
    >>> normalize(3, 20, min_replicas=1, max_replicas=50, behavior=None)
    (6, 'ScaleUpLimit')
    >>> normalize(10, 30, min_replicas=1, max_replicas=50,
    ...           behavior=Behavior.kubernetes_default(),
    ...           scale_up_events=[ScaleEvent(5, 100.0)], now=110.0)
    (10, 'ScaleUpLimit')
    """
    current, desired = current_replicas, desired_replicas
    if _no_behavior(behavior) is not None:
        up_limit = no_behavior_scale_up_limit(current)
        if max_replicas > up_limit:
            highest, reason = up_limit, "ScaleUpLimit"
        else:
            highest, reason = max_replicas, "TooManyReplicas"
        if desired < min_replicas:
            return min_replicas, "TooFewReplicas"
        if desired > highest:
            return highest, reason
        return desired, "DesiredWithinRange"
    assert behavior is not None
    if desired > current:
        # upstream's selection over no policy leaves no room: the core's None holds too
        found = scale_up_limit(current, now, scale_up_events, scale_down_events, behavior.scale_up)
        limit = current if found is None else max(found, current)
        if max_replicas > limit:
            highest, reason = limit, "ScaleUpLimit"
        else:
            highest, reason = max_replicas, "TooManyReplicas"
        if desired > highest:
            return highest, reason
    elif desired < current:
        found = scale_down_limit(
            current, now, scale_up_events, scale_down_events, behavior.scale_down
        )
        limit = current if found is None else min(found, current)
        if min_replicas < limit:
            lowest, reason = limit, "ScaleDownLimit"
        else:
            lowest, reason = min_replicas, "TooFewReplicas"
        if desired < lowest:
            return lowest, reason
    return desired, "DesiredWithinRange"


def store_scale_event(
    events: Sequence[ScaleEvent], change: int, now: float, rules: core.ScalingRules
) -> list[ScaleEvent]:
    """The events of one direction after a scale of ``change`` replicas at ``now``.

    As upstream's ``storeScaleEvent``: an event older than the longest
    policy period is replaced by the new one, else the new one is appended.
    """
    kept = list(events)
    cutoff = now - rules.longest_period
    for i, event in enumerate(kept):
        if event.time < cutoff:
            kept[i] = ScaleEvent(change, now)
            return kept
    kept.append(ScaleEvent(change, now))
    return kept


# --- deprecated: the second copy of the rules this module used to have ------------------------


@dataclass(frozen=True, slots=True)
class _PartialRules:
    """Deprecated ``elastic.kubernetes.ScalingRules``: one direction with ``None`` fields
    that take the Kubernetes defaults (what a manifest leaves out)."""

    policies: Sequence[core.RateLimit] | None = None
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"
    stabilization_window_seconds: int | None = None
    tolerance: float | None = None

    def __post_init__(self) -> None:
        owner = "ScalingRules"
        check_choice(self.select_policy, "select_policy", ("Max", "Min", "Disabled"), owner=owner)
        window = self.stabilization_window_seconds
        if (
            window is not None
            and check_int(window, "stabilization_window_seconds", owner=owner, ge=0) > API_WINDOW
        ):
            raise ParameterError(
                "stabilization_window_seconds",
                window,
                f"an integer from 0 to {API_WINDOW}",
                owner=owner,
            )
        if self.tolerance is not None:
            check_number(self.tolerance, "tolerance", owner=owner, ge=0)
        if self.policies is not None:
            object.__setattr__(self, "policies", tuple(self.policies))

    def fill(self, default: core.ScalingRules) -> core.ScalingRules:
        """These rules as :class:`elastic.ScalingRules`, ``default`` filling what is ``None``."""
        given: dict[str, Any] = {"select_policy": self.select_policy}
        if self.policies is not None:
            given["policies"] = self.policies
        if self.stabilization_window_seconds is not None:
            given["stabilization_window_seconds"] = float(self.stabilization_window_seconds)
        if self.tolerance is not None:
            given["tolerance"] = self.tolerance
        return replace(default, **given)


def _behavior(
    scale_up: _PartialRules | core.ScalingRules | None = None,
    scale_down: _PartialRules | core.ScalingRules | None = None,
    downscale_stabilization_seconds: int = DOWNSCALE_STABILIZATION_SECONDS,
) -> core.Behavior:
    """Deprecated ``elastic.kubernetes.Behavior``: an :class:`elastic.Behavior` with the
    Kubernetes defaults filling each field left ``None``."""
    defaults = core.Behavior.kubernetes_default()
    down_default = replace(
        defaults.scale_down, stabilization_window_seconds=float(downscale_stabilization_seconds)
    )
    rules = []
    for name, given, default in (
        ("scale_up", scale_up, defaults.scale_up),
        ("scale_down", scale_down, down_default),
    ):
        if given is None:
            rules.append(default)
        elif isinstance(given, _PartialRules):
            rules.append(given.fill(default))
        elif isinstance(given, core.ScalingRules):
            rules.append(given)
        else:
            raise ParameterError(name, given, "None or a ScalingRules", owner="Behavior")
    return core.Behavior(rules[0], rules[1])


def _scaling_policy(type: Any, value: Any, period_seconds: Any) -> core.RateLimit:
    """Deprecated ``elastic.kubernetes.ScalingPolicy``: an :class:`elastic.RateLimit`, its
    period whole seconds from 1 to 1800 as ``autoscaling/v2`` has it (as it always was)."""
    period = check_int(period_seconds, "period_seconds", owner="ScalingPolicy", ge=1)
    if period > API_PERIOD:
        raise ParameterError(
            "period_seconds", period, f"an integer from 1 to {API_PERIOD}", owner="ScalingPolicy"
        )
    return core.RateLimit(type, value, period)


_DEPRECATED: dict[str, tuple[Any, str]] = {
    "Behavior": (
        _behavior,
        "elastic.Behavior (Behavior.kubernetes_default() has the Kubernetes defaults; "
        "Behavior.kubernetes_no_behavior() is an HPA without behavior)",
    ),
    "ScalingRules": (_PartialRules, "elastic.ScalingRules"),
    "ScalingPolicy": (_scaling_policy, "elastic.RateLimit"),
}


def _deprecated(name: str) -> Any:
    """The deprecated name ``name`` of :mod:`elastic.kubernetes`, with its warning."""
    value, replacement = _DEPRECATED[name]
    warnings.warn(
        f"elastic.kubernetes.{name} is deprecated; use {replacement}",
        DeprecationWarning,
        stacklevel=3,
    )
    return value


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        return _deprecated(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
