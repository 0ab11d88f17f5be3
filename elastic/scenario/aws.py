"""AWS Application Auto Scaling requests in and out: PutScalingPolicy and PutScheduledAction.

An imported request keeps, besides the elastic objects it becomes, every
field elastic does not model (``ResourceId``, the alarm's dimensions, ...)
in ``unmodeled``, so nothing is dropped silently: exporting the import gives
the request back, field for field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from elastic.core.cooldown import Cooldown
from elastic.errors import ElasticError, ManifestError
from elastic.policies import ScheduledAction, StepScaling, TargetTracking

__all__ = [
    "ImportedAction",
    "ImportedPolicy",
    "from_put_scaling_policy",
    "from_put_scheduled_action",
    "to_put_scaling_policy",
    "to_put_scheduled_action",
]

#: predefined metrics and the elastic metric (and kind) they are
PREDEFINED: dict[str, tuple[str, Literal["utilization", "average_value"]]] = {
    "ECSServiceAverageCPUUtilization": ("cpu", "utilization"),
    "ECSServiceAverageMemoryUtilization": ("memory", "utilization"),
    "ALBRequestCountPerTarget": ("requests_per_target", "average_value"),
    "DynamoDBReadCapacityUtilization": ("read_capacity", "utilization"),
    "DynamoDBWriteCapacityUtilization": ("write_capacity", "utilization"),
    "LambdaProvisionedConcurrencyUtilization": ("provisioned_concurrency", "utilization"),
    "SageMakerVariantInvocationsPerInstance": ("invocations_per_instance", "average_value"),
    "EC2SpotFleetRequestAverageCPUUtilization": ("cpu", "utilization"),
}


@dataclass
class ImportedPolicy:
    """A ``PutScalingPolicy`` request as elastic objects, and what elastic does not model."""

    name: str
    policy: TargetTracking | StepScaling
    cooldown: Cooldown | None
    unmodeled: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportedAction:
    """A ``PutScheduledAction`` request as a :class:`ScheduledAction`, and the rest."""

    action: ScheduledAction
    origin: datetime
    unmodeled: dict[str, Any] = field(default_factory=dict)


def _request(request: Mapping[str, Any] | str, what: str) -> dict[str, Any]:
    if isinstance(request, str):
        try:
            data = json.loads(request)
        except json.JSONDecodeError as error:
            raise ManifestError(f"{what}: not valid JSON: {error}") from None
    else:
        data = dict(request)
    if not isinstance(data, dict):
        raise ManifestError(f"{what}: expected a JSON object, got {type(data).__name__}")
    copy: dict[str, Any] = json.loads(json.dumps(data))  # a deep copy of plain values
    return copy


def _fail(what: str, path: str, value: Any, expected: str) -> ManifestError:
    return ManifestError(f"{what}: {path}={value!r} is invalid; expected {expected}")


def from_put_scaling_policy(
    request: Mapping[str, Any] | str, *, metric: str | None = None, threshold: float | None = None
) -> ImportedPolicy:
    """Import a ``PutScalingPolicy`` request (a dict or JSON text).

    Target tracking becomes :class:`TargetTracking` with no tolerance band (AWS
    has none; its scale-in caution is not in the request) (a predefined metric maps
    to an elastic metric name, see :data:`PREDEFINED`; a customized one keeps
    its ``MetricName``) with its cooldowns as an application cooldown. Step
    scaling becomes :class:`StepScaling`; its alarm lives in CloudWatch, not
    in the request, so ``metric`` and ``threshold`` are needed.

    Examples
    --------
    >>> imported = from_put_scaling_policy({
    ...     "PolicyName": "cpu75", "ServiceNamespace": "ecs", "PolicyType": "TargetTrackingScaling",
    ...     "ResourceId": "service/default/web", "ScalableDimension": "ecs:service:DesiredCount",
    ...     "TargetTrackingScalingPolicyConfiguration": {
    ...         "TargetValue": 75.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 300,
    ...         "PredefinedMetricSpecification": {
    ...             "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}})
    >>> imported.policy
    TargetTracking(metric='cpu', target=75.0, tolerance=0.0)
    >>> imported.cooldown
    Cooldown(scale_out=60, scale_in=300, mode='application')
    >>> sorted(imported.unmodeled)
    ['ResourceId', 'ScalableDimension', 'ServiceNamespace']
    """
    what = "PutScalingPolicy"
    data = _request(request, what)
    name = data.pop("PolicyName", "policy")
    kind = data.pop("PolicyType", None)
    policy: TargetTracking | StepScaling
    try:
        if kind == "TargetTrackingScaling":
            config = data.pop("TargetTrackingScalingPolicyConfiguration", None)
            if not isinstance(config, dict):
                raise _fail(what, "TargetTrackingScalingPolicyConfiguration", config, "an object")
            policy, cooldown = _target_tracking(config, what)
            if config:
                data["TargetTrackingScalingPolicyConfiguration"] = config
        elif kind == "StepScaling":
            config = data.pop("StepScalingPolicyConfiguration", None)
            if not isinstance(config, dict):
                raise _fail(what, "StepScalingPolicyConfiguration", config, "an object")
            if metric is None or threshold is None:
                raise ManifestError(
                    f"{what}: a step scaling policy's metric and threshold live in its "
                    "CloudWatch alarm, not in the request; pass metric= and threshold="
                )
            policy, cooldown = _step(config, metric, threshold, what)
            if config:
                data["StepScalingPolicyConfiguration"] = config
        else:
            raise _fail(what, "PolicyType", kind, "'TargetTrackingScaling' or 'StepScaling'")
    except ElasticError as error:
        if isinstance(error, ManifestError):
            raise
        raise ManifestError(f"{what}: {error}") from None
    return ImportedPolicy(name, policy, cooldown, data)


def _target_tracking(config: dict[str, Any], what: str) -> tuple[TargetTracking, Cooldown | None]:
    prefix = "TargetTrackingScalingPolicyConfiguration"
    target = config.pop("TargetValue", None)
    predefined = config.pop("PredefinedMetricSpecification", None)
    customized = config.pop("CustomizedMetricSpecification", None)
    if (predefined is None) == (customized is None):
        raise ManifestError(
            f"{what}: {prefix} needs one of PredefinedMetricSpecification and "
            "CustomizedMetricSpecification"
        )
    if predefined is not None:
        kind_name = predefined.get("PredefinedMetricType")
        if kind_name not in PREDEFINED:
            raise _fail(what, f"{prefix}.PredefinedMetricSpecification.PredefinedMetricType",
                        kind_name, "one of " + ", ".join(PREDEFINED))  # fmt: skip
        metric, kind = PREDEFINED[kind_name]
        if set(predefined) - {"PredefinedMetricType"}:
            config["PredefinedMetricSpecification"] = {
                k: v for k, v in predefined.items() if k != "PredefinedMetricType"
            }
    else:
        metric, kind = customized.get("MetricName"), "average_value"
        if not isinstance(metric, str) or not metric:
            raise _fail(what, f"{prefix}.CustomizedMetricSpecification.MetricName", metric,
                        "a metric name")  # fmt: skip
        rest = {k: v for k, v in customized.items() if k != "MetricName"}
        if rest:
            config["CustomizedMetricSpecification"] = rest
    out = config.pop("ScaleOutCooldown", None)
    into = config.pop("ScaleInCooldown", None)
    disable = config.pop("DisableScaleIn", False)
    policy = TargetTracking(metric, target, kind=kind, tolerance=0.0, disable_scale_in=disable)
    cooldown = None if out is None and into is None else Cooldown(out or 0, into or 0)
    return policy, cooldown


def _step(
    config: dict[str, Any], metric: str, threshold: float, what: str
) -> tuple[StepScaling, Cooldown | None]:
    prefix = "StepScalingPolicyConfiguration"
    adjustments = config.pop("StepAdjustments", None)
    if not isinstance(adjustments, list) or not adjustments:
        raise _fail(what, f"{prefix}.StepAdjustments", adjustments, "a non-empty list")
    steps = []
    for i, step in enumerate(adjustments):
        if not isinstance(step, dict) or "ScalingAdjustment" not in step:
            raise _fail(what, f"{prefix}.StepAdjustments[{i}]", step,
                        "an object with ScalingAdjustment")  # fmt: skip
        steps.append((step.get("MetricIntervalLowerBound"), step.get("MetricIntervalUpperBound"),
                      step["ScalingAdjustment"]))  # fmt: skip
    policy = StepScaling(
        metric,
        threshold,
        steps,
        adjustment_type=config.pop("AdjustmentType", "ChangeInCapacity"),
        min_adjustment_magnitude=config.pop("MinAdjustmentMagnitude", None),
    )
    seconds = config.pop("Cooldown", None)
    cooldown = None if seconds is None else Cooldown(seconds, seconds)
    return policy, cooldown


def to_put_scaling_policy(imported: ImportedPolicy) -> dict[str, Any]:
    """The ``PutScalingPolicy`` request of ``imported`` (its unmodeled fields put back)."""
    out: dict[str, Any] = json.loads(json.dumps(imported.unmodeled))
    out["PolicyName"] = imported.name
    policy, cooldown = imported.policy, imported.cooldown
    if isinstance(policy, TargetTracking):
        out["PolicyType"] = "TargetTrackingScaling"
        config = out.setdefault("TargetTrackingScalingPolicyConfiguration", {})
        config["TargetValue"] = policy.target
        predefined = next(
            (
                k
                for k, (m, kind) in PREDEFINED.items()
                if m == policy.metric and kind == policy.kind
            ),
            None,
        )
        if predefined is not None and "CustomizedMetricSpecification" not in config:
            spec = config.setdefault("PredefinedMetricSpecification", {})
            spec["PredefinedMetricType"] = predefined
        else:
            spec = config.setdefault("CustomizedMetricSpecification", {})
            spec["MetricName"] = policy.metric
        if cooldown is not None:
            config["ScaleOutCooldown"] = cooldown.scale_out
            config["ScaleInCooldown"] = cooldown.scale_in
        if policy.disable_scale_in:
            config["DisableScaleIn"] = True
    else:
        out["PolicyType"] = "StepScaling"
        config = out.setdefault("StepScalingPolicyConfiguration", {})
        config["AdjustmentType"] = policy.adjustment_type
        config["StepAdjustments"] = [
            {
                **({} if low is None else {"MetricIntervalLowerBound": low}),
                **({} if high is None else {"MetricIntervalUpperBound": high}),
                "ScalingAdjustment": change,
            }
            for low, high, change in policy.steps
        ]
        if policy.min_adjustment_magnitude is not None:
            config["MinAdjustmentMagnitude"] = policy.min_adjustment_magnitude
        if cooldown is not None:
            config["Cooldown"] = cooldown.scale_out
    return out


_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.+)\)$")


def _seconds(text: Any, origin: datetime, what: str, path: str) -> float:
    """Seconds from ``origin`` to an AWS timestamp (ISO 8601, or epoch seconds)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        moment = datetime.fromtimestamp(text, UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            raise _fail(what, path, text, "an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - origin).total_seconds()


def from_put_scheduled_action(
    request: Mapping[str, Any] | str, *, origin: datetime
) -> ImportedAction:
    """Import a ``PutScheduledAction`` request; times become seconds after ``origin``.

    ``at(...)`` becomes a one-off action, ``cron(...)`` (AWS's six fields, with
    ``?`` and a year) a five-field cron with its ``Timezone``; ``rate(...)``
    is not modelled and is refused.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> imported = from_put_scheduled_action({
    ...     "ScheduledActionName": "morning", "Schedule": "cron(0 8 ? * MON-FRI *)",
    ...     "Timezone": "Europe/Paris", "ScalableTargetAction": {"MinCapacity": 4}},
    ...     origin=datetime(2026, 1, 5, tzinfo=UTC))
    >>> imported.action.cron, imported.action.min_replicas
    ('0 8 * * MON-FRI', 4)
    """
    what = "PutScheduledAction"
    data = _request(request, what)
    if origin.tzinfo is None:
        raise ManifestError(f"{what}: origin={origin!r} needs a time zone")
    name = data.pop("ScheduledActionName", None)
    schedule = data.pop("Schedule", None)
    timezone = data.pop("Timezone", "UTC")
    target = data.pop("ScalableTargetAction", None)
    if not isinstance(target, dict) or not target:
        raise _fail(
            what, "ScalableTargetAction", target, "an object with MinCapacity or MaxCapacity"
        )
    low, high = target.pop("MinCapacity", None), target.pop("MaxCapacity", None)
    if target:
        data["ScalableTargetAction"] = target
    start = data.pop("StartTime", None)
    end = data.pop("EndTime", None)
    at = cron = None
    if isinstance(schedule, str) and (match := _AT.match(schedule)):
        moment = datetime.fromisoformat(match.group(1))
        if timezone != "UTC":
            moment = moment.replace(tzinfo=ZoneInfo(timezone))
        at = _seconds(moment.isoformat(), origin, what, "Schedule")
    elif isinstance(schedule, str) and (match := _CRON.match(schedule)):
        fields = match.group(1).split()
        if len(fields) != 6 or fields[5] not in ("*", "?"):
            expected = "cron(minutes hours day-of-month month day-of-week *), any year"
            raise _fail(what, "Schedule", schedule, expected)
        cron = " ".join("*" if f == "?" else f for f in fields[:5])
    else:
        raise _fail(what, "Schedule", schedule, "at(yyyy-mm-ddThh:mm:ss) or cron(...)")
    try:
        action = ScheduledAction(
            at=at,
            cron=cron,
            timezone=timezone,
            min_replicas=low,
            max_replicas=high,
            start=None if start is None else _seconds(start, origin, what, "StartTime"),
            end=None if end is None else _seconds(end, origin, what, "EndTime"),
            name=name,
        )
    except ElasticError as error:
        raise ManifestError(f"{what}: {error}") from None
    return ImportedAction(action, origin, data)


def to_put_scheduled_action(imported: ImportedAction) -> dict[str, Any]:
    """The ``PutScheduledAction`` request of ``imported`` (its unmodeled fields put back)."""
    action, origin = imported.action, imported.origin
    out: dict[str, Any] = json.loads(json.dumps(imported.unmodeled))
    if action.name is not None:
        out["ScheduledActionName"] = action.name
    if action.cron is not None:
        minute, hour, day, month, weekday = action.cron.split()
        if weekday != "*" and day == "*":
            day = "?"
        elif weekday == "*":
            weekday = "?"
        out["Schedule"] = f"cron({minute} {hour} {day} {month} {weekday} *)"
    else:
        assert action.at is not None
        moment = (origin + timedelta(seconds=action.at)).astimezone(ZoneInfo(action.timezone))
        out["Schedule"] = f"at({moment.replace(tzinfo=None).isoformat(timespec='seconds')})"
    if action.timezone != "UTC" or "Timezone" in imported.unmodeled:
        out["Timezone"] = action.timezone
    target = out.setdefault("ScalableTargetAction", {})
    if action.min_replicas is not None:
        target["MinCapacity"] = action.min_replicas
    if action.max_replicas is not None:
        target["MaxCapacity"] = action.max_replicas
    for key, value in (("StartTime", action.start), ("EndTime", action.end)):
        if value is not None:
            out[key] = (origin + timedelta(seconds=value)).isoformat()
    return out
