"""How fast Karpenter's provisioning simulation packs pending pods onto new nodes.

10,000 pending pods (40 workloads of seeded sizes) onto up to 500 synthetic
instance types (families x sizes x generations x architectures x capacity
types, seeded prices). Measured: :meth:`elastic.nodes.karpenter.Karpenter.provision`
(queue order, first-fit onto claims that keep every instance type still
fitting, cheapest offering per claim). Baseline, in the same run: a
straightforward pure-Python first-fit decreasing onto bins of the largest
type, each bin then launched as the cheapest type its pods fit. Reported:
pods per second, nodes and hourly price of each.

Run: ``.venv/bin/python benchmarks/bench_packing.py [instance types] [workloads]``
"""

from __future__ import annotations

import statistics
import sys
import time
from decimal import Decimal

import numpy as np

from elastic.nodes.cluster import ClusterState
from elastic.nodes.karpenter import Karpenter, NodePool
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

PODS = 10_000
WORKLOADS = 40
REPEATS = 3
GiB = 2**30
MiB = 2**20


def offerings(count: int, seed: int = 1) -> list[NodeTemplate]:
    rng = np.random.default_rng(seed)
    out: list[NodeTemplate] = []
    sizes = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96)
    families = (("c", 2, 0.0425), ("m", 4, 0.048), ("r", 8, 0.063))
    for generation in range(5, 9):
        for arch, discount in (("amd64", 1.0), ("arm64", 0.8)):
            for family, gib_per_cpu, per_cpu in families:
                for vcpu in sizes:
                    od = per_cpu * vcpu * discount * (1 + 0.03 * (generation - 5))
                    od *= float(rng.uniform(0.97, 1.03))
                    for capacity, factor in (("on-demand", 1.0), ("spot", 0.35)):
                        graviton = "g" if arch == "arm64" else ""
                        name = f"{family}{generation}{graviton}.{vcpu}x/{capacity}"
                        memory = vcpu * gib_per_cpu * GiB
                        out.append(
                            NodeTemplate(
                                name,
                                name.split("/")[0],
                                capacity,  # type: ignore[arg-type]
                                Resources(
                                    1000 * vcpu - 70 - 10 * vcpu,
                                    memory - 255 * MiB - 11 * MiB * vcpu,
                                    min(110, 8 * vcpu + 2),
                                ),
                                Decimal(f"{od * factor:.5f}"),
                                arch=arch,
                                vcpu=vcpu,
                                memory_bytes=memory,
                            )
                        )
    return out[:count]


def workloads(n: int = WORKLOADS, seed: int = 2) -> tuple[list[PodSpec], np.ndarray]:
    rng = np.random.default_rng(seed)
    cpus = rng.choice([100, 250, 500, 1000, 1500, 2000, 4000], size=n) + rng.integers(0, 50, n)
    mems = rng.choice([128, 256, 512, 1024, 2048, 4096, 8192], size=n) + rng.integers(0, 64, n)
    specs = [
        PodSpec(f"w{i}", Resources(int(c), int(m) * MiB, 1))
        for i, (c, m) in enumerate(zip(cpus, mems, strict=True))
    ]
    counts = rng.multinomial(PODS, np.full(n, 1 / n))
    return specs, counts


def baseline(pods: list[tuple[int, int]], templates: list[NodeTemplate]) -> tuple[int, Decimal]:
    """Pure-Python first-fit decreasing onto bins of the largest type; each bin launched as
    the cheapest type its pods fit."""
    largest = max(templates, key=lambda t: (t.allocatable.cpu, t.allocatable.memory))
    big = largest.allocatable
    bins: list[list[int]] = []  # cpu, memory, pods used
    for cpu, memory in sorted(pods, reverse=True):
        for b in bins:
            if b[0] + cpu <= big.cpu and b[1] + memory <= big.memory and b[2] < big.pods:
                b[0] += cpu
                b[1] += memory
                b[2] += 1
                break
        else:
            bins.append([cpu, memory, 1])
    by_price = sorted(templates, key=lambda t: t.price_per_hour)
    total = Decimal(0)
    for cpu, memory, count in bins:
        for t in by_price:
            a = t.allocatable
            if cpu <= a.cpu and memory <= a.memory and count <= a.pods:
                total += t.price_per_hour
                break
    return len(bins), total


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    templates = offerings(count)
    n_workloads = int(sys.argv[2]) if len(sys.argv) > 2 else WORKLOADS
    specs, counts = workloads(n_workloads)
    cluster = ClusterState(templates, specs)
    for spec, n in zip(specs, counts, strict=True):
        for _ in range(int(n)):
            cluster.add_pod(spec.name, 0.0)
    rows = np.flatnonzero(cluster.pod_id >= 0)
    pod_specs, pod_ids = cluster.pod_spec[rows], cluster.pod_id[rows]
    karpenter = Karpenter([NodePool("default", templates)])
    karpenter.offerings(cluster)  # per template set, once per run

    ours = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        launches, notes, _ = karpenter.provision(cluster, pod_specs, pod_ids)
        ours.append(time.perf_counter() - start)
    assert not notes, notes
    nodes = sum(launch.count for launch in launches)
    price = sum(
        (
            cluster.templates[cluster.template_index[x.template]].price_per_hour * x.count
            for x in launches
        ),
        Decimal(0),
    )
    flat = [
        (spec.requests.cpu, spec.requests.memory)
        for spec, n in zip(specs, counts, strict=True)
        for _ in range(int(n))
    ]
    theirs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        base_nodes, base_price = baseline(flat, templates)
        theirs.append(time.perf_counter() - start)
    mine, base = statistics.median(ours), statistics.median(theirs)
    print(
        f"{PODS} pending pods ({n_workloads} workloads), {len(templates)} instance types, "
        f"median of {REPEATS}"
    )
    print(f"{'packer':36} {'seconds':>8} {'pods/s':>10} {'nodes':>6} {'$/hour':>9}")
    print(
        f"{'Karpenter.provision (numpy)':36} {mine:8.3f} {PODS / mine:10.0f} "
        f"{nodes:6d} {price:9.3f}"
    )
    print(
        f"{'pure-Python first-fit decreasing':36} {base:8.3f} {PODS / base:10.0f} "
        f"{base_nodes:6d} {base_price:9.3f}"
    )
    print(f"speed-up x{base / mine:.1f}")


if __name__ == "__main__":
    main()
