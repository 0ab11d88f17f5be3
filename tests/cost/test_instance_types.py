"""Instance types as nodes: max pods, architecture, family, size, category; the Spot tariff.

Expected values come from the upstream files the catalog cites: the EKS AMI's
``nodeadm/internal/kubelet/instance-info.jsonl`` (ENIs) and its last
``eni-max-pods.txt`` (max pods), and Karpenter's generated
``website/content/en/docs/reference/instance-types.md`` (labels).
"""

import datetime
import re
from decimal import Decimal as D

import pytest

from elastic.cost import Spot, default_catalog, load_catalog
from elastic.cost.catalog import (
    ARCHITECTURES,
    CATEGORIES,
    DEFAULT_MAX_PODS,
    InstanceType,
    eni_max_pods,
)
from elastic.errors import ManifestError, ParameterError

CATALOG = default_catalog()
SOURCE = "[code] test"


def test_the_catalog_covers_the_families_and_sizes_the_issue_asks_for():
    families = [
        "m5",
        "m6i",
        "m7i",
        "m6g",
        "m7g",
        "c5",
        "c6i",
        "c7i",
        "c6g",
        "c7g",
        "r5",
        "r6i",
        "r6g",
        "r7g",
    ]
    for family in families:
        for size in ("large", "xlarge", "2xlarge", "4xlarge"):
            assert f"{family}.{size}" in CATALOG.instances
    assert {"t3.medium", "t4g.medium", "m5.16xlarge", "m7g.16xlarge"} <= set(CATALOG.instances)
    archs = {t.arch for t in CATALOG.instances.values()}
    assert archs == {"amd64", "arm64"}, "Graviton and x86"


@pytest.mark.parametrize("instance", list(CATALOG.instances.values()), ids=str)
def test_every_shipped_type_is_complete_and_its_max_pods_follow_the_eni_formula(instance):
    assert isinstance(instance.date, datetime.date)
    assert instance.source.startswith(("[code]", "[doc]", "[obs]", "[recall]"))
    assert instance.enis is not None and instance.ips_per_eni is not None
    # max_pods is written in the file; it must be what the ENIs give
    assert instance.max_pods == instance.enis * (instance.ips_per_eni - 1) + 2
    assert instance.arch in ARCHITECTURES and instance.category in CATEGORIES
    # what the file says of arch, category and generation is what the name implies
    derived = InstanceType(
        instance.name, instance.vcpu, instance.memory_gib, instance.price_per_hour,
        instance.date, instance.source,
    )  # fmt: skip
    assert (derived.arch, derived.category, derived.generation) == (
        instance.arch,
        instance.category,
        instance.generation,
    )
    assert f"{instance.family}.{instance.size}" == instance.name


@pytest.mark.parametrize(
    ("name", "vcpu", "memory_gib", "price", "max_pods", "arch", "category"),
    [
        # the AMI's eni-max-pods.txt and Karpenter's instance-types.md agree on each row
        ("m5.large", 2, 8, "0.096", 29, "amd64", "general"),
        ("m5.16xlarge", 64, 256, "3.072", 737, "amd64", "general"),  # 15 ENIs x 49 + 2
        ("m7g.large", 2, 8, "0.0816", 29, "arm64", "general"),
        ("c7g.large", 2, 4, "0.0725", 29, "arm64", "compute"),
        ("r6i.large", 2, 16, "0.126", 29, "amd64", "memory"),
        ("t3.medium", 2, 4, "0.0416", 17, "amd64", "burstable"),  # 3 ENIs x 5 + 2
        ("t4g.large", 2, 8, "0.0672", 35, "arm64", "burstable"),  # 3 ENIs x 11 + 2
    ],
)
def test_known_types(name, vcpu, memory_gib, price, max_pods, arch, category):
    t = CATALOG.instance(name)
    assert (t.vcpu, t.memory_gib, t.price_per_hour, t.max_pods, t.arch, t.category) == (
        vcpu,
        memory_gib,
        D(price),
        max_pods,
        arch,
        category,
    )


@pytest.mark.parametrize(
    ("name", "family", "size", "generation", "category", "arch", "why"),
    [
        ("m5.large", "m5", "large", 5, "general", "amd64", "the plain case"),
        ("c7gn.16xlarge", "c7gn", "16xlarge", 7, "compute", "arm64", "g then more options"),
        ("m6gd.metal", "m6gd", "metal", 6, "general", "arm64", "Graviton with local disk"),
        ("g5g.xlarge", "g5g", "xlarge", 5, "accelerated", "arm64", "GPU on Graviton"),
        ("g4dn.xlarge", "g4dn", "xlarge", 4, "accelerated", "amd64", "the g is the category"),
        ("a1.large", "a1", "large", 1, "general", "arm64", "the first Graviton"),
        ("im4gn.large", "im4gn", "large", 4, "storage", "arm64", "two-letter category"),
        ("m7i-flex.large", "m7i-flex", "large", 7, "general", "amd64", "a dash in the family"),
        ("u-6tb1.metal", "u-6tb1", "metal", None, "other", "amd64", "not the usual pattern"),
        ("big-node", "big-node", "", None, "other", "amd64", "a name of one's own"),
    ],
)
def test_what_a_name_implies(name, family, size, generation, category, arch, why):
    t = InstanceType(name, 2, D(8), D("0.1"), datetime.date(2026, 1, 1), SOURCE)
    assert (t.family, t.size, t.generation, t.category, t.arch) == (
        family,
        size,
        generation,
        category,
        arch,
    ), why
    assert t.max_pods == DEFAULT_MAX_PODS, "no ENI limits: the kubelet's default"


@pytest.mark.parametrize(
    ("enis", "ips", "expected"),
    [(3, 10, 29), (4, 15, 58), (8, 30, 234), (15, 50, 737), (3, 6, 17), (2, 4, 8), (1, 1, 2)],
)
def test_the_eni_formula(enis, ips, expected):
    # rows from eni-max-pods.txt (m5.large, m5.xlarge, m5.4xlarge, m5.16xlarge, t3.medium,
    # t3.micro); the last: one ENI whose only address is its own leaves the host-network pods
    assert eni_max_pods(enis, ips) == expected


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_pods": 0}, "max_pods"),
        ({"max_pods": -3}, "max_pods"),
        ({"arch": "x86_64"}, "arch"),
        ({"category": "gpu"}, "category"),
        ({"enis": 3}, "ips_per_eni"),
    ],
)
def test_a_bad_instance_type_in_code_names_the_field(kwargs, name):
    with pytest.raises(ParameterError) as info:
        InstanceType("m5.large", 2, D(8), D("0.096"), datetime.date(2026, 1, 1), SOURCE, **kwargs)
    assert info.value.name == name


def test_eni_max_pods_refuses_what_is_not_a_count():
    for enis, ips in ((0, 10), (3, 0), (True, 10), (2.5, 10)):
        with pytest.raises(ParameterError):
            eni_max_pods(enis, ips)


# --- user catalogs ---------------------------------------------------------------------------

OLD_CATALOG = """\
region: us-east-1
currency: USD
instances:
  m5.large: {vcpu: 2, memory_gib: 8, price_per_hour: "0.0864", date: 2026-11-01, source: "mine"}
  m9z.large: {vcpu: 2, memory_gib: 8, price_per_hour: "0.2", date: 2026-11-01, source: "mine"}
"""


def test_an_old_catalog_without_the_new_fields_loads(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(OLD_CATALOG)
    alone = load_catalog(path)
    m5 = alone.instance("m5.large")
    assert (m5.max_pods, m5.arch, m5.family, m5.size, m5.category, m5.generation) == (
        DEFAULT_MAX_PODS,
        "amd64",
        "m5",
        "large",
        "general",
        5,
    ), "alone, nothing to inherit: derived from the name, max pods the kubelet's default"
    assert alone.spot_discount is None
    with pytest.raises(ParameterError, match="spot discount"):
        alone.spot_price("m5.large")


def test_an_override_keeps_the_base_node_facts_and_takes_its_own_price(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(OLD_CATALOG)
    extended = load_catalog(path, base=CATALOG)
    m5 = extended.instance("m5.large")
    assert (m5.price_per_hour, m5.max_pods, m5.enis, m5.ips_per_eni) == (D("0.0864"), 29, 3, 10)
    assert extended.instance("m9z.large").max_pods == DEFAULT_MAX_PODS, "new: nothing to inherit"
    assert extended.spot_discount == CATALOG.spot_discount
    assert extended.spot_price("m5.large") == D("0.0864") * D("0.3"), "spot follows its price"


def test_an_override_may_change_the_node_facts(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "instances:\n"
        "  m5.large: {vcpu: 2, memory_gib: 8, price_per_hour: '0.096', date: 2026-11-01,\n"
        "             source: mine, max_pods: 110}\n"  # prefix delegation
        "  m5.xlarge: {vcpu: 4, memory_gib: 16, price_per_hour: '0.192', date: 2026-11-01,\n"
        "              source: mine, enis: 2, ips_per_eni: 15}\n"
    )
    catalog = load_catalog(path, base=CATALOG)
    m5 = catalog.instance("m5.large")
    assert (m5.max_pods, m5.enis) == (110, None), "a max_pods given stands alone"
    assert catalog.instance("m5.xlarge").max_pods == 30, "ENIs given: max pods from them"


def test_a_user_spot_price_and_discount(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text(
        "instances:\n"
        "  m5.large: {vcpu: 2, memory_gib: 8, price_per_hour: '0.096', date: 2026-11-01,\n"
        "             source: mine, spot_price_per_hour: '0.04'}\n"
        "spot: {discount: '0.5', date: 2026-11-01, source: mine}\n"
    )
    catalog = load_catalog(path, base=CATALOG)
    assert catalog.spot_price("m5.large") == D("0.04"), "its own spot price wins"
    assert catalog.spot_price("c5.large") == D("0.085") * D("0.5"), "the file's discount"


BAD = "region: r\ncurrency: USD\ninstances:\n  m5.large:\n    {vcpu: 2, memory_gib: 8, "


@pytest.mark.parametrize(
    ("entry", "message", "why"),
    [
        (
            "price_per_hour: '1', date: 2026-01-01, source: s,\n     max_pods: -1}\n",
            "prices.yaml:6:16: instances.m5.large.max_pods=-1: Input should be greater than or "
            "equal to 1",
            "a negative max pods, at its line and column",
        ),
        (
            "price_per_hour: '1', date: 2026-01-01, source: s,\n     arch: x86_64}\n",
            "prices.yaml:6:12: instances.m5.large.arch='x86_64': expected one of amd64, arm64",
            "an architecture Kubernetes does not name",
        ),
        (
            "price_per_hour: '1', date: 2026-01-01, source: s,\n     category: gpu}\n",
            "prices.yaml:6:16: instances.m5.large.category='gpu': expected one of general,",
            "an unknown category",
        ),
        (
            "price_per_hour: '1', date: 2026-01-01, source: s, enis: 3}\n",
            "prices.yaml:5:5: instances.m5.large=",
            "ENIs without IPs per ENI: at the entry",
        ),
        (
            "price_per_hour: '1', date: 2026-01-01, source: s,\n     spot_price_per_hour: -1}\n",
            "prices.yaml:6:27: instances.m5.large.spot_price_per_hour=-1",
            "a negative spot price",
        ),
    ],
)
def test_bad_node_facts_say_what_and_where(tmp_path, entry, message, why):
    path = tmp_path / "prices.yaml"
    path.write_text(BAD + entry)
    with pytest.raises(ManifestError, match=re.escape(message)):
        load_catalog(path)


def test_a_bad_spot_discount_says_where(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("region: r\ncurrency: USD\nspot:\n  discount: '1.5'\n  date: 2026-01-01\n")
    with pytest.raises(ManifestError) as info:
        load_catalog(path)
    text = str(info.value)
    assert "prices.yaml:4:13: spot.discount='1.5'" in text
    assert "prices.yaml:4:3: spot.source" in text, "a missing field: at its mapping"


# --- the Spot tariff from the catalog --------------------------------------------------------


def test_spot_from_the_catalog_reuses_the_spot_tariff():
    constant = CATALOG.spot("m5.large")
    assert isinstance(constant, Spot)
    assert constant.prices_per_hour == (D("0.0288"),), "0.096 x (1 - 0.7)"
    assert constant.charge(3600) == D("0.0288")
    assert constant.charge(30) == D("0.0288") * 60 / 3600, "the 60 s minimum"
    series = CATALOG.spot("m5.large", [0.0, 1800.0], ["0.03", "0.04"])
    assert series.charge(3600) == D("0.035")
    assert series.label == "m5.large spot"


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: CATALOG.spot("m9.large"), "instance_type"),
        (lambda: CATALOG.spot("m5.large", times=[0.0]), "prices"),
        (lambda: CATALOG.spot("m5.large", prices=["0.1"]), "times"),
        (lambda: CATALOG.spot("m5.large", [0.0, 1.0], ["0.1"]), "times"),
    ],
)
def test_bad_spot_requests_name_the_field(call, name):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name
