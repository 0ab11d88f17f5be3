"""What a pod (or an ECS task) asks of the node it runs on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from elastic.errors import ParameterError
from elastic.nodes.labels import Requirement, Taint, Toleration, tolerates_all
from elastic.nodes.resources import Resources

__all__ = ["PodSpec"]


@dataclass(frozen=True, slots=True)
class PodSpec:
    """The scheduling needs of the pods of one workload (all its replicas share them).

    Parameters
    ----------
    name
        The workload's name (a Deployment, an ECS service).
    requests
        CPU, memory and one pod slot.
    node_selector
        Labels a node must have, with these values.
    affinity
        Required node affinity: every requirement must hold (one
        ``nodeSelectorTerm``; upstream ORs several terms).
    tolerations
        The taints the pods tolerate.
    daemon
        A DaemonSet's pod: on every node, never moved, left out of the node
        autoscalers' utilization (as the Cluster Autoscaler and Karpenter do).

    Examples
    --------
    >>> web = PodSpec("web", Resources.parse(cpu="500m", memory="512Mi"),
    ...               node_selector={"kubernetes.io/arch": "arm64"})
    >>> web.accepts({"kubernetes.io/arch": "arm64"}, ())
    True
    >>> web.accepts({"kubernetes.io/arch": "amd64"}, ())
    False
    >>> from elastic.nodes.labels import Taint
    >>> web.accepts({"kubernetes.io/arch": "arm64"}, (Taint("dedicated", "db"),))
    False
    """

    name: str
    requests: Resources
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity: tuple[Requirement, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    daemon: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError("name", self.name, "a non-empty name", owner="PodSpec")
        requests = self.requests
        if (
            not isinstance(requests, Resources)
            or not all(type(v) is int for v in requests)
            or min(requests) < 0
            or requests.pods != 1
        ):
            raise ParameterError(
                "requests",
                requests,
                "Resources of integer millicores and bytes >= 0, and one pod slot",
                owner="PodSpec",
            )
        selector = self.node_selector
        if not isinstance(selector, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
        ):
            raise ParameterError(
                "node_selector", selector, "a mapping of label keys to values", owner="PodSpec"
            )
        object.__setattr__(self, "node_selector", MappingProxyType(dict(selector)))
        for name, kind in (("affinity", Requirement), ("tolerations", Toleration)):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, kind) for v in value):
                raise ParameterError(name, value, f"a sequence of {kind.__name__}", owner="PodSpec")
            object.__setattr__(self, name, tuple(value))

    def accepts(self, labels: Mapping[str, str], taints: tuple[Taint, ...]) -> bool:
        """Whether a node with ``labels`` and ``taints`` may run these pods (resources aside):
        kube-scheduler's ``NodeAffinity`` and ``TaintToleration`` filters."""
        return (
            all(labels.get(k) == v for k, v in self.node_selector.items())
            and all(r.matches(labels) for r in self.affinity)
            and tolerates_all(self.tolerations, taints)
        )

    def refusal(self, labels: Mapping[str, str], taints: tuple[Taint, ...]) -> str:
        """Why a node with ``labels`` and ``taints`` may not run these pods, in words (the
        first filter that refuses them, as :meth:`accepts` applies them); ``""`` when it may.

        Examples
        --------
        >>> web = PodSpec("web", Resources.parse(cpu="1"), node_selector={"pool": "a"})
        >>> web.refusal({"pool": "b"}, ())
        "lacks the nodeSelector's pool=a (it has pool=b)"
        >>> web.refusal({"pool": "a"}, (Taint("gpu", "true"),))
        'has the taint gpu=true:NoSchedule, which no toleration of the pods tolerates'
        >>> web.refusal({"pool": "a"}, ())
        ''
        """
        missing = [f"{k}={v}" for k, v in self.node_selector.items() if labels.get(k) != v]
        if missing:
            have = ", ".join(f"{k}={labels[k]}" for k in self.node_selector if k in labels)
            return f"lacks the nodeSelector's {', '.join(missing)}" + (
                f" (it has {have})" if have else ""
            )
        failed = [r for r in self.affinity if not r.matches(labels)]
        if failed:
            r = failed[0]
            return f"fails the affinity's {r.key} {r.operator} {list(r.values)}"
        untolerated = [
            t for t in taints if t.repels and not any(x.tolerates(t) for x in self.tolerations)
        ]
        if untolerated:
            t = untolerated[0]
            return (
                f"has the taint {t.key}={t.value}:{t.effect}, which no toleration of the pods "
                "tolerates"
            )
        return ""

    def __reduce__(self) -> tuple[object, ...]:
        # a mappingproxy does not pickle: rebuild from a plain dict
        return (
            PodSpec,
            (
                self.name,
                self.requests,
                dict(self.node_selector),
                self.affinity,
                self.tolerations,
                self.daemon,
            ),
        )
