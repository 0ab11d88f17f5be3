"""Target tracking: keep a metric at a target by proportional scaling."""

from __future__ import annotations

import math
from typing import Any, Literal

from elastic.core.counts import Tolerance, ratio_replicas
from elastic.core.space import Choice, Float, Parameter, around
from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_choice, check_number
from elastic.errors import PolicyError
from elastic.policies.base import BasePolicy

__all__ = ["TargetTracking"]

Kind = Literal["utilization", "average_value", "value"]


class TargetTracking(BasePolicy):
    """Scale so that ``metric`` comes back to ``target``.

    For a per-replica metric (``kind="utilization"`` or ``"average_value"``)
    the wanted count is ``ceil(measured * value / target)`` (below); for a total over
    all replicas (``kind="value"``, e.g. requests per second of the whole
    service) it is ``ceil(value / target)``, ``target`` being what one
    replica should carry. Rounding up is the conservative rounding of AWS and
    the HPA: up when adding, fewer removed when removing.

    A per-replica metric is an average over the replicas it was measured on:
    the ready ones that are not warming up (:attr:`Observation.metrics`).
    Replicas still booting or warming are capacity on its way, so the wanted
    count is ``ceil(measured * value / target)`` for the ``measured``
    replicas, and:

    - on a metric above target, the replicas on their way count toward it
      (never fewer than the current count): AWS counts instances in warm-up
      toward the desired capacity and leaves them out of the metric, and the
      HPA counts unready pods at 0 % when scaling up (4 replicas, 2 ready at
      twice the target: 4, not 8);
    - on a metric below target, only the measured replicas are judged idle;
      the replicas on their way are kept;
    - with none measured yet, the policy holds (``Reason.WARMUP``).

    With ``ready`` unknown (``None``) every replica that is not warming is
    taken as measured.

    Parameters
    ----------
    metric
        Name of the metric in :attr:`Observation.metrics`.
    target
        The value to hold the metric at (per replica), > 0.
    kind
        ``"utilization"``, ``"average_value"`` or ``"value"``.
    tolerance
        No change while ``1 - tolerance <= per-replica value / target <= 1 +
        tolerance`` (the HPA's 10 % band by default, tested as the HPA tests
        it: :class:`~elastic.core.counts.Tolerance`).
    scale_in_margin
        Scale in only when the metric is at least this fraction below target
        (AWS scales in only when the metric is clearly below target; 0.1 means
        10 % below). In between the policy holds the current count.
    disable_scale_in
        Never scale in; where the policy would, it abstains so that another
        policy may (AWS ``DisableScaleIn``).

    Examples
    --------
    >>> from elastic import Observation
    >>> tt = TargetTracking("cpu", 50.0)
    >>> tt.recommend(Observation(time=0, replicas=4, metrics={"cpu": 80.0})).replicas
    7
    >>> tt.recommend(Observation(time=0, replicas=4, metrics={"cpu": 53.0})).reason
    <Reason.WITHIN_TOLERANCE: 'within_tolerance'>
    >>> tt.recommend(Observation(time=0, replicas=4, metrics={"cpu": 100.0}, ready=2)).replicas
    4
    >>> rps = TargetTracking("rps", 100.0, kind="value")
    >>> rps.recommend(Observation(time=0, replicas=2, metrics={"rps": 950.0})).replicas
    10
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [
            {"metric": "cpu", "target": 60.0},
            {"metric": "rps", "target": 100.0, "kind": "value", "scale_in_margin": 0.1},
            {"metric": "cpu", "target": 0.5, "tolerance": 0.0, "disable_scale_in": True},
        ]

    def __init__(
        self,
        metric: str,
        target: float,
        *,
        kind: Kind = "utilization",
        tolerance: float = 0.1,
        scale_in_margin: float = 0.0,
        disable_scale_in: bool = False,
    ) -> None:
        self.metric = metric
        self.target = target
        self.kind = kind
        self.tolerance = tolerance
        self.scale_in_margin = scale_in_margin
        self.disable_scale_in = disable_scale_in
        self.validate()

    def search_space(self) -> dict[str, Parameter]:
        """``target`` from half to 1.5 times its value (at most 100 % for a utilization),
        or half to twice on a log scale for other metrics (requests per replica); the
        tolerance band when it has one; whether to scale in at all and, when it does,
        how far below target (``scale_in_margin``, a conditional parameter).

        Examples
        --------
        >>> TargetTracking("cpu", 60.0).search_space()["target"]
        Float(low=30.0, high=90.0, log=False)
        >>> TargetTracking("rps", 100.0, kind="value").search_space()["target"]
        Float(low=50.0, high=200.0, log=True)
        >>> TargetTracking("cpu", 60.0).search_space()["scale_in_margin"]
        Float(low=0.0, high=0.3, log=False, when={'disable_scale_in': (False,)})
        """
        value = float(self.target)
        if self.kind == "utilization":
            target = around(value, cap=100.0 if value > 1.0 else 1.0)
        else:
            target = around(value, log=True)
        space: dict[str, Parameter] = {"target": target}
        if self.tolerance > 0:
            space["tolerance"] = Float(0.0, max(0.2, 2.0 * float(self.tolerance)))
        space["disable_scale_in"] = Choice((False, True))
        space["scale_in_margin"] = Float(
            0.0, min(0.9, max(0.3, 2.0 * float(self.scale_in_margin))),
            when={"disable_scale_in": (False,)},
        )  # fmt: skip
        return space

    def validate(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.metric, str) or not self.metric:
            raise PolicyError("metric", self.metric, "a non-empty metric name", owner=owner)
        check_number(self.target, "target", owner=owner, gt=0, error=PolicyError)
        check_choice(
            self.kind,
            "kind",
            ("utilization", "average_value", "value"),
            owner=owner,
            error=PolicyError,
        )
        check_number(self.tolerance, "tolerance", owner=owner, ge=0, error=PolicyError)
        margin = check_number(
            self.scale_in_margin, "scale_in_margin", owner=owner, ge=0, error=PolicyError
        )
        if margin >= 1:
            raise PolicyError(
                "scale_in_margin", self.scale_in_margin, "a fraction < 1", owner=owner
            )
        if not isinstance(self.disable_scale_in, bool):
            raise PolicyError(
                "disable_scale_in", self.disable_scale_in, "True or False", owner=owner
            )
        self._band = Tolerance(float(self.tolerance), float(self.tolerance))

    def recommend(self, obs: Observation) -> Recommendation:
        value = obs.metric(self.metric, nonnegative=True)
        if value is None:
            why = obs.missing(self.metric, nonnegative=True)
            return Recommendation(None, Reason.NO_DATA, f"{why}: taken as missing")
        current = obs.replicas
        target = float(self.target)
        if self.kind == "value":
            wanted = value / target
            ratio = wanted / current if current else (math.inf if value > 0 else 1.0)
        else:
            ratio = value / target
            measured = min(current, max(obs.ready_replicas - obs.warming, 0))
            if not measured and current:
                return Recommendation(
                    current,
                    Reason.WARMUP,
                    f"no replica measured yet ({current} on their way): hold",
                )
            wanted = measured * ratio
        proportional = ratio_replicas(ratio, wanted, self._band)
        if proportional is None:
            return Recommendation(
                current,
                Reason.WITHIN_TOLERANCE,
                f"{self.metric} at {ratio:.3f} of target, inside the ±{self.tolerance:g} band",
            )
        desired = proportional
        if self.kind != "value":
            on_the_way = current - measured
            # above target they count toward the wanted capacity; below, they are kept
            desired = max(desired, current) if ratio > 1.0 else desired + on_the_way
        if desired < current:
            if self.disable_scale_in:
                return Recommendation(
                    None, Reason.SCALE_IN_DISABLED, f"would scale in to {desired}; disabled"
                )
            if ratio > 1.0 - self.scale_in_margin:
                return Recommendation(
                    current,
                    Reason.SCALE_IN_MARGIN,
                    f"{self.metric} at {ratio:.3f} of target; scale-in needs "
                    f"<= {1.0 - self.scale_in_margin:.3f}",
                )
        return Recommendation(
            desired,
            Reason.TARGET_TRACKING,
            f"{self.metric}={value:g} against target {target:g}: {current} -> {desired}",
        )
