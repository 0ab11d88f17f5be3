"""What a two-level run reports: its cost split, its node-level series, its pending times."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from elastic.errors import ParameterError
from elastic.nodes import Launch, NodePlan, NodeTemplate, PodSpec, Resources
from elastic.sim import simulate
from elastic.sim.node_cost import CPU_PRICE, RAM_PRICE, CostSplit, NodeCosts, request_weight
from elastic.sim.result import RunResult
from elastic.sim.run import Simulation
from elastic.sim.stats import RoundedCounts
from tests.sim.test_cluster import NODE, Scripted, fixed, scenario

GiB = 2**30
R = CPU_PRICE / RAM_PRICE  # OpenCost's CPU to RAM price ratio, about 7.46
# 2 vCPUs, 8 GiB of capacity; 1930m and 7 GiB allocatable: the rest is the system reservation
M5 = NodeTemplate(
    "m5", "m5.large", "on-demand", Resources(1930, 7 * GiB, 29), Decimal("0.096"),
    vcpu=2, memory_bytes=8 * GiB,
)  # fmt: skip
WEB = PodSpec("web", Resources(1000, 4 * GiB, 1))  # (R + 4) / (2R + 8): half of an m5


@pytest.mark.parametrize(
    ("requests", "template", "weight", "why"),
    [
        (Resources(1000, 4 * GiB, 1), M5, Fraction(1, 2), "half the vCPUs, half the memory"),
        (Resources(2000, 8 * GiB, 1), M5, Fraction(1), "the whole capacity is the whole price"),
        (Resources(0, 0, 1), M5, Fraction(0), "requesting nothing is allocated nothing"),
        (Resources(1000, 0, 1), M5, R / (2 * R + 8), "a core alone: CPU's share"),
        (Resources(0, 8 * GiB, 1), M5, 8 / (2 * R + 8), "memory alone: the rest of the price"),
        (Resources(1930, 7 * GiB, 1), M5, (Fraction(193, 100) * R + 7) / (2 * R + 8),
         "all of allocatable: the reservation stays idle"),
        (Resources(1930, 7 * GiB, 1), NODE, (Fraction(193, 100) * R + 7) / (2 * R + 7),
         "a template without vcpu/memory: 2 vCPUs (1930m rounded up) and its 7 GiB"),
    ],
)  # fmt: skip
def test_a_pods_weight_is_opencosts_split_of_the_node_price(
    requests: Resources, template: NodeTemplate, weight: Fraction, why: str
) -> None:
    assert request_weight(requests, template) == weight, why


def test_capacity_is_never_below_allocatable() -> None:
    # a template that claims 1 vCPU but lets pods request 1930m: capacity is 1930m, so
    # a pod requesting all of it is allocated all of the node (never more: idle >= 0)
    odd = NodeTemplate("odd", "m5.large", "on-demand", Resources(1930, 7 * GiB, 29),
                       Decimal("0.096"), vcpu=1, memory_bytes=7 * GiB)  # fmt: skip
    assert request_weight(Resources(1930, 7 * GiB, 1), odd) == 1


def costs() -> NodeCosts:
    return NodeCosts([M5], [WEB])


# (events, bills by node, until, allocated to web, why); an event is
# ("launch", node, t), ("pod", node, +1/-1, t) or ("end", node, t)
SPLITS = [
    ([("launch", 0, 0.0)], {0: "0.096"}, 3600.0, "0", "a node without pods is all idle"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 900.0), ("pod", 0, -1, 2700.0)], {0: "0.096"}, 3600.0,
     "0.024", "half a node for half its life: a quarter"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 0.0), ("pod", 0, 1, 0.0)], {0: "0.096"}, 3600.0,
     "0.096", "two halves all along: all of it"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 0.0), ("end", 0, 30.0)], {0: "0.0016"}, 3600.0,
     "0.0008", "30 s billed its 60 s minimum: the minimum split at the life's share"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 0.0), ("end", 0, 600.0)], {0: "0"}, 3600.0,
     "0", "a Spot node interrupted in its first hour is free: nothing to split"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 1800.0)], {0: "0.096"}, 3600.0,
     "0.024", "still running at the run's end: counted up to it"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 0.0), ("end", 0, 1800.0)], {0: "0.048"}, 3600.0,
     "0.024", "a pod left on its node when it ends counts up to the end"),
    ([("launch", 0, 0.0), ("launch", 1, 1800.0), ("pod", 1, 1, 1800.0)],
     {0: "0.096", 1: "0.048"}, 3600.0, "0.024", "two nodes: each bill by its own share"),
    ([("launch", 0, 3600.0)], {}, 3600.0, "0", "launched at the run's end: not billed, no life"),
    ([("launch", 0, 0.0), ("pod", 0, 1, 1200.0)], {0: "0.01"}, 3600.0,
     "0.003333333333333333", "a third of half of a cent: rounded, idle the exact rest"),
    ([("launch", 0, 0.1), ("pod", 0, 1, 0.1), ("pod", 0, -1, 0.30000000000000004)],
     {0: "0.0016"}, 60.1, None, "float instants: integrated exactly (checked below)"),
]  # fmt: skip


@pytest.mark.parametrize(("events", "bills", "until", "allocated", "why"), SPLITS)
def test_the_split_of_hand_worked_bills(
    events: list[tuple], bills: dict[int, str], until: float, allocated: str | None, why: str
) -> None:
    meter = costs()
    for event in events:
        if event[0] == "launch":
            meter.launched(event[1], 0, event[2])
        elif event[0] == "pod":
            meter.changed(event[1], 0, event[2], event[3])
        else:
            meter.terminated(event[1], event[2])
    split = meter.split({node: Decimal(b) for node, b in bills.items()}, until=until)
    total = sum((Decimal(b) for b in bills.values()), Decimal(0))
    assert split.nodes == total, why
    assert split.nodes == split.allocated["web"] + split.idle, why  # exactly, as Decimals
    if allocated is None:  # 0.30000000000000004 - 0.1 of 60 s, at half the node, exactly
        held = Fraction(0.30000000000000004) - Fraction(0.1)
        exact = Fraction("0.0016") * Fraction(1, 2) * held / (Fraction(60.1) - Fraction(0.1))
        assert Fraction(split.allocated["web"]) == Fraction(round(exact * 10**18), 10**18)
    else:
        assert split.allocated["web"] == Decimal(allocated), why


@pytest.mark.parametrize(
    ("events", "at", "share", "why"),
    [
        ([], [60.0], [math.nan], "no node: no node cost to share"),
        ([("launch", 0, 0.0), ("pod", 0, 1, 30.0)], [60.0], [0.25], "half a node, half the time"),
        ([("launch", 0, 0.0), ("pod", 0, 1, 30.0)], [60.0, 120.0], [0.25, 0.5],
         "the next interval on its own"),
        ([("launch", 0, 0.0), ("launch", 1, 0.0), ("pod", 0, 1, 0.0), ("pod", 0, 1, 0.0)],
         [60.0], [0.5], "one full node of two"),
        ([("launch", 0, 0.0), ("pod", 0, 1, 0.0), ("end", 0, 30.0)], [60.0], [0.5],
         "ends with its pod: half of a node's half-minute"),
    ],
)  # fmt: skip
def test_the_per_interval_share(
    events: list[tuple], at: list[float], share: list[float], why: str
) -> None:
    meter = costs()
    for event in events:
        if event[0] == "launch":
            meter.launched(event[1], 0, event[2])
        elif event[0] == "pod":
            meter.changed(event[1], 0, event[2], event[3])
        else:
            meter.terminated(event[1], event[2])
    got = [meter.interval_share(t) for t in at]
    assert np.allclose(got, share, equal_nan=True, rtol=0, atol=1e-12), why


@pytest.mark.parametrize(
    ("seconds", "rounded", "why"),
    [
        (0.0, 0.0, "zero stays zero"),
        (65.0, 65.0, "whole seconds up to 2048 are kept"),
        (61.25, 61.25, "a multiple of 1/16 s between 32 and 64 s is kept"),
        (2049.0, 2048.0, "from 2048 s on, steps of 2 s"),
        (3000.3, 3000.0, "rounded down, never up"),
        (0.1, 1638 / 16384, "a tenth: 11 bits of it"),
        (1e-7, 0.0, "below 2**-20 s: zero"),
    ],
)
def test_pending_times_are_rounded_down_to_11_significant_bits(
    seconds: float, rounded: float, why: str
) -> None:
    assert RoundedCounts.rounded(seconds) == rounded, why
    assert seconds - rounded <= max(seconds * 2**-10, 2**-20), why


def test_pending_time_percentiles_are_bounded_and_within_a_thousandth() -> None:
    rng = np.random.default_rng(0)
    waits = np.concatenate([np.zeros(50_000), rng.exponential(90.0, 150_000)])
    counts = RoundedCounts()
    for wait in waits.tolist():
        counts.add(wait)
    assert counts.count == len(waits) and len(counts) <= 60 * 1024  # bounded, not by churn
    exact = np.percentile(waits, [50, 99])
    got = counts.percentiles([50, 99])
    assert got == np.percentile([RoundedCounts.rounded(w) for w in waits], [50, 99]).tolist()
    assert all(e * (1 - 2**-10) <= g <= e for g, e in zip(got, exact, strict=True))
    assert all(math.isnan(p) for p in RoundedCounts().percentiles([50, 99]))  # none counted
    with pytest.raises(ParameterError, match=r"seconds=-1\.0"):
        counts.add(-1.0)


# --- in a run ------------------------------------------------------------------------------


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_a_fixed_cluster_is_split_by_its_pods_requests(fidelity: str) -> None:
    # two NODEs (2 vCPUs, 7 GiB) for 600 s, one 900m / 1 GiB pod on each all along
    result = simulate(scenario(), fixed(2), seed=3, fidelity=fidelity)
    weight = (Fraction(9, 10) * R + 1) / (2 * R + 7)
    bill = Fraction(2 * 600) * Fraction("0.096") / 3600
    split = result.cost_split()
    assert split["nodes"] == result.bill == Decimal("0.032")
    assert Fraction(split["allocated"]["web"]) == Fraction(round(bill * weight * 10**18), 10**18)
    assert split["nodes"] == split["allocated"]["web"] + split["idle"]
    summary = result.summary()
    assert summary["node_cost"] == 0.032 and summary["mean_nodes"] == 2
    assert summary["idle_share"] == pytest.approx(float(1 - weight))
    assert summary["pods_evicted"] == 0 and summary["nodes_launched"] == 0
    # per interval: the share is the pods' all along, and the categories stack to the bill
    cluster = result.cluster
    assert np.allclose(cluster["allocated_share"], float(weight))
    assert np.allclose(cluster["cost_allocated"] + cluster["cost_idle"], result.cost_per_interval)


@pytest.mark.parametrize("fidelity", ["request", "fluid"])
def test_the_node_series_per_interval(fidelity: str) -> None:
    autoscaler = Scripted({20.0: NodePlan(launches=(Launch("cheap"),))}, (NODE,))
    run = Simulation(
        scenario(initial_nodes=1, autoscaler=autoscaler), fixed(4), seed=2, fidelity=fidelity
    )
    result = run.result()
    at = {end: i for i, end in enumerate(result.end.tolist())}
    cluster = result.cluster
    # one general node from the start, a cheap (Spot) one from 20 s
    assert cluster["nodes:general"][at[15.0]] == 1 and cluster["nodes:cheap"][at[15.0]] == 0
    assert cluster["nodes:cheap"][at[30.0]] == 1
    # two pods bound at 0 s (pending 0 s); the two asked for at 15 s wait for the cheap
    # node, ready at 80 s: bound in (75, 90], pending 65 s; no pod bound in between
    assert cluster["pods_bound"][at[15.0]] == 2 and cluster["pod_pending_p99"][at[15.0]] == 0
    assert cluster["pods_bound"][at[90.0]] == 2 and cluster["pod_pending_p99"][at[90.0]] == 65.0
    assert np.isnan(cluster["pod_pending_p99"][at[60.0]])
    # over the run, waits 0, 0, 65, 65: p50 halfway between 0 and 65, p99 between 65 and 65
    assert result.totals["pod_pending_p50"] == 32.5 and result.totals["pod_pending_p99"] == 65.0
    # the run keeps counts of rounded pending times, not one entry per binding
    plane = run.backend.plane  # type: ignore[attr-defined]
    assert plane.pending.count == 4 and len(plane.pending) == 2


def test_the_split_survives_json_and_a_run_without_nodes_has_none() -> None:
    from elastic.sim import Poisson, Scenario

    result = simulate(scenario(), fixed(2), seed=3)
    back = RunResult.from_json(result.to_json())
    assert back.cost_split() == result.cost_split()
    assert back.summary()["idle_share"] == result.summary()["idle_share"]
    one_level = simulate(Scenario(Poisson(5.0), duration=120.0), fixed(1), seed=1)
    assert "node_cost" not in one_level.summary() and "cost_split" not in one_level.to_dict()
    with pytest.raises(ParameterError, match="a run with nodes"):
        one_level.cost_split()
    with pytest.raises(ParameterError, match="cost_split"):
        CostSplit.from_dict({"nodes": "1"})


def test_the_node_plots() -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    result = simulate(scenario(), fixed(2), seed=3)
    figure = result.plot_nodes()
    nodes, pods, cost = figure.axes[:3]
    # only the templates that had a node: "cheap" never did
    assert [t.get_text() for t in nodes.get_legend().get_texts()] == ["general"]
    assert [t.get_text() for t in cost.get_legend().get_texts()] == ["allocated (requests)", "idle"]
    assert pods.get_ylabel() == "pods"
    plt.close(figure)
    from elastic.sim import Poisson, Scenario

    with pytest.raises(ParameterError, match="a run with nodes"):
        simulate(Scenario(Poisson(5.0), duration=120.0), fixed(1), seed=1).plot_nodes()
