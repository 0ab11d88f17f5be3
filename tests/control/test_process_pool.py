"""The process pool: real workers started, probed, replaced and stopped like a ReplicaSet's pods."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import httpx
import pytest

from elastic import Decision, ParameterError
from elastic.control import ReplicaCounts
from elastic.control.process_pool import ProcessPool

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
