"""Means with confidence intervals across seeds, and intervals written for people."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

from elastic.core.validate import check_int, check_number

__all__ = ["format_ci", "mean_ci", "t_quantile"]

_OWNER = "t_quantile"


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom, ``t >= 0``, in closed form.

    The finite series for integer degrees of freedom (Abramowitz and Stegun
    26.7.3-4) for ``A = P(|T| <= t)``.
    """
    theta = math.atan(t / math.sqrt(df))
    c2, s = math.cos(theta) ** 2, math.sin(theta)
    if df % 2:  # odd: 2/pi (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...))
        term = total = 1.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        area = 2 / math.pi * (theta + (s * math.cos(theta) * total if df > 1 else 0.0))
    else:  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...)
        term = total = 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        area = s * total
    return 0.5 + 0.5 * area


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom, exact.

    Newton's method on the closed-form distribution function, from the
    normal quantile, to full double precision (no table, no switch to 1.96).

    Examples
    --------
    >>> round(t_quantile(0.975, 2), 6), round(t_quantile(0.975, 40), 6)
    (4.302653, 2.021075)
    >>> t_quantile(0.5, 7)
    0.0
    """
    p = check_number(p, "p", owner=_OWNER, gt=0, le=1)
    if p == 1:
        return math.inf
    df = check_int(df, "df", owner=_OWNER, ge=1)
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    log_scale = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    # the distribution function is concave above 0: Newton from the normal quantile
    # (which is below the t quantile) climbs to the root without overshooting
    t = NormalDist().inv_cdf(p)
    for _ in range(200):
        density = math.exp(log_scale - (df + 1) / 2 * math.log1p(t * t / df))
        step = (p - _t_cdf(t, df)) / density
        t += step
        if abs(step) <= 1e-15 * t:
            break
    return t


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student's t); NaNs left out.

    Identical values have a half-width of exactly 0.

    Examples
    --------
    >>> mean, half = mean_ci([1.0, 2.0, 3.0])
    >>> mean, round(half, 3)  # t(2) = 4.303, sd = 1, n = 3
    (2.0, 2.484)
    >>> mean_ci([5.0])
    (5.0, nan)
    >>> mean_ci([0.3, 0.3, 0.3])
    (0.3, 0.0)
    """
    data = [v for v in values if not math.isnan(v)]
    if not data:
        return math.nan, math.nan
    if min(data) == max(data):  # no spread, and no rounding noise made up
        return data[0], (math.nan if len(data) < 2 else 0.0)
    mean = math.fsum(data) / len(data)
    df = len(data) - 1
    try:
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in data) / df)
    except OverflowError:  # values near the float's limit: a spread beyond it
        return mean, math.inf
    return mean, t_quantile(0.975, df) * sd / math.sqrt(len(data))


def _plain(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, positional unless huge or tiny."""
    if value == 0 or 1e-5 <= abs(value) < 1e7:
        text = f"{value:.{digits}g}"
        if "e" not in text:
            return text
        return f"{value:.{max(0, digits - 1 - math.floor(math.log10(abs(value))))}f}"
    return f"{value:.{digits - 1}e}"


def format_ci(mean: float, half: float, digits: int = 3) -> str:
    """``mean ±half`` for people: the half-width to 2 significant digits, the mean to match.

    The mean is rounded at the half-width's last digit; no spread shows as
    ``±0`` and the mean to ``digits`` significant digits, as it does without
    an interval (NaN half-width). A half-width below a billionth of the mean
    is rounding noise, not spread: it shows as ``±0`` too. Values beyond 1e7
    or below 1e-5 are in exponent form.

    Examples
    --------
    >>> format_ci(1234.567, 190.2), format_ci(0.123456, 0.0123), format_ci(0.3, 0.0)
    ('1230 ±190', '0.123 ±0.012', '0.3 ±0')
    >>> format_ci(5.0, float("nan")), format_ci(5.0, 1.1e-14), format_ci(float("inf"), 1.0)
    ('5', '5 ±0', 'inf ±1')
    """
    if math.isnan(mean):
        return "nan"
    if math.isinf(mean):
        return f"{mean} ±{_plain(half, 2)}"
    if math.isnan(half) or math.isinf(half):
        return _plain(mean, digits) + ("" if math.isnan(half) else " ±inf")
    if abs(half) <= 1e-9 * abs(mean):
        return f"{_plain(mean, digits)} ±0"
    half = abs(half)
    last = math.floor(math.log10(half)) - 1  # the place of the half-width's 2nd digit
    big = max(abs(mean), half)
    if not 1e-5 <= big < 1e7:
        exponent = math.floor(math.log10(big))
        shown = max(0, exponent - last)
        return f"{mean:.{shown}e} ±{half:.1e}"
    if last >= 0:
        step = 10**last
        return f"{round(mean / step) * step:.0f} ±{round(half / step) * step:.0f}"
    return f"{mean:.{-last}f} ±{half:.{-last}f}"
