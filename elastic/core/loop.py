"""The decision loop every policy runs in, in a simulator or in a real controller."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from elastic.core.behavior import Behavior, ScaleEvent
from elastic.core.cooldown import Cooldown
from elastic.core.params import Params
from elastic.core.protocols import Policy
from elastic.core.space import Choice, Int, Parameter, count_range, prefixed, seconds_range
from elastic.core.stages import (
    StageResult,
    clamp_to_bounds,
    combine,
    imposed_bounds,
    rate_limit,
    scale_up_cap,
    stabilize,
    stabilize_to_highest,
)
from elastic.core.types import Decision, Observation, Reason, Recommendation, Stage
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError

__all__ = ["DecisionLoop"]

STAGES = ("combine", "stabilize", "rate_limit", "bounds", "cooldown")


class DecisionLoop(Params):
    """Turns observations into replica counts through a fixed pipeline of stages.

    On each :meth:`step` every policy observes and then recommends; the
    recommendations go through these stages, in this order:

    1. **combine**: ``"max"`` takes the largest recommendation (scale out if
       any policy wants to); ``"aws"`` is the AWS target-tracking rule (scale
       out if any policy wants to, scale in only if all agree). Under both, a
       policy without data blocks a scale-in (fail-static).
    2. **stabilize**: the stabilization windows of ``behavior``; scale-down
       takes the highest recommendation inside its window, scale-up the lowest
       (with :meth:`Behavior.kubernetes_no_behavior`: the highest of the
       window, in both directions).
    3. **rate_limit**: the ``Pods``/``Percent`` rate limits of ``behavior``,
       counted over the scale events this loop applied (with
       :meth:`Behavior.kubernetes_no_behavior`: a scale-up capped at
       ``max(2 * current, 4)``).
    4. **bounds**: ``min_replicas``/``max_replicas``, or the bounds a policy
       imposes (scheduled actions).
    5. **cooldown**: ``cooldown`` and ``warmup``. Replicas added less than
       ``warmup`` seconds ago (or reported in ``obs.warming``) are warming: the
       policies see the capacity without them, so they count toward the next
       scale-out, and scale-in waits until they are done. Cooldowns follow
       :class:`~elastic.Cooldown`. A held count still obeys the bounds.

    :meth:`step` records its decision as carried out. A controller whose
    system may refuse a request calls :meth:`propose`, asks the system, and
    :meth:`acknowledge` s what it took: only then do the scale event, its
    cooldowns and its warm-up count.

    A policy whose ``sees_warming`` attribute is ``True`` (the Kubernetes
    HPA, whose CPU-initialization rule reads ``obs.warming``) is given the
    observation as it is, warming replicas included, so that they are
    handled once, by the policy; replicas reported warming then hold no
    scale-in unless another policy of the loop relies on the loop for them
    (the loop's own ``warmup`` still does).

    Parameters
    ----------
    policies
        One policy or a sequence of them.
    min_replicas, max_replicas
        Bounds on the final count.
    behavior
        Stabilization windows and rate limits; ``None`` has neither.
    combine
        ``"max"`` or ``"aws"``.
    cooldown
        ``None``, seconds (EC2 simple-scaling cooldown) or a :class:`~elastic.Cooldown`.
    warmup
        Seconds a replica added by this loop stays in warm-up; ``None`` for none.
    sync
        ``"default"``, or ``"kubernetes"`` to run each step as the HPA
        controller's sync does around the same stages: a current count of 0
        with ``min_replicas > 0`` is left alone (scaling is disabled, as for
        a target scaled to zero by someone else); a count above
        ``max_replicas`` or below ``min_replicas`` goes straight to the bound
        without asking the policies, stabilization or rate limits; and a step
        where no policy recommends a count (the HPA's invalid metrics) keeps
        the count. None of these records a recommendation for the
        stabilization window, as upstream records none.

    Examples
    --------
    >>> from elastic import DecisionLoop, Observation, Behavior
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20,
    ...                     behavior=Behavior.kubernetes_default())
    >>> d = loop.step(Observation(time=0.0, replicas=2, metrics={"cpu": 100.0}))
    >>> d.replicas, d.reason
    (4, <Reason.TARGET_TRACKING: 'target_tracking'>)
    >>> d = loop.step(Observation(time=15.0, replicas=4, metrics={"cpu": 10.0}))
    >>> d.replicas, d.reason   # the 300 s scale-down window remembers 4
    (4, <Reason.STABILIZED: 'stabilized'>)
    """

    def __init__(
        self,
        policies: Policy | Sequence[Policy],
        *,
        min_replicas: int,
        max_replicas: int,
        behavior: Behavior | None = None,
        combine: Literal["max", "aws"] = "max",
        cooldown: float | Cooldown | None = None,
        warmup: float | None = None,
        sync: Literal["default", "kubernetes"] = "default",
    ) -> None:
        self.policies = policies
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.behavior = behavior
        self.combine = combine
        self.cooldown = cooldown
        self.warmup = warmup
        self.sync = sync
        self._validate()
        self.history_: list[tuple[float, int]] = []
        self.up_events_: list[ScaleEvent] = []
        self.down_events_: list[ScaleEvent] = []
        self.time_: float | None = None
        self.last_activity_: tuple[float, str] | None = None
        self.scale_in_cooldown_until_ = -math.inf
        self.proposed_: Decision | None = None

    def _validate(self) -> None:
        owner = "DecisionLoop"
        if isinstance(self.policies, Policy):
            policies: list[object] = [self.policies]
        elif isinstance(self.policies, Sequence) and not isinstance(self.policies, str):
            policies = list(self.policies)
        else:
            policies = []
        if not policies:
            raise ParameterError("policies", self.policies, "at least one policy", owner=owner)
        for i, policy in enumerate(policies):
            if not isinstance(policy, Policy):
                raise ParameterError(
                    f"policies[{i}]",
                    policy,
                    "an object with observe() and recommend()",
                    owner=owner,
                )
        self._policies = tuple(p for p in policies if isinstance(p, Policy))
        self._sees_warming = tuple(
            getattr(p, "sees_warming", False) is True for p in self._policies
        )
        self._shielded = not all(self._sees_warming)  # some policy relies on the loop for warming
        self._any_sees_warming = any(self._sees_warming)
        low = check_int(self.min_replicas, "min_replicas", owner=owner, ge=0)
        high = check_int(self.max_replicas, "max_replicas", owner=owner, ge=0)
        if low > high:
            raise ParameterError("min_replicas", low, f"at most max_replicas ({high})", owner=owner)
        if self.behavior is not None and not isinstance(self.behavior, Behavior):
            raise ParameterError("behavior", self.behavior, "None or a Behavior", owner=owner)
        check_choice(self.combine, "combine", ("max", "aws"), owner=owner)
        check_choice(self.sync, "sync", ("default", "kubernetes"), owner=owner)
        if self.cooldown is None or isinstance(self.cooldown, Cooldown):
            self._cooldown = self.cooldown
        else:
            self._cooldown = Cooldown.simple(
                check_number(self.cooldown, "cooldown", owner=owner, ge=0)
            )
        self._warmup = (
            0.0 if self.warmup is None else check_number(self.warmup, "warmup", owner=owner, ge=0)
        )
        self._behavior = self.behavior or Behavior()
        self._horizon = max(
            self._behavior.horizon,
            self._warmup,
            self._cooldown.scale_out if self._cooldown else 0.0,
        )

    def search_space(self) -> dict[str, Parameter]:
        """The parameters worth tuning, by path (:mod:`elastic.core.paths`), over default
        ranges relative to their values.

        Each policy's own (its ``search_space()``, under ``policies[i].``, or
        ``policies.`` for a loop of one policy given alone), then the loop's:
        each direction's stabilization window (whole seconds from 0 to twice
        it, and at least to 120 s up, 600 s down), each rate limit's value and
        period, the choice between ``Max`` and ``Min`` where a direction has
        several limits, the cooldowns (to twice them and at least 300 s out,
        600 s in) and the warm-up (at least to 300 s). A loop without
        ``behavior``, cooldown or warm-up gets none of them: a feature off
        stays off.

        Examples
        --------
        >>> from elastic import Behavior, Cooldown
        >>> from elastic.policies import TargetTracking
        >>> loop = DecisionLoop([TargetTracking("cpu", 60.0)], min_replicas=1, max_replicas=20,
        ...                     cooldown=Cooldown(60, 300), behavior=Behavior.kubernetes_default())
        >>> space = loop.search_space()
        >>> space["policies[0].target"], space["cooldown.scale_in"]
        (Float(low=30.0, high=90.0, log=False), Int(low=0, high=600, log=False))
        >>> space["behavior.scale_down.stabilization_window_seconds"]
        Int(low=0, high=600, log=False)
        >>> space["behavior.scale_up.select_policy"]
        Choice(options=('Max', 'Min'))
        """
        space: dict[str, Parameter] = {}
        given = self.policies
        items = [("policies.", given)] if isinstance(given, Policy) else [
            (f"policies[{i}].", p) for i, p in enumerate(self._policies)
        ]  # fmt: skip
        for prefix, policy in items:
            declared = getattr(policy, "search_space", None)
            if callable(declared):
                space.update(prefixed(declared(), prefix))
        behavior = self.behavior
        if behavior is not None and not behavior.no_behavior:
            for direction, floor in (("scale_up", 120), ("scale_down", 600)):
                rules = getattr(behavior, direction)
                at = f"behavior.{direction}."
                window = min(float(rules.stabilization_window_seconds), 1800.0)
                space[at + "stabilization_window_seconds"] = seconds_range(window, floor)
                for j, limit in enumerate(rules.policies):
                    space[f"{at}policies[{j}].value"] = count_range(limit.value)
                    period = int(limit.period_seconds)
                    space[f"{at}policies[{j}].period_seconds"] = Int(
                        max(1, period // 2), min(1800, max(2, 2 * period))
                    )
                if len(rules.policies) > 1 and rules.select_policy != "Disabled":
                    space[at + "select_policy"] = Choice(("Max", "Min"))
        if isinstance(self.cooldown, Cooldown):
            space["cooldown.scale_out"] = seconds_range(self.cooldown.scale_out, 300)
            space["cooldown.scale_in"] = seconds_range(self.cooldown.scale_in, 600)
        elif self.cooldown is not None:
            space["cooldown"] = seconds_range(float(self.cooldown), 600)
        if self.warmup is not None:
            space["warmup"] = seconds_range(float(self.warmup), 300)
        return space

    def step(self, obs: Observation) -> Decision:
        """Decide the replica count for ``obs`` and record it as carried out.

        The same as :meth:`propose` followed by :meth:`acknowledge`: for a
        system that always takes the count it is asked for (a simulator
        without actuation failures, a test). ``obs.time`` must not go
        backwards.
        """
        decision = self.propose(obs)
        self.acknowledge(decision)
        return decision

    def propose(self, obs: Observation) -> Decision:
        """Decide the replica count for ``obs`` without recording it as carried out.

        The policies observe, the stabilization windows record the
        recommendation (as the HPA's do, whether or not its update then
        succeeds); the scale event, its cooldowns and its warm-up wait for
        :meth:`acknowledge`. ``obs.time`` must not go backwards.
        """
        # the Observation checked its own fields when it was made
        now, current = float(obs.time), int(obs.replicas)
        if self.time_ is not None and now < self.time_:
            raise ParameterError(
                "obs.time",
                obs.time,
                f"a time >= that of the previous step ({self.time_})",
                owner="DecisionLoop.step",
            )
        if self.time_ is None:
            # the HPA's recordInitialRecommendation: the count found at the first step is a
            # recommendation of that moment, so a scale-down waits out its window from there
            self.history_.append((now, current))
        self.time_ = now
        self._forget(now)

        kubernetes = self.sync == "kubernetes"
        corrected = self._out_of_range(current) if kubernetes else None
        warming = settling = 0
        if corrected is not None:
            # the controller corrects the count without reading a metric
            for policy in self._policies:
                policy.observe(obs)
            recommendations: tuple[Recommendation, ...] = ()
            desired, reason, detail = current, Reason.UNCHANGED, "the policies are not asked"
            held = True
        else:
            own = self._added_within(now, self._warmup)
            shielded = self._shielded
            warming = min(current, max(obs.warming, own) if shielded else own)
            if self._cooldown is not None and self._cooldown.mode == "application":
                settling = min(current, self._added_within(now, self._cooldown.scale_out))
            uncounted = max(warming, settling)
            view = obs
            if uncounted and shielded:
                base = current - uncounted
                ready = None if obs.ready is None else min(obs.ready, base)
                view = replace(obs, replicas=base, ready=ready, warming=0)

            made = []
            if self._any_sees_warming:
                for policy, sees in zip(self._policies, self._sees_warming, strict=True):
                    seen = obs if sees else view
                    policy.observe(seen)
                    made.append(policy.recommend(seen))
            else:
                for policy in self._policies:
                    policy.observe(view)
                    made.append(policy.recommend(view))
            recommendations = tuple(made)
            desired, reason, detail = combine(recommendations, current, self.combine)
            # the HPA's invalid metrics: upstream returns before normalizing, recording nothing
            held = kubernetes and all(r.replicas is None for r in recommendations)
        stages = [Stage("combine", desired, reason, detail)]

        rules = self._behavior
        if held:
            # nothing recorded for the windows, no rate limit (sync="kubernetes")
            stages.append(Stage("stabilize", desired, Reason.UNCHANGED, "nothing recorded"))
            stages.append(Stage("rate_limit", desired, Reason.UNCHANGED, ""))
            replicas = desired
        else:
            if rules.no_behavior:
                window = rules.scale_down.stabilization_window_seconds
                replicas, reason, detail = stabilize_to_highest(desired, now, self.history_, window)
            else:
                replicas, reason, detail = stabilize(
                    desired,
                    current,
                    now,
                    self.history_,
                    rules.scale_up.stabilization_window_seconds,
                    rules.scale_down.stabilization_window_seconds,
                )
            self.history_.append((now, desired))
            stages.append(Stage("stabilize", replicas, reason, detail))

            if rules.no_behavior:
                replicas, reason, detail = scale_up_cap(replicas, current)
            else:
                replicas, reason, detail = rate_limit(
                    replicas,
                    current,
                    now,
                    self.up_events_,
                    self.down_events_,
                    rules.scale_up,
                    rules.scale_down,
                )
            stages.append(Stage("rate_limit", replicas, reason, detail))

        low, high = self._bounds(recommendations)
        if corrected is not None:
            replicas, reason, detail = corrected
        else:
            replicas, reason, detail = clamp_to_bounds(replicas, low, high)
        stages.append(Stage("bounds", replicas, reason, detail))

        replicas, reason, detail = self._gate(replicas, current, now, low, high, warming, settling)
        stages.append(Stage("cooldown", replicas, reason, detail))

        self.proposed_ = Decision(now, current, replicas, recommendations, tuple(stages))
        return self.proposed_

    def acknowledge(self, decision: Decision, replicas: int | None = None) -> None:
        """Record that the system took ``decision``: ``replicas`` replicas (by default
        ``decision.replicas``; another count when the system clamped the request).

        Only an acknowledged decision counts as a scale event: it starts the
        cooldowns and the warm-up of the replicas it added and enters the
        rate limits. A decision the system refused (the actuator failed) is
        simply not acknowledged: the next :meth:`propose` forgets it, as the
        HPA records a scale event only after its scale update succeeded and
        AWS Auto Scaling records a failed activity without its effects.

        Examples
        --------
        >>> from elastic import DecisionLoop, Observation
        >>> from elastic.policies import TargetTracking
        >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20,
        ...                     warmup=300.0)
        >>> d = loop.propose(Observation(time=0.0, replicas=2, metrics={"cpu": 100.0}))
        >>> d.replicas          # the actuator fails: no acknowledgement
        4
        >>> d = loop.propose(Observation(time=15.0, replicas=2, metrics={"cpu": 100.0}))
        >>> d.replicas, d.reason   # no phantom warming replicas: it asks again
        (4, <Reason.TARGET_TRACKING: 'target_tracking'>)
        >>> loop.acknowledge(d)
        >>> loop.propose(Observation(time=30.0, replicas=4, metrics={"cpu": 10.0})).reason
        <Reason.WARMUP: 'warmup'>
        """
        owner = "DecisionLoop.acknowledge"
        if self.proposed_ is None or decision is not self.proposed_:
            raise ParameterError(
                "decision",
                decision,
                "the decision of the loop's last propose(), not yet acknowledged",
                owner=owner,
            )
        taken = (
            decision.replicas
            if replicas is None
            else check_int(replicas, "replicas", owner=owner, ge=0)
        )
        self.proposed_ = None
        self._record(taken, decision.current, decision.time)

    def _out_of_range(self, current: int) -> StageResult | None:
        """The Kubernetes controller's correction of a count outside the bounds, if any."""
        low, high = int(self.min_replicas), int(self.max_replicas)
        if current == 0 and low != 0:
            return 0, Reason.HOLD, "scaling is disabled: the target is at zero (ScalingDisabled)"
        if current > high:
            return high, Reason.TOO_MANY, f"the current count is above max_replicas ({high})"
        if current < low:
            return low, Reason.TOO_FEW, f"the current count is below min_replicas ({low})"
        return None

    def _forget(self, now: float) -> None:
        # all three lists are in time order: drop their old heads in place
        cutoff = now - self._horizon
        if self._behavior.no_behavior:
            # its window is closed: what is exactly one horizon old still counts
            cutoff = math.nextafter(cutoff, -math.inf)
        history = self.history_
        old = 0
        while old < len(history) and history[old][0] <= cutoff:
            old += 1
        del history[:old]
        for events in (self.up_events_, self.down_events_):
            old = 0
            while old < len(events) and events[old].time <= cutoff:
                old += 1
            del events[:old]

    def _added_within(self, now: float, seconds: float) -> int:
        if seconds <= 0:
            return 0
        cutoff = now - seconds
        return sum(e.replica_change for e in self.up_events_ if e.time > cutoff)

    def _bounds(self, recommendations: Sequence[Recommendation]) -> tuple[int, int]:
        low, high = imposed_bounds(recommendations)
        low = self.min_replicas if low is None else low
        high = self.max_replicas if high is None else high
        return min(low, high), high

    def _gate(
        self,
        replicas: int,
        current: int,
        now: float,
        low: int,
        high: int,
        warming: int,
        settling: int,
    ) -> tuple[int, Reason, str]:
        if replicas == current:
            return replicas, Reason.UNCHANGED, ""
        held, _, _ = clamp_to_bounds(current, low, high)
        cooldown = self._cooldown
        if cooldown is not None and cooldown.mode == "simple" and self.last_activity_:
            since, direction = self.last_activity_
            length = cooldown.scale_out if direction == "out" else cooldown.scale_in
            if now < since + length:
                return (
                    held,
                    Reason.COOLDOWN,
                    (f"simple cooldown of {length:g} s after the scale-{direction} at {since:g} s"),
                )
        if replicas < current:
            if warming:
                return held, Reason.WARMUP, f"{warming} replicas are still warming up"
            if now < self.scale_in_cooldown_until_:
                return (
                    held,
                    Reason.COOLDOWN,
                    (f"scale-in cooldown until {self.scale_in_cooldown_until_:g} s"),
                )
            if settling:
                return (
                    held,
                    Reason.COOLDOWN,
                    (f"scale-out cooldown: {settling} replicas added recently still count"),
                )
        return replicas, Reason.UNCHANGED, ""

    def _record(self, replicas: int, current: int, now: float) -> None:
        if replicas > current:
            self.up_events_.append(ScaleEvent(replicas - current, now))
            self.last_activity_ = (now, "out")
            self.scale_in_cooldown_until_ = -math.inf
        elif replicas < current:
            self.down_events_.append(ScaleEvent(current - replicas, now))
            self.last_activity_ = (now, "in")
            if self._cooldown is not None:
                self.scale_in_cooldown_until_ = now + self._cooldown.scale_in
