"""A ScaledObject's triggers: ``prometheus``, ``cpu``, ``memory`` and ``cron``.

Each trigger is one metric of the HPA that KEDA creates (upstream
``GetMetricSpecForScaling``) and, but for ``cpu`` and ``memory``, a source
of activity (``GetMetricsAndActivity``):

- ``prometheus`` (``pkg/scalers/prometheus_scaler.go``): an External metric
  with an ``AverageValue`` (default) or ``Value`` target of ``threshold``;
  active when the value is strictly above ``activationThreshold``. elastic
  reads the value from the observation under the trigger's ``metric``
  name; a value that is absent, NaN, infinite or negative is a failed read.
- ``cpu`` / ``memory`` (``cpu_memory_scaler.go``): a Resource (or, with a
  container, ContainerResource) metric, ``Utilization`` in percent or
  ``AverageValue``; read by the HPA from the metrics server, never through
  KEDA: no activity, no failure count, no fallback.
- ``cron`` (``cron_scaler.go``): an External metric whose value is
  ``desiredReplicas`` inside the schedule's window and 0 outside, with a
  target of 1 (so the HPA asks for ``desiredReplicas``); active inside the
  window. As upstream decides it, the window is open when the next ``end``
  comes no later than the next ``start`` (both strictly after now): it opens
  at ``start`` and closes at ``end``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import ClassVar, Literal

from elastic.core.types import Observation
from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError
from elastic.kubernetes.hpa import Metric
from elastic.kubernetes.quantity import INT64_MAX
from elastic.policies.cron import Cron, time_zone

__all__ = ["CronTrigger", "PrometheusTrigger", "ResourceTrigger", "Trigger"]


def _check_name(value: object, owner: str) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ParameterError("name", value, "None or a non-empty trigger name", owner=owner)


@lru_cache(maxsize=256)
def _cron(expression: str, timezone: str) -> Cron:
    """A parsed schedule, once per expression (a trigger is read at every observation)."""
    return Cron(expression, timezone)


def _milli(value: float) -> int:
    """A target in natural units as the API's milli-quantity, at least 1 milli."""
    return min(max(round(value * 1000), 1), INT64_MAX)


@dataclass(frozen=True, slots=True)
class PrometheusTrigger:
    """A ``prometheus`` trigger: a PromQL query's value against a threshold.

    Parameters
    ----------
    metric
        The name of the query's value in :attr:`Observation.metrics` (a
        manifest's trigger ``name``, else ``metadata.metricName``, else
        ``s<index>-prometheus``, KEDA's own name of the metric).
    threshold
        The HPA's target: per replica (``AverageValue``) or in total (``Value``).
    activation_threshold
        Active only when the value is strictly above this (default 0).
    metric_type
        ``"AverageValue"`` (KEDA's default) or ``"Value"``.
    server_address, query
        Where and what KEDA queries (kept for the manifest; elastic's
        :class:`~elastic.control.PrometheusSource` runs the query in a controller).
    ignore_null_values
        KEDA's ``ignoreNullValues`` (default true: an empty result, NaN or an
        infinity reads as 0). Kept for the manifest: it is the metrics
        source's option; the policy counts whatever reaches it missing as a
        failed read.
    name
        The trigger's ``name`` in the manifest.
    extra
        Other ``metadata`` entries (``namespace``, ``customHeaders``, ...),
        written back by ``to_manifest`` and not used.

    Examples
    --------
    >>> trigger = PrometheusTrigger("queue", 100.0, activation_threshold=5.0)
    >>> trigger.hpa_metric()
    Metric(type='External', name='queue', target_type='AverageValue', target=100000, ...)
    """

    metric: str
    threshold: float
    activation_threshold: float = 0.0
    metric_type: Literal["AverageValue", "Value"] = "AverageValue"
    server_address: str = ""
    query: str = ""
    ignore_null_values: bool = True
    name: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    type: ClassVar[str] = "prometheus"

    def __post_init__(self) -> None:
        owner = "PrometheusTrigger"
        if not isinstance(self.metric, str) or not self.metric:
            raise ParameterError("metric", self.metric, "a non-empty metric name", owner=owner)
        check_number(self.threshold, "threshold", owner=owner, gt=0)
        check_number(self.activation_threshold, "activation_threshold", owner=owner)
        check_choice(self.metric_type, "metric_type", ("AverageValue", "Value"), owner=owner)
        for name in ("server_address", "query"):
            if not isinstance(getattr(self, name), str):
                raise ParameterError(name, getattr(self, name), "a string", owner=owner)
        if not isinstance(self.ignore_null_values, bool):
            raise ParameterError(
                "ignore_null_values", self.ignore_null_values, "True or False", owner=owner
            )
        _check_name(self.name, owner)
        if not isinstance(self.extra, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.extra.items()
        ):
            raise ParameterError("extra", self.extra, "a mapping of strings", owner=owner)

    @property
    def target(self) -> float:
        """The target the fallback multiplies."""
        return float(self.threshold)

    def hpa_metric(self) -> Metric:
        """The External metric of the HPA that KEDA creates for this trigger."""
        return Metric("External", self.metric, self.metric_type, _milli(self.threshold))

    def read(self, obs: Observation, now: datetime) -> tuple[float | None, str | None]:
        """The value in ``obs``, or ``None`` and why it is a failed read."""
        why = obs.missing(self.metric, nonnegative=True)
        return (None, why) if why is not None else (obs.metric(self.metric), None)

    def active(self, value: float) -> bool:
        return value > float(self.activation_threshold)


@dataclass(frozen=True, slots=True)
class ResourceTrigger:
    """A ``cpu`` or ``memory`` trigger: a Resource metric of the HPA, read by the HPA itself.

    Parameters
    ----------
    resource
        ``"cpu"`` or ``"memory"``; the HPA reads ``obs.metrics[resource]``
        (percent for ``Utilization``, cores or bytes for ``AverageValue``).
    target
        Percent for ``Utilization``; milli-units for ``AverageValue`` (as
        :class:`~elastic.kubernetes.Metric`: ``parse_quantity("500m")``).
    metric_type
        ``"Utilization"`` or ``"AverageValue"`` (the trigger's ``metricType``).
    container
        ``metadata.containerName``: a ContainerResource metric of that container.
    name
        The trigger's ``name`` in the manifest.

    Examples
    --------
    >>> ResourceTrigger("cpu", 60).hpa_metric()
    Metric(type='Resource', name='cpu', target_type='Utilization', target=60, ...)
    """

    resource: Literal["cpu", "memory"]
    target: int
    metric_type: Literal["Utilization", "AverageValue"] = "Utilization"
    container: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        owner = "ResourceTrigger"
        check_choice(self.resource, "resource", ("cpu", "memory"), owner=owner)
        check_int(self.target, "target", owner=owner, ge=1)
        check_choice(self.metric_type, "metric_type", ("Utilization", "AverageValue"), owner=owner)
        if self.container is not None and (
            not isinstance(self.container, str) or not self.container
        ):
            raise ParameterError(
                "container", self.container, "None or a container name", owner=owner
            )
        _check_name(self.name, owner)

    @property
    def type(self) -> str:
        return self.resource

    @property
    def metric(self) -> str:
        return self.resource

    def hpa_metric(self) -> Metric:
        if self.container is None:
            return Metric("Resource", self.resource, self.metric_type, self.target)
        return Metric(
            "ContainerResource",
            self.resource,
            self.metric_type,
            self.target,
            container=self.container,
        )


@dataclass(frozen=True, slots=True)
class CronTrigger:
    """A ``cron`` trigger: ``desired_replicas`` between ``start`` and ``end``, 0 outside.

    Parameters
    ----------
    start, end
        Five-field cron expressions (:class:`~elastic.policies.Cron`); not equal.
    desired_replicas
        The replicas asked for inside the window (at least 1).
    timezone
        IANA time zone of both expressions.
    metric
        The name of the HPA's metric for this trigger (a manifest's trigger
        ``name``, else ``s<index>-cron``); the value is computed, never read.
    metric_type
        ``"AverageValue"`` (default) or ``"Value"``: the target of 1 is of this type.
    name
        The trigger's ``name`` in the manifest.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> office = CronTrigger("0 8 * * *", "0 18 * * *", 5, "UTC")
    >>> office.value(datetime(2026, 1, 5, 8, 0, tzinfo=UTC)), office.value(
    ...     datetime(2026, 1, 5, 18, 0, tzinfo=UTC))
    (5.0, 0.0)
    """

    start: str
    end: str
    desired_replicas: int
    timezone: str = "UTC"
    metric: str = "cron"
    metric_type: Literal["AverageValue", "Value"] = "AverageValue"
    name: str | None = None

    type: ClassVar[str] = "cron"

    def __post_init__(self) -> None:
        owner = "CronTrigger"
        for key in ("start", "end", "timezone"):
            if not isinstance(getattr(self, key), str):
                raise ParameterError(key, getattr(self, key), "a string", owner=owner)
        time_zone(self.timezone, owner=owner)
        for key in ("start", "end"):
            try:
                _cron(getattr(self, key), self.timezone)
            except ParameterError as error:
                raise ParameterError(key, getattr(self, key), error.expected, owner=owner) from None
        if self.start == self.end:
            raise ParameterError("end", self.end, "a schedule other than start's", owner=owner)
        check_int(self.desired_replicas, "desired_replicas", owner=owner, ge=1)
        if not isinstance(self.metric, str) or not self.metric:
            raise ParameterError("metric", self.metric, "a non-empty metric name", owner=owner)
        check_choice(self.metric_type, "metric_type", ("AverageValue", "Value"), owner=owner)
        _check_name(self.name, owner)

    @property
    def target(self) -> float:
        return 1.0

    def hpa_metric(self) -> Metric:
        return Metric("External", self.metric, self.metric_type, 1000)

    def inside(self, now: datetime) -> bool:
        """Whether the window is open at ``now``: the next end is no later than the next start."""
        start = _cron(self.start, self.timezone).next_after(now)
        end = _cron(self.end, self.timezone).next_after(now)
        if end is None:
            return start is None
        return start is None or end <= start

    def value(self, now: datetime) -> float:
        """The trigger's metric at ``now``: ``desired_replicas`` inside the window, else 0."""
        return float(self.desired_replicas) if self.inside(now) else 0.0

    def read(self, obs: Observation, now: datetime) -> tuple[float | None, str | None]:
        return self.value(now), None

    def active(self, value: float) -> bool:
        return value > 0


Trigger = PrometheusTrigger | ResourceTrigger | CronTrigger
"""One trigger of a :class:`~elastic.keda.ScaledObject`."""
