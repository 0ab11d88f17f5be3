"""Queueing formulas: Erlang B and C, and the M/M/c waiting time.

Plain functions of the offered load, used to check the simulator against
theory and to size capacity for a latency objective. ``servers`` is c,
``arrival_rate`` is lambda and ``service_rate`` mu (per server); ``A = lambda/mu`` is the
offered load in Erlangs and ``rho = A/c`` the utilization.
These are the textbook M/M/c results (e.g. Kleinrock, *Queueing Systems*,
vol. 1, 1975), with Erlang B by its recursion ``B(k) = A B(k-1) / (k + A B(k-1))``;
``tests/sim/erlang_reference.json`` holds reference values computed two ways.
"""

from __future__ import annotations

import math

from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError

__all__ = ["erlang_b", "erlang_c", "mmc_mean_wait", "mmc_wait", "mmc_wait_tail"]


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of the loss system M/M/c/c (Erlang B), by recursion.

    Examples
    --------
    >>> round(erlang_b(2, 1.0), 6)
    0.2
    """
    c = check_int(servers, "servers", owner="erlang_b", ge=1)
    load = check_number(offered_load, "offered_load", owner="erlang_b", ge=0)
    return _erlang_b(c, load)


def _erlang_b(c: int, load: float) -> float:
    b = 1.0
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return b


def _erlang_c(c: int, load: float) -> float:
    b = _erlang_b(c, load)
    return b / (1 - load / c * (1 - b))


def _stable(servers: int, offered_load: float, owner: str) -> tuple[int, float, float]:
    c = check_int(servers, "servers", owner=owner, ge=1)
    load = check_number(offered_load, "offered_load", owner=owner, ge=0)
    if not load < c:
        raise ParameterError("offered_load", offered_load, f"less than servers ({c})", owner=owner)
    return c, load, load / c


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c (Erlang C).

    Examples
    --------
    >>> erlang_c(1, 0.8)  # one server: the utilization
    0.8
    >>> round(erlang_c(10, 8.0), 5)
    0.40918
    """
    c, load, _ = _stable(servers, offered_load, "erlang_c")
    return _erlang_c(c, load)


def mmc_wait(servers: int, offered_load: float, mean_service: float) -> tuple[float, float]:
    """Mean time in the queue of M/M/c, ``C s / (c - A)``, and the chance to wait ``C``.

    Both are 0 when nobody comes or when ``A >= c`` (overloaded: the queue
    grows, and a fluid model counts that wait as backlog instead).

    Examples
    --------
    >>> mmc_wait(1, 0.8, 1.0)
    (4.000000000000001, 0.8)
    >>> mmc_wait(2, 2.5, 1.0)
    (0.0, 0.0)
    """
    c, load = servers, offered_load
    if type(c) is not int or c < 0 or type(load) is not float or not -math.inf < load < math.inf:
        c = check_int(servers, "servers", owner="mmc_wait", ge=0)
        load = check_number(offered_load, "offered_load", owner="mmc_wait")
    if c == 0 or load <= 0 or load >= c:
        return 0.0, 0.0
    chance = _erlang_c(c, load)
    return chance * mean_service / (c - load), chance


def mmc_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in the queue of M/M/c: ``C / (c mu - lambda)``.

    Examples
    --------
    >>> mmc_mean_wait(1, 0.8, 1.0)
    4.000000000000001
    """
    mu = check_number(service_rate, "service_rate", owner="mmc_mean_wait", gt=0)
    c, load, _ = _stable(servers, arrival_rate / mu, "mmc_mean_wait")
    return mmc_wait(c, load, 1 / mu)[0]


def mmc_wait_tail(servers: int, arrival_rate: float, service_rate: float, t: float) -> float:
    """``P(W > t)`` for the queueing time of M/M/c under FCFS: ``C exp(-(c mu - lambda) t)``.

    Examples
    --------
    >>> round(mmc_wait_tail(2, 1.6, 1.0, 1.0), 6)
    0.476672
    """
    mu = check_number(service_rate, "service_rate", owner="mmc_wait_tail", gt=0)
    c, load, _ = _stable(servers, arrival_rate / mu, "mmc_wait_tail")
    check_number(t, "t", owner="mmc_wait_tail", ge=0)
    return erlang_c(c, load) * math.exp(-(c * mu - arrival_rate) * t)
