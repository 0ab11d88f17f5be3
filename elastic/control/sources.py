"""What a metrics source read: the values it got and, for the others, why not."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Reading"]


@dataclass(frozen=True, slots=True)
class Reading:
    """The metrics one read produced.

    A metric is in exactly one of the two: ``values`` when the source got a
    usable number, ``missing`` with the reason in words when it did not (an
    empty result, NaN or an infinity, a negative utilization, an error). A
    missing metric is never reported as a zero.

    Attributes
    ----------
    values
        Metric name -> value.
    missing
        Metric name -> why there is no value, naming the metric and the query.

    Examples
    --------
    >>> r = Reading({"cpu": 0.62}, {"rps": "rps: the query returned no series"})
    >>> r.values["cpu"], sorted(r.missing)
    (0.62, ['rps'])
    """

    values: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
