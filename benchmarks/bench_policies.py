"""Policy quality on every trace of ../shared/traces: cost, SLO and elasticity, 3 seeds.

For each trace a scenario is built (service time, replica size and SLO
chosen so that the busiest minute needs tens to hundreds of replicas; see
``TRACES``), and each policy runs on it with three seeds in **fluid**
fidelity (months of trace), on a local process pool. The table of means and
95 % intervals goes to ``benchmarks/results/policies.md`` (and the rows to
``policies.json``), so that a change in policy quality shows in review.

Run: ``.venv/bin/python benchmarks/bench_policies.py`` (needs ../shared/traces)
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from elastic import DecisionLoop, demo
from elastic.bench import compare
from elastic.sim import Constant, LogNormal, ReplicaSpec, Scenario, TraceReplay

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "traces"
RESULTS = ROOT / "benchmarks" / "results"

# name: (file, count column, median service time in s, SLO in s)
TRACES = {
    "NASA 1995, 62 days, per minute": (
        "nasa_kennedy_1995_per_minute.csv.gz", "requests", 2.0, 10.0),
    "NASA 1995, a week, per second": (
        "nasa_kennedy_1995_week_jul09_per_second.csv.gz", "requests", 2.0, 10.0),
    "World Cup 1998, 87 days, per minute": (
        "worldcup98_per_minute.csv.gz", "requests", 0.05, 0.5),
    "Azure Functions 2019, a day, per minute": (
        "azure_functions_2019_sample1000_per_minute.csv", "invocations_total", 0.2, 2.0),
    "Azure LLM 2023 code, an hour, per second": (
        "azure_llm_2023_code_per_second.csv", "requests", 1.0, 10.0),
    "Azure LLM 2023 conversation, an hour, per second": (
        "azure_llm_2023_conv_per_second.csv", "requests", 1.0, 10.0),
}  # fmt: skip
METRICS = ["cost", "slo_attainment", "latency_mean", "theta_u", "theta_o", "tau_u", "tau_o",
           "scaling_actions", "mean_replicas"]  # fmt: skip


def scenarios() -> dict[str, Scenario]:
    built = {}
    for name, (file, column, service, slo) in TRACES.items():
        trace = TraceReplay.from_csv(SHARED / file, column=column)
        duration = float(trace.times[-1] + trace.bucket)
        duration -= duration % 60  # whole control intervals
        mean_service = LogNormal(service, 0.5).mean
        # sized for the first minute at 60 % CPU, so that no run starts in a deep overload
        first_minute = trace.mean_rate(trace.times[0] + trace.bucket * np.arange(60 / trace.bucket))
        initial = max(1, math.ceil(float(first_minute.mean()) * mean_service / 2 / 0.6))
        built[name] = Scenario(
            trace,
            duration=duration,
            service=LogNormal(service, 0.5),
            replica=ReplicaSpec(slots=2, boot=Constant(120.0)),
            control_interval=60.0,
            initial_replicas=initial,
            slo=slo,
            name=name,
        )
    return built


def policies() -> dict[str, DecisionLoop]:
    """The demo's target tracking (HPA) and step scaling, allowed up to 1000 replicas."""
    chosen = ("HPA: cpu 60 %, Kubernetes behavior", "step scaling at 70 %, cooldown 5 min")
    loops = demo.policies(1, max_replicas=1000)
    return {name: loops[name] for name in chosen}


def main() -> None:
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is not here: this benchmark reads the shared traces")
    start = time.perf_counter()
    result = compare(policies(), scenarios(), 3, fidelity="fluid")
    seconds = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "policies.json").write_text(json.dumps(result.rows, indent=1, sort_keys=True))
    lines = [
        "# Policy quality on the shared traces",
        "",
        "Written by `benchmarks/bench_policies.py` (fluid fidelity, 3 seeds, mean ± 95 % "
        f"half-width; {len(result.rows)} runs in {seconds:.0f} s on 2 workers).",
        "",
        "A replayed trace gives the same fluid counts whatever the seed, and boot times are "
        "constant here, so the seeds differ only where a random rounding or split enters "
        "(no ± shown: identical runs). Each scenario starts with the replicas its first "
        "minute needs at 60 % CPU.",
        "",
        "| trace | policy | " + " | ".join(METRICS) + " |",
        "|---|---|" + "---|" * len(METRICS),
    ]
    for entry in sorted(result.aggregate(METRICS), key=lambda e: (e["scenario"], e["policy"])):
        cells = []
        for metric in METRICS:
            mean, half = entry[metric], entry[f"{metric}_ci"]
            spread = not math.isnan(half) and half > 1e-9 * max(abs(mean), 1.0)
            cells.append(f"{mean:.4g}" + (f" ±{half:.2g}" if spread else ""))
        lines.append(f"| {entry['scenario']} | {entry['policy']} | " + " | ".join(cells) + " |")
    for failure in result.failures:
        where = f"{failure.policy} on {failure.scenario}, seed {failure.seed}"
        lines.append(f"\nFAILED: {where}: {failure.error}")
    (RESULTS / "policies.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
