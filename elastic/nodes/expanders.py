"""The Cluster Autoscaler's expanders: which node group grows when several could.

Each scale-up *option* is one node group with the nodes the binpacking
estimator says it needs and the pending pods those nodes would take. An
expander narrows the options down; ``--expander`` takes a chain
(``priority,least-waste``) whose filters run in order, stopping as soon as one
option is left, and a random pick ends any tie (upstream
``cluster-autoscaler/expander/factory/chain.go``).

Upstream sources (kubernetes/autoscaler, ``cluster-autoscaler/``):

- ``expander/random/random.go``: a uniform pick.
- ``expander/mostpods/mostpods.go``: the options that schedule the most pods.
- ``expander/waste/waste.go``: the lowest ``wasted CPU fraction + wasted memory
  fraction`` of the added nodes' *capacity*, where a fraction is
  ``(capacity * nodes - requested) / (capacity * nodes)``; equal scores stay.
- ``expander/price/price.go`` and ``expander/price/preferred.go``: the lowest
  ``suppressed unfitness * (node price * nodes + stabilization) /
  (pods' price + stabilization)``, with the AWS price model's pod price
  (``cloudprovider/aws/aws_price_model.go``).
- ``expander/priority/priority.go``: the ConfigMap's ``priority -> [regex]``;
  options whose group name matches a regex of the highest priority stay; when
  no group matches any regex, every option stays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from elastic.core.validate import check_int
from elastic.errors import ParameterError
from elastic.nodes.templates import NodeTemplate

__all__ = [
    "EXPANDERS",
    "Expander",
    "Option",
    "highest_priority",
    "least_waste",
    "lowest_price",
    "most_pods",
    "parse_expanders",
    "price_score",
    "waste_score",
]

EXPANDERS: tuple[str, ...] = ("random", "most-pods", "least-waste", "price", "priority")

_GIB = 2**30
_MIB = 2**20
# cloudprovider/aws/aws_price_model.go: m4.large ($0.111/h, 2 vCPU, 8 GiB) split 50/50
# between CPU and memory gives the price of a pod's requests
_CPU_PRICE_PER_HOUR = 0.111 * 0.5 / 2
_MEMORY_PRICE_PER_HOUR_PER_GIB = 0.111 * 0.5 / 8
# expander/price/price.go: priceStabilizationPod, 500m CPU and 500 MiB
_STABILIZATION_CPU = 500
_STABILIZATION_MEMORY = 500 * _MIB
# expander/price/preferred.go: the preferred node doubles its CPUs each time the
# cluster triples: (cluster size up to, preferred vCPUs)
_PREFERRED_CPUS = ((2, 1), (6, 2), (20, 4), (60, 8), (200, 16))
_PREFERRED_CPUS_LARGEST = 32


@dataclass(frozen=True, slots=True)
class Option:
    """One way to scale up: ``node_count`` nodes of ``template``'s group, taking ``pods`` pods.

    ``cpu`` (millicores) and ``memory`` (bytes) are what those pods request.
    """

    group: str
    template: NodeTemplate
    node_count: int
    pods: int
    cpu: int
    memory: int


def parse_expanders(
    value: str | Sequence[str], *, owner: str = "ClusterAutoscaler"
) -> tuple[str, ...]:
    """The chain of expander names from ``--expander`` (``"priority,least-waste"``).

    Examples
    --------
    >>> parse_expanders("priority, least-waste")
    ('priority', 'least-waste')
    >>> parse_expanders("cheapest")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: ClusterAutoscaler: expander='cheapest' is invalid; ...
    """
    names = value.split(",") if isinstance(value, str) else list(value)
    chain = tuple(n.strip() if isinstance(n, str) else n for n in names)
    expected = "a comma-separated chain of " + ", ".join(EXPANDERS)
    if not chain or not all(n in EXPANDERS for n in chain):
        raise ParameterError("expander", value, expected, owner=owner)
    if len(set(chain)) != len(chain):
        raise ParameterError("expander", value, expected + ", each at most once", owner=owner)
    return chain


def most_pods(options: Sequence[Option]) -> list[Option]:
    """The options that schedule the most pending pods (``expander/mostpods``)."""
    best = max((o.pods for o in options), default=0)
    return [o for o in options if o.pods == best]


def waste_score(option: Option) -> float:
    """Wasted CPU fraction + wasted memory fraction of the option's new nodes' capacity.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.resources import Resources
    >>> t = NodeTemplate("m", "m5.large", "on-demand", Resources(2000, 8 * 2**30, 29),
    ...                  Decimal("0.096"), vcpu=2, memory_bytes=8 * 2**30)
    >>> waste_score(Option("m", t, 1, 2, cpu=1000, memory=6 * 2**30))  # 0.5 + 0.25
    0.75
    """
    cpu = option.template.vcpu * 1000 * option.node_count
    memory = option.template.memory_bytes * option.node_count
    wasted_cpu = (cpu - option.cpu) / cpu if cpu else 0.0
    wasted_memory = (memory - option.memory) / memory if memory else 0.0
    return wasted_cpu + wasted_memory


def least_waste(options: Sequence[Option]) -> list[Option]:
    """The options with the lowest :func:`waste_score` (``expander/waste``)."""
    scores = [waste_score(o) for o in options]
    best = min(scores, default=0.0)
    return [o for o, s in zip(options, scores, strict=True) if s == best]


def _pod_price(cpu: int, memory: int) -> float:
    """Dollars per hour of requests, at the AWS price model's per-vCPU and per-GiB rates."""
    return cpu / 1000 * _CPU_PRICE_PER_HOUR + memory / _GIB * _MEMORY_PRICE_PER_HOUR_PER_GIB


def _preferred_cpus(cluster_nodes: int) -> int:
    for up_to, cpus in _PREFERRED_CPUS:
        if cluster_nodes <= up_to:
            return cpus
    return _PREFERRED_CPUS_LARGEST


def price_score(option: Option, cluster_nodes: int) -> float:
    """The price expander's score of an option (lower is better).

    ``(node_price * nodes + s) / (pods_price + s)`` (how well the money is spent,
    ``s`` the price of a 500m/500 MiB stabilization pod) times the node's
    *unfitness* ``max(preferred/cpus, cpus/preferred)`` (CPUs of the preferred
    node for a cluster of ``cluster_nodes`` nodes against the template's),
    suppressed as more nodes are added: ``(unfitness - 1)(1 - tanh((nodes - 1)/15)) + 1``.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.resources import Resources
    >>> t = NodeTemplate("m", "m5.large", "on-demand", Resources(2000, 8 * 2**30, 29),
    ...                  Decimal("0.111"), vcpu=2, memory_bytes=8 * 2**30)
    >>> # a full m5.large priced like the model's m4.large, preferred node of 2 vCPUs: 1.0
    >>> round(price_score(Option("m", t, 1, 1, cpu=2000, memory=8 * 2**30), 3), 12)
    1.0
    """
    node_price = float(option.template.price_per_hour) * option.node_count
    stabilization = _pod_price(_STABILIZATION_CPU, _STABILIZATION_MEMORY)
    money = (node_price + stabilization) / (_pod_price(option.cpu, option.memory) + stabilization)
    preferred = _preferred_cpus(cluster_nodes)
    cpus = max(option.template.vcpu, 1)
    unfitness = max(preferred / cpus, cpus / preferred)
    suppressed = (unfitness - 1.0) * (1.0 - math.tanh((option.node_count - 1) / 15.0)) + 1.0
    return suppressed * money


def lowest_price(options: Sequence[Option], cluster_nodes: int) -> list[Option]:
    """The options with the lowest :func:`price_score` (``expander/price``)."""
    scores = [price_score(o, cluster_nodes) for o in options]
    best = min(scores, default=0.0)
    return [o for o, s in zip(options, scores, strict=True) if s == best]


def highest_priority(
    options: Sequence[Option], priorities: Mapping[int, Sequence[re.Pattern[str]]]
) -> list[Option]:
    """The options whose group matches a regex of the highest priority (``expander/priority``).

    A regex matches anywhere in the group name (Go's ``FindStringIndex``); a
    group matching no regex is dropped, unless no group matches any, when all stay.
    """
    ranked: list[tuple[int, Option]] = []
    for option in options:
        matched = [
            p for p, rules in priorities.items() if any(r.search(option.group) for r in rules)
        ]
        if matched:
            ranked.append((max(matched), option))
    if not ranked:
        return list(options)
    best = max(p for p, _ in ranked)
    return [o for p, o in ranked if p == best]


class Expander:
    """A chain of expanders ending in a random pick, as ``--expander=a,b`` builds it.

    Parameters
    ----------
    expander
        ``"random"`` (the default upstream), ``"most-pods"``, ``"least-waste"``,
        ``"price"``, ``"priority"``, or a chain of them (``"priority,least-waste"``).
    priorities
        For ``priority``: the ConfigMap ``cluster-autoscaler-priority-expander``'s
        ``priorities`` as a mapping ``priority -> [regex, ...]`` (higher wins).
        Python's ``re`` stands in for Go's RE2 (the same for plain patterns).

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.resources import Resources
    >>> def option(name, pods):
    ...     t = NodeTemplate(name, "m5.large", "on-demand", Resources(2000, 8 * 2**30, 29),
    ...                      Decimal("0.096"))
    ...     return Option(name, t, 1, pods, cpu=500 * pods, memory=2**30 * pods)
    >>> chain = Expander("priority,most-pods", priorities={10: ["spot"], 20: ["^od-"]})
    >>> options = [option("spot-a", 4), option("od-a", 2), option("od-b", 3)]
    >>> chain.choose(options, np.random.default_rng(0)).group
    'od-b'
    """

    def __init__(
        self,
        expander: str | Sequence[str] = "random",
        priorities: Mapping[int, Sequence[str]] | None = None,
        *,
        owner: str = "Expander",
    ) -> None:
        self.chain = parse_expanders(expander, owner=owner)
        self.priorities: dict[int, tuple[re.Pattern[str], ...]] = {}
        if "priority" in self.chain and priorities is None:
            raise ParameterError(
                "priorities",
                None,
                "a mapping priority -> [regex, ...] for the priority expander",
                owner=owner,
            )
        if priorities is not None:
            if not isinstance(priorities, Mapping) or not priorities:
                raise ParameterError(
                    "priorities",
                    priorities,
                    "a non-empty mapping priority -> [regex, ...]",
                    owner=owner,
                )
            for level, rules in priorities.items():
                check_int(level, f"priorities[{level!r}]", owner=owner)
                if isinstance(rules, str) or not isinstance(rules, Sequence) or not rules:
                    raise ParameterError(
                        f"priorities[{level!r}]", rules, "a non-empty list of regexes", owner=owner
                    )
                compiled = []
                for rule in rules:
                    try:
                        compiled.append(re.compile(rule))
                    except (re.error, TypeError) as error:
                        raise ParameterError(
                            f"priorities[{level!r}]",
                            rule,
                            f"a regular expression ({error})",
                            owner=owner,
                        ) from None
                self.priorities[int(level)] = tuple(compiled)

    def choose(
        self, options: Sequence[Option], rng: np.random.Generator, cluster_nodes: int = 0
    ) -> Option | None:
        """The option the chain picks (``None`` when there is none).

        ``cluster_nodes``: the number of nodes in the cluster (the price
        expander's preferred node size depends on it). The random pick draws
        from ``rng`` only when more than one option is left.
        """
        left = list(options)
        if not left:
            return None
        for name in self.chain:
            if name == "random":
                left = [left[int(rng.integers(len(left)))]] if len(left) > 1 else left
            elif name == "most-pods":
                left = most_pods(left)
            elif name == "least-waste":
                left = least_waste(left)
            elif name == "price":
                left = lowest_price(left, cluster_nodes)
            else:
                left = highest_priority(left, self.priorities)
            if len(left) == 1:
                return left[0]
        return left[int(rng.integers(len(left)))]
