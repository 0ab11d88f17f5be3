"""``keda.sh/v1alpha1`` ScaledObject manifests in and out (pydantic at this boundary).

The checks are KEDA's own, from its CRD (``apis/keda/v1alpha1/scaledobject_types.go``:
field minimums, ``minReplicaCount <= maxReplicaCount``), its admission
webhook (``scaledobject_webhook.go``: ``CheckReplicaCountBoundsAreValid``,
``CheckFallbackValid``, ``ValidateTriggers``) and its scalers' metadata
parsing; what elastic does not model is either refused (it would change the
decisions: ``scalingModifiers``, other trigger types) or reported as a note
(:func:`scaledobject_notes`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from elastic.errors import ManifestError, PolicyError
from elastic.keda.fallback import Fallback
from elastic.keda.scaled_object import ScaledObject
from elastic.keda.triggers import CronTrigger, PrometheusTrigger, ResourceTrigger, Trigger

# the HPA's own behavior mapping, reused as is (KEDA passes the behavior to its HPA verbatim)
from elastic.kubernetes.manifest import SpecError, _Behavior, _Metadata, _rules
from elastic.kubernetes.quantity import format_milli, parse_quantity
from elastic.yamlfile import load_yaml, pydantic_errors

__all__ = [
    "ScaledObjectManifest",
    "scaledobject_from_manifest",
    "scaledobject_from_model",
    "scaledobject_notes",
    "scaledobject_to_manifest",
]

_INT32 = 2**31 - 1
_NAME = "ScaledObject"
_TYPES = ("prometheus", "cpu", "memory", "cron")
#: prometheus metadata elastic uses, and KEDA's others (kept for the manifest, not used)
_PROMETHEUS_USED = ("serverAddress", "query", "threshold", "activationThreshold",
                    "ignoreNullValues", "metricName")  # fmt: skip
_PROMETHEUS_KEPT = ("namespace", "customHeaders", "queryParameters", "unsafeSsl", "timeout",
                    "awsRegion", "identityOwner", "authModes")  # fmt: skip
_RESOURCE_KEYS = ("value", "containerName", "type")
_CRON_KEYS = ("timezone", "start", "end", "desiredReplicas")
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, strict=True)


class _TargetRef(_Model):
    name: str = Field(min_length=1)
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str | None = None
    env_source_container_name: str | None = Field(None, alias="envSourceContainerName")


class _AuthenticationRef(_Model):
    name: str
    kind: str | None = None


class _Trigger(_Model):
    type: str = Field(min_length=1)
    name: str | None = None
    use_cached_metrics: bool | None = Field(None, alias="useCachedMetrics")
    metadata: dict[str, str]  # strict: Kubernetes keeps trigger metadata as strings
    authentication_ref: _AuthenticationRef | None = Field(None, alias="authenticationRef")
    metric_type: Literal["AverageValue", "Value", "Utilization"] | None = Field(
        None, alias="metricType"
    )


class _Fallback(_Model):
    failure_threshold: int = Field(alias="failureThreshold", ge=0, le=_INT32)
    replicas: int = Field(ge=0, le=_INT32)
    behavior: Literal["static", "currentReplicas", "currentReplicasIfHigher",
                      "currentReplicasIfLower", "scalingModifiers"] | None = None  # fmt: skip


class _HPAConfig(_Model):
    behavior: _Behavior | None = None
    name: str | None = None


class _Advanced(_Model):
    horizontal_pod_autoscaler_config: _HPAConfig | None = Field(
        None, alias="horizontalPodAutoscalerConfig"
    )
    restore_to_original_replica_count: bool | None = Field(
        None, alias="restoreToOriginalReplicaCount"
    )
    scaling_modifiers: dict[str, Any] | None = Field(None, alias="scalingModifiers")


class _Spec(_Model):
    scale_target_ref: _TargetRef = Field(alias="scaleTargetRef")
    polling_interval: int | None = Field(None, alias="pollingInterval", ge=1, le=_INT32)
    initial_cooldown_period: int | None = Field(
        None, alias="initialCooldownPeriod", ge=0, le=_INT32
    )
    cooldown_period: int | None = Field(None, alias="cooldownPeriod", ge=0, le=_INT32)
    idle_replica_count: int | None = Field(None, alias="idleReplicaCount", ge=0, le=_INT32)
    min_replica_count: int | None = Field(None, alias="minReplicaCount", ge=0, le=_INT32)
    max_replica_count: int | None = Field(None, alias="maxReplicaCount", ge=1, le=_INT32)
    advanced: _Advanced | None = None
    triggers: list[_Trigger] = Field(min_length=1)
    fallback: _Fallback | None = None


class ScaledObjectManifest(_Model):
    """A ``keda.sh/v1alpha1`` ScaledObject, validated field by field."""

    api_version: Literal["keda.sh/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ScaledObject"]
    metadata: _Metadata
    spec: _Spec
    status: dict[str, Any] | None = None  # what the operator wrote: not an input


# --- in -------------------------------------------------------------------------------------------


def scaledobject_from_manifest(
    doc: Mapping[str, Any] | str, *, origin: datetime | None = None
) -> ScaledObject:
    """The policy of a ``keda.sh/v1alpha1`` ScaledObject manifest (a mapping or YAML text).

    Every problem is reported in a :class:`~elastic.errors.ManifestError`
    with its field path and value.
    """
    data = load_yaml(doc, name=_NAME) if isinstance(doc, str) else doc
    try:
        model = ScaledObjectManifest.model_validate(data)
    except ValidationError as error:
        raise pydantic_errors(_NAME, error.errors()) from None
    try:
        return scaledobject_from_model(model, origin=origin)
    except SpecError as error:
        raise ManifestError(f"{_NAME}: spec.{error}") from None


def _at(path: tuple[str | int, ...], build: Callable[[], Any]) -> Any:
    """``build()``, its ValueError (a ParameterError, a SpecError) as a SpecError under ``path``."""
    try:
        return build()
    except SpecError as error:
        raise SpecError((*path, *error.path), error.message) from None
    except ValueError as error:
        raise SpecError(path, str(error)) from None


def _number(text: str, key: str, *, positive: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpecError(("metadata", key), f"={text!r} is not a number; expected one") from None
    if not math.isfinite(value) or (positive and value <= 0):
        expected = "a finite number > 0" if positive else "a finite number"
        raise SpecError(("metadata", key), f"={text!r} is invalid; expected {expected}")
    return value


def _integer(text: str, key: str, *, low: int) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise SpecError(("metadata", key), f"={text!r} is not an integer; expected one") from None
    if not low <= value <= _INT32:
        raise SpecError(("metadata", key), f"={text!r} is invalid; expected {low} to {_INT32}")
    return value


def _unknown(metadata: Mapping[str, str], known: tuple[str, ...], kind: str) -> None:
    for key in metadata:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(
                ("metadata", key),
                f"unknown field of a {kind} trigger's metadata; expected one of "
                f"{', '.join(known)}{hint}",
            )


def _required(metadata: Mapping[str, str], keys: tuple[str, ...], kind: str) -> None:
    for key in keys:
        if key not in metadata:
            raise SpecError(("metadata",), f"a {kind} trigger needs metadata.{key}")


def _prometheus(trigger: _Trigger, index: int) -> PrometheusTrigger:
    metadata = trigger.metadata
    _unknown(metadata, (*_PROMETHEUS_USED, *_PROMETHEUS_KEPT), "prometheus")
    _required(metadata, ("serverAddress", "query", "threshold"), "prometheus")
    if trigger.metric_type == "Utilization":
        raise SpecError(
            ("metricType",), "='Utilization' is invalid; expected AverageValue or Value"
        )
    ignore = metadata.get("ignoreNullValues", "true")
    if ignore not in _GO_TRUE + _GO_FALSE:
        raise SpecError(
            ("metadata", "ignoreNullValues"), f"={ignore!r} is invalid; expected true or false"
        )
    metric = metadata.get("metricName") or trigger.name or f"s{index}-prometheus"
    return PrometheusTrigger(
        metric,
        _number(metadata["threshold"], "threshold", positive=True),
        activation_threshold=_number(
            metadata.get("activationThreshold", "0"), "activationThreshold"
        ),
        metric_type=trigger.metric_type or "AverageValue",
        server_address=metadata["serverAddress"],
        query=metadata["query"],
        ignore_null_values=ignore in _GO_TRUE,
        name=trigger.name,
        extra={k: v for k, v in metadata.items() if k in _PROMETHEUS_KEPT},
    )


def _resource(trigger: _Trigger) -> ResourceTrigger:
    metadata, kind = trigger.metadata, trigger.type
    _unknown(metadata, _RESOURCE_KEYS, kind)
    _required(metadata, ("value",), kind)
    metric_type = trigger.metric_type
    if metric_type not in ("Utilization", "AverageValue"):
        given = "none" if metric_type is None else repr(metric_type)
        raise SpecError(
            ("metricType",),
            f"is {given}; a {kind} trigger needs metricType Utilization or AverageValue "
            "(metadata.type was removed in KEDA 2.18)",
        )
    text = metadata["value"]
    if metric_type == "Utilization":
        target = _integer(text, "value", low=1)
    else:
        try:
            target = parse_quantity(text)
        except ValueError:
            raise SpecError(
                ("metadata", "value"), f"={text!r} is not a Kubernetes quantity such as 500m"
            ) from None
        if target <= 0:
            raise SpecError(("metadata", "value"), f"={text!r} is invalid; expected above 0")
    return ResourceTrigger(
        kind,  # type: ignore[arg-type]
        target,
        metric_type,
        container=metadata.get("containerName") or None,
        name=trigger.name,
    )


def _cron(trigger: _Trigger, index: int) -> CronTrigger:
    metadata = trigger.metadata
    _unknown(metadata, _CRON_KEYS, "cron")
    _required(metadata, _CRON_KEYS, "cron")
    if trigger.metric_type == "Utilization":
        raise SpecError(
            ("metricType",), "='Utilization' is invalid; expected AverageValue or Value"
        )
    desired = _integer(metadata["desiredReplicas"], "desiredReplicas", low=1)
    try:
        return CronTrigger(
            metadata["start"], metadata["end"], desired, metadata["timezone"],
            metric=trigger.name or f"s{index}-cron", metric_type=trigger.metric_type or
            "AverageValue", name=trigger.name,
        )  # fmt: skip
    except ValueError as error:
        field = getattr(error, "name", None)
        key = {"start": "start", "end": "end", "timezone": "timezone"}.get(str(field), "")
        raise SpecError(("metadata", key) if key else ("metadata",), str(error)) from None


def _trigger(trigger: _Trigger, index: int) -> Trigger:
    if trigger.use_cached_metrics and trigger.type in ("cpu", "memory", "cron"):
        raise SpecError(
            ("useCachedMetrics",),
            f"=True is invalid; KEDA does not support it for {trigger.type!r} triggers",
        )
    if trigger.type == "prometheus":
        return _prometheus(trigger, index)
    if trigger.type in ("cpu", "memory"):
        return _resource(trigger)
    if trigger.type == "cron":
        return _cron(trigger, index)
    raise SpecError(
        ("type",),
        f"={trigger.type!r} is not modelled; expected one of {', '.join(_TYPES)} "
        "(a scaler elastic cannot read would be simulated wrongly)",
    )


def scaledobject_from_model(
    model: ScaledObjectManifest, *, origin: datetime | None = None
) -> ScaledObject:
    """The policy of a validated manifest.

    Raises :class:`~elastic.kubernetes.manifest.SpecError` (a ``ValueError``)
    naming the field of ``spec`` that cannot be built.
    """
    spec = model.spec
    advanced = spec.advanced
    if advanced is not None and advanced.scaling_modifiers:
        raise SpecError(
            ("advanced", "scalingModifiers"),
            "is not modelled: its formula replaces the triggers' metrics, which elastic "
            "would simulate wrongly; expected no scalingModifiers",
        )
    triggers: list[Trigger] = []
    names: dict[str, int] = {}
    for i, item in enumerate(spec.triggers):
        if item.name is not None and item.name in names:
            raise SpecError(
                ("triggers", i, "name"),
                f"={item.name!r} is taken by triggers[{names[item.name]}]; expected trigger "
                "names to be unique (KEDA's rule)",
            )
        if item.name is not None:
            names[item.name] = i
        triggers.append(_at(("triggers", i), partial(_trigger, item, i)))
    # KEDA's CheckReplicaCountBoundsAreValid (minReplicaCount counts as 1 when given as 0)
    low = 0 if spec.min_replica_count is None else max(spec.min_replica_count, 1)
    high = 100 if spec.max_replica_count is None else spec.max_replica_count
    given_low = spec.min_replica_count or 0
    if given_low > high:
        raise SpecError(
            ("minReplicaCount",), f"={given_low} is invalid; expected at most maxReplicaCount "
            f"({high})",
        )  # fmt: skip
    if spec.idle_replica_count is not None and spec.idle_replica_count >= low:
        raise SpecError(
            ("idleReplicaCount",),
            f"={spec.idle_replica_count} is invalid; expected below minReplicaCount ({low}, "
            "KEDA's rule: an unset minReplicaCount counts as 0, a 0 as 1)",
        )
    fallback = None
    if spec.fallback is not None:
        if spec.fallback.behavior == "scalingModifiers":
            raise SpecError(
                ("fallback", "behavior"),
                "='scalingModifiers' needs advanced.scalingModifiers, which elastic does not "
                "model; expected static, currentReplicas, currentReplicasIfHigher or "
                "currentReplicasIfLower",
            )
        if all(isinstance(t, ResourceTrigger) for t in triggers):
            raise SpecError(
                ("fallback",),
                "is invalid with only cpu and memory triggers; expected a trigger of another "
                "type (KEDA's rule: their metrics do not pass through KEDA)",
            )
        fallback = Fallback(
            spec.fallback.failure_threshold,
            spec.fallback.replicas,
            spec.fallback.behavior or "static",
        )
    config = advanced.horizontal_pod_autoscaler_config if advanced is not None else None
    behavior = None
    if config is not None and config.behavior is not None:
        hpa_config = config.behavior
        behavior = _at(("advanced", "horizontalPodAutoscalerConfig"), hpa_config.build)
    try:
        return ScaledObject(
            triggers=triggers,
            min_replica_count=given_low,
            max_replica_count=high,
            cooldown_period=float(300 if spec.cooldown_period is None else spec.cooldown_period),
            polling_interval=float(30 if spec.polling_interval is None else spec.polling_interval),
            idle_replica_count=spec.idle_replica_count,
            fallback=fallback,
            behavior=behavior,
            origin=origin,
            name=model.metadata.name,
            target_ref=spec.scale_target_ref.model_dump(by_alias=True, exclude_none=True),
        )
    except PolicyError as error:
        raise SpecError((), str(error)) from None


_NOT_MODELLED = "not modelled: left out of the simulation and of to_manifest()"


def scaledobject_notes(model: ScaledObjectManifest) -> list[tuple[tuple[str | int, ...], str]]:
    """What a valid manifest holds that elastic accepts but does not model: (path, note)."""
    notes: list[tuple[tuple[str | int, ...], str]] = []
    data = model.model_dump(by_alias=True, exclude_none=True)
    notes += [(("metadata", key), _NOT_MODELLED) for key in data["metadata"] if key != "name"]
    if model.status is not None:
        notes.append((("status",), "written by the KEDA operator: read and ignored"))
    spec = model.spec
    if spec.initial_cooldown_period is not None:
        notes.append((
            ("spec", "initialCooldownPeriod"),
            "not modelled: a ScaledObject whose triggers were never active scales to zero at "
            "its first inactive poll (KEDA waits this long after creation)",
        ))  # fmt: skip
    advanced = spec.advanced
    if advanced is not None and advanced.restore_to_original_replica_count is not None:
        notes.append((
            ("spec", "advanced", "restoreToOriginalReplicaCount"),
            "acts when the ScaledObject is deleted, which is not simulated; " + _NOT_MODELLED,
        ))  # fmt: skip
    config = advanced.horizontal_pod_autoscaler_config if advanced is not None else None
    if config is not None and config.name is not None:
        notes.append((("spec", "advanced", "horizontalPodAutoscalerConfig", "name"),
                      _NOT_MODELLED))  # fmt: skip
    for i, trigger in enumerate(spec.triggers):
        at: tuple[str | int, ...] = ("spec", "triggers", i)
        if trigger.authentication_ref is not None:
            notes.append(((*at, "authenticationRef"), _NOT_MODELLED))
        if trigger.use_cached_metrics is not None:
            notes.append((
                (*at, "useCachedMetrics"),
                "not modelled: elastic reads each metric once per observation; "
                "left out of to_manifest()",
            ))  # fmt: skip
        if trigger.type == "prometheus":
            for key in trigger.metadata:
                if key in _PROMETHEUS_KEPT:
                    notes.append((
                        (*at, "metadata", key),
                        "kept for to_manifest(), not used (the metrics source runs the query)",
                    ))  # fmt: skip
        if trigger.type in ("cpu", "memory") and "type" in trigger.metadata:
            notes.append((
                (*at, "metadata", "type"),
                "deprecated and ignored by KEDA (metricType decides); left out of to_manifest()",
            ))  # fmt: skip
    return notes


# --- out ------------------------------------------------------------------------------------------


def _text(value: float) -> str:
    """A number as KEDA's metadata writes it: ``10``, not ``10.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _whole(value: float, field: str) -> int:
    if not float(value).is_integer():
        raise PolicyError(
            field, value, "whole seconds: the manifest's field is an integer",
            owner="ScaledObject.to_manifest",
        )  # fmt: skip
    return int(value)


def _trigger_out(trigger: Trigger, index: int) -> dict[str, Any]:
    out: dict[str, Any] = {"type": trigger.type}
    if trigger.name is not None:
        out["name"] = trigger.name
    if isinstance(trigger, PrometheusTrigger):
        metadata = {"serverAddress": trigger.server_address, "query": trigger.query,
                    "threshold": _text(trigger.threshold)}  # fmt: skip
        if trigger.activation_threshold != 0:
            metadata["activationThreshold"] = _text(trigger.activation_threshold)
        metadata["ignoreNullValues"] = "true" if trigger.ignore_null_values else "false"
        if trigger.metric != (trigger.name or f"s{index}-prometheus"):
            metadata["metricName"] = trigger.metric
        out["metadata"] = {**metadata, **trigger.extra}
        if trigger.metric_type != "AverageValue":
            out["metricType"] = trigger.metric_type
    elif isinstance(trigger, ResourceTrigger):
        out["metricType"] = trigger.metric_type
        value = str(trigger.target) if trigger.metric_type == "Utilization" else format_milli(
            trigger.target
        )  # fmt: skip
        out["metadata"] = {"value": value}
        if trigger.container is not None:
            out["metadata"]["containerName"] = trigger.container
    else:
        if trigger.metric != (trigger.name or f"s{index}-cron"):
            raise PolicyError(
                f"triggers[{index}].metric", trigger.metric,
                f"the trigger's name, or s{index}-cron without one: a manifest names a cron "
                "trigger's metric no other way", owner="ScaledObject.to_manifest",
            )  # fmt: skip
        out["metadata"] = {
            "timezone": trigger.timezone,
            "start": trigger.start,
            "end": trigger.end,
            "desiredReplicas": str(trigger.desired_replicas),
        }
        if trigger.metric_type != "AverageValue":
            out["metricType"] = trigger.metric_type
    return out


def scaledobject_to_manifest(so: ScaledObject) -> dict[str, Any]:
    """The ``keda.sh/v1alpha1`` manifest of ``so`` (every modelled field written)."""
    owner = "ScaledObject.to_manifest"
    if not so.triggers:
        raise PolicyError(
            "triggers", so.triggers,
            "triggers: a ScaledObject built with metric= has no trigger type to write", owner=owner,
        )  # fmt: skip
    if so.hpa is not None:
        raise PolicyError(
            "hpa", so.hpa, "None: a manifest's HPA is the one KEDA builds from the triggers",
            owner=owner,
        )  # fmt: skip
    spec: dict[str, Any] = {
        "scaleTargetRef": dict(so.target_ref or {"name": so.name}),
        "pollingInterval": _whole(so.polling_interval, "polling_interval"),
        "cooldownPeriod": _whole(so.cooldown_period, "cooldown_period"),
        "minReplicaCount": int(so.min_replica_count),
        "maxReplicaCount": int(so.max_replica_count),
    }
    if so.idle_replica_count is not None:
        spec["idleReplicaCount"] = int(so.idle_replica_count)
    if so.behavior is not None:
        behavior = {"scaleUp": _rules(so.behavior.scale_up, "scale_up"),
                    "scaleDown": _rules(so.behavior.scale_down, "scale_down")}  # fmt: skip
        spec["advanced"] = {"horizontalPodAutoscalerConfig": {"behavior": behavior}}
    spec["triggers"] = [_trigger_out(t, i) for i, t in enumerate(so.triggers)]
    if so.fallback is not None:
        spec["fallback"] = {
            "failureThreshold": so.fallback.failure_threshold,
            "replicas": so.fallback.replicas,
            "behavior": so.fallback.behavior,
        }
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": so.name},
        "spec": spec,
    }
