"""Check manifests together and build the simulator's scenario and the decision loop from them."""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from elastic.core.behavior import Behavior, RateLimit, ScalingRules
from elastic.core.cooldown import Cooldown
from elastic.core.loop import DecisionLoop
from elastic.core.protocols import Policy
from elastic.cost.catalog import default_catalog
from elastic.errors import ElasticError, ParameterError
from elastic.kubernetes.hpa import HorizontalPodAutoscaler
from elastic.kubernetes.manifest import HPAManifest, SpecError, hpa_from_model
from elastic.kubernetes.quantity import parse_quantity
from elastic.scenario.documents import (
    Document,
    Problem,
    ProblemList,
    _exists,
    control_characters,
    nodes,
    read_documents,
    shell_syntax,
)
from elastic.scenario.models import (
    CONTAINER_FIELDS,
    DEPLOYMENT_SPEC_FIELDS,
    DISTRIBUTIONS,
    ELASTIC,
    GENERATORS,
    IGNORED_KINDS,
    KINDS,
    OBJECT_META_FIELDS,
    POD_SPEC_FIELDS,
    ClusterModel,
    DeploymentModel,
    NodeModel,
    Resources,
    ScalingPolicyModel,
    ScenarioModel,
    TaskModel,
    WorkloadModel,
    seconds,
)
from elastic.sim.distributions import (
    Constant,
    Distribution,
    Empirical,
)
from elastic.sim.scenario import MetricsSpec, ReplicaSpec, Scenario
from elastic.sim.workload import TraceReplay, Workload

__all__ = ["Built", "Manifests", "build", "load", "policies", "policy_loop", "validate"]


@dataclass
class Manifests:
    """Validated documents by kind and name, the problems found and what was ignored.

    ``base`` is the folder relative trace files are read from; a trace file
    outside it is refused unless ``allow_outside``.
    """

    objects: dict[str, dict[str, tuple[Document, Any]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    base: Path = field(default_factory=lambda: Path("."))
    allow_outside: bool = False
    #: (kind, name) of the objects with problems of their own, so that a reference to one is
    #: not reported again as missing, and it is not built
    broken: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def named(self, kind: str, name: str) -> tuple[Document, Any] | None:
        return self.objects.get(kind, {}).get(name)

    def scenarios(self) -> list[str]:
        return sorted(self.objects.get("Scenario", {}))


@dataclass(frozen=True)
class Built:
    """A runnable scenario: the simulator's scenario, the loop, and how to run it."""

    scenario: Scenario
    loop: DecisionLoop
    seed: int
    fidelity: str


def _loc_path(document: Document, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """The field path of a pydantic location: the parts that index into the document's data
    (pydantic adds the names of union members and validators: ``str``, ``function-after``)."""
    path: list[str | int] = []
    value = document.data
    for part in loc:
        inside = (isinstance(value, Mapping) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        )
        if inside:
            value = value[part]
        elif isinstance(value, Mapping | list):
            if not isinstance(part, int) and str(part)[:1].islower() and part not in _TYPE_TAGS:
                path.append(part)  # a missing field: name it
            continue
        else:
            continue
        path.append(part)
    return tuple(path)


# names pydantic gives the members of a union and its validators, never fields
_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none", "function-after",
              "function-before", "function-plain", "function-wrap",
              "constrained-float"}  # fmt: skip


def _pydantic_problems(document: Document, error: ValidationError) -> list[Problem]:
    found = []
    items = error.errors()
    # a union reports one error per member: where one says what is wrong with the value
    # (a bound), the others only say it is not of their type
    paths = [_loc_path(document, item["loc"]) for item in items]
    precise = {path for path, item in zip(paths, items, strict=True)
               if not item["type"].endswith("_type")}  # fmt: skip
    for path, item in zip(paths, items, strict=True):
        if path in precise and item["type"].endswith("_type"):
            continue
        value = item.get("input")
        message = item["msg"].removeprefix("Value error, ")
        text = repr(value)
        whole = item["type"] in ("value_error", "missing") and isinstance(value, Mapping)
        shown = "" if whole else "=" + (text if len(text) <= 60 else text[:57] + "...")
        problem = document.problem(path, message)
        found.append(
            Problem(problem.source, problem.line, problem.column, problem.path + shown, message)
        )
    return found


def load(
    *sources: str | Path, base: str | Path | None = None, allow_outside: bool = False
) -> Manifests:
    """Read and check files, folders or YAML text; every problem is collected, none raised.

    Everything :func:`build` builds is built once here too (every policy,
    every workload, every scenario whose references resolve), so that what
    loads without problems also runs. Relative trace files are read from
    ``base`` (default: the folder of the first file, or the folder given,
    or the working folder for text); a trace file outside ``base`` is a
    problem unless ``allow_outside``.
    """
    documents, problems = read_documents(*sources)
    manifests = Manifests(
        problems=list(problems),
        base=Path(base) if base is not None else _base_of(sources),
        allow_outside=allow_outside,
    )
    for document in documents:
        before = len(manifests.problems)
        _validate_document(document, manifests)
        if len(manifests.problems) > before:
            manifests.broken.add((document.kind, document.name))
    _check_references(manifests)
    _check_builds(manifests, manifests.broken)
    manifests.problems = list(dict.fromkeys(manifests.problems))
    manifests.notes = list(dict.fromkeys(manifests.notes))
    return manifests


def _base_of(sources: tuple[str | Path, ...]) -> Path:
    """The folder of the first file, the first folder, or the working folder."""
    for source in sources:
        path = Path(source)
        if isinstance(source, Path) or not ("\n" in source or ":" in source) or _exists(path):
            return path if path.is_dir() else path.parent
    return Path(".")


def validate(
    *sources: str | Path, base: str | Path | None = None, allow_outside: bool = False
) -> Manifests:
    """:func:`load`, raising a :class:`~elastic.scenario.ProblemList` if anything is wrong."""
    manifests = load(*sources, base=base, allow_outside=allow_outside)
    if manifests.problems:
        raise ProblemList(manifests.problems)
    return manifests


def _check_builds(manifests: Manifests, broken: set[tuple[str, str]]) -> None:
    """Build every policy, workload and scenario, collecting what fails as problems
    (objects that already have a problem are left out: it is reported once)."""
    for name, (document, model) in manifests.objects.get("ScalingPolicy", {}).items():
        if ("ScalingPolicy", name) in broken:
            continue
        try:
            _loop(document, model)
        except _Located as located:
            manifests.problems.append(document.problem(located.path, str(located)))
            broken.add(("ScalingPolicy", name))
    for name, (document, model) in manifests.objects.get("Workload", {}).items():
        if ("Workload", name) in broken:
            continue
        try:
            _workload(document, model, manifests.base, manifests.allow_outside)
            _service(document, model)
        except ProblemList as error:
            manifests.problems += error.problems
            broken.add(("Workload", name))
    for document, model in manifests.objects.get("Scenario", {}).values():
        spec = model.spec
        references = [("Workload", spec.workload), ("Task", spec.task),
                      ("Cluster", spec.cluster), ("Deployment", spec.deployment),
                      ("ScalingPolicy", spec.policy),
                      ("HorizontalPodAutoscaler", spec.policy)]  # fmt: skip
        if (
            ("Scenario", document.name) in broken
            or any((kind, ref) in broken for kind, ref in references)
            or spec.policy not in policies(manifests)
            or any(
                ref is not None and manifests.named(kind, ref) is None
                for kind, ref in references[:4]
            )
        ):
            continue
        try:
            _build(manifests, document, model, manifests.base, manifests.allow_outside,
                   notes=manifests.notes)  # fmt: skip
        except ProblemList as error:
            manifests.problems += error.problems
        except _Located as located:
            manifests.problems.append(document.problem(located.path, str(located)))


def _validate_document(document: Document, manifests: Manifests) -> None:
    problems = manifests.problems
    if not isinstance(document.data, Mapping):
        problems.append(
            document.problem((), "expected a mapping with apiVersion, kind, metadata, spec")
        )
        return
    problems += shell_syntax(document) + control_characters(document)
    kind, api = document.kind, document.api_version
    problems += _unknown_fields(document, ("metadata",), OBJECT_META_FIELDS, "ObjectMeta")
    if kind in IGNORED_KINDS:
        manifests.notes.append(
            document.problem(
                ("kind",), f"{kind} {document.name!r} ignored: it does not matter to scaling"
            )
        )
        return
    if kind == "HorizontalPodAutoscaler":
        try:
            model: Any = hpa_from_model(HPAManifest.model_validate(document.data))
        except ValidationError as error:
            problems += _pydantic_problems(document, error)
            return
        except SpecError as error:
            problems.append(document.problem(("spec", *error.path), str(error)))
            return
        if not _register(document, kind, model, manifests):
            return
        metadata = document.data.get("metadata") or {}
        unmodeled: list[tuple[str | int, ...]] = [("metadata", k) for k in metadata if k != "name"]
        unmodeled += [("status",)] if "status" in document.data else []
        for where in unmodeled:
            manifests.notes.append(
                document.problem(
                    where, "not modelled: left out of the simulation and of to_manifest()"
                )
            )
        return
    if kind not in KINDS:
        known = ", ".join(sorted([*KINDS, "HorizontalPodAutoscaler"]))
        problems.append(
            document.problem(("kind",), f"unknown kind {kind!r}; expected one of {known}")
        )
        return
    wanted, model_type = KINDS[kind]
    if wanted == ELASTIC:
        problems += _two_spellings(document)
    if api != wanted:
        owner = "an elastic kind" if wanted == ELASTIC else "a Kubernetes kind"
        problems.append(
            document.problem(
                ("apiVersion",), f"{kind} is {owner}: expected apiVersion {wanted!r}, not {api!r}"
            )
        )
    try:
        model = model_type.model_validate(document.data)
    except ValidationError as error:
        problems += _pydantic_problems(document, error)
        return
    if _register(document, kind, model, manifests):
        _check_kind(document, model, manifests)


_POLICY_KINDS = ("ScalingPolicy", "HorizontalPodAutoscaler")


def _register(document: Document, kind: str, model: Any, manifests: Manifests) -> bool:
    """Keep ``model`` under its name, unless the name is taken (a scenario names its
    policy by name alone, so a ScalingPolicy and an HPA may not share one either)."""
    name = document.name
    kinds = _POLICY_KINDS if kind in _POLICY_KINDS else (kind,)
    for other_kind in kinds:
        if name in manifests.objects.get(other_kind, {}):
            other = manifests.objects[other_kind][name][0]
            at = f"{other.source}:{other.line}"
            message = (
                f"a second {kind} named {name!r} (the first is at {at})"
                if other_kind == kind
                else f"a {other_kind} is named {name!r} too (at {at}); expected one name per "
                "policy, as a Scenario names its policy by name alone"
            )
            manifests.problems.append(document.problem(("metadata", "name"), message))
            return False
    manifests.objects.setdefault(kind, {})[name] = (document, model)
    return True


def _two_spellings(document: Document) -> list[Problem]:
    """Mappings naming one field twice, in camelCase and snake_case (``scaleInMargin`` and
    ``scale_in_margin``): which one wins would be an accident of the loader."""
    found = []
    for path, value in nodes(document.data):
        if not isinstance(value, Mapping):
            continue
        seen: dict[Any, Any] = {}
        for key in value:
            snake = to_snake(key) if isinstance(key, str) else key
            if snake in seen:
                found.append(
                    document.problem(
                        (*path, key),
                        f"{key!r} and {seen[snake]!r} are one field ({snake}) written "
                        "twice; expected it once",
                    )
                )
            seen.setdefault(snake, key)
    return found


# --- checks of one object -----------------------------------------------------------------------


def _cpu_milli(value: str | int | float, ecs: bool) -> int:
    """CPU in millicores: integers are ECS units in a Task (1024 = one vCPU)."""
    if ecs and isinstance(value, int) and not isinstance(value, bool):
        return math.ceil(value * 1000 / 1024)
    if ecs and isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return math.ceil(int(value) * 1000 / 1024)
    return parse_quantity(value)


def _memory_mib(value: str | int | float, ecs: bool) -> float:
    """Memory in MiB: integers are MiB in a Task, bytes in Kubernetes."""
    if ecs and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return parse_quantity(value) / 1000 / 2**20


def _requests_within_limits(
    document: Document, path: tuple[str | int, ...], requests: Resources | None,
    limits: Resources | None, ecs: bool, problems: list[Problem],
) -> None:  # fmt: skip
    for resource, convert in (("cpu", _cpu_milli), ("memory", _memory_mib)):
        wanted = getattr(requests, resource, None) if requests else None
        most = getattr(limits, resource, None) if limits else None
        try:
            low = None if wanted is None else convert(wanted, ecs)
            high = None if most is None else convert(most, ecs)
        except ValueError as error:
            problems.append(document.problem((*path, "requests", resource), str(error)))
            continue
        negative = [(part, value) for part, value, amount in
                    (("requests", wanted, low), ("limits", most, high))
                    if amount is not None and amount < 0]  # fmt: skip
        for part, value in negative:
            problems.append(
                document.problem(
                    (*path, part, resource),
                    f"{part}.{resource}={value!r} is negative; expected an amount >= 0",
                )
            )
        if negative:
            continue
        if low is not None and high is not None and low > high:
            problems.append(
                document.problem(
                    (*path, "requests", resource),
                    f"requests.{resource}={wanted!r} is above limits.{resource}={most!r}; "
                    "expected requests <= limits",
                )
            )


def _unknown_fields(
    document: Document, path: tuple[str | int, ...], known: frozenset[str], what: str
) -> list[Problem]:
    """Fields of the mapping at ``path`` that a Kubernetes ``what`` does not have."""
    value = document.get(path)
    if not isinstance(value, Mapping):
        return []
    found = []
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.append(
                document.problem(
                    (*path, key),
                    f"unknown field {key!r} of a {what} (kubectl's strict field validation "
                    f"refuses it too){hint}",
                )
            )
    return found


def _check_kind(document: Document, model: BaseModel, manifests: Manifests) -> None:
    problems = manifests.problems
    if isinstance(model, TaskModel):
        resources = model.spec.task.resources
        path = ("spec", "task", "resources")
        _requests_within_limits(
            document, path, resources.requests, resources.limits, True, problems
        )
    elif isinstance(model, DeploymentModel):
        pod: tuple[str | int, ...] = ("spec", "template", "spec")
        problems += _unknown_fields(document, ("spec",), DEPLOYMENT_SPEC_FIELDS, "DeploymentSpec")
        problems += _unknown_fields(
            document, ("spec", "template", "metadata"), OBJECT_META_FIELDS, "ObjectMeta"
        )
        problems += _unknown_fields(document, pod, POD_SPEC_FIELDS, "PodSpec")
        for group in ("containers", "initContainers"):
            for i, _ in enumerate(document.get((*pod, group)) or ()):
                problems += _unknown_fields(document, (*pod, group, i), CONTAINER_FIELDS,
                                            "Container")  # fmt: skip
        for i, container in enumerate(model.spec.template.spec.containers):
            if container.resources is not None:
                where: tuple[str | int, ...] = ("spec", "template", "spec", "containers", i)
                resources = container.resources
                _requests_within_limits(
                    document, (*where, "resources"), resources.requests, resources.limits,
                    False, problems,
                )  # fmt: skip
    elif isinstance(model, ClusterModel):
        catalog = default_catalog()
        seen: dict[tuple[tuple[str, str], ...], str] = {}
        for i, node in enumerate(model.spec.cluster.nodes):
            at: tuple[str | int, ...] = ("spec", "cluster", "nodes", i)
            try:
                catalog.instance(node.node_type)
            except ElasticError:
                known = ", ".join(sorted(catalog.instances))
                problems.append(
                    document.problem(
                        (*at, "nodeType"),
                        f"unknown node type {node.node_type!r}; expected one of the price "
                        f"catalog: {known}",
                    )
                )
            if node.billing == "spot" or node.spot_share > 0:
                manifests.notes.append(
                    document.problem(
                        (*at, "billing" if node.billing == "spot" else "spotShare"),
                        "spot capacity is not simulated from a manifest yet: billed on demand, "
                        "without interruptions",
                    )
                )
            labels = tuple(sorted(node.labels.items()))
            if labels and labels in seen:
                shown = ", ".join(f"{k}={v}" for k, v in labels)
                manifests.notes.append(
                    document.problem(
                        (*at, "labels"),
                        f"node {node.name!r} has the same labels as node {seen[labels]!r} "
                        f"({shown}): no selector can tell them apart",
                    )
                )
            seen.setdefault(labels, node.name)
    elif isinstance(model, WorkloadModel) and model.spec.generator is not None:
        generator = model.spec.generator
        if len(generator) != 1 or to_snake(next(iter(generator))) not in GENERATORS:
            problems.append(
                document.problem(
                    ("spec", "generator"),
                    f"expected one of {', '.join(GENERATORS)} with its parameters",
                )
            )


def _check_references(manifests: Manifests) -> None:
    for document, model in manifests.objects.get("Scenario", {}).values():
        spec = model.spec
        wanted = [
            ("workload", "Workload", spec.workload),
            ("task", "Task", spec.task),
            ("cluster", "Cluster", spec.cluster),
            ("deployment", "Deployment", spec.deployment),
        ]
        for field_name, kind, ref in wanted:
            if (
                ref is not None
                and manifests.named(kind, ref) is None
                and (kind, ref) not in manifests.broken
            ):
                have = ", ".join(sorted(manifests.objects.get(kind, {}))) or "none"
                manifests.problems.append(
                    document.problem(
                        ("spec", field_name),
                        f"no {kind} named {ref!r} (the {kind} objects loaded: {have})",
                    )
                )
        policies = {**manifests.objects.get("ScalingPolicy", {}),
                    **manifests.objects.get("HorizontalPodAutoscaler", {})}  # fmt: skip
        if (
            spec.policy not in policies
            and not {("ScalingPolicy", spec.policy), ("HorizontalPodAutoscaler", spec.policy)}
            & manifests.broken
        ):
            have = ", ".join(sorted(policies)) or "none"
            manifests.problems.append(
                document.problem(
                    ("spec", "policy"),
                    f"no ScalingPolicy or HorizontalPodAutoscaler named {spec.policy!r} "
                    f"(loaded: {have})",
                )
            )
        if spec.node is not None and spec.cluster is not None:
            cluster = manifests.named("Cluster", spec.cluster)
            if cluster is not None and spec.node not in [
                n.name for n in cluster[1].spec.cluster.nodes
            ]:
                manifests.problems.append(
                    document.problem(
                        ("spec", "node"), f"no node {spec.node!r} in cluster {spec.cluster!r}"
                    )
                )


# --- building -------------------------------------------------------------------------------------


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
                raise _Located(path, str(error)) from None
        raise _Located((*path, "type"), f"unknown policy or forecaster {kind!r}")
    if key == "actions" and isinstance(value, Mapping):
        zone = value.get("timezone")
        if zone is not None:
            try:
                time_zone(zone, owner="ScheduledAction")
            except ParameterError as error:
                raise _Located(
                    (*path, "timezone"), f"unknown time zone {zone!r}; expected {error.expected}"
                ) from None
        try:
            return ScheduledAction(**{to_snake(k): v for k, v in value.items()})
        except (ElasticError, TypeError) as error:
            raise _Located(path, str(error)) from None
    if key == "origin" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise _Located(path, f"{value!r} is not an ISO 8601 time") from None
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
        raise _Located((*path, "type"), f"unknown policy type {kind!r}; expected one of {known}")
    accepted = list(inspect.signature(cls).parameters)
    params: dict[str, Any] = {}
    for raw, value in fields.items():
        key = to_snake(raw)
        if key not in accepted:
            raise _Located(
                (*path, raw), f"{kind} has no parameter {key!r}; expected {', '.join(accepted)}"
            )
        params[key] = _value(value, (*path, raw), key)
    if kind == "StepScaling" and "steps" in params:
        params["steps"] = [tuple(step) for step in params["steps"]]
    try:
        return cls(**params)  # type: ignore[no-any-return]
    except (ElasticError, TypeError, ValueError) as error:
        raise _Located(path, str(error)) from None


class _Located(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _loop(document: Document, model: ScalingPolicyModel) -> DecisionLoop:
    spec = model.spec
    chosen = [_policy(entry, ("spec", "policies", i)) for i, entry in enumerate(spec.policies)]
    behavior = None
    if spec.behavior == "kubernetes-default":
        behavior = Behavior.kubernetes_default()
    elif spec.behavior is not None:

        def rules(model: Any) -> ScalingRules:
            if model is None:
                return ScalingRules()
            limits = [RateLimit(p.type, p.value, p.period_seconds) for p in model.policies]
            return ScalingRules(model.stabilization_window_seconds, limits, model.select_policy)

        behavior = Behavior(rules(spec.behavior.scale_up), rules(spec.behavior.scale_down))
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
        raise _Located(("spec",), str(error)) from None


def _service(document: Document, model: WorkloadModel) -> Distribution:
    """The workload's service time distribution, or a problem at ``spec.service``."""
    try:
        return distribution(model.spec.service)
    except (ElasticError, TypeError, ValueError) as error:
        raise ProblemList([document.problem(("spec", "service"), str(error))]) from None


def _workload(
    document: Document, model: WorkloadModel, base: Path, allow_outside: bool = False
) -> Workload:
    """The workload, or a :class:`ProblemList` located in ``document``."""
    try:
        return _workload_of(model, base, allow_outside)
    except _Located as located:
        raise ProblemList([document.problem(located.path, str(located))]) from None


def _trace_file(name: str, base: Path, allow_outside: bool) -> Path:
    """The trace file ``name`` (relative to ``base``), inside ``base`` unless allowed."""
    where = ("spec", "trace", "file")
    file = Path(name)
    file = file if file.is_absolute() else base / file
    if not allow_outside:
        root = base.resolve()
        if not file.resolve().is_relative_to(root):
            raise _Located(
                where,
                f"{name!r} is outside the manifests' folder {str(root)!r}; expected a file "
                "inside it (to allow it: elastic run/validate/compare --allow-outside, or "
                "load(..., allow_outside=True))",
            )
    if not file.exists():
        raise _Located(where, f"no file {str(file)!r}")
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
                raise _Located(("spec", "trace", "builtin"), str(error)) from None
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
                raise _Located(("spec", "trace", "file"), str(error)) from None
        if trace.start:
            keep = replay.times >= trace.start
            if not keep.any():
                raise _Located(
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
        raise _Located(
            ("spec", "generator", key),
            f"={params!r} is invalid; expected its parameters as a mapping, such as "
            "{poisson: {rate: 5}}",
        )
    if name not in GENERATORS:
        raise _Located(
            ("spec", "generator", key),
            f"unknown generator {key!r}; expected one of {', '.join(GENERATORS)}",
        )
    accepted = list(inspect.signature(GENERATORS[name]).parameters)
    for raw in params or {}:
        if to_snake(raw) not in accepted:
            raise _Located(
                ("spec", "generator", key, raw),
                f"{key} has no parameter {to_snake(raw)!r}; expected {', '.join(accepted)}",
            )
    params = {to_snake(k): v for k, v in (params or {}).items()}
    try:
        return GENERATORS[name](**params)
    except (ElasticError, TypeError, ValueError) as error:
        raise _Located(("spec", "generator", key), str(error)) from None


def policies(manifests: Manifests) -> list[str]:
    """The names of the ScalingPolicy and HorizontalPodAutoscaler objects."""
    return sorted(
        {
            *manifests.objects.get("ScalingPolicy", {}),
            *manifests.objects.get("HorizontalPodAutoscaler", {}),
        }
    )


def policy_loop(manifests: Manifests, name: str) -> DecisionLoop:
    """The decision loop of the ScalingPolicy or HorizontalPodAutoscaler called ``name``."""
    found = manifests.named("ScalingPolicy", name) or manifests.named(
        "HorizontalPodAutoscaler", name
    )
    if found is None:
        have = ", ".join(policies(manifests)) or "none"
        raise ProblemList(
            [Problem("<manifests>", 1, 1, "", f"no policy named {name!r}; have {have}")]
        )
    document, policy = found
    if isinstance(policy, HorizontalPodAutoscaler):
        return policy.loop()
    try:
        return _loop(document, policy)
    except _Located as located:
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
    try:
        return _build(
            manifests, document, model,
            manifests.base if base is None else Path(base),
            manifests.allow_outside if allow_outside is None else allow_outside,
        )  # fmt: skip
    except _Located as located:
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
}


def _build(
    manifests: Manifests,
    document: Document,
    model: ScenarioModel,
    base: Path,
    allow_outside: bool = False,
    *,
    notes: list[Problem] | None = None,
) -> Built:
    spec = model.spec
    workload_doc, workload_model = manifests.named("Workload", spec.workload)  # type: ignore[misc]
    workload = _workload(workload_doc, workload_model, base, allow_outside)
    service = _service(workload_doc, workload_model)
    replica: dict[str, Any] = {}
    if spec.task is not None:
        _, task = manifests.named("Task", spec.task)  # type: ignore[misc]
        body = task.spec.task
        cpu = body.resources.requests.cpu if body.resources.requests else None
        vcpus = _cpu_milli(cpu, True) / 1000 if cpu is not None else 1.0
        replica.update(
            slots=body.slots or max(1, math.floor(vcpus)),
            warmup=body.warmup,
            drain_timeout=body.drain_timeout,
            queue_capacity=body.queue_capacity,
            timeout=body.timeout,
        )
    tariffs = None
    node: NodeModel | None = None
    if spec.cluster is not None:
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
            initial_replicas=1 if initial is None else initial,
            slo=workload_model.spec.slo,
            name=document.name,
            tariffs=tariffs,
        )
    except ElasticError as error:
        where = _SCENARIO_FIELDS.get(getattr(error, "name", ""), ("spec",))
        raise ProblemList([document.problem(where, str(error))]) from None
    return Built(scenario, loop, spec.seed, spec.fidelity)
