"""Billing models as pure functions: one lifecycle or one request in, dollars out.

Each function is the one-shot form of a tariff in :mod:`elastic.cost.tariffs`
(which the :class:`~elastic.cost.Ledger` uses for whole runs) and follows the
same provider rule. Money is exact :class:`decimal.Decimal` dollars: prices
are given as strings or Decimals (a float price is converted through its
shortest ``repr``), nothing is summed in floating point, and a duration
within a nanosecond of a whole unit counts as that unit.

Sources: the AWS announcement of per-second EC2 billing (2017-10-02,
https://aws.amazon.com/about-aws/whats-new/2017/10/announcing-amazon-ec2-per-second-billing/),
the Lambda pricing page (https://aws.amazon.com/lambda/pricing/), Fargate
pricing as quoted by vantage.sh and cloudburn.io; ``docs/cost.md`` gives the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from elastic.core.validate import check_number
from elastic.cost.money import ceil_units, to_decimal
from elastic.cost.tariffs import (
    Fargate,
    Hourly,
    LambdaRequests,
    PerSecond,
    Price,
    ProvisionedConcurrency,
    Spot,
)

__all__ = [
    "fargate",
    "hourly",
    "lambda_request",
    "per_second",
    "provisioned_concurrency",
    "spot",
]


def per_second(seconds: float, price_per_hour: Price, *, minimum_seconds: int = 60) -> Decimal:
    """EC2 Linux on-demand and Spot at a fixed price: per second, ``minimum_seconds`` per start.

    The run is rounded up to the second and billed at least ``minimum_seconds``.

    Examples
    --------
    An m5.large ($0.096/h) running 30 s is billed 60 s:

    >>> per_second(30, "0.096")
    Decimal('0.0016')
    >>> per_second(3600.2, "0.096")
    Decimal('0.096026666666666667')
    """
    return PerSecond(price_per_hour, minimum_seconds=minimum_seconds).charge(seconds)


def hourly(seconds: float, price_per_hour: Price) -> Decimal:
    """Hourly billing: every started hour is billed whole (at least one per start).

    Examples
    --------
    >>> hourly(3601, "0.096")
    Decimal('0.192')
    """
    return Hourly(price_per_hour).charge(seconds)


def fargate(
    seconds: float,
    vcpu: float,
    memory_gb: float,
    price_vcpu_hour: Price,
    price_gb_hour: Price,
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
    Decimal('0.000205708333333333')
    """
    tariff = Fargate(
        vcpu, memory_gb, price_vcpu_hour, price_gb_hour, minimum_seconds=minimum_seconds
    )
    return tariff.charge(seconds)


def lambda_request(
    duration_ms: float,
    memory_mb: int,
    price_gb_second: Price,
    price_per_request: Price,
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
    check_number(duration_ms, "duration_ms", owner="billing", ge=0)
    check_number(init_ms, "init_ms", owner="billing", ge=0)
    billed_ms = ceil_units(duration_ms + init_ms, "duration_ms")
    return to_decimal(
        LambdaRequests(memory_mb, price_gb_second, price_per_request).amount(1, billed_ms)
    )


def provisioned_concurrency(
    enabled_seconds: float,
    concurrency: int,
    memory_mb: int,
    price_gb_second: Price,
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
    return ProvisionedConcurrency(concurrency, memory_mb, price_gb_second).charge(enabled_seconds)


def spot(
    start: float,
    seconds: float,
    times: Sequence[float],
    prices_per_hour: Sequence[Price],
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
    tariff = Spot(times, prices_per_hour, minimum_seconds=minimum_seconds)
    return tariff.charge(seconds, start=start)
