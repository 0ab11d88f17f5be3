"""The pure stages of the decision loop.

Each stage is a function of the current count, the number coming from the
stage before, the remembered history, the rules and ``now``; it returns the
new number, a :class:`Reason` and a sentence. None of them reads a clock or
keeps state: :class:`~elastic.DecisionLoop` owns the history and passes it in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from elastic.core.behavior import RateLimit, ScaleEvent, ScalingRules
from elastic.core.types import Reason, Recommendation

__all__ = [
    "clamp_to_bounds",
    "combine",
    "imposed_bounds",
    "no_behavior_scale_up_limit",
    "rate_limit",
    "replicas_changed_in_period",
    "scale_down_limit",
    "scale_up_cap",
    "scale_up_limit",
    "stabilize",
    "stabilize_to_highest",
]

# the Kubernetes HPA without behavior: a scale-up goes at most to max(2 * current, 4)
SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2.0, 4.0

StageResult = tuple[int, Reason, str]


def combine(recommendations: Sequence[Recommendation], current: int, rule: str) -> StageResult:
    """Merge the recommendations of several policies.

    ``"max"``: the largest recommendation of the policies that did not abstain,
    so the loop scales out if any policy wants to.
    ``"aws"``: the rule of AWS target tracking with several policies: scale out
    if any policy wants to; scale in only if every policy agrees.
    Under both, a policy that abstains for lack of data (``Reason.NO_DATA``)
    blocks scale-in, so a missing metric never causes a scale-down (fail-static:
    the HPA's rule for metrics it cannot read, and AWS's for an alarm without
    data); one that abstains for another reason (its scale-in is disabled, no
    alarm) does not. The two rules therefore agree; both names are kept.
    When no policy has a number the current count is kept.

    The stage keeps the reason of the recommendation it took (of the first
    policy, in order, among equal ones), so a decision says why in the
    policy's own words: ``WITHIN_TOLERANCE``, not merely that policies were
    combined. When every policy abstains for one reason, that reason is kept
    (``NO_DATA``); for several different ones the reason is ``HOLD``.

    Examples
    --------
    >>> from elastic.core.types import Reason, Recommendation
    >>> recs = [Recommendation(3, Reason.TARGET_TRACKING), Recommendation(None, Reason.NO_DATA)]
    >>> combine(recs, 5, "max")[:2]      # no scale-in while a metric is missing
    (5, <Reason.SCALE_IN_BLOCKED: 'scale_in_blocked'>)
    >>> combine(recs, 2, "max")[:2]      # a scale-out goes ahead
    (3, <Reason.TARGET_TRACKING: 'target_tracking'>)
    >>> combine([Recommendation(5, Reason.WITHIN_TOLERANCE)], 5, "max")[:2]
    (5, <Reason.WITHIN_TOLERANCE: 'within_tolerance'>)
    """
    wanted = [r.replicas for r in recommendations if r.replicas is not None]
    if not wanted:
        reasons = {r.reason for r in recommendations}
        reason = recommendations[0].reason if len(reasons) == 1 else Reason.HOLD
        details = "; ".join(r.detail for r in recommendations if r.detail)
        return (
            current,
            reason,
            "no policy has a recommendation" + (f": {details}" if details else ""),
        )
    desired = max(wanted)
    if desired < current:
        blockers = [r for r in recommendations if r.replicas is None and r.reason is Reason.NO_DATA]
        if blockers:
            return (
                current,
                Reason.SCALE_IN_BLOCKED,
                f"scale-in to {desired} needs every policy to agree; "
                f"{len(blockers)} had no recommendation",
            )
    taken = next(r for r in recommendations if r.replicas == desired)
    if len(recommendations) == 1:
        return desired, taken.reason, taken.detail
    return desired, taken.reason, f"largest of {sorted(wanted)}: {taken.detail}"


def stabilize(
    desired: int,
    current: int,
    now: float,
    history: Sequence[tuple[float, int]],
    up_window: float,
    down_window: float,
) -> StageResult:
    """Apply the stabilization windows, as the Kubernetes HPA does.

    Over the recommendations of the last ``up_window`` seconds (and
    ``desired``) the lowest bounds a scale-up; over the last ``down_window``
    seconds the highest bounds a scale-down. A recommendation made exactly
    ``window`` seconds ago is outside the window.

    Examples
    --------
    Two minutes ago the loop wanted 8; with a 300 s down window it keeps 8:

    >>> stabilize(3, 8, 300.0, [(180.0, 8)], up_window=0, down_window=300)[:2]
    (8, <Reason.STABILIZED: 'stabilized'>)
    """
    up = down = desired
    # a zero window holds nothing: no recommendation is newer than now
    up_cutoff = now - up_window if up_window > 0 else math.inf
    down_cutoff = now - down_window if down_window > 0 else math.inf
    for t, r in history:
        if t > up_cutoff and r < up:
            up = r
        if t > down_cutoff and r > down:
            down = r
    result = current
    if result < up:
        result = up
    if result > down:
        result = down
    if result == desired:
        return result, Reason.UNCHANGED, ""
    direction = "up" if desired > current else "down"
    window = up_window if direction == "up" else down_window
    return (
        result,
        Reason.STABILIZED,
        f"recommendations of the last {window:g} s keep {result} instead of {desired}",
    )


def stabilize_to_highest(
    desired: int, now: float, history: Sequence[tuple[float, int]], window: float
) -> StageResult:
    """The highest of ``desired`` and the recommendations of the last ``window`` seconds.

    The Kubernetes HPA without ``behavior`` (upstream ``stabilizeRecommendation``):
    the highest recommendation wins whatever the direction, and a
    recommendation made exactly ``window`` seconds ago is still inside the
    window (upstream keeps all that are not before its start).

    Examples
    --------
    >>> stabilize_to_highest(3, 300.0, [(0.0, 8), (100.0, 6)], 300.0)[:2]
    (8, <Reason.STABILIZED: 'stabilized'>)
    >>> stabilize_to_highest(3, 301.0, [(0.0, 8), (100.0, 6)], 300.0)[0]
    6
    """
    cutoff = now - window
    highest = desired
    for t, r in history:
        if t >= cutoff and r > highest:
            highest = r
    if highest == desired:
        return desired, Reason.UNCHANGED, ""
    return (
        highest,
        Reason.STABILIZED,
        f"the highest recommendation of the last {window:g} s is {highest}, not {desired}",
    )


def replicas_changed_in_period(events: Sequence[ScaleEvent], now: float, period: float) -> int:
    """Sum of the changes of ``events`` that happened after ``now - period``."""
    cutoff = now - period
    return sum(e.replica_change for e in events if e.time > cutoff)


def _period_starts(
    current: int,
    now: float,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
) -> list[tuple[RateLimit, int]]:
    """Each limit with the count at the start of its period, rebuilt from the scale events."""
    return [
        (
            limit,
            current
            - replicas_changed_in_period(up_events, now, limit.period_seconds)
            + replicas_changed_in_period(down_events, now, limit.period_seconds),
        )
        for limit in rules.policies
    ]


def scale_up_limit(
    current: int,
    now: float,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
) -> int | None:
    """The highest count the scale-up rate limits allow now (``None``: no limit).

    For each limit, the count at the start of its period is rebuilt from the
    scale events inside the period; a ``Pods`` limit adds ``value`` to it and a
    ``Percent`` limit multiplies it by ``1 + value/100`` rounded up, in the
    same floating-point arithmetic as the Kubernetes HPA.
    """
    if rules.select_policy == "Disabled":
        return current
    if not rules.policies:
        return None
    proposals = [
        start + limit.value
        if limit.type == "Pods"
        else math.ceil(float(start) * (1 + float(limit.value) / 100))
        for limit, start in _period_starts(current, now, up_events, down_events, rules)
    ]
    return max(proposals) if rules.select_policy == "Max" else min(proposals)


def scale_down_limit(
    current: int,
    now: float,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
    rules: ScalingRules,
) -> int | None:
    """The lowest count the scale-down rate limits allow now (``None``: no limit).

    A ``Percent`` limit truncates ``start * (1 - value/100)`` toward zero, as
    the Kubernetes HPA does. ``"Max"`` selects the most permissive limit,
    which for scale-down is the lowest count.
    """
    if rules.select_policy == "Disabled":
        return current
    if not rules.policies:
        return None
    proposals = [
        start - limit.value
        if limit.type == "Pods"
        else int(float(start) * (1 - float(limit.value) / 100))
        for limit, start in _period_starts(current, now, up_events, down_events, rules)
    ]
    return min(proposals) if rules.select_policy == "Max" else max(proposals)


def rate_limit(
    desired: int,
    current: int,
    now: float,
    up_events: Sequence[ScaleEvent],
    down_events: Sequence[ScaleEvent],
    up_rules: ScalingRules,
    down_rules: ScalingRules,
) -> StageResult:
    """Cap the change from ``current`` to ``desired`` by the rate limits.

    A limit never pushes the count past ``current`` the other way: a
    scale-up limit below the current count holds it.

    Examples
    --------
    >>> from elastic.core.behavior import RateLimit, ScalingRules
    >>> up = ScalingRules(policies=[RateLimit("Pods", 4, 15)])
    >>> rate_limit(20, 5, 0.0, [], [], up, ScalingRules())[:2]
    (9, <Reason.SCALE_UP_LIMIT: 'scale_up_limit'>)
    """
    if desired > current:
        limit = scale_up_limit(current, now, up_events, down_events, up_rules)
        if limit is None:
            return desired, Reason.UNCHANGED, ""
        limit = max(limit, current)
        if desired > limit:
            if up_rules.select_policy == "Disabled":
                return current, Reason.SCALING_DISABLED, "scale-up is disabled"
            return (
                limit,
                Reason.SCALE_UP_LIMIT,
                f"the desired count {desired} rises faster than the scale-up rate allows",
            )
    elif desired < current:
        limit = scale_down_limit(current, now, up_events, down_events, down_rules)
        if limit is None:
            return desired, Reason.UNCHANGED, ""
        limit = min(limit, current)
        if desired < limit:
            if down_rules.select_policy == "Disabled":
                return current, Reason.SCALING_DISABLED, "scale-down is disabled"
            return (
                limit,
                Reason.SCALE_DOWN_LIMIT,
                f"the desired count {desired} falls faster than the scale-down rate allows",
            )
    return desired, Reason.UNCHANGED, ""


def no_behavior_scale_up_limit(current: int) -> int:
    """``max(2 * current, 4)``: the scale-up cap of the Kubernetes HPA without ``behavior``
    (upstream ``calculateScaleUpLimit``, in its float arithmetic)."""
    return int(max(SCALE_UP_LIMIT_FACTOR * float(current), SCALE_UP_LIMIT_MINIMUM))


def scale_up_cap(desired: int, current: int) -> StageResult:
    """Cap a scale-up at :func:`no_behavior_scale_up_limit`; a scale-down is not limited.

    The rate limit of the Kubernetes HPA without ``behavior``.

    Examples
    --------
    >>> scale_up_cap(20, 3)[:2]
    (6, <Reason.SCALE_UP_LIMIT: 'scale_up_limit'>)
    >>> scale_up_cap(10, 1)[0], scale_up_cap(1, 10)[0]
    (4, 1)
    """
    limit = no_behavior_scale_up_limit(current)
    if desired > limit:
        return (
            limit,
            Reason.SCALE_UP_LIMIT,
            f"the desired count {desired} is above max(2 x {current}, 4) = {limit}",
        )
    return desired, Reason.UNCHANGED, ""


def imposed_bounds(recommendations: Sequence[Recommendation]) -> tuple[int | None, int | None]:
    """The bounds the recommendations impose together: the highest ``min_replicas`` and the
    lowest ``max_replicas`` among them, ``None`` where none sets one.

    Examples
    --------
    >>> from elastic.core.types import Reason, Recommendation
    >>> imposed_bounds([Recommendation(3, Reason.SCHEDULED, min_replicas=2, max_replicas=9),
    ...                 Recommendation(5, Reason.SCHEDULED, min_replicas=4)])
    (4, 9)
    """
    lows = [r.min_replicas for r in recommendations if r.min_replicas is not None]
    highs = [r.max_replicas for r in recommendations if r.max_replicas is not None]
    return (max(lows) if lows else None), (min(highs) if highs else None)


def clamp_to_bounds(desired: int, low: int, high: int) -> StageResult:
    """Keep ``desired`` within ``[low, high]``.

    Examples
    --------
    >>> clamp_to_bounds(12, 1, 10)[:2]
    (10, <Reason.TOO_MANY: 'too_many'>)
    """
    if desired < low:
        return low, Reason.TOO_FEW, f"raised to the minimum of {low}"
    if desired > high:
        return high, Reason.TOO_MANY, f"lowered to the maximum of {high}"
    return desired, Reason.UNCHANGED, ""
