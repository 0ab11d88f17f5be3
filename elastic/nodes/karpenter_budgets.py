"""Karpenter's disruption budgets: how many of a NodePool's nodes may be disrupted at once.

Source: kubernetes-sigs/karpenter ``pkg/apis/v1/nodepool.go``
(``GetAllowedDisruptionsByReason``, ``Budget.GetAllowedDisruptions``, ``Budget.IsActive``)
and ``pkg/controllers/disruption/helpers.go`` (``BuildDisruptionBudgetMapping``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from elastic.core.validate import check_number
from elastic.errors import ParameterError
from elastic.policies.cron import Cron

__all__ = ["REASONS", "Budget", "allowed_disruptions"]

#: the reasons a budget may be scoped to (``DisruptionReason`` enum upstream)
REASONS: tuple[str, ...] = ("Empty", "Underutilized", "Drifted")
_NODES = re.compile(r"^((100|[0-9]{1,2})%|[0-9]+)$")  # the CRD's pattern for budget.nodes
_MACROS = {  # robfig/cron's descriptors, as cron.ParseStandard reads them
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True, slots=True)
class Budget:
    """One disruption budget of a NodePool.

    Parameters
    ----------
    nodes
        ``"10%"`` (a percentage of the NodePool's nodes, rounded up) or ``"5"``
        (a count); the upstream default is ``"10%"``.
    reasons
        The disruption reasons it limits (``Empty``, ``Underutilized``,
        ``Drifted``); empty means every reason.
    schedule
        A 5-field cron expression in UTC (or ``@hourly``, ``@daily``, ...) at
        which the budget becomes active; ``None``: always active.
    duration
        Seconds the budget stays active after each time the schedule fires;
        required with ``schedule`` and only with it.

    Examples
    --------
    >>> Budget().allowed(total=7)          # roundup(7 x 10%) = 1
    1
    >>> Budget(nodes="0").allowed(total=7)
    0
    >>> Budget(nodes="50%").allowed(total=7)
    4
    """

    nodes: str = "10%"
    reasons: tuple[str, ...] = ()
    schedule: str | None = None
    duration: float | None = None

    def __post_init__(self) -> None:
        owner = "Budget"
        if not isinstance(self.nodes, str) or not _NODES.match(self.nodes):
            raise ParameterError(
                "nodes", self.nodes, 'a percentage "0%"-"100%" or a count such as "5"', owner=owner
            )
        reasons = self.reasons
        if isinstance(reasons, str) or not all(r in REASONS for r in reasons):
            raise ParameterError("reasons", reasons, "a list of " + ", ".join(REASONS), owner=owner)
        object.__setattr__(self, "reasons", tuple(reasons))
        if (self.schedule is None) != (self.duration is None):
            raise ParameterError(
                "schedule" if self.schedule is None else "duration",
                self.schedule if self.schedule is None else self.duration,
                "schedule and duration set together ('schedule' must be set with 'duration')",
                owner=owner,
            )
        if self.duration is not None:
            object.__setattr__(
                self, "duration", check_number(self.duration, "duration", owner=owner, gt=0)
            )
        if self.schedule is not None:
            self.cron  # noqa: B018 - parse now: a bad schedule fails at construction

    @property
    def cron(self) -> Cron | None:
        """The schedule as a :class:`~elastic.policies.cron.Cron` in UTC."""
        if self.schedule is None:
            return None
        if not isinstance(self.schedule, str):
            raise ParameterError("schedule", self.schedule, "a cron string", owner="Budget")
        text = self.schedule.strip()
        return Cron(_MACROS.get(text, text), "UTC")

    def active(self, at: datetime) -> bool:
        """Whether the budget applies at ``at``: the schedule fired in ``(at - duration, at]``
        (``IsActive``: the next firing after ``at - duration`` is not after ``at``)."""
        cron = self.cron
        if cron is None or self.duration is None:
            return True
        fired = cron.latest(at.astimezone(UTC))
        return fired is not None and fired > at - timedelta(seconds=self.duration)

    def allowed(self, total: int, at: datetime | None = None) -> int | None:
        """Nodes it allows disrupting out of ``total``; ``None`` when inactive at ``at``.

        A percentage is rounded up (``intstr.GetScaledValueFromIntOrPercent``
        with ``roundUp=true``).
        """
        if at is not None and not self.active(at):
            return None
        if self.nodes.endswith("%"):
            percent = int(self.nodes[:-1])
            return -(-total * percent // 100)
        return int(self.nodes)


def allowed_disruptions(
    budgets: Sequence[Budget],
    reason: str,
    *,
    total: int,
    disrupting: int,
    at: datetime,
) -> int:
    """How many more nodes of a NodePool may be disrupted for ``reason`` now.

    ``min`` over the active budgets that cover ``reason`` (no such budget: no
    limit), minus the nodes already being disrupted or not ready, at least 0:
    ``allowed = max(min_b(roundup(total x pct_b) or count_b) - disrupting, 0)``.
    ``total`` counts the NodePool's initialized nodes (ready or being
    disrupted); ``disrupting`` those of them being deleted or not ready.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> now = datetime(2026, 1, 1, tzinfo=UTC)
    >>> allowed_disruptions([Budget()], "Empty", total=7, disrupting=0, at=now)
    1
    >>> allowed_disruptions([Budget("50%")], "Empty", total=7, disrupting=1, at=now)
    3
    """
    limit: int | None = None
    for budget in budgets:
        if budget.reasons and reason not in budget.reasons:
            continue
        value = budget.allowed(total, at)
        if value is not None and (limit is None or value < limit):
            limit = value
    if limit is None:
        return max(total - disrupting, 0)
    return max(limit - disrupting, 0)
