"""Hand-computed bills, one row per rule."""

from decimal import Decimal as D

import pytest

from elastic.cost import (
    fargate,
    hourly,
    lambda_request,
    money,
    per_second,
    provisioned_concurrency,
    spot,
)
from elastic.cost.money import QUANTUM
from elastic.errors import ParameterError

M5_LARGE = "0.096"


@pytest.mark.parametrize(
    ("seconds", "expected", "why"),
    [
        (30, D("0.096") * 60 / 3600, "30 s is billed as the 60 s minimum: $0.0016"),
        (0, D("0.096") * 60 / 3600, "a start is billed 60 s even if it stops at once"),
        (60, D("0.096") * 60 / 3600, "exactly the minimum"),
        (61.2, D("0.096") * 62 / 3600, "rounded up to the second"),
        (60.00000000001, D("0.096") * 60 / 3600, "float noise does not bill a second"),
        (3600, D("0.096"), "an hour costs the hourly price"),
        (86400 * 31, D("0.096") * 24 * 31, "a month of seconds, exact, no float drift"),
    ],
)
def test_per_second_with_minimum(seconds, expected, why):
    # bills are handed out to the 1e-18 $ quantum
    assert per_second(seconds, M5_LARGE) == expected.quantize(QUANTUM), why


@pytest.mark.parametrize(
    ("seconds", "hours", "why"),
    [
        (1, 1, "a started hour is billed whole"),
        (3600, 1, "exactly one hour"),
        (3601, 2, "3601 s is two started hours"),
        (0, 1, "a start costs at least an hour"),
    ],
)
def test_hourly(seconds, hours, why):
    assert hourly(seconds, M5_LARGE) == D("0.096") * hours, why


def test_fargate_bills_configured_resources_for_at_least_a_minute():
    # 0.25 vCPU x $0.04048 + 0.5 GB x $0.004445 = $0.0123425 per hour, for 60 s
    small, large = D("0.0123425") * 60 / 3600, D("0.04937") * 91 / 3600
    assert fargate(45, 0.25, 0.5, "0.04048", "0.004445") == small.quantize(QUANTUM)
    assert fargate(90.5, 1, 2, "0.04048", "0.004445") == large.quantize(QUANTUM)


@pytest.mark.parametrize(
    ("duration_ms", "memory_mb", "init_ms", "billed_ms", "why"),
    [
        (120.2, 1024, 0.0, 121, "1,024 MB for 120.2 ms: 121 ms of 1 GB"),
        (1.0, 128, 0.0, 1, "1 ms granularity"),
        (99.0, 512, 250.5, 350, "the init phase is billed with the duration: ceil(349.5)"),
    ],
)
def test_lambda_request(duration_ms, memory_mb, init_ms, billed_ms, why):
    gb_second, request = D("0.0000166667"), D("0.0000002")
    expected = request + gb_second * D(memory_mb) / 1024 * billed_ms / 1000
    assert lambda_request(duration_ms, memory_mb, gb_second, request, init_ms=init_ms) == (
        expected
    ), why


@pytest.mark.parametrize(
    ("seconds", "periods", "why"),
    [
        (1, 1, "rounded up to 5 minutes"),
        (300, 1, "exactly 5 minutes"),
        (301, 2, "just over: two periods"),
        (3600, 12, "an hour"),
    ],
)
def test_provisioned_concurrency(seconds, periods, why):
    price = D("0.0000041667")
    assert provisioned_concurrency(seconds, 10, 2048, price) == price * 2 * 10 * 300 * periods, why


@pytest.mark.parametrize(
    ("start", "seconds", "expected", "why"),
    [
        (0, 90, (D("0.036") * 60 + D("0.072") * 30) / 3600, "price changes at 60 s"),
        (0, 10, D("0.036") * 60 / 3600, "60 s minimum at the first price"),
        (30, 10, (D("0.036") * 30 + D("0.072") * 30) / 3600, "the minimum runs across the change"),
        (100, 100, D("0.072") * 100 / 3600, "only the second price applies"),
    ],
)
def test_spot_with_a_price_series(start, seconds, expected, why):
    assert spot(start, seconds, [0, 60], ["0.036", "0.072"]) == expected, why


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: per_second(-1, M5_LARGE), "seconds"),
        (lambda: per_second(10, "-0.1"), "price_per_hour"),
        (lambda: per_second(10, "cheap"), "price_per_hour"),
        (lambda: fargate(10, -1, 1, "1", "1"), "vcpu"),
        (lambda: spot(0, 10, [5], ["1"]), "start"),
        (lambda: spot(0, 10, [0, 60], ["1"]), "times"),
        (lambda: money(True), "price"),
    ],
)
def test_bad_inputs_name_themselves(call, name):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name
