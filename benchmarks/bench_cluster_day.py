"""A day of a 1,000-node, 10,000-pod cluster, both levels, in fluid fidelity.

Scenario: the first day of the shipped NASA week (per-minute counts, scaled
so that the day's peak minute needs 7,000 pods at 60 % CPU: with the HPA's
overshoot and its five-minute scale-down window, the fleet peaks near 10,000
pods on about 1,000 nodes), 50 ms
exponential service, pods of 700m CPU and 1 GiB starting in 20 s once bound,
the HPA's default behavior at 60 % CPU every 15 s; nodes under

- the Cluster Autoscaler: one node group of m5.2xlarge (11 such pods a
  node), the upstream defaults;
- Karpenter: one NodePool offering m5.large to m5.4xlarge, c5.2xlarge and
  r5.2xlarge, on-demand, the upstream defaults.

For each: the fluid day's time (wall and CPU), its peak pods and nodes, and the
process's peak memory; then request-level fidelity on a 10-minute slice at
the day's peak, and its time projected to the day (its time per request
times the day's requests). Each run is in a fresh process.

Run: ``.venv/bin/python benchmarks/bench_cluster_day.py [--autoscalers ca,karpenter]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from typing import Any

import numpy as np

from elastic import Behavior, DecisionLoop
from elastic.data import load_trace
from elastic.nodes import (
    ClusterAutoscaler,
    Karpenter,
    NodeGroup,
    NodePool,
    NodeTemplate,
    PodSpec,
    Resources,
)
from elastic.policies import TargetTracking
from elastic.sim import (
    Constant,
    Exponential,
    NodeLevel,
    ReplicaSpec,
    Scenario,
    TraceReplay,
    simulate,
)

DEMAND_PODS = 7_000  # at the peak minute, at TARGET
TARGET = 0.6
SERVICE = 0.05
KARPENTER_TYPES = ("m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge", "c5.2xlarge", "r5.2xlarge")


def trace() -> tuple[np.ndarray, np.ndarray]:
    times, counts = load_trace("nasa-1995-jul09")
    day_times, day_counts = times[:1440], counts[:1440].astype(np.float64)
    # requests a minute so that the peak minute needs DEMAND_PODS pods at TARGET
    scale = DEMAND_PODS * TARGET / SERVICE * 60 / day_counts.max()
    return day_times, np.round(day_counts * scale).astype(np.int64)


def autoscaler(name: str) -> Any:
    if name == "ca":
        node = NodeTemplate.from_catalog("m5.2xlarge")
        return ClusterAutoscaler([NodeGroup(node, max_size=2000)])
    offerings = [NodeTemplate.from_catalog(t) for t in KARPENTER_TYPES]
    return Karpenter([NodePool("default", offerings)])


def scenario(name: str, start: float, duration: float) -> Scenario:
    times, counts = trace()
    first = int(start // 60)
    workload = TraceReplay(times[first:] - start, counts[first:], bucket=60.0)
    pods = max(1, round(counts[first] / 60 * SERVICE / TARGET))
    return Scenario(
        workload,
        duration=duration,
        service=Exponential(SERVICE),
        replica=ReplicaSpec(boot=Constant(20.0)),
        initial_replicas=pods,
        nodes=NodeLevel(
            PodSpec("web", Resources.parse(cpu="700m", memory="1Gi")),
            autoscaler=autoscaler(name),
            initial_nodes={"m5.2xlarge": -(-pods // 11)},
            templates=(NodeTemplate.from_catalog("m5.2xlarge"),),
        ),
    )


def hpa() -> DecisionLoop:
    return DecisionLoop(
        TargetTracking("cpu", 100 * TARGET),
        min_replicas=1,
        max_replicas=5 * DEMAND_PODS,
        behavior=Behavior.kubernetes_default(),
    )


def one(name: str, fidelity: str, start: float, duration: float) -> dict[str, float]:
    setup = scenario(name, start, duration)
    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(setup, hpa(), fidelity=fidelity)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "pods": float(result.replicas.max()),
        "nodes": float(result.cluster["nodes"].max()),
        "arrived": float(result.totals["arrived"]),
        "launched": float(result.totals["nodes_launched"]),
        "evicted": float(result.totals["pods_evicted"]),
        "cost": float(result.cost()),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fresh(*args: Any) -> dict[str, float]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(one, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--autoscalers", default="ca,karpenter")
    parser.add_argument("--slice", type=float, default=600.0, help="request-level seconds")
    args = parser.parse_args()
    times, counts = trace()
    peak = float(times[int(np.argmax(counts))])
    day_requests = float(counts.sum())
    print(f"day: {day_requests:,.0f} requests, peak {counts.max() / 60:,.0f}/s at {peak:g} s")
    for name in args.autoscalers.split(","):
        day = fresh(name, "fluid", 0.0, 86_400.0)
        print(
            f"{name:10s} fluid day: {day['wall']:.1f} s wall, {day['cpu']:.1f} s CPU; "
            f"peak {day['pods']:,.0f} pods on {day['nodes']:,.0f} nodes; "
            f"{day['launched']:,.0f} nodes launched, {day['evicted']:,.0f} pods evicted; "
            f"${day['cost']:,.2f}; peak memory {day['maxrss_mib']:,.0f} MiB"
        )
        start = max(0.0, peak - args.slice / 2)
        part = fresh(name, "request", start, args.slice)
        projected = part["wall"] / part["arrived"] * day_requests
        print(
            f"{name:10s} request-level {args.slice:g} s at the peak: {part['wall']:.1f} s wall "
            f"for {part['arrived']:,.0f} requests; the day projected: {projected / 3600:.1f} h "
            f"({projected / day['wall']:,.0f}x the fluid day)"
        )


if __name__ == "__main__":
    main()
