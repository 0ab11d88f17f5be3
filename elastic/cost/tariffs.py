"""Tariffs: how the lifecycle of one billable unit is charged, following each provider's rule.

A tariff prices lifecycles given as ``starts`` and durations in ``seconds``
(numpy arrays), exactly. Most tariffs bill a whole number of units (seconds,
hours, 5-minute periods) at one rate: they are :class:`QuantityTariff`, and
the :class:`~elastic.cost.Ledger` sums their integer quantities with numpy
and multiplies by the rate once. :class:`Spot` prices each lifecycle against
a price series. :class:`LambdaRequests` prices requests, not lifecycles.

Sources: the AWS announcement of per-second EC2 billing (2017-10-02,
https://aws.amazon.com/about-aws/whats-new/2017/10/announcing-amazon-ec2-per-second-billing/),
the Lambda pricing page (https://aws.amazon.com/lambda/pricing/), Fargate
pricing as quoted by vantage.sh and cloudburn.io; ``docs/cost.md`` gives the rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from elastic.core.params import Params
from elastic.core.validate import check_int, check_number
from elastic.cost.money import (
    NOISE,
    ceil_units,
    ceil_units_array,
    exact_time,
    money,
    to_decimal,
)
from elastic.errors import ParameterError

__all__ = [
    "Fargate",
    "Hourly",
    "LambdaRequests",
    "PerSecond",
    "ProvisionedConcurrency",
    "QuantityTariff",
    "Spot",
    "Tariff",
    "check_lifecycles",
]

Price = Decimal | str | float
FloatArray = NDArray[np.float64]


# EC2 Spot, Linux: an instance the provider interrupts in its first hour is not charged
# (AWS EC2 User Guide, "Billing for interrupted Spot Instances").
FREE_INTERRUPTED_SECONDS = 3600


#: The longest span a bill counts, in seconds (about 31,700 years): beyond it whole seconds
#: no longer fit the integers and floats the tariffs count them in.
MAX_SECONDS = 1e12


def interrupted_free(seconds: FloatArray) -> NDArray[np.bool_]:
    """Which lifecycles the provider interrupted early enough to be free (the first hour)."""
    return np.asarray(seconds) < FREE_INTERRUPTED_SECONDS - NOISE


def check_lifecycles(starts: FloatArray, seconds: FloatArray, *, owner: str) -> None:
    """Raise a :class:`ParameterError` unless ``starts`` are times and ``seconds`` durations.

    Examples
    --------
    >>> check_lifecycles(np.array([0.0]), np.array([-1.0]), owner="PerSecond")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: PerSecond: seconds[0]=-1.0 is invalid; expected ...
    """
    begin, length = np.asarray(starts), np.asarray(seconds)
    if begin.shape != length.shape:
        raise ParameterError(
            "starts", begin.shape, f"one start per duration ({length.shape})", owner=owner
        )
    for name, values, expected in (
        ("starts", begin, f"a time within ±{MAX_SECONDS:g} s"),
        ("seconds", length, f"a number of seconds from 0 to {MAX_SECONDS:g}"),
    ):
        good = (np.abs(values) <= MAX_SECONDS) & (values >= 0 if name == "seconds" else True)
        if not np.all(good):
            index = int(np.argmin(good))
            raise ParameterError(f"{name}[{index}]", float(values[index]), expected, owner=owner)


class Tariff(Params, ABC):
    """How the lifecycle of one billable unit (instance, task, replica) is charged.

    A lifecycle ended by the provider (a Spot interruption) may be billed
    otherwise than one the user stopped: :meth:`interrupted_amounts`.
    """

    label: str

    @abstractmethod
    def amounts(self, starts: FloatArray, seconds: FloatArray) -> list[Fraction]:
        """The exact bill of each lifecycle, from ``starts[i]`` for ``seconds[i]``."""

    def interrupted_amounts(self, starts: FloatArray, seconds: FloatArray) -> list[Fraction]:
        """The exact bill of each lifecycle the provider interrupted after ``seconds[i]``.

        By default an interruption is billed as any stop.
        """
        return self.amounts(starts, seconds)

    def check_start(self, start: float) -> None:
        """Raise a :class:`ParameterError` if a lifecycle cannot start at ``start``."""

    def amount(self, starts: FloatArray, seconds: FloatArray) -> Fraction:
        """The exact bill of all the lifecycles together.

        Examples
        --------
        >>> float(PerSecond("0.096").amount(np.array([0.0, 0.0]), np.array([30.0, 3600.0])))
        0.0976
        >>> PerSecond("0.096").amount(np.array([0.0]), np.array([float("nan")]))
        Traceback (most recent call last):
        ...
        elastic.errors.ParameterError: PerSecond: seconds[0]=nan is invalid; expected ...
        """
        check_lifecycles(starts, seconds, owner=type(self).__name__)
        return sum(self.amounts(starts, seconds), Fraction(0))

    def charge(self, seconds: float, *, start: float = 0.0) -> Decimal:
        """The bill, in dollars, of one lifecycle.

        Examples
        --------
        >>> PerSecond("0.096").charge(30)
        Decimal('0.0016')
        """
        owner = type(self).__name__
        check_number(seconds, "seconds", owner=owner, ge=0)
        check_number(start, "start", owner=owner)
        return to_decimal(self.amount(np.array([start], float), np.array([seconds], float)))


class QuantityTariff(Tariff):
    """A tariff that bills a whole number of units per lifecycle at one rate."""

    @property
    @abstractmethod
    def rate(self) -> Fraction:
        """Dollars per billed unit, exact."""

    @abstractmethod
    def quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        """Billed units of each lifecycle lasting ``seconds[i]``."""

    def interrupted_quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        """Billed units of each lifecycle the provider interrupted after ``seconds[i]``."""
        return self.quantity(seconds)

    def amounts(self, starts: FloatArray, seconds: FloatArray) -> list[Fraction]:
        check_lifecycles(starts, seconds, owner=type(self).__name__)
        rate = self.rate
        return [rate * q for q in self.quantity(seconds).tolist()]

    def interrupted_amounts(self, starts: FloatArray, seconds: FloatArray) -> list[Fraction]:
        check_lifecycles(starts, seconds, owner=type(self).__name__)
        rate = self.rate
        return [rate * q for q in self.interrupted_quantity(seconds).tolist()]

    def amount(self, starts: FloatArray, seconds: FloatArray) -> Fraction:
        check_lifecycles(starts, seconds, owner=type(self).__name__)
        return self.rate * int(self.quantity(seconds).sum())


def _minimum(value: int, owner: str) -> int:
    return check_int(value, "minimum_seconds", owner=owner, ge=0)


class PerSecond(QuantityTariff):
    """EC2 Linux on-demand (and Spot at a fixed price): per second, ``minimum_seconds`` per start.

    A lifecycle is rounded up to the second and billed at least
    ``minimum_seconds`` (60 s since 2017-10-02). One the provider interrupts
    (only Spot instances are) in its first hour is not charged; after it,
    the seconds used are (EC2 Linux Spot).

    Examples
    --------
    An m5.large ($0.096/h) running 30 s is billed 60 s; 61.2 s is billed 62 s:

    >>> tariff = PerSecond("0.096")
    >>> tariff.quantity(np.array([30.0, 61.2])).tolist()
    [60, 62]
    >>> tariff.charge(30)
    Decimal('0.0016')
    """

    def __init__(
        self, price_per_hour: Price, *, minimum_seconds: int = 60, label: str = ""
    ) -> None:
        self.price_per_hour = money(price_per_hour, "price_per_hour", owner="PerSecond")
        self.minimum_seconds = _minimum(minimum_seconds, "PerSecond")
        self.label = label

    @property
    def rate(self) -> Fraction:
        return Fraction(self.price_per_hour) / 3600

    def quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        return np.maximum(ceil_units_array(seconds), self.minimum_seconds)

    def interrupted_quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        return np.where(interrupted_free(seconds), 0, self.quantity(seconds))


class Hourly(QuantityTariff):
    """Hourly billing: every started hour is billed whole, at least one per start.

    One the provider interrupts is billed its full hours, not the
    interrupted partial hour (EC2 Spot with RHEL or SUSE).

    Examples
    --------
    >>> Hourly("0.096").charge(3601)
    Decimal('0.192')
    """

    def __init__(self, price_per_hour: Price, *, label: str = "") -> None:
        self.price_per_hour = money(price_per_hour, "price_per_hour", owner="Hourly")
        self.label = label

    @property
    def rate(self) -> Fraction:
        return Fraction(self.price_per_hour)

    def quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        return np.maximum(ceil_units_array(seconds / 3600), 1)

    def interrupted_quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        return np.floor(seconds / 3600 + NOISE).astype(np.int64)


class Fargate(QuantityTariff):
    """Fargate: configured vCPU and GB, per second, 1-minute minimum.

    The lifecycle runs from the start of provisioning (image pull) until the
    task stops, and is rounded up to the second. What is billed is the
    configured size, not the usage.

    Examples
    --------
    0.25 vCPU / 0.5 GB for 45 s is billed 60 s of both (x86 prices of 2026):

    >>> Fargate(0.25, 0.5, "0.04048", "0.004445").charge(45)
    Decimal('0.000205708333333333')
    """

    def __init__(
        self,
        vcpu: float | str | Decimal,
        memory_gb: float | str | Decimal,
        price_vcpu_hour: Price,
        price_gb_hour: Price,
        *,
        minimum_seconds: int = 60,
        label: str = "",
    ) -> None:
        self.vcpu = money(vcpu, "vcpu", owner="Fargate")
        self.memory_gb = money(memory_gb, "memory_gb", owner="Fargate")
        self.price_vcpu_hour = money(price_vcpu_hour, "price_vcpu_hour", owner="Fargate")
        self.price_gb_hour = money(price_gb_hour, "price_gb_hour", owner="Fargate")
        self.minimum_seconds = _minimum(minimum_seconds, "Fargate")
        self.label = label

    @property
    def rate(self) -> Fraction:
        hourly = self.vcpu * self.price_vcpu_hour + self.memory_gb * self.price_gb_hour
        return Fraction(hourly) / 3600

    def quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        return np.maximum(ceil_units_array(seconds), self.minimum_seconds)


class ProvisionedConcurrency(QuantityTariff):
    """Lambda provisioned concurrency: billed while enabled, rounded up to 5 minutes.

    The lifecycle is the time the configuration is enabled. Invocations it
    serves are billed separately, at the lower provisioned duration rate
    (a :class:`LambdaRequests` with that rate).

    Examples
    --------
    10 environments of 512 MB enabled for 301 s are billed 600 s:

    >>> ProvisionedConcurrency(10, 512, "0.0000041667").charge(301)
    Decimal('0.01250010')
    """

    def __init__(
        self, concurrency: int, memory_mb: int, price_gb_second: Price, *, label: str = ""
    ) -> None:
        owner = "ProvisionedConcurrency"
        self.concurrency = check_int(concurrency, "concurrency", owner=owner, ge=1)
        self.memory_mb = check_int(memory_mb, "memory_mb", owner=owner, ge=1)
        self.price_gb_second = money(price_gb_second, "price_gb_second", owner=owner)
        self.label = label

    @property
    def rate(self) -> Fraction:
        gb = Fraction(self.memory_mb, 1024)
        return Fraction(self.price_gb_second) * gb * self.concurrency * 300

    def quantity(self, seconds: FloatArray) -> NDArray[np.int64]:
        return ceil_units_array(seconds / 300)


class Spot(Tariff):
    """Spot with a price that changes over time: per second, 60 s minimum per start.

    The billed seconds, ``max(minimum, ceil(seconds))`` from the start, are
    charged at the price in effect during each of them: ``prices_per_hour[i]``
    from ``times[i]`` until ``times[i + 1]``. Each lifecycle is priced in
    exact arithmetic, one by one: spot units bill slower than the others. A
    lifecycle the provider interrupts in its first hour is not charged
    (Linux).

    Examples
    --------
    >>> Spot([0, 60], ["0.036", "0.072"]).charge(90)
    Decimal('0.0012')
    """

    def __init__(
        self,
        times: Sequence[float],
        prices_per_hour: Sequence[Price],
        *,
        minimum_seconds: int = 60,
        label: str = "",
    ) -> None:
        if len(times) != len(prices_per_hour) or len(times) == 0:
            raise ParameterError(
                "times", times, "as many change times as prices, at least one", owner="Spot"
            )
        for time in times:
            check_number(time, "times", owner="Spot")
        if list(times) != sorted(times):
            raise ParameterError("times", times, "increasing times", owner="Spot")
        self.times = tuple(float(t) for t in times)
        self.prices_per_hour = tuple(
            money(p, f"prices_per_hour[{i}]", owner="Spot") for i, p in enumerate(prices_per_hour)
        )
        self.minimum_seconds = _minimum(minimum_seconds, "Spot")
        self.label = label
        self._edges = [exact_time(t) for t in self.times]
        self._prices = [Fraction(p) for p in self.prices_per_hour]

    def amounts(self, starts: FloatArray, seconds: FloatArray) -> list[Fraction]:
        check_lifecycles(starts, seconds, owner="Spot")
        billed = np.maximum(ceil_units_array(seconds), self.minimum_seconds).tolist()
        return [self._one(float(s), b) for s, b in zip(starts.tolist(), billed, strict=True)]

    def interrupted_amounts(self, starts: FloatArray, seconds: FloatArray) -> list[Fraction]:
        amounts = self.amounts(starts, seconds)
        free = interrupted_free(seconds).tolist()
        return [Fraction(0) if f else a for a, f in zip(amounts, free, strict=True)]

    def check_start(self, start: float) -> None:
        if start < self.times[0]:
            raise ParameterError(
                "start", start, f"a time >= the first price time ({self.times[0]})", owner="Spot"
            )

    def _one(self, start: float, billed: int) -> Fraction:
        self.check_start(start)
        begin = exact_time(start)
        end = begin + billed
        total = Fraction(0)
        last = len(self._edges) - 1
        for i, price in enumerate(self._prices):
            lo = max(begin, self._edges[i])
            hi = end if i == last else min(end, self._edges[i + 1])
            if hi > lo:
                total += price * (hi - lo)
        return total / 3600


class LambdaRequests(Params):
    """Lambda on-demand requests: a price per request plus GB-seconds of duration.

    Duration, with the init phase (billed since 2025-08-01), is rounded up to
    the millisecond; memory in MB is divided by 1024 to get GB. For requests
    served by provisioned concurrency, give the provisioned duration rate as
    ``price_gb_second``.

    Examples
    --------
    1,024 MB for 120.2 ms is 121 ms of 1 GB plus one request:

    >>> fn = LambdaRequests(1024, "0.0000166667", "0.0000002")
    >>> fn.billed_ms(np.array([0.1202])).tolist()
    [121]
    >>> fn.charge(0.1202)
    Decimal('0.0000022166707')
    """

    def __init__(
        self, memory_mb: int, price_gb_second: Price, price_per_request: Price, *, label: str = ""
    ) -> None:
        owner = "LambdaRequests"
        self.memory_mb = check_int(memory_mb, "memory_mb", owner=owner, ge=1)
        self.price_gb_second = money(price_gb_second, "price_gb_second", owner=owner)
        self.price_per_request = money(price_per_request, "price_per_request", owner=owner)
        self.label = label

    def billed_ms(
        self, seconds: FloatArray, init_seconds: FloatArray | None = None
    ) -> NDArray[np.int64]:
        """Billed milliseconds of each request (duration plus init, rounded up)."""
        total = seconds if init_seconds is None else seconds + init_seconds
        return ceil_units_array(total * 1000)

    def billed_ms_of(self, seconds: float, init_seconds: float = 0.0) -> int:
        """Billed milliseconds of one request, as :meth:`billed_ms` computes them."""
        owner = "LambdaRequests"
        check_number(seconds, "seconds", owner=owner, ge=0)
        check_number(init_seconds, "init_seconds", owner=owner, ge=0)
        return ceil_units((seconds + init_seconds) * 1000, "seconds", owner=owner)

    def amount(self, requests: int, billed_ms: int) -> Fraction:
        """The exact bill of ``requests`` requests lasting ``billed_ms`` milliseconds in all."""
        gb_ms = Fraction(self.memory_mb, 1024) * billed_ms
        return Fraction(self.price_per_request) * requests + (
            Fraction(self.price_gb_second) * gb_ms / 1000
        )

    def charge(self, seconds: float, *, init_seconds: float = 0.0) -> Decimal:
        """The bill, in dollars, of one request."""
        return to_decimal(self.amount(1, self.billed_ms_of(seconds, init_seconds)))
