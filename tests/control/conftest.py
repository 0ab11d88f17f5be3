"""Fixtures of the controller tests: a canned HTTP server, a real Prometheus, a fake clock."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from elastic.testing.prometheus import PrometheusServer, find_prometheus


@dataclass
class Answer:
    """What the canned server sends back: a status, a body and how long it waits first."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    delay: float = 0.0
    content_type: str = "application/json"
    length: bool = True  # False: no Content-Length, the body ends when the connection closes

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


def vector(*values: str, labels: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A successful instant-query answer with one series per value."""
    labels = labels or [{"pod": f"p{i}"} for i in range(len(values))]
    result = [
        {"metric": m, "value": [1700000000.0, v]} for m, v in zip(labels, values, strict=True)
    ]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@dataclass
class Canned:
    """An HTTP server on 127.0.0.1 answering from a script, recording every request."""

    url: str
    answers: list[Answer] = field(default_factory=list)
    respond: Callable[[str, dict[str, str]], Answer] | None = None
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def next(self, path: str, params: dict[str, str]) -> Answer:
        self.requests.append((path, params))
        if self.respond is not None:
            return self.respond(path, params)
        if not self.answers:
            return Answer(599, b"no canned answer left")
        return self.answers.pop(0)


@pytest.fixture(scope="module")
def _canned_server() -> Iterator[Canned]:
    state: list[Canned] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            answer = state[0].next(parts.path, params)
            time.sleep(answer.delay)
            payload = answer.payload()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                if answer.length:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(Canned(f"http://127.0.0.1:{server.server_port}"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def canned(_canned_server: Canned) -> Canned:
    """A loopback HTTP server whose answers the test scripts (``canned.answers``)."""
    _canned_server.answers = []
    _canned_server.respond = None
    _canned_server.requests = []
    return _canned_server


class FakeClock:
    """A clock whose sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """The ``prometheus`` binary; the test is skipped, saying why, when there is none."""
    binary = find_prometheus()
    if binary is None:
        pytest.skip(
            "no prometheus binary on PATH (nor $ELASTIC_PROMETHEUS): this test needs a real "
            "Prometheus server; install Debian's package with scripts/install-prometheus "
            "(as .ci/run does) or `apt-get install prometheus`"
        )
    return binary


@pytest.fixture
def start_prometheus(prometheus_binary: str) -> Iterator[Callable[..., PrometheusServer]]:
    """Start real Prometheus servers (``start_prometheus(targets, **kwargs)``), stopped after."""
    servers: list[PrometheusServer] = []

    def start(targets: list[str], **kwargs: Any) -> PrometheusServer:
        server = PrometheusServer(targets, binary=prometheus_binary, **kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
