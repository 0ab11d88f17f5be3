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
from elastic.errors import ElasticError, ManifestError, ParameterError
from elastic.policies import Scheduled, ScheduledAction, StepScaling, TargetTracking
from elastic.policies.cron import cron_from_aws, cron_to_aws, time_zone

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
    """A ``PutScalingPolicy`` request as elastic objects, and what elastic does not model.

    ``spelled`` keeps how the request wrote the fields elastic models (the
    predefined metric type, cooldowns, ``DisableScaleIn``, ...), so that an
    export writes them the same way while they still mean what the objects
    hold, and leaves out what the request left out. ``notes`` says where the
    objects take an AWS default that the request did not state.
    """

    name: str
    policy: TargetTracking | StepScaling
    cooldown: Cooldown | None
    unmodeled: dict[str, Any] = field(default_factory=dict)
    spelled: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportedAction:
    """A ``PutScheduledAction`` request as a :class:`ScheduledAction`, and the rest.

    ``spelled`` keeps how the request wrote ``Schedule``, ``Timezone``,
    ``StartTime`` and ``EndTime``; an export writes them the same way while
    they still mean what the action holds.
    """

    action: ScheduledAction
    origin: datetime
    unmodeled: dict[str, Any] = field(default_factory=dict)
    spelled: dict[str, Any] = field(default_factory=dict)


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


#: Application Auto Scaling's target tracking cooldowns when the request states none, by
#: ``ServiceNamespace`` (AWS CDK ``BasicTargetTrackingScalingPolicyProps``: 300 s, or 0 s for
#: DynamoDB, Comprehend and Lambda provisioned concurrency)
TARGET_TRACKING_DEFAULT_COOLDOWN: dict[str, int] = {
    "ecs": 300, "ec2": 300, "elasticmapreduce": 300, "appstream": 300, "rds": 300,
    "sagemaker": 300, "custom-resource": 300, "dynamodb": 0, "comprehend": 0, "lambda": 0,
}  # fmt: skip
#: a step scaling policy's ``Cooldown`` when the request states none
STEP_DEFAULT_COOLDOWN = 300
_DEFAULT_ADJUSTMENT = "ChangeInCapacity"


def from_put_scaling_policy(
    request: Mapping[str, Any] | str, *, metric: str | None = None, threshold: float | None = None
) -> ImportedPolicy:
    """Import a ``PutScalingPolicy`` request (a dict or JSON text).

    Target tracking becomes :class:`TargetTracking` with no tolerance band (AWS
    has none; its scale-in caution is not in the request) (a predefined metric maps
    to an elastic metric name, see :data:`PREDEFINED`; a customized one keeps
    its ``MetricName``) with its cooldowns as an application cooldown; a
    cooldown the request leaves out takes AWS's default for its
    ``ServiceNamespace`` (:data:`TARGET_TRACKING_DEFAULT_COOLDOWN`), with a
    note. Step scaling becomes :class:`StepScaling` (its ``Cooldown``
    defaults to 300 s, as in AWS); its alarm lives in CloudWatch, not
    in the request, so ``metric`` and ``threshold`` are needed. Exporting the
    import gives the request back, field for field.

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
    spelled: dict[str, Any] = {}
    notes: list[str] = []
    namespace = data.get("ServiceNamespace")
    policy: TargetTracking | StepScaling
    try:
        if kind == "TargetTrackingScaling":
            config = data.pop("TargetTrackingScalingPolicyConfiguration", None)
            if not isinstance(config, dict):
                raise _fail(what, "TargetTrackingScalingPolicyConfiguration", config, "an object")
            policy, cooldown = _target_tracking(config, namespace, spelled, notes, what)
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
            policy, cooldown = _step(config, metric, threshold, spelled, notes, what)
            if config:
                data["StepScalingPolicyConfiguration"] = config
        else:
            raise _fail(what, "PolicyType", kind, "'TargetTrackingScaling' or 'StepScaling'")
    except ElasticError as error:
        if isinstance(error, ManifestError):
            raise
        raise ManifestError(f"{what}: {error}") from None
    return ImportedPolicy(name, policy, cooldown, data, spelled, notes)


def _whole(value: Any, what: str, path: str, unit: str = "") -> int:
    """A count or a number of seconds as AWS takes it: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(what, path, value, f"a whole number{unit} >= 0")
    return value


def _default_cooldown(namespace: Any) -> int | None:
    return TARGET_TRACKING_DEFAULT_COOLDOWN.get(namespace) if isinstance(namespace, str) else None


def _target_tracking(
    config: dict[str, Any], namespace: Any, spelled: dict[str, Any], notes: list[str], what: str
) -> tuple[TargetTracking, Cooldown | None]:
    prefix = "TargetTrackingScalingPolicyConfiguration"
    target = config.pop("TargetValue", None)
    predefined = config.pop("PredefinedMetricSpecification", None)
    customized = config.pop("CustomizedMetricSpecification", None)
    if (predefined is None) == (customized is None):
        raise ManifestError(
            f"{what}: {prefix} needs one of PredefinedMetricSpecification and "
            "CustomizedMetricSpecification"
        )
    for key, spec in (("PredefinedMetricSpecification", predefined),
                      ("CustomizedMetricSpecification", customized)):  # fmt: skip
        if spec is not None and not isinstance(spec, dict):
            raise _fail(what, f"{prefix}.{key}", spec, "an object")
    if predefined is not None:
        kind_name = predefined.get("PredefinedMetricType")
        if not isinstance(kind_name, str) or kind_name not in PREDEFINED:
            raise _fail(what, f"{prefix}.PredefinedMetricSpecification.PredefinedMetricType",
                        kind_name, "one of " + ", ".join(PREDEFINED))  # fmt: skip
        spelled["PredefinedMetricType"] = kind_name
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
    seconds: dict[str, int] = {}
    for key in ("ScaleOutCooldown", "ScaleInCooldown"):
        if key in config:
            spelled[key] = config.pop(key)
            seconds[key] = _whole(spelled[key], what, f"{prefix}.{key}", " of seconds")
    if "DisableScaleIn" in config:
        spelled["DisableScaleIn"] = config.pop("DisableScaleIn")
        if not isinstance(spelled["DisableScaleIn"], bool):
            raise _fail(what, f"{prefix}.DisableScaleIn", spelled["DisableScaleIn"],
                        "true or false")  # fmt: skip
    policy = TargetTracking(
        metric, target, kind=kind, tolerance=0.0,
        disable_scale_in=spelled.get("DisableScaleIn", False),
    )  # fmt: skip
    missing = [key for key in ("ScaleOutCooldown", "ScaleInCooldown") if key not in seconds]
    default = _default_cooldown(namespace)
    if missing and default is not None:
        notes.append(
            f"{' and '.join(missing)} not given: AWS's default for ServiceNamespace "
            f"{namespace!r}, {default} s, is modelled"
        )
    elif len(missing) == 2:
        notes.append(
            f"no cooldown given and AWS's default for ServiceNamespace {namespace!r} is not "
            "known to elastic: no cooldown is modelled; pass one if AWS applies one"
        )
        return policy, None
    elif missing:
        notes.append(
            f"{missing[0]} not given and AWS's default for ServiceNamespace {namespace!r} is "
            "not known to elastic: 0 s is modelled"
        )
    fallback = default or 0
    cooldown = Cooldown(
        seconds.get("ScaleOutCooldown", fallback), seconds.get("ScaleInCooldown", fallback)
    )
    return policy, cooldown


def _step(
    config: dict[str, Any],
    metric: str,
    threshold: float,
    spelled: dict[str, Any],
    notes: list[str],
    what: str,
) -> tuple[StepScaling, Cooldown]:
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
    for key in ("AdjustmentType", "Cooldown"):
        if key in config:
            spelled[key] = config.pop(key)
    policy = StepScaling(
        metric,
        threshold,
        steps,
        adjustment_type=spelled.get("AdjustmentType", _DEFAULT_ADJUSTMENT),
        min_adjustment_magnitude=config.pop("MinAdjustmentMagnitude", None),
    )
    if "Cooldown" in spelled:
        seconds = _whole(spelled["Cooldown"], what, f"{prefix}.Cooldown", " of seconds")
    else:
        seconds = STEP_DEFAULT_COOLDOWN
        notes.append(f"Cooldown not given: AWS's default, {seconds} s, is modelled")
    return policy, Cooldown(seconds, seconds)


def _put(
    config: dict[str, Any], key: str, value: Any, spelled: Mapping[str, Any], default: Any
) -> None:
    """Write ``value`` under ``key`` as the request spelled it if it still means ``value``;
    leave it out if the request did and it is still the default."""
    if key in spelled and spelled[key] == value:
        config[key] = spelled[key]
    elif key in spelled or value != default:
        config[key] = value


def to_put_scaling_policy(imported: ImportedPolicy) -> dict[str, Any]:
    """The ``PutScalingPolicy`` request of ``imported`` (its unmodeled fields put back)."""
    out: dict[str, Any] = json.loads(json.dumps(imported.unmodeled))
    out["PolicyName"] = imported.name
    policy, cooldown, spelled = imported.policy, imported.cooldown, imported.spelled
    if isinstance(policy, TargetTracking):
        out["PolicyType"] = "TargetTrackingScaling"
        config = out.setdefault("TargetTrackingScalingPolicyConfiguration", {})
        config["TargetValue"] = policy.target
        meaning = (policy.metric, policy.kind)
        predefined: str | None = spelled.get("PredefinedMetricType")
        if predefined not in PREDEFINED or PREDEFINED[predefined] != meaning:
            predefined = next((k for k, m in PREDEFINED.items() if m == meaning), None)
        if predefined is not None and "CustomizedMetricSpecification" not in config:
            spec = config.setdefault("PredefinedMetricSpecification", {})
            spec["PredefinedMetricType"] = predefined
        else:
            spec = config.setdefault("CustomizedMetricSpecification", {})
            spec["MetricName"] = policy.metric
        if cooldown is not None:
            default = _default_cooldown(out.get("ServiceNamespace")) or 0
            _put(config, "ScaleOutCooldown", cooldown.scale_out, spelled, default)
            _put(config, "ScaleInCooldown", cooldown.scale_in, spelled, default)
        _put(config, "DisableScaleIn", policy.disable_scale_in, spelled, False)
    else:
        out["PolicyType"] = "StepScaling"
        config = out.setdefault("StepScalingPolicyConfiguration", {})
        _put(config, "AdjustmentType", policy.adjustment_type, spelled, _DEFAULT_ADJUSTMENT)
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
            _put(config, "Cooldown", cooldown.scale_out, spelled, STEP_DEFAULT_COOLDOWN)
    return out


_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_CRON = re.compile(r"^cron\((.+)\)$")


def _seconds(text: Any, origin: datetime, what: str, path: str) -> float:
    """Seconds from ``origin`` to an AWS timestamp (ISO 8601, or epoch seconds)."""
    moment = _aware(text)
    if moment is None:
        epoch = isinstance(text, int | float) and not isinstance(text, bool)
        expected = "epoch seconds within years 1-9999" if epoch else "an ISO 8601 time"
        raise _fail(what, path, text, expected)
    return (moment - origin).total_seconds()


def _zone(name: Any, what: str) -> ZoneInfo:
    try:
        return time_zone(name, "Timezone", owner=what)
    except ParameterError as error:
        raise _fail(what, "Timezone", name, error.expected) from None


def from_put_scheduled_action(
    request: Mapping[str, Any] | str, *, origin: datetime
) -> ImportedAction:
    """Import a ``PutScheduledAction`` request; times become seconds after ``origin``.

    ``at(...)`` becomes a one-off action, ``cron(...)`` (AWS's six fields:
    days of the week numbered 1-7 from Sunday, ``?`` in one day field, a
    year) a five-field cron with its ``Timezone`` (see
    :func:`~elastic.policies.cron.cron_from_aws`); ``rate(...)``, a year, and the
    ``L``, ``W`` and ``#`` wildcards are not modelled and are refused, as is
    anything AWS refuses (minute 60, ``MinCapacity`` above ``MaxCapacity``,
    ``EndTime`` before ``StartTime``, an unknown time zone).

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
    spelled: dict[str, Any] = {}
    for key in ("Schedule", "Timezone", "StartTime", "EndTime"):
        if key in data:
            spelled[key] = data.pop(key)
    name = data.pop("ScheduledActionName", None)
    schedule = spelled.get("Schedule")
    timezone = spelled.get("Timezone", "UTC")
    zone = _zone(timezone, what)
    target = data.pop("ScalableTargetAction", None)
    if not isinstance(target, dict) or not target:
        raise _fail(
            what, "ScalableTargetAction", target, "an object with MinCapacity or MaxCapacity"
        )
    path = "ScalableTargetAction."
    given = {key: target.pop(key, None) for key in ("MinCapacity", "MaxCapacity")}
    low, high = (
        None if value is None else _whole(value, what, path + key) for key, value in given.items()
    )
    if low is None and high is None:
        raise _fail(what, "ScalableTargetAction", target, "MinCapacity or MaxCapacity")
    if low is not None and high is not None and low > high:
        raise _fail(what, path + "MinCapacity", low, f"at most MaxCapacity ({high})")
    if target:
        data["ScalableTargetAction"] = target
    start = end = None
    if "StartTime" in spelled:
        start = _seconds(spelled["StartTime"], origin, what, "StartTime")
    if "EndTime" in spelled:
        end = _seconds(spelled["EndTime"], origin, what, "EndTime")
        if start is not None and end <= start:
            raise _fail(what, "EndTime", spelled["EndTime"],
                        f"a time after StartTime ({spelled['StartTime']!r})")  # fmt: skip
    at = cron = None
    if isinstance(schedule, str) and (match := _AT.match(schedule)):
        try:
            moment = datetime.fromisoformat(match.group(1))
        except ValueError:
            raise _fail(what, "Schedule", schedule, "at(yyyy-mm-ddThh:mm:ss), a real date and "
                        "time") from None  # fmt: skip
        at = _seconds(moment.replace(tzinfo=zone).isoformat(), origin, what, "Schedule")
    elif isinstance(schedule, str) and (match := _CRON.match(schedule)):
        try:
            cron = cron_from_aws(match.group(1))
        except ParameterError as error:
            raise _fail(what, "Schedule", schedule, f"{error.name}={error.value!r} to be "
                        f"{error.expected}") from None  # fmt: skip
    else:
        raise _fail(what, "Schedule", schedule, "at(yyyy-mm-ddThh:mm:ss) or cron(...)")
    action = ScheduledAction(
        at=at, cron=cron, timezone=timezone, min_replicas=low, max_replicas=high,
        start=start, end=end, name=name,
    )  # fmt: skip
    try:
        Scheduled([action], origin=origin)  # every rule a policy applies to its actions
    except ElasticError as error:
        raise ManifestError(f"{what}: {error}") from None
    return ImportedAction(action, origin, data, spelled)


def _aware(text: Any) -> datetime | None:
    """The moment an AWS timestamp (ISO 8601, or epoch seconds) names, or None."""
    try:
        if isinstance(text, int | float) and not isinstance(text, bool):
            return datetime.fromtimestamp(text, UTC)
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (OverflowError, OSError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def to_put_scheduled_action(imported: ImportedAction) -> dict[str, Any]:
    """The ``PutScheduledAction`` request of ``imported`` (its unmodeled fields put back).

    A cron schedule goes back as the request wrote it while it still means
    the action's cron, else in AWS's form (:func:`~elastic.policies.cron.cron_to_aws`).
    """
    action, origin, spelled = imported.action, imported.origin, imported.spelled
    out: dict[str, Any] = json.loads(json.dumps(imported.unmodeled))
    if action.name is not None:
        out["ScheduledActionName"] = action.name
    original = spelled.get("Schedule")
    if action.cron is not None:
        match = _CRON.match(original) if isinstance(original, str) else None
        try:
            same = match is not None and cron_from_aws(match.group(1)) == action.cron
            out["Schedule"] = original if same else f"cron({cron_to_aws(action.cron)})"
        except ParameterError as error:
            raise ManifestError(f"PutScheduledAction: {error}") from None
    else:
        assert action.at is not None
        moment = (origin + timedelta(seconds=action.at)).astimezone(ZoneInfo(action.timezone))
        text = f"at({moment.replace(tzinfo=None).isoformat(timespec='seconds')})"
        out["Schedule"] = original if isinstance(original, str) and original == text else text
    if action.timezone != "UTC" or "Timezone" in spelled:
        out["Timezone"] = action.timezone
    target = out.setdefault("ScalableTargetAction", {})
    if action.min_replicas is not None:
        target["MinCapacity"] = action.min_replicas
    if action.max_replicas is not None:
        target["MaxCapacity"] = action.max_replicas
    for key, value in (("StartTime", action.start), ("EndTime", action.end)):
        if value is not None:
            moment = origin + timedelta(seconds=value)
            given = _aware(spelled.get(key))
            out[key] = spelled[key] if given == moment else moment.isoformat()
    return out
