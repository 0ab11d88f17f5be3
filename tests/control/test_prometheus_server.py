"""PrometheusSource and query_range against a real Prometheus server on loopback.

The server (Debian's ``prometheus``) scrapes a process exposing a gauge every
second. Skipped, saying why, when no binary can be had. About 8 s in all: the
server waits up to 5 s before its first scrape.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from elastic.control.prometheus import PrometheusError, PrometheusSource, query_range
from elastic.errors import ParameterError
from elastic.testing.prometheus import (
    GAUGE,
    GaugeTarget,
    PrometheusServer,
    PrometheusServerError,
)
from tests.control.conftest import FakeClock

VALUE = 0.6180339887498949  # not a round number: no parse shortcut gives it by chance


@dataclass
class Scraped:
    server: PrometheusServer
    target: GaugeTarget
    first: float  # wall time by which the first sample was in


@pytest.fixture(scope="module")
def scraped(prometheus_binary: str) -> Iterator[Scraped]:
    with (
        GaugeTarget(VALUE) as target,
        PrometheusServer([target.address], binary=prometheus_binary) as server,
    ):
        server.wait_for_value(GAUGE, timeout=15.0)
        yield Scraped(server, target, time.time())


def test_an_instant_query_returns_the_gauges_value(scraped):
    source = PrometheusSource(scraped.server.url, {"value": GAUGE, "twice": f"2 * {GAUGE}"})
    reading = source.read(time.time())
    assert reading.values == {"value": VALUE, "twice": 2 * VALUE}
    assert reading.missing == {}


def test_a_metric_that_does_not_exist_is_missing(scraped):
    source = PrometheusSource(scraped.server.url, {"cpu": "elastic_no_such_metric"})
    reading = source.read(time.time())
    assert reading.values == {}
    assert reading.missing["cpu"].startswith("cpu: the query returned no series (empty vector)")


def test_a_query_prometheus_refuses_is_missing_with_its_words(scraped):
    reading = PrometheusSource(scraped.server.url, {"cpu": "sum(rate("}).read()
    assert reading.missing["cpu"].startswith(
        "cpu: HTTP 400 Bad Request: Prometheus refused the query: bad_data: "
    )


def test_query_range_returns_the_scraped_samples(scraped):
    # an end a little ahead: Prometheus evaluates it with the latest sample (as it does now)
    end = math.ceil(time.time()) + 1
    start = math.floor(scraped.first) - 4  # some steps before the first sample: gaps
    times, values = query_range(scraped.server.url, GAUGE, start, end, 0.5)
    np.testing.assert_array_equal(times, np.arange(start, end + 0.5, 0.5))
    present = ~np.isnan(values)
    assert present[-1] and not present[0]
    assert np.all(values[present] == VALUE)
    # the same range in chunks of 3 points gives the same arrays
    chunked = query_range(scraped.server.url, GAUGE, start, end, 0.5, points_per_query=3)
    np.testing.assert_array_equal(chunked[0], times)
    np.testing.assert_array_equal(chunked[1], values)
    dropped = query_range(scraped.server.url, GAUGE, start, end, 0.5, gaps="drop")
    np.testing.assert_array_equal(dropped[0], times[present])


def test_query_range_of_several_series_names_them(scraped):
    with pytest.raises(PrometheusError, match=r"the query returned 2 series") as info:
        query_range(scraped.server.url, f"{GAUGE} or vector(1)", time.time() - 2, time.time(), 1)
    assert info.value.query == f"{GAUGE} or vector(1)"
    assert info.value.field == "data.result"


def test_prometheus_stopped_gives_a_missing_metric_with_the_connection_reason(start_prometheus):
    clock = FakeClock()
    server = start_prometheus([])
    source = PrometheusSource(server.url, {"one": "vector(1)", "two": "vector(2)"}, clock=clock)
    assert source.read(time.time()).values == {"one": 1.0, "two": 2.0}
    server.stop()
    assert not server.running  # and its port refuses connections:
    reading = source.read(time.time())
    assert reading.values == {}  # never a zero
    assert reading.missing["one"].startswith(f"one: cannot connect to {server.url}/api/v1/query")
    assert "Connection refused" in reading.missing["one"]
    assert reading.missing["two"].startswith("two: not queried, Prometheus was unreachable")
    assert clock.sleeps == [0.5, 1.0]


def test_a_server_that_cannot_start_says_why_with_its_log(prometheus_binary):
    server = PrometheusServer(["127.0.0.1:1"], binary=prometheus_binary, start_timeout=10)
    server.config = lambda: {"global": {"scrape_interval": "nonsense"}}  # type: ignore[method-assign]
    started = time.monotonic()
    with pytest.raises(
        PrometheusServerError, match=r"exited with code \d+ before it was ready"
    ) as e:
        server.start()
    assert time.monotonic() - started < 10
    assert 'not a valid duration string: \\"nonsense\\"' in str(e.value)  # the log's words
    assert not server.running
    config = re.search(r"--config.file=(\S+)\)", str(e.value))
    assert config is not None and not Path(config.group(1)).parent.exists()  # cleaned up


def test_the_server_helper_refuses_what_it_cannot_do():
    with pytest.raises(ParameterError, match=r"targets\[0\]='example.com:80'"):
        PrometheusServer(["example.com:80"])
    with pytest.raises(ParameterError, match="scrape_interval=0"):
        PrometheusServer([], scrape_interval=0)
    with pytest.raises(PrometheusServerError, match="not started"):
        PrometheusServer([]).wait_for_value("up")


def fake_binary(tmp_path: Path, script: str) -> str:
    path = tmp_path / "prometheus"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_a_server_that_never_gets_ready_is_stopped_after_start_timeout(tmp_path):
    binary = fake_binary(tmp_path, "exec sleep 30\n")  # runs, never listens
    server = PrometheusServer([], binary=binary, start_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(PrometheusServerError, match=r"was not ready at .*/-/ready within "
                       r"start_timeout=0\.5 s"):  # fmt: skip
        server.start()
    assert time.monotonic() - started < 5
    assert not server.running


def test_a_port_taken_meanwhile_is_retried_on_another_port(tmp_path):
    count = tmp_path / "count"
    binary = fake_binary(
        tmp_path, f'echo x >> {count}\necho "listen tcp: bind: address already in use"\nexit 1\n'
    )
    with pytest.raises(PrometheusServerError, match="exited with code 1 before it was ready"):
        PrometheusServer([], binary=binary).start()
    assert len(count.read_text().split()) == 3  # three ports tried, then the error
