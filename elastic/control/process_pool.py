"""Worker processes on this machine as the replicas a controller scales."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from elastic.control.sources import ReplicaCounts
from elastic.core.types import Decision
from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError

__all__ = ["ProcessPool"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    port: int
    ready: bool = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


class ProcessPool:
    """Real worker processes, started and stopped to the count a controller decides.

    An actuator (:meth:`apply`) and the replica counts of
    :class:`~elastic.control.Observe` (:meth:`counts`), as a ReplicaSet
    keeps its pods: each worker runs ``command`` with ``$PORT`` set to a free
    loopback port it must listen on; it is ready once ``GET
    http://127.0.0.1:$PORT{ready_path}`` answers 200. A worker that exits is
    replaced at the next :meth:`counts` or :meth:`apply`. Scale-in stops the
    newest workers first (SIGTERM, then SIGKILL after ``stop_timeout``).

    Parameters
    ----------
    command
        The worker's command line.
    env
        Extra environment variables of the workers.
    ready_path
        The readiness probe's path.
    targets_file
        When given, the ready workers' addresses are written there (atomically)
        in Prometheus's ``file_sd_configs`` format, so Prometheus scrapes
        exactly the workers that serve.
    max_workers
        The most workers the pool will run (a bound on what a decision may ask).
    stop_timeout
        Seconds a worker has to exit after SIGTERM.

    Examples
    --------
    >>> import sys
    >>> pool = ProcessPool([sys.executable, "-m", "elastic.testing.worker"])
    >>> pool.counts()
    ReplicaCounts(replicas=0, ready=0, pending=0, warming=0, terminating=0)
    >>> pool.close()
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        ready_path: str = "/ready",
        targets_file: str | Path | None = None,
        max_workers: int = 64,
        stop_timeout: float = 10.0,
        probe_timeout: float = 0.25,
    ) -> None:
        owner = "ProcessPool"
        if isinstance(command, str) or not command or not all(isinstance(c, str) for c in command):
            raise ParameterError("command", command, "a non-empty list of strings", owner=owner)
        self.command = list(command)
        self.env = dict(env or {})
        self.ready_path = ready_path
        self.targets_file = None if targets_file is None else Path(targets_file)
        self.max_workers = check_int(max_workers, "max_workers", owner=owner, ge=1)
        self.stop_timeout = check_number(stop_timeout, "stop_timeout", owner=owner, gt=0)
        self.probe_timeout = check_number(probe_timeout, "probe_timeout", owner=owner, gt=0)
        self.workers: list[_Worker] = []
        self.restarts = 0
        self._client = httpx.Client(timeout=self.probe_timeout)
        self._published: list[str] | None = None
        self._publish()

    # --- the actuator -----------------------------------------------------------------------

    def apply(self, decision: Decision) -> int:
        """Start or stop workers so that ``decision.replicas`` run; the count now running."""
        wanted = decision.replicas
        if wanted > self.max_workers:
            raise ParameterError(
                "replicas", wanted, f"at most max_workers ({self.max_workers})", owner="ProcessPool"
            )
        self._replace_exited()
        while len(self.workers) < wanted:
            self.workers.append(self._start())
        for worker in reversed(self.workers[wanted:]):
            self._stop(worker)
        del self.workers[wanted:]
        self._publish()
        return len(self.workers)

    def counts(self) -> ReplicaCounts:
        """The workers asked for, and how many of them answer their readiness probe."""
        self._replace_exited()
        for worker in self.workers:
            if not worker.ready:
                worker.ready = self._probe(worker)
        self._publish()
        ready = sum(w.ready for w in self.workers)
        return ReplicaCounts(len(self.workers), ready=ready, pending=len(self.workers) - ready)

    def wait_ready(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` workers are ready; ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (self.counts().ready or 0) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} workers were not ready within {timeout:g} s")
            time.sleep(0.05)

    @property
    def addresses(self) -> list[str]:
        """``host:port`` of the ready workers."""
        return [w.address for w in self.workers if w.ready]

    def close(self) -> None:
        """Stop every worker."""
        for worker in reversed(self.workers):
            self._stop(worker)
        self.workers.clear()
        self._publish()
        self._client.close()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- workers -----------------------------------------------------------------------------

    def _start(self) -> _Worker:
        port = _free_port()
        process = subprocess.Popen(
            self.command,
            env={**os.environ, **self.env, "PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return _Worker(process, port)

    def _stop(self, worker: _Worker) -> None:
        process = worker.process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _replace_exited(self) -> None:
        for i, worker in enumerate(self.workers):
            if worker.process.poll() is not None:
                self.workers[i] = self._start()
                self.restarts += 1

    def _probe(self, worker: _Worker) -> bool:
        try:
            answer = self._client.get(f"http://{worker.address}{self.ready_path}")
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def _publish(self) -> None:
        """Write the ready workers for Prometheus's file-based discovery (when they changed)."""
        if self.targets_file is None:
            return
        addresses = self.addresses
        if addresses == self._published:
            return
        groups = [{"targets": addresses, "labels": {"pool": "elastic"}}] if addresses else []
        temporary = self.targets_file.with_name(f".{self.targets_file.name}.{os.getpid()}")
        temporary.write_text(json.dumps(groups))
        os.replace(temporary, self.targets_file)
        self._published = addresses

    def __repr__(self) -> str:
        return f"ProcessPool({self.command!r}, workers={len(self.workers)})"
