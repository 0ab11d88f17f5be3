"""The price catalog: instance types, Fargate and Lambda prices, each with its date and source.

The catalog is data (``prices.yaml`` in this package). It is read through
pydantic models that reject unknown fields, and becomes plain frozen
dataclasses from which tariffs are built::

    catalog = default_catalog()
    catalog.on_demand("m5.large")          # PerSecond at $0.096/h

A user catalog can replace the shipped one or, with ``base=``, override and
add entries to it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from elastic.cost.money import money
from elastic.cost.tariffs import (
    Fargate,
    Hourly,
    LambdaRequests,
    PerSecond,
    Price,
    ProvisionedConcurrency,
)
from elastic.errors import ManifestError, ParameterError
from elastic.yamlfile import load_yaml, pydantic_errors

__all__ = [
    "Catalog",
    "FargatePrices",
    "InstanceType",
    "LambdaPrices",
    "default_catalog",
    "load_catalog",
]


@dataclass(frozen=True, slots=True)
class InstanceType:
    """A virtual machine type and its on-demand hourly price."""

    name: str
    vcpu: int
    memory_gib: Decimal
    price_per_hour: Decimal
    date: datetime.date
    source: str


@dataclass(frozen=True, slots=True)
class FargatePrices:
    """Fargate prices for one CPU architecture, per vCPU-hour and per GB-hour."""

    arch: str
    vcpu_hour: Decimal
    gb_hour: Decimal
    date: datetime.date
    source: str


@dataclass(frozen=True, slots=True)
class LambdaPrices:
    """Lambda prices for one CPU architecture (provisioned rates may be unknown)."""

    arch: str
    gb_second: Decimal
    request: Decimal
    provisioned_gb_second: Decimal | None
    provisioned_duration_gb_second: Decimal | None
    date: datetime.date
    source: str


def _unknown(what: str, value: str, known: Any) -> ParameterError:
    return ParameterError(what, value, "one of " + ", ".join(map(repr, known)), owner="Catalog")


@dataclass(frozen=True)
class Catalog:
    """Prices of one region, by instance type and by architecture.

    Examples
    --------
    >>> catalog = default_catalog()
    >>> catalog.instance("m5.large").price_per_hour
    Decimal('0.096')
    >>> catalog.on_demand("m5.large").charge(30)
    Decimal('0.0016')
    >>> catalog.with_price("m5.large", "0.1", date=datetime.date(2027, 1, 1)).on_demand(
    ...     "m5.large").price_per_hour
    Decimal('0.1')
    """

    region: str
    currency: str
    instances: dict[str, InstanceType] = field(default_factory=dict)
    fargate: dict[str, FargatePrices] = field(default_factory=dict)
    lambda_: dict[str, LambdaPrices] = field(default_factory=dict)

    def instance(self, name: str) -> InstanceType:
        """The instance type called ``name``."""
        if name not in self.instances:
            raise _unknown("instance_type", name, self.instances)
        return self.instances[name]

    def on_demand(self, name: str, *, minimum_seconds: int = 60) -> PerSecond:
        """Per-second billing with a minimum (EC2 Linux) at the type's hourly price."""
        price = self.instance(name).price_per_hour
        return PerSecond(price, minimum_seconds=minimum_seconds, label=name)

    def hourly(self, name: str) -> Hourly:
        """Hourly billing (started hours billed whole) at the type's hourly price."""
        return Hourly(self.instance(name).price_per_hour, label=name)

    def fargate_task(
        self, vcpu: float | str | Decimal, memory_gb: float | str | Decimal, *, arch: str = "x86"
    ) -> Fargate:
        """A Fargate task of the given configured size."""
        if arch not in self.fargate:
            raise _unknown("arch", arch, self.fargate)
        prices = self.fargate[arch]
        label = f"fargate-{arch} {vcpu} vCPU {memory_gb} GB"
        return Fargate(vcpu, memory_gb, prices.vcpu_hour, prices.gb_hour, label=label)

    def lambda_function(
        self, memory_mb: int, *, arch: str = "x86", provisioned: bool = False
    ) -> LambdaRequests:
        """Requests to a Lambda function; ``provisioned`` uses the provisioned duration rate."""
        prices = self._lambda(arch)
        rate = prices.gb_second
        if provisioned:
            rate = self._provisioned(prices, "provisioned_duration_gb_second")
        label = f"lambda-{arch} {memory_mb} MB" + (" provisioned" if provisioned else "")
        return LambdaRequests(memory_mb, rate, prices.request, label=label)

    def provisioned_concurrency(
        self, concurrency: int, memory_mb: int, *, arch: str = "x86"
    ) -> ProvisionedConcurrency:
        """Provisioned concurrency of a Lambda function, billed while enabled."""
        rate = self._provisioned(self._lambda(arch), "provisioned_gb_second")
        label = f"lambda-{arch} {memory_mb} MB x{concurrency} provisioned concurrency"
        return ProvisionedConcurrency(concurrency, memory_mb, rate, label=label)

    def with_price(
        self, name: str, price_per_hour: Price, *, date: datetime.date, source: str = "user"
    ) -> Catalog:
        """A copy of the catalog where instance type ``name`` costs ``price_per_hour``."""
        price = money(price_per_hour, "price_per_hour", owner="Catalog")
        updated = replace(self.instance(name), price_per_hour=price, date=date, source=source)
        return replace(self, instances={**self.instances, name: updated})

    def _lambda(self, arch: str) -> LambdaPrices:
        if arch not in self.lambda_:
            raise _unknown("arch", arch, self.lambda_)
        return self.lambda_[arch]

    def _provisioned(self, prices: LambdaPrices, name: str) -> Decimal:
        rate: Decimal | None = getattr(prices, name)
        if rate is None:
            raise ParameterError(
                "arch",
                prices.arch,
                f"an architecture whose {name} is in the catalog",
                owner="Catalog",
            )
        return rate


# The file format, validated at the boundary and turned into the dataclasses above.

_Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: datetime.date
    source: str = Field(min_length=1)


class _Instance(_Entry):
    vcpu: int = Field(ge=1)
    memory_gib: _Money
    price_per_hour: _Money


class _Fargate(_Entry):
    vcpu_hour: _Money
    gb_hour: _Money


class _Lambda(_Entry):
    gb_second: _Money
    request: _Money
    provisioned_gb_second: _Money | None = None
    provisioned_duration_gb_second: _Money | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str | None = None
    currency: str | None = None
    instances: dict[str, _Instance] = {}
    fargate: dict[str, _Fargate] = {}
    lambda_: dict[str, _Lambda] = Field(default={}, alias="lambda")


def load_catalog(path: str | Path | None = None, *, base: Catalog | None = None) -> Catalog:
    """Read a price catalog from a YAML file (the shipped one when ``path`` is None).

    With ``base``, the file's entries override or add to those of ``base``,
    and ``region`` and ``currency`` may be left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> mine = pathlib.Path(tempfile.mkdtemp()) / "mine.yaml"
    >>> _ = mine.write_text('''
    ... instances:
    ...   m5.large: {vcpu: 2, memory_gib: 8, price_per_hour: "0.0864",
    ...              date: 2026-11-01, source: "our enterprise discount"}
    ... ''')
    >>> load_catalog(mine, base=default_catalog()).instance("m5.large").price_per_hour
    Decimal('0.0864')
    """
    if path is None:
        text = resources.files(__package__).joinpath("prices.yaml").read_text(encoding="utf-8")
        name, raw = "elastic/cost/prices.yaml", load_yaml(text, name="elastic/cost/prices.yaml")
    else:
        name, raw = str(path), load_yaml(Path(path))
    if not isinstance(raw, dict):
        raise ManifestError(f"{name}: expected a mapping with instances, fargate and lambda")
    try:
        parsed = _File.model_validate(raw)
    except pydantic.ValidationError as error:
        raise pydantic_errors(name, error.errors()) from None
    region = parsed.region or (base.region if base else None)
    currency = parsed.currency or (base.currency if base else None)
    if region is None or currency is None:
        missing = "region" if region is None else "currency"
        raise ManifestError(f"{name}: {missing} is missing; expected it, or a base catalog")
    instances = {
        key: InstanceType(key, e.vcpu, e.memory_gib, e.price_per_hour, e.date, e.source)
        for key, e in parsed.instances.items()
    }
    fargate = {
        key: FargatePrices(key, e.vcpu_hour, e.gb_hour, e.date, e.source)
        for key, e in parsed.fargate.items()
    }
    lambda_ = {
        key: LambdaPrices(
            key,
            e.gb_second,
            e.request,
            e.provisioned_gb_second,
            e.provisioned_duration_gb_second,
            e.date,
            e.source,
        )
        for key, e in parsed.lambda_.items()
    }
    if base is not None:
        instances = {**base.instances, **instances}
        fargate = {**base.fargate, **fargate}
        lambda_ = {**base.lambda_, **lambda_}
    return Catalog(region, currency, instances, fargate, lambda_)


@cache
def default_catalog() -> Catalog:
    """The catalog shipped with elastic (us-east-1, USD), read once.

    Examples
    --------
    >>> sorted(default_catalog().instances)
    ['c5.large', 'c5.xlarge', 'm5.2xlarge', 'm5.large', 'm5.xlarge', 'r5.large', 't3.medium']
    """
    return load_catalog()
