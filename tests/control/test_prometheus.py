"""PrometheusSource and query_range against a canned HTTP server on loopback.

Every way an answer can fail to be one usable number gives a missing metric
with the reason, never a zero; retries happen on transport errors and 5xx
only; timeouts and size caps hold.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
import re
import time

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.control.prometheus import (
    PrometheusError,
    PrometheusSource,
    instant_value,
    matrix_series,
    query_range,
)
from elastic.control.sources import Reading
from elastic.errors import AdapterError, ParameterError
from elastic.testing.prometheus import free_port
from tests.control.conftest import Answer, Canned, FakeClock, vector

ERROR_400 = {"status": "error", "errorType": "bad_data", "error": "1:5: parse error"}
ERROR_422 = {"status": "error", "errorType": "execution", "error": "many-to-many matching"}
ERROR_503 = {"status": "error", "errorType": "timeout", "error": "query timed out"}


def source(canned: Canned, clock: FakeClock, **kwargs: object) -> PrometheusSource:
    return PrometheusSource(canned.url, {"cpu": "avg(cpu)"}, clock=clock, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------ good answers ---


def test_a_vector_of_one_series_gives_its_value(canned, clock):
    canned.answers = [Answer(body=vector("0.625"))]
    assert source(canned, clock).read(1700000000.25) == Reading({"cpu": 0.625}, {})
    path, params = canned.requests[0]
    assert path == "/api/v1/query"
    assert params == {"query": "avg(cpu)", "time": "1700000000.250", "timeout": "5"}


def test_a_scalar_gives_its_value(canned, clock):
    canned.answers = [
        Answer(body={"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}})
    ]
    assert source(canned, clock).read(1.0).values == {"cpu": 3.0}


def test_read_without_now_lets_prometheus_use_its_now(canned, clock):
    canned.answers = [Answer(body=vector("1"))]
    source(canned, clock).read()
    assert "time" not in canned.requests[0][1]


def test_a_negative_value_is_kept_for_a_metric_that_is_not_a_utilization(canned, clock):
    canned.answers = [Answer(body=vector("-2.5"))]
    assert source(canned, clock).read(1.0).values == {"cpu": -2.5}


def test_a_base_url_with_a_path_prefix_and_a_trailing_slash(canned, clock):
    canned.answers = [Answer(body=vector("1"))]
    PrometheusSource(canned.url + "/prom/", {"x": "up"}, clock=clock).read(1.0)
    assert canned.requests[0][0] == "/prom/api/v1/query"


# ------------------------------------------------- everything else: missing ---

# (why, answer, the reason contains)
MISSING = [
    ("an empty vector: the metric is not scraped", Answer(body=vector()),
     "the query returned no series (empty vector): is the metric scraped"),
    ("NaN: 0/0 in the expression", Answer(body=vector("NaN")), "the query returned NaN"),
    ("+Inf: a division by zero", Answer(body=vector("+Inf")), "the query returned +inf"),
    ("-Inf", Answer(body=vector("-Inf")), "the query returned -inf"),
    ("a negative utilization", Answer(body=vector("-0.25")),
     "the query returned -0.25, negative for a utilization"),
    ("two series: the query is not aggregated", Answer(body=vector("1", "2")),
     'the query returned 2 series ({pod="p0"}, {pod="p1"}), expected one'),
    ("a range vector", Answer(body={"status": "success", "data": {"resultType": "matrix",
                                                                  "result": []}}),
     "data.resultType: the query returned a range vector (matrix)"),
    ("a string", Answer(body={"status": "success", "data": {"resultType": "string",
                                                            "result": [1, "a"]}}),
     "data.resultType: resultType 'string', expected 'vector' or 'scalar'"),
    ("HTTP 400: a bad query, with the API's error", Answer(400, ERROR_400),
     "HTTP 400 Bad Request: Prometheus refused the query: bad_data: 1:5: parse error"),
    ("HTTP 422: the expression cannot be executed", Answer(422, ERROR_422),
     "HTTP 422 Unprocessable Entity: Prometheus refused the query: execution"),
    ("HTTP 404: not a Prometheus (wrong URL)", Answer(404, b"404 page not found",
                                                      content_type="text/plain"),
     "HTTP 404 Not Found"),
    ("status error with HTTP 200", Answer(200, ERROR_400),
     "Prometheus refused the query: bad_data"),
    ("not JSON", Answer(body=b"<html>hello</html>"), "the answer is not JSON"),
    ("JSON but no envelope", Answer(body={"result": 1}),
     "the answer is not a Prometheus API answer"),
    ("no data", Answer(body={"status": "success"}), "data: missing or not an object"),
    ("a value that is not a number", Answer(body=vector("abc")),
     "data.result[0].value: value 'abc' is not a number"),
    ("a value that is not a string", Answer(body={"status": "success", "data": {
        "resultType": "vector", "result": [{"metric": {}, "value": [1, 0.5]}]}}),
     "data.result[0].value: value 0.5 is not a string"),
    ("a sample that is not a pair", Answer(body={"status": "success", "data": {
        "resultType": "vector", "result": [{"metric": {}, "value": [1]}]}}),
     "data.result[0].value: [1] is not a [time, value] pair"),
    ("a native histogram", Answer(body={"status": "success", "data": {
        "resultType": "vector", "result": [{"metric": {}, "histogram": [1, {}]}]}}),
     "data.result[0]: a native histogram, expected a float sample"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "answer", "reason"), MISSING, ids=[m[0] for m in MISSING])
def test_what_is_not_one_usable_number_is_missing_with_its_reason(
    canned, clock, why, answer, reason
):
    canned.answers = [answer]
    reading = source(canned, clock, utilization=["cpu"]).read(1.0)
    assert reading.values == {}  # never a zero
    assert list(reading.missing) == ["cpu"]
    text = reading.missing["cpu"]
    assert text.startswith("cpu: ") and text.endswith("(query: avg(cpu))")
    assert reason in text
    assert len(canned.requests) == 1  # none of these is retried


def test_an_answer_larger_than_max_bytes_is_missing(canned, clock):
    big = vector("1", labels=[{"pad": "x" * 3000}])
    canned.answers = [Answer(body=big)]
    reading = source(canned, clock, max_bytes=2048).read(1.0)
    assert "the answer is larger than max_bytes=2048 bytes" in reading.missing["cpu"]


def test_an_answer_without_content_length_is_capped_while_read(canned, clock):
    # no length to check upfront (as with a chunked answer): the cap holds while reading
    canned.answers = [Answer(body=vector("1", labels=[{"pad": "x" * 3000}]), length=False)]
    big = PrometheusSource(canned.url, {"cpu": "x"}, clock=clock, max_bytes=1024)
    assert "larger than max_bytes=1024" in big.read(1.0).missing["cpu"]


def test_several_metrics_each_with_its_own_outcome(canned, clock):
    canned.answers = [Answer(body=vector("0.5")), Answer(body=vector()), Answer(400, ERROR_400)]
    s = PrometheusSource(canned.url, {"cpu": "a", "rps": "b", "mem": "c"}, clock=clock)
    reading = s.read(1.0)
    assert reading.values == {"cpu": 0.5}
    assert set(reading.missing) == {"rps", "mem"}
    assert reading.missing["rps"].startswith("rps: the query returned no series")
    assert reading.missing["mem"].startswith("mem: HTTP 400")


# ----------------------------------------------------------------- retries ---


def test_503_is_retried_with_backoff_then_the_value_is_used(canned, clock):
    canned.answers = [Answer(503, ERROR_503), Answer(503, ERROR_503), Answer(body=vector("7"))]
    reading = source(canned, clock).read(1.0)
    assert reading.values == {"cpu": 7.0}
    assert len(canned.requests) == 3
    assert clock.sleeps == [0.5, 1.0]


def test_503_on_every_attempt_is_missing_after_the_retries(canned, clock):
    canned.answers = [Answer(503, ERROR_503)] * 3
    reading = source(canned, clock, retries=2, backoff=0.25).read(1.0)
    assert len(canned.requests) == 3
    assert clock.sleeps == [0.25, 0.5]
    assert reading.missing["cpu"] == (
        "cpu: HTTP 503 Service Unavailable: Prometheus refused the query: timeout: query timed "
        "out (after 3 attempts) (query: avg(cpu))"
    )


def test_a_502_page_from_a_proxy_is_retried_and_reported(canned, clock):
    canned.answers = [Answer(502, b"<html>Bad Gateway</html>", content_type="text/html")] * 2
    reading = source(canned, clock, retries=1).read(1.0)
    assert len(canned.requests) == 2
    assert (
        reading.missing["cpu"] == "cpu: HTTP 502 Bad Gateway (after 2 attempts) (query: avg(cpu))"
    )


@pytest.mark.parametrize("status", [400, 422, 404])
def test_a_4xx_is_not_retried(canned, clock, status):
    canned.answers = [Answer(status, ERROR_400), Answer(body=vector("1"))]
    reading = source(canned, clock).read(1.0)
    assert len(canned.requests) == 1
    assert clock.sleeps == []
    assert f"HTTP {status}" in reading.missing["cpu"]


def test_the_timeout_is_honoured_and_sent_to_prometheus(canned, clock):
    canned.answers = [Answer(body=vector("1"), delay=0.6)]
    s = source(canned, clock, timeout=0.2, retries=0)
    started = time.monotonic()
    reading = s.read(1.0)
    assert time.monotonic() - started < 0.5
    assert reading.values == {}
    assert reading.missing["cpu"].startswith(
        f"cpu: no answer from {canned.url}/api/v1/query within timeout=0.2 s"
    )
    assert canned.requests[0][1]["timeout"] == "0.2"


def test_a_timeout_is_retried(canned, clock):
    canned.answers = [Answer(body=vector("1"), delay=0.4), Answer(body=vector("2"))]
    assert source(canned, clock, timeout=0.2, retries=1).read(1.0).values == {"cpu": 2.0}
    assert clock.sleeps == [0.5]


def test_a_refused_connection_is_missing_and_the_other_queries_are_not_sent(clock):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    s = PrometheusSource(url, {"cpu": "a", "rps": "b"}, clock=clock)
    reading = s.read(1.0)
    assert reading.values == {}
    assert reading.missing["cpu"].startswith(f"cpu: cannot connect to {url}/api/v1/query: ")
    assert "(after 3 attempts) (query: a)" in reading.missing["cpu"]
    assert reading.missing["rps"] == (
        "rps: not queried, Prometheus was unreachable for 'cpu' (query: b)"
    )
    assert clock.sleeps == [0.5, 1.0]  # retried for the first query only


def test_without_a_clock_the_source_really_sleeps(canned):
    canned.answers = [Answer(503, ERROR_503), Answer(body=vector("1"))]
    started = time.monotonic()
    s = PrometheusSource(canned.url, {"cpu": "a"}, backoff=0.1, retries=1)
    assert s.read(1.0).values == {"cpu": 1.0}
    assert time.monotonic() - started >= 0.1


def test_a_given_client_is_used_and_left_open(canned, clock):
    canned.answers = [Answer(body=vector("1")), Answer(body=vector("2"))]
    with httpx.Client(headers={"Authorization": "Bearer t"}) as client:
        s = PrometheusSource(canned.url, {"cpu": "a"}, clock=clock, client=client)
        assert s.read(1.0).values == {"cpu": 1.0}
        assert s.read(2.0).values == {"cpu": 2.0}
        assert not client.is_closed


# -------------------------------------------------------- ignoreNullValues ---


@pytest.mark.parametrize("value", [None, "NaN", "+Inf", "-Inf"])
def test_ignore_null_values_reads_an_empty_result_or_nan_or_inf_as_zero(canned, clock, value):
    canned.answers = [Answer(body=vector() if value is None else vector(value))]
    reading = source(canned, clock, ignore_null_values=True).read(1.0)
    assert reading == Reading({"cpu": 0.0}, {})


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(400, ERROR_400), "HTTP 400"),  # an error is not a null value
        (Answer(body=vector("1", "2")), "2 series"),  # KEDA too refuses several series
        (Answer(body=vector("-1")), "negative for a utilization"),
    ],
)
def test_ignore_null_values_still_reports_errors_as_missing(canned, clock, answer, reason):
    canned.answers = [answer]
    reading = source(canned, clock, ignore_null_values=True, utilization=["cpu"]).read(1.0)
    assert reading.values == {}
    assert reason in reading.missing["cpu"]


# -------------------------------------------------------------- parameters ---


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "127.0.0.1:9090"}, "url='127.0.0.1:9090' is invalid; expected Prometheus's base"),
        ({"queries": {}}, "queries={} is invalid"),
        ({"queries": {"cpu": " "}}, "queries['cpu']=' ' is invalid; expected a PromQL"),
        ({"utilization": ["mem"]}, "utilization=['mem'] is invalid; expected names among"),
        ({"utilization": "cpu"}, "utilization='cpu' is invalid"),
        ({"timeout": 0}, "timeout=0 is invalid; expected seconds in (0, 300]"),
        ({"timeout": float("nan")}, "timeout=nan is invalid"),
        ({"retries": -1}, "retries=-1 is invalid; expected an integer in [0, 10]"),
        ({"retries": 1.5}, "retries=1.5 is invalid"),
        ({"backoff": -0.1}, "backoff=-0.1 is invalid"),
        ({"max_bytes": 10}, "max_bytes=10 is invalid; expected an integer >= 1024"),
    ],
)
def test_a_bad_parameter_is_refused_at_its_name(kwargs, message):
    args: dict[str, object] = {"url": "http://127.0.0.1:9090", "queries": {"cpu": "a"}, **kwargs}
    with pytest.raises(ParameterError, match=r"^PrometheusSource: ") as info:
        PrometheusSource(**args)  # type: ignore[arg-type]
    assert message in str(info.value)


@pytest.mark.parametrize("now", [float("nan"), float("inf"), "12"])
def test_a_bad_now_is_refused(clock, now):
    s = PrometheusSource("http://127.0.0.1:9", {"cpu": "a"}, clock=clock)
    with pytest.raises(ParameterError, match="now="):
        s.read(now)


def test_repr_and_errors_pickle():
    s = PrometheusSource("http://h:9090/", {"cpu": "a"}, ignore_null_values=True)
    assert repr(s) == "PrometheusSource('http://h:9090', ['cpu'], ignore_null_values=True)"
    err = PrometheusError("boom", url="http://h/api/v1/query", query="up", field="data")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, AdapterError)
    assert (str(back), back.field) == ("http://h/api/v1/query: query 'up': data: boom", "data")


def test_instant_value_and_matrix_series_parse_without_a_server():
    assert (
        instant_value(b'{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}') == 2
    )
    labels, samples = matrix_series(
        '{"status":"success","data":{"resultType":"matrix","result":[]}}'
    )
    assert (labels, samples) == (None, [])


# ------------------------------------------------------------- query_range ---


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> dict[str, object]:
    result = [{"metric": m, "values": [[t, v] for t, v in vs]} for m, vs in series]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def grid_server(canned: Canned, value_at) -> None:  # type: ignore[no-untyped-def]
    """Answer each range query like Prometheus: a sample per step where value_at gives one."""

    def respond(path: str, params: dict[str, str]) -> Answer:
        start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
        samples = []
        t = start
        while t <= end + 1e-9:
            v = value_at(t)
            if v is not None:
                samples.append((round(t, 3), v))
            t += step
        return Answer(body=matrix(({"job": "web"}, samples)) if samples else matrix())

    canned.respond = respond


def test_query_range_cuts_the_range_into_chunks_that_do_not_overlap(canned, clock):
    grid_server(canned, lambda t: str(t / 10))
    times, values = query_range(canned.url, "x", 100.0, 105.0, 0.5, points_per_query=4, clock=clock)
    np.testing.assert_array_equal(times, np.arange(100.0, 105.5, 0.5))
    np.testing.assert_allclose(values, times / 10)
    spans = [(p["start"], p["end"], p["step"]) for _, p in canned.requests]
    assert spans == [
        ("100.000", "101.500", "0.5"),
        ("102.000", "103.500", "0.5"),
        ("104.000", "105.000", "0.5"),
    ]
    assert {path for path, _ in canned.requests} == {"/api/v1/query_range"}


def test_query_range_asks_at_most_11000_points_per_query(canned, clock):
    grid_server(canned, lambda t: "1")
    times, values = query_range(canned.url, "x", 0.0, 21_999.0, 1.0, clock=clock)
    assert len(times) == 22_000 and np.all(values == 1.0)
    points = [
        (float(p["end"]) - float(p["start"])) / float(p["step"]) + 1 for _, p in canned.requests
    ]
    assert points == [11_000, 11_000]


def test_query_range_gaps_are_nan_or_dropped(canned, clock):
    def value_at(t: float) -> str | None:
        return {1.0: None, 2.0: "NaN", 3.0: "+Inf"}.get(t, "5")

    grid_server(canned, value_at)
    times, values = query_range(canned.url, "x", 0.0, 4.0, 1.0, clock=clock)
    np.testing.assert_array_equal(times, [0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(values, [5.0, np.nan, np.nan, np.nan, 5.0])
    times, values = query_range(canned.url, "x", 0.0, 4.0, 1.0, gaps="drop", clock=clock)
    np.testing.assert_array_equal(times, [0.0, 4.0])
    np.testing.assert_array_equal(values, [5.0, 5.0])


def test_query_range_on_a_fractional_grid(canned, clock):
    grid_server(canned, lambda t: "1")
    times, _ = query_range(canned.url, "x", 1700000000.1234, 1700000001.0, 0.25, clock=clock)
    np.testing.assert_allclose(times, 1700000000.123 + 0.25 * np.arange(4))


def test_query_range_several_series_is_an_error_naming_them(canned, clock):
    canned.answers = [Answer(body=matrix(({"pod": "a"}, [(0, "1")]), ({"pod": "b"}, [(0, "2")])))]
    with pytest.raises(PrometheusError) as info:
        query_range(canned.url, "x", 0.0, 10.0, 1.0, clock=clock)
    assert str(info.value) == (
        f"{canned.url}/api/v1/query_range: query 'x': data.result: the query returned 2 series "
        '({pod="a"}, {pod="b"}), expected one: aggregate it, e.g. sum(...) or max(...)'
    )


def test_query_range_a_series_that_changes_between_chunks_is_an_error(canned, clock):
    canned.answers = [
        Answer(body=matrix(({"pod": "a"}, [(0, "1"), (1, "1")]))),
        Answer(body=matrix(({"pod": "b"}, [(2, "1")]))),
    ]
    with pytest.raises(PrometheusError, match=re.escape('from {pod="a"} to {pod="b"}')) as info:
        query_range(canned.url, "x", 0.0, 3.0, 1.0, points_per_query=2, clock=clock)
    assert info.value.field == "data.result[0].metric"


def test_query_range_a_sample_off_the_grid_is_an_error(canned, clock):
    canned.answers = [Answer(body=matrix(({}, [(0, "1"), (1.5, "1")])))]
    with pytest.raises(
        PrometheusError, match=r"values\[1\]: a sample at 1.5, not on the requested"
    ):
        query_range(canned.url, "x", 0.0, 3.0, 1.0, clock=clock)


def test_query_range_no_sample_at_all_is_an_error(canned, clock):
    grid_server(canned, lambda t: None)
    with pytest.raises(
        PrometheusError, match=r"no sample between 0\.0 and 3\.0: is the metric scraped"
    ):
        query_range(canned.url, "x", 0.0, 3.0, 1.0, clock=clock)


def test_query_range_retries_503_and_not_400(canned, clock):
    canned.answers = [Answer(503, ERROR_503), Answer(body=matrix(({}, [(0, "2")])))]
    _, values = query_range(canned.url, "x", 0.0, 0.0, 1.0, clock=clock)
    assert values.tolist() == [2.0] and clock.sleeps == [0.5]
    canned.answers = [Answer(400, ERROR_400)]
    with pytest.raises(PrometheusError, match=r"HTTP 400 Bad Request: Prometheus refused") as info:
        query_range(canned.url, "foo(", 0.0, 0.0, 1.0, clock=clock)
    assert (info.value.url, info.value.query) == (f"{canned.url}/api/v1/query_range", "foo(")
    assert len(canned.requests) == 3


def test_query_range_a_refused_connection_is_an_error(clock):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusError, match=r"cannot connect to .*after 3 attempts"):
        query_range(url, "x", 0.0, 1.0, 1.0, clock=clock)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0.0, -1.0, 1.0), {}, "end=-1.0 is invalid; expected a time >= start=0.0"),
        ((0.0, 1.0, 0.0), {}, "step=0.0 is invalid; expected a whole number of milliseconds"),
        ((0.0, 1.0, 1.0005), {}, "step=1.0005 is invalid"),
        ((0.0, math.inf, 1.0), {}, "end=inf is invalid; expected a finite number"),
        (
            (0.0, 100.0, 1.0),
            {"max_points": 50},
            "at most max_points=50 points from 0.0 to 100.0 (it gives 101)",
        ),
        ((0.0, 1.0, 1.0), {"points_per_query": 11_001}, "points_per_query=11001 is invalid"),
        ((0.0, 1.0, 1.0), {"gaps": "zero"}, "gaps='zero' is invalid"),
    ],
)
def test_query_range_bad_arguments_are_refused_before_any_request(canned, args, kwargs, message):
    with pytest.raises(ParameterError, match=r"^query_range: ") as info:
        query_range(canned.url, "x", *args, **kwargs)
    assert message in str(info.value)
    assert canned.requests == []


def test_a_connect_timeout_is_unreachable_and_the_other_queries_are_not_sent(clock):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        s = PrometheusSource("http://10.1.2.3:9090", {"cpu": "a", "rps": "b"}, client=client,
                             clock=clock, timeout=1.5)  # fmt: skip
        reading = s.read(1.0)
    assert reading.missing == {
        "cpu": "cpu: cannot connect to http://10.1.2.3:9090/api/v1/query within timeout=1.5 s "
        "(after 3 attempts) (query: a)",
        "rps": "rps: not queried, Prometheus was unreachable for 'cpu' (query: b)",
    }


# ------------------------------------------------------ any answer at all ---

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
SCALAR = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["NaN", "+Inf", "-Inf", "1e999", "-0", "0.5"])
)
PAIR = st.tuples(SCALAR, SCALAR).map(list) | st.lists(SCALAR, max_size=3) | JSON
SERIES = st.fixed_dictionaries(
    {"metric": st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2) | JSON},
    optional={"value": PAIR, "values": st.lists(PAIR, max_size=3), "histogram": JSON},
)


def _success(kind: str, result: object) -> dict[str, object]:
    return {"status": "success", "data": {"resultType": kind, "result": result}}


ANSWER = st.one_of(
    # well formed but for the leaves, to reach every branch of the parsers
    st.lists(SERIES, max_size=2).map(lambda r: _success("vector", r)),
    st.lists(SERIES, max_size=2).map(lambda r: _success("matrix", r)),
    PAIR.map(lambda r: _success("scalar", r)),
    st.fixed_dictionaries(
        {"status": st.sampled_from(["success", "error", "?"])},
        optional={"data": JSON, "errorType": JSON, "error": JSON},
    ),
)


@settings(max_examples=300, deadline=None)
@given(body=ANSWER.map(json.dumps) | JSON.map(json.dumps) | st.binary(max_size=20))
def test_any_answer_gives_a_number_none_or_a_prometheus_error(body):
    try:
        value = instant_value(body)
    except PrometheusError:
        pass
    else:
        assert value is None or isinstance(value, float)
    try:
        labels, samples = matrix_series(body)
    except PrometheusError:
        pass
    else:
        assert labels is not None or samples == []
        assert all(isinstance(t, float) and isinstance(v, float) for t, v in samples)


def test_a_huge_or_deep_answer_is_a_prometheus_error():
    with pytest.raises(PrometheusError, match="not JSON"):
        instant_value("[" * 100_000 + "]" * 100_000)
    huge = '{"status":"success","data":{"resultType":"scalar","result":[1%s,"1"]}}' % ("0" * 400)
    with pytest.raises(PrometheusError, match="is not a number"):
        instant_value(huge)


# ----------------------------------------------- issue 18: URLs shown and refused ---

SECRET_URL = "http://admin:s3cret@127.0.0.1:{port}"


def test_a_password_in_the_url_is_never_shown_in_reasons_or_repr(clock):
    url = SECRET_URL.format(port=free_port())  # nothing listens there
    s = PrometheusSource(url, {"cpu": "a", "rps": "b"}, clock=clock)
    assert "s3cret" not in repr(s) and "admin:***@127.0.0.1" in repr(s)
    reading = s.read(1.0)
    assert reading.missing["cpu"].startswith("cpu: cannot connect to http://admin:***@127.0.0.1:")
    assert not any("s3cret" in reason for reason in reading.missing.values())


def test_a_password_in_the_url_is_never_shown_in_range_errors(clock):
    url = SECRET_URL.format(port=free_port())
    with pytest.raises(PrometheusError) as info:
        query_range(url, "x", 0.0, 1.0, 1.0, clock=clock)
    assert "s3cret" not in str(info.value) and "admin:***@" in str(info.value)
    assert "s3cret" not in (info.value.url or "")
    with pytest.raises(ParameterError) as refused:
        query_range("http://admin:s3cret@127.0.0.1:99999", "x", 0.0, 1.0, 1.0)
    assert "s3cret" not in str(refused.value) and "admin:***@" in str(refused.value)


def test_a_username_alone_is_hidden_as_it_may_be_a_token(clock):
    s = PrometheusSource("https://glpat-token@prom.example", {"cpu": "a"}, clock=clock)
    assert "glpat" not in repr(s) and "https://***@prom.example" in repr(s)


def test_the_real_credentials_are_still_sent(clock):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=vector("1"))

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        s = PrometheusSource("http://admin:s3cret@prom:9090", {"cpu": "a"}, client=client)
        assert s.read(1.0).values == {"cpu": 1.0}
    expected = "Basic " + base64.b64encode(b"admin:s3cret").decode()
    assert seen[0].headers["authorization"] == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://", "a host"),
        ("https://:9090", "a host"),
        ("http://admin:s3cret@", "a host"),
        ("http://127.0.0.1:99999", "a port in 1..65535"),
        ("http://127.0.0.1:0", "a port in 1..65535"),
        ("http://127.0.0.1:http", "a port in 1..65535"),
    ],
)
def test_a_url_without_a_host_or_with_a_bad_port_is_refused(canned, url, expected):
    with pytest.raises(ParameterError, match=r"^PrometheusSource: url=") as info:
        PrometheusSource(url, {"cpu": "a"})
    assert expected in str(info.value) and "s3cret" not in str(info.value)
    with pytest.raises(ParameterError, match=r"^query_range: url=") as info:
        query_range(url, "x", 0.0, 1.0, 1.0)
    assert expected in str(info.value)
