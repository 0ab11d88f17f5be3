"""Step scaling (and simple scaling, its one-step case), as AWS defines it."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

from elastic.core.space import Parameter, around, count_range
from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import PolicyError
from elastic.policies.base import BasePolicy

__all__ = ["StepScaling", "aws_round"]

AdjustmentType = Literal["ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"]
Step = tuple[float | None, float | None, int]


def aws_round(numerator: int, denominator: int = 1) -> int:
    """Round a capacity change the way AWS rounds ``PercentChangeInCapacity``.

    Changes above 1 in magnitude round toward zero, changes between 0 and 1
    in magnitude round away from it: ``sign(x) * max(1, floor(|x|))``. The
    change is the exact fraction ``numerator / denominator``.

    Examples
    --------
    >>> aws_round(127, 10), aws_round(67, 100), aws_round(-58, 100), aws_round(-667, 100)
    (12, 1, -1, -6)
    """
    if numerator == 0:
        return 0
    sign = 1 if (numerator > 0) == (denominator > 0) else -1
    return sign * max(1, abs(numerator) // abs(denominator))


class StepScaling(BasePolicy):
    """Adjust capacity by the step that the metric's distance from a threshold falls in.

    Parameters
    ----------
    metric
        Name of the metric the alarm watches.
    threshold
        The alarm threshold.
    steps
        ``(lower, upper, adjustment)`` tuples; bounds are offsets from the
        threshold, ``None`` for an open end. As AWS requires: no gaps, no
        overlaps, at most one open lower and one open upper bound, and a
        negative lower bound (positive upper bound) needs an open lower (upper)
        end somewhere. Above the threshold a step includes its lower bound,
        below it its upper bound.
    adjustment_type
        ``"ChangeInCapacity"`` adds the adjustment, ``"ExactCapacity"`` sets the
        capacity to it, ``"PercentChangeInCapacity"`` adds that percentage of
        the current capacity, rounded by :func:`aws_round`.
    min_adjustment_magnitude
        With percentages only: the change is at least this many replicas.
    evaluation_periods
        Consecutive observations in breach (on the same side of the threshold)
        before the policy acts; before that it abstains.

    Notes
    -----
    The current capacity is ``obs.replicas`` (the desired count, booting
    replicas included, as AWS counts instances in warm-up). While scaling in,
    AWS also counts the instances still terminating, so an alarm repeated
    during a long drain does not remove more than asked: the policy adds
    ``obs.terminating`` to the current capacity of a scale-in step, and never
    proposes more than ``obs.replicas`` then. ``ExactCapacity`` and scale-out steps ignore it.

    Simple scaling is the one-step case, e.g. ``steps=[(0, None, 2)]``; put it
    in a loop with ``cooldown=300`` for the EC2 simple-scaling cooldown. A
    metric that no step covers is no alarm: the policy abstains.

    Examples
    --------
    The worked example of the AWS user guide:

    >>> from elastic import Observation
    >>> policy = StepScaling("cpu", 50, adjustment_type="PercentChangeInCapacity", steps=[
    ...     (0, 10, 0), (10, 20, 10), (20, None, 30),
    ...     (-10, 0, 0), (-20, -10, -10), (None, -20, -30)])
    >>> replicas = 10
    >>> for cpu in (60, 70, 40, 30):
    ...     replicas = policy.recommend(Observation(0, replicas, {"cpu": cpu})).replicas
    ...     print(cpu, replicas)
    60 11
    70 14
    40 13
    30 10
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [
            {"metric": "cpu", "threshold": 70.0, "steps": [(0, None, 2)]},
            {
                "metric": "cpu",
                "threshold": 50.0,
                "adjustment_type": "PercentChangeInCapacity",
                "steps": [(0, 10, 0), (10, 20, 10), (20, None, 30), (None, 0, -20)],
                "min_adjustment_magnitude": 2,
                "evaluation_periods": 3,
            },
            {
                "metric": "queue",
                "threshold": 100.0,
                "steps": [(0, None, 8), (None, 0, 2)],
                "adjustment_type": "ExactCapacity",
            },
        ]

    def __init__(
        self,
        metric: str,
        threshold: float,
        steps: Sequence[Step],
        *,
        adjustment_type: AdjustmentType = "ChangeInCapacity",
        min_adjustment_magnitude: int | None = None,
        evaluation_periods: int = 1,
    ) -> None:
        self.metric = metric
        self.threshold = threshold
        self.steps = steps
        self.adjustment_type = adjustment_type
        self.min_adjustment_magnitude = min_adjustment_magnitude
        self.evaluation_periods = evaluation_periods
        self.validate()
        self.streak_ = 0
        self.side_: str | None = None
        self.time_: float | None = None

    def search_space(self) -> dict[str, Parameter]:
        """The alarm ``threshold`` (from half to 1.5 times it, at most 100 for cpu or
        memory) and each step's adjustment other than 0 (``steps[i][2]``, from half to
        twice it, keeping its sign); the step bounds stay relative to the threshold.

        Examples
        --------
        >>> space = StepScaling("cpu", 70.0, [(0, 20, 1), (20, None, 3), (None, 0, -1)]).search_space()
        >>> space["threshold"], space["steps[1][2]"], space["steps[2][2]"]
        (Float(low=35.0, high=100.0, log=False), Int(low=1, high=6, log=False), Int(low=-2, high=-1, log=False))
        """  # noqa: E501
        space: dict[str, Parameter] = {}
        threshold = float(self.threshold)
        if threshold > 0:
            cap = 100.0 if self.metric in ("cpu", "memory") else None
            space["threshold"] = around(threshold, cap=cap)
        for i, (_, _, change) in enumerate(self.steps):
            if change:
                space[f"steps[{i}][2]"] = count_range(int(change))
        return space

    def validate(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.metric, str) or not self.metric:
            raise PolicyError("metric", self.metric, "a non-empty metric name", owner=owner)
        check_number(self.threshold, "threshold", owner=owner, error=PolicyError)
        check_choice(
            self.adjustment_type,
            "adjustment_type",
            ("ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"),
            owner=owner,
            error=PolicyError,
        )
        if self.min_adjustment_magnitude is not None:
            if self.adjustment_type != "PercentChangeInCapacity":
                raise PolicyError(
                    "min_adjustment_magnitude",
                    self.min_adjustment_magnitude,
                    "None unless adjustment_type='PercentChangeInCapacity'",
                    owner=owner,
                )
            check_int(
                self.min_adjustment_magnitude,
                "min_adjustment_magnitude",
                owner=owner,
                ge=1,
                error=PolicyError,
            )
        check_int(
            self.evaluation_periods, "evaluation_periods", owner=owner, ge=1, error=PolicyError
        )
        self._steps = _check_steps(self.steps, self.adjustment_type, owner)

    def _match(self, value: float) -> tuple[str, int] | None:
        """The side of the threshold and the adjustment of the step ``value`` falls in."""
        diff = value - float(self.threshold)
        if diff >= 0:
            for lower, upper, adjustment in self._steps:
                if lower <= diff < upper:
                    return "above", adjustment
        if diff <= 0:
            for lower, upper, adjustment in self._steps:
                if lower < diff <= upper:
                    return "below", adjustment
        return None

    def _side(self, obs: Observation) -> str | None:
        value = obs.metric(self.metric)
        match = None if value is None else self._match(value)
        return None if match is None else match[0]

    def _streak(self, obs: Observation) -> int:
        """Consecutive observations in breach on the same side, counting ``obs``."""
        if self.time_ is not None and obs.time <= self.time_:
            return self.streak_
        side = self._side(obs)
        if side is None:
            return 0
        return self.streak_ + 1 if side == self.side_ else 1

    def observe(self, obs: Observation) -> None:
        if self.time_ is not None and obs.time <= self.time_:
            return  # a time seen already teaches nothing (the Policy contract)
        self.streak_ = self._streak(obs)
        self.side_ = self._side(obs)
        self.time_ = obs.time

    def recommend(self, obs: Observation) -> Recommendation:
        value = obs.metric(self.metric)
        if value is None:
            return Recommendation(None, Reason.NO_DATA, f"no value for metric {self.metric!r}")
        match = self._match(value)
        if match is None:
            return Recommendation(None, Reason.NO_BREACH, f"{self.metric}={value:g} is in no step")
        streak = self._streak(obs)
        if streak < self.evaluation_periods:
            return Recommendation(
                None,
                Reason.EVALUATING,
                f"breached for {streak} of {self.evaluation_periods} periods",
            )
        live = current = obs.replicas
        adjustment = match[1]
        terminating = 0
        if adjustment < 0 and self.adjustment_type != "ExactCapacity":
            # AWS: while scaling in, terminating instances are part of the current capacity,
            # so alarms repeated during a long drain do not remove more than asked
            terminating = obs.terminating
            current = live + terminating
        if self.adjustment_type == "ExactCapacity":
            desired = adjustment
        elif self.adjustment_type == "ChangeInCapacity":
            desired = current + adjustment
        else:
            change = aws_round(current * adjustment, 100)
            least = self.min_adjustment_magnitude
            if least is not None and change and abs(change) < least:
                change = least if change > 0 else -least
            desired = current + change
        if terminating > 0:
            desired = min(desired, live)  # a scale-in never brings terminating replicas back
        desired = max(0, desired)
        counted = f" ({live} + {terminating} terminating)" if terminating > 0 else ""
        return Recommendation(
            desired,
            Reason.STEP_ADJUSTMENT,
            f"{self.metric}={value:g} vs threshold {self.threshold:g}: "
            f"{self.adjustment_type} {adjustment:+d}: {current}{counted} -> {desired}",
        )


def _check_steps(
    steps: Sequence[Step], adjustment_type: str, owner: str
) -> list[tuple[float, float, int]]:
    """Validate ``steps`` as AWS does and return them sorted, with infinities for ``None``."""
    if isinstance(steps, str | bytes) or not isinstance(steps, Sequence) or not steps:
        raise PolicyError(
            "steps", steps, "a non-empty list of (lower, upper, adjustment)", owner=owner
        )
    parsed = []
    for i, step in enumerate(steps):
        name = f"steps[{i}]"
        if not isinstance(step, Sequence) or len(step) != 3:
            raise PolicyError(name, step, "a (lower, upper, adjustment) tuple", owner=owner)
        lower, upper, adjustment = step
        lo = (
            -math.inf
            if lower is None
            else check_number(lower, f"{name} lower bound", owner=owner, error=PolicyError)
        )
        hi = (
            math.inf
            if upper is None
            else check_number(upper, f"{name} upper bound", owner=owner, error=PolicyError)
        )
        check_int(
            adjustment,
            f"{name} adjustment",
            owner=owner,
            ge=0 if adjustment_type == "ExactCapacity" else None,
            error=PolicyError,
        )
        if lower is None and upper is None:
            raise PolicyError(name, step, "at most one open (None) bound per step", owner=owner)
        if not lo < hi:
            raise PolicyError(name, step, "a lower bound below the upper bound", owner=owner)
        parsed.append((lo, hi, int(adjustment), i))
    if sum(1 for s in steps if s[0] is None) > 1:
        raise PolicyError("steps", steps, "at most one step with an open lower bound", owner=owner)
    if sum(1 for s in steps if s[1] is None) > 1:
        raise PolicyError("steps", steps, "at most one step with an open upper bound", owner=owner)
    if any(p[0] < 0 for p in parsed if math.isfinite(p[0])) and not any(
        s[0] is None for s in steps
    ):
        raise PolicyError(
            "steps",
            steps,
            "a step with an open lower bound (None), since a lower bound is negative",
            owner=owner,
        )
    if any(p[1] > 0 for p in parsed if math.isfinite(p[1])) and not any(
        s[1] is None for s in steps
    ):
        raise PolicyError(
            "steps",
            steps,
            "a step with an open upper bound (None), since an upper bound is positive",
            owner=owner,
        )
    parsed.sort()
    for below, above in itertools.pairwise(parsed):
        if above[0] != below[1]:
            gap = "a gap" if above[0] > below[1] else "an overlap"
            raise PolicyError(
                f"steps[{above[3]}]",
                steps[above[3]],
                f"a lower bound equal to the upper bound of steps[{below[3]}] "
                f"({below[1]:g}), not {gap}",
                owner=owner,
            )
    return [(lo, hi, adj) for lo, hi, adj, _ in parsed]
