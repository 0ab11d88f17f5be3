"""A generated load for real workers: requests at a set rate, spread over the ready ones."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from elastic.core.validate import check_int, check_number

__all__ = ["LoadGenerator"]


class LoadGenerator:
    """Sends ``GET http://<address><path>`` at ``rate`` requests a second, round robin over
    ``targets()`` (read at each request), from a background thread.

    At most ``concurrency`` requests are in flight: a request that would
    exceed it is dropped and counted, so an overloaded system never makes
    the generator itself pile up. Each request gives up after ``timeout``
    seconds. ``set_rate`` changes the rate; :meth:`stop` ends the load.
    """

    def __init__(
        self,
        rate: float,
        targets: Callable[[], Sequence[str]],
        *,
        path: str = "/work",
        concurrency: int = 64,
        timeout: float = 10.0,
    ) -> None:
        owner = "LoadGenerator"
        self.rate = check_number(rate, "rate", owner=owner, ge=0)
        self.targets = targets
        self.path = path
        self.concurrency = check_int(concurrency, "concurrency", owner=owner, ge=1)
        self.sent = self.ok = self.failed = self.dropped = 0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=timeout)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> LoadGenerator:
        self._thread.start()
        return self

    def set_rate(self, rate: float) -> None:
        self.rate = check_number(rate, "rate", owner="LoadGenerator.set_rate", ge=0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _run(self) -> None:
        turn = itertools.count()
        due = time.monotonic()
        while not self._stop.is_set():
            if self.rate <= 0:
                self._stop.wait(0.05)
                due = time.monotonic()
                continue
            due += 1.0 / self.rate
            wait = due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            targets = list(self.targets())
            with self._lock:
                if not targets or self._in_flight >= self.concurrency:
                    self.dropped += 1
                    continue
                self._in_flight += 1
                self.sent += 1
            address = targets[next(turn) % len(targets)]
            self._pool.submit(self._send, address)

    def _send(self, address: str) -> None:
        try:
            answer = self._client.get(f"http://{address}{self.path}")
            good = answer.status_code == 200
        except httpx.HTTPError:
            good = False
        with self._lock:
            self._in_flight -= 1
            if good:
                self.ok += 1
            else:
                self.failed += 1

    def __enter__(self) -> LoadGenerator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
