"""The node level from manifests: the Cluster's node entries as node groups, the node
autoscaler kinds (NodePool, ClusterAutoscaler, CapacityProvider) and the pod's needs.

A Scenario with ``spec.nodes`` runs two levels: its replicas are pods (their
requests from the Deployment's containers or the ECS Task), scheduled onto
the nodes of its ``Cluster`` (each node entry a node group of its
``nodeType``, ``minNodes`` ready at the start) and onto the nodes its node
autoscaler launches. Checks here report every problem at its place: a pod
that fits no node group, selectors and taints that exclude each other,
requests in the wrong units, node groups that can never grow.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from elastic.cost.catalog import default_catalog
from elastic.errors import ElasticError, ParameterError
from elastic.kubernetes.quantity import parse_quantity
from elastic.nodes.allocatable import Reservation
from elastic.nodes.cluster_autoscaler import ClusterAutoscaler, NodeGroup
from elastic.nodes.ecs import ECS_AGENT, CapacityProvider, EcsManagedScaling
from elastic.nodes.karpenter import Karpenter
from elastic.nodes.karpenter_budgets import Budget
from elastic.nodes.karpenter_nodepool import NodePool
from elastic.nodes.labels import (
    ARCH,
    CAPACITY_TYPE,
    INSTANCE_CATEGORY,
    INSTANCE_CPU,
    INSTANCE_FAMILY,
    INSTANCE_GENERATION,
    INSTANCE_MEMORY,
    INSTANCE_SIZE,
    INSTANCE_TYPE,
    NODEPOOL,
    Requirement,
    Taint,
    Toleration,
)
from elastic.nodes.plan import NodeAutoscaler
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate
from elastic.scenario.documents import Document, Problem, ProblemList
from elastic.scenario.durations import budget_duration, karpenter_duration
from elastic.scenario.manifests import Manifests
from elastic.scenario.models import (
    ClusterModel,
    DeploymentModel,
    NodeModel,
    ScenarioModel,
    TaskModel,
    cpu_milli,
    seconds,
)
from elastic.scenario.models_nodes import (
    CA_FLAGS,
    CA_UNMODELLED_FLAGS,
    CapacityProviderModel,
    ClusterAutoscalerModel,
    NodePoolModel,
    asg_name,
    flag_value,
)
from elastic.sim.node_level import NodeLevel

__all__ = [
    "OS",
    "build_node_level",
    "capacity_provider",
    "capacity_provider_request",
    "check_node_kind",
    "node_pool",
]

Path_ = tuple[str | int, ...]
OS = "kubernetes.io/os"
MIB = 2**20
#: the NodePool requirement keys elastic models: the labels its offerings carry
MODELLED_KEYS = frozenset({
    ARCH, CAPACITY_TYPE, INSTANCE_TYPE, INSTANCE_FAMILY, INSTANCE_SIZE, INSTANCE_CATEGORY,
    INSTANCE_GENERATION, INSTANCE_CPU, INSTANCE_MEMORY, NODEPOOL, OS,
})  # fmt: skip
# label domains of Kubernetes, Karpenter and AWS: a requirement on another of their keys
# (zone, hypervisor, GPU, ...) is not modelled; a key outside them is a custom label
_WELL_KNOWN = ("kubernetes.io", "k8s.io", "karpenter.sh", "karpenter.k8s.aws", "k8s.aws")
_LIMITLESS = 2**61  # a NodePool limit left out: no bound on that resource
_NOTE_UNMODELLED = "not modelled: accepted, and left out of the simulation"


class Located(Exception):
    """A problem in ``document`` at ``path`` (raised while building, collected by the caller)."""

    def __init__(self, document: Document, path: Path_, message: str) -> None:
        super().__init__(message)
        self.problem = document.problem(path, message)


# --- checks of each kind alone --------------------------------------------------------------


def check_node_kind(document: Document, model: Any, manifests: Manifests) -> None:
    """Problems and notes of a NodePool, ClusterAutoscaler or CapacityProvider on its own,
    and of a Deployment's resource units."""
    try:
        if isinstance(model, NodePoolModel):
            node_pool(document, model, manifests.notes)
        elif isinstance(model, ClusterAutoscalerModel):
            _ca_flags(document, model, manifests.notes)
            template = NodeTemplate.from_catalog("m5.large", name="check")
            cluster_autoscaler(document, model, [NodeGroup(template, max_size=1)])
        elif isinstance(model, CapacityProviderModel):
            template = NodeTemplate.from_catalog("m5.large", name="check")
            capacity_provider(document, model, template, 0, 1)
        elif isinstance(model, DeploymentModel):
            manifests.problems.extend(deployment_units(document, model, manifests.notes))
    except Located as located:
        manifests.problems.append(located.problem)


def deployment_units(
    document: Document, model: DeploymentModel, notes: list[Problem]
) -> list[Problem]:
    """A container's memory written as a bare number is bytes (``memory: 512`` is 512 B: a
    note, it is probably MiB); a CPU above every instance type of the price catalog is an
    error (``cpu: 2000`` is 2,000 cores)."""
    problems = []
    largest = max(default_catalog().instances.values(), key=lambda kind: kind.vcpu)
    pod: Path_ = ("spec", "template", "spec")
    for group in ("containers", "initContainers"):
        for i, container in enumerate(document.get((*pod, group)) or ()):
            resources = container.get("resources") if isinstance(container, Mapping) else None
            for part in ("requests", "limits"):
                values = resources.get(part) if isinstance(resources, Mapping) else None
                if not isinstance(values, Mapping):
                    continue
                at: Path_ = (*pod, group, i, "resources", part)
                memory, cpu = values.get("memory"), values.get("cpu")
                suspicious = _bare_bytes(memory, "Mi")
                if suspicious:
                    notes.append(document.problem((*at, "memory"), suspicious))
                try:
                    millicores = parse_quantity(cpu, "cpu") if cpu is not None else 0
                except ElasticError:
                    continue  # reported by the kind's own checks
                if millicores > largest.vcpu * 1000:
                    hint = f"; did you mean {cpu}m?" if _bare(cpu) else ""
                    problems.append(
                        document.problem(
                            (*at, "cpu"),
                            f"cpu={cpu!r} is {millicores / 1000:g} cores, more than any instance "
                            f"type of the price catalog (the largest, {largest.name}, has "
                            f"{largest.vcpu} vCPU){hint}",
                        )
                    )
    return problems


def _bare_bytes(memory: Any, meant: str) -> str | None:
    """The note for a memory quantity written as a bare number below a MiB (Kubernetes
    reads it as bytes; ``memory: 512`` was probably 512Mi), else None."""
    if memory is None or not _bare(memory) or not 0 < float(memory) < MIB:
        return None
    return (
        f"memory={memory!r} is {memory} bytes (a quantity without a unit); "
        f"probably {memory}{meant} was meant"
    )


def _bare(value: Any) -> bool:
    """A number written without a unit."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and value.strip().replace(".", "", 1).isdigit()


# --- Karpenter NodePool -----------------------------------------------------------------------


def node_pool(document: Document, model: NodePoolModel, notes: list[Problem] | None) -> NodePool:
    """The :class:`NodePool` of a ``karpenter.sh/v1`` NodePool manifest.

    Its offerings are every instance type of the price catalog in both
    capacity types, labelled with the well-known labels, the template's
    labels and ``karpenter.sh/nodepool``, tainted with its taints; the
    requirements keep those that meet them. Without a capacity-type
    requirement only on-demand is offered (the AWS provider's default).
    """
    spec = model.spec
    template = spec.template.spec
    at: Path_ = ("spec", "template", "spec")
    noted = notes if notes is not None else []

    def note(path: Path_, message: str) -> None:
        noted.append(document.problem(path, message))

    for field, why in (
        ("startupTaints", "startup taints are removed once a node is up: pods need not tolerate "
         "them"),
        ("nodeClassRef", "the EC2NodeClass (AMI, subnets, security groups) does not change "
         "what is simulated"),
        ("terminationGracePeriod", "a drained node waits for its pods' own grace period"),
        ("kubelet", "kubelet settings are an EC2NodeClass field in v1; allocatable follows "
         "the EKS AMI's reservation"),
    ):  # fmt: skip
        if getattr(template, field) is not None:
            note((*at, field), f"{_NOTE_UNMODELLED} ({why})")
    for path, value in (
        (("spec", "replicas"), spec.replicas),
        (("spec", "disruption", "consolidateWhen"), spec.disruption.consolidateWhen),
        (("spec", "disruption", "decisionRatioThreshold"), spec.disruption.decisionRatioThreshold),
        (("status",), model.status),
    ):
        if value is not None:
            note(path, _NOTE_UNMODELLED)
    catalog = default_catalog()
    labels = dict((spec.template.metadata.labels or {}) if spec.template.metadata else {})
    requirements: list[Requirement] = []
    capacity_given = False
    for i, written in enumerate(template.requirements):
        where: Path_ = (*at, "requirements", i)
        key, operator, values = written.key, written.operator, tuple(written.values or ())
        if written.minValues is not None:
            note((*where, "minValues"), f"{_NOTE_UNMODELLED} (flexibility is not simulated)")
        if key in MODELLED_KEYS:
            capacity_given |= key == CAPACITY_TYPE
            if key == INSTANCE_TYPE and operator in ("In", "NotIn"):
                unknown = [v for v in values if v not in catalog.instances]
                if unknown:
                    note(
                        (*where, "values"),
                        f"instance types not in the price catalog, left out: {', '.join(unknown)}",
                    )
            if operator in ("Gte", "Lte"):  # integers: >= n is > n - 1
                bound = int(values[0])
                operator, values = ("Gt", (str(bound - 1),)) if operator == "Gte" else (
                    "Lt", (str(bound + 1),))  # fmt: skip
            requirements.append(Requirement(key, operator, values))  # type: ignore[arg-type]
        elif _well_known(key):
            note(
                (*where, "key"),
                f"{key!r} is not modelled: the requirement is left out (every offering is "
                "taken to meet it)",
            )
        elif operator == "In":
            labels.setdefault(key, values[0])
            if len(values) > 1:
                note(
                    (*where, "values"),
                    f"a custom label with several values: the NodePool's nodes get {key}="
                    f"{values[0]}",
                )
        elif operator in ("Exists", "Gt", "Lt", "Gte", "Lte"):
            note(
                (*where, "operator"),
                f"a custom label with {operator} and no value to give nodes: left out",
            )
    if not capacity_given:
        requirements.append(Requirement(CAPACITY_TYPE, "In", ("on-demand",)))
    name = document.name
    labels[NODEPOOL] = name
    labels.setdefault(OS, "linux")
    taints = tuple(Taint(t.key, t.value or "", t.effect) for t in template.taints or ())
    offerings = [
        NodeTemplate.from_catalog(
            kind,
            capacity,
            name=f"{name}/{kind}/{capacity}",
            group=name,
            labels=labels,
            taints=taints,
        )
        for kind in sorted(catalog.instances)
        for capacity in ("on-demand", "spot")
    ]
    allowed = [t for t in offerings if all(r.matches(t.labels) for r in requirements)]
    if not allowed:
        raise Located(
            document,
            (*at, "requirements"),
            "no instance type of the price catalog meets every requirement (capacity type "
            "on-demand when none is given); expected requirements that some instance type meets",
        )
    limits = _limits(document, model, note)
    disruption = spec.disruption
    budgets = [] if disruption.budgets else [Budget()]
    for i, budget in enumerate(disruption.budgets or ()):
        try:
            budgets.append(
                Budget(
                    budget.nodes,
                    tuple(budget.reasons or ()),
                    budget.schedule,
                    None if budget.duration is None else budget_duration(budget.duration),
                )
            )
        except ParameterError as error:
            field = (
                "schedule"
                if error.owner == "Cron"
                else {"schedule": "schedule", "reasons": "reasons"}.get(error.name, "nodes")
            )
            raise Located(
                document, ("spec", "disruption", "budgets", i, field), _expected(error)
            ) from None
    if limits is not None and min(limits) == 0:
        note(("spec", "limits"), "a limit of 0: the NodePool never launches a node")
    try:
        return NodePool(
            name,
            offerings,
            requirements,
            limits=limits,
            weight=spec.weight or 0,
            consolidation_policy=disruption.consolidationPolicy,
            consolidate_after=karpenter_duration(disruption.consolidateAfter),
            expire_after=karpenter_duration(template.expireAfter),
            budgets=budgets,
        )
    except ParameterError as error:  # at the field the user wrote
        fields = {
            "limits": ("spec", "limits"),
            "expire_after": ("spec", "template", "spec", "expireAfter"),
            "consolidate_after": ("spec", "disruption", "consolidateAfter"),
            "weight": ("spec", "weight"),
        }
        message = _expected(error)
        if error.name == "expire_after":
            lifetime = template.expireAfter
            message = f"{lifetime!r} is invalid; expected a duration > 0 such as 720h, or Never"
        raise Located(document, fields.get(error.name, ("spec",)), message) from None


def _well_known(key: str) -> bool:
    """A label key of Kubernetes, Karpenter or AWS (a custom key is anything else)."""
    domain = key.split("/")[0] if "/" in key else ""
    return domain in _WELL_KNOWN or domain.endswith(tuple("." + d for d in _WELL_KNOWN))


def _limits(document: Document, model: NodePoolModel, note: Any) -> tuple[int, int] | None:
    written = model.spec.limits
    if not written:
        return None
    found = {"cpu": _LIMITLESS, "memory": _LIMITLESS}
    for key, value in written.items():
        path: Path_ = ("spec", "limits", key)
        if key not in found:
            note(path, f"a limit on {key!r} is not modelled (cpu and memory are)")
            continue
        example = "1000 or 500m" if key == "cpu" else "1000Gi"
        try:
            milli = parse_quantity(value, key)
        except ElasticError:
            raise Located(
                document, path, f"{key}={value!r} is not a quantity; expected one such as {example}"
            ) from None
        if milli < 0:
            raise Located(
                document, path, f"{key}={value!r} is negative; expected a quantity >= 0 such as "
                f"{example}",
            )  # fmt: skip
        if key == "memory" and (suspicious := _bare_bytes(value, "Gi")):
            note(path, suspicious)
        found[key] = milli if key == "cpu" else -(-milli // 1000)
    return (found["cpu"], found["memory"])


def _expected(error: ParameterError) -> str:
    return f"{error.value!r} is invalid; expected {error.expected}"


# --- Cluster Autoscaler -----------------------------------------------------------------------


def _ca_flags(
    document: Document, model: ClusterAutoscalerModel, notes: list[Problem] | None
) -> dict[str, Any]:
    """The ClusterAutoscaler parameters its flags give; unknown flags are problems, known
    flags elastic does not model are notes."""
    params: dict[str, Any] = {}
    for flag, value in (model.spec.model_extra or {}).items():
        path: Path_ = ("spec", flag)
        if flag in CA_FLAGS:
            try:
                params[CA_FLAGS[flag][0]] = flag_value(flag, value)
            except ValueError as error:
                raise Located(document, path, f"{flag}={value!r}: {error}") from None
        elif flag == "nodes":
            raise Located(
                document, path,
                "the node groups are the Cluster's node entries (their minNodes and maxNodes); "
                "expected nodeGroups: [entry names] instead of --nodes",
            )  # fmt: skip
        elif flag in CA_UNMODELLED_FLAGS:
            if notes is not None:
                notes.append(document.problem(path, f"--{flag}: {_NOTE_UNMODELLED}"))
        else:
            known = sorted([*CA_FLAGS, *CA_UNMODELLED_FLAGS, "nodeGroups", "priorities"])
            close = difflib.get_close_matches(str(flag), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise Located(
                document, path,
                f"unknown flag {flag!r} of the Cluster Autoscaler; expected an upstream flag "
                f"name such as scan-interval{hint}",
            )  # fmt: skip
    return params


def cluster_autoscaler(
    document: Document, model: ClusterAutoscalerModel, groups: Sequence[NodeGroup]
) -> ClusterAutoscaler:
    params = _ca_flags(document, model, None)
    flags = {param: flag for flag, (param, _) in CA_FLAGS.items()}
    try:
        return ClusterAutoscaler(groups, priorities=model.spec.priorities, **params)
    except ParameterError as error:
        flag = flags.get(error.name)
        path: Path_ = ("spec", flag) if flag else ("spec", "priorities")
        raise Located(document, path, _expected(error)) from None


# --- ECS capacity provider --------------------------------------------------------------------


def capacity_provider(
    document: Document,
    model: CapacityProviderModel,
    template: NodeTemplate,
    min_size: int,
    max_size: int,
) -> CapacityProvider:
    """The :class:`CapacityProvider` of a CapacityProvider manifest, its ASG of ``template``
    nodes between ``min_size`` and ``max_size``."""
    request = model.spec.model_dump(exclude_none=True)
    written = request.setdefault("name", document.name)
    if written != document.name:
        raise Located(
            document, ("spec", "name"),
            f"{written!r} differs from metadata.name {document.name!r}; expected the same name",
        )  # fmt: skip
    try:
        return CapacityProvider.from_request(
            request, (template,), min_size=min_size, max_size=max_size
        )
    except ElasticError as error:  # at the request's field its message starts with
        message = str(error).removeprefix("CreateCapacityProvider: ")
        field = re.match(r"(?:unknown field )?([\w.\[\]]*)", message)
        dotted = field.group(1) if field else ""
        path: Path_ = (
            "spec",
            *(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", dotted) if p),
        )
        if path == ("spec", "name") and model.spec.name is None:
            path = ("metadata", "name")
        if message.startswith(dotted + "="):
            message = dotted.rsplit(".", 1)[-1] + message[len(dotted) :]
        raise Located(document, path, message) from None


def capacity_provider_request(manifests: Manifests, name: str) -> dict[str, Any]:
    """The ``CreateCapacityProvider`` request of the loaded CapacityProvider ``name``:
    what ``aws ecs create-capacity-provider --cli-input-json`` takes, the fields the
    manifest left out written with the API's defaults.

    Examples
    --------
    >>> from elastic.scenario import load
    >>> manifests = load('''
    ... apiVersion: elastic/v1
    ... kind: CapacityProvider
    ... metadata: {name: web-ec2}
    ... spec:
    ...   autoScalingGroupProvider:
    ...     autoScalingGroupArn: n1
    ...     managedScaling: {targetCapacity: 90}
    ... ''')
    >>> request = capacity_provider_request(manifests, "web-ec2")
    >>> request["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"]
    90
    >>> request["autoScalingGroupProvider"]["managedTerminationProtection"]
    'DISABLED'
    """
    found = manifests.named("CapacityProvider", name)
    if found is None:
        have = ", ".join(sorted(manifests.objects.get("CapacityProvider", {}))) or "none"
        raise ProblemList(
            [Problem("<manifests>", 1, 1, "", f"no CapacityProvider named {name!r}; have {have}")]
        )
    document, model = found
    template = NodeTemplate.from_catalog("m5.large", name="export")
    try:  # the ASG's instance types and sizes are not in the request
        return capacity_provider(document, model, template, 0, 1).to_request()
    except Located as located:
        raise ProblemList([located.problem]) from None


# --- the two-level run ------------------------------------------------------------------------


@dataclass
class _Group:
    """A Cluster node entry as a node group: its template and sizes, and where it is."""

    entry: NodeModel
    index: int
    template: NodeTemplate
    initial: int
    low: int
    high: int


def _groups(
    document: Document,
    cluster: ClusterModel,
    notes: list[Problem],
    reservation: Reservation | None = None,
) -> list[_Group]:
    """The Cluster's node entries as node groups (``reservation``: what each node keeps from
    pods, the EKS AMI's by default)."""
    found = []
    for i, entry in enumerate(cluster.spec.cluster.nodes):
        at: Path_ = ("spec", "cluster", "nodes", i)
        capacity: Literal["on-demand", "spot"] = "spot" if entry.billing == "spot" else "on-demand"
        try:
            template = NodeTemplate.from_catalog(
                entry.node_type,
                capacity,
                name=entry.name,
                group=entry.name,
                labels=entry.labels,
                taints=tuple(Taint(t.key, t.value, t.effect) for t in entry.taints),
                reservation=reservation,
            )
        except ElasticError as error:
            raise Located(document, (*at, "nodeType"), str(error)) from None
        initial = entry.min_nodes if entry.min_nodes is not None else entry.count
        high = entry.max_nodes if entry.max_nodes is not None else initial
        if initial > high:
            raise Located(
                document, (*at, "count"),
                f"{initial} nodes at the start is above maxNodes {high}; expected at most "
                "maxNodes",
            )  # fmt: skip
        if entry.billing == "hourly":
            notes.append(
                document.problem(
                    (*at, "billing"),
                    "a two-level run bills nodes per second (EC2's rule); hourly is not applied",
                )
            )
        if "boot" in entry.model_fields_set:
            notes.append(
                document.problem(
                    (*at, "boot"),
                    "a two-level run boots every node with the Scenario's spec.nodes.nodeBoot "
                    "and nodeRegistration",
                )
            )
        found.append(_Group(entry, i, template, initial, entry.min_nodes or 0, high))
    return found


def _named(manifests: Manifests, kind: str, name: str | None) -> list[tuple[Document, Any]]:
    objects = manifests.objects.get(kind, {})
    if name is None:
        return [objects[n] for n in sorted(objects)]
    return [objects[name]] if name in objects else []


def build_node_level(
    manifests: Manifests,
    document: Document,
    model: ScenarioModel,
    notes: list[Problem] | None = None,
) -> NodeLevel:
    """The scenario's :class:`NodeLevel`, or a :class:`ProblemList` located where each
    problem is (the scenario, the Cluster, the autoscaler's or the Deployment's document)."""
    try:
        return _build(manifests, document, model, [] if notes is None else notes)
    except Located as located:
        raise ProblemList([located.problem]) from None


def _build(
    manifests: Manifests, document: Document, model: ScenarioModel, notes: list[Problem]
) -> NodeLevel:
    spec = model.spec
    nodes = spec.nodes
    assert nodes is not None
    at: Path_ = ("spec", "nodes")
    ref = nodes.node_autoscaler
    kind = ref.kind if ref is not None else None
    groups: list[_Group] = []
    cluster_doc = None
    if spec.cluster is not None:
        cluster_doc, cluster = manifests.objects["Cluster"][spec.cluster]
        # ECS container instances reserve nothing by default; EKS nodes what the AMI reserves
        groups = _groups(
            cluster_doc, cluster, notes, ECS_AGENT if kind == "CapacityProvider" else None
        )
        if spec.node is not None:
            notes.append(
                document.problem(
                    ("spec", "node"),
                    "with spec.nodes every node entry of the Cluster is a node group; node "
                    "names the replica's node in a one-level run only",
                )
            )
    elif kind != "NodePool":
        raise Located(
            document, at,
            "a two-level run needs the nodes of a Cluster (spec.cluster); only a NodePool "
            "launches nodes of its own",
        )  # fmt: skip
    if ref is not None and ref.name is not None and manifests.named(ref.kind, ref.name) is None:
        have = ", ".join(sorted(manifests.objects.get(ref.kind, {}))) or "none"
        raise Located(
            document, (*at, "nodeAutoscaler", "name"),
            f"no {ref.kind} named {ref.name!r} (the {ref.kind} objects loaded: {have})",
        )  # fmt: skip
    by_name = {g.entry.name: g for g in groups}
    autoscaler: NodeAutoscaler | None = None
    templates = [g.template for g in groups]
    if kind == "ClusterAutoscaler":
        found = _named(manifests, kind, ref.name if ref else None)
        if len(found) != 1:
            raise Located(
                document, (*at, "nodeAutoscaler"),
                f"{len(found)} ClusterAutoscaler objects loaded; expected one, or its name",
            )  # fmt: skip
        ca_doc, ca = found[0]
        chosen = ca.spec.nodeGroups or list(by_name)
        node_groups = []
        for i, name in enumerate(chosen):
            if name not in by_name:
                raise Located(
                    ca_doc, ("spec", "nodeGroups", i),
                    f"no node {name!r} in cluster {spec.cluster!r} (its nodes: "
                    f"{', '.join(by_name)})",
                )  # fmt: skip
            group = by_name[name]
            if group.high == 0:
                _never(notes, cluster_doc, group, "the Cluster Autoscaler never scales it up")
            node_groups.append(NodeGroup(group.template, min_size=group.low, max_size=group.high))
        autoscaler = cluster_autoscaler(ca_doc, ca, node_groups)
    elif kind == "NodePool":
        found = _named(manifests, kind, ref.name if ref else None)
        if not found:
            raise Located(
                document, (*at, "nodeAutoscaler"), "no NodePool loaded; expected at least one"
            )
        pools = [node_pool(d, m, None) for d, m in found]
        try:
            autoscaler = Karpenter(pools)
        except ParameterError as error:
            raise Located(document, (*at, "nodeAutoscaler"), _expected(error)) from None
    elif kind == "CapacityProvider":
        found = _named(manifests, kind, ref.name if ref else None)
        if not found:
            raise Located(
                document, (*at, "nodeAutoscaler"),
                "no CapacityProvider loaded; expected at least one",
            )  # fmt: skip
        providers = []
        for cp_doc, cp in found:
            asg = asg_name(cp.spec.autoScalingGroupProvider.autoScalingGroupArn)
            if asg not in by_name:
                raise Located(
                    cp_doc, ("spec", "autoScalingGroupProvider", "autoScalingGroupArn"),
                    f"names the Auto Scaling group {asg!r}: no node {asg!r} in cluster "
                    f"{spec.cluster!r} (its nodes: {', '.join(by_name)}); expected the ASG's "
                    "node entry",
                )  # fmt: skip
            group = by_name[asg]
            if group.high == 0:
                _never(notes, cluster_doc, group, "ECS managed scaling never scales its ASG out")
            providers.append(capacity_provider(cp_doc, cp, group.template, group.low, group.high))
        try:
            autoscaler = EcsManagedScaling(providers)
        except ParameterError as error:
            raise Located(document, (*at, "nodeAutoscaler"), _expected(error)) from None
    pod = pod_spec(manifests, document, model)
    all_templates = [*templates, *getattr(autoscaler, "templates", ())]
    _check_fit(manifests, document, model, pod, all_templates)
    # each delay at its own field (a NaN or an infinity is refused where it is written)
    delays = {}
    for name, field in (("node_boot", "nodeBoot"), ("node_registration", "nodeRegistration")):
        try:
            delays[name] = _distribution(getattr(nodes, name))
        except ParameterError as error:
            raise Located(document, (*at, field), _expected(error)) from None
    try:
        return NodeLevel(
            pod,
            templates=tuple(templates),
            autoscaler=autoscaler,
            initial_nodes={g.entry.name: g.initial for g in groups},
            scheduler=nodes.scheduler,
            node_boot=delays["node_boot"],
            node_registration=delays["node_registration"],
            node_mtbf=None if nodes.node_mtbf is None else seconds(nodes.node_mtbf),
            spot_mtbi=None if nodes.spot_mtbi is None else seconds(nodes.spot_mtbi),
            spot_notice=nodes.spot_notice,
        )
    except ParameterError as error:
        fields = {"node_mtbf": "nodeMtbf", "spot_mtbi": "spotMtbi", "spot_notice": "spotNotice"}
        name = error.name.removeprefix("initial_nodes[").removesuffix("]")
        if name in by_name and cluster_doc is not None:  # a node entry's count at the start
            group = by_name[name]
            field = "minNodes" if group.entry.min_nodes is not None else "count"
            raise Located(
                cluster_doc, ("spec", "cluster", "nodes", group.index, field),
                f"{field}={error.value!r} is invalid; expected {error.expected}",
            ) from None  # fmt: skip
        where = (*at, fields[error.name]) if error.name in fields else at
        message = _expected(error) if error.name in fields else str(error)
        raise Located(document, where, message) from None


def _never(notes: list[Problem], document: Document | None, group: _Group, why: str) -> None:
    if document is not None:
        notes.append(
            document.problem(
                ("spec", "cluster", "nodes", group.index, "maxNodes"),
                f"node group {group.entry.name!r} has maxNodes 0: {why}",
            )
        )


def _distribution(value: Any) -> Any:
    from elastic.scenario.build import distribution

    return distribution(value)


# --- the pod ----------------------------------------------------------------------------------


@dataclass
class _Source:
    """Where the pod's requests were written, for the messages."""

    document: Document
    cpu: Path_
    memory: Path_
    selector: Path_ | None = None
    tolerations: Path_ | None = None


def _source(manifests: Manifests, model: ScenarioModel) -> tuple[str, Document, Any]:
    spec = model.spec
    wanted = spec.nodes.requests_from if spec.nodes else None
    deployment = manifests.named("Deployment", spec.deployment) if spec.deployment else None
    task = manifests.named("Task", spec.task) if spec.task else None
    if wanted == "deployment" or (wanted is None and deployment is not None and (
        task is None or _has_requests(deployment[1])
    )):  # fmt: skip
        if deployment is None:
            raise ValueError("spec.nodes.requestsFrom is deployment: expected spec.deployment")
        return "deployment", *deployment
    if task is None:
        raise ValueError(
            "the pods' requests come from the Deployment's containers or the ECS Task: "
            "expected spec.deployment or spec.task"
        )
    return "task", *task


def _has_requests(model: DeploymentModel) -> bool:
    return any(
        c.resources is not None and (c.resources.requests or c.resources.limits)
        for c in model.spec.template.spec.containers
    )


def pod_spec(manifests: Manifests, document: Document, model: ScenarioModel) -> PodSpec:
    """What each replica's pod asks of a node.

    From a Deployment: the sum of its containers' requests (a container with
    limits and no requests requests its limits, as Kubernetes defaults them),
    or the largest init container's when larger (init containers run one at a
    time, before the others); its ``nodeSelector``, its required node affinity
    (one ``nodeSelectorTerm``) and its tolerations. From an ECS Task: its
    ``cpu`` (1024 units = 1 vCPU) and ``memory`` (MiB).
    """
    try:
        origin, source, found = _source(manifests, model)
    except ValueError as error:
        raise Located(document, ("spec", "nodes"), str(error)) from None
    if origin == "task":
        assert isinstance(found, TaskModel)
        body = found.spec.task.resources
        chosen = body.requests or body.limits
        cpu = cpu_milli(chosen.cpu, True) if chosen and chosen.cpu is not None else 0
        memory = 0
        if chosen and chosen.memory is not None:
            value = chosen.memory
            ecs = isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
            memory = int(value) * MIB if ecs else -(-parse_quantity(value) // 1000)
        return PodSpec(source.name, Resources(cpu, memory, 1))
    pod: Path_ = ("spec", "template", "spec")
    total = [0, 0]
    init = [0, 0]
    for group, sums in (("containers", total), ("initContainers", init)):
        for container in source.get((*pod, group)) or ():
            resources = container.get("resources") if isinstance(container, Mapping) else None
            asked: dict[str, Any] = {}
            if isinstance(resources, Mapping):  # requests default to limits
                asked = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
            amounts = (
                parse_quantity(asked.get("cpu", 0), "cpu"),
                -(-parse_quantity(asked.get("memory", 0), "memory") // 1000),
            )
            for r, amount in enumerate(amounts):
                sums[r] = sums[r] + amount if group == "containers" else max(sums[r], amount)
    requests = Resources(max(total[0], init[0]), max(total[1], init[1]), 1)
    selector = source.get((*pod, "nodeSelector")) or {}
    if not isinstance(selector, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
    ):
        raise Located(
            source, (*pod, "nodeSelector"), f"={selector!r}: expected a mapping of labels to values"
        )
    tolerations = []
    for i, written in enumerate(source.get((*pod, "tolerations")) or ()):
        where: Path_ = (*pod, "tolerations", i)
        if not isinstance(written, Mapping):
            raise Located(source, where, f"={written!r}: expected a toleration mapping")
        try:
            tolerations.append(
                Toleration(
                    written.get("key", ""),
                    written.get("operator", "Equal"),
                    written.get("value", ""),
                    written.get("effect", ""),
                )
            )
        except ParameterError as error:
            raise Located(source, (*where, error.name), _expected(error)) from None
    affinity = _affinity(source, pod)
    try:
        return PodSpec(source.name, requests, dict(selector), tuple(affinity), tuple(tolerations))
    except ParameterError as error:
        raise Located(source, pod, _expected(error)) from None


def _affinity(source: Document, pod: Path_) -> list[Requirement]:
    where: Path_ = (
        *pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
        "nodeSelectorTerms",
    )  # fmt: skip
    terms = source.get(where)
    if not terms:
        return []
    if not isinstance(terms, list) or len(terms) != 1 or not isinstance(terms[0], Mapping):
        raise Located(
            source, where,
            "several nodeSelectorTerms (any one of them may hold) are not modelled; expected "
            "one term",
        )  # fmt: skip
    found = []
    for i, expression in enumerate(terms[0].get("matchExpressions") or ()):
        try:
            found.append(
                Requirement(
                    expression.get("key", ""),
                    expression.get("operator", ""),
                    tuple(expression.get("values") or ()),
                )
            )
        except (ParameterError, AttributeError) as error:
            message = _expected(error) if isinstance(error, ParameterError) else "a mapping"
            raise Located(source, (*where, 0, "matchExpressions", i), message) from None
    return found


# --- does the pod fit any node group? ---------------------------------------------------------


def _check_fit(
    manifests: Manifests,
    document: Document,
    model: ScenarioModel,
    pod: PodSpec,
    templates: Sequence[NodeTemplate],
) -> None:
    """A pod that no node group's labels and taints accept, or that no instance type of
    them can hold, is an error at the pod's selector, tolerations or requests."""
    if not templates:
        return
    _, source, found = _source(manifests, model)
    accepting = [t for t in templates if pod.accepts(t.labels, t.taints)]
    is_task = isinstance(found, TaskModel)
    spec_path: Path_ = ("spec", "task", "resources") if is_task else ("spec", "template", "spec")
    if not accepting:
        reasons = _why_not(pod, templates)
        what = "selector" if pod.node_selector or pod.affinity else "tolerations"
        path: Path_ = (
            (*spec_path, "nodeSelector" if pod.node_selector else "affinity")
            if what == "selector" and not is_task
            else (*spec_path, "tolerations")
            if not is_task
            else spec_path
        )
        raise Located(
            source, path,
            f"no node group accepts the pods: {reasons}; expected a selector their labels meet "
            "and tolerations of their taints",
        )  # fmt: skip
    fitting = [t for t in accepting if pod.requests.fits(t.allocatable)]
    if fitting:
        return
    largest = max(accepting, key=lambda t: (t.allocatable.cpu, t.allocatable.memory))
    a = largest.allocatable
    cpu_short = pod.requests.cpu > largest.allocatable.cpu
    resource = "cpu" if cpu_short else "memory"
    path = _request_path(source, spec_path, resource, is_task)
    asked = (
        f"{pod.requests.cpu}m CPU" if cpu_short else f"{pod.requests.memory / MIB:.0f} MiB memory"
    )
    raise Located(
        source, path,
        f"the pods request {asked}, more than any node of the node groups can hold: the "
        f"largest allocatable is {largest.instance_type} ({largest.group}): {a.cpu}m CPU, "
        f"{a.memory // MIB} MiB memory, {a.pods} pods; expected requests that fit it",
    )  # fmt: skip


def _request_path(source: Document, spec_path: Path_, resource: str, is_task: bool) -> Path_:
    if is_task:
        requests = source.get((*spec_path, "requests")) or {}
        part = "requests" if resource in requests else "limits"
        return (*spec_path, part, resource)
    best: tuple[float, Path_] = (-1.0, spec_path)
    for group in ("containers", "initContainers"):
        for i, container in enumerate(source.get((*spec_path, group)) or ()):
            resources = container.get("resources") if isinstance(container, Mapping) else None
            for part in ("requests", "limits"):
                values = resources.get(part) if isinstance(resources, Mapping) else None
                if isinstance(values, Mapping) and resource in values:
                    try:
                        amount = float(parse_quantity(values[resource], resource))
                    except ElasticError:
                        continue
                    if amount > best[0]:
                        best = (amount, (*spec_path, group, i, "resources", part, resource))
                    break
    return best[1]


def _why_not(pod: PodSpec, templates: Sequence[NodeTemplate]) -> str:
    """Why each node group (at most five named) refuses the pod."""
    reasons: dict[str, str] = {}
    for template in templates:
        if template.group in reasons:
            continue
        why = pod.refusal(template.labels, template.taints)
        if why:
            reasons[template.group] = f"node group {template.group!r} {why}"
    shown = list(reasons.values())
    more = f"; and {len(shown) - 5} more" if len(shown) > 5 else ""
    return "; ".join(shown[:5]) + more
