"""Scheduled scaling: actions at given times that set the bounds or the capacity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic.core.types import Observation, Reason, Recommendation
from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError, PolicyError
from elastic.policies.base import BasePolicy
from elastic.policies.cron import Cron, time_zone

__all__ = ["Scheduled", "ScheduledAction"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ScheduledAction:
    """One scheduled action: at a time, or on a cron schedule, set min, max and/or desired.

    Parameters
    ----------
    at
        Seconds on the observation clock (one-off action).
    cron
        A five-field cron expression (recurring action); see :class:`~elastic.policies.Cron`.
    timezone
        IANA time zone of the cron expression.
    min_replicas, max_replicas
        New bounds, kept until another action changes them.
    desired
        A capacity to set once, when the action fires; policies may change it after.
    start, end
        Seconds on the observation clock outside which a cron action does not fire.
    name
        A label for people.
    """

    at: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    min_replicas: int | None = None
    max_replicas: int | None = None
    desired: int | None = None
    start: float | None = None
    end: float | None = None
    name: str | None = None


class Scheduled(BasePolicy):
    """Run scheduled actions, as EC2 Auto Scaling and Application Auto Scaling do.

    At any time the bounds are those set by the latest action that set them
    (they persist, like a group's min and max); the loop applies them in its
    bounds stage, so raising the minimum scales out at once and lowering the
    maximum scales in. ``desired`` is set once: the policy recommends it at the
    first step at or after the action's time, and abstains otherwise.

    Parameters
    ----------
    actions
        :class:`ScheduledAction` objects.
    origin
        The aware datetime at which the observation clock reads 0; ``None``
        means the clock is Unix time. Cron schedules are resolved against it.

    Examples
    --------
    >>> from elastic import Observation
    >>> policy = Scheduled([ScheduledAction(at=3600, min_replicas=5, desired=8),
    ...                     ScheduledAction(at=7200, min_replicas=1)])
    >>> policy.recommend(Observation(time=3600, replicas=2)).replicas
    8
    >>> rec = policy.recommend(Observation(time=5000, replicas=8))
    >>> rec.replicas, rec.min_replicas
    (None, 5)
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        return [
            {
                "actions": [
                    ScheduledAction(at=100.0, min_replicas=3, desired=5),
                    ScheduledAction(at=400.0, min_replicas=1, max_replicas=10),
                ]
            },
            {
                "actions": [
                    ScheduledAction(
                        cron="*/5 * * * *",
                        timezone="America/New_York",
                        min_replicas=2,
                        max_replicas=12,
                    )
                ],
                "origin": datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
            },
        ]

    def __init__(
        self, actions: Sequence[ScheduledAction], *, origin: datetime | None = None
    ) -> None:
        self.actions = actions
        self.origin = origin
        self.validate()
        self.time_: float | None = None
        self.previous_time_: float | None = None

    def validate(self) -> None:
        owner = type(self).__name__
        if isinstance(self.actions, str | bytes) or not isinstance(self.actions, Sequence):
            raise PolicyError("actions", self.actions, "a list of ScheduledAction", owner=owner)
        if self.origin is not None and (
            not isinstance(self.origin, datetime) or self.origin.tzinfo is None
        ):
            raise PolicyError(
                "origin", self.origin, "None or a datetime with a time zone", owner=owner
            )
        self._origin = self.origin or _EPOCH
        self._crons: list[Cron | None] = []
        seen: dict[float, int] = {}
        for i, action in enumerate(self.actions):
            name = f"actions[{i}]"
            if not isinstance(action, ScheduledAction):
                raise PolicyError(name, action, "a ScheduledAction", owner=owner)
            if (action.at is None) == (action.cron is None):
                raise PolicyError(name, action, "exactly one of at= and cron=", owner=owner)
            if action.at is not None:
                at = check_number(action.at, f"{name}.at", owner=owner, error=PolicyError)
                if at in seen:
                    raise PolicyError(
                        f"{name}.at",
                        action.at,
                        f"a time no other action has (actions[{seen[at]}])",
                        owner=owner,
                    )
                seen[at] = i
                self._crons.append(None)
                time_zone(action.timezone, f"{name}.timezone", owner=owner, error=PolicyError)
            else:
                try:
                    self._crons.append(Cron(str(action.cron), action.timezone))
                except ParameterError as error:
                    raise PolicyError(
                        f"{name}.{error.name}", error.value, error.expected, owner=owner
                    ) from None
            fields = ("min_replicas", "max_replicas", "desired")
            if all(getattr(action, f) is None for f in fields):
                raise PolicyError(
                    name, action, "at least one of min_replicas, max_replicas, desired", owner=owner
                )
            for field in fields:
                if getattr(action, field) is not None:
                    check_int(
                        getattr(action, field),
                        f"{name}.{field}",
                        owner=owner,
                        ge=0,
                        error=PolicyError,
                    )
            if (
                action.min_replicas is not None
                and action.max_replicas is not None
                and action.min_replicas > action.max_replicas
            ):
                raise PolicyError(
                    f"{name}.min_replicas",
                    action.min_replicas,
                    f"at most max_replicas ({action.max_replicas})",
                    owner=owner,
                )
            for field in ("start", "end"):
                if getattr(action, field) is not None:
                    check_number(
                        getattr(action, field), f"{name}.{field}", owner=owner, error=PolicyError
                    )
            if action.start is not None and action.end is not None and action.end <= action.start:
                raise PolicyError(
                    f"{name}.end", action.end, f"a time after start ({action.start})", owner=owner
                )

    def _latest(self, i: int, t: float) -> float | None:
        """When action ``i`` last fired at or before ``t`` (observation clock)."""
        action = self.actions[i]
        cron = self._crons[i]
        if cron is None:
            assert action.at is not None
            return float(action.at) if action.at <= t else None
        if action.end is not None:
            t = min(t, float(action.end))
        fired = cron.latest(self._origin + timedelta(seconds=t))
        if fired is None:
            return None
        seconds = (fired - self._origin).total_seconds()
        if action.start is not None and seconds < action.start:
            return None
        return seconds

    def observe(self, obs: Observation) -> None:
        if self.time_ is None or obs.time > self.time_:
            self.previous_time_ = self.time_
            self.time_ = obs.time

    def recommend(self, obs: Observation) -> Recommendation:
        t = float(obs.time)
        since = self.time_ if self.time_ is not None and self.time_ < t else self.previous_time_
        best: dict[str, tuple[float, int]] = {}
        for i, action in enumerate(self.actions):
            fired = self._latest(i, t)
            if fired is None:
                continue
            for field in ("min_replicas", "max_replicas", "desired"):
                if getattr(action, field) is not None and (
                    field not in best or fired >= best[field][0]
                ):
                    best[field] = (fired, getattr(action, field))
        low = best["min_replicas"][1] if "min_replicas" in best else None
        high = best["max_replicas"][1] if "max_replicas" in best else None
        desired = None
        if "desired" in best:
            fired = best["desired"][0]
            if (fired > since) if since is not None else (fired == t):
                desired = best["desired"][1]
        detail = ", ".join(
            f"{field}={value} (set at {fired:g} s)" for field, (fired, value) in best.items()
        )
        return Recommendation(
            desired,
            Reason.SCHEDULED,
            detail or "no action has fired yet",
            min_replicas=low,
            max_replicas=high,
        )
