"""A worker process to scale for real: it serves requests one at a time and exposes its metrics.

Run as ``python -m elastic.testing.worker``: it listens on ``127.0.0.1``
at the port in ``$PORT`` (or one it picks, printed as ``port <n>``), and
answers

- ``GET /work``: holds the worker for ``$SERVICE_SECONDS`` (default 0.1 s;
  ``?seconds=`` overrides), one request at a time, as a single-slot server:
  the others wait their turn;
- ``GET /ready``: 200 once ``$STARTUP_SECONDS`` have passed since it
  started (503 before), as a readiness probe;
- ``GET /metrics``: ``elastic_worker_busy_seconds_total`` (seconds spent
  serving), ``elastic_worker_requests_total`` and
  ``elastic_worker_in_flight``, for Prometheus: the share of time busy,
  ``rate(elastic_worker_busy_seconds_total[...])``, is its utilization.

It stops at SIGTERM (after the request it is serving) and when the process
that started it is gone, so no worker outlives its pool.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

__all__ = ["main"]


def main() -> None:
    service = float(os.environ.get("SERVICE_SECONDS", "0.1"))
    startup = float(os.environ.get("STARTUP_SECONDS", "0"))
    parent = os.getppid()
    registry = CollectorRegistry()
    busy = Counter("elastic_worker_busy_seconds", "Seconds spent serving", registry=registry)
    served = Counter("elastic_worker_requests", "Requests served", registry=registry)
    in_flight = Gauge("elastic_worker_in_flight", "Requests in the worker", registry=registry)
    slot = threading.Lock()
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/work":
                seconds = float(parse_qs(url.query).get("seconds", [service])[0])
                with in_flight.track_inprogress(), slot:
                    begun = time.monotonic()
                    time.sleep(seconds)
                    busy.inc(time.monotonic() - begun)
                    served.inc()
                self._answer(200, b"done\n")
            elif url.path == "/ready":
                ready = time.monotonic() - started >= startup
                self._answer(200 if ready else 503, b"ready\n" if ready else b"starting\n")
            elif url.path == "/metrics":
                self._answer(200, generate_latest(registry), "text/plain; version=0.0.4")
            else:
                self._answer(404, b"not found\n")

        def _answer(self, code: int, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: a pool of workers would flood its parent's terminal

    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "0"))), Handler)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)

    def stop(number: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=orphaned, daemon=True).start()
    server.serve_forever(poll_interval=0.1)
    with slot:  # the request being served finishes first
        pass
    server.server_close()


if __name__ == "__main__":
    main()
