"""The price catalog: instance types, Fargate and Lambda prices, each with its date and source.

The catalog is data (``prices.yaml`` in this package). It is read through
pydantic models that reject unknown fields, and becomes plain frozen
dataclasses from which tariffs are built::

    catalog = default_catalog()
    catalog.on_demand("m5.large")          # PerSecond at $0.096/h
    catalog.spot("m5.large")               # Spot at the catalog's spot price

An instance type also carries what a node simulation needs: its maximum
number of pods (the EKS default with the VPC CNI), its CPU architecture
(``kubernetes.io/arch``), family, size, category and generation. Those the
file leaves out are derived from the name (``m7g.large``: family ``m7g``,
size ``large``, generation 7, Graviton so ``arm64``, general purpose) and
``max_pods`` from the ENI limits, as :class:`InstanceType` says.

A user catalog can replace the shipped one or, with ``base=``, override and
add entries to it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from elastic.core.validate import check_choice, check_int
from elastic.cost.money import money
from elastic.cost.tariffs import (
    Fargate,
    Hourly,
    LambdaRequests,
    PerSecond,
    Price,
    ProvisionedConcurrency,
    Spot,
)
from elastic.errors import ManifestError, ParameterError
from elastic.yamlfile import RESOLVERS_WITHOUT_DATES, BoundedLoader, load_yaml

__all__ = [
    "ARCHITECTURES",
    "CATEGORIES",
    "DEFAULT_MAX_PODS",
    "Catalog",
    "FargatePrices",
    "InstanceType",
    "LambdaPrices",
    "SpotDiscount",
    "default_catalog",
    "eni_max_pods",
    "load_catalog",
]

#: CPU architectures, as Kubernetes' ``kubernetes.io/arch`` label spells them.
ARCHITECTURES = ("amd64", "arm64")

#: Instance categories: AWS's groups of instance families, plus ``other`` for a name
#: that is not an EC2 one.
CATEGORIES = (
    "general",
    "compute",
    "memory",
    "burstable",
    "accelerated",
    "storage",
    "hpc",
    "other",
)

#: Max pods of a type whose ENI limits are unknown: the kubelet's default ``maxPods``,
#: which the EKS AMI's nodeadm also falls back to for a type it does not know
#: (awslabs/amazon-eks-ami ``nodeadm/internal/kubelet/eni_max_pods.go``, ``defaultMaxPods``).
DEFAULT_MAX_PODS = 110

# The category of an EC2 family from the letters before its generation digit
# (AWS's instance type naming: https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html).
_CATEGORY_OF_PREFIX = {
    "m": "general", "a": "general", "mac": "general",
    "c": "compute",
    "r": "memory", "x": "memory", "z": "memory", "u": "memory",
    "t": "burstable",
    "p": "accelerated", "g": "accelerated", "inf": "accelerated", "trn": "accelerated",
    "dl": "accelerated", "f": "accelerated", "vt": "accelerated",
    "i": "storage", "im": "storage", "is": "storage", "d": "storage", "h": "storage",
    "hpc": "hpc",
}  # fmt: skip
_EC2_NAME = re.compile(
    r"^(?P<prefix>[a-z]+)(?P<generation>[0-9]+)(?P<options>[a-z-]*)\.[a-z0-9-]+$"
)


def eni_max_pods(enis: int, ips_per_eni: int) -> int:
    """The EKS default max pods of a node with the VPC CNI, without prefix delegation.

    Each ENI keeps its primary address for itself; the ``+ 2`` are the
    pods on the host network (the VPC CNI and kube-proxy). The formula of
    awslabs/amazon-eks-ami ``nodeadm/internal/kubelet/eni_max_pods.go``
    (``calculateStandardMaxPods``), which the AMI's old ``eni-max-pods.txt``
    tabulated.

    Examples
    --------
    An m5.large has 3 ENIs of 10 IPv4 addresses each:

    >>> eni_max_pods(3, 10)
    29
    """
    enis = check_int(enis, "enis", owner="eni_max_pods", ge=1)
    ips_per_eni = check_int(ips_per_eni, "ips_per_eni", owner="eni_max_pods", ge=1)
    return enis * (ips_per_eni - 1) + 2


def _name_parts(name: str) -> tuple[str, str, int | None, str, str]:
    """Family, size, generation, category and architecture an instance type's name implies.

    An EC2 name is ``<family>.<size>``, the family being letters (the
    category), the generation and option letters; a ``g`` first among the
    options means Graviton, so ``arm64`` (``m6g``, ``c7gn``, ``t4g``), as does
    the family ``a1``. Any other name: the family is what comes before the
    first dot, with no generation, category ``other`` and ``amd64``.
    """
    family, _, size = name.partition(".")
    match = _EC2_NAME.match(name)
    if match is None:
        return family, size, None, "other", "amd64"
    prefix, options = match["prefix"], match["options"]
    graviton = options.startswith("g") or family == "a1"
    category = _CATEGORY_OF_PREFIX.get(prefix, "other")
    return family, size, int(match["generation"]), category, "arm64" if graviton else "amd64"


@dataclass(frozen=True, slots=True)
class InstanceType:
    """A virtual machine type: its size, its on-demand hourly price and what a node of it holds.

    Fields left at their defaults are derived: ``family``, ``size``,
    ``generation``, ``category`` and ``arch`` from the name (``m7g.large``:
    ``m7g``, ``large``, 7, ``general``, ``arm64``: a ``g`` after the
    generation digit is Graviton); ``max_pods`` from ``enis`` and
    ``ips_per_eni`` by :func:`eni_max_pods` when both are known, else
    :data:`DEFAULT_MAX_PODS` (110, the kubelet's default). A ``max_pods``
    given explicitly wins over the ENI formula (a node with prefix
    delegation or a custom ``maxPods``).

    ``spot_price_per_hour`` is this type's own Spot price when one is
    recorded; otherwise the catalog derives one from its Spot discount
    (:meth:`Catalog.spot_price`).

    Examples
    --------
    >>> import datetime
    >>> m7g = InstanceType("m7g.large", 2, Decimal(8), Decimal("0.0816"),
    ...                    datetime.date(2026, 7, 20), "[code] ...", enis=3, ips_per_eni=10)
    >>> m7g.family, m7g.size, m7g.generation, m7g.category, m7g.arch, m7g.max_pods
    ('m7g', 'large', 7, 'general', 'arm64', 29)
    >>> m7g.memory_bytes
    8589934592
    """

    name: str
    vcpu: int
    memory_gib: Decimal
    price_per_hour: Decimal
    date: datetime.date
    source: str
    max_pods: int | None = None
    arch: str = ""
    family: str = ""
    size: str = ""
    category: str = ""
    generation: int | None = None
    enis: int | None = None
    ips_per_eni: int | None = None
    spot_price_per_hour: Decimal | None = None

    def __post_init__(self) -> None:
        owner = f"InstanceType {self.name!r}"
        family, size, generation, category, arch = _name_parts(self.name)
        if (self.enis is None) != (self.ips_per_eni is None):
            raise ParameterError(
                "enis" if self.enis is None else "ips_per_eni", None,
                "both enis and ips_per_eni, or neither", owner=owner,
            )  # fmt: skip
        derived: dict[str, object] = {}
        if self.max_pods is None:
            if self.enis is None or self.ips_per_eni is None:
                derived["max_pods"] = DEFAULT_MAX_PODS
            else:
                derived["max_pods"] = eni_max_pods(self.enis, self.ips_per_eni)
        defaults = {"arch": arch, "family": family, "size": size, "category": category}
        derived |= {key: value for key, value in defaults.items() if not getattr(self, key)}
        if self.generation is None:
            derived["generation"] = generation
        for key, value in derived.items():
            object.__setattr__(self, key, value)
        check_int(self.max_pods, "max_pods", owner=owner, ge=1)
        check_choice(self.arch, "arch", ARCHITECTURES, owner=owner)
        check_choice(self.category, "category", CATEGORIES, owner=owner)

    @property
    def memory_bytes(self) -> int:
        """The memory in bytes (GiB x 2**30, rounded down to the byte)."""
        return int(self.memory_gib * 2**30)


@dataclass(frozen=True, slots=True)
class SpotDiscount:
    """A typical Spot discount off the on-demand price, for types without their own Spot price.

    ``fraction`` is the share of the on-demand price saved: 0.7 means Spot
    costs 30 % of on-demand.
    """

    fraction: Decimal
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
    >>> catalog.spot_price("m5.large")
    Decimal('0.0288')
    """

    region: str
    currency: str
    instances: dict[str, InstanceType] = field(default_factory=dict)
    fargate: dict[str, FargatePrices] = field(default_factory=dict)
    lambda_: dict[str, LambdaPrices] = field(default_factory=dict)
    spot_discount: SpotDiscount | None = None

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

    def spot_price(self, name: str) -> Decimal:
        """The Spot price per hour of type ``name``: its own, else on-demand less the discount.

        Examples
        --------
        >>> default_catalog().spot_price("c7g.large")    # 0.0725 x (1 - 0.7)
        Decimal('0.02175')
        """
        instance = self.instance(name)
        if instance.spot_price_per_hour is not None:
            return instance.spot_price_per_hour
        if self.spot_discount is None:
            raise ParameterError(
                "instance_type",
                name,
                "a type with a spot_price_per_hour, or a catalog with a spot discount",
                owner="Catalog",
            )
        return instance.price_per_hour * (1 - self.spot_discount.fraction)

    def spot(
        self,
        name: str,
        times: Sequence[float] | None = None,
        prices: Sequence[Price] | None = None,
        *,
        minimum_seconds: int = 60,
    ) -> Spot:
        """A :class:`~elastic.cost.Spot` tariff for type ``name``.

        With a price series (``prices[i]`` per hour from ``times[i]``), that
        series; without, the constant :meth:`spot_price` from time 0 on. The
        billing rules (per second, 60 s minimum, an interruption in the
        first hour free) are :class:`~elastic.cost.Spot`'s.

        Examples
        --------
        >>> catalog = default_catalog()
        >>> catalog.spot("m5.large").charge(3600)
        Decimal('0.0288')
        >>> catalog.spot("m5.large", [0, 1800], ["0.03", "0.04"]).charge(3600)
        Decimal('0.035')
        """
        self.instance(name)
        if (times is None) != (prices is None):
            raise ParameterError(
                "times" if times is None else "prices",
                None,
                "both times and prices (a series), or neither (the catalog's price)",
                owner="Catalog",
            )
        if times is None or prices is None:
            times, prices = [0.0], [self.spot_price(name)]
        return Spot(times, prices, minimum_seconds=minimum_seconds, label=f"{name} spot")

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

# What a node of a type is, as opposed to what it costs: an entry overriding one of the base
# catalog inherits these when it leaves them out.
_NODE_FACTS = (
    "max_pods", "arch", "family", "size", "category", "generation", "enis", "ips_per_eni",
)  # fmt: skip


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: datetime.date
    source: str = Field(min_length=1)


class _Instance(_Entry):
    vcpu: int = Field(ge=1)
    memory_gib: _Money
    price_per_hour: _Money
    max_pods: int | None = Field(None, ge=1)
    enis: int | None = Field(None, ge=1)
    ips_per_eni: int | None = Field(None, ge=1)
    arch: str | None = None
    family: str | None = Field(None, min_length=1)
    size: str | None = Field(None, min_length=1)
    category: str | None = None
    generation: int | None = Field(None, ge=1)
    spot_price_per_hour: _Money | None = None

    @field_validator("arch")
    @classmethod
    def _arch(cls, value: str | None) -> str | None:
        if value is not None and value not in ARCHITECTURES:
            raise ValueError(f"expected one of {', '.join(ARCHITECTURES)} (kubernetes.io/arch)")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value is not None and value not in CATEGORIES:
            raise ValueError(f"expected one of {', '.join(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _enis(self) -> _Instance:
        if (self.enis is None) != (self.ips_per_eni is None):
            raise ValueError("enis and ips_per_eni go together: give both or neither")
        return self


class _Fargate(_Entry):
    vcpu_hour: _Money
    gb_hour: _Money


class _Lambda(_Entry):
    gb_second: _Money
    request: _Money
    provisioned_gb_second: _Money | None = None
    provisioned_duration_gb_second: _Money | None = None


class _Spot(_Entry):
    discount: Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str | None = None
    currency: str | None = None
    instances: dict[str, _Instance] = {}
    fargate: dict[str, _Fargate] = {}
    lambda_: dict[str, _Lambda] = Field(default={}, alias="lambda")
    spot: _Spot | None = None


class _Composer(BoundedLoader):
    """Composes YAML nodes (for their positions) as :func:`load_yaml` reads values."""


_Composer.yaml_implicit_resolvers = RESOLVERS_WITHOUT_DATES


def _positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """Line and column of every value of a YAML document that :func:`load_yaml` accepted."""
    loader = _Composer(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    marks: dict[tuple[str | int, ...], tuple[int, int]] = {}
    pending: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())] if root else []
    while pending:
        node, path = pending.pop()
        if path in marks:  # an alias met again
            continue
        marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            pending += [(value, (*path, str(key.value))) for key, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            pending += [(item, (*path, i)) for i, item in enumerate(node.value)]
    return marks


def _errors(name: str, text: str, errors: list[Any]) -> ManifestError:
    """One :class:`ManifestError` listing every pydantic error with where it is in the file."""
    marks = _positions(text)
    lines = [f"{name}: {len(errors)} error(s)"]
    for error in errors:
        loc = tuple(error["loc"])
        # the nearest enclosing value that has a position (a missing field: its entry)
        cut = next(i for i in range(len(loc), -1, -1) if loc[:i] in marks or i == 0)
        line, column = marks.get(loc[:cut], (1, 1))
        path = ".".join(str(part) for part in loc)
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  {name}:{line}:{column}: {path}={error['input']!r}: {message}")
    return ManifestError("\n".join(lines))


def _instance(key: str, entry: _Instance, base: Catalog | None) -> InstanceType:
    written = entry.model_fields_set
    given = {fact: getattr(entry, fact) for fact in _NODE_FACTS if fact in written}
    if base is not None and key in base.instances:
        inherited = base.instances[key]
        for fact in _NODE_FACTS:
            if fact in written:
                continue
            if fact == "max_pods" and "enis" in written:
                continue  # derived from the ENIs written here, not inherited
            if fact in ("enis", "ips_per_eni") and "max_pods" in written:
                continue  # a max_pods written here stands alone
            given[fact] = getattr(inherited, fact)
    return InstanceType(
        key,
        entry.vcpu,
        entry.memory_gib,
        entry.price_per_hour,
        entry.date,
        entry.source,
        spot_price_per_hour=entry.spot_price_per_hour,
        **given,
    )


def load_catalog(path: str | Path | None = None, *, base: Catalog | None = None) -> Catalog:
    """Read a price catalog from a YAML file (the shipped one when ``path`` is None).

    With ``base``, the file's entries override or add to those of ``base``,
    and ``region`` and ``currency`` may be left out. An instance type the
    file overrides keeps the base's node facts (``max_pods``, ``arch``,
    ``enis``...) unless the file gives them; its prices are the file's.
    An instance type new to the catalog and without ``max_pods`` or ENI
    limits gets :data:`DEFAULT_MAX_PODS`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> mine = pathlib.Path(tempfile.mkdtemp()) / "mine.yaml"
    >>> _ = mine.write_text('''
    ... instances:
    ...   m5.large: {vcpu: 2, memory_gib: 8, price_per_hour: "0.0864",
    ...              date: 2026-11-01, source: "our enterprise discount"}
    ... ''')
    >>> m5 = load_catalog(mine, base=default_catalog()).instance("m5.large")
    >>> m5.price_per_hour, m5.max_pods
    (Decimal('0.0864'), 29)
    """
    if path is None:
        name = "elastic/cost/prices.yaml"
        text = resources.files(__package__).joinpath("prices.yaml").read_text(encoding="utf-8")
        raw = load_yaml(text, name=name)
    else:
        name, raw = str(path), load_yaml(Path(path))
    if not isinstance(raw, dict):
        raise ManifestError(f"{name}: expected a mapping with instances, fargate and lambda")
    try:
        parsed = _File.model_validate(raw)
    except pydantic.ValidationError as error:
        if path is not None:  # read again only now: load_yaml has checked it already
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        raise _errors(name, text, error.errors()) from None
    region = parsed.region or (base.region if base else None)
    currency = parsed.currency or (base.currency if base else None)
    if region is None or currency is None:
        missing = "region" if region is None else "currency"
        raise ManifestError(f"{name}: {missing} is missing; expected it, or a base catalog")
    instances = {key: _instance(key, e, base) for key, e in parsed.instances.items()}
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
    spot = None
    if parsed.spot is not None:
        spot = SpotDiscount(parsed.spot.discount, parsed.spot.date, parsed.spot.source)
    if base is not None:
        instances = {**base.instances, **instances}
        fargate = {**base.fargate, **fargate}
        lambda_ = {**base.lambda_, **lambda_}
        spot = spot or base.spot_discount
    return Catalog(region, currency, instances, fargate, lambda_, spot)


@cache
def default_catalog() -> Catalog:
    """The catalog shipped with elastic (us-east-1, USD), read once.

    Examples
    --------
    >>> catalog = default_catalog()
    >>> len(catalog.instances) >= 50, sorted({t.category for t in catalog.instances.values()})
    (True, ['burstable', 'compute', 'general', 'memory'])
    """
    return load_catalog()
