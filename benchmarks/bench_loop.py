"""How much the decision loop costs on top of the policy it runs.

Baseline: ``policy.observe`` + ``policy.recommend`` over a stream of
observations. Measured: ``DecisionLoop.step`` with the same policy over the
same stream, with and without the Kubernetes default behavior. Reported as
per-step times and as ratios to the baseline measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_loop.py``
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from elastic import Behavior, Cooldown, DecisionLoop, Observation
from elastic.policies import StepScaling, TargetTracking

N = 20_000
REPEATS = 5


def stream(n: int = N, seed: int = 0) -> list[Observation]:
    rng = np.random.default_rng(seed)
    cpu = 50.0 + 30.0 * np.sin(np.arange(n) / 200.0) + rng.normal(0.0, 8.0, n)
    return [Observation(15.0 * i, 10, {"cpu": float(c)}) for i, c in enumerate(cpu)]


def timed(run: Callable[[], None]) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) / N


def main() -> None:
    observations = stream()

    def bare() -> None:
        policy = TargetTracking("cpu", 50.0)
        for obs in observations:
            policy.observe(obs)
            policy.recommend(obs)

    def loop_with(behavior: Behavior | None = None) -> Callable[[], None]:
        def run() -> None:
            loop = DecisionLoop(
                TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=100, behavior=behavior
            )
            replicas = 10
            for obs in observations:
                replicas = loop.step(Observation(obs.time, replicas, obs.metrics)).replicas

        return run

    def step_policy() -> None:
        loop = DecisionLoop(
            StepScaling("cpu", 60.0, [(0, 20, 1), (20, None, 3), (None, -20, -1), (-20, 0, 0)]),
            min_replicas=1,
            max_replicas=100,
            cooldown=Cooldown(300, 300),
            warmup=120,
        )
        replicas = 10
        for obs in observations:
            replicas = loop.step(Observation(obs.time, replicas, obs.metrics)).replicas

    baseline = timed(bare)
    rows = [
        ("policy alone (baseline)", baseline),
        ("loop, no behavior", timed(loop_with())),
        (
            "loop, Kubernetes default behavior",
            timed(loop_with(behavior=Behavior.kubernetes_default())),
        ),
        ("loop, step policy + cooldown + warm-up", timed(step_policy)),
    ]
    print(f"{N} steps, median of {REPEATS} runs")
    print(f"{'case':42} {'us/step':>9} {'x baseline':>11}")
    for name, seconds in rows:
        print(f"{name:42} {seconds * 1e6:9.2f} {seconds / baseline:11.2f}")


if __name__ == "__main__":
    main()
