"""What a controller costs per step on top of its loop.

Baseline: ``DecisionLoop.step`` alone over a stream of observations (the HPA
from a manifest, with its default behavior). Measured, over the same
stream, one controller step (a ``ManualClock``, so no sleeping):

- the loop inside the controller (a callable source, a callback actuator);
- plus the Prometheus answer's parse (the source reads a canned
  ``/api/v1/query`` body through ``instant_value``);
- plus the JSON-lines decision log (to a file);
- plus the checkpoint (a snapshot and ``FileCheckpoint.save``: the older of
  two slot files overwritten in place, then fsync), durable (the default)
  and not (no fsync); and the snapshot and the save alone.

Reported as microseconds a step and as ratios to the baseline measured in
the same run.

Run: ``.venv/bin/python benchmarks/bench_controller.py``
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from elastic import DecisionLoop, Observation
from elastic.control import (
    CallableSource,
    CallbackActuator,
    Controller,
    FileCheckpoint,
    ManualClock,
    Observe,
    snapshot,
)
from elastic.control.checkpoint import Snapshotter
from elastic.control.prometheus import instant_value
from elastic.kubernetes import HorizontalPodAutoscaler

N = 2_000
REPEATS = 5
HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 50
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
"""


def cpu_series(n: int = N, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(50.0 + 30.0 * np.sin(np.arange(n) / 50.0) + rng.normal(0.0, 8.0, n))


def loop() -> DecisionLoop:
    return HorizontalPodAutoscaler.from_manifest(HPA).loop()


def body(value: float) -> bytes:
    answer = {"status": "success", "data": {"resultType": "vector",
              "result": [{"metric": {}, "value": [1.7e9, repr(value)]}]}}  # fmt: skip
    return json.dumps(answer).encode()


def baseline() -> float:
    series = cpu_series()
    replicas = 10
    the_loop = loop()
    start = time.perf_counter()
    for i, cpu in enumerate(series):
        replicas = the_loop.step(Observation(15.0 * i, replicas, {"cpu": cpu})).replicas
    return (time.perf_counter() - start) / N


def controller_run(parse: bool, log: bool, checkpoint: bool, durable: bool = True) -> float:
    series = cpu_series()
    bodies = [body(c) for c in series]
    state = {"replicas": 10, "i": 0}

    def metrics(now: float) -> Mapping[str, float]:
        i = state["i"]
        state["i"] += 1
        value = instant_value(bodies[i]) if parse else series[i]
        return {"cpu": value if value is not None else float("nan")}

    def scale(n: int) -> None:
        state["replicas"] = n

    with tempfile.TemporaryDirectory() as folder:
        controller = Controller(
            loop(),
            Observe(CallableSource(metrics), lambda: state["replicas"]),
            CallbackActuator(scale),
            interval=15.0,
            clock=ManualClock(1.7e9),
            log=Path(folder) / "decisions.jsonl" if log else None,
            checkpoint=FileCheckpoint(Path(folder) / "loop.checkpoint", durable=durable)
            if checkpoint
            else None,
        )
        start = time.perf_counter()
        controller.run(steps=N)
        elapsed = time.perf_counter() - start
        controller.close()
    return elapsed / N


def snapshot_only(cached: bool) -> float:
    the_loop = loop()
    for i, cpu in enumerate(cpu_series(200)):
        the_loop.step(Observation(15.0 * i, 10, {"cpu": cpu}))
    take: Callable[[], bytes] = Snapshotter(the_loop) if cached else lambda: snapshot(the_loop)
    start = time.perf_counter()
    for _ in range(N):
        take()
    return (time.perf_counter() - start) / N


def save_only(durable: bool) -> float:
    data = snapshot(loop())
    with tempfile.TemporaryDirectory() as folder:
        store = FileCheckpoint(Path(folder) / "loop.checkpoint", durable=durable)
        start = time.perf_counter()
        for _ in range(N // 10):
            store.save(data)
        return (time.perf_counter() - start) / (N // 10)


def median(run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(REPEATS))


def main() -> None:
    base = median(baseline)
    run = controller_run
    rows = [
        ("loop.step alone (baseline)", base),
        ("controller step: source + loop + actuator", median(lambda: run(False, False, False))),
        ("+ Prometheus answer parsed", median(lambda: run(True, False, False))),
        ("+ decision log (JSON lines, a file)", median(lambda: run(True, True, False))),
        ("+ checkpoint (snapshot, write in place, fsync)", median(lambda: run(True, True, True))),
        ("+ checkpoint, durable=False (no fsync)", median(lambda: run(True, True, True, False))),
        ("snapshot(loop), described each time", median(lambda: snapshot_only(False))),
        ("Snapshotter(loop)(), described once", median(lambda: snapshot_only(True))),
        ("FileCheckpoint.save alone", median(lambda: save_only(True))),
        ("FileCheckpoint.save alone, durable=False", median(lambda: save_only(False))),
    ]
    print(f"{N} steps, median of {REPEATS} runs")
    for name, seconds in rows:
        print(f"{name:50s} {seconds * 1e6:9.1f} us/step  x{seconds / base:6.1f}")


if __name__ == "__main__":
    main()
