"""End to end on real parts: an HPA from its manifest, a real Prometheus, real worker processes.

The pool's workers serve a generated load one request at a time and expose
their busy seconds; Prometheus scrapes the ready ones (file-based
discovery); the controller reads their utilization from Prometheus and
scales the pool. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from elastic import Reason
from elastic.control import Controller, Observe, StepRecord
from elastic.control.process_pool import ProcessPool
from elastic.control.prometheus import PrometheusSource
from elastic.kubernetes import HorizontalPodAutoscaler
from elastic.testing.load import LoadGenerator
from elastic.testing.prometheus import PrometheusServer

SERVICE = 0.05  # seconds a request holds a worker
RATE = 40.0  # requests a second: 2 workers fully busy, 4 at the HPA's 50 %
UTILIZATION = "100 * avg(rate(elastic_worker_busy_seconds_total[3s]))"
HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: workers}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: workers}
  minReplicas: 1
  maxReplicas: 8
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{type: Percent, value: 100, periodSeconds: 1}]
    scaleDown:
      stabilizationWindowSeconds: 5
      policies: [{type: Percent, value: 100, periodSeconds: 1}]
"""


def until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Wait for ``condition``; the seconds it took (fails the test after ``seconds``)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            pytest.fail(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[ProcessPool]:
    workers = ProcessPool(
        [sys.executable, "-m", "elastic.testing.worker"],
        env={"SERVICE_SECONDS": str(SERVICE)},
        targets_file=tmp_path / "targets.json",
        replicas=1,
    )
    with workers:
        workers.wait_ready(1)
        yield workers


def test_an_hpa_scales_real_workers_out_and_in_and_holds_when_prometheus_is_gone(
    prometheus_binary: str, pool: ProcessPool, tmp_path: Path
) -> None:
    assert pool.targets_file is not None
    prometheus = PrometheusServer(
        target_files=[pool.targets_file], scrape_interval=0.5, binary=prometheus_binary
    ).start()
    load = LoadGenerator(0.0, lambda: pool.addresses).start()
    hpa = HorizontalPodAutoscaler.from_manifest(HPA)
    source = PrometheusSource(
        prometheus.url, {"cpu": UTILIZATION}, utilization=["cpu"], timeout=0.5, retries=0
    )
    controller = Controller(
        hpa.loop(),
        Observe(source, pool.counts),
        pool,
        interval=1.0,
        log=tmp_path / "decisions.jsonl",
        keep=1000,
    )
    runner = threading.Thread(target=controller.run, daemon=True)
    runner.start()
    try:
        prometheus.wait_for_value("count(up == 1)", timeout=30.0)

        # out: 40 requests a second need 4 workers at 50 %
        load.set_rate(RATE)
        until(lambda: (pool.counts().ready or 0) >= 4, 30.0, "a scale-out to 4 ready workers")

        # in: without load, back to the minimum once the 5 s scale-down window has passed
        load.set_rate(0.0)
        quiet = time.time()
        until(lambda: len(pool.workers) == 1, 30.0, "a scale-in to 1 worker")
        scale_in = first(controller.history, lambda r: r.applied == 1 and r.time > quiet)
        # the window keeps the highest recommendation of its last 5 s
        wanted_more = [
            r.time
            for r in controller.history
            if r.decision is not None
            and r.time < scale_in.time
            and r.decision.stage("combine").replicas > 1
        ]
        assert scale_in.time - max(wanted_more) >= 5.0 - 1e-6
        assert any(
            r.decision is not None and r.decision.reason is Reason.STABILIZED
            for r in controller.history
            if quiet < r.time < scale_in.time
        )

        # Prometheus gone: no scale-down, even with the load gone too; the controller goes on
        load.set_rate(RATE)
        until(lambda: len(pool.workers) >= 3, 30.0, "a second scale-out")
        prometheus.stop()
        load.set_rate(0.0)
        gone = time.time()
        until(
            lambda: sum(r.time > gone for r in controller.history) >= 8,
            30.0,
            "8 steps without Prometheus",
        )
        after = [r for r in controller.history if r.time > gone]
        # a step under way when Prometheus stopped may still scale out; none after it scales
        held = after[0].observation.replicas if after[0].observation else -1
        assert held >= 3 and len(pool.workers) == held
        assert all("cpu" in r.missing and r.error is None for r in after)
        assert all(r.decision is not None and not r.decision.changed for r in after)
        assert runner.is_alive()
    finally:
        controller.stop()
        runner.join(timeout=30.0)
        load.stop()
        prometheus.stop()
        controller.close()
    assert not runner.is_alive()
    assert load.failed == 0


def first(records: list[StepRecord], condition: Callable[[StepRecord], bool]) -> StepRecord:
    return next(r for r in records if condition(r))
