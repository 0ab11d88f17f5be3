"""Means with confidence intervals across seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mean_ci"]

# Student's t, 97.5th percentile, for 1 to 30 degrees of freedom (standard tables)
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student's t); NaNs left out.

    Examples
    --------
    >>> mean, half = mean_ci([1.0, 2.0, 3.0])
    >>> mean, round(half, 3)  # t(2) = 4.303, sd = 1, n = 3
    (2.0, 2.484)
    >>> mean_ci([5.0])
    (5.0, nan)
    """
    data = [v for v in values if not math.isnan(v)]
    if not data:
        return math.nan, math.nan
    mean = sum(data) / len(data)
    if len(data) < 2:
        return mean, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in data) / (len(data) - 1))
    df = len(data) - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.960
    return mean, t * sd / math.sqrt(len(data))
