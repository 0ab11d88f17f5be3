"""Policies made of policies: the largest, the smallest, or a fallback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elastic.core.protocols import Policy
from elastic.core.stages import imposed_bounds
from elastic.core.types import Observation, Reason, Recommendation
from elastic.errors import PolicyError
from elastic.policies.base import BasePolicy

__all__ = ["Fallback", "MaxOf", "MinOf"]


class _Group(BasePolicy):
    def _pick(self, wanted: list[int]) -> int:
        raise NotImplementedError

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = policies
        self.validate()

    def validate(self) -> None:
        owner = type(self).__name__
        if (
            isinstance(self.policies, Policy)
            or not isinstance(self.policies, Sequence)
            or (not self.policies)
        ):
            raise PolicyError(
                "policies", self.policies, "a non-empty list of policies", owner=owner
            )
        for i, policy in enumerate(self.policies):
            if not isinstance(policy, Policy):
                raise PolicyError(
                    f"policies[{i}]",
                    policy,
                    "an object with observe() and recommend()",
                    owner=owner,
                )

    def observe(self, obs: Observation) -> None:
        for policy in self.policies:
            policy.observe(obs)

    def recommend(self, obs: Observation) -> Recommendation:
        recs = [policy.recommend(obs) for policy in self.policies]
        low, high = imposed_bounds(recs)
        wanted = [r.replicas for r in recs if r.replicas is not None]
        if not wanted:
            reason = (
                Reason.NO_DATA
                if any(r.reason is Reason.NO_DATA for r in recs)
                else (recs[0].reason)
            )
            return Recommendation(
                None,
                reason,
                "; ".join(r.detail for r in recs if r.detail),
                min_replicas=low,
                max_replicas=high,
            )
        replicas = self._pick(wanted)
        chosen = next(r for r in recs if r.replicas == replicas)
        return Recommendation(
            replicas,
            chosen.reason,
            f"{type(self).__name__} {wanted}: {chosen.reason.value}: {chosen.detail}",
            min_replicas=low,
            max_replicas=high,
        )


class MaxOf(_Group):
    """The largest recommendation of several policies (those that abstain are left out).

    Examples
    --------
    >>> from elastic import Observation
    >>> from elastic.policies import TargetTracking
    >>> both = MaxOf([TargetTracking("cpu", 50.0), TargetTracking("rps", 100.0, kind="value")])
    >>> both.recommend(Observation(0, 4, {"cpu": 60.0, "rps": 700.0})).replicas
    7
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        from elastic.policies.step import StepScaling
        from elastic.policies.target_tracking import TargetTracking

        return [
            {
                "policies": [
                    TargetTracking("cpu", 60.0),
                    StepScaling("cpu", 90.0, steps=[(0, None, 3)]),
                ]
            }
        ]

    def _pick(self, wanted: list[int]) -> int:
        return max(wanted)


class MinOf(_Group):
    """The smallest recommendation of several policies (those that abstain are left out).

    Examples
    --------
    >>> from elastic import Observation
    >>> from elastic.policies import TargetTracking
    >>> both = MinOf([TargetTracking("cpu", 50.0), TargetTracking("rps", 100.0, kind="value")])
    >>> both.recommend(Observation(0, 4, {"cpu": 60.0, "rps": 700.0})).replicas
    5
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        from elastic.policies.target_tracking import TargetTracking

        return [
            {"policies": [TargetTracking("cpu", 60.0), TargetTracking("rps", 50.0, kind="value")]}
        ]

    def _pick(self, wanted: list[int]) -> int:
        return min(wanted)


class Fallback(BasePolicy):
    """Use ``primary``; where it abstains or fails, use ``fallback`` instead.

    An exception from the primary's ``observe`` or ``recommend`` is not
    raised: the fallback decides, with ``Reason.FALLBACK`` and the error in
    the detail, until the primary observes successfully again.

    Examples
    --------
    >>> from elastic import Observation
    >>> from elastic.policies import TargetTracking
    >>> policy = Fallback(TargetTracking("latency_p95", 0.2), TargetTracking("cpu", 50.0))
    >>> rec = policy.recommend(Observation(0, 4, {"cpu": 100.0}))
    >>> rec.replicas, rec.reason
    (8, <Reason.FALLBACK: 'fallback'>)
    """

    @classmethod
    def conformance_params(cls) -> list[dict[str, Any]]:
        """Parameter sets for the conformance tests (see ``Params.conformance_params``)."""
        from elastic.policies.target_tracking import TargetTracking

        return [
            {"primary": TargetTracking("latency", 0.25), "fallback": TargetTracking("cpu", 60.0)}
        ]

    def __init__(self, primary: Policy, fallback: Policy) -> None:
        self.primary = primary
        self.fallback = fallback
        self.validate()
        self.primary_error_: str | None = None
        self.time_: float | None = None

    def validate(self) -> None:
        for name in ("primary", "fallback"):
            if not isinstance(getattr(self, name), Policy):
                raise PolicyError(
                    name,
                    getattr(self, name),
                    "an object with observe() and recommend()",
                    owner=type(self).__name__,
                )

    def observe(self, obs: Observation) -> None:
        if self.time_ is not None and obs.time <= self.time_:
            return  # a time seen already teaches nothing (the Policy contract)
        self.time_ = float(obs.time)
        try:
            self.primary.observe(obs)
        except Exception as error:
            self.primary_error_ = f"{type(error).__name__}: {error}"
        else:
            self.primary_error_ = None
        self.fallback.observe(obs)

    def recommend(self, obs: Observation) -> Recommendation:
        why = self.primary_error_
        if why is None:
            try:
                rec = self.primary.recommend(obs)
            except Exception as error:
                why = f"{type(error).__name__}: {error}"
            else:
                if rec.replicas is not None:
                    return rec
                why = f"{rec.reason.value}: {rec.detail}"
        backup = self.fallback.recommend(obs)
        return Recommendation(
            backup.replicas,
            Reason.FALLBACK,
            f"primary could not decide ({why}); fallback: {backup.detail}",
            min_replicas=backup.min_replicas,
            max_replicas=backup.max_replicas,
        )
