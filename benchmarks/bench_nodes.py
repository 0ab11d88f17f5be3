"""Node autoscalers compared under one pod-level HPA: cost, idle, SLO, pod scheduling, churn.

The same workload, the same pods (700m CPU, 1 GiB, one request at a time,
starting 20 s after they are bound) and the same pod-level loop (the HPA's
default behavior at 60 % CPU every 15 s) run on:

- **CA least-waste** and **CA price**: the Cluster Autoscaler with node groups
  of m5.large, m5.2xlarge, c5.2xlarge and r5.large, each expander;
- **Karpenter**: one NodePool offering those four types, on-demand;
- **ECS spread** and **ECS binpack**: one capacity provider, an Auto Scaling
  group of m5.2xlarge (nothing reserved from tasks, as the ECS agent by
  default), managed scaling at target capacity 100, managed
  termination protection; tasks placed by the scheduler's LeastAllocated
  scores (spreading, as a service's default strategy spreads them) or by
  MostAllocated (packing, as the ``binpack`` strategy does);
- **Fargate**: no nodes; each pod a Fargate task of the size EKS bills for it
  (1 vCPU, 2 GB), starting 60 s after it is asked for (our assumption: AWS
  publishes no start time).

Every node setup starts with the nodes the first pods need. Traces: the
shipped NASA week (per minute) and, when ``../shared/traces`` is present, the
busiest week of the World Cup 1998 trace; both scaled so that the busiest
minute needs 300 pods at 60 % CPU. Fluid fidelity, 3 seeds, on a local process
pool; the table (means, with 95 % half-widths where the seeds differ) goes to
``benchmarks/results/nodes.md`` and the rows to ``nodes.json``.

Run: ``.venv/bin/python benchmarks/bench_nodes.py [--days 7] [--seeds 3]``
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from elastic import Behavior, DecisionLoop
from elastic.bench.stats import mean_ci
from elastic.data import load_trace
from elastic.nodes import (
    CapacityProvider,
    ClusterAutoscaler,
    EcsManagedScaling,
    FargateProfile,
    Karpenter,
    NodeGroup,
    NodePool,
    NodeTemplate,
    PodSpec,
    Resources,
)
from elastic.nodes.ecs import ECS_AGENT
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

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "traces"
RESULTS = ROOT / "benchmarks" / "results"

SERVICE = 0.05  # seconds a request needs of a pod
TARGET = 0.6
PEAK_PODS = 300  # what the busiest minute needs at TARGET
SLO = 0.5
POD = PodSpec("web", Resources.parse(cpu="700m", memory="1Gi"))
TYPES = ("m5.large", "m5.2xlarge", "c5.2xlarge", "r5.large")
SETUPS = ("CA least-waste", "CA price", "Karpenter", "ECS spread", "ECS binpack", "Fargate")
METRICS = (
    "cost",
    "idle_share",
    "slo_attainment",
    "pod_pending_p99",
    "nodes_launched",
    "pods_evicted",
    "mean_replicas",
)


def traces(days: int) -> dict[str, np.ndarray]:
    """Per-minute counts of each trace, ``days`` long."""
    found = {}
    _, nasa = load_trace("nasa-1995-jul09")
    found["NASA 1995 (shipped week)"] = nasa[: days * 1440]
    world_cup = SHARED / "worldcup98_per_minute.csv.gz"
    if world_cup.exists():
        counts = TraceReplay.from_csv(world_cup, column="requests").counts.astype(np.int64)
        width = days * 1440
        busiest = int(np.argmax(np.convolve(counts, np.ones(width), mode="valid")))
        found["World Cup 1998 (busiest week)"] = counts[busiest : busiest + width]
    return found


def node_level(setup: str, first_pods: int) -> NodeLevel | None:
    templates = [NodeTemplate.from_catalog(t) for t in TYPES]
    big = NodeTemplate.from_catalog("m5.2xlarge")
    initial = {"m5.2xlarge": -(-first_pods // 11)}  # 11 pods of 700m on an m5.2xlarge
    if setup.startswith("CA"):
        expander = setup.split()[-1]
        groups = [NodeGroup(t, max_size=500) for t in templates]
        return NodeLevel(POD, autoscaler=ClusterAutoscaler(groups, expander=expander),
                         initial_nodes=initial)  # fmt: skip
    if setup == "Karpenter":
        return NodeLevel(POD, autoscaler=Karpenter([NodePool("default", templates)]),
                         initial_nodes=initial, templates=(big,))  # fmt: skip
    if setup.startswith("ECS"):
        big = NodeTemplate.from_catalog("m5.2xlarge", reservation=ECS_AGENT)  # ECS reserves none
        provider = CapacityProvider("web", (big,), max_size=500,
                                    managed_termination_protection=True)  # fmt: skip
        placement = "MostAllocated" if setup == "ECS binpack" else "LeastAllocated"
        return NodeLevel(POD, autoscaler=EcsManagedScaling([provider]), initial_nodes=initial,
                         scheduler=placement)  # fmt: skip
    return None


def scenario(trace: str, counts: np.ndarray, setup: str) -> Scenario:
    scale = PEAK_PODS * TARGET / SERVICE * 60 / counts.max()
    scaled = np.round(counts * scale).astype(np.int64)
    workload = TraceReplay(np.arange(len(scaled)) * 60.0, scaled, bucket=60.0)
    first_pods = max(1, math.ceil(scaled[0] / 60 * SERVICE / TARGET))
    level = node_level(setup, first_pods)
    fargate = level is None
    return Scenario(
        workload,
        duration=len(scaled) * 60.0,
        service=Exponential(SERVICE),
        replica=ReplicaSpec(boot=Constant(60.0 if fargate else 20.0), kind="fargate"),
        initial_replicas=first_pods,
        tariffs={"fargate": FargateProfile().pod(POD.requests)} if fargate else None,
        slo=SLO,
        nodes=level,
        name=f"{trace}: {setup}",
    )


def hpa() -> DecisionLoop:
    return DecisionLoop(
        TargetTracking("cpu", 100 * TARGET),
        min_replicas=1,
        max_replicas=10 * PEAK_PODS,
        behavior=Behavior.kubernetes_default(),
    )


def run(trace: str, counts: np.ndarray, setup: str, seed: int) -> dict[str, Any]:
    result = simulate(scenario(trace, counts, setup), hpa(), seed=seed, fidelity="fluid")
    summary = result.summary()
    nan = math.nan
    return {
        "trace": trace,
        "setup": setup,
        "seed": seed,
        **{m: float(summary.get(m, result.totals.get(m, nan))) for m in METRICS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    found = traces(args.days)
    jobs = [
        (trace, counts, setup, seed)
        for trace, counts in found.items()
        for setup in SETUPS
        for seed in range(args.seeds)
    ]
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(run, *zip(*jobs, strict=True)))
    seconds = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "nodes.json").write_text(json.dumps(rows, indent=1, sort_keys=True))
    lines = [
        "# Node autoscalers under one pod-level HPA",
        "",
        f"Written by `benchmarks/bench_nodes.py` ({args.days} days a trace, fluid fidelity, "
        f"{args.seeds} seeds, mean ± 95 % half-width where the seeds differ; {len(rows)} runs "
        f"in {seconds:.0f} s on 2 workers). See the module docstring for the setups.",
        "",
        "| trace | setup | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for trace in found:
        for setup in SETUPS:
            mine = [r for r in rows if r["trace"] == trace and r["setup"] == setup]
            cells = []
            for metric in METRICS:
                mean, half = mean_ci([r[metric] for r in mine])
                if math.isnan(mean):  # not a quantity of this setup (Fargate has no nodes)
                    cells.append("—")
                    continue
                spread = not math.isnan(half) and half > 1e-9 * max(abs(mean), 1.0)
                cells.append(f"{mean:.4g}" + (f" ±{half:.2g}" if spread else ""))
            lines.append(f"| {trace} | {setup} | " + " | ".join(cells) + " |")
    (RESULTS / "nodes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
