"""Durations as the upstream tools write them: Karpenter's (``30s``, ``720h``, ``Never``)
and Go's ``time.ParseDuration`` syntax that the Cluster Autoscaler's flags take (``10s``,
``1m30s``, ``1.5h``, ``300ms``).
"""

from __future__ import annotations

import re

__all__ = ["budget_duration", "go_duration", "karpenter_duration"]

# the CRD's patterns (kubernetes-sigs/karpenter pkg/apis/v1/nodepool.go)
_KARPENTER = re.compile(r"^(([0-9]+(s|m|h))+|Never)$")
_BUDGET = re.compile(r"^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$")
# Go's time.ParseDuration: a sequence of decimal numbers, each with a unit
_GO_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PARTS = re.compile(r"([0-9]+)(s|m|h)")
_SECONDS = {"s": 1, "m": 60, "h": 3600}


def karpenter_duration(text: object) -> float | None:
    """Seconds of a Karpenter duration (``"30s"``, ``"1h30m"``), ``None`` for ``"Never"``.

    Examples
    --------
    >>> karpenter_duration("720h"), karpenter_duration("1m30s"), karpenter_duration("Never")
    (2592000.0, 90.0, None)
    >>> karpenter_duration("10")
    Traceback (most recent call last):
    ...
    ValueError: expected a duration such as 30s, 15m, 720h or 1h30m, or Never
    """
    if not isinstance(text, str) or not _KARPENTER.match(text):
        raise ValueError("expected a duration such as 30s, 15m, 720h or 1h30m, or Never")
    if text == "Never":
        return None
    return float(sum(int(n) * _SECONDS[u] for n, u in _PARTS.findall(text)))


def budget_duration(text: object) -> float:
    """Seconds of a disruption budget's ``duration``: hours and minutes only (``8h``,
    ``1h30m``), as cron schedules have no seconds.

    Examples
    --------
    >>> budget_duration("8h"), budget_duration("1h30m")
    (28800.0, 5400.0)
    """
    if not isinstance(text, str) or not _BUDGET.match(text):
        raise ValueError("expected hours and minutes, such as 8h, 30m or 1h30m")
    return float(sum(int(n) * _SECONDS[u] for n, u in _PARTS.findall(text)))


def go_duration(text: object) -> float:
    """Seconds of a Go duration (``time.ParseDuration``): ``"10s"``, ``"1m30s"``, ``"1.5h"``,
    ``"300ms"``, or ``"0"``; negative durations are refused (no flag takes one).

    Examples
    --------
    >>> go_duration("10m"), go_duration("1h30m"), go_duration("1.5s"), go_duration("0")
    (600.0, 5400.0, 1.5, 0.0)
    >>> go_duration(10)
    Traceback (most recent call last):
    ...
    ValueError: expected a Go duration such as 10s, 10m, 1h30m or 300ms (a number needs a unit)
    """
    expected = "expected a Go duration such as 10s, 10m, 1h30m or 300ms"
    if isinstance(text, bool | int | float):
        if text == 0 and not isinstance(text, bool):
            return 0.0
        raise ValueError(expected + " (a number needs a unit)")
    if not isinstance(text, str):
        raise ValueError(expected)
    if text == "0":
        return 0.0
    total, at = 0.0, 0
    for match in _GO_PART.finditer(text):
        number = match.group(1)
        if match.start() != at or number in ("", "."):
            raise ValueError(expected)
        total += float(number) * _GO_UNITS[match.group(2)]
        at = match.end()
    if at != len(text) or not text:
        raise ValueError(expected)
    return total
