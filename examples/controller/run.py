"""A controller driving real processes: the HPA of hpa.yaml scales a pool of workers.

The workers (``python -m elastic.testing.worker``) serve requests one at a
time and expose their busy seconds; a real Prometheus on 127.0.0.1 scrapes
them; the controller reads their utilization from it every second and starts
or stops workers. A generated load rises, then stops. A shadow candidate (the
same HPA at a 30 % target) decides beside it and never acts. At the end: the
decisions, the shadow report, and the files left in the output folder (the
JSON-lines decision log, the checkpoint).

Run: ``.venv/bin/python examples/controller/run.py [--seconds 60] [--out controller-run]``
(needs a ``prometheus`` binary: ``scripts/install-prometheus`` installs Debian's).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

from elastic.control import Controller, Observe
from elastic.control.process_pool import ProcessPool
from elastic.control.prometheus import PrometheusSource
from elastic.control.shadow import Shadow
from elastic.kubernetes import HorizontalPodAutoscaler
from elastic.testing.load import LoadGenerator
from elastic.testing.prometheus import PrometheusServer, find_prometheus

HERE = Path(__file__).parent
BUSY = "100 * avg(rate(elastic_worker_busy_seconds_total[3s]))"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (>= 15)")
    parser.add_argument("--out", default="controller-run", help="folder for the log and checkpoint")
    args = parser.parse_args()
    if args.seconds < 15:
        parser.error("--seconds must be at least 15")
    if find_prometheus() is None:
        print("no prometheus binary: run scripts/install-prometheus first", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    hpa = HorizontalPodAutoscaler.from_manifest((HERE / "hpa.yaml").read_text())
    tighter = HorizontalPodAutoscaler.from_manifest(
        (HERE / "hpa.yaml").read_text().replace("averageUtilization: 50", "averageUtilization: 30")
    )
    with ProcessPool(
        [sys.executable, "-m", "elastic.testing.worker"],
        env={"SERVICE_SECONDS": "0.05"},
        targets_file=out / "targets.json",
        replicas=1,
    ) as pool:
        pool.wait_ready(1)
        with PrometheusServer(target_files=[out / "targets.json"], scrape_interval=0.5) as prom:
            prom.wait_for_value("count(up == 1)", timeout=30.0)
            shadow = Shadow({"target 30 %": tighter.loop()}, price=0.096)
            controller = Controller(
                hpa.loop(),
                Observe(PrometheusSource(prom.url, {"cpu": BUSY}, utilization=["cpu"]),
                        pool.counts),
                pool,
                interval=1.0,
                log=out / "decisions.jsonl",
                checkpoint=out / "loop.checkpoint",
                shadow=shadow,
                keep=100_000,
            )  # fmt: skip
            runner = threading.Thread(target=controller.run, daemon=True)
            with LoadGenerator(0.0, lambda: pool.addresses) as load:
                runner.start()
                load.set_rate(40.0)  # 2 workers' worth of work: 4 at 50 %
                time.sleep(args.seconds * 0.6)
                load.set_rate(0.0)
                time.sleep(args.seconds * 0.4)
            controller.stop()
            runner.join()
            controller.close()
    print("time  workers  cpu %  desired  reason")
    for record in controller.history:
        if record.observation is None or record.decision is None:
            continue
        cpu = record.observation.metrics.get("cpu")
        print(
            f"{record.time - controller.history[0].time:4.0f}  {record.observation.replicas:7d}  "
            f"{'   -' if cpu is None else f'{cpu:5.1f}'}  {record.decision.replicas:7d}  "
            f"{record.decision.reason.value}"
        )
    print()
    for row in shadow.report():
        print(
            f"{row['loop']:12s} mean {row['mean_replicas']:4.1f} replicas, "
            f"{row['scaling_actions']} actions, under-provisioned "
            f"{100 * row['underprovisioned_share']:4.1f} % of the time"
        )
    print(
        f"\nthe decision log: {out / 'decisions.jsonl'}; the checkpoint: {out / 'loop.checkpoint'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
