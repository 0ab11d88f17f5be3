"""Prediction intervals cover as documented, on simulated series whose noise is known.

Each forecaster meets the process its intervals assume (Gaussian noise of
sd 1); many seeded replications give the share of continuations inside the
80 % and 95 % intervals, which must be within four binomial standard
errors (plus 1 % for the noise of the estimated sigma) of the level.
"""

import numpy as np
import pytest

from elastic.forecast import EWMA, AWSStyle, Drift, HoltWinters, LastValue, SeasonalNaive

REPLICATIONS, LENGTH, HORIZON = 400, 240, 6


def random_walk(rng, n):
    return np.cumsum(rng.normal(0, 1, n))


def walk_with_drift(rng, n):
    return np.cumsum(0.3 + rng.normal(0, 1, n))


def seasonal_walk(rng, n, m=4):
    y = np.zeros(n)
    y[:m] = [5.0, -2.0, 8.0, 0.0]
    for t in range(m, n):
        y[t] = y[t - m] + rng.normal()
    return y


def local_level(rng, n, alpha=0.3):
    y, level = np.zeros(n), 10.0
    for t in range(n):
        e = rng.normal()
        y[t] = level + e
        level += alpha * e
    return y


def ets_aaa(rng, n, alpha=0.2, beta=0.1, gamma=0.15, m=4):
    """ETS(A,A,A) with the error-correction recursion HoltWinters uses."""
    level, slope, season = 20.0, 0.1, [4.0, -1.0, 3.0, -6.0]
    y = np.zeros(n)
    for t in range(n):
        e = rng.normal()
        y[t] = level + slope + season[t % m] + e
        level, slope = level + slope + alpha * e, slope + alpha * beta * e
        season[t % m] += gamma * e
    return y


def daily_profile_with_noise(rng, n):
    hours = np.arange(n)
    return 100.0 + 30.0 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 1, n)


CASES = [
    pytest.param(LastValue, random_walk, 1.0, id="last value on a random walk"),
    pytest.param(Drift, walk_with_drift, 1.0, id="drift on a random walk with drift"),
    pytest.param(lambda: SeasonalNaive(period=4), seasonal_walk, 1.0, id="seasonal naive"),
    pytest.param(lambda: EWMA(alpha=0.3), local_level, 1.0, id="EWMA on a local level"),
    pytest.param(
        lambda: HoltWinters(periods=(4,), alpha=0.2, beta=0.1, gamma=0.15),
        ets_aaa,
        1.0,
        id="Holt-Winters on ETS(A,A,A)",
    ),
    pytest.param(AWSStyle, daily_profile_with_noise, 3600.0, id="AWS-style on a daily profile"),
]


@pytest.mark.parametrize(("make", "process", "step"), CASES)
def test_intervals_cover_at_their_level(make, process, step):
    rng = np.random.default_rng(20261126)
    inside = {80.0: 0, 95.0: 0}
    for _ in range(REPLICATIONS):
        y = process(rng, LENGTH + HORIZON)
        out = make().fit(y[:LENGTH], step=step).forecast(HORIZON, level=(80, 95))
        future = y[LENGTH:]
        for k, level in enumerate(out.level):
            inside[level] += int(np.sum((out.lower[k] <= future) & (future <= out.upper[k])))
    total = REPLICATIONS * HORIZON
    for level, count in inside.items():
        share, p = count / total, level / 100
        # horizons of one series are correlated: count replications, not points
        allowed = 4 * np.sqrt(p * (1 - p) / REPLICATIONS) + 0.01
        assert abs(share - p) <= allowed, f"{level} % interval covered {share:.3f}"
