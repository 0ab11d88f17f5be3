"""The winner of a tuning as the configuration a user deploys: HPA, AWS request or ScalingPolicy.

Every export is checked by loading it back with elastic's own importer
(:func:`~elastic.kubernetes.manifest.hpa_from_manifest`,
:func:`~elastic.scenario.aws.from_put_scaling_policy`,
:func:`elastic.scenario.load`): what comes back must hold the same
parameters, or the export is refused with the first parameter that
differs, so nothing is changed silently on its way to production.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic.alias_generators import to_camel

from elastic.core.cooldown import Cooldown
from elastic.core.loop import DecisionLoop
from elastic.core.params import Params
from elastic.errors import ElasticError, ParameterError
from elastic.kubernetes.hpa import HorizontalPodAutoscaler, Metric
from elastic.kubernetes.manifest import hpa_from_manifest
from elastic.policies import StepScaling, TargetTracking
from elastic.scenario.aws import ImportedPolicy, from_put_scaling_policy, to_put_scaling_policy

__all__ = [
    "FORMATS",
    "aws_loop",
    "export",
    "to_aws",
    "to_hpa",
    "to_scaling_policy",
]

FORMATS = ("hpa", "aws", "elastic")
_OWNER = "export"


# --- comparing what was exported with what comes back --------------------------------------


def _plain(obj: Any) -> Any:
    """Parameters as plain nested values (a class's name first), for comparison."""
    if isinstance(obj, Params):
        params = obj.get_params()
        if isinstance(obj, DecisionLoop) and not isinstance(obj.policies, list | tuple):
            params["policies"] = [obj.policies]  # one policy given alone is a list of one
        return {"": type(obj).__name__, **{k: _plain(v) for k, v in params.items()}}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {"": type(obj).__name__, **fields}
    if isinstance(obj, list | tuple):
        return [_plain(item) for item in obj]
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    return obj


def _difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            where = path if key == "" else (f"{path}.{key}" if path else key)
            found = _difference(a.get(key), b.get(key), where)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    nan = isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    same = (a == b and isinstance(a, bool) == isinstance(b, bool)) or nan  # True is not 1
    return None if same else (path, a, b)


def _same(loop: Any, back: Any, what: str) -> None:
    found = _difference(_plain(loop), _plain(back))
    if found is not None:
        path, given, loaded = found
        raise ParameterError(
            f"loop.{path}" if path else "loop", given,
            f"a value {what} can express (it loads back as {loaded!r})", owner=_OWNER,
        )  # fmt: skip


def _only_policy(loop: DecisionLoop, what: str) -> Any:
    if not isinstance(loop, DecisionLoop):
        raise ParameterError("loop", loop, "a DecisionLoop", owner=_OWNER)
    policies = loop.policies if isinstance(loop.policies, list | tuple) else [loop.policies]
    if len(policies) != 1:
        raise ParameterError(
            "loop.policies", policies, f"one policy: {what} holds one", owner=_OWNER
        )
    return policies[0]


# --- Kubernetes HPA ------------------------------------------------------------------------


def _hpa_of(loop: DecisionLoop, name: str | None) -> HorizontalPodAutoscaler:
    policy = _only_policy(loop, "an HPA")
    behavior = loop.behavior
    if isinstance(policy, HorizontalPodAutoscaler):
        params = policy.get_params()
        params.update(
            min_replicas=loop.min_replicas,
            max_replicas=loop.max_replicas,
            behavior=None if behavior is None or behavior.no_behavior else behavior,
        )
        if name is not None:
            params["name"] = name
        if params["target_ref"] is None:  # what the manifest writes for none
            params["target_ref"] = _target_ref(params["name"])
        return HorizontalPodAutoscaler(**params)
    if not isinstance(policy, TargetTracking):
        raise ParameterError(
            "loop.policies[0]", policy,
            "a HorizontalPodAutoscaler, or a TargetTracking on cpu or memory utilization: "
            "an HPA expresses no other policy",
            owner=_OWNER,
        )  # fmt: skip
    refused = [
        ("metric", policy.metric, policy.metric in ("cpu", "memory"), "'cpu' or 'memory'"),
        ("kind", policy.kind, policy.kind == "utilization", "'utilization'"),
        ("target", policy.target, float(policy.target).is_integer(),
         "a whole percent (an HPA's averageUtilization is an integer)"),
        ("scale_in_margin", policy.scale_in_margin, policy.scale_in_margin == 0,
         "0 (an HPA has no scale-in margin)"),
        ("disable_scale_in", policy.disable_scale_in, policy.disable_scale_in is False,
         "False (use behavior.scale_down.select_policy='Disabled')"),
    ]  # fmt: skip
    for field, value, ok, expected in refused:
        if not ok:
            raise ParameterError(f"loop.policies[0].{field}", value, expected, owner=_OWNER)
    for field, value in (("cooldown", loop.cooldown), ("warmup", loop.warmup)):
        if value is not None:
            raise ParameterError(
                f"loop.{field}", value, "None: an HPA has no cooldown or warm-up of its own",
                owner=_OWNER,
            )  # fmt: skip
    if behavior is None:
        raise ParameterError(
            "loop.behavior", None,
            "a Behavior (e.g. Behavior.kubernetes_default()): an HPA always stabilizes "
            "and rate-limits",
            owner=_OWNER,
        )  # fmt: skip
    metric = Metric("Resource", policy.metric, "Utilization", int(policy.target))
    return HorizontalPodAutoscaler(
        [metric], min_replicas=loop.min_replicas, max_replicas=loop.max_replicas,
        behavior=None if behavior.no_behavior else behavior, tolerance=policy.tolerance,
        name=name or "hpa", target_ref=_target_ref(name or "hpa"),
    )  # fmt: skip


def _target_ref(name: str) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


def to_hpa(loop: DecisionLoop, *, name: str | None = None) -> dict[str, Any]:
    """The ``autoscaling/v2`` HorizontalPodAutoscaler manifest of ``loop``.

    ``loop`` is an HPA's loop (its stages, bounds and ``behavior`` taken from
    the loop, so a tuned window is written), or one a real HPA can express:
    one :class:`TargetTracking` on ``cpu`` or ``memory`` utilization at a
    whole percent, without scale-in margin, with a ``behavior`` and without
    cooldown or warm-up. It then runs as the HPA controller computes it
    (its replica rules per pod, its sync). Anything else is a
    :class:`~elastic.errors.ParameterError` saying what an HPA cannot express.

    Examples
    --------
    >>> from elastic import Behavior, DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop(TargetTracking("cpu", 55.0), min_replicas=2, max_replicas=30,
    ...                     behavior=Behavior.kubernetes_default())
    >>> manifest = to_hpa(loop, name="web")
    >>> manifest["spec"]["metrics"]
    [{'type': 'Resource', 'resource': {'name': 'cpu', 'target': {'type': 'Utilization', 'averageUtilization': 55}}}]
    >>> to_hpa(DecisionLoop(TargetTracking("cpu", 55.5), min_replicas=1, max_replicas=9,
    ...                     behavior=Behavior.kubernetes_default()))
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: export: loop.policies[0].target=55.5 is invalid; expected a whole percent (an HPA's averageUtilization is an integer)
    """  # noqa: E501
    hpa = _hpa_of(loop, name)
    manifest = hpa.to_manifest()
    text = yaml.safe_dump(manifest, sort_keys=False)
    try:
        back = hpa_from_manifest(text, tolerance=hpa.tolerance)
    except ElasticError as error:
        raise ParameterError("loop", loop, f"a loop an HPA can express ({error})",
                             owner=_OWNER) from None  # fmt: skip
    _same(hpa.loop(), back.loop(), "an HPA manifest")
    return manifest


# --- AWS Application Auto Scaling ------------------------------------------------------------


def to_aws(
    loop: DecisionLoop, *, name: str = "policy", fields: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The Application Auto Scaling ``PutScalingPolicy`` request of ``loop``.

    ``loop`` holds one :class:`TargetTracking` (no tolerance band and no
    scale-in margin, which AWS does not have) or one :class:`StepScaling`
    (one evaluation period: the alarm's periods live in CloudWatch), with an
    application cooldown (or none: 0 s is written) and no ``behavior`` or
    warm-up. ``fields`` are the request's other fields (``ServiceNamespace``,
    ``ResourceId``, ``ScalableDimension``...), written as given. The bounds
    belong to the scalable target (``RegisterScalableTarget``), not to this
    request; :func:`aws_loop` takes them to rebuild the loop.

    Examples
    --------
    >>> from elastic import Cooldown, DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop(TargetTracking("cpu", 62.5, tolerance=0.0), min_replicas=1,
    ...                     max_replicas=20, cooldown=Cooldown(60, 240), combine="aws")
    >>> to_aws(loop, name="cpu", fields={"ServiceNamespace": "ecs"})["TargetTrackingScalingPolicyConfiguration"]
    {'TargetValue': 62.5, 'PredefinedMetricSpecification': {'PredefinedMetricType': 'ECSServiceAverageCPUUtilization'}, 'ScaleOutCooldown': 60, 'ScaleInCooldown': 240}
    """  # noqa: E501
    policy = _only_policy(loop, "a PutScalingPolicy request")
    if not isinstance(policy, TargetTracking | StepScaling):
        raise ParameterError(
            "loop.policies[0]", policy,
            "a TargetTracking or a StepScaling: AWS scaling policies are one of these",
            owner=_OWNER,
        )  # fmt: skip
    for field, value in (("behavior", loop.behavior), ("warmup", loop.warmup)):
        if value is not None:
            raise ParameterError(
                f"loop.{field}", value,
                "None: an AWS scaling policy has no stabilization window, rate limit or warm-up",
                owner=_OWNER,
            )  # fmt: skip
    cooldown = loop.cooldown
    if cooldown is None:
        cooldown = Cooldown(0, 0)
    elif not isinstance(cooldown, Cooldown) or cooldown.mode != "application":
        raise ParameterError(
            "loop.cooldown", cooldown,
            "None or a Cooldown(scale_out, scale_in) in 'application' mode, as Application "
            "Auto Scaling applies cooldowns",
            owner=_OWNER,
        )  # fmt: skip
    seconds = {}
    for field, value in (("scale_out", cooldown.scale_out), ("scale_in", cooldown.scale_in)):
        if not float(value).is_integer():
            raise ParameterError(f"loop.cooldown.{field}", value, "whole seconds", owner=_OWNER)
        seconds[field] = int(value)
    if isinstance(policy, StepScaling):
        if seconds["scale_out"] != seconds["scale_in"]:
            raise ParameterError(
                "loop.cooldown", cooldown,
                "one Cooldown for both directions: a step scaling policy has one",
                owner=_OWNER,
            )  # fmt: skip
        spelled: dict[str, Any] = {"Cooldown": seconds["scale_out"]}
        kept = Cooldown(seconds["scale_out"], seconds["scale_in"])
    else:
        spelled = {"ScaleOutCooldown": seconds["scale_out"], "ScaleInCooldown": seconds["scale_in"]}
        kept = Cooldown(seconds["scale_out"], seconds["scale_in"])
    request = to_put_scaling_policy(
        ImportedPolicy(name, policy.clone(), kept, dict(fields or {}), spelled)
    )
    back = aws_loop(json.dumps(request), min_replicas=loop.min_replicas,
                    max_replicas=loop.max_replicas, combine=loop.combine,
                    metric=getattr(policy, "metric", None),
                    threshold=getattr(policy, "threshold", None))  # fmt: skip
    _same(DecisionLoop(policy, min_replicas=loop.min_replicas, max_replicas=loop.max_replicas,
                       cooldown=kept, combine=loop.combine), back,
          "a PutScalingPolicy request")  # fmt: skip
    return request


def aws_loop(
    request: Mapping[str, Any] | str,
    *,
    min_replicas: int,
    max_replicas: int,
    combine: str = "aws",
    metric: str | None = None,
    threshold: float | None = None,
) -> DecisionLoop:
    """The loop of a ``PutScalingPolicy`` request: its policy and cooldown within the
    scalable target's bounds (``metric`` and ``threshold``: a step policy's alarm).

    Examples
    --------
    >>> loop = aws_loop({"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
    ...                  "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0,
    ...                      "PredefinedMetricSpecification": {
    ...                          "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
    ...                      "ScaleOutCooldown": 60, "ScaleInCooldown": 300}},
    ...                 min_replicas=1, max_replicas=10)
    >>> loop.policies, loop.cooldown
    (TargetTracking(metric='cpu', target=50.0, tolerance=0.0), Cooldown(scale_out=60, scale_in=300, mode='application'))
    """  # noqa: E501
    imported = from_put_scaling_policy(request, metric=metric, threshold=threshold)
    return DecisionLoop(imported.policy, min_replicas=min_replicas, max_replicas=max_replicas,
                        cooldown=imported.cooldown, combine=combine)  # type: ignore[arg-type]  # fmt: skip


# --- elastic's own ScalingPolicy ---------------------------------------------------------------


def _entry(obj: Any, path: str) -> Any:
    """A parameter value as a manifest writes it (policies and forecasters as mappings)."""
    if isinstance(obj, Params):
        signature = obj.get_params()
        defaults = {k: p.default for k, p in inspect.signature(type(obj)).parameters.items()}
        out: dict[str, Any] = {"type": type(obj).__name__}
        for key, value in signature.items():
            if key in defaults and _difference(_plain(value), _plain(defaults[key])) is None:
                continue
            out[to_camel(key)] = _entry(value, f"{path}.{key}")
        return out
    if isinstance(obj, list | tuple):
        return [_entry(item, f"{path}[{i}]") for i, item in enumerate(obj)]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise ParameterError(
        path, obj, "a value a ScalingPolicy manifest can write (numbers, text, policies)",
        owner=_OWNER,
    )  # fmt: skip


def _rules(rules: Any, path: str) -> dict[str, Any]:
    if rules.tolerance is not None:
        raise ParameterError(
            f"{path}.tolerance", rules.tolerance,
            "None: a ScalingPolicy's behavior has no tolerance", owner=_OWNER,
        )  # fmt: skip
    return {
        "stabilizationWindowSeconds": rules.stabilization_window_seconds,
        "selectPolicy": rules.select_policy,
        "policies": [
            {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
            for p in rules.policies
        ],
    }


def to_scaling_policy(loop: DecisionLoop, *, name: str = "tuned") -> dict[str, Any]:
    """elastic's own ``ScalingPolicy`` manifest (``elastic/v1``) of ``loop``.

    Every policy is written by its class name with the parameters that
    differ from their defaults (camelCase); then the loop's bounds,
    behavior, cooldown, warm-up and combine. A loop run as the Kubernetes
    controller runs it (an HPA's or a ScaledObject's) is exported as what it
    is (:func:`to_hpa`), not here.

    Examples
    --------
    >>> from elastic import DecisionLoop
    >>> from elastic.policies import StepScaling
    >>> loop = DecisionLoop(StepScaling("cpu", 65.0, [(0, 20, 1), (20, None, 4), (None, 0, -1)]),
    ...                     min_replicas=1, max_replicas=30, cooldown=240)
    >>> print(yaml.safe_dump(to_scaling_policy(loop, name="steps"), sort_keys=False), end="")
    apiVersion: elastic/v1
    kind: ScalingPolicy
    metadata:
      name: steps
    spec:
      policies:
      - type: StepScaling
        metric: cpu
        threshold: 65.0
        steps:
        - - 0
          - 20
          - 1
        - - 20
          - null
          - 4
        - - null
          - 0
          - -1
      minReplicas: 1
      maxReplicas: 30
      cooldown: 240
      combine: max
    """
    from elastic.scenario import load, policy_loop

    if not isinstance(loop, DecisionLoop):
        raise ParameterError("loop", loop, "a DecisionLoop", owner=_OWNER)
    if loop.sync != "default":
        raise ParameterError(
            "loop.sync", loop.sync,
            "'default': a loop run as the Kubernetes controller runs it is exported as an HPA "
            "(format 'hpa')",
            owner=_OWNER,
        )  # fmt: skip
    policies = loop.policies if isinstance(loop.policies, list | tuple) else [loop.policies]
    spec: dict[str, Any] = {
        "policies": [_entry(p, f"loop.policies[{i}]") for i, p in enumerate(policies)],
        "minReplicas": loop.min_replicas,
        "maxReplicas": loop.max_replicas,
    }
    behavior = loop.behavior
    if behavior is not None:
        if behavior.no_behavior:
            raise ParameterError("loop.behavior", behavior,
                                 "a Behavior without no_behavior (an HPA's: format 'hpa')",
                                 owner=_OWNER)  # fmt: skip
        spec["behavior"] = {
            "scaleUp": _rules(behavior.scale_up, "loop.behavior.scale_up"),
            "scaleDown": _rules(behavior.scale_down, "loop.behavior.scale_down"),
        }
    cooldown = loop.cooldown
    if isinstance(cooldown, Cooldown):
        spec["cooldown"] = {"mode": cooldown.mode, "scaleOut": cooldown.scale_out,
                            "scaleIn": cooldown.scale_in}  # fmt: skip
    elif cooldown is not None:
        spec["cooldown"] = cooldown
    if loop.warmup is not None:
        spec["warmup"] = loop.warmup
    spec["combine"] = loop.combine
    manifest = {"apiVersion": "elastic/v1", "kind": "ScalingPolicy",
                "metadata": {"name": name}, "spec": spec}  # fmt: skip
    manifests = load(yaml.safe_dump(manifest, sort_keys=False))
    if manifests.problems:
        raise ParameterError(
            "loop", loop,
            f"a loop a ScalingPolicy manifest can express ({manifests.problems[0]})", owner=_OWNER,
        )  # fmt: skip
    _same(loop, policy_loop(manifests, name), "a ScalingPolicy manifest")
    return manifest


# --- files ---------------------------------------------------------------------------------------


def export(
    loop: DecisionLoop,
    format: str,
    path: str | Path | None = None,
    *,
    name: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> str:
    """``loop`` as text in ``format`` (``"hpa"`` or ``"elastic"``: YAML; ``"aws"``: JSON),
    written to ``path`` when given.

    Examples
    --------
    >>> from elastic import Behavior, DecisionLoop
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop(TargetTracking("cpu", 70.0), min_replicas=1, max_replicas=9,
    ...                     behavior=Behavior.kubernetes_default())
    >>> print(export(loop, "hpa", name="web").splitlines()[:2])
    ['apiVersion: autoscaling/v2', 'kind: HorizontalPodAutoscaler']
    >>> export(loop, "aws")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: export: loop.behavior=Behavior(...) is invalid; expected None: an AWS scaling policy has no stabilization window, rate limit or warm-up
    """  # noqa: E501
    if format not in FORMATS:
        raise ParameterError("format", format, "one of " + ", ".join(FORMATS), owner=_OWNER)
    if format == "hpa":
        text = yaml.safe_dump(to_hpa(loop, name=name), sort_keys=False)
    elif format == "elastic":
        text = yaml.safe_dump(to_scaling_policy(loop, name=name or "tuned"), sort_keys=False)
    else:
        text = json.dumps(to_aws(loop, name=name or "policy", fields=fields), indent=2) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
