"""Check manifests, alone and together: every problem collected, with its place."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from elastic.cost.catalog import default_catalog
from elastic.errors import ElasticError
from elastic.keda.manifest import (
    ScaledObjectManifest,
    scaledobject_from_model,
    scaledobject_notes,
)
from elastic.kubernetes.manifest import HPAManifest, SpecError, hpa_from_model
from elastic.scenario.build import (
    Located,
    build_loop,
    build_scenario,
    build_traffic,
    policies,
)
from elastic.scenario.documents import (
    Document,
    Problem,
    ProblemList,
    control_characters,
    is_text,
    nodes,
    read_documents,
    shell_syntax,
)
from elastic.scenario.manifests import POLICY_KINDS, Manifests
from elastic.scenario.models import (
    CONTAINER_FIELDS,
    DEPLOYMENT_SPEC_FIELDS,
    ELASTIC,
    GENERATORS,
    IGNORED_KINDS,
    KINDS,
    OBJECT_META_FIELDS,
    POD_SPEC_FIELDS,
    ClusterModel,
    DeploymentModel,
    Resources,
    TaskModel,
    WorkloadModel,
    cpu_milli,
    memory_mib,
)
from elastic.scenario.models_nodes import KARPENTER
from elastic.scenario.node_level import check_node_kind

__all__ = ["load", "validate"]


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
        if not is_text(source):
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
            build_loop(document, model)
        except Located as located:
            manifests.problems.append(document.problem(located.path, str(located)))
            broken.add(("ScalingPolicy", name))
    for name in manifests.objects.get("Workload", {}):
        if ("Workload", name) in broken:
            continue
        try:
            build_traffic(manifests, name, manifests.base, manifests.allow_outside)
        except ProblemList as error:
            manifests.problems += error.problems
            broken.add(("Workload", name))
    for document, model in manifests.objects.get("Scenario", {}).values():
        spec = model.spec
        references = [("Workload", spec.workload), ("Task", spec.task),
                      ("Cluster", spec.cluster), ("Deployment", spec.deployment),
                      *((kind, spec.policy) for kind in POLICY_KINDS)]  # fmt: skip
        ref = spec.nodes.node_autoscaler if spec.nodes is not None else None
        if ref is not None:
            references += [(kind, name) for kind, name in manifests.broken
                           if kind == ref.kind and ref.name in (None, name)]  # fmt: skip
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
            manifests.built[document.name] = build_scenario(
                manifests, document, model, manifests.base, manifests.allow_outside,
                notes=manifests.notes,
            )  # fmt: skip
        except ProblemList as error:
            manifests.problems += error.problems
        except Located as located:
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
    if kind == "ScaledObject":
        try:
            model = ScaledObjectManifest.model_validate(document.data)
            policy = scaledobject_from_model(model)
        except ValidationError as error:
            problems += _pydantic_problems(document, error)
            return
        except SpecError as error:
            problems.append(document.problem(("spec", *error.path), error.message))
            return
        if _register(document, kind, policy, manifests):
            manifests.notes += [document.problem(path, note)
                                for path, note in scaledobject_notes(model)]  # fmt: skip
        return
    if kind not in KINDS:
        known = ", ".join(sorted([*KINDS, "HorizontalPodAutoscaler", "ScaledObject"]))
        problems.append(
            document.problem(("kind",), f"unknown kind {kind!r}; expected one of {known}")
        )
        return
    wanted, model_type = KINDS[kind]
    if wanted == ELASTIC:
        problems += _two_spellings(document)
    if api != wanted:
        owner = {ELASTIC: "an elastic kind", KARPENTER: "a Karpenter kind"}.get(
            wanted, "a Kubernetes kind"
        )
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


def _register(document: Document, kind: str, model: Any, manifests: Manifests) -> bool:
    """Keep ``model`` under its name, unless the name is taken (a scenario names its
    policy by name alone, so a ScalingPolicy and an HPA may not share one either)."""
    name = document.name
    kinds = POLICY_KINDS if kind in POLICY_KINDS else (kind,)
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


def _requests_within_limits(
    document: Document, path: tuple[str | int, ...], requests: Resources | None,
    limits: Resources | None, ecs: bool, problems: list[Problem],
) -> None:  # fmt: skip
    for resource, convert in (("cpu", cpu_milli), ("memory", memory_mib)):
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
    check_node_kind(document, model, manifests)
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
            if node.billing == "spot":
                manifests.notes.append(
                    document.problem(
                        (*at, "billing"),
                        "spot capacity is simulated in a two-level run (a Scenario's "
                        "spec.nodes); one level bills it on demand, without interruptions",
                    )
                )
            if node.spot_share > 0:
                manifests.notes.append(
                    document.problem(
                        (*at, "spotShare"),
                        "a share of spot nodes is not simulated: billed on demand, without "
                        "interruptions (a node entry with billing: spot is a spot node group)",
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
        policies = {name for kind in POLICY_KINDS for name in manifests.objects.get(kind, {})}
        if (
            spec.policy not in policies
            and not {(kind, spec.policy) for kind in POLICY_KINDS} & manifests.broken
        ):
            have = ", ".join(sorted(policies)) or "none"
            manifests.problems.append(
                document.problem(
                    ("spec", "policy"),
                    f"no ScalingPolicy, HorizontalPodAutoscaler or ScaledObject named "
                    f"{spec.policy!r} (loaded: {have})",
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
