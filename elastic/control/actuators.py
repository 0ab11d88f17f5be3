"""What a controller acts through: actuators and how a failed request is retried.

An actuator's ``apply(decision)`` asks the system for ``decision.replicas``
and returns the count the system took (``None``: the count asked for); an
exception means the system refused, and the loop then records nothing
(:meth:`~elastic.DecisionLoop.acknowledge`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from elastic.control.clock import Clock
from elastic.core.types import Decision
from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError

__all__ = ["MAX_REPLICAS", "Applied", "CallbackActuator", "Retry"]

#: the most replicas an actuator may say it set: the Kubernetes and ECS replica
#: counts are 32-bit integers
MAX_REPLICAS = 2**31 - 1


class CallbackActuator:
    """An actuator from a function ``replicas -> None | int``.

    Examples
    --------
    >>> asked = []
    >>> actuator = CallbackActuator(asked.append)
    >>> from elastic import Decision
    >>> actuator.apply(Decision(0.0, 2, 5, (), ()))
    >>> asked
    [5]
    """

    def __init__(self, function: Callable[[int], int | None]) -> None:
        if not callable(function):
            raise ParameterError("function", function, "a callable", owner="CallbackActuator")
        self.function = function

    def apply(self, decision: Decision) -> int | None:
        return self.function(decision.replicas)

    def __repr__(self) -> str:
        return f"CallbackActuator({self.function!r})"


@dataclass(frozen=True)
class Applied:
    """What became of a request: the count taken (``None`` if refused), attempts, the last error."""

    replicas: int | None
    attempts: int
    error: str | None = None


@dataclass(frozen=True)
class Retry:
    """Retries of a refused request: up to ``attempts`` in all, ``backoff`` seconds after the
    first failure, multiplied by ``factor`` after each, never past ``deadline`` (the next tick).
    A :class:`~elastic.errors.ParameterError` (the request itself is wrong, such as more
    replicas than the actuator may run) is not retried.

    Examples
    --------
    >>> from elastic.control.clock import ManualClock
    >>> calls = []
    >>> def flaky(decision):
    ...     calls.append(decision.replicas)
    ...     if len(calls) < 3:
    ...         raise TimeoutError("the API server did not answer")
    >>> clock = ManualClock()
    >>> from elastic import Decision
    >>> Retry(attempts=4, backoff=0.5).apply(flaky, Decision(0.0, 2, 5, (), ()), clock, 15.0)
    Applied(replicas=5, attempts=3, error=None)
    >>> clock.monotonic()   # 0.5 s, then 1 s
    1.5
    """

    attempts: int = 3
    backoff: float = 0.5
    factor: float = 2.0

    def __post_init__(self) -> None:
        check_int(self.attempts, "attempts", owner="Retry", ge=1)
        check_number(self.backoff, "backoff", owner="Retry", ge=0)
        check_number(self.factor, "factor", owner="Retry", ge=1)

    def apply(
        self,
        apply: Callable[[Decision], int | None],
        decision: Decision,
        clock: Clock,
        deadline: float,
    ) -> Applied:
        """Call ``apply(decision)`` until it succeeds, the attempts run out or the next try
        would end past ``deadline`` (monotonic seconds)."""
        wait = self.backoff
        attempt = 0
        while True:
            attempt += 1
            try:
                taken = apply(decision)
            except ParameterError as failure:  # the request itself is wrong: never retried
                return Applied(None, attempt, f"{type(failure).__name__}: {failure}")
            except Exception as failure:  # the system refused: retried, then reported
                error = f"{type(failure).__name__}: {failure}"
            else:
                if taken is None:
                    return Applied(decision.replicas, attempt)
                if (
                    isinstance(taken, bool)
                    or not isinstance(taken, int)
                    or not 0 <= taken <= MAX_REPLICAS
                ):
                    return Applied(
                        None,
                        attempt,
                        f"the actuator returned {taken!r}; expected the count taken (an "
                        f"integer from 0 to {MAX_REPLICAS}) or None",
                    )
                return Applied(taken, attempt)
            if attempt >= self.attempts or clock.monotonic() + wait >= deadline:
                return Applied(None, attempt, error)
            clock.sleep(wait)
            wait *= self.factor
