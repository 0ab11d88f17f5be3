"""Worker processes on this machine as the replicas a controller scales."""

from __future__ import annotations

import ctypes
import http.client
import json
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elastic.control.sources import ReplicaCounts
from elastic.core.types import Decision
from elastic.core.validate import check_int, check_number
from elastic.errors import AdapterError, ParameterError

__all__ = ["ProcessPool"]

_log = logging.getLogger(__name__)
_OWNER = "ProcessPool"
# Kubernetes' CrashLoopBackOff: a container that keeps exiting is restarted at once, then after
# 10 s, doubling, capped at 5 minutes; the delay resets once it ran 10 minutes (the kubelet's
# restart policy, "Pod Lifecycle" in the Kubernetes documentation). The first delay is a parameter.
_BACKOFF_CAP = 300.0
_BACKOFF_RESET = 600.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POSIX = os.name == "posix"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _linux_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_PRCTL = _linux_prctl()


def _parent_death_signal(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the worker when the thread that forked it ends.

    It runs in the child between fork and exec, where only async-signal-safe work is safe
    (the ``preexec_fn`` caveat of :mod:`subprocess`): one ctypes call bound beforehand and
    ``getppid``, no import, no lock.
    """
    prctl = _PRCTL
    if prctl is None:
        return None
    number = int(signal.SIGTERM)

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, number, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call: no signal would come
            os._exit(1)

    return arm


class _Spawner:
    """The one thread that forks every worker of a pool, for as long as the pool lives.

    Linux sends the parent-death signal when the *thread* that forked a child ends, not its
    process (PR_SET_PDEATHSIG(2const)): workers forked by a controller's short-lived thread
    would be killed with that thread.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def run(self, job: Callable[[], Any]) -> Any:
        with self._lock:
            if self._closed:
                raise AdapterError("ProcessPool: the pool is closed; it starts no worker")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="elastic-process-pool", daemon=True
                )
                self._thread.start()
            done: Future[Any] = Future()
            self._jobs.put((job, done))
        return done.result()

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, done = item
            try:
                done.set_result(job())
            except BaseException as error:  # handed to the caller's thread
                done.set_exception(error)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._jobs.put(None)


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    port: int
    started: float  # monotonic
    ready: bool = False
    crashes: int = 0  # exits in a row, each before running _BACKOFF_RESET seconds
    restart_at: float | None = None  # exited: restarted at this monotonic time
    probe: Future[bool] | None = None  # a readiness probe still running

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _signal(process: subprocess.Popen[bytes], number: int) -> None:
    """Signal a worker's process group (its own children too); call before it is reaped."""
    try:
        if _POSIX:
            os.killpg(process.pid, number)
        elif number == signal.SIGTERM:
            process.terminate()
        else:
            process.kill()
    except ProcessLookupError:
        pass


def _stop(workers: Sequence[_Worker], timeout: float) -> None:
    """SIGTERM every worker at once, wait ``timeout`` seconds for them all, SIGKILL the rest."""
    running = [w.process for w in reversed(workers) if w.process.poll() is None]
    for process in running:
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            _signal(process, getattr(signal, "SIGKILL", signal.SIGTERM))
            process.wait()


def _probe(port: int, path: str, timeout: float) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _write_targets(path: Path, addresses: list[str]) -> None:
    groups = [{"targets": addresses, "labels": {"pool": "elastic"}}] if addresses else []
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(groups))
    os.replace(temporary, path)


def _shut_down(
    workers: list[_Worker],
    stop_timeout: float,
    targets_file: Path | None,
    probes: ThreadPoolExecutor,
    spawner: _Spawner,
) -> None:
    """Stop a pool's workers: at :meth:`ProcessPool.close`, or at exit when it was never closed."""
    try:
        _stop(workers, stop_timeout)
        workers.clear()
        if targets_file is not None:
            _write_targets(targets_file, [])
    finally:
        probes.shutdown(wait=False, cancel_futures=True)
        spawner.close()


class ProcessPool:
    """Real worker processes, started and stopped to the count a controller decides.

    An actuator (:meth:`apply`, or :meth:`scale` with a count) and the
    replica counts of :class:`~elastic.control.Observe` (:meth:`counts`), as
    a ReplicaSet keeps its pods: each worker runs ``command`` with ``$PORT``
    set to a free loopback port it must listen on; it is ready once ``GET
    http://127.0.0.1:$PORT{ready_path}`` answers 200. A worker that exits is
    restarted at the next :meth:`counts` or :meth:`apply`, at once the first
    time, then after a back-off that doubles (Kubernetes' CrashLoopBackOff);
    meanwhile it counts as pending. Scale-in stops the newest workers first,
    all together: SIGTERM, then SIGKILL for those still running after
    ``stop_timeout``.

    No worker outlives the pool: :meth:`close` stops them, so do the
    interpreter's exit and the pool's garbage collection when it was never
    closed, and on Linux each worker gets SIGTERM from the kernel when the
    controller's process dies without either (SIGKILL, a crash). Each
    worker leads its own process group, which the pool signals as a whole.

    Parameters
    ----------
    command
        The worker's command line; its executable must exist when the pool
        is made (a path, or a name found on ``PATH``).
    env
        Extra environment variables of the workers (strings; not ``PORT``).
    ready_path
        The readiness probe's path.
    targets_file
        When given, the ready workers' addresses are written there (atomically)
        in Prometheus's ``file_sd_configs`` format, so Prometheus scrapes
        exactly the workers that serve. Its folder must exist.
    max_workers
        The most workers the pool will run (a bound on what a decision may ask).
    stop_timeout
        Seconds the workers being stopped have, together, to exit after
        SIGTERM (at most 300).
    probe_timeout
        Seconds a readiness probe may take, and the most one :meth:`counts`
        waits for the probes (at most 10).
    replicas
        Workers to start now. An HPA does not scale a workload at 0
        replicas (``ScalingDisabled``), so a pool it drives starts with 1.
    restart_backoff
        Seconds before the second restart in a row of a worker that keeps
        exiting; each further restart waits twice as long, up to 300 s, and
        a worker that ran 10 minutes starts afresh (Kubernetes: 10 s).

    Examples
    --------
    >>> import sys
    >>> pool = ProcessPool([sys.executable, "-m", "elastic.testing.worker"], replicas=1)
    >>> pool.counts().replicas  # pool.wait_ready(1) waits until it serves
    1
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
        replicas: int = 0,
        restart_backoff: float = 10.0,
    ) -> None:
        self.command = _checked_command(command)
        self.env = _checked_env(env)
        if not isinstance(ready_path, str) or not ready_path.startswith("/"):
            raise ParameterError("ready_path", ready_path, "a path starting with /", owner=_OWNER)
        self.ready_path = ready_path
        self.max_workers = check_int(max_workers, "max_workers", owner=_OWNER, ge=1)
        self.stop_timeout = check_number(stop_timeout, "stop_timeout", owner=_OWNER, gt=0, le=300)
        self.probe_timeout = check_number(probe_timeout, "probe_timeout", owner=_OWNER, gt=0, le=10)
        self.restart_backoff = check_number(
            restart_backoff, "restart_backoff", owner=_OWNER, gt=0, le=_BACKOFF_CAP
        )
        self._check_count(replicas)
        _check_executable(self.command[0], {**os.environ, **self.env})
        self.targets_file = None if targets_file is None else _checked_targets(targets_file)
        self.workers: list[_Worker] = []
        self.restarts = 0
        self._published: list[str] | None = None
        self._probes = ThreadPoolExecutor(
            min(self.max_workers, 16), thread_name_prefix="elastic-probe"
        )
        self._spawner = _Spawner()
        # stops the workers at close(), or at exit (or collection) when close() never came
        self._shut_down = weakref.finalize(
            self, _shut_down, self.workers, self.stop_timeout, self.targets_file,
            self._probes, self._spawner,
        )  # fmt: skip
        try:
            self._publish()
        except OSError as error:
            self._shut_down()
            raise ParameterError(
                "targets_file", targets_file, f"a file the pool can write ({error})", owner=_OWNER
            ) from None
        try:
            self.scale(replicas)
        except BaseException:
            self.close()
            raise

    # --- the actuator -----------------------------------------------------------------------

    def apply(self, decision: Decision) -> int:
        """Start or stop workers so that ``decision.replicas`` run; the count now running."""
        return self.scale(decision.replicas)

    def scale(self, replicas: int) -> int:
        """Start or stop workers so that ``replicas`` run (the newest stop first); that count.

        Examples
        --------
        >>> import sys
        >>> with ProcessPool([sys.executable, "-m", "elastic.testing.worker"]) as pool:
        ...     pool.scale(2), pool.scale(1)
        (2, 1)
        """
        wanted = self._check_count(replicas)
        _stop(self.workers[wanted:], self.stop_timeout)
        del self.workers[wanted:]
        self._restart_exited()
        while len(self.workers) < wanted:
            self.workers.append(self._start())
        self._publish()
        return len(self.workers)

    def counts(self) -> ReplicaCounts:
        """The workers asked for, and how many of them answer their readiness probe.

        The workers not yet ready are probed together; a call waits at most
        ``probe_timeout`` for them, and a probe still running is read at a
        later call. A worker waiting out its restart back-off is pending.
        """
        self._restart_exited()
        waiting = [w for w in self.workers if not w.ready and w.restart_at is None]
        for worker in waiting:
            if worker.probe is None:
                worker.probe = self._probes.submit(
                    _probe, worker.port, self.ready_path, self.probe_timeout
                )
        wait_for([w.probe for w in waiting if w.probe is not None], timeout=self.probe_timeout)
        for worker in waiting:
            if worker.probe is not None and worker.probe.done():
                worker.ready = worker.probe.result()
                worker.probe = None
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

    @property
    def crash_looping(self) -> int:
        """How many workers exited and wait out their restart back-off now."""
        return sum(w.restart_at is not None for w in self.workers)

    def close(self) -> None:
        """Stop every worker (together, as scale-in does); the pool starts none after."""
        _stop(self.workers, self.stop_timeout)
        self._shut_down()
        self._publish()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- workers -----------------------------------------------------------------------------

    def _check_count(self, replicas: int) -> int:
        wanted = check_int(replicas, "replicas", owner=_OWNER, ge=0)
        if wanted > self.max_workers:
            raise ParameterError(
                "replicas", wanted, f"at most max_workers ({self.max_workers})", owner=_OWNER
            )
        return wanted

    def _start(self, crashes: int = 0) -> _Worker:
        port = _free_port()
        env = {**os.environ, **self.env, "PORT": str(port)}

        def fork() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                self.command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=_POSIX,
                preexec_fn=_parent_death_signal(os.getpid()),
            )

        try:
            process: subprocess.Popen[bytes] = self._spawner.run(fork)
        except OSError as error:
            raise AdapterError(f"ProcessPool: cannot start {self.command[0]!r}: {error}") from None
        return _Worker(process, port, time.monotonic(), crashes=crashes)

    def _restart_exited(self) -> None:
        now = time.monotonic()
        for i, worker in enumerate(self.workers):
            if worker.restart_at is None:
                code = worker.process.poll()
                if code is None:
                    continue
                ran = now - worker.started  # as far as the pool saw: until it looked
                crashes = 0 if ran >= _BACKOFF_RESET else worker.crashes
                delay = (
                    0.0
                    if crashes == 0
                    else min(self.restart_backoff * 2.0 ** min(crashes - 1, 30), _BACKOFF_CAP)
                )
                worker.crashes, worker.restart_at = crashes + 1, now + delay
                worker.ready, worker.probe = False, None
                _log.warning(
                    "worker %d (pid %d) exited with code %s after %.3g s; restart %d in %.3g s",
                    i, worker.process.pid, code, ran, self.restarts + 1, delay,
                )  # fmt: skip
            if now >= worker.restart_at:
                self.workers[i] = self._start(worker.crashes)
                self.restarts += 1

    def _publish(self) -> None:
        """Write the ready workers for Prometheus's file-based discovery (when they changed)."""
        if self.targets_file is None:
            return
        addresses = self.addresses
        if addresses != self._published:
            _write_targets(self.targets_file, addresses)
            self._published = addresses

    def __repr__(self) -> str:
        return (
            f"ProcessPool({self.command!r}, workers={len(self.workers)}, "
            f"restarts={self.restarts}, crash_looping={self.crash_looping})"
        )


def _checked_command(command: Sequence[str]) -> list[str]:
    if isinstance(command, str) or not command or not all(isinstance(c, str) for c in command):
        raise ParameterError("command", command, "a non-empty list of strings", owner=_OWNER)
    for i, part in enumerate(command):
        if "\0" in part:
            raise ParameterError(f"command[{i}]", part, "a string without NUL", owner=_OWNER)
    return list(command)


def _checked_env(env: Mapping[str, str] | None) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise ParameterError("env", env, "a mapping of names to strings", owner=_OWNER)
    for name, value in env.items():
        # the values are not shown whole: an environment often holds secrets
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise ParameterError(
                "env name", name, "a non-empty string without '=' or NUL", owner=_OWNER
            )
        if name == "PORT":
            raise ParameterError(
                "env name", name, "another name (the pool sets each worker's PORT)", owner=_OWNER
            )
        if not isinstance(value, str) or "\0" in value:
            raise ParameterError(f"env[{name!r}]", value, "a string without NUL", owner=_OWNER)
    return dict(env)


def _check_executable(program: str, env: Mapping[str, str]) -> None:
    """``program`` is a path to an executable file, or a name found on the workers' ``PATH``."""
    path = os.pathsep.join(os.get_exec_path(dict(env)))
    if shutil.which(program, path=path) is None:
        where = "" if os.path.dirname(program) else f" on PATH ({path})"
        raise ParameterError("command[0]", program, f"an executable file{where}", owner=_OWNER)


def _checked_targets(targets_file: str | Path) -> Path:
    path = Path(targets_file)
    if not path.parent.is_dir():
        raise ParameterError(
            "targets_file",
            targets_file,
            f"a file in an existing folder ({str(path.parent)!r} is none)",
            owner=_OWNER,
        )
    if path.is_dir():
        raise ParameterError("targets_file", targets_file, "a file, not a folder", owner=_OWNER)
    return path
