"""A real Prometheus server and a process it scrapes, on loopback, for tests.

- :class:`PrometheusServer` starts the ``prometheus`` binary (Debian's
  package: ``apt-get install prometheus``; ``scripts/install-prometheus`` in
  the repository) at a free port of 127.0.0.1, with a generated configuration
  scraping the given loopback targets every second and a temporary storage
  folder; it waits until the server is ready and stops it and removes its
  files on exit.
- :class:`GaugeTarget` starts a small process exposing a
  ``prometheus-client`` gauge, ``elastic_test_value``, whose value the test
  sets (:meth:`GaugeTarget.set`), so queries return known values.
- :func:`find_prometheus` says where the binary is, or ``None`` (tests skip).

Every wait is bounded and a failure says what happened, with the end of the
server's log. Both classes are context managers::

    with GaugeTarget(0.75) as target, PrometheusServer([target.address]) as prom:
        prom.wait_for_value("elastic_test_value")  # the first scrape: 0.75
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx

from elastic.control.prometheus import PrometheusError, instant_value
from elastic.errors import AdapterError, ParameterError

__all__ = [
    "GAUGE",
    "GaugeTarget",
    "PrometheusServer",
    "PrometheusServerError",
    "find_prometheus",
    "free_port",
]

GAUGE = "elastic_test_value"
"""The name of :class:`GaugeTarget`'s gauge."""
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_BIND_ATTEMPTS = 3  # a free port can be taken between free_port() and the server's bind


class PrometheusServerError(AdapterError):
    """The test server or target did not start, answer or stop as expected."""


def find_prometheus() -> str | None:
    """The ``prometheus`` binary: ``$ELASTIC_PROMETHEUS``, else on ``PATH``, else ``None``.

    Examples
    --------
    >>> path = find_prometheus()
    >>> path is None or os.access(path, os.X_OK)
    True
    """
    given = os.environ.get("ELASTIC_PROMETHEUS")
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("prometheus")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago.

    Examples
    --------
    >>> 0 < free_port() < 65536
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(empty log)"


def _end(process: subprocess.Popen[Any], timeout: float) -> None:
    """Terminate ``process``, wait up to ``timeout`` s, then kill it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


class PrometheusServer:
    """A real Prometheus on 127.0.0.1 scraping loopback targets, for tests.

    Parameters
    ----------
    targets
        ``host:port`` addresses on loopback (``127.0.0.1:8000``), scraped as
        job ``elastic-test`` at ``/metrics``.
    scrape_interval
        Seconds between scrapes (also the scrape timeout and the rule
        evaluation interval).
    binary
        The ``prometheus`` executable; default :func:`find_prometheus`.
    start_timeout, stop_timeout
        Seconds to wait for ``/-/ready``, and for the process to end after
        SIGTERM before it is killed.

    Attributes
    ----------
    url
        ``http://127.0.0.1:<port>`` once started.

    Examples
    --------
    >>> PrometheusServer(["10.0.0.1:80"])
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: PrometheusServer: targets[0]='10.0.0.1:80' is invalid;
    expected host:port on loopback (127.0.0.1, localhost or [::1])
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        scrape_interval: float = 1.0,
        binary: str | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        owner = type(self).__name__
        if isinstance(targets, str):
            raise ParameterError("targets", targets, "a list of host:port", owner=owner)
        for i, target in enumerate(targets):
            host, _, port = str(target).rpartition(":")
            if host not in _LOOPBACK or not port.isdigit() or not 0 < int(port) < 65536:
                raise ParameterError(
                    f"targets[{i}]",
                    target,
                    "host:port on loopback (127.0.0.1, localhost or [::1])",
                    owner=owner,
                )
        if not 0.05 <= scrape_interval <= 60:
            raise ParameterError(
                "scrape_interval", scrape_interval, "seconds in [0.05, 60]", owner=owner
            )
        for name, value in (("start_timeout", start_timeout), ("stop_timeout", stop_timeout)):
            if not 0 < value <= 600:
                raise ParameterError(name, value, "seconds in (0, 600]", owner=owner)
        self.targets = list(targets)
        self.scrape_interval = float(scrape_interval)
        self.binary = binary
        self.start_timeout = float(start_timeout)
        self.stop_timeout = float(stop_timeout)
        self.url = ""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def log_path(self) -> Path:
        """The server's log (stdout and stderr) while it runs."""
        if self._dir is None:
            raise PrometheusServerError("the server was not started: no log")
        return Path(self._dir.name) / "prometheus.log"

    def config(self) -> dict[str, Any]:
        """The configuration written for the server (YAML is a superset of JSON)."""
        interval = _duration(self.scrape_interval)
        return {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": interval,
            },
            "scrape_configs": [
                {"job_name": "elastic-test", "static_configs": [{"targets": self.targets}]}
            ],
        }

    def start(self) -> Self:
        """Start the server and wait until it is ready; raises if it is not within the timeout."""
        if self._process is not None:
            raise PrometheusServerError("the server is already started")
        binary = self.binary or find_prometheus()
        if binary is None:
            raise PrometheusServerError(
                "no prometheus binary: install Debian's package (scripts/install-prometheus) "
                "or set ELASTIC_PROMETHEUS to its path"
            )
        self._dir = tempfile.TemporaryDirectory(prefix="elastic-prometheus-")
        root = Path(self._dir.name)
        (root / "prometheus.yml").write_text(json.dumps(self.config(), indent=2))
        try:
            for attempt in range(_BIND_ATTEMPTS):
                port = free_port()
                if self._launch(binary, root, port, last=attempt == _BIND_ATTEMPTS - 1):
                    self.url = f"http://127.0.0.1:{port}"
                    return self
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _launch(self, binary: str, root: Path, port: int, *, last: bool) -> bool:
        """Run the server on ``port``; ``False`` when the port was taken (try another)."""
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._finalizer = weakref.finalize(self, _end, self._process, self.stop_timeout)
        ready = f"http://127.0.0.1:{port}/-/ready"
        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=1.0) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    log = _tail(self.log_path)
                    self._close()
                    if "address already in use" in log and not last:
                        return False
                    raise PrometheusServerError(
                        f"{binary} exited with code {code} before it was ready on port {port}; "
                        f"its log ends with:\n{log}"
                    )
                try:
                    if client.get(ready).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise PrometheusServerError(
                        f"{binary} was not ready at {ready} within start_timeout="
                        f"{self.start_timeout:g} s; its log ends with:\n{_tail(self.log_path)}"
                    )
                time.sleep(0.05)

    def _close(self) -> None:
        if self._process is not None:
            _end(self._process, self.stop_timeout)
            self._process = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``stop_timeout``) and remove its files."""
        self._close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def wait_for_value(
        self,
        query: str,
        *,
        expect: float | None = None,
        timeout: float = 10.0,
    ) -> float:
        """Poll an instant query until it gives a value (``expect`` when given), and return it.

        Raises :class:`PrometheusServerError` after ``timeout`` seconds, with
        the last answer or error.
        """
        if not self.url:
            raise PrometheusServerError("the server is not started")
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(timeout=1.0) as client:
            while True:
                try:
                    r = client.get(f"{self.url}/api/v1/query", params={"query": query})
                    value = instant_value(r.content)
                    if value is not None and (expect is None or value == expect):
                        return value
                    last = "no series" if value is None else f"the value {value!r}"
                except (httpx.HTTPError, PrometheusError) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    wanted = "a value" if expect is None else f"the value {expect!r}"
                    raise PrometheusServerError(
                        f"{query!r} did not give {wanted} at {self.url} within {timeout:g} s; "
                        f"last: {last}"
                    )
                time.sleep(0.1)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class GaugeTarget:
    """A process exposing ``elastic_test_value`` (a gauge) for Prometheus to scrape.

    The gauge reads a file at each scrape; :meth:`set` replaces the file
    atomically, so a scrape sees the old or the new value, never a torn one.

    Parameters
    ----------
    value
        The gauge's value until :meth:`set` changes it.
    start_timeout
        Seconds to wait for the process to listen.

    Attributes
    ----------
    address
        ``127.0.0.1:<port>`` once started: a target for :class:`PrometheusServer`.
    """

    def __init__(self, value: float = 0.0, *, start_timeout: float = 15.0) -> None:
        self.value = float(value)
        self.start_timeout = float(start_timeout)
        self.address = ""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[str] | None = None

    def _file(self) -> Path:
        if self._dir is None:
            raise PrometheusServerError("the target is not started")
        return Path(self._dir.name) / "value"

    def set(self, value: float) -> None:
        """Make the next scrapes read ``value``."""
        path = self._file()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(repr(float(value)))
        os.replace(tmp, path)
        self.value = float(value)

    def start(self) -> Self:
        """Start the process and wait until it listens."""
        if self._process is not None:
            raise PrometheusServerError("the target is already started")
        self._dir = tempfile.TemporaryDirectory(prefix="elastic-target-")
        self.set(self.value)
        # the child imports this very copy of elastic
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        with open(self._file().with_name("stderr"), "wb") as stderr:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "elastic.testing.prometheus", str(self._file())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONPATH": path},
            )
        assert self._process.stdout is not None
        # the child prints "port <n>" once it listens; a bounded wait for that line
        if not _readable(self._process.stdout, self.start_timeout):
            err = _tail(self._file().with_name("stderr"))
            self.stop()
            raise PrometheusServerError(
                f"the gauge target did not listen within start_timeout={self.start_timeout:g} s; "
                f"its stderr ends with:\n{err}"
            )
        line = self._process.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            err = _tail(self._file().with_name("stderr"))
            self.stop()
            raise PrometheusServerError(
                f"the gauge target failed to start (printed {line}); its stderr ends with:\n{err}"
            )
        self.address = f"127.0.0.1:{line[1]}"
        return self

    def stop(self) -> None:
        """Stop the process and remove its file."""
        if self._process is not None:
            _end(self._process, 10.0)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _readable(stream: IO[str], timeout: float) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def _serve_gauge(path: str) -> None:
    """The target process: a gauge reading ``path``, served until SIGTERM or the parent ends."""
    from prometheus_client import CollectorRegistry, Gauge, start_http_server

    registry = CollectorRegistry()
    gauge = Gauge(GAUGE, "A value set by the test through a file", registry=registry)
    gauge.set_function(lambda: float(Path(path).read_text()))
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    print("port", server.server_port, flush=True)
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while os.getppid() == parent:  # never outlive the test that started it
        time.sleep(0.2)


if __name__ == "__main__":
    _serve_gauge(sys.argv[1])
