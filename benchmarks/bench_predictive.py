"""Predictive scaling against target tracking on months of the NASA and World Cup traces.

Scenarios (fluid fidelity, weeks of trace): replicas of 2 slots that boot in
2 minutes, decisions every 60 s, log-normal service times (sigma 0.5). NASA
1995 (62 days) is replayed at 10 times its rate, with a median service of
2 s and a 10 s SLO, so that the service runs tens of replicas; World Cup 98
(87 days, flash crowds on match days) at its own rate, 50 ms and 0.5 s.

Policies, all in one AWS-like loop (15-minute scale-in stabilization, 3-minute
warm-up, 1 to 2000 replicas):

- target tracking at 60 % CPU, scale-in 10 % below target;
- predictive alone: the AWS-style forecaster (hourly, 14 days, 24 h before
  the first forecast) on requests per second, sized so that a replica
  carries what it carries at 60 % CPU; ``scale_in=True``, since with AWS's
  never-scale-in rule alone the capacity would only grow;
- hybrid: the larger of that predictive policy (not scaling in) and target
  tracking, as AWS and GCP combine them;
- hybrid with additive Holt-Winters on 10-minute buckets (daily and weekly
  seasons) in place of the AWS-style forecaster.

The predictive policies learn during the run (no history given): for their
first day they abstain and target tracking decides. Writes
``benchmarks/results/predictive.md`` and ``predictive.json``.

Run: ``.venv/bin/python benchmarks/bench_predictive.py [--days N]`` (needs ../shared/traces)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from elastic import Behavior, DecisionLoop, ScalingRules
from elastic.bench import compare
from elastic.forecast import AWSStyle, HoltWinters
from elastic.policies import Predictive, TargetTracking
from elastic.sim import Constant, LogNormal, ReplicaSpec, Scenario, TraceReplay

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "traces"
RESULTS = ROOT / "benchmarks" / "results"
SLOTS, TARGET_CPU, SIGMA = 2, 60.0, 0.5

# name: (file, rate scale, median service s, SLO s)
TRACES = {
    "NASA 1995 x10, 62 days": ("nasa_kennedy_1995_per_minute.csv.gz", 10.0, 2.0, 10.0),
    "World Cup 1998, 87 days": ("worldcup98_per_minute.csv.gz", 1.0, 0.05, 0.5),
}
METRICS = ["cost", "slo_attainment", "latency_mean", "theta_u", "tau_u", "theta_o", "tau_o",
           "scaling_actions", "mean_replicas"]  # fmt: skip


def scenarios(days: float | None) -> dict[str, Scenario]:
    built = {}
    for name, (file, scale, service, slo) in TRACES.items():
        trace = TraceReplay.from_csv(SHARED / file, column="requests", scale=scale)
        duration = float(trace.times[-1] + trace.bucket)
        if days is not None:
            duration = min(duration, days * 86400.0)
        built[name] = Scenario(
            trace,
            duration=duration - duration % 60,
            service=LogNormal(service, SIGMA),
            replica=ReplicaSpec(slots=SLOTS, boot=Constant(120.0)),
            control_interval=60.0,
            initial_replicas=3,
            slo=slo,
            name=name,
        )
    return built


def loops(service: float) -> dict[str, DecisionLoop]:
    """The four loops for a median service time of ``service`` seconds."""
    per_replica = TARGET_CPU / 100 * SLOTS / LogNormal(service, SIGMA).mean  # rps at 60 % CPU

    def loop(*policies: object) -> DecisionLoop:
        return DecisionLoop(
            list(policies),  # type: ignore[arg-type]
            behavior=Behavior(scale_down=ScalingRules(stabilization_window_seconds=900.0)),
            warmup=180.0,
            min_replicas=1,
            max_replicas=2000,
        )

    tracking = TargetTracking("cpu", TARGET_CPU, scale_in_margin=0.1)
    seasonal = HoltWinters(periods=(144, 1008), alpha=0.1, beta=0.0, gamma=(0.1, 0.05), trend=False)
    return {
        "target tracking": loop(tracking),
        "predictive alone (AWS-style, scales in)": loop(
            Predictive(AWSStyle(), "rps", per_replica, scale_in=True)
        ),
        "hybrid: AWS-style + target tracking": loop(
            Predictive(AWSStyle(), "rps", per_replica), tracking
        ),
        "hybrid: Holt-Winters + target tracking": loop(
            Predictive(seasonal, "rps", per_replica, bucket=600.0), tracking
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=None, help="only the first N days")
    args = parser.parse_args()
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is not here: this benchmark reads the shared traces")
    start = time.perf_counter()
    rows, failures = [], []
    for name, setup in scenarios(args.days).items():
        service = TRACES[name][2]
        result = compare(loops(service), {name: setup}, 1, fidelity="fluid")
        rows.extend(result.rows)
        failures.extend(result.failures)
    seconds = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "predictive.json").write_text(json.dumps(rows, indent=1, sort_keys=True))
    lines = [
        "# Predictive scaling on the shared traces",
        "",
        f"Written by `benchmarks/bench_predictive.py` (fluid fidelity, one seed; {len(rows)} "
        f"runs in {seconds:.0f} s on 2 workers). Cost and SLO change against target "
        "tracking alone on the same trace.",
        "",
        "| trace | policy | " + " | ".join(METRICS) + " | Δ cost | Δ SLO |",
        "|---|---|" + "---|" * (len(METRICS) + 2),
    ]
    baseline = {r["scenario"]: r for r in rows if r["policy"] == "target tracking"}
    order = list(loops(1.0))
    for row in sorted(rows, key=lambda r: (r["scenario"], order.index(r["policy"]))):
        base = baseline[row["scenario"]]
        cells = [f"{row[m]:.4g}" if m != "slo_attainment" else f"{row[m]:.5f}" for m in METRICS]
        cost = 100 * (row["cost"] / base["cost"] - 1)
        slo = 100 * (row["slo_attainment"] - base["slo_attainment"])
        cells += [f"{cost:+.1f} %", f"{slo:+.3f} pt"]
        lines.append(f"| {row['scenario']} | {row['policy']} | " + " | ".join(cells) + " |")
    for failure in failures:
        lines.append(f"\nFAILED: {failure.policy} on {failure.scenario}: {failure.error}")
    (RESULTS / "predictive.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
