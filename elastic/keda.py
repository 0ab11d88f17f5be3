"""KEDA's ScaledObject: activation, scale to and from zero, and the HPA underneath for 1..N.

From KEDA's documentation (the ScaledObject spec) and scale executor: KEDA polls
its trigger every ``polling_interval``; the trigger is *active* only when
the metric is strictly above ``activation_threshold``. At zero replicas an
active trigger scales the target to ``max(min_replica_count, 1)``, however
large the metric. With replicas, an HPA (the policy given) decides between
``max(min_replica_count, 1)`` and ``max_replica_count``; when the trigger
is inactive and ``min_replica_count`` is 0, KEDA scales to zero once
``cooldown_period`` has passed since the trigger was last active (at once
if it never was). A trigger whose metric cannot be read (missing, or not a
finite number >= 0) is a scaler error: not active, and, as KEDA without a
``fallback``, never a reason to scale to zero; the HPA underneath, which
reads the same metric, holds.

KEDA and the HPA are two controllers. With a
:class:`~elastic.kubernetes.HorizontalPodAutoscaler` as ``hpa``, the
ScaledObject runs it as the HPA controller does, in the HPA's own loop
(:meth:`~elastic.kubernetes.HorizontalPodAutoscaler.loop`: its behavior,
bounds and sync), stepped at each observation with replicas; KEDA's
activation and scaling to zero act on the target directly, past that loop's
stabilization and rate limits.
"""

from __future__ import annotations

import copy
from typing import Any

from elastic.core.loop import DecisionLoop
from elastic.core.protocols import Policy
from elastic.core.types import Decision, Observation, Reason, Recommendation
from elastic.core.validate import check_int, check_number
from elastic.errors import PolicyError
from elastic.kubernetes.hpa import HorizontalPodAutoscaler
from elastic.policies.base import BasePolicy

__all__ = ["ScaledObject"]


class ScaledObject(BasePolicy):
    """A KEDA ScaledObject with one trigger on ``metric``, wrapping the HPA that KEDA creates.

    Parameters
    ----------
    hpa
        The policy for 1..N replicas (KEDA's HPA: an
        :class:`~elastic.kubernetes.HorizontalPodAutoscaler`, run in its own
        loop, or target tracking on the trigger's ``threshold``).
    metric
        The trigger's metric in :attr:`Observation.metrics`.
    activation_threshold
        Active only when the metric is strictly above this (KEDA default 0).
    min_replica_count, max_replica_count
        KEDA defaults 0 and 100.
    cooldown_period
        Seconds after the trigger was last active before scaling to zero (300).
    polling_interval
        Seconds between KEDA's polls of the trigger (30); activation and
        scaling to zero happen only at polls.

    Examples
    --------
    >>> from elastic import Observation
    >>> from elastic.policies import TargetTracking
    >>> keda = ScaledObject(TargetTracking("queue", 10.0, kind="value"), "queue",
    ...                     activation_threshold=50.0)
    >>> obs = Observation(0.0, 0, {"queue": 40.0})  # 4 replicas by the HPA's math, but inactive
    >>> keda.observe(obs); keda.recommend(obs).replicas
    0
    >>> obs = Observation(30.0, 0, {"queue": 400.0})  # active: activation goes to 1, not 40
    >>> keda.observe(obs); keda.recommend(obs).replicas
    1
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        from elastic.policies.target_tracking import TargetTracking

        return [
            {"hpa": TargetTracking("rps", 100.0, kind="value"), "metric": "rps"},
            {
                "hpa": TargetTracking("queue", 20.0, kind="value"),
                "metric": "queue",
                "activation_threshold": 5.0,
                "min_replica_count": 1,
                "max_replica_count": 10,
                "cooldown_period": 60.0,
                "polling_interval": 15.0,
            },
        ]

    def __init__(
        self,
        hpa: Policy,
        metric: str,
        *,
        activation_threshold: float = 0.0,
        min_replica_count: int = 0,
        max_replica_count: int = 100,
        cooldown_period: float = 300.0,
        polling_interval: float = 30.0,
    ) -> None:
        self.hpa = hpa
        self.metric = metric
        self.activation_threshold = activation_threshold
        self.min_replica_count = min_replica_count
        self.max_replica_count = max_replica_count
        self.cooldown_period = cooldown_period
        self.polling_interval = polling_interval
        self.validate()
        self.last_poll_: float | None = None
        self.active_ = False
        self.last_active_: float | None = None
        self.error_: str | None = None
        # an HPA is a controller of its own: its loop, and its decision at the last observation
        self.hpa_loop_ = self.hpa.loop() if isinstance(self.hpa, HorizontalPodAutoscaler) else None
        self.hpa_decision_: Decision | None = None

    @property
    def sees_warming(self) -> bool:
        """Whether the HPA underneath reads warming replicas itself (the Kubernetes HPA does)."""
        return getattr(self.hpa, "sees_warming", False) is True

    def validate(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.hpa, Policy):
            raise PolicyError("hpa", self.hpa, "a policy for 1..N replicas", owner=owner)
        if not isinstance(self.metric, str) or not self.metric:
            raise PolicyError("metric", self.metric, "a non-empty metric name", owner=owner)
        check_number(
            self.activation_threshold, "activation_threshold", owner=owner, error=PolicyError
        )
        low = check_int(
            self.min_replica_count, "min_replica_count", owner=owner, ge=0, error=PolicyError
        )
        high = check_int(
            self.max_replica_count, "max_replica_count", owner=owner, ge=1, error=PolicyError
        )
        if low > high:
            raise PolicyError(
                "min_replica_count", low, f"at most max_replica_count ({high})", owner=owner
            )
        check_number(self.cooldown_period, "cooldown_period", owner=owner, ge=0, error=PolicyError)
        check_number(
            self.polling_interval, "polling_interval", owner=owner, gt=0, error=PolicyError
        )

    def loop(self) -> DecisionLoop:
        """A loop that runs the ScaledObject alone (KEDA and its HPA set the bounds)."""
        return DecisionLoop(self, min_replicas=0, max_replicas=int(self.max_replica_count))

    @property
    def _floor(self) -> int:
        return max(int(self.min_replica_count), 1)

    def _unreadable(self, obs: Observation) -> str | None:
        """Why the trigger's metric cannot be read in ``obs``, or None if it can."""
        return obs.missing(self.metric, nonnegative=True)

    def observe(self, obs: Observation) -> None:
        now = float(obs.time)
        if self.last_poll_ is None or now - self.last_poll_ >= float(self.polling_interval):
            self.error_ = self._unreadable(obs)
            value = obs.metric(self.metric)
            self.active_ = self.error_ is None and value is not None and (
                value > float(self.activation_threshold)
            )  # fmt: skip
            self.last_poll_ = now
            if self.active_:
                self.last_active_ = now
        # at zero the HPA is not running (ScalingDisabled); it cannot read a broken metric
        if obs.replicas >= 1 and self._unreadable(obs) is None:
            if self.hpa_loop_ is None:
                self.hpa.observe(obs)
            elif self.hpa_decision_ is None or now > self.hpa_decision_.time:
                self.hpa_decision_ = self.hpa_loop_.step(obs)

    def _hpa(self, obs: Observation) -> Recommendation:
        """What the HPA underneath wants at ``obs``, without changing anything."""
        if self.hpa_loop_ is None:
            return self.hpa.recommend(obs)
        decision = self.hpa_decision_
        if decision is None or decision.time != obs.time or decision.current != obs.replicas:
            decision = copy.deepcopy(self.hpa_loop_).step(obs)  # not observed: a trial step
        return Recommendation(decision.replicas, decision.reason, decision.stages[0].detail)

    def recommend(self, obs: Observation) -> Recommendation:
        current = int(obs.replicas)
        polled = self.last_poll_ is not None and self.last_poll_ == float(obs.time)
        if current == 0:
            if polled and self.active_:
                return Recommendation(
                    self._floor,
                    Reason.TARGET_TRACKING,
                    f"activated: {self.metric} above {self.activation_threshold:g}; "
                    f"scaling from zero to {self._floor}",
                )
            if self.error_ is not None:
                return Recommendation(None, Reason.NO_DATA, f"trigger error: {self.error_}")
            return Recommendation(
                int(self.min_replica_count), Reason.HOLD, f"{self.metric} trigger not active"
            )
        unreadable = self._unreadable(obs)
        if unreadable is not None:
            return Recommendation(None, Reason.NO_DATA, f"trigger error: {unreadable}; holding")
        if polled and not self.active_ and self.min_replica_count == 0:
            last = self.last_active_
            if last is None or last + float(self.cooldown_period) < float(obs.time):
                return Recommendation(
                    0,
                    Reason.TARGET_TRACKING,
                    f"{self.metric} trigger inactive for over {self.cooldown_period:g} s: "
                    "scaling to zero",
                )
        rec = self._hpa(obs)
        wanted = current if rec.replicas is None else rec.replicas
        replicas = min(max(wanted, self._floor), int(self.max_replica_count))
        reason = rec.reason if replicas == wanted else (
            Reason.TOO_FEW if replicas > wanted else Reason.TOO_MANY
        )  # fmt: skip
        return Recommendation(replicas, reason, f"HPA: {rec.detail}")
