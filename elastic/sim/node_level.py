"""The node level of a two-level run: the nodes under the pods, and their autoscaler."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from elastic.core.validate import check_choice, check_int, check_number
from elastic.errors import ParameterError
from elastic.nodes.plan import NodeAutoscaler
from elastic.nodes.pods import PodSpec
from elastic.nodes.scheduler import DEFAULT_STRATEGY, STRATEGIES
from elastic.nodes.templates import NodeTemplate
from elastic.sim.distributions import Constant, Distribution
from elastic.sim.limits import MAX_FLEET

__all__ = ["NodeLevel"]


@dataclass(frozen=True)
class NodeLevel:
    """Pods on nodes: with it, a scenario's replicas are pods, and the nodes are what is billed.

    Each replica the pod-level loop asks for is a pod of ``pod``: pending until
    the scheduler binds it to a ready node, then starting for the scenario's
    ``replica.boot`` (image pull, start, readiness), then serving. The node
    autoscaler is called every ``autoscaler.interval`` seconds and its plans
    are carried out: a launched node is billed from its launch, registers
    after ``node_boot`` and is ready ``node_registration`` later; a removed
    node is cordoned, its pods are evicted (each drains for at most the
    replica's ``drain_timeout``, its grace period, while a replacement pod is
    created, as a ReplicaSet does) and it terminates when they are gone.

    Parameters
    ----------
    pod
        What each pod asks for (requests, selector, tolerations).
    templates
        Node shapes the run may hold besides the autoscaler's own
        (``autoscaler.templates``): those of ``initial_nodes`` at least.
    autoscaler
        The node autoscaler (Cluster Autoscaler, Karpenter, ECS managed
        scaling), or None for a fixed set of nodes. Each run uses a copy.
    initial_nodes
        Ready nodes at time 0, by template name.
    scheduler
        The scheduler's scoring (:data:`~elastic.nodes.scheduler.STRATEGIES`;
        kube-scheduler's default profile by default).
    node_boot, node_registration
        From launch to registered (the instance boots, the kubelet joins), and
        from registered to ready (network and node readiness).
    node_mtbf
        Mean time between failures of one node (exponential), or None: a
        failed node's pods fail what they had in flight and are replaced.
    spot_mtbi, spot_notice
        Mean time between interruptions of one Spot node, and the notice
        before it is taken (it is drained during the notice).

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes import NodeTemplate, PodSpec, Resources
    >>> node = NodeTemplate("general", "m5.large", "on-demand",
    ...                     Resources(1930, 7 * 2**30, 29), Decimal("0.096"))
    >>> level = NodeLevel(PodSpec("web", Resources.parse(cpu="500m", memory="1Gi")),
    ...                   templates=(node,), initial_nodes={"general": 2})
    >>> [t.name for t in level.all_templates()]
    ['general']
    """

    pod: PodSpec
    templates: tuple[NodeTemplate, ...] = ()
    autoscaler: NodeAutoscaler | None = None
    initial_nodes: Mapping[str, int] = field(default_factory=dict)
    scheduler: str = DEFAULT_STRATEGY
    node_boot: Distribution = field(default_factory=lambda: Constant(40.0))
    node_registration: Distribution = field(default_factory=lambda: Constant(20.0))
    node_mtbf: float | None = None
    spot_mtbi: float | None = None
    spot_notice: float = 120.0

    def __post_init__(self) -> None:
        owner = "NodeLevel"
        if not isinstance(self.pod, PodSpec):
            raise ParameterError("pod", self.pod, "a PodSpec", owner=owner)
        if self.pod.daemon:
            raise ParameterError("pod", self.pod, "a workload's pod, not a daemon", owner=owner)
        object.__setattr__(self, "templates", tuple(self.templates))
        if not all(isinstance(t, NodeTemplate) for t in self.templates):
            raise ParameterError("templates", self.templates, "NodeTemplates", owner=owner)
        if self.autoscaler is not None and not callable(getattr(self.autoscaler, "step", None)):
            raise ParameterError(
                "autoscaler", self.autoscaler, "a node autoscaler (with step) or None", owner=owner
            )
        if self.autoscaler is not None:
            check_number(self.autoscaler.interval, "autoscaler.interval", owner=owner, gt=0)
        templates = self.all_templates()
        names = {t.name for t in templates}
        if not names:
            raise ParameterError(
                "templates", self.templates, "at least one node template", owner=owner
            )
        if not any(t.admits(self.pod) for t in templates):
            raise ParameterError(
                "pod",
                self.pod.name,
                "a pod some node template can run; "
                + "; ".join(f"{t.name}: {_refusal(self.pod, t)}" for t in templates),
                owner=owner,
            )
        nodes = dict(self.initial_nodes)
        for name, count in nodes.items():
            if name not in names:
                raise ParameterError(
                    "initial_nodes",
                    name,
                    "one of the templates " + ", ".join(sorted(names)),
                    owner=owner,
                )
            if check_int(count, f"initial_nodes[{name}]", owner=owner, ge=0) > MAX_FLEET:
                raise ParameterError(
                    f"initial_nodes[{name}]", count, f"at most {MAX_FLEET}", owner=owner
                )
        object.__setattr__(self, "initial_nodes", MappingProxyType(nodes))
        check_choice(self.scheduler, "scheduler", STRATEGIES, owner=owner)
        for name in ("node_boot", "node_registration"):
            if not isinstance(getattr(self, name), Distribution):
                raise ParameterError(name, getattr(self, name), "a Distribution", owner=owner)
        for name in ("node_mtbf", "spot_mtbi"):
            value = getattr(self, name)
            if value is not None:
                check_number(value, name, owner=owner, gt=0)
        check_number(self.spot_notice, "spot_notice", owner=owner, ge=0)

    def all_templates(self) -> tuple[NodeTemplate, ...]:
        """Every node shape of the run: ``templates``, then the autoscaler's (by name, once)."""
        seen: dict[str, NodeTemplate] = {}
        for template in (*self.templates, *getattr(self.autoscaler, "templates", ())):
            if seen.setdefault(template.name, template) != template:
                raise ParameterError(
                    "templates", template.name, "one template of each name", owner="NodeLevel"
                )
        return tuple(seen.values())

    def fresh_autoscaler(self) -> NodeAutoscaler | None:
        """A copy of the autoscaler for one run (it keeps clocks of its own)."""
        return copy.deepcopy(self.autoscaler)

    def __reduce__(self) -> tuple[object, ...]:
        return (
            NodeLevel,
            (
                self.pod,
                self.templates,
                self.autoscaler,
                dict(self.initial_nodes),
                self.scheduler,
                self.node_boot,
                self.node_registration,
                self.node_mtbf,
                self.spot_mtbi,
                self.spot_notice,
            ),
        )


def _refusal(pod: PodSpec, template: NodeTemplate) -> str:
    """Why a node of ``template`` cannot run ``pod``, in words."""
    why = pod.refusal(template.labels, template.taints)
    if why:
        return f"refused by the pod's node selector, affinity or tolerations: it {why}"
    need, room = pod.requests, template.allocatable
    short = [
        f"{name} {want} > {have}"
        for name, want, have in zip(("cpu (m)", "memory (bytes)", "pods"), need, room, strict=True)
        if want > have
    ]
    return "the pod asks more than it allocates: " + ", ".join(short)
