"""What exact, itemized billing costs: one million lifecycles and ten million requests.

Data: a month of one million m5.large lifecycles (starts uniform, durations
lognormal with a median of 20 minutes) and ten million Lambda requests
(1,024 MB, durations lognormal with a median of 80 ms).

Baseline, measured in the same run: the usual approximation, price x hours
(and GB-seconds) summed in float64 with numpy, no minimums, no rounding.
Measured: recording the data in a :class:`~elastic.cost.Ledger` in bulk, its
exact ``total``, ``by_type``, an hourly ``by_time`` and ``by_unit``. Times
are medians of a few runs; peak memory is traced (tracemalloc) in a
separate pass, and given against the size of the input arrays.

Run: ``.venv/bin/python benchmarks/bench_ledger.py [--scale 0.1]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from elastic.cost import LambdaRequests, Ledger, Tariff, default_catalog

MONTH = 30 * 86400.0
REPEATS = 3


def data(lifecycles: int, requests: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, MONTH, lifecycles)
    ends = starts + rng.lognormal(np.log(1200.0), 1.0, lifecycles)
    times = rng.uniform(0, MONTH, requests)
    durations = rng.lognormal(np.log(0.08), 0.7, requests)
    return {"starts": starts, "ends": ends, "times": times, "durations": durations}


def timed(run: Callable[[], Any]) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def peak_mb(run: Callable[[], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    args = parser.parse_args()
    n_life, n_req = int(1_000_000 * args.scale), int(10_000_000 * args.scale)
    d = data(n_life, n_req)
    catalog = default_catalog()
    tariffs: dict[str, Tariff | LambdaRequests] = {
        "m5.large": catalog.on_demand("m5.large"),
        "fn": catalog.lambda_function(1024),
    }
    price = float(catalog.instance("m5.large").price_per_hour)
    lam = catalog.lambda_["x86"]

    def baseline() -> float:
        hours = float(np.sum(d["ends"] - d["starts"])) / 3600
        gb_seconds = float(np.sum(d["durations"]))
        return price * hours + float(lam.request) * n_req + float(lam.gb_second) * gb_seconds

    def record() -> Ledger:
        ledger = Ledger(tariffs)
        ledger.add_lifecycles("m5.large", d["starts"], d["ends"])
        ledger.add_requests("fn", d["times"], d["durations"])
        return ledger

    def events() -> Ledger:
        # what a simulator does: one call per start, stop and request (a tenth of the data)
        ledger = Ledger(tariffs)
        for i, (start, end) in enumerate(zip(starts, ends, strict=True)):
            ledger.start(str(i), "m5.large", start)
            ledger.stop(str(i), end)
        for completed, duration in zip(times, durations, strict=True):
            ledger.request("fn", completed, duration)
        return ledger

    starts, ends = d["starts"][: n_life // 10].tolist(), d["ends"][: n_life // 10].tolist()
    times, durations = d["times"][: n_req // 10].tolist(), d["durations"][: n_req // 10].tolist()
    n_events = 2 * len(starts) + len(times)
    ledger = record()
    end = float(d["ends"].max())
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("float price x hours (baseline)", baseline),
        ("record in bulk", record),
        ("total()", ledger.total),
        ("by_type()", ledger.by_type),
        ("by_time(3600, until=end)", lambda: ledger.by_time(3600.0, until=end)),
        ("by_unit()", ledger.by_unit),
    ]
    input_mb = sum(a.nbytes for a in d.values()) / 1e6
    base = timed(baseline)
    print(f"{n_life:,} lifecycles, {n_req:,} requests; input arrays {input_mb:.0f} MB")
    print(f"{'case':32} {'seconds':>9} {'x baseline':>11} {'peak MB':>9} {'x input':>8}")
    for name, run in cases:
        seconds = base if run is baseline else timed(run)
        peak = peak_mb(run)
        print(f"{name:32} {seconds:9.3f} {seconds / base:11.1f} {peak:9.0f} {peak / input_mb:8.2f}")
    per_event = timed(events) / n_events
    print(f"one call per event ({n_events:,} events): {per_event * 1e6:.2f} us/event")
    exact, approx = ledger.total(), baseline()
    print(
        f"exact bill ${exact:.2f}; float price x hours ${approx:.2f} ({approx / float(exact):.3f})"
    )


if __name__ == "__main__":
    main()
