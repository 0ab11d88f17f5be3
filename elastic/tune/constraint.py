"""A constraint on a summary metric that must hold with confidence across seeds."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from elastic.bench.stats import mean_ci
from elastic.errors import ParameterError

__all__ = ["Constraint"]

_FORM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([-+0-9.eE]+|inf|-inf)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric op bound`` (``op`` is ``">="`` or ``"<="``) on a run's summary metric.

    It holds for a candidate when the 95 % confidence bound of the metric's
    mean over the seeds is on the right side of ``bound``: the lower bound
    for ``>=``, the upper bound for ``<=`` (Student's t over the seeds). A
    lucky seed cannot make a candidate feasible. With one seed there is no
    spread to bound and the value itself is used: give three or more.

    Examples
    --------
    >>> c = Constraint.parse("slo_attainment>=0.99")
    >>> c.bound_of([0.995, 0.996, 0.997])    # mean 0.996, minus its half-width
    0.993515...
    >>> c.margin([0.995, 0.996, 0.997]) > 0, c.margin([0.999, 0.97, 0.999]) > 0
    (True, False)
    """

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ParameterError("op", self.op, "'>=' or '<='", owner="Constraint")
        if (
            not isinstance(self.bound, int | float)
            or isinstance(self.bound, bool)
            or not math.isfinite(self.bound)
        ):
            raise ParameterError("bound", self.bound, "a finite number", owner="Constraint")

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """A constraint from text such as ``"slo_attainment>=0.99"`` or ``"latency_p99<=0.5"``."""
        match = _FORM.match(text) if isinstance(text, str) else None
        if match is None:
            raise ParameterError(
                "constraint", text, "metric>=number or metric<=number, e.g. slo_attainment>=0.99",
                owner="Constraint",
            )  # fmt: skip
        metric, op, text_bound = match.groups()
        try:
            bound = float(text_bound)
        except ValueError:
            bound = math.nan
        if not math.isfinite(bound):
            raise ParameterError(
                "constraint", text, "a finite number as the bound, e.g. slo_attainment>=0.99",
                owner="Constraint",
            )  # fmt: skip
        return cls(metric, op, bound)

    def bound_of(self, values: Sequence[float]) -> float:
        """The confidence bound of the mean of ``values`` on the constraint's side."""
        mean, half = mean_ci(values)
        if math.isnan(half):  # one seed, or none usable
            half = 0.0
        return mean - half if self.op == ">=" else mean + half

    def margin(self, values: Sequence[float]) -> float:
        """How far the bound is inside the constraint (> 0 holds, < 0 fails; NaN fails)."""
        bound = self.bound_of(values)
        if math.isnan(bound):
            return -math.inf
        return bound - self.bound if self.op == ">=" else self.bound - bound

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.bound:g}"
