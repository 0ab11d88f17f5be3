"""Request-level simulation speed against SimPy written the usual way.

System: M/M/c with lambda = 80/s, mu = 1/s, c = 100, one simulated hour
(about 288,000 requests).

Baseline, measured in the same run: a process per request and a
``simpy.Resource`` of capacity c, as a SimPy user writes it. Measured:
``elastic.sim.simulate`` on the same system (one replica of 100 slots, the
loop pinned at one replica, with its metrics scrapes and decisions every
15 s), and the replica's queueing recursion alone (``Server.offer_many``),
each in pure Python and with the numba kernel (the ``fast`` extra). The
last row is that recursion as a C loop, built with the system's C compiler
(skipped without one) and given the same arrays: what "within 3x of C" is
measured against.
All report the mean wait, to be compared with each other and with Erlang C.
Each measurement runs in a fresh process, after a warm-up of 3.6 simulated
seconds (imports, reading the price catalog); the best of 5 is reported,
as timings on a shared machine vary by tens of percent from run to run.

Run: ``.venv/bin/python benchmarks/bench_sim.py``
"""

from __future__ import annotations

import ctypes
import functools
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from elastic import DecisionLoop
from elastic.policies import TargetTracking
from elastic.queueing import mmc_mean_wait
from elastic.sim import Exponential, Poisson, ReplicaSpec, Scenario, Server, kernel, simulate

LAMBDA, MU, C, HOURS = 80.0, 1.0, 100, 1.0
REPEATS = 5


def simpy_baseline() -> float:
    rng = np.random.default_rng(0)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=C)
    waits: list[float] = []

    def request(service: float) -> Generator[simpy.Event, Any, None]:
        arrived = env.now
        with server.request() as slot:
            yield slot
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(rng.exponential(1 / LAMBDA))
            env.process(request(rng.exponential(1 / MU)))

    env.process(source())
    env.run(until=HOURS * 3600)
    return float(np.mean(waits))


def elastic_simulate(hours: float = HOURS) -> float:
    scenario = Scenario(
        Poisson(LAMBDA),
        duration=hours * 3600,
        service=Exponential(1 / MU),
        replica=ReplicaSpec(slots=C),
    )
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=1)
    return simulate(scenario, loop, seed=0).mean_wait()


def recursion_alone() -> float:
    rng = np.random.default_rng(0)
    n = int(LAMBDA * HOURS * 3600)
    arrivals = np.cumsum(rng.exponential(1 / LAMBDA, n))
    server = Server(C)
    server.offer_many(arrivals, rng.exponential(1 / MU, n))
    return float(np.concatenate(server.settle(np.inf).waits).mean())


# the same recursion as elastic.sim.kernel, in C: a binary min-heap of the slots' free times
C_SOURCE = r"""
void starts(const double *arrivals, const double *services, long n, double *free, long size,
            double *begun) {
    for (long i = 0; i < n; i++) {
        double start = free[0] < arrivals[i] ? arrivals[i] : free[0];
        double end = start + services[i];
        long pos = 0;
        begun[i] = start;
        for (;;) {
            long child = 2 * pos + 1;
            if (child >= size) break;
            if (child + 1 < size && free[child + 1] < free[child]) child++;
            if (free[child] < end) { free[pos] = free[child]; pos = child; } else break;
        }
        free[pos] = end;
    }
}
"""


def compile_c(folder: Path) -> Path | None:
    """The C recursion as a shared library in ``folder``, built by the system C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    (folder / "starts.c").write_text(C_SOURCE)
    library = folder / "starts.so"
    command = [compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(folder / "starts.c")]
    subprocess.run(command, check=True)
    return library


@functools.cache
def load_c(library: Path) -> Callable[..., None]:
    function = ctypes.CDLL(str(library)).starts
    array = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
    function.argtypes = [array, array, ctypes.c_long, array, ctypes.c_long, array]
    function.restype = None
    return function


def recursion_in_c(library: Path) -> float:
    rng = np.random.default_rng(0)
    n = int(LAMBDA * HOURS * 3600)
    arrivals = np.cumsum(rng.exponential(1 / LAMBDA, n))
    services = rng.exponential(1 / MU, n)
    begun = np.empty(n)
    load_c(library)(arrivals, services, n, np.zeros(C), C, begun)
    return float((begun - arrivals).mean())


def once(run: Callable[[], float], pure: bool, library: Path | None) -> tuple[float, float]:
    kernel.set_compiled(not pure)
    elastic_simulate(hours=1e-3)  # warm-up: imports, the price catalog, loading the kernel
    if library is not None:
        load_c(library)  # loading the library, like loading the kernel, is not timed
    start = time.perf_counter()
    value = run()
    return time.perf_counter() - start, value


def timed(
    run: Callable[[], float], pure: bool = False, library: Path | None = None
) -> tuple[float, float]:
    # each measurement in a fresh process: what one case leaves in memory slows the next
    context = multiprocessing.get_context("spawn")
    samples, value = [], 0.0
    for _ in range(REPEATS):
        with context.Pool(1) as pool:
            seconds, value = pool.apply(once, (run, pure, library))
        samples.append(seconds)
    return min(samples), value


def main() -> None:
    theory = mmc_mean_wait(C, LAMBDA, MU)
    base, base_wait = timed(simpy_baseline)
    rows = [
        ("SimPy, a process per request (baseline)", base, base_wait),
        ("simulate, request-level, pure Python", *timed(elastic_simulate, pure=True)),
        ("simulate, request-level, numba kernel", *timed(elastic_simulate)),
        ("recursion alone, pure Python", *timed(recursion_alone, pure=True)),
        ("recursion alone, numba kernel", *timed(recursion_alone)),
    ]
    with tempfile.TemporaryDirectory() as folder:
        library = compile_c(Path(folder))
        if library is not None:
            run = functools.partial(recursion_in_c, library)
            rows.append(("recursion alone, C loop (cc -O2)", *timed(run, library=library)))
    print(f"M/M/{C}, lambda={LAMBDA:g}/s, mu={MU:g}/s, {HOURS:g} h; best of {REPEATS} runs")
    print(f"Erlang C mean wait: {theory:.6f} s")
    print(f"{'case':42} {'seconds':>8} {'x faster':>9} {'mean wait s':>12}")
    for name, seconds, wait in rows:
        print(f"{name:42} {seconds:8.3f} {base / seconds:9.1f} {wait:12.6f}")


if __name__ == "__main__":
    main()
