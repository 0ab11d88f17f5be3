"""Cooldowns after scaling activities, in the two forms AWS uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from elastic.core.validate import check_choice, check_number

__all__ = ["Cooldown"]


@dataclass(frozen=True, slots=True)
class Cooldown:
    """How long the loop waits after a scaling activity before the next one.

    Parameters
    ----------
    scale_out, scale_in
        Seconds after a scale-out, and after a scale-in.
    mode
        ``"simple"``: EC2 simple scaling. After any activity, every policy
        decision is ignored until the cooldown of that activity has passed.
        ``"application"``: Application Auto Scaling (ECS, DynamoDB, Lambda
        provisioned concurrency, ...). During a scale-out cooldown the capacity
        that scale-out added counts toward the next one: policies see the
        capacity from before it, so a repeated alarm adds only what it asks
        beyond what was already added. Scale-in waits for the end of a scale-in
        cooldown, and a scale-out cancels the scale-in cooldown.

    Notes
    -----
    ``DecisionLoop(cooldown=300)`` means ``Cooldown(300, 300, mode="simple")``.
    AWS starts the cooldown clock when the activity finishes launching; a
    decision loop knows only when it decided, so its cooldown starts then.

    Examples
    --------
    >>> Cooldown.simple(300)
    Cooldown(scale_out=300, scale_in=300, mode='simple')
    """

    scale_out: float = 0.0
    scale_in: float = 0.0
    mode: Literal["simple", "application"] = "application"

    def __post_init__(self) -> None:
        check_number(self.scale_out, "scale_out", owner="Cooldown", ge=0)
        check_number(self.scale_in, "scale_in", owner="Cooldown", ge=0)
        check_choice(self.mode, "mode", ("simple", "application"), owner="Cooldown")

    @classmethod
    def simple(cls, seconds: float) -> Cooldown:
        """The EC2 simple-scaling cooldown: ``seconds`` after any activity."""
        return cls(seconds, seconds, mode="simple")
