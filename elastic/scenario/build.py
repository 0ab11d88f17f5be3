"""Build the simulator's scenario and the decision loop from checked manifests."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic.alias_generators import to_snake

from elastic.core.behavior import Behavior
from elastic.core.cooldown import Cooldown
from elastic.core.loop import DecisionLoop
from elastic.core.protocols import Policy
from elastic.cost.catalog import default_catalog
from elastic.errors import ElasticError, ParameterError
from elastic.keda.scaled_object import ScaledObject
from elastic.kubernetes.hpa import HorizontalPodAutoscaler
from elastic.scenario.documents import (
    Document,
    Problem,
    ProblemList,
)
from elastic.scenario.manifests import POLICY_KINDS, Built, Manifests
from elastic.scenario.models import (
    DISTRIBUTIONS,
    GENERATORS,
    NodeModel,
    ScalingPolicyModel,
    ScenarioModel,
    WorkloadModel,
    cpu_milli,
    seconds,
)
from elastic.sim.distributions import (
    Constant,
    Distribution,
    Empirical,
)
from elastic.sim.scenario import MetricsSpec, ReplicaSpec, Scenario
from elastic.sim.workload import TraceReplay, Workload

__all__ = [
    "Located",
    "build",
    "build_loop",
    "build_scenario",
    "build_service",
    "build_traffic",
    "build_workload",
    "distribution",
    "policies",
    "policy_loop",
]


def distribution(value: Any) -> Distribution:
    """The simulator's distribution for a manifest value (seconds, or ``{lognormal: ...}``)."""
    if isinstance(value, int | float):
        return Constant(float(value))
    ((name, params),) = value.items()
    if name == "empirical":
        return Empirical(params)
    if name == "constant":
        return Constant(params if isinstance(params, int | float) else params["value"])
    maker, names = DISTRIBUTIONS[name]
    return maker(*(params[key] for key in names))


def _registry() -> dict[str, type]:
    """Every policy a manifest can name, by class name."""
    from elastic import keda, knative, policies
    from elastic.policies.base import BasePolicy

    found: dict[str, type] = {
        name: obj
        for name in policies.__all__
        if isinstance(obj := getattr(policies, name), type)
        and issubclass(obj, BasePolicy)
        and obj is not BasePolicy
    }
    return found | {"KnativeKPA": knative.KnativeKPA, "ScaledObject": keda.ScaledObject}


def _value(value: Any, path: tuple[str | int, ...], key: str) -> Any:
    """A manifest value as a policy parameter: nested policies and forecasters are built."""
    from datetime import datetime

    from elastic import forecast
    from elastic.policies import ScheduledAction
    from elastic.policies.cron import time_zone

    if isinstance(value, list):
        return [_value(item, (*path, i), key) for i, item in enumerate(value)]
    if isinstance(value, Mapping) and "type" in value:
        kind = value["type"]
        if kind in _registry():
            return _policy(value, path)
        maker = getattr(forecast, str(kind), None)
        if isinstance(maker, type) and issubclass(maker, forecast.BaseForecaster):
            params = {to_snake(k): v for k, v in value.items() if k != "type"}
            try:
                return maker(**params)
            except (ElasticError, TypeError) as error:
                raise Located(path, str(error)) from None
        raise Located((*path, "type"), f"unknown policy or forecaster {kind!r}")
    if key == "actions" and isinstance(value, Mapping):
        zone = value.get("timezone")
        if zone is not None:
            try:
                time_zone(zone, owner="ScheduledAction")
            except ParameterError as error:
                raise Located(
                    (*path, "timezone"), f"unknown time zone {zone!r}; expected {error.expected}"
                ) from None
        try:
            return ScheduledAction(**{to_snake(k): v for k, v in value.items()})
        except (ElasticError, TypeError) as error:
            raise Located(path, str(error)) from None
    if key == "origin" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise Located(path, f"{value!r} is not an ISO 8601 time") from None
    return value


def _policy(entry: Any, path: tuple[str | int, ...]) -> Policy:
    """A policy from ``{type: ClassName, parameter: value, ...}`` (camelCase or snake_case)."""
    fields = (
        dict(entry)
        if isinstance(entry, Mapping)
        else {"type": entry.type, **(entry.model_extra or {})}
    )
    kind = fields.pop("type")
    registry = _registry()
    cls = registry.get(kind)
    if cls is None:
        known = ", ".join(sorted(registry))
        raise Located((*path, "type"), f"unknown policy type {kind!r}; expected one of {known}")
    accepted = list(inspect.signature(cls).parameters)
    params: dict[str, Any] = {}
    for raw, value in fields.items():
        key = to_snake(raw)
        if key not in accepted:
            raise Located(
                (*path, raw), f"{kind} has no parameter {key!r}; expected {', '.join(accepted)}"
            )
        params[key] = _value(value, (*path, raw), key)
    if kind == "StepScaling" and "steps" in params:
        params["steps"] = [tuple(step) for step in params["steps"]]
    try:
        return cls(**params)  # type: ignore[no-any-return]
    except (ElasticError, TypeError, ValueError) as error:
        raise Located(path, str(error)) from None


class Located(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def build_loop(document: Document, model: ScalingPolicyModel) -> DecisionLoop:
    spec = model.spec
    chosen = [_policy(entry, ("spec", "policies", i)) for i, entry in enumerate(spec.policies)]
    behavior = None
    if spec.behavior == "kubernetes-default":
        behavior = Behavior.kubernetes_default()
    elif spec.behavior is not None:
        behavior = spec.behavior.build()
    cooldown: Any = spec.cooldown
    try:
        if cooldown is not None and not isinstance(cooldown, int | float):
            cooldown = Cooldown(cooldown.scale_out, cooldown.scale_in, mode=cooldown.mode)
        return DecisionLoop(
            chosen,
            min_replicas=spec.min_replicas,
            max_replicas=spec.max_replicas,
            behavior=behavior,
            combine=spec.combine,
            cooldown=cooldown,
            warmup=spec.warmup,
        )
    except (ElasticError, TypeError, ValueError) as error:
        raise Located(("spec",), str(error)) from None


def build_traffic(
    manifests: Manifests, name: str, base: Path, allow_outside: bool = False
) -> tuple[Workload, Distribution]:
    """The Workload object ``name``'s arrivals and service times, built once per base.

    A :class:`ProblemList` located in its document when it cannot be built.
    """
    key = (name, base, allow_outside)
    if key not in manifests.traffic:
        document, model = manifests.objects["Workload"][name]
        manifests.traffic[key] = (
            build_workload(document, model, base, allow_outside),
            build_service(document, model),
        )
    return manifests.traffic[key]


def build_service(document: Document, model: WorkloadModel) -> Distribution:
    """The workload's service time distribution, or a problem at ``spec.service``."""
    try:
        return distribution(model.spec.service)
    except (ElasticError, TypeError, ValueError) as error:
        raise ProblemList([document.problem(("spec", "service"), str(error))]) from None


def build_workload(
    document: Document, model: WorkloadModel, base: Path, allow_outside: bool = False
) -> Workload:
    """The workload, or a :class:`ProblemList` located in ``document``."""
    try:
        return _workload_of(model, base, allow_outside)
    except Located as located:
        raise ProblemList([document.problem(located.path, str(located))]) from None


def _trace_file(name: str, base: Path, allow_outside: bool) -> Path:
    """The trace file ``name`` (relative to ``base``), inside ``base`` unless allowed."""
    where = ("spec", "trace", "file")
    file = Path(name)
    file = file if file.is_absolute() else base / file
    if not allow_outside:
        root = base.resolve()
        if not file.resolve().is_relative_to(root):
            raise Located(
                where,
                f"{name!r} is outside the manifests' folder {str(root)!r}; expected a file "
                "inside it (to allow it: elastic run/validate/compare --allow-outside, or "
                "load(..., allow_outside=True))",
            )
    if not file.exists():
        raise Located(where, f"no file {str(file)!r}")
    return file


def _workload_of(model: WorkloadModel, base: Path, allow_outside: bool) -> Workload:
    spec = model.spec
    if spec.trace is not None:
        trace = spec.trace
        if trace.builtin is not None:
            from elastic.data import load_trace

            try:
                times, counts = load_trace(trace.builtin)
            except ElasticError as error:
                raise Located(("spec", "trace", "builtin"), str(error)) from None
            bucket = trace.bucket or float(times[1] - times[0])
            replay = TraceReplay(
                times, counts, bucket=bucket, spread=trace.spread, scale=trace.scale
            )
        else:
            file = _trace_file(trace.file or "", base, allow_outside)
            try:
                replay = TraceReplay.from_csv(
                    file,
                    column=trace.column,
                    bucket=trace.bucket,
                    spread=trace.spread,
                    scale=trace.scale,
                )
            except ElasticError as error:
                raise Located(("spec", "trace", "file"), str(error)) from None
        if trace.start:
            keep = replay.times >= trace.start
            if not keep.any():
                raise Located(
                    ("spec", "trace", "start"),
                    f"={trace.start:g} is after the last bucket of the trace "
                    f"({replay.times[-1]:g}); expected a start within it",
                )
            replay = TraceReplay(
                replay.times[keep] - trace.start, replay.counts[keep], bucket=replay.bucket,
                spread=trace.spread, scale=trace.scale,
            )  # fmt: skip
        return replay
    assert spec.generator is not None
    ((key, params),) = spec.generator.items()
    name = to_snake(key)
    if params is not None and not isinstance(params, Mapping):
        raise Located(
            ("spec", "generator", key),
            f"={params!r} is invalid; expected its parameters as a mapping, such as "
            "{poisson: {rate: 5}}",
        )
    if name not in GENERATORS:
        raise Located(
            ("spec", "generator", key),
            f"unknown generator {key!r}; expected one of {', '.join(GENERATORS)}",
        )
    accepted = list(inspect.signature(GENERATORS[name]).parameters)
    for raw in params or {}:
        if to_snake(raw) not in accepted:
            raise Located(
                ("spec", "generator", key, raw),
                f"{key} has no parameter {to_snake(raw)!r}; expected {', '.join(accepted)}",
            )
    params = {to_snake(k): v for k, v in (params or {}).items()}
    try:
        return GENERATORS[name](**params)
    except (ElasticError, TypeError, ValueError) as error:
        raise Located(("spec", "generator", key), str(error)) from None


def policies(manifests: Manifests) -> list[str]:
    """The names of the ScalingPolicy, HorizontalPodAutoscaler and ScaledObject objects."""
    return sorted({name for kind in POLICY_KINDS for name in manifests.objects.get(kind, {})})


def policy_loop(manifests: Manifests, name: str) -> DecisionLoop:
    """The decision loop of the ScalingPolicy, HorizontalPodAutoscaler or ScaledObject called
    ``name``."""
    found = next(
        (hit for kind in POLICY_KINDS if (hit := manifests.named(kind, name)) is not None), None
    )
    if found is None:
        have = ", ".join(policies(manifests)) or "none"
        raise ProblemList(
            [Problem("<manifests>", 1, 1, "", f"no policy named {name!r}; have {have}")]
        )
    document, policy = found
    if isinstance(policy, HorizontalPodAutoscaler | ScaledObject):
        return policy.loop()
    try:
        return build_loop(document, policy)
    except Located as located:
        raise ProblemList([document.problem(located.path, str(located))]) from None


def build(
    manifests: Manifests,
    name: str | None = None,
    *,
    base: str | Path | None = None,
    allow_outside: bool | None = None,
) -> Built:
    """The runnable scenario ``name`` (the only one when ``None``).

    ``base`` and ``allow_outside`` default to those given to :func:`load`.
    Raises a :class:`~elastic.scenario.documents.ProblemList` when the
    manifests have problems or the scenario cannot be built.
    """
    if manifests.problems:
        raise ProblemList(manifests.problems)
    names = manifests.scenarios()
    if name is None:
        if len(names) != 1:
            raise ProblemList(
                [
                    Problem(
                        "<manifests>",
                        1,
                        1,
                        "",
                        f"expected one Scenario, found {len(names)}: {', '.join(names) or 'none'}",
                    )
                ]
            )
        name = names[0]
    found = manifests.named("Scenario", name)
    if found is None:
        raise ProblemList(
            [
                Problem(
                    "<manifests>", 1, 1, "", f"no Scenario named {name!r}; have {', '.join(names)}"
                )
            ]
        )
    document, model = found
    assert isinstance(model, ScenarioModel)
    if base is None and allow_outside is None and name in manifests.built:
        built = manifests.built[name]  # load() built it: the same scenario, a fresh loop
        return replace(built, loop=built.loop.clone())
    try:
        return build_scenario(
            manifests, document, model,
            manifests.base if base is None else Path(base),
            manifests.allow_outside if allow_outside is None else allow_outside,
        )  # fmt: skip
    except Located as located:
        raise ProblemList([document.problem(located.path, str(located))]) from None


# a parameter the simulator's Scenario refuses -> where it is in a Scenario manifest
_SCENARIO_FIELDS: dict[str, tuple[str | int, ...]] = {
    "duration": ("spec", "duration"),
    "control_interval": ("spec", "controlInterval"),
    "resolution": ("spec", "metrics", "resolution"),
    "metrics.resolution": ("spec", "metrics", "resolution"),
    "lag": ("spec", "metrics", "lag"),
    "missing": ("spec", "metrics", "missing"),
    "initial_replicas": ("spec", "initialReplicas"),
    # the bound on how often the node autoscaler decides: a shorter run, or a longer interval
    "nodes.autoscaler.interval": ("spec", "duration"),
}


def build_scenario(
    manifests: Manifests,
    document: Document,
    model: ScenarioModel,
    base: Path,
    allow_outside: bool = False,
    *,
    notes: list[Problem] | None = None,
) -> Built:
    spec = model.spec
    _, workload_model = manifests.named("Workload", spec.workload)  # type: ignore[misc]
    workload, service = build_traffic(manifests, spec.workload, base, allow_outside)
    replica: dict[str, Any] = {}
    if spec.task is not None:
        _, task = manifests.named("Task", spec.task)  # type: ignore[misc]
        body = task.spec.task
        cpu = body.resources.requests.cpu if body.resources.requests else None
        vcpus = cpu_milli(cpu, True) / 1000 if cpu is not None else 1.0
        replica.update(
            slots=body.slots or max(1, math.floor(vcpus)),
            warmup=body.warmup,
            drain_timeout=body.drain_timeout,
            queue_capacity=body.queue_capacity,
            timeout=body.timeout,
        )
    tariffs = None
    node: NodeModel | None = None
    level = None
    if spec.nodes is not None:
        from elastic.scenario.node_level import build_node_level

        level = build_node_level(manifests, document, model, notes)
        replica["boot"] = distribution(spec.nodes.pod_startup)
    elif spec.cluster is not None:
        cluster_doc, cluster = manifests.named("Cluster", spec.cluster)  # type: ignore[misc]
        nodes: list[NodeModel] = cluster.spec.cluster.nodes
        index = next((i for i, n in enumerate(nodes) if n.name == spec.node), 0)
        node = nodes[index]
        try:
            boot = distribution(node.boot)
        except (ElasticError, TypeError, ValueError) as error:
            where: tuple[str | int, ...] = ("spec", "cluster", "nodes", index, "boot")
            raise ProblemList([cluster_doc.problem(where, str(error))]) from None
        replica.update(kind=node.node_type, boot=boot)
        if node.max_nodes == 0:
            where = ("spec", "cluster", "nodes", index, "maxNodes")
            raise ProblemList([cluster_doc.problem(where, (
                "maxNodes 0 leaves no node for a replica (each replica is a node of it); "
                "expected at least 1, or a two-level run (spec.nodes)"))])  # fmt: skip
        if node.billing == "hourly":
            tariffs = {node.node_type: default_catalog().hourly(node.node_type)}
    initial = spec.initial_replicas
    if initial is None and spec.deployment is not None:
        _, deployment = manifests.named("Deployment", spec.deployment)  # type: ignore[misc]
        initial = deployment.spec.replicas
    loop = policy_loop(manifests, spec.policy)
    if node is not None and (node.min_nodes is not None or node.max_nodes is not None):
        # the node group's size bounds the replicas, each replica being a node
        params = loop.get_params()
        high = min(params["max_replicas"], node.max_nodes or params["max_replicas"])
        low = min(max(params["min_replicas"], node.min_nodes or 0), high)
        if notes is not None and low != max(params["min_replicas"], node.min_nodes or 0):
            notes.append(
                document.problem(
                    ("spec", "node"),
                    f"node {node.name!r} has maxNodes {node.max_nodes}, below the minimum "
                    f"{max(params['min_replicas'], node.min_nodes or 0)} of policy "
                    f"{spec.policy!r} or of the node: the run keeps at most {high} replicas",
                )
            )
        loop = DecisionLoop(**(params | {"min_replicas": low, "max_replicas": high}))
    try:
        scenario = Scenario(
            workload,
            duration=seconds(spec.duration),
            service=service,
            replica=ReplicaSpec(**replica),
            metrics=MetricsSpec(spec.metrics.resolution, spec.metrics.lag, spec.metrics.missing),
            balancer=spec.balancer,
            control_interval=spec.control_interval,
            actuation_failure=spec.actuation_failure,
            initial_replicas=1 if initial is None else initial,
            slo=workload_model.spec.slo,
            name=document.name,
            tariffs=tariffs,
            nodes=level,
        )
    except ElasticError as error:
        where = _SCENARIO_FIELDS.get(getattr(error, "name", ""), ("spec",))
        raise ProblemList([document.problem(where, str(error))]) from None
    return Built(scenario, loop, spec.seed, spec.fidelity)
