"""Confidence intervals: the exact Student t quantile, and intervals formatted for people.

Regression tests for issue 15 A7: beyond 30 degrees of freedom ``mean_ci``
used 1.96 (intervals about 4 % too narrow with 31-60 seeds); a deterministic
policy's interval showed as ``±1.1e-14`` and a p99's as ``±1.9e+02``.
"""

import math

import pytest

from elastic.bench import format_ci, mean_ci, t_quantile

# scipy.stats.t.ppf(0.975, df), to 10 digits
T975 = {
    1: 12.70620474,
    2: 4.302652730,
    5: 2.570581836,
    10: 2.228138852,
    30: 2.042272456,
    31: 2.039513446,
    40: 2.021075390,
    60: 2.000297822,
    120: 1.979930405,
    1000: 1.962339081,
}


@pytest.mark.parametrize(("df", "expected"), sorted(T975.items()))
def test_t_quantile_is_exact_at_every_degree_of_freedom(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, rel=1e-9)


def test_t_quantile_agrees_with_scipy_over_a_range():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 3, 7, 29, 31, 45, 59, 61, 200, 5000):
        for p in (0.5, 0.9, 0.95, 0.975, 0.995, 0.025):
            expected = float(stats.t.ppf(p, df))
            assert t_quantile(p, df) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_mean_ci_uses_the_t_quantile_beyond_thirty_degrees_of_freedom():
    values = [float(i % 7) for i in range(41)]  # 40 degrees of freedom
    mean, half = mean_ci(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 40)
    assert half == pytest.approx(T975[40] * sd / math.sqrt(41), rel=1e-9)


def test_identical_values_have_no_spread():
    mean, half = mean_ci([0.1 + 0.2] * 7)
    assert (mean, half) == (0.1 + 0.2, 0.0)


@pytest.mark.parametrize(
    ("mean", "half", "text", "why"),
    [
        (0.30000000000000004, 0.0, "0.3 ±0", "no spread is ±0, not ±1.1e-14"),
        (1234.567, 190.2, "1230 ±190", "a p99 in plain digits, to the interval's precision"),
        (0.123456, 0.0123, "0.123 ±0.012", "two significant digits of the half-width"),
        (42.0, 1.0, "42.0 ±1.0", "the mean as precise as its interval"),
        (5.0, math.nan, "5", "one seed: no interval"),
        (math.nan, math.nan, "nan", "no value"),
        (0.000123, 0.0000045, "0.0001230 ±0.0000045", "small values stay positional"),
        (2.5e9, 1.2e8, "2.50e+09 ±1.2e+08", "huge values in exponent form, aligned"),
    ],
)
def test_intervals_are_formatted_for_people(mean, half, text, why):
    assert format_ci(mean, half) == text, why


@pytest.mark.parametrize(
    ("mean", "half", "text"),
    [(5.0, 1.1e-14, "5 ±0"), (1234.0, 1e-7, "1234 ±0"), (float("inf"), 1.0, "inf ±1"),
     (float("-inf"), float("nan"), "-inf ±nan")],
)  # fmt: skip
def test_rounding_noise_and_infinities_are_formatted_for_people(mean, half, text):
    assert format_ci(mean, half) == text


def test_values_near_the_float_limit_give_an_infinite_spread_not_an_overflow():
    assert mean_ci([1e308, -1e308, 1e308]) == (pytest.approx(1e308 / 3), math.inf)
