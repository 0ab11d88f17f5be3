"""How fast the scheduler places pending pods, against a pure-Python loop.

Case: 10,000 pending pods of 4 specs (interleaved in the queue) onto 1,000
ready nodes of 3 shapes, default strategy (LeastAllocated + BalancedAllocation).
Baseline: a straightforward pure-Python kube-scheduler loop (for each pod,
filter and score every node with plain ints and floats, same formulas and
tie-break), timed on the first pods of the same queue and reported per pod.
The baseline's bindings are checked to equal the scheduler's on that prefix.

Run: ``.venv/bin/python benchmarks/bench_scheduler.py``
"""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from elastic.nodes.cluster import READY, ClusterState
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.scheduler import Scheduler

NODES = 1_000
PODS = 10_000
BASELINE_PODS = 300
REPEATS = 3
GiB = 2**30


def build() -> ClusterState:
    from elastic.nodes.templates import NodeTemplate

    shapes = [
        NodeTemplate("m5.xlarge", "m5.xlarge", "on-demand", Resources(3920, 14 * GiB, 58),
                     Decimal("0.192")),
        NodeTemplate("c6g.2xlarge", "c6g.2xlarge", "on-demand", Resources(7910, 14 * GiB, 58),
                     Decimal("0.272"), arch="arm64"),
        NodeTemplate("r5.large", "r5.large", "on-demand", Resources(1930, 14 * GiB, 29),
                     Decimal("0.126")),
    ]  # fmt: skip
    specs = [
        PodSpec("web", Resources.parse(cpu="250m", memory="512Mi")),
        PodSpec("api", Resources.parse(cpu="500m", memory="1Gi")),
        PodSpec("cache", Resources.parse(cpu="100m", memory="2Gi")),
        PodSpec("batch", Resources.parse(cpu="1", memory="256Mi")),
    ]
    cluster = ClusterState(shapes, specs)
    for i in range(NODES):
        node = cluster.add_node(shapes[i % 3].name, 0.0)
        cluster.set_node_state(node, READY, 60.0)
    for i in range(PODS):
        cluster.add_pod(specs[(i * 7) % 4].name, 61.0)
    return cluster


def baseline(cluster: ClusterState, count: int) -> list[tuple[int, int]]:
    """Filter and score every node for every pod, in plain Python."""
    nodes = [int(n) for n in cluster]
    rows = [cluster.row_of(n) for n in nodes]
    free = {n: [int(v) for v in cluster.headroom()[r]] for n, r in zip(nodes, rows, strict=True)}
    alloc = {n: [int(v) for v in cluster.allocatable[r]] for n, r in zip(nodes, rows, strict=True)}
    admits = {
        n: cluster.admits[:, cluster.node_template[r]].tolist()
        for n, r in zip(nodes, rows, strict=True)
    }
    bindings = []
    for pod in cluster.pending().tolist()[:count]:
        spec = int(cluster.pod_spec[cluster.pod_row(pod)])
        req = [int(v) for v in cluster.requests[spec]]
        best, best_score = -1, -1
        for n in nodes:
            room = free[n]
            if not admits[n][spec] or any(room[k] < req[k] for k in range(3)):
                continue
            a = alloc[n]
            used = [a[k] - room[k] + req[k] for k in range(2)]
            least = sum((a[k] - used[k]) * 100 // a[k] for k in range(2)) // 2
            f = [min(used[k] / a[k], 1.0) for k in range(2)]
            balanced = int((1 - abs((f[0] - f[1]) / 2)) * 100)
            score = least + balanced + 300  # TaintToleration: no taints, 100 x 3
            if score > best_score:
                best, best_score = n, score
        if best >= 0:
            for k in range(3):
                free[best][k] -= req[k]
            bindings.append((pod, best))
    return bindings


def main() -> None:
    cluster = build()
    scheduler = Scheduler()
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = scheduler.schedule(cluster, 61.0)
        samples.append(time.perf_counter() - start)
    fast = statistics.median(samples)
    start = time.perf_counter()
    slow_bindings = baseline(cluster, BASELINE_PODS)
    slow = (time.perf_counter() - start) / BASELINE_PODS
    assert slow_bindings == result.bindings[:BASELINE_PODS], "the baseline decided otherwise"
    placed = len(result.bindings)
    print(f"{PODS} pending pods onto {NODES} nodes ({placed} placed), median of {REPEATS}")
    print(f"{'case':34} {'pods/s':>10} {'x baseline':>11}")
    print(f"{'pure-Python loop (baseline)':34} {1 / slow:10.0f} {1.0:11.2f}")
    print(f"{'Scheduler.schedule':34} {PODS / fast:10.0f} {slow * PODS / fast:11.2f}")
    print(f"pass: {fast:.3f} s")


if __name__ == "__main__":
    main()
