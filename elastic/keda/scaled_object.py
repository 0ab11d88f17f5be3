"""KEDA's ScaledObject: activation, scale to and from zero, fallback, and the HPA for 1..N.

From KEDA's scale handler and scale executor (``pkg/scaling``, 2.18 to
2.20): KEDA polls its triggers every ``polling_interval``; the ScaledObject
is *active* when any trigger is (a metric strictly above its
``activation_threshold``, a cron window open, or a trigger on its
fallback), and, when all its triggers are ``cpu``/``memory``, always. At a
poll: active at zero replicas (or, with ``idle_replica_count``, below
``min_replica_count``), KEDA scales the target to ``max(min_replica_count,
1)``, however large the metric; inactive with replicas and
``min_replica_count`` 0 (or above ``idle_replica_count``), it scales to 0
(or to the idle count) once ``cooldown_period`` has passed since a trigger
was last active (at once if none ever was). A trigger whose metric cannot be
read is a scaler error: not active, and, unless a fallback with
``replicas: 0`` is set, KEDA then leaves the count alone. Between polls and
above zero, the HPA that KEDA creates decides, within
``[max(min_replica_count, 1), max_replica_count]``.

KEDA and the HPA are two controllers. With a
:class:`~elastic.kubernetes.HorizontalPodAutoscaler` as ``hpa`` (given, or
built from the triggers), the ScaledObject runs it as the HPA controller
does, in the HPA's own loop (its behavior, bounds and sync), stepped at each
observation with replicas; KEDA's activation and scaling to zero act on the
target directly, past that loop's stabilization and rate limits. The HPA
reads the triggers' metrics through KEDA: a failed read is a missing metric
to it (its own rule then holds a scale-down), or, on the trigger's
fallback, the value :func:`~elastic.keda.fallback.fallback_value` gives.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic.core.behavior import Behavior
from elastic.core.loop import DecisionLoop
from elastic.core.protocols import Policy
from elastic.core.types import Decision, Observation, Reason, Recommendation
from elastic.core.validate import check_int, check_number
from elastic.errors import PolicyError
from elastic.keda.fallback import Fallback, fallback_value
from elastic.keda.triggers import CronTrigger, PrometheusTrigger, ResourceTrigger, Trigger
from elastic.kubernetes.hpa import HorizontalPodAutoscaler
from elastic.policies.base import BasePolicy

__all__ = ["ScaledObject"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Watched:
    """The one trigger of a ScaledObject built with ``metric=``: read from the observation,
    target unknown (it is the given policy's)."""

    metric: str
    activation_threshold: float

    def read(self, obs: Observation, now: datetime) -> tuple[float | None, str | None]:
        why = obs.missing(self.metric, nonnegative=True)
        return (None, why) if why is not None else (obs.metric(self.metric), None)

    def active(self, value: float) -> bool:
        return value > float(self.activation_threshold)


_External = PrometheusTrigger | CronTrigger | _Watched


class ScaledObject(BasePolicy):
    """A KEDA ScaledObject: its triggers, activation, scaling to and from zero, fallback, and
    the HPA that KEDA creates.

    Parameters
    ----------
    hpa
        The policy for 1..N replicas (KEDA's HPA: an
        :class:`~elastic.kubernetes.HorizontalPodAutoscaler`, run in its own
        loop, or target tracking on the trigger's ``threshold``). ``None``
        with ``triggers``: the HPA KEDA creates, one metric per trigger,
        between ``max(min_replica_count, 1)`` and ``max_replica_count``, with
        ``behavior``.
    metric
        The one trigger's metric in :attr:`Observation.metrics`, for a
        given ``hpa`` (``None`` with ``triggers``).
    activation_threshold
        With ``metric``: active only when the metric is strictly above this
        (KEDA default 0). Each trigger has its own.
    min_replica_count, max_replica_count
        KEDA defaults 0 and 100.
    cooldown_period
        Seconds after a trigger was last active before scaling to zero (300).
    polling_interval
        Seconds between KEDA's polls of the triggers (30); activation and
        scaling to zero happen only at polls.
    triggers
        :class:`~elastic.keda.PrometheusTrigger`,
        :class:`~elastic.keda.ResourceTrigger` and
        :class:`~elastic.keda.CronTrigger` objects (instead of ``metric``).
    idle_replica_count
        KEDA's ``idleReplicaCount``: inactive, scale to this instead of
        ``min_replica_count`` (below ``max(min_replica_count, 1)``).
    fallback
        KEDA's ``fallback`` (:class:`~elastic.keda.Fallback`); needs a
        trigger that is not ``cpu`` or ``memory``.
    behavior
        ``advanced.horizontalPodAutoscalerConfig.behavior``: the behavior of
        the HPA built from the triggers (``hpa=None`` only).
    origin
        The aware datetime at which the observation clock reads 0 (cron
        triggers); ``None`` means the clock is Unix time.
    name, target_ref
        ``metadata.name`` and ``spec.scaleTargetRef``, kept for the manifest.

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

    With triggers, KEDA's HPA is built from them, and a fallback covers a
    trigger that keeps failing:

    >>> from elastic.keda import Fallback, PrometheusTrigger
    >>> keda = ScaledObject(triggers=[PrometheusTrigger("queue", 10.0)], min_replica_count=1,
    ...                     fallback=Fallback(failure_threshold=1, replicas=6))
    >>> [keda.observe(o) or keda.recommend(o).replicas for o in (
    ...     Observation(0.0, 4, {}), Observation(15.0, 4, {}))]   # 1 failure: hold; 2: fallback
    [4, 6]
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
            {
                "triggers": [
                    PrometheusTrigger("queue", 20.0, activation_threshold=5.0),
                    ResourceTrigger("cpu", 70),
                    CronTrigger("0 8 * * *", "0 18 * * *", 3, "Europe/Paris", metric="office"),
                ],
                "max_replica_count": 30,
                "fallback": Fallback(2, 4, "currentReplicasIfHigher"),
                "behavior": Behavior.kubernetes_default(),
            },
        ]

    def __init__(
        self,
        hpa: Policy | None = None,
        metric: str | None = None,
        *,
        activation_threshold: float = 0.0,
        min_replica_count: int = 0,
        max_replica_count: int = 100,
        cooldown_period: float = 300.0,
        polling_interval: float = 30.0,
        triggers: Sequence[Trigger] = (),
        idle_replica_count: int | None = None,
        fallback: Fallback | None = None,
        behavior: Behavior | None = None,
        origin: datetime | None = None,
        name: str = "scaledobject",
        target_ref: Mapping[str, str] | None = None,
    ) -> None:
        self.hpa = hpa
        self.metric = metric
        self.activation_threshold = activation_threshold
        self.min_replica_count = min_replica_count
        self.max_replica_count = max_replica_count
        self.cooldown_period = cooldown_period
        self.polling_interval = polling_interval
        self.triggers = triggers
        self.idle_replica_count = idle_replica_count
        self.fallback = fallback
        self.behavior = behavior
        self.origin = origin
        self.name = name
        self.target_ref = target_ref
        self.validate()
        self.observed_: float | None = None
        self.last_poll_: float | None = None
        self.active_ = False
        self.last_active_: float | None = None
        self.error_: str | None = None
        #: consecutive failed reads of each trigger that is not cpu/memory, in order
        self.failures_: tuple[int, ...] = (0,) * len(self._external)
        # an HPA is a controller of its own: its loop, and its decision at the last observation
        policy = self._policy
        self.hpa_loop_ = policy.loop() if isinstance(policy, HorizontalPodAutoscaler) else None
        self.hpa_decision_: Decision | None = None

    @property
    def sees_warming(self) -> bool:
        """Whether the HPA underneath reads warming replicas itself (the Kubernetes HPA does)."""
        return getattr(self._policy, "sees_warming", False) is True

    def validate(self) -> None:
        owner = type(self).__name__
        self._validate_bounds(owner)
        triggers = self._validate_triggers(owner)
        if self.hpa is not None and not isinstance(self.hpa, Policy):
            raise PolicyError("hpa", self.hpa, "a policy for 1..N replicas, or None", owner=owner)
        if self.behavior is not None:
            if not isinstance(self.behavior, Behavior):
                raise PolicyError("behavior", self.behavior, "None or a Behavior", owner=owner)
            if self.hpa is not None:
                raise PolicyError(
                    "behavior", self.behavior,
                    "None with a given hpa (give the behavior to that policy)", owner=owner,
                )  # fmt: skip
        if self.fallback is not None:
            if not isinstance(self.fallback, Fallback):
                raise PolicyError("fallback", self.fallback, "None or a Fallback", owner=owner)
            if not triggers or all(isinstance(t, ResourceTrigger) for t in triggers):
                raise PolicyError(
                    "fallback", self.fallback,
                    "None unless a trigger is not cpu or memory (KEDA refuses a fallback on "
                    "cpu and memory triggers alone: their metrics do not pass through KEDA)",
                    owner=owner,
                )  # fmt: skip
        if self.origin is not None and (
            not isinstance(self.origin, datetime) or self.origin.tzinfo is None
        ):
            raise PolicyError(
                "origin", self.origin, "None or a datetime with a time zone", owner=owner
            )
        if not isinstance(self.name, str) or not self.name:
            raise PolicyError("name", self.name, "a non-empty name", owner=owner)
        if self.target_ref is not None and not isinstance(self.target_ref, Mapping):
            raise PolicyError("target_ref", self.target_ref, "None or a mapping", owner=owner)
        self._origin = self.origin or _EPOCH
        self._external: tuple[_External, ...] = (
            tuple(t for t in triggers if not isinstance(t, ResourceTrigger))
            if triggers
            else (_Watched(str(self.metric), float(self.activation_threshold)),)
        )
        self._policy: Policy = self.hpa if self.hpa is not None else HorizontalPodAutoscaler(
            [t.hpa_metric() for t in triggers],
            min_replicas=self._floor,
            max_replicas=int(self.max_replica_count),
            behavior=self.behavior,
            name=f"keda-hpa-{self.name}",
        )  # fmt: skip

    def _validate_bounds(self, owner: str) -> None:
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
        if self.idle_replica_count is not None:
            idle = check_int(
                self.idle_replica_count, "idle_replica_count", owner=owner, ge=0,
                error=PolicyError,
            )  # fmt: skip
            if idle >= max(low, 1):
                raise PolicyError(
                    "idle_replica_count", idle,
                    f"below max(min_replica_count, 1) = {max(low, 1)} (KEDA's rule)", owner=owner,
                )  # fmt: skip
        check_number(self.cooldown_period, "cooldown_period", owner=owner, ge=0, error=PolicyError)
        check_number(
            self.polling_interval, "polling_interval", owner=owner, gt=0, error=PolicyError
        )

    def _validate_triggers(self, owner: str) -> tuple[Trigger, ...]:
        if isinstance(self.triggers, str | bytes) or not isinstance(self.triggers, Sequence):
            raise PolicyError("triggers", self.triggers, "a list of triggers", owner=owner)
        triggers = tuple(self.triggers)
        if triggers and self.metric is not None:
            raise PolicyError(
                "metric", self.metric, "None with triggers (each trigger names its metric)",
                owner=owner,
            )  # fmt: skip
        if not triggers:
            if self.metric is None:
                raise PolicyError(
                    "triggers", self.triggers, "at least one trigger, or metric= with hpa=",
                    owner=owner,
                )  # fmt: skip
            if not isinstance(self.metric, str) or not self.metric:
                raise PolicyError("metric", self.metric, "a non-empty metric name", owner=owner)
            if self.hpa is None:
                raise PolicyError(
                    "hpa", None, "a policy for 1..N replicas with metric= (or triggers=)",
                    owner=owner,
                )  # fmt: skip
        metrics: dict[str, int] = {}
        names: dict[str, int] = {}
        for i, trigger in enumerate(triggers):
            if not isinstance(trigger, PrometheusTrigger | ResourceTrigger | CronTrigger):
                raise PolicyError(
                    f"triggers[{i}]", trigger,
                    "a PrometheusTrigger, ResourceTrigger or CronTrigger", owner=owner,
                )  # fmt: skip
            for seen, key, what in ((metrics, trigger.metric, "metric"),
                                    (names, trigger.name, "name")):  # fmt: skip
                if key is None:
                    continue
                if key in seen:
                    raise PolicyError(
                        f"triggers[{i}].{what}", key,
                        f"a {what} of its own (triggers[{seen[key]}] has it too)", owner=owner,
                    )  # fmt: skip
                seen[key] = i
        return triggers

    def loop(self) -> DecisionLoop:
        """A loop that runs the ScaledObject alone (KEDA and its HPA set the bounds)."""
        return DecisionLoop(self, min_replicas=0, max_replicas=int(self.max_replica_count))

    # --- what KEDA reads ----------------------------------------------------------------------

    @property
    def _floor(self) -> int:
        return max(int(self.min_replica_count), 1)

    def _now(self, obs: Observation) -> datetime:
        return self._origin + timedelta(seconds=float(obs.time))

    def _readings(self, obs: Observation) -> list[tuple[float | None, str | None]]:
        """Each trigger's value in ``obs``, or None and why the read failed."""
        now = self._now(obs) if any(isinstance(t, CronTrigger) for t in self._external) else _EPOCH
        return [trigger.read(obs, now) for trigger in self._external]

    def _fallback(self, trigger: _External, obs: Observation, failures: int) -> float | None:
        """The value KEDA reports for ``trigger`` after ``failures`` failed reads in a row, or
        ``None`` while the error stands (no fallback, under its threshold, or it fails)."""
        fallback = self.fallback
        if fallback is None or isinstance(trigger, _Watched) or not fallback.applies(failures):
            return None
        return fallback_value(
            fallback, trigger.target, trigger.metric_type, int(obs.replicas), obs.ready_replicas
        )

    def _view(self, obs: Observation) -> tuple[Observation | None, str]:
        """The observation the HPA gets through KEDA (``None``: a failed read with ``metric=``),
        and what the fallback did, in words."""
        readings = self._readings(obs)
        if not self.triggers:
            return (obs if readings[0][1] is None else None), ""
        metrics = dict(obs.metrics)
        notes = []
        for trigger, (value, why), failures in zip(
            self._external, readings, self.failures_, strict=True
        ):
            assert not isinstance(trigger, _Watched)
            if why is None:
                assert value is not None
                metrics[trigger.metric] = value
                continue
            reported = self._fallback(trigger, obs, failures)
            if reported is None:
                metrics.pop(trigger.metric, None)
            else:
                metrics[trigger.metric] = reported
                notes.append(
                    f"fallback: {trigger.metric} failed {failures} reads in a row ({why}), "
                    f"reported as {reported:g}"
                )
        return replace(obs, metrics=metrics), "; ".join(notes)

    def _activity(self, obs: Observation) -> tuple[bool, str | None]:
        """Whether the ScaledObject is active at ``obs``, and the first scaler error (a failed
        read that no fallback covers)."""
        active, error = False, None
        readings = self._readings(obs)
        for trigger, (value, why), failures in zip(
            self._external, readings, self.failures_, strict=True
        ):
            if why is None:
                assert value is not None
                active = active or trigger.active(value)
            elif self._fallback(trigger, obs, failures) is not None:
                active = True  # a trigger on its fallback is active (KEDA's isActiveOrFallback)
            elif error is None:
                error = f"{trigger.metric}: {why}"
        if not self._external and error is None:
            active = True  # cpu/memory triggers alone: KEDA never deactivates
        return active, error

    # --- learning -----------------------------------------------------------------------------

    def observe(self, obs: Observation) -> None:
        now = float(obs.time)
        if self.observed_ is not None and now <= self.observed_:
            return  # a time seen already (a retried step) is not a second read
        self.observed_ = now
        self.failures_ = tuple(
            0 if why is None else failures + 1
            for (_, why), failures in zip(self._readings(obs), self.failures_, strict=True)
        )
        if self.last_poll_ is None or now - self.last_poll_ >= float(self.polling_interval):
            self.active_, self.error_ = self._activity(obs)
            self.last_poll_ = now
            # KEDA records the last active time when it activates the target, or when all
            # triggers answered; an active poll with a scaler error leaves it
            if self.active_ and (self._activates(obs) or self.error_ is None):
                self.last_active_ = now
        # at zero the HPA is not running (ScalingDisabled); with metric= it cannot read a
        # broken metric; with triggers it reads what KEDA serves, failures included
        view = self._view(obs)[0]
        if obs.replicas >= 1 and view is not None:
            if self.hpa_loop_ is None:
                self._policy.observe(view)
            elif self.hpa_decision_ is None or now > self.hpa_decision_.time:
                self.hpa_decision_ = self.hpa_loop_.step(view)

    # --- deciding -----------------------------------------------------------------------------

    def _activates(self, obs: Observation) -> bool:
        """Whether an active poll at ``obs`` scales the target up to its floor (KEDA's
        ``scaleFromZeroOrIdle``)."""
        current, idle = int(obs.replicas), self.idle_replica_count
        return current == 0 or (idle is not None and current < int(self.min_replica_count))

    def _keda(self, obs: Observation) -> Recommendation | None:
        """What KEDA's scale executor does at a poll, or ``None`` where it leaves the count to
        the HPA."""
        current, idle, low = int(obs.replicas), self.idle_replica_count, int(self.min_replica_count)
        if self.active_:
            if self._activates(obs):
                return Recommendation(
                    self._floor, Reason.TARGET_TRACKING,
                    f"activated: a trigger is active; scaling from {current} to {self._floor}",
                )  # fmt: skip
            return None
        fallback = self.fallback
        if self.error_ is not None and (fallback is None or fallback.replicas != 0):
            return None  # a scaler error: KEDA does not scale in on it
        if (idle is not None and current > idle) or (current > 0 and low == 0):
            last = self.last_active_
            if last is None or last + float(self.cooldown_period) < float(obs.time):
                to = low if idle is None else idle
                return Recommendation(
                    to, Reason.TARGET_TRACKING,
                    f"triggers inactive for over {self.cooldown_period:g} s: scaling to "
                    f"{'idleReplicaCount' if idle is not None else 'minReplicaCount'} {to}",
                )  # fmt: skip
            return None
        if idle is None and current < low:
            return Recommendation(
                low, Reason.TOO_FEW, f"below minReplicaCount {low}: scaling to it"
            )
        return None

    def _hpa(self, obs: Observation) -> Recommendation:
        """What the HPA underneath wants at ``obs``, without changing anything."""
        if self.hpa_loop_ is None:
            return self._policy.recommend(obs)
        decision = self.hpa_decision_
        if decision is None or decision.time != obs.time or decision.current != obs.replicas:
            decision = copy.deepcopy(self.hpa_loop_).step(obs)  # not observed: a trial step
        return Recommendation(decision.replicas, decision.reason, decision.stages[0].detail)

    def recommend(self, obs: Observation) -> Recommendation:
        current = int(obs.replicas)
        if self.last_poll_ is not None and self.last_poll_ == float(obs.time):
            decided = self._keda(obs)
            if decided is not None:
                return decided
        if current == 0:
            if self.error_ is not None:
                return Recommendation(None, Reason.NO_DATA, f"trigger error: {self.error_}")
            return Recommendation(0, Reason.HOLD, "triggers not active; the HPA does not run at 0")
        view, fell_back = self._view(obs)
        if view is None:
            why = self._readings(obs)[0][1]
            return Recommendation(None, Reason.NO_DATA, f"trigger error: {why}; holding")
        rec = self._hpa(view)
        wanted = current if rec.replicas is None else rec.replicas
        replicas = min(max(wanted, self._floor), int(self.max_replica_count))
        reason = rec.reason if replicas == wanted else (
            Reason.TOO_FEW if replicas > wanted else Reason.TOO_MANY
        )  # fmt: skip
        detail = f"HPA: {rec.detail}" + (f"; {fell_back}" if fell_back else "")
        return Recommendation(replicas, reason, detail)

    # --- manifests ----------------------------------------------------------------------------

    @classmethod
    def from_manifest(
        cls, doc: Mapping[str, Any] | str, *, origin: datetime | None = None
    ) -> ScaledObject:
        """Build from a ``keda.sh/v1alpha1`` ScaledObject (a dict or YAML text).

        Every problem is a :class:`~elastic.errors.ManifestError` naming the
        field, its value and what was expected.

        Examples
        --------
        >>> keda = ScaledObject.from_manifest('''
        ... apiVersion: keda.sh/v1alpha1
        ... kind: ScaledObject
        ... metadata: {name: worker}
        ... spec:
        ...   scaleTargetRef: {name: worker}
        ...   maxReplicaCount: 20
        ...   fallback: {failureThreshold: 3, replicas: 5}
        ...   triggers:
        ...   - type: prometheus
        ...     name: queue
        ...     metadata:
        ...       serverAddress: http://prometheus:9090
        ...       query: sum(queue_messages)
        ...       threshold: "10"
        ... ''')
        >>> keda.triggers[0].metric, keda.triggers[0].threshold, keda.fallback.replicas
        ('queue', 10.0, 5)
        """
        from elastic.keda.manifest import scaledobject_from_manifest

        return scaledobject_from_manifest(doc, origin=origin)

    def to_manifest(self) -> dict[str, Any]:
        """The ``keda.sh/v1alpha1`` manifest (a dict; ``yaml.safe_dump`` it to write).

        Only a ScaledObject with ``triggers`` and the HPA built from them
        (``hpa=None``) has one; others raise a :class:`~elastic.errors.PolicyError`.
        """
        from elastic.keda.manifest import scaledobject_to_manifest

        return scaledobject_to_manifest(self)
