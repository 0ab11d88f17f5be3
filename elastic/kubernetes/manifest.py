"""``autoscaling/v2`` HorizontalPodAutoscaler manifests in and out (pydantic at this boundary)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from elastic.core.behavior import Behavior, RateLimit, ScalingRules
from elastic.errors import ManifestError, PolicyError
from elastic.kubernetes.behavior import API_PERIOD, API_WINDOW
from elastic.kubernetes.hpa import HorizontalPodAutoscaler, Metric
from elastic.kubernetes.quantity import format_milli, parse_quantity
from elastic.kubernetes.replicas import Tolerance
from elastic.yamlfile import load_yaml, pydantic_errors

__all__ = ["HPAManifest", "SpecError", "hpa_from_manifest", "hpa_from_model", "hpa_to_manifest"]

Quantity = str | int | float


# strict: a boolean is not a number (YAML reads `yes` as true, and pydantic would take it as 1)
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, strict=True)


class _Ref(_Model):
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str
    name: str


class _Target(_Model):
    type: Literal["Utilization", "Value", "AverageValue"]
    value: Quantity | None = None
    average_value: Quantity | None = Field(None, alias="averageValue")
    average_utilization: int | None = Field(None, alias="averageUtilization", gt=0)

    @field_validator("value", "average_value")
    @classmethod
    def _quantity(cls, value: Quantity | None) -> Quantity | None:
        if value is not None:
            try:
                milli = parse_quantity(value)
            except ValueError:
                raise ValueError("expected a Kubernetes quantity such as 500m, 10 or 1k") from None
            if milli <= 0:
                raise ValueError("expected a quantity > 0 (Kubernetes refuses others)")
        return value

    @model_validator(mode="after")
    def _matches_type(self) -> _Target:
        needed = {
            "Utilization": "averageUtilization",
            "Value": "value",
            "AverageValue": "averageValue",
        }
        field = {"Utilization": self.average_utilization, "Value": self.value,
                 "AverageValue": self.average_value}[self.type]  # fmt: skip
        if field is None:
            raise ValueError(f"a target of type {self.type} needs {needed[self.type]}")
        return self

    def milli(self) -> int:
        if self.type == "Utilization":
            assert self.average_utilization is not None
            return self.average_utilization
        quantity = self.value if self.type == "Value" else self.average_value
        assert quantity is not None
        return parse_quantity(quantity)


class _Identifier(_Model):
    name: str
    selector: dict[str, Any] | None = None


class _Resource(_Model):
    name: str
    target: _Target


class _ContainerResource(_Model):
    name: str
    container: str
    target: _Target


class _Pods(_Model):
    metric: _Identifier
    target: _Target


class _Object(_Model):
    described_object: _Ref = Field(alias="describedObject")
    metric: _Identifier
    target: _Target


class _External(_Model):
    metric: _Identifier
    target: _Target


_SOURCE = {"Resource": "resource", "ContainerResource": "container_resource", "Pods": "pods",
           "Object": "object", "External": "external"}  # fmt: skip
_ALIAS = {"container_resource": "containerResource"}


class _MetricSpec(_Model):
    type: Literal["Resource", "ContainerResource", "Pods", "Object", "External"]
    resource: _Resource | None = None
    container_resource: _ContainerResource | None = Field(None, alias="containerResource")
    pods: _Pods | None = None
    object: _Object | None = None
    external: _External | None = None

    @model_validator(mode="after")
    def _one_source(self) -> _MetricSpec:
        wanted = _SOURCE[self.type]
        if getattr(self, wanted) is None:
            raise ValueError(f"a metric of type {self.type} needs {_ALIAS.get(wanted, wanted)}")
        extra = [_ALIAS.get(k, k) for k in _SOURCE.values() if k != wanted and getattr(self, k)]
        if extra:
            raise ValueError(f"a metric of type {self.type} must not have {', '.join(extra)}")
        return self

    def build(self) -> Metric:
        source = getattr(self, _SOURCE[self.type])
        if self.type in ("Resource", "ContainerResource"):
            if source.target.type == "Value":
                raise ValueError(f"{self.type} metrics take Utilization or AverageValue targets")
            return Metric(
                self.type,
                source.name,
                source.target.type,
                source.target.milli(),
                container=getattr(source, "container", None),
            )
        if self.type == "Pods" and source.target.type != "AverageValue":
            raise ValueError("Pods metrics take AverageValue targets")
        if self.type in ("Object", "External") and source.target.type == "Utilization":
            raise ValueError(f"{self.type} metrics take Value or AverageValue targets")
        described = None
        if self.type == "Object":
            described = source.described_object.model_dump(by_alias=True, exclude_none=True)
        return Metric(
            self.type,
            source.metric.name,
            source.target.type,
            source.target.milli(),
            described_object=described,
            selector=source.metric.selector,
        )


class _Policy(_Model):
    type: Literal["Pods", "Percent"]
    value: int = Field(gt=0)
    period_seconds: int = Field(alias="periodSeconds", gt=0, le=API_PERIOD)


class _Rules(_Model):
    stabilization_window_seconds: int | None = Field(
        None, alias="stabilizationWindowSeconds", ge=0, le=API_WINDOW
    )
    select_policy: Literal["Max", "Min", "Disabled"] | None = Field(None, alias="selectPolicy")
    policies: list[_Policy] | None = None
    tolerance: Quantity | None = None

    @field_validator("policies")
    @classmethod
    def _some_policy(cls, value: list[_Policy] | None) -> list[_Policy] | None:
        if value is not None and not value:
            raise ValueError("must specify at least one policy (the Kubernetes API's rule)")
        return value

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: Quantity | None) -> Quantity | None:
        if value is not None:
            try:
                milli = parse_quantity(value)
            except ValueError:
                raise ValueError("expected a Kubernetes quantity such as 100m or 0.1") from None
            if milli < 0:
                raise ValueError("expected a quantity >= 0 (Kubernetes refuses others)")
        return value

    def build(self, default: ScalingRules) -> ScalingRules:
        """These rules, ``default`` (the Kubernetes default of the direction) filling the
        fields left out, as the API server's defaulting does."""
        given: dict[str, Any] = {}
        if self.stabilization_window_seconds is not None:
            given["stabilization_window_seconds"] = float(self.stabilization_window_seconds)
        if self.select_policy is not None:
            given["select_policy"] = self.select_policy
        if self.policies is not None:
            given["policies"] = [
                RateLimit(p.type, p.value, float(p.period_seconds)) for p in self.policies
            ]
        if self.tolerance is not None:
            given["tolerance"] = parse_quantity(self.tolerance) / 1000
        return replace(default, **given)


class _Behavior(_Model):
    scale_up: _Rules | None = Field(None, alias="scaleUp")
    scale_down: _Rules | None = Field(None, alias="scaleDown")

    def build(self) -> Behavior:
        """The :class:`elastic.Behavior`: the Kubernetes defaults for what is left out
        (``SetDefaults_HorizontalPodAutoscalerBehavior``). Raises :class:`SpecError`."""
        defaults = Behavior.kubernetes_default()
        rules: dict[str, ScalingRules] = {}
        for key, alias in (("scale_up", "scaleUp"), ("scale_down", "scaleDown")):
            given: _Rules | None = getattr(self, key)
            default: ScalingRules = getattr(defaults, key)
            try:
                rules[key] = default if given is None else given.build(default)
            except ValueError as error:  # a ParameterError is a ValueError too
                raise SpecError(("behavior", alias), str(error)) from None
        return Behavior(rules["scale_up"], rules["scale_down"])


class _Spec(_Model):
    scale_target_ref: _Ref = Field(alias="scaleTargetRef")
    min_replicas: int | None = Field(None, alias="minReplicas", ge=0)
    max_replicas: int = Field(alias="maxReplicas", ge=1)
    metrics: list[_MetricSpec] | None = None
    behavior: _Behavior | None = None


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    name: str


class HPAManifest(_Model):
    api_version: Literal["autoscaling/v2"] = Field(alias="apiVersion")
    kind: Literal["HorizontalPodAutoscaler"]
    metadata: _Metadata
    spec: _Spec
    status: dict[str, Any] | None = None  # what the controller wrote: not an input


class SpecError(ValueError):
    """A field of an HPA's ``spec`` that cannot become a policy, at ``path`` under ``spec``."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        self.message = message
        dotted = ".".join(str(p) for p in path)
        super().__init__(
            f"{dotted}{message}" if message.startswith("=") else f"{dotted}: {message}"
        )


def hpa_from_manifest(
    doc: Mapping[str, Any] | str, *, tolerance: float | Tolerance = 0.1
) -> HorizontalPodAutoscaler:
    """The policy of an ``autoscaling/v2`` HPA manifest (a mapping or YAML text).

    Every problem is reported at once, with its field path and value, in a
    :class:`~elastic.errors.ManifestError`.
    """
    data = load_yaml(doc, name="HorizontalPodAutoscaler") if isinstance(doc, str) else doc
    name = "HorizontalPodAutoscaler"
    try:
        model = HPAManifest.model_validate(data)
    except ValidationError as error:
        raise pydantic_errors(name, error.errors()) from None
    try:
        return hpa_from_model(model, tolerance=tolerance)
    except ValueError as error:
        raise ManifestError(f"{name}: spec.{error}") from None


def hpa_from_model(
    model: HPAManifest, *, tolerance: float | Tolerance = 0.1
) -> HorizontalPodAutoscaler:
    """The policy of a validated manifest.

    Raises :class:`SpecError` (a ``ValueError``) naming the field of ``spec``
    that cannot be built.
    """
    spec = model.spec
    metrics = []
    for i, metric in enumerate(spec.metrics or ()):
        try:
            metrics.append(metric.build())
        except ValueError as error:
            raise SpecError(("metrics", i), str(error)) from None
    behavior = None if spec.behavior is None else spec.behavior.build()
    low = 1 if spec.min_replicas is None else spec.min_replicas
    if low > spec.max_replicas:
        raise SpecError(
            ("minReplicas",),
            f"={low} is invalid; expected at most maxReplicas ({spec.max_replicas})",
        )
    return HorizontalPodAutoscaler(
        metrics,
        min_replicas=low,
        max_replicas=spec.max_replicas,
        behavior=behavior,
        tolerance=tolerance,
        name=model.metadata.name,
        target_ref=spec.scale_target_ref.model_dump(by_alias=True, exclude_none=True),
    )


def _target(metric: Metric) -> dict[str, Any]:
    if metric.target_type == "Utilization":
        return {"type": "Utilization", "averageUtilization": metric.target}
    key = "value" if metric.target_type == "Value" else "averageValue"
    return {"type": metric.target_type, key: format_milli(metric.target)}


def _metric(metric: Metric) -> dict[str, Any]:
    if metric.type == "Resource":
        return {"type": "Resource", "resource": {"name": metric.name, "target": _target(metric)}}
    if metric.type == "ContainerResource":
        source = {"name": metric.name, "container": metric.container, "target": _target(metric)}
        return {"type": "ContainerResource", "containerResource": source}
    identifier: dict[str, Any] = {"name": metric.name}
    if metric.selector is not None:
        identifier["selector"] = dict(metric.selector)
    body: dict[str, Any] = {"metric": identifier, "target": _target(metric)}
    if metric.type == "Object":
        body = {"describedObject": dict(metric.described_object or {}), **body}
    return {"type": metric.type, metric.type.lower(): body}


def _rules(rules: ScalingRules, direction: str) -> dict[str, Any]:
    """One direction, every field written (the HPA checked they fit the API: whole seconds)."""
    if not rules.policies:
        raise PolicyError(
            f"behavior.{direction}.policies",
            (),
            "at least one rate limit: autoscaling/v2 has no way to write a direction without",
            owner="HorizontalPodAutoscaler.to_manifest",
        )
    out: dict[str, Any] = {
        "stabilizationWindowSeconds": int(rules.stabilization_window_seconds),
        "selectPolicy": rules.select_policy,
        "policies": [
            {"type": p.type, "value": p.value, "periodSeconds": int(p.period_seconds)}
            for p in rules.policies
        ],
    }
    if rules.tolerance is not None:
        out["tolerance"] = format_milli(int(Decimal(str(rules.tolerance)) * 1000))
    return out


def hpa_to_manifest(hpa: HorizontalPodAutoscaler) -> dict[str, Any]:
    """The ``autoscaling/v2`` manifest of ``hpa``."""
    spec: dict[str, Any] = {
        "scaleTargetRef": dict(hpa.target_ref or {"apiVersion": "apps/v1", "kind": "Deployment",
                                                   "name": hpa.name}),
        "minReplicas": hpa.min_replicas,
        "maxReplicas": hpa.max_replicas,
    }  # fmt: skip
    if hpa.metrics:
        spec["metrics"] = [_metric(m) for m in hpa.metrics]
    if hpa.behavior is not None:
        spec["behavior"] = {
            "scaleUp": _rules(hpa.behavior.scale_up, "scale_up"),
            "scaleDown": _rules(hpa.behavior.scale_down, "scale_down"),
        }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": hpa.name},
        "spec": spec,
    }
