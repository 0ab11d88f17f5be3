"""What a controller reads: metric values (or why one is missing) and the replica counts.

A reading keeps a missing metric missing: the loop's policies then hold
(``Reason.NO_DATA``) instead of taking a failed scrape for an idle system.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from elastic.core.types import Observation, unusable
from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = [
    "CallableSource",
    "MetricsReader",
    "Observe",
    "Reading",
    "ReplicaCounts",
    "Sample",
    "checked_value",
]


@dataclass(frozen=True)
class Reading:
    """The metrics one read produced.

    A metric is in exactly one of the two: ``values`` when the source got a
    usable number, ``missing`` with the reason in words when it did not (an
    empty result, NaN or an infinity, a negative utilization, an error). A
    missing metric is never reported as a zero.

    Examples
    --------
    >>> r = Reading({"cpu": 63.0}, {"rps": "the query returned no series"})
    >>> r.values["cpu"], r.missing["rps"]
    (63.0, 'the query returned no series')
    """

    values: Mapping[str, float]
    missing: Mapping[str, str] = field(default_factory=dict)


def checked_value(name: str, value: object, utilization: Collection[str] = ()) -> float | str:
    """``value`` as a float, or the reason it is no metric value.

    NaN and infinities are missing (a failed or stale sample, never a zero);
    so is a negative value of a metric named in ``utilization`` (a share of
    capacity cannot be negative: a counter reset or a broken query).

    Examples
    --------
    >>> checked_value("cpu", 42)
    42.0
    >>> checked_value("cpu", float("nan"))
    'cpu=nan is not a finite number'
    >>> checked_value("cpu", -3.0, utilization={"cpu"})
    'cpu=-3.0 is negative'
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name}={value!r} is not a number"
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return f"{name}={value!r} is not a finite number"
    why = unusable(name, number, nonnegative=name in utilization)
    return number if why is None else why


@runtime_checkable
class MetricsReader(Protocol):
    """Reads the metric values at ``now`` (wall time, seconds)."""

    def read(self, now: float) -> Reading:
        """The values, and the metrics missing with their reasons."""
        ...


class CallableSource:
    """A :class:`MetricsReader` from a function ``now -> {name: value}``.

    Whatever the function returns is checked: a value that is no finite
    number (or a negative ``utilization``) is missing with its reason, and
    an exception inside the function makes every metric in ``names``
    missing, with the error as the reason (under the name ``"*"`` when
    ``names`` is empty: the metrics are then unknown).

    Examples
    --------
    >>> source = CallableSource(lambda now: {"cpu": 70.0, "rps": float("inf")})
    >>> reading = source.read(0.0)
    >>> reading.values, reading.missing
    ({'cpu': 70.0}, {'rps': 'rps=inf is not a finite number'})
    """

    def __init__(
        self,
        function: Callable[[float], Mapping[str, object]],
        *,
        names: Collection[str] = (),
        utilization: Collection[str] = (),
    ) -> None:
        if not callable(function):
            raise ParameterError("function", function, "a callable", owner="CallableSource")
        self.function = function
        self.names = tuple(names)
        self.utilization = frozenset(utilization)

    def read(self, now: float) -> Reading:
        try:
            raw = self.function(now)
            if not isinstance(raw, Mapping):
                raise TypeError(f"returned {raw!r}; expected a mapping of metric names to values")
        except Exception as error:  # a failing source is missing data, not a dead controller
            why = f"the source raised {type(error).__name__}: {error}"
            return Reading({}, dict.fromkeys(self.names, why) or {"*": why})
        values: dict[str, float] = {}
        missing: dict[str, str] = {}
        for name, value in raw.items():
            checked = checked_value(str(name), value, self.utilization)
            if isinstance(checked, str):
                missing[str(name)] = checked
            else:
                values[str(name)] = checked
        for name in self.names:
            if name not in values and name not in missing:
                missing[name] = f"{name}: the source returned no value"
        return Reading(values, missing)

    def __repr__(self) -> str:
        return f"CallableSource({self.function!r})"


@dataclass(frozen=True)
class ReplicaCounts:
    """What the scaled system reports of its replicas (see :class:`~elastic.Observation`)."""

    replicas: int
    ready: int | None = None
    pending: int = 0
    warming: int = 0
    terminating: int = 0


@dataclass(frozen=True)
class Sample:
    """One observation for the loop, with the metrics that were missing from it and why."""

    observation: Observation
    missing: Mapping[str, str] = field(default_factory=dict)


class Observe:
    """The observation a controller gives its loop: metric values and replica counts.

    Parameters
    ----------
    metrics
        A :class:`MetricsReader` (:class:`CallableSource`,
        :class:`~elastic.control.prometheus.PrometheusSource`...).
    replicas
        A function returning the system's :class:`ReplicaCounts` (or just the
        replica count), such as an actuator's ``counts`` method.
    startup
        Seconds a new replica takes to serve, for predictive policies.

    Examples
    --------
    >>> observe = Observe(CallableSource(lambda now: {"cpu": 80.0}), lambda: 3)
    >>> sample = observe.sample(60.0)
    >>> sample.observation.replicas, sample.observation.metrics
    (3, {'cpu': 80.0})
    """

    def __init__(
        self,
        metrics: MetricsReader,
        replicas: Callable[[], ReplicaCounts | int],
        *,
        startup: float | None = None,
    ) -> None:
        if not isinstance(metrics, MetricsReader):
            raise ParameterError(
                "metrics", metrics, "a MetricsReader (an object with read(now))", owner="Observe"
            )
        if not callable(replicas):
            raise ParameterError("replicas", replicas, "a callable", owner="Observe")
        if startup is not None:
            check_number(startup, "startup", owner="Observe", ge=0)
        self.metrics = metrics
        self.replicas = replicas
        self.startup = startup

    def sample(self, now: float) -> Sample:
        """The observation at ``now``; the replica counts' errors are raised (no count, no step)."""
        counts = self.replicas()
        if not isinstance(counts, ReplicaCounts):
            counts = ReplicaCounts(counts)
        reading = self.metrics.read(now)
        observation = Observation(
            time=now,
            replicas=counts.replicas,
            metrics=dict(reading.values),
            ready=counts.ready,
            pending=counts.pending,
            warming=counts.warming,
            startup=self.startup,
            terminating=counts.terminating,
        )
        return Sample(observation, dict(reading.missing))

    def read(self, now: float) -> Observation:
        """The observation at ``now`` (:class:`~elastic.core.protocols.MetricsSource`)."""
        return self.sample(now).observation

    def __repr__(self) -> str:
        return f"Observe({self.metrics!r}, {self.replicas!r})"
