"""The Cluster Autoscaler's expanders: hand-worked scores, ties, chains and the random pick."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from elastic.errors import ParameterError
from elastic.nodes.expanders import (
    Expander,
    Option,
    highest_priority,
    least_waste,
    most_pods,
    parse_expanders,
    price_score,
    waste_score,
)
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30


def template(name: str, vcpu: int = 2, gib: int = 8, price: str = "0.096") -> NodeTemplate:
    return NodeTemplate(
        name,
        "m5.large",
        "on-demand",
        Resources(vcpu * 1000, gib * GiB, 29),
        Decimal(price),
        vcpu=vcpu,
        memory_bytes=gib * GiB,
    )


def option(name: str, nodes: int = 1, pods: int = 1, cpu: int = 1000, gib: float = 1.0, **kw):  # type: ignore[no-untyped-def]
    return Option(name, template(name, **kw), nodes, pods, cpu=cpu, memory=int(gib * GiB))


@pytest.mark.parametrize(
    ("nodes", "cpu", "gib", "expected", "why"),
    [
        (1, 1000, 6, 0.5 + 0.25, "half the CPU and a quarter of the memory of one node idle"),
        (2, 2000, 8, 0.5 + 0.5, "two nodes: capacity counts times the node count"),
        (1, 2000, 8, 0.0, "a full node wastes nothing"),
        (1, 0, 0, 2.0, "pods requesting nothing waste everything"),
    ],
)
def test_waste_score_is_idle_cpu_fraction_plus_idle_memory_fraction(
    nodes: int, cpu: int, gib: int, expected: float, why: str
) -> None:
    assert waste_score(option("a", nodes, 1, cpu, gib)) == pytest.approx(expected), why


def test_least_waste_keeps_every_option_at_the_lowest_score() -> None:
    tie_a = option("a", cpu=1000, gib=4)  # 0.5 + 0.5
    tie_b = option("b", cpu=2000, gib=0)  # 0.0 + 1.0
    worse = option("c", cpu=500, gib=4)
    assert least_waste([tie_a, worse, tie_b]) == [tie_a, tie_b]


def test_most_pods_keeps_every_option_with_the_most_pods() -> None:
    a, b, c = option("a", pods=3), option("b", pods=5), option("c", pods=5)
    assert most_pods([a, b, c]) == [b, c]


@pytest.mark.parametrize(
    ("cluster_nodes", "vcpu", "nodes", "expected", "why"),
    [
        (3, 2, 1, 1.0, "preferred node of 2 vCPUs for 3-6 nodes: unfitness 1, money ratio 1"),
        (0, 4, 1, 4.0, "preferred 1 vCPU for <= 2 nodes; a 4-vCPU node is 4x unfit"),
        (500, 4, 1, 8.0, "preferred 32 vCPUs above 200 nodes: 32/4 = 8"),
        (
            3,
            4,
            16,
            (2 - 1) * (1 - math.tanh(15 / 15)) + 1,
            "unfitness is suppressed as more nodes are added",
        ),
    ],
)
def test_price_score_hand_worked(
    cluster_nodes: int, vcpu: int, nodes: int, expected: float, why: str
) -> None:
    # the pods cost exactly what the nodes cost at the AWS model's rates
    # (0.111/2 per vCPU-hour... priced as m4.large: $0.111 for 2 vCPU + 8 GiB)
    price = f"{0.111 * vcpu / 2:.6f}"
    opt = Option(
        "a",
        template("a", vcpu=vcpu, gib=4 * vcpu, price=price),
        nodes,
        1,
        cpu=vcpu * 1000 * nodes,
        memory=4 * vcpu * GiB * nodes,
    )
    assert price_score(opt, cluster_nodes) == pytest.approx(expected, rel=1e-6), why


def test_price_prefers_the_cheaper_group_for_the_same_pods() -> None:
    cheap = option("cheap", price="0.05")
    dear = option("dear", price="0.50")
    chain = Expander("price")
    assert chain.choose([dear, cheap], np.random.default_rng(0), 3) == cheap


@pytest.mark.parametrize(
    ("priorities", "expected", "why"),
    [
        (
            {10: ["spot"], 50: ["^od-"]},
            ["od-a", "od-b"],
            "the highest matching priority wins, ties kept",
        ),
        ({10: ["spot"]}, ["spot-a"], "groups matching no regex are dropped"),
        ({10: ["gpu"]}, ["spot-a", "od-a", "od-b"], "nothing matches: every option stays"),
        ({5: ["a$"], 7: ["od"]}, ["od-a", "od-b"], "a group takes its highest matching priority"),
    ],
)
def test_priority_filter(priorities: dict[int, list[str]], expected: list[str], why: str) -> None:
    options = [option("spot-a"), option("od-a"), option("od-b")]
    chain = Expander("priority", priorities)
    assert [o.group for o in highest_priority(options, chain.priorities)] == expected, why


def test_chain_filters_in_order_and_stops_at_one_option() -> None:
    # priority keeps od-a and od-b (tie); least-waste breaks the tie: od-b wastes less
    options = [
        option("spot-a", cpu=2000, gib=8),
        option("od-a", cpu=500, gib=1),
        option("od-b", cpu=1500, gib=6),
    ]
    chain = Expander("priority,least-waste", {10: ["spot"], 50: ["od"]})
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert chain.choose(options, rng).group == "od-b"
    assert rng.bit_generator.state == state, "one option left: no random draw"


def test_chain_tie_after_every_filter_ends_in_a_seeded_random_pick() -> None:
    options = [option("a", pods=2), option("b", pods=2), option("c", pods=1)]
    chain = Expander("most-pods,least-waste")
    picks = {chain.choose(options, np.random.default_rng(seed)).group for seed in range(20)}
    assert picks == {"a", "b"}, "the tie is a and b; c never wins"


def test_random_expander_is_deterministic_per_seed() -> None:
    options = [option(name) for name in "abcdef"]
    chain = Expander("random")
    first = [chain.choose(options, np.random.default_rng(seed)).group for seed in range(10)]
    again = [chain.choose(options, np.random.default_rng(seed)).group for seed in range(10)]
    assert first == again
    assert len(set(first)) > 1, "different seeds pick different groups"
    expected = options[int(np.random.default_rng(3).integers(6))].group
    assert chain.choose(options, np.random.default_rng(3)).group == expected


def test_no_option_chooses_nothing() -> None:
    assert Expander("least-waste").choose([], np.random.default_rng(0)) is None


@pytest.mark.parametrize(
    ("expander", "priorities", "field"),
    [
        ("cheapest", None, "expander"),
        ("random,random", None, "expander"),
        ("", None, "expander"),
        ("priority", None, "priorities"),
        ("priority", {10: "spot"}, "priorities[10]"),
        ("priority", {10: ["("]}, "priorities[10]"),
        ("priority", {"high": ["a"]}, "priorities['high']"),
    ],
)
def test_bad_expander_settings_name_the_field(
    expander: str, priorities: object, field: str
) -> None:
    with pytest.raises(ParameterError) as error:
        Expander(expander, priorities)  # type: ignore[arg-type]
    assert error.value.name == field


def test_parse_expanders_accepts_a_list_and_spaces() -> None:
    assert parse_expanders(["price", "random"]) == ("price", "random")
    assert parse_expanders(" least-waste ,most-pods") == ("least-waste", "most-pods")
