"""The main job: compare scaling policies on a real trace, in the simulator.

The system: the NASA Kennedy Space Center web server trace (a week of July
1995 is shipped in :mod:`elastic.data`; by default the demo replays the
Wednesday and the Thursday of the STS-70 launch) request by request; each
request needs a log-normal 2 s (median) of one vCPU; replicas are m5.large
instances (2 vCPUs, billed per second with a 60 s minimum) that boot in
2 minutes; the latency objective is 10 s. Every policy runs in the same
``DecisionLoop`` as it would in production, every 15 s, on metrics scraped
every 15 s.

Examples
--------
>>> scenario().name, peak_replicas()
('NASA 1995, Wednesday, 2 day(s)', 13)
>>> list(policies(13))[:2]
['static, 13 replicas', 'HPA: cpu 60 %, Kubernetes behavior']
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from elastic.bench import Comparison, SerialExecutor
from elastic.bench import compare as compare_runs
from elastic.core import Behavior, Cooldown, DecisionLoop, Policy, ScalingRules
from elastic.data import load_trace
from elastic.errors import ParameterError
from elastic.forecast import AWSStyle
from elastic.policies import Predictive, StepScaling, TargetTracking
from elastic.sim import Constant, LogNormal, ReplicaSpec, Scenario, TraceReplay

__all__ = [
    "COLUMNS",
    "SerialExecutor",
    "compare",
    "history",
    "main",
    "policies",
    "scenario",
    "write_plots",
]

SERVICE_S, SIGMA, SLOTS, BOOT_S, SLO_S = 2.0, 0.5, 2, 120.0, 10.0
#: requests per second one replica serves at 60 % CPU
REPLICA_RPS = 0.6 * SLOTS / LogNormal(SERVICE_S, SIGMA).mean
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
COLUMNS = {
    "cost": ("cost $", 2),
    "slo_attainment": ("SLO %", 1),
    "latency_p99": ("p99 s", 1),
    "theta_u": ("θU %", 1),
    "theta_o": ("θO %", 1),
    "tau_u": ("τU %", 1),
    "tau_o": ("τO %", 1),
    "scaling_actions": ("actions", 0),
    "mean_replicas": ("replicas", 1),
}


def _minutes(days: int, first_day: int) -> slice:
    if not 0 <= first_day <= 6 or not 1 <= days <= 7 - first_day:
        raise ParameterError(
            "days",
            (first_day, days),
            "days of the shipped week (Sunday is 0, 7 days)",
            owner="demo",
        )
    return slice(first_day * 1440, (first_day + days) * 1440)


def scenario(days: int = 2, first_day: int = 3) -> Scenario:
    """``days`` of the shipped NASA week from ``first_day`` (0: Sunday 1995-07-09)."""
    _, counts = load_trace("nasa-1995-jul09")
    window = counts[_minutes(days, first_day)]
    return Scenario(
        TraceReplay(60.0 * np.arange(len(window)), window, bucket=60.0),
        duration=days * 86400.0,
        service=LogNormal(SERVICE_S, SIGMA),
        replica=ReplicaSpec(slots=SLOTS, boot=Constant(BOOT_S)),
        initial_replicas=2,
        slo=SLO_S,
        name=f"NASA 1995, {DAYS[first_day]}, {days} day(s)",
    )


def history(first_day: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The shipped days before ``first_day``: (seconds before the run starts, requests/s)."""
    _, counts = load_trace("nasa-1995-jul09")
    before = counts[: 1440 * first_day]
    if not len(before):
        return None
    return 60.0 * (np.arange(len(before)) - len(before)), before / 60.0


def policies(
    peak: int,
    *,
    max_replicas: int = 60,
    history: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, DecisionLoop]:
    """The policies compared, by name.

    ``peak`` sizes the static baseline; ``history`` (see :func:`history`) is
    the load the predictive policy has seen before the run.
    """

    def aws_like(*chosen: Policy) -> DecisionLoop:
        # AWS scales in after 15 one-minute datapoints below its low alarm
        return DecisionLoop(
            list(chosen),
            behavior=Behavior(scale_down=ScalingRules(stabilization_window_seconds=900.0)),
            warmup=180.0,
            min_replicas=1,
            max_replicas=max_replicas,
        )

    return {
        f"static, {peak} replicas": DecisionLoop(
            TargetTracking("cpu", 60.0), min_replicas=peak, max_replicas=peak
        ),
        "HPA: cpu 60 %, Kubernetes behavior": DecisionLoop(
            TargetTracking("cpu", 60.0),
            behavior=Behavior.kubernetes_default(),
            min_replicas=1,
            max_replicas=max_replicas,
        ),
        "AWS-like target tracking: cpu 60 %": aws_like(
            TargetTracking("cpu", 60.0, scale_in_margin=0.1)
        ),
        # AWS's hybrid: the larger of predictive (hourly forecast of rps) and target tracking
        "predictive + AWS-like target tracking": aws_like(
            Predictive(AWSStyle(), "rps", REPLICA_RPS, history=history),
            TargetTracking("cpu", 60.0, scale_in_margin=0.1),
        ),
        "step scaling at 70 %, cooldown 5 min": DecisionLoop(
            StepScaling("cpu", 70.0, [(0, 20, 1), (20, None, 3), (None, -40, -1), (-40, 0, 0)]),
            cooldown=Cooldown.simple(300.0),
            min_replicas=1,
            max_replicas=max_replicas,
        ),
    }


def peak_replicas(days: int = 2, first_day: int = 3) -> int:
    """Replicas that serve the busiest minute at 60 % CPU."""
    _, counts = load_trace("nasa-1995-jul09")
    busiest = counts[_minutes(days, first_day)].max() / 60.0 * LogNormal(SERVICE_S, SIGMA).mean
    return int(np.ceil(busiest / SLOTS / 0.6))


def compare(
    days: int = 2,
    first_day: int = 3,
    *,
    seeds: int = 1,
    executor: Executor | None = None,
    progress: bool = True,
    keep_results: bool = False,
) -> Comparison:
    """Run every policy on ``days`` of the trace from ``first_day``."""
    setup = scenario(days, first_day)
    return compare_runs(
        policies(peak_replicas(days, first_day), history=history(first_day)),
        {setup.name: setup},
        seeds,
        executor=executor,
        progress=progress,
        keep_results=keep_results,
    )


def render(result: Comparison) -> str:
    """The comparison as a text table, one row per policy."""
    table = result.aggregate(list(COLUMNS))
    header = f"{'policy':38}" + "".join(f"{label:>10}" for label, _ in COLUMNS.values())
    lines = [header, "-" * len(header)]
    for row in sorted(table, key=lambda r: r["cost"]):
        cells = []
        for name, (_, digits) in COLUMNS.items():
            value = row[name] * (100 if name == "slo_attainment" else 1)
            cells.append(f"{value:10.{digits}f}")
        lines.append(f"{row['policy']:38}" + "".join(cells))
    for failure in result.failures:
        lines.append(
            f"FAILED {failure.policy} on {failure.scenario}, seed {failure.seed}: {failure.error}"
        )
    return "\n".join(lines)


def write_plots(result: Comparison, folder: Path) -> list[Path]:
    """The cost-vs-SLO chart and each run's panels, as PNG files in ``folder``."""
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "comparison.png"]
    plt.close(result.plot(written[0]))
    for (policy, _, seed), run in result.results.items():
        slug = "".join(c if c.isalnum() else "-" for c in policy.lower()).strip("-")
        path = folder / f"{slug}-seed{seed}.png"
        plt.close(run.plot(path))
        written.append(path)
    return written


def main(
    days: int = 2,
    first_day: int = 3,
    *,
    seeds: int = 1,
    executor: Executor | None = None,
    plots: Path | None = None,
) -> Comparison:
    """Print the comparison table (and return it); write the plots to ``plots`` if given."""
    print(
        f"NASA Kennedy Space Center web server, {days} day(s) from {DAYS[first_day]} "
        f"1995-07-{9 + first_day:02d} (STS-70 launch: Thursday 07-13), "
        f"replayed request by request\n"
        f"each request: log-normal, median {SERVICE_S:g} s of one vCPU; replica: m5.large "
        f"({SLOTS} vCPUs, billed per second, 60 s minimum), boot {BOOT_S:g} s; "
        f"SLO: {SLO_S:g} s\n"
        f"θ/τ: SPEC elasticity metrics against the replicas needed for the SLO "
        f"(docs/evaluation.md)\n"
    )
    result = compare(
        days, first_day, seeds=seeds, executor=executor, keep_results=plots is not None
    )
    print(render(result))
    if plots is not None:
        try:
            written = write_plots(result, plots)
        except ImportError:
            print("\n(plots need matplotlib: pip install elastic[plot])")
        else:
            print(f"\nplots: {', '.join(str(p) for p in written)}")
    return result
