"""Metrics from Prometheus: instant queries for a controller, range queries for replay.

:class:`PrometheusSource` asks Prometheus's HTTP API (``/api/v1/query``) one
PromQL expression per metric and gives a :class:`~elastic.control.sources.Reading`.
Anything that is not one usable number is a *missing* metric with the reason
in words, never a zero: an empty result, NaN or an infinity, a negative value
for a utilization, more than one series, an HTTP or API error, an answer that
is not JSON, a timeout, a refused connection. (KEDA's ``ignoreNullValues``,
which reads an empty result or NaN/Inf as 0, is an explicit option.)

:func:`query_range` reads ``/api/v1/query_range`` into numpy arrays, the raw
material of a replay of real traffic.

Transport errors (timeouts, refused connections) and HTTP 5xx answers are
retried ``retries`` times, sleeping ``backoff``, ``2 * backoff``,
``4 * backoff``... seconds between attempts (no jitter: deterministic); a 4xx
answer (a bad query) is not retried. Every attempt is bounded by ``timeout``
(also sent to Prometheus as its evaluation timeout) and the size of an answer
by ``max_bytes``.

Facts on the API and on KEDA's scaler: ``docs/querying/api.md`` of
prometheus/prometheus; ``pkg/scalers/prometheus_scaler.go`` of kedacore/keda.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
import numpy as np

from elastic.control.sources import Reading
from elastic.errors import AdapterError, ParameterError

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_POINTS_PER_QUERY",
    "PrometheusError",
    "PrometheusSource",
    "instant_value",
    "matrix_series",
    "query_range",
]

DEFAULT_TIMEOUT = 5.0
"""Seconds an attempt may take (each network operation), and Prometheus's evaluation timeout."""
DEFAULT_RETRIES = 2
"""Attempts after the first one, on a transport error or an HTTP 5xx answer."""
DEFAULT_BACKOFF = 0.5
"""Seconds slept before the first retry; doubled before each next one."""
MAX_POINTS_PER_QUERY = 11_000
"""Prometheus refuses a range query of more than 11,000 points per series."""
MAX_INSTANT_BYTES = 1 << 20
"""Largest answer to an instant query read (1 MiB): one sample needs about 100 bytes."""
MAX_RANGE_BYTES = 64 << 20
"""Largest answer to one range query read (64 MiB)."""
MAX_RANGE_POINTS = 10_000_000
"""Most points :func:`query_range` builds (80 MB of values)."""
_MAX_TIMEOUT = 300.0
_MAX_RETRIES = 10
_MAX_BACKOFF = 60.0
_MIN_STEP = 0.001  # Prometheus's time resolution is the millisecond


class _Sleeps(Protocol):
    """What a source needs from a clock: a way to wait between attempts."""

    def sleep(self, seconds: float, /) -> None: ...


class PrometheusError(AdapterError):
    """Prometheus refused or failed a query, or answered with something unusable.

    Parameters
    ----------
    problem
        What went wrong and, where it helps, what to do.
    url
        The endpoint asked (``http://host:9090/api/v1/query_range``).
    query
        The PromQL expression.
    field
        Where in the answer the problem is (``data.result[0].value``).

    Examples
    --------
    >>> raise PrometheusError("the answer is not JSON", url="http://127.0.0.1:9090/api/v1/query",
    ...                       query="up")
    Traceback (most recent call last):
    ...
    elastic.control.prometheus.PrometheusError: http://127.0.0.1:9090/api/v1/query: query 'up':
    the answer is not JSON
    """

    def __init__(
        self,
        problem: str,
        *,
        url: str | None = None,
        query: str | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.url = url
        self.query = query
        self.field = field
        where = "".join(
            [f"{url}: " if url else "", f"query {query!r}: " if query is not None else ""]
        )
        super().__init__(where + self.what())

    def what(self) -> str:
        """The problem, at its field in the answer when there is one."""
        return f"{self.field}: {self.problem}" if self.field else self.problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.problem, self.url, self.query, self.field))


def _rebuild(
    cls: type[PrometheusError], problem: str, url: str | None, query: str | None, field: str | None
) -> PrometheusError:
    return cls(problem, url=url, query=query, field=field)


class _Failed(Exception):
    """An attempt failed: ``retry`` when another attempt may succeed."""

    def __init__(self, problem: str, *, retry: bool, unreachable: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry = retry
        self.unreachable = unreachable


# ---------------------------------------------------------------- parsing ---


def _envelope_data(body: bytes | str, status: int = 200, reason: str = "OK") -> Any:
    """The ``data`` of an API answer, or a :class:`PrometheusError` saying why not."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        if status >= 400:
            raise PrometheusError(f"HTTP {status} {reason}") from None
        text = body[:80].decode(errors="replace") if isinstance(body, bytes) else body[:80]
        raise PrometheusError(f"the answer is not JSON ({exc}): {text!r}") from None
    if not isinstance(doc, dict) or doc.get("status") not in ("success", "error"):
        problem = "the answer is not a Prometheus API answer (no status 'success' or 'error')"
        if status >= 400:
            problem = f"HTTP {status} {reason}"
        raise PrometheusError(problem)
    if doc["status"] == "error":
        api = f"{doc.get('errorType', '?')}: {doc.get('error', '?')}"
        prefix = f"HTTP {status} {reason}: " if status >= 400 else ""
        raise PrometheusError(f"{prefix}Prometheus refused the query: {api}")
    if status >= 400:
        raise PrometheusError(f"HTTP {status} {reason}")
    if "data" not in doc or not isinstance(doc["data"], dict):
        raise PrometheusError("missing or not an object", field="data")
    return doc["data"]


def _sample(pair: Any, field: str) -> tuple[float, float]:
    """``(time, value)`` of one ``[<unix time>, "<value>"]`` pair."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise PrometheusError(f"{pair!r} is not a [time, value] pair", field=field)
    t, v = pair
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise PrometheusError(f"time {t!r} is not a number", field=field)
    if not isinstance(v, str):
        raise PrometheusError(f'value {v!r} is not a string such as "0.5"', field=field)
    try:
        return float(t), float(v)
    except (ValueError, OverflowError):
        raise PrometheusError(f"value {v!r} is not a number", field=field) from None


def _labels(series: Any) -> str:
    metric = series.get("metric", {}) if isinstance(series, dict) else {}
    if not isinstance(metric, dict):
        return repr(metric)
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items())) + "}"


def _several(kind: str, result: list[Any]) -> PrometheusError:
    shown = ", ".join(_labels(s) for s in result[:3]) + (", ..." if len(result) > 3 else "")
    return PrometheusError(
        f"the query returned {len(result)} series ({shown}), expected one: "
        f"aggregate it, e.g. sum(...) or max(...)",
        field="data.result",
    )


def _instant(data: Any) -> float | None:
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "scalar":
        return _sample(result, "data.result")[1]
    if kind == "vector":
        if not isinstance(result, list):
            raise PrometheusError("a vector's result is not a list", field="data.result")
        if not result:
            return None
        if len(result) > 1:
            raise _several(kind, result)
        series = result[0]
        if not isinstance(series, dict) or "value" not in series:
            if isinstance(series, dict) and "histogram" in series:
                raise PrometheusError(
                    "a native histogram, expected a float sample: use histogram_quantile(...) "
                    "or histogram_sum(...)",
                    field="data.result[0]",
                )
            raise PrometheusError("a series without a value", field="data.result[0]")
        return _sample(series["value"], "data.result[0].value")[1]
    if kind == "matrix":
        raise PrometheusError(
            "the query returned a range vector (matrix), an instant query needs an instant "
            "vector or a scalar: apply a function to the range selector, e.g. rate(x[1m])",
            field="data.resultType",
        )
    raise PrometheusError(
        f"resultType {kind!r}, expected 'vector' or 'scalar'", field="data.resultType"
    )


def instant_value(body: bytes | str) -> float | None:
    """The one value of an instant query's answer; ``None`` when it has no series.

    NaN and the infinities are returned as they are (the caller decides);
    everything else that is not one number raises.

    Parameters
    ----------
    body
        The answer of ``/api/v1/query``, as received.

    Raises
    ------
    PrometheusError
        The answer is not JSON or not an API answer, Prometheus reported an
        error, a range vector or a string, more than one series, or a sample
        that is not ``[time, "number"]``; the message names the field.

    Examples
    --------
    >>> ok = '{"status":"success","data":{"resultType":"vector","result":%s}}'
    >>> instant_value(ok % '[{"metric":{},"value":[1700000000.5,"0.75"]}]')
    0.75
    >>> instant_value(ok % '[]') is None
    True
    >>> instant_value('{"status":"success","data":{"resultType":"scalar",'
    ...               '"result":[1700000000,"+Inf"]}}')
    inf
    >>> instant_value(ok % '[{"metric":{"pod":"a"},"value":[1,"1"]},'
    ...                    '{"metric":{"pod":"b"},"value":[1,"2"]}]')
    Traceback (most recent call last):
    ...
    elastic.control.prometheus.PrometheusError: data.result: the query returned 2 series
    ({pod="a"}, {pod="b"}), expected one: aggregate it, e.g. sum(...) or max(...)
    """
    return _instant(_envelope_data(body))


def _matrix(data: Any) -> tuple[str | None, list[tuple[float, float]]]:
    kind = data.get("resultType")
    result = data.get("result")
    if kind != "matrix":
        raise PrometheusError(f"resultType {kind!r}, expected 'matrix'", field="data.resultType")
    if not isinstance(result, list):
        raise PrometheusError("a matrix's result is not a list", field="data.result")
    if not result:
        return None, []
    if len(result) > 1:
        raise _several(kind, result)
    series = result[0]
    values = series.get("values") if isinstance(series, dict) else None
    if not isinstance(values, list):
        if isinstance(series, dict) and "histograms" in series:
            raise PrometheusError(
                "native histograms, expected float samples", field="data.result[0]"
            )
        raise PrometheusError("a series without values", field="data.result[0].values")
    samples = [_sample(p, f"data.result[0].values[{i}]") for i, p in enumerate(values)]
    return _labels(series), samples


def matrix_series(body: bytes | str) -> tuple[str | None, list[tuple[float, float]]]:
    """The one series of a range query's answer: its labels and its ``(time, value)`` samples.

    Parameters
    ----------
    body
        The answer of ``/api/v1/query_range``, as received.

    Returns
    -------
    labels, samples
        ``labels`` as PromQL writes them (``{job="web"}``), ``None`` when the
        answer has no series (``samples`` is then empty). Values are as
        Prometheus wrote them, NaN and infinities included.

    Raises
    ------
    PrometheusError
        As :func:`instant_value`, for a range query's answer.

    Examples
    --------
    >>> matrix_series('{"status":"success","data":{"resultType":"matrix","result":'
    ...               '[{"metric":{"job":"web"},"values":[[60,"1"],[75,"NaN"]]}]}}')
    ('{job="web"}', [(60.0, 1.0), (75.0, nan)])
    >>> matrix_series('{"status":"error","errorType":"bad_data","error":"parse error"}')
    Traceback (most recent call last):
    ...
    elastic.control.prometheus.PrometheusError: Prometheus refused the query: bad_data: parse error
    """
    return _matrix(_envelope_data(body))


# -------------------------------------------------------------- transport ---


def _attempt(
    client: httpx.Client,
    endpoint: str,
    params: Mapping[str, str],
    timeout: float,
    max_bytes: int,
) -> tuple[int, str, bytes]:
    """One GET: ``(status, reason phrase, body)``; a transport failure raises :class:`_Failed`."""
    deadline = time.monotonic() + timeout
    shown = _redacted(endpoint)  # the URL in messages: they go to logs
    try:
        with client.stream("GET", endpoint, params=params, timeout=timeout) as response:
            declared = response.headers.get("content-length", "")
            too_big = _Failed(
                f"the answer is larger than max_bytes={max_bytes} bytes (a query returning "
                "very many series?)",
                retry=False,
            )
            if declared.isdigit() and int(declared) > max_bytes:
                raise too_big
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise too_big
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer took too long", request=response.request)
            return response.status_code, response.reason_phrase, b"".join(chunks)
    except httpx.ConnectTimeout:
        raise _Failed(
            f"cannot connect to {shown} within timeout={timeout:g} s",
            retry=True,
            unreachable=True,
        ) from None
    except httpx.TimeoutException:
        raise _Failed(f"no answer from {shown} within timeout={timeout:g} s", retry=True) from None
    except httpx.ConnectError as exc:
        said = _hidden(str(exc), endpoint)
        raise _Failed(f"cannot connect to {shown}: {said}", retry=True, unreachable=True) from None
    except httpx.TransportError as exc:
        said = f"{type(exc).__name__}: {_hidden(str(exc), endpoint)}"
        raise _Failed(f"transport error talking to {shown}: {said}", retry=True) from None
    except httpx.HTTPError as exc:
        said = f"{type(exc).__name__}: {_hidden(str(exc), endpoint)}"
        raise _Failed(f"cannot read the answer of {shown}: {said}", retry=False) from None


@dataclass(frozen=True, slots=True)
class _Transport:
    """How to reach Prometheus: retries, sleeps and bounds of every request."""

    timeout: float
    retries: int
    backoff: float
    max_bytes: int
    sleep: Callable[[float], None]

    def get(self, client: httpx.Client, endpoint: str, params: Mapping[str, str]) -> Any:
        """The ``data`` of the answer, retrying transport errors and 5xx answers.

        Raises :class:`_Failed` when the last attempt failed in transport and
        :class:`PrometheusError` when the answer says the query failed.
        """
        attempts = self.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                status, reason, body = _attempt(
                    client, endpoint, params, self.timeout, self.max_bytes
                )
            except _Failed as failed:
                if not failed.retry or last:
                    if failed.retry and attempts > 1:
                        failed.problem += f" (after {attempts} attempts)"
                    raise
            else:
                if status < 500 or last:
                    try:
                        return _envelope_data(body, status, reason)
                    except PrometheusError as exc:
                        if status >= 500 and attempts > 1:
                            exc.problem += f" (after {attempts} attempts)"
                        raise
            self.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover


def _check(owner: str, timeout: float, retries: int, backoff: float, max_bytes: int) -> None:
    if not (isinstance(timeout, int | float) and 0 < timeout <= _MAX_TIMEOUT):
        raise ParameterError("timeout", timeout, f"seconds in (0, {_MAX_TIMEOUT:g}]", owner=owner)
    if (
        isinstance(retries, bool)
        or not isinstance(retries, int)
        or not 0 <= retries <= _MAX_RETRIES
    ):
        raise ParameterError("retries", retries, f"an integer in [0, {_MAX_RETRIES}]", owner=owner)
    if not (isinstance(backoff, int | float) and 0 <= backoff <= _MAX_BACKOFF):
        raise ParameterError("backoff", backoff, f"seconds in [0, {_MAX_BACKOFF:g}]", owner=owner)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1024:
        raise ParameterError("max_bytes", max_bytes, "an integer >= 1024", owner=owner)


def _base_url(owner: str, url: str) -> str:
    """``url`` without its trailing ``/``, refused unless http(s) with a host and a valid port."""
    expected = "Prometheus's base URL, e.g. 'http://127.0.0.1:9090'"
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = _redacted(url) if isinstance(url, str) else url
        raise ParameterError("url", shown, expected, owner=owner)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number or out of 0..65535, a bad [IPv6]
        host, port = urlsplit(url.replace("[", "").replace("]", "")).hostname, 0
    if not host:
        raise ParameterError("url", _redacted(url), f"{expected}, with a host", owner=owner)
    if port is not None and not 1 <= port <= 65535:
        raise ParameterError("url", _redacted(url), f"{expected}, a port in 1..65535", owner=owner)
    return url.rstrip("/")


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)@")


def _redacted(url: str) -> str:
    """``url`` as it may be shown: its password as ``***``.

    A user name with a password is kept (as Go's ``URL.Redacted`` does); a
    user part alone is hidden too, since it is often a token.

    >>> _redacted("http://admin:s3cret@prom:9090"), _redacted("https://t0ken@prom")
    ('http://admin:***@prom:9090', 'https://***@prom')
    """
    return _hidden(url, url)


def _hidden(text: str, url: str) -> str:
    """``text`` (a URL, an error of the HTTP client) with the credentials of ``url`` redacted."""
    match = _USERINFO.match(url)
    if match is None:
        return text
    user, colon, _ = match.group(2).partition(":")
    shown = f"{user}:***" if colon and user else "***"
    return text.replace(f"//{match.group(2)}@", f"//{shown}@")


def _sleeper(clock: _Sleeps | None) -> Callable[[float], None]:
    return time.sleep if clock is None else clock.sleep


# ---------------------------------------------------------------- sources ---


class PrometheusSource:
    """Metrics from Prometheus instant queries, one PromQL expression per metric.

    Parameters
    ----------
    url
        Prometheus's base URL (``http://127.0.0.1:9090``, or with the path
        prefix it is served under).
    queries
        Metric name -> PromQL expression, which must give one number: a
        scalar or a vector of one series (aggregate with ``sum``, ``avg``,
        ``max``...).
    timeout
        Seconds an attempt may wait for each network operation; also sent as
        the query's evaluation timeout.
    retries, backoff
        Attempts after the first on a transport error or HTTP 5xx, and the
        first sleep between attempts (doubled each time), in seconds.
    ignore_null_values
        KEDA's ``ignoreNullValues``: an empty result, NaN or an infinity
        reads as 0.0. KEDA's default is ``true`` (a scaler then keeps working
        when a metric is absent, e.g. no traffic yet); elastic's default is
        ``False`` because a 0 it did not measure reads as an idle system and
        invites a scale-in: a missing metric is reported missing and the
        loop holds (fail-static).
    utilization
        Names of ``queries`` that are utilizations: a negative value is then
        missing (a broken expression), not a number.
    clock
        Anything with ``sleep(seconds)``, used between attempts (the
        controller's clock; a fake one in tests). Default: :func:`time.sleep`.
    max_bytes
        Largest answer read; a larger one is a missing value.
    client
        An :class:`httpx.Client` to use (authentication, TLS, connection
        reuse); you close it. Default: a client per :meth:`read`.

    Notes
    -----
    The queries of a read are sent one after the other. When Prometheus
    cannot be connected to (after the retries), the remaining queries of
    that read are not sent, and are missing with that reason, so a read with
    Prometheus down takes about ``retries * backoff`` seconds, not that
    times the number of queries. A read lasts at most about
    ``len(queries) * (retries + 1) * 2 * timeout`` plus the sleeps.

    Examples
    --------
    >>> source = PrometheusSource(
    ...     "http://127.0.0.1:9090",
    ...     {"cpu": 'avg(rate(process_cpu_seconds_total{job="web"}[1m]))',
    ...      "rps": 'sum(rate(http_requests_total{job="web"}[1m]))'},
    ...     utilization=["cpu"],
    ... )
    >>> source
    PrometheusSource('http://127.0.0.1:9090', ['cpu', 'rps'], utilization=['cpu'])

    ``source.read(now)`` then gives a Reading: ``values`` for the metrics it
    got, ``missing`` with the reason for the others (a refused connection,
    ``"cpu: the query returned no series (empty vector): ..."``).
    """

    def __init__(
        self,
        url: str,
        queries: Mapping[str, str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        ignore_null_values: bool = False,
        utilization: Collection[str] = (),
        clock: _Sleeps | None = None,
        max_bytes: int = MAX_INSTANT_BYTES,
        client: httpx.Client | None = None,
    ) -> None:
        owner = type(self).__name__
        self.url = _base_url(owner, url)
        if not isinstance(queries, Mapping) or not queries:
            raise ParameterError(
                "queries", queries, "a mapping of metric name -> PromQL expression", owner=owner
            )
        for name, expr in queries.items():
            if not isinstance(name, str) or not name:
                raise ParameterError(
                    "queries", name, "metric names that are non-empty strings", owner=owner
                )
            if not isinstance(expr, str) or not expr.strip():
                raise ParameterError(f"queries[{name!r}]", expr, "a PromQL expression", owner=owner)
        if isinstance(utilization, str):
            raise ParameterError(
                "utilization", utilization, "a collection of metric names", owner=owner
            )
        unknown = sorted(set(utilization) - set(queries))
        if unknown:
            raise ParameterError(
                "utilization", unknown, f"names among the queries {sorted(queries)}", owner=owner
            )
        _check(owner, timeout, retries, backoff, max_bytes)
        self.queries = dict(queries)
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.ignore_null_values = bool(ignore_null_values)
        self.utilization = frozenset(utilization)
        self.clock = clock
        self.max_bytes = max_bytes
        self.client = client

    def __repr__(self) -> str:
        extra = f", utilization={sorted(self.utilization)}" if self.utilization else ""
        if self.ignore_null_values:
            extra += ", ignore_null_values=True"
        return f"{type(self).__name__}({_redacted(self.url)!r}, {list(self.queries)}{extra})"

    def read(self, now: float | None = None) -> Reading:
        """Query every metric at ``now``.

        Parameters
        ----------
        now
            The evaluation time, Unix seconds (wall time, as
            ``Observation.time`` in a controller). ``None``: Prometheus's now.

        Returns
        -------
        Reading
            ``values`` for the metrics that gave one usable number,
            ``missing`` with the reason for the others. Never raises for
            what Prometheus answers or fails to.
        """
        if now is not None and (
            isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now)
        ):
            raise ParameterError(
                "now", now, "Unix seconds, a finite number", owner=type(self).__name__
            )
        transport = _Transport(
            self.timeout, self.retries, self.backoff, self.max_bytes, _sleeper(self.clock)
        )
        if self.client is not None:
            return self._read(self.client, transport, now)
        with httpx.Client() as client:
            return self._read(client, transport, now)

    def _read(self, client: httpx.Client, transport: _Transport, now: float | None) -> Reading:
        endpoint = f"{self.url}/api/v1/query"
        values: dict[str, float] = {}
        missing: dict[str, str] = {}
        unreachable: str | None = None
        for name, expr in self.queries.items():
            if unreachable is not None:
                missing[name] = f"{name}: not queried, {unreachable} (query: {expr})"
                continue
            params = {"query": expr, "timeout": f"{self.timeout:g}"}
            if now is not None:
                params["time"] = f"{now:.3f}"
            try:
                value = _instant(transport.get(client, endpoint, params))
            except _Failed as failed:
                missing[name] = f"{name}: {failed.problem} (query: {expr})"
                if failed.unreachable:
                    unreachable = f"Prometheus was unreachable for {name!r}"
                continue
            except PrometheusError as exc:
                missing[name] = f"{name}: {exc.what()} (query: {expr})"
                continue
            problem = self._unusable(name, value)
            if problem is None:
                values[name] = 0.0 if value is None or not math.isfinite(value) else value
            else:
                missing[name] = f"{name}: {problem} (query: {expr})"
        return Reading(values, missing)

    def _unusable(self, name: str, value: float | None) -> str | None:
        """Why ``value`` cannot be used for ``name``, or ``None`` when it can."""
        if value is None or not math.isfinite(value):
            if self.ignore_null_values:
                return None
            if value is None:
                return (
                    "the query returned no series (empty vector): is the metric scraped, and "
                    "did it have a sample in the last 5 minutes (Prometheus's lookback)?"
                )
            if math.isnan(value):
                return "the query returned NaN (often 0/0 in the expression)"
            return f"the query returned {value:+}" + " (a division by zero?)"
        if value < 0 and name in self.utilization:
            return f"the query returned {value!r}, negative for a utilization"
        return None


# ------------------------------------------------------------------ range ---


def query_range(
    url: str,
    query: str,
    start: float,
    end: float,
    step: float,
    *,
    gaps: Literal["nan", "drop"] = "nan",
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    points_per_query: int = MAX_POINTS_PER_QUERY,
    max_points: int = MAX_RANGE_POINTS,
    max_bytes: int = MAX_RANGE_BYTES,
    clock: _Sleeps | None = None,
    client: httpx.Client | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One series of a PromQL expression over time, from ``/api/v1/query_range``.

    The range is cut into queries of at most ``points_per_query`` points
    (Prometheus refuses more than 11,000 per series) asked one after the
    other; each is retried as :class:`PrometheusSource` does.

    Parameters
    ----------
    url
        Prometheus's base URL.
    query
        A PromQL expression giving one series (aggregate it otherwise).
    start, end, step
        Unix seconds; the samples are at ``start + k * step`` up to ``end``.
        Prometheus counts in milliseconds: ``start`` and ``end`` are rounded
        to the millisecond and ``step`` must be a whole number of them.
    gaps
        Where Prometheus has no sample (no data in its lookback) or a sample
        that is NaN or infinite: ``"nan"`` keeps every step of the grid, with
        NaN there (the gaps stay visible); ``"drop"`` leaves those steps out.
    timeout, retries, backoff, clock, client
        As for :class:`PrometheusSource`.
    points_per_query
        Points asked per request, at most 11,000.
    max_points
        Most points the whole range may have (a bound on memory).
    max_bytes
        Largest answer read per request.

    Returns
    -------
    times, values
        float64 arrays of equal length, times increasing on the grid.

    Raises
    ------
    ParameterError
        A bad range, step or bound (too many points: a larger step or a
        shorter range).
    PrometheusError
        Prometheus cannot be reached or refuses, the query gives several
        series (or different ones over the range), or no sample at all;
        the message has the URL, the query and the field.

    Examples
    --------
    >>> query_range("http://127.0.0.1:9090", "up", 3600.0, 0.0, 15.0)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: query_range: end=0.0 is invalid; expected a time >= start=3600.0
    """
    owner = "query_range"
    base = _base_url(owner, url)
    if not isinstance(query, str) or not query.strip():
        raise ParameterError("query", query, "a PromQL expression", owner=owner)
    for name, value in (("start", start), ("end", end), ("step", step)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ParameterError(name, value, "a finite number of seconds", owner=owner)
    if end < start:
        raise ParameterError("end", end, f"a time >= start={start!r}", owner=owner)
    if step < _MIN_STEP or abs(step * 1000 - round(step * 1000)) > 1e-6:
        # Prometheus truncates a step to whole milliseconds: the grid would drift
        raise ParameterError("step", step, "a whole number of milliseconds >= 0.001 s", owner=owner)
    start, end = round(float(start), 3), round(float(end), 3)
    if gaps not in ("nan", "drop"):
        raise ParameterError("gaps", gaps, "'nan' or 'drop'", owner=owner)
    if (
        isinstance(points_per_query, bool)
        or not isinstance(points_per_query, int)
        or not 1 <= points_per_query <= MAX_POINTS_PER_QUERY
    ):
        raise ParameterError(
            "points_per_query",
            points_per_query,
            f"an integer in [1, {MAX_POINTS_PER_QUERY}]",
            owner=owner,
        )
    _check(owner, timeout, retries, backoff, max_bytes)
    points = math.floor((end - start) / step + 1e-9) + 1
    if points > max_points:
        raise ParameterError(
            "step",
            step,
            f"a step giving at most max_points={max_points} points from {start!r} to {end!r} "
            f"(it gives {points}): a larger step or a shorter range",
            owner=owner,
        )
    transport = _Transport(float(timeout), retries, float(backoff), max_bytes, _sleeper(clock))
    endpoint = f"{base}/api/v1/query_range"
    if client is not None:
        values = _fetch_range(
            client, transport, endpoint, query, start, step, points, points_per_query
        )
    else:
        with httpx.Client() as own:
            values = _fetch_range(
                own, transport, endpoint, query, start, step, points, points_per_query
            )
    times = start + step * np.arange(points, dtype=np.float64)
    if not np.isfinite(values).any():
        raise PrometheusError(
            f"no sample between {start!r} and {end!r}: is the metric scraped, and did it "
            "exist then?",
            url=_redacted(endpoint),
            query=query,
        )
    if gaps == "drop":
        keep = np.isfinite(values)
        return times[keep], values[keep]
    return times, values


def _fetch_range(
    client: httpx.Client,
    transport: _Transport,
    endpoint: str,
    query: str,
    start: float,
    step: float,
    points: int,
    per_query: int,
) -> np.ndarray:
    """The values on the grid ``start + k * step`` (NaN where there is none)."""
    values = np.full(points, np.nan)
    seen: str | None = None
    shown = _redacted(endpoint)
    for first in range(0, points, per_query):
        last = min(points, first + per_query) - 1
        params = {
            "query": query,
            "start": f"{start + first * step:.3f}",
            "end": f"{start + last * step:.3f}",
            "step": repr(float(step)),
            "timeout": f"{transport.timeout:g}",
        }
        try:
            labels, samples = _matrix(transport.get(client, endpoint, params))
        except _Failed as failed:
            raise PrometheusError(failed.problem, url=shown, query=query) from None
        except PrometheusError as exc:
            raise PrometheusError(exc.problem, url=shown, query=query, field=exc.field) from None
        if labels is None:
            continue
        if seen is not None and labels != seen:
            raise PrometheusError(
                f"the series changed over the range, from {seen} to {labels}: aggregate the "
                "query (e.g. sum(...)) so that it gives one series",
                url=shown,
                query=query,
                field="data.result[0].metric",
            )
        seen = labels
        for i, (t, v) in enumerate(samples):
            k = round((t - start) / step)
            if not first <= k <= last or abs(t - (start + k * step)) > min(step / 2, 0.001):
                raise PrometheusError(
                    f"a sample at {t!r}, not on the requested grid {start!r} + k * {step!r} "
                    f"for k in [{first}, {last}]",
                    url=shown,
                    query=query,
                    field=f"data.result[0].values[{i}]",
                )
            values[k] = v if math.isfinite(v) else np.nan
    return values
