"""The shipped price catalog, user catalogs, and the errors a bad catalog file gets."""

import datetime
import re
from decimal import Decimal as D

import pytest

from elastic.cost import default_catalog, load_catalog
from elastic.cost.money import QUANTUM
from elastic.errors import ManifestError, ParameterError

CATALOG = default_catalog()


@pytest.mark.parametrize(
    ("name", "vcpu", "memory_gib", "price"),
    [
        ("m5.large", 2, 8, "0.096"),  # SEMANTICS.md §2.6, karpenter generated pricing 2026-01-19
        ("m5.xlarge", 4, 16, "0.192"),  # same source
        ("c5.large", 2, 4, "0.085"),  # same source
        ("m5.2xlarge", 8, 32, "0.384"),  # list price, 4 x m5.large
        ("c5.xlarge", 4, 8, "0.17"),  # list price, 2 x c5.large
        ("r5.large", 2, 16, "0.126"),
        ("t3.medium", 2, 4, "0.0416"),
    ],
)
def test_instance_types_the_issue_names(name, vcpu, memory_gib, price):
    instance = CATALOG.instance(name)
    assert (instance.vcpu, instance.memory_gib, instance.price_per_hour) == (
        vcpu,
        memory_gib,
        D(price),
    )


def test_every_price_has_a_date_and_a_source():
    entries = [
        *CATALOG.instances.values(),
        *CATALOG.fargate.values(),
        *CATALOG.lambda_.values(),
        CATALOG.spot_discount,
    ]
    assert len(entries) == 72 + 2 + 2 + 1
    for entry in entries:
        assert isinstance(entry.date, datetime.date)
        assert entry.source.startswith(("[code]", "[doc]", "[obs]", "[recall]")), entry


def test_serverless_prices_match_the_reference():
    assert (CATALOG.fargate["x86"].vcpu_hour, CATALOG.fargate["x86"].gb_hour) == (
        D("0.04048"),
        D("0.004445"),
    )
    assert (CATALOG.fargate["arm"].vcpu_hour, CATALOG.fargate["arm"].gb_hour) == (
        D("0.03238"),
        D("0.00356"),
    )
    x86 = CATALOG.lambda_["x86"]
    assert (x86.gb_second, x86.request) == (D("0.0000166667"), D("0.0000002"))
    assert CATALOG.lambda_["arm"].gb_second == D("0.0000133334")


def test_tariffs_from_the_catalog():
    fargate = (D("0.0123425") * 60 / 3600).quantize(QUANTUM)
    assert CATALOG.fargate_task(0.25, 0.5).charge(45) == fargate
    assert CATALOG.hourly("m5.large").charge(3601) == D("0.192")
    provisioned = CATALOG.lambda_function(1024, provisioned=True)
    assert provisioned.price_gb_second == D("0.0000097222")
    assert CATALOG.provisioned_concurrency(10, 512).charge(301) == D("0.0000041667") / 2 * 10 * 600


@pytest.mark.parametrize(
    ("call", "name", "why"),
    [
        (lambda: CATALOG.instance("m6.large"), "instance_type", "not in the catalog"),
        (lambda: CATALOG.fargate_task(1, 2, arch="riscv"), "arch", "no such Fargate prices"),
        (lambda: CATALOG.provisioned_concurrency(1, 128, arch="arm"), "arch", "no PC rate known"),
        (lambda: CATALOG.with_price("m5.large", "-1", date=None), "price_per_hour", "negative"),
    ],
)
def test_bad_requests_name_the_field(call, name, why):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name, why


def test_an_override_leaves_the_original_alone():
    cheaper = CATALOG.with_price("m5.large", "0.05", date=datetime.date(2027, 1, 1))
    assert cheaper.instance("m5.large").price_per_hour == D("0.05")
    assert cheaper.instance("m5.large").vcpu == 2
    assert CATALOG.instance("m5.large").price_per_hour == D("0.096")


USER_CATALOG = """\
region: eu-west-1
currency: EUR
instances:
  m5.large: {vcpu: 2, memory_gib: 8, price_per_hour: "0.107", date: 2026-11-01, source: "mine"}
"""


def test_a_user_catalog_replaces_or_extends(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(USER_CATALOG)
    alone = load_catalog(path)
    assert (alone.region, alone.currency, list(alone.instances)) == (
        "eu-west-1",
        "EUR",
        ["m5.large"],
    )
    assert alone.instance("m5.large").price_per_hour == D("0.107")
    extended = load_catalog(path, base=CATALOG)
    assert extended.instance("m5.large").price_per_hour == D("0.107")
    assert extended.instance("c5.large").price_per_hour == D("0.085"), "the rest of the base stays"


@pytest.mark.parametrize(
    ("text", "message", "why"),
    [
        (
            "region: r\ncurrency: USD\ninstances:\n  x: {vcpu: 2, memory_gib: 8, price_per_hour: "
            "cheap, date: 2026-01-01, source: s}\n",
            "instances.x.price_per_hour='cheap'",
            "the field path and the value",
        ),
        (
            "region: r\ncurrency: USD\ninstances:\n  x: {vcpu: 0, memory_gib: 8, price_per_hour: "
            "'1', date: 2026-13-01, source: s, gpu: 1}\n",
            "3 error(s)",
            "every error at once: vcpu, date and an unknown field",
        ),
        ("currency: USD\n", "region is missing", "a complete catalog needs a region"),
        (
            "region: r\nregion: s\ncurrency: USD\n",
            "prices.yaml:2:1: duplicate key 'region'",
            "a duplicate key is an error, with its line",
        ),
        ("- a\n- b\n", "expected a mapping", "a list is not a catalog"),
        ("region: [\n", "not valid YAML", "a syntax error"),
    ],
)
def test_bad_catalog_files_say_what_and_where(tmp_path, text, message, why):
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError, match=re.escape(message)):
        load_catalog(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ManifestError, match=re.escape("nope.yaml: cannot be read")):
        load_catalog(tmp_path / "nope.yaml")
