"""The process pool: real workers started, probed, replaced and stopped like a ReplicaSet's pods."""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from elastic import Decision, ParameterError
from elastic.control import CallableSource, Controller, Observe, ReplicaCounts
from elastic.control.clock import ManualClock
from elastic.control.process_pool import ProcessPool
from elastic.kubernetes import HorizontalPodAutoscaler

WORKER = [sys.executable, "-m", "elastic.testing.worker"]


def ask(replicas: int) -> Decision:
    return Decision(0.0, 0, replicas, (), ())


def test_workers_start_become_ready_and_are_published_for_prometheus(tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    with ProcessPool(WORKER, env={"STARTUP_SECONDS": "0.5"}, targets_file=targets) as pool:
        assert pool.apply(ask(3)) == 3
        assert json.loads(targets.read_text()) == []  # none probed ready yet: none scraped
        first = pool.counts()  # 0.5 s of start-up: not ready at once
        assert first == ReplicaCounts(3, ready=0, pending=3)
        pool.wait_ready(3, timeout=20.0)
        assert pool.counts() == ReplicaCounts(3, ready=3, pending=0)
        (group,) = json.loads(targets.read_text())
        assert sorted(group["targets"]) == sorted(pool.addresses)
        for address in pool.addresses:  # each serves and exposes its metrics
            assert httpx.get(f"http://{address}/work?seconds=0").status_code == 200
            assert (
                b"elastic_worker_requests_total 1.0"
                in httpx.get(f"http://{address}/metrics").content
            )
    assert json.loads(targets.read_text()) == []


def test_scale_in_stops_the_newest_workers(tmp_path: Path) -> None:
    with ProcessPool(WORKER) as pool:
        pool.apply(ask(3))
        oldest = pool.workers[0].process
        newer = [w.process for w in pool.workers[1:]]
        assert pool.apply(ask(1)) == 1
        assert pool.workers[0].process is oldest and oldest.poll() is None
        assert all(p.poll() is not None for p in newer)


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    with ProcessPool(WORKER) as pool:
        pool.apply(ask(2))
        pool.wait_ready(2, timeout=20.0)
        victim = pool.workers[1].process
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        counts = pool.counts()
        assert counts.replicas == 2 and pool.restarts == 1
        assert pool.workers[1].process is not victim
        pool.wait_ready(2, timeout=20.0)


def test_close_leaves_no_worker_running() -> None:
    pool = ProcessPool(WORKER)
    pool.apply(ask(2))
    processes = [w.process for w in pool.workers]
    pool.close()
    assert all(p.poll() is not None for p in processes)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"command": "python worker.py"}, "command='python worker.py' is invalid"),
        ({"command": []}, "a non-empty list of strings"),
        ({"command": WORKER, "max_workers": 0}, "max_workers=0 is invalid"),
    ],
)
def test_bad_parameters_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        ProcessPool(**arguments)  # type: ignore[arg-type]


def test_a_count_above_the_pool_bound_is_refused_and_starts_nothing() -> None:
    with ProcessPool(WORKER, max_workers=2) as pool:
        with pytest.raises(ParameterError, match=r"replicas=3 is invalid; expected at most"):
            pool.apply(ask(3))
        assert pool.workers == []


# --- workers of any command, in the user trial's cases (issue 18) ----------------------------

ROOT = Path(__file__).resolve().parents[2]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]  # never watches its parent
STUBBORN = [  # ready at once, ignores SIGTERM
    sys.executable,
    "-c",
    "import os, signal, http.server as h\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "class A(h.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200); self.end_headers()\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "h.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), A).serve_forever()\n",
]
MUTE = [  # accepts connections (the backlog does) and never answers
    sys.executable,
    "-c",
    "import os, socket, time\n"
    "s = socket.socket(); s.bind(('127.0.0.1', int(os.environ['PORT']))); s.listen(64)\n"
    "time.sleep(60)\n",
]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


def gone(pid: int) -> bool:
    """The process has exited (a zombie left to a parent that does not reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def kill_if_ours(pids: list[int]) -> None:
    for pid in pids:
        try:
            if b"time.sleep(60)" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def workers_of_a_controller_that_dies(ending: str) -> list[int]:
    """Run a child that starts two SLEEPER workers, prints their pids, then ends by ``ending``."""
    script = (
        "import json, os, signal, sys\n"
        "from elastic import Decision\n"
        "from elastic.control.process_pool import ProcessPool\n"
        f"pool = ProcessPool({SLEEPER!r})\n"
        "pool.apply(Decision(0.0, 0, 2, (), ()))\n"
        "print(json.dumps([w.process.pid for w in pool.workers]), flush=True)\n" + ending
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    child = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    assert child.stdout, child.stderr
    return list(json.loads(child.stdout.splitlines()[0]))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_controller_killed_by_sigkill() -> None:
    pids = workers_of_a_controller_that_dies("os.kill(os.getpid(), signal.SIGKILL)\n")
    try:
        deadline = time.monotonic() + 5.0
        while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(gone(pid) for pid in pids), "workers outlived their SIGKILLed controller"
    finally:
        kill_if_ours(pids)


def test_workers_are_stopped_when_the_interpreter_exits_without_close() -> None:
    pids = workers_of_a_controller_that_dies("raise RuntimeError('the controller failed')\n")
    try:  # the child has exited: its exit-time close has run
        assert all(gone(pid) for pid in pids), "workers outlived a controller that exited"
    finally:
        kill_if_ours(pids)


def test_workers_started_from_a_thread_that_ended_keep_running() -> None:
    # PR_SET_PDEATHSIG fires when the *thread* that forked the worker ends, not the process
    with ProcessPool(SLEEPER) as pool:
        starter = threading.Thread(target=pool.apply, args=(ask(2),))
        starter.start()
        starter.join()
        time.sleep(0.3)
        assert all(w.process.poll() is None for w in pool.workers)


def test_scale_in_stops_the_workers_together_with_one_deadline() -> None:
    with ProcessPool(STUBBORN, ready_path="/", stop_timeout=0.5) as pool:
        pool.apply(ask(3))
        pool.wait_ready(3, timeout=20.0)
        processes = [w.process for w in pool.workers]
        started = time.monotonic()
        assert pool.apply(ask(0)) == 0
        elapsed = time.monotonic() - started
        assert all(p.poll() == -signal.SIGKILL for p in processes)
        assert elapsed < 1.0, f"3 workers ignoring SIGTERM took {elapsed:.2f} s to stop"


def wait_listening(ports: list[int], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)


def test_counts_spends_at_most_about_probe_timeout_on_workers_that_never_answer() -> None:
    with ProcessPool(MUTE, probe_timeout=0.25) as pool:
        pool.apply(ask(8))
        wait_listening([w.port for w in pool.workers])
        for _ in range(2):  # the second call finds the first call's probes still running
            started = time.monotonic()
            assert pool.counts() == ReplicaCounts(8, ready=0, pending=8)
            elapsed = time.monotonic() - started
            assert elapsed < 0.6, f"counts() took {elapsed:.2f} s over 8 silent workers"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"stop_timeout": math.inf},
            r"stop_timeout=inf is invalid; expected a number > 0 and <= 300",
        ),
        ({"stop_timeout": math.nan}, r"stop_timeout=nan is invalid"),
        ({"stop_timeout": 1e9}, r"stop_timeout=1000000000.0 is invalid"),
        ({"stop_timeout": 0}, r"stop_timeout=0 is invalid"),
        ({"probe_timeout": 11}, r"probe_timeout=11 is invalid; expected a number > 0 and <= 10"),
        ({"probe_timeout": math.inf}, r"probe_timeout=inf is invalid"),
        ({"restart_backoff": 0}, r"restart_backoff=0 is invalid; expected a number > 0 and <= 300"),
        ({"env": {"A": 1}}, r"env\['A'\]=1 is invalid; expected a string"),
        ({"env": {1: "a"}}, r"env name=1 is invalid; expected a non-empty string without '='"),
        ({"env": {"A=B": "a"}}, r"env name='A=B' is invalid; expected a non-empty string"),
        ({"env": {"PORT": "80"}}, r"env name='PORT' is invalid; expected another name"),
        ({"env": [("A", "b")]}, r"expected a mapping of names to strings"),
        (
            {"ready_path": "ready"},
            r"ready_path='ready' is invalid; expected a path starting with /",
        ),
        ({"replicas": 65}, r"replicas=65 is invalid; expected at most max_workers \(64\)"),
        ({"replicas": -1}, r"replicas=-1 is invalid; expected an integer >= 0"),
    ],
)
def test_bad_bounds_and_environments_are_refused_at_construction(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        ProcessPool(WORKER, **arguments)  # type: ignore[arg-type]


def test_a_command_that_cannot_run_is_refused_at_construction(tmp_path: Path) -> None:
    script = tmp_path / "worker.sh"
    script.write_text("#!/bin/sh\n")  # not executable
    for command, shown in [
        (["no-such-worker-binary", "--port"], "command\\[0\\]='no-such-worker-binary'"),
        ([str(tmp_path / "missing")], "command\\[0\\]='.*missing'"),
        ([str(script)], "command\\[0\\]='.*worker.sh'"),
        ([str(tmp_path)], "command\\[0\\]='.*cannot_run.*'"),  # a folder
    ]:
        with pytest.raises(ParameterError, match=shown + " is invalid; expected an executable"):
            ProcessPool(command)
    found = ProcessPool(["sh", "-c", "sleep 60"])  # on PATH
    found.close()


def test_a_targets_file_that_cannot_be_written_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(
        ParameterError, match=r"targets_file=.*nowhere.*expected a file in an existing folder"
    ):
        ProcessPool(WORKER, targets_file=tmp_path / "nowhere" / "targets.json")
    with pytest.raises(ParameterError, match=r"targets_file=.* is invalid; expected a file"):
        ProcessPool(WORKER, targets_file=tmp_path)  # a folder


def test_the_documented_setup_starts_workers_and_the_hpa_scales_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the ProcessPool statement of docs/controller.md's "Local worker processes", as written
    text = (ROOT / "docs" / "controller.md").read_text()
    section = text.split("## Local worker processes", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    (statement,) = [
        s
        for s in ast.parse(code).body
        if isinstance(s, ast.Assign) and ast.unparse(s.targets[0]) == "pool"
    ]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"sys": sys, "ProcessPool": ProcessPool}
    exec(compile(ast.Module([statement], []), "docs/controller.md", "exec"), namespace)
    pool = namespace["pool"]
    assert isinstance(pool, ProcessPool)
    with pool:
        assert len(pool.workers) >= 1, "the documented pool starts empty: an HPA holds it at 0"
        pool.wait_ready(len(pool.workers), timeout=20.0)
        hpa = HorizontalPodAutoscaler.from_manifest(
            (ROOT / "examples/controller/hpa.yaml").read_text()
        )
        controller = Controller(
            hpa.loop(),
            Observe(CallableSource(lambda now: {"cpu": 100.0}), pool.counts),
            pool,
            interval=15.0,
            clock=ManualClock(),
        )
        controller.run(steps=1)
        assert len(pool.workers) > 1 and controller.history[-1].applied == len(pool.workers)


def test_a_command_that_exits_at_once_is_restarted_with_a_growing_backoff() -> None:
    with ProcessPool(CRASHER, restart_backoff=0.1) as pool:
        pool.scale(1)
        restarted_at: list[float] = []
        started = time.monotonic()
        while time.monotonic() - started < 1.6:
            restarts = pool.restarts
            counts = pool.counts()
            assert counts == ReplicaCounts(1, ready=0, pending=1)  # crash-looping: pending
            if pool.restarts > restarts:
                restarted_at.append(time.monotonic())
            time.sleep(0.02)
        # immediate, then 0.1, 0.2, 0.4, 0.8 s after each exit (each start takes some time)
        assert 2 <= pool.restarts <= 5, f"{pool.restarts} restarts in 1.6 s"
        gaps = [b - a for a, b in itertools.pairwise(restarted_at)]
        assert all(gap >= 0.1 * 2**i for i, gap in enumerate(gaps)), gaps
        pool.workers[0].process.wait()
        pool.counts()
        assert pool.crash_looping == 1
