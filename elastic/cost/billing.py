"""Billing models: pure functions from usage to money, following the providers' rules.

Money is :class:`decimal.Decimal` dollars, exact: prices are given as strings
or Decimals (a float price is converted through its shortest ``repr``), and
nothing is summed in floating point. Durations come in as float seconds (or
milliseconds) and are rounded up to the provider's granularity first; a
duration within a nanosecond of a whole unit counts as that unit, so float
noise such as ``60.00000000001`` does not bill an extra second.

Sources: ../shared/reference/SEMANTICS.md §2.3-2.6 (AWS announcements of
per-second billing, 2017-10-02; the Lambda pricing page; Fargate pricing as
quoted by vantage.sh and cloudburn.io).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = [
    "fargate",
    "hourly",
    "lambda_request",
    "money",
    "per_second",
    "provisioned_concurrency",
    "spot",
]

_NOISE = 1e-9
SECONDS_PER_HOUR = Decimal(3600)


def money(value: Decimal | str | int | float, name: str = "price") -> Decimal:
    """An exact, non-negative amount of dollars.

    Examples
    --------
    >>> money("0.096"), money(0.096)
    (Decimal('0.096'), Decimal('0.096'))
    """
    if isinstance(value, bool):
        raise ParameterError(name, value, "a price such as '0.096'", owner="billing")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        raise ParameterError(name, value, "a price such as '0.096'", owner="billing") from None
    if not amount.is_finite() or amount < 0:
        raise ParameterError(name, value, "a finite price >= 0", owner="billing")
    return amount


def _ceil(units: float, name: str) -> int:
    check_number(units, name, owner="billing", ge=0)
    return math.ceil(units - _NOISE) if units > _NOISE else 0


def _billed_seconds(seconds: float, minimum_seconds: int) -> int:
    """Seconds rounded up, at least the minimum charge of a start."""
    return max(minimum_seconds, _ceil(seconds, "seconds"))


def _exact(seconds: float) -> Decimal:
    """A float time as the Decimal of its shortest repr, so sums of times stay exact."""
    return Decimal(repr(float(seconds)))


def per_second(
    seconds: float, price_per_hour: Decimal | str | float, *, minimum_seconds: int = 60
) -> Decimal:
    """EC2 Linux on-demand and Spot at a fixed price: per second, ``minimum_seconds`` per start.

    The run is rounded up to the second and billed at least ``minimum_seconds``.

    Examples
    --------
    An m5.large ($0.096/h) running 30 s is billed 60 s:

    >>> per_second(30, "0.096")
    Decimal('0.0016')
    >>> per_second(3600.2, "0.096")
    Decimal('0.09602666666666666666666666667')
    """
    billed = _billed_seconds(seconds, minimum_seconds)
    return money(price_per_hour) * billed / SECONDS_PER_HOUR


def hourly(seconds: float, price_per_hour: Decimal | str | float) -> Decimal:
    """Hourly billing: every started hour is billed whole (at least one per start).

    Examples
    --------
    >>> hourly(3601, "0.096")
    Decimal('0.192')
    """
    hours = max(1, _ceil(seconds / 3600, "seconds"))
    return money(price_per_hour) * hours


def fargate(
    seconds: float,
    vcpu: float,
    memory_gb: float,
    price_vcpu_hour: Decimal | str | float,
    price_gb_hour: Decimal | str | float,
    *,
    minimum_seconds: int = 60,
) -> Decimal:
    """Fargate: configured vCPU and GB per second, 1-minute minimum.

    ``seconds`` runs from the start of provisioning (image pull) until the
    task stops, rounded up to the second.

    Examples
    --------
    0.25 vCPU / 0.5 GB for 45 s is billed 60 s of both (x86 prices of 2026):

    >>> fargate(45, 0.25, 0.5, "0.04048", "0.004445")
    Decimal('0.0002057083333333333333333333333')
    """
    billed = _billed_seconds(seconds, minimum_seconds)
    rate = money(vcpu, "vcpu") * money(price_vcpu_hour) + money(memory_gb, "memory_gb") * money(
        price_gb_hour
    )
    return rate * billed / SECONDS_PER_HOUR


def lambda_request(
    duration_ms: float,
    memory_mb: int,
    price_gb_second: Decimal | str | float,
    price_per_request: Decimal | str | float,
    *,
    init_ms: float = 0.0,
) -> Decimal:
    """One Lambda invocation: the request price plus GB-seconds of duration.

    Duration (with the init phase, billed since 2025-08-01) is rounded up to
    the millisecond; memory in MB is divided by 1024 to get GB.

    Examples
    --------
    1,024 MB for 120.2 ms is 121 ms of 1 GB plus one request:

    >>> lambda_request(120.2, 1024, "0.0000166667", "0.0000002")
    Decimal('0.0000022166707')
    """
    billed_ms = _ceil(duration_ms + init_ms, "duration_ms")
    gb = Decimal(memory_mb) / 1024
    return money(price_per_request) + money(price_gb_second) * gb * billed_ms / 1000


def provisioned_concurrency(
    enabled_seconds: float,
    concurrency: int,
    memory_mb: int,
    price_gb_second: Decimal | str | float,
) -> Decimal:
    """Lambda provisioned concurrency while enabled, rounded up to 5 minutes.

    Invocations served by it are billed with :func:`lambda_request` at the
    lower provisioned duration rate.

    Examples
    --------
    10 environments of 512 MB enabled for 301 s are billed 600 s:

    >>> provisioned_concurrency(301, 10, 512, "0.0000041667")
    Decimal('0.01250010')
    """
    periods = _ceil(enabled_seconds / 300, "enabled_seconds")
    gb = Decimal(memory_mb) / 1024
    return money(price_gb_second) * gb * concurrency * periods * 300


def spot(
    start: float,
    seconds: float,
    times: Sequence[float],
    prices_per_hour: Sequence[Decimal | str | float],
    *,
    minimum_seconds: int = 60,
) -> Decimal:
    """Spot with a price that changes over time: per second, 60 s minimum per start.

    The billed seconds (``max(minimum, ceil(seconds))`` from ``start``) are
    charged at the price in effect during each of them: ``prices_per_hour[i]``
    from ``times[i]`` until ``times[i + 1]``.

    Examples
    --------
    >>> spot(0, 90, [0, 60], ["0.036", "0.072"])
    Decimal('0.0012')
    """
    if len(times) != len(prices_per_hour) or not times:
        raise ParameterError(
            "times", times, "as many change times as prices, at least one", owner="spot"
        )
    if list(times) != sorted(times) or times[0] > start:
        raise ParameterError(
            "times", times, f"increasing times, the first <= start ({start})", owner="spot"
        )
    billed = _billed_seconds(seconds, minimum_seconds)
    begin = _exact(start)
    end = begin + billed
    total = Decimal(0)
    for i, price in enumerate(prices_per_hour):
        lo = max(begin, _exact(times[i]))
        hi = end if i + 1 == len(times) else min(end, _exact(times[i + 1]))
        if hi > lo:
            total += money(price) * (hi - lo)
    return total / SECONDS_PER_HOUR
