"""The HPA's ``behavior``: defaults, stabilization and rate-limit normalization, as upstream.

Written from ``pkg/apis/autoscaling/v2/defaults.go`` and
``pkg/controller/podautoscaler/horizontal.go``. Times are seconds on the
caller's clock. A window or a period includes what happened strictly after
its start (Go's ``After``); a recommendation is old, and its slot reused,
when it is strictly before both windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from elastic.core import behavior as core
from elastic.core.behavior import ScaleEvent
from elastic.core.stages import scale_down_limit, scale_up_limit
from elastic.core.stages import stabilize as core_stabilize
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError

__all__ = [
    "DOWNSCALE_STABILIZATION_SECONDS",
    "Behavior",
    "ScaleEvent",
    "ScalingPolicy",
    "ScalingRules",
    "normalize",
    "stabilize",
    "store_scale_event",
]

#: ``--horizontal-pod-autoscaler-downscale-stabilization`` (default 5 minutes)
DOWNSCALE_STABILIZATION_SECONDS = 300
SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2.0, 4.0

Select = Literal["Max", "Min", "Disabled"]


@dataclass(frozen=True, slots=True)
class ScalingPolicy:
    """``type`` ``"Pods"`` or ``"Percent"``: at most ``value`` per ``period_seconds``."""

    type: Literal["Pods", "Percent"]
    value: int
    period_seconds: int

    def __post_init__(self) -> None:
        check_choice(self.type, "type", ("Pods", "Percent"), owner="ScalingPolicy")
        check_int(self.value, "value", owner="ScalingPolicy", ge=1)
        period = check_int(self.period_seconds, "period_seconds", owner="ScalingPolicy", ge=1)
        if period > 1800:  # the API's validation
            raise ParameterError(
                "period_seconds", period, "an integer from 1 to 1800", owner="ScalingPolicy"
            )


@dataclass(frozen=True, slots=True)
class ScalingRules:
    """The rules of one direction; ``None`` fields take the Kubernetes defaults.

    Parameters
    ----------
    policies
        Rate limits (``None``: the default of the direction).
    select_policy
        ``"Max"`` (the largest change allowed), ``"Min"`` or ``"Disabled"``.
    stabilization_window_seconds
        ``None``: 0 for scale-up, the controller's 300 s for scale-down.
    tolerance
        The direction's tolerance (the alpha ``HPAConfigurableTolerance``
        field); ``None``: the controller's 0.1.
    """

    policies: Sequence[ScalingPolicy] | None = None
    select_policy: Select = "Max"
    stabilization_window_seconds: int | None = None
    tolerance: float | None = None

    def __post_init__(self) -> None:
        owner = "ScalingRules"
        check_choice(self.select_policy, "select_policy", ("Max", "Min", "Disabled"), owner=owner)
        window = self.stabilization_window_seconds
        if (
            window is not None
            and check_int(window, "stabilization_window_seconds", owner=owner, ge=0) > 3600
        ):
            raise ParameterError(
                "stabilization_window_seconds", window, "an integer from 0 to 3600", owner=owner
            )
        if self.tolerance is not None:
            check_number(self.tolerance, "tolerance", owner=owner, ge=0)
        if self.policies is not None:
            object.__setattr__(self, "policies", tuple(self.policies))

    @property
    def longest_period(self) -> int:
        return max((p.period_seconds for p in self.policies or ()), default=0)


def _up_defaults(rules: ScalingRules | None) -> ScalingRules:
    rules = rules or ScalingRules()
    return ScalingRules(
        policies=rules.policies
        if rules.policies is not None
        else (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)),
        select_policy=rules.select_policy,
        stabilization_window_seconds=rules.stabilization_window_seconds or 0,
        tolerance=rules.tolerance,
    )


def _down_defaults(rules: ScalingRules | None, window: int) -> ScalingRules:
    rules = rules or ScalingRules()
    return ScalingRules(
        policies=rules.policies
        if rules.policies is not None
        else (ScalingPolicy("Percent", 100, 15),),
        select_policy=rules.select_policy,
        stabilization_window_seconds=window
        if rules.stabilization_window_seconds is None
        else rules.stabilization_window_seconds,
        tolerance=rules.tolerance,
    )


@dataclass(frozen=True, slots=True)
class Behavior:
    """``spec.behavior`` of an HPA; each direction's ``None`` fields take the defaults.

    Scale-up: no window, ``max(4 pods, 100 %)`` per 15 s. Scale-down: the
    controller's downscale window (300 s), 100 % per 15 s.

    Examples
    --------
    >>> b = Behavior(scale_down=ScalingRules(stabilization_window_seconds=60))
    >>> [(p.type, p.value, p.period_seconds) for p in b.up.policies]
    [('Pods', 4, 15), ('Percent', 100, 15)]
    >>> b.down.stabilization_window_seconds, Behavior().down.stabilization_window_seconds
    (60, 300)
    """

    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None
    downscale_stabilization_seconds: int = field(default=DOWNSCALE_STABILIZATION_SECONDS)

    @property
    def up(self) -> ScalingRules:
        """Scale-up rules with the defaults filled in."""
        return _up_defaults(self.scale_up)

    @property
    def down(self) -> ScalingRules:
        """Scale-down rules with the defaults filled in."""
        return _down_defaults(self.scale_down, self.downscale_stabilization_seconds)


def stabilize(
    recommendations: Sequence[tuple[float, int]],
    desired_replicas: int,
    current_replicas: int,
    now: float,
    behavior: Behavior | None,
) -> tuple[int, list[tuple[float, int]]]:
    """The stabilized recommendation, and the recommendations to keep for next time.

    With a behavior (``stabilizeRecommendationWithBehaviors``): the count is
    kept between the lowest recommendation of the scale-up window and the
    highest of the scale-down window, both including ``desired_replicas``.
    Without one (``stabilizeRecommendation``): the highest recommendation of
    the last 300 s. ``desired_replicas`` is then recorded at ``now``, in
    the slot of an old recommendation if there is one.

    Examples
    --------
    >>> history = [(0.0, 8), (100.0, 6)]
    >>> stabilize(history, 3, 8, 200.0, Behavior())[0]
    8
    >>> stabilize(history, 3, 8, 350.0, Behavior())[0]
    6
    """
    kept = list(recommendations)
    old = None
    if behavior is None:
        highest = desired_replicas
        cutoff = now - DOWNSCALE_STABILIZATION_SECONDS
        for i, (time, replicas) in enumerate(kept):
            if time < cutoff:
                old = i
            elif replicas > highest:
                highest = replicas
        stabilized = highest
    else:
        up_window = behavior.up.stabilization_window_seconds or 0
        down_window = behavior.down.stabilization_window_seconds or 0
        stabilized = core_stabilize(
            desired_replicas, current_replicas, now, kept, up_window, down_window
        )[0]
        oldest = now - max(up_window, down_window)  # before both windows
        for i, (time, _) in enumerate(kept):
            if time < oldest:
                old = i
    if old is None:
        kept.append((now, desired_replicas))
    else:
        kept[old] = (now, desired_replicas)
    return stabilized, kept


def _core(rules: ScalingRules) -> core.ScalingRules:
    """The same rules as the decision loop's stages take them."""
    return core.ScalingRules(
        float(rules.stabilization_window_seconds or 0),
        [core.RateLimit(p.type, p.value, float(p.period_seconds)) for p in rules.policies or ()],
        rules.select_policy,
    )


def normalize(
    current_replicas: int,
    desired_replicas: int,
    *,
    min_replicas: int,
    max_replicas: int,
    behavior: Behavior | None,
    scale_up_events: Sequence[ScaleEvent] = (),
    scale_down_events: Sequence[ScaleEvent] = (),
    now: float = 0.0,
) -> tuple[int, str]:
    """Bound the stabilized count by min/max and the rate limits, with upstream's reason.

    With a behavior (``convertDesiredReplicasWithBehaviorRate``): a scale-up
    is capped by the selected policy over the replicas at the start of each
    period (rebuilt from both event lists) and by ``max_replicas``; a
    scale-down likewise from below. Without one
    (``convertDesiredReplicasWithRules``): ``max(2 * current, 4)`` caps a
    scale-up. Reasons: ``DesiredWithinRange``, ``ScaleUpLimit``,
    ``ScaleDownLimit``, ``TooFewReplicas``, ``TooManyReplicas``.

    Examples
    --------
    >>> normalize(3, 20, min_replicas=1, max_replicas=50, behavior=None)
    (6, 'ScaleUpLimit')
    >>> normalize(10, 30, min_replicas=1, max_replicas=50, behavior=Behavior(),
    ...           scale_up_events=[ScaleEvent(5, 100.0)], now=110.0)
    (10, 'ScaleUpLimit')
    """
    current, desired = current_replicas, desired_replicas
    if behavior is None:
        up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        if max_replicas > up_limit:
            highest, reason = up_limit, "ScaleUpLimit"
        else:
            highest, reason = max_replicas, "TooManyReplicas"
        if desired < min_replicas:
            return min_replicas, "TooFewReplicas"
        if desired > highest:
            return highest, reason
        return desired, "DesiredWithinRange"
    if desired > current:
        # upstream's selection over no policy leaves no room: the core's None holds too
        found = scale_up_limit(current, now, scale_up_events, scale_down_events, _core(behavior.up))
        limit = current if found is None else max(found, current)
        if max_replicas > limit:
            highest, reason = limit, "ScaleUpLimit"
        else:
            highest, reason = max_replicas, "TooManyReplicas"
        if desired > highest:
            return highest, reason
    elif desired < current:
        found = scale_down_limit(
            current, now, scale_up_events, scale_down_events, _core(behavior.down)
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
    events: Sequence[ScaleEvent], change: int, now: float, rules: ScalingRules
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
