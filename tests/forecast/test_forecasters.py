"""Forecasters against values worked out by hand, published formulas and statsmodels."""

import math

import numpy as np
import pytest

from elastic.errors import ForecastError, ParameterError
from elastic.forecast import EWMA, AWSStyle, Drift, HoltWinters, LastValue, SeasonalNaive
from elastic.forecast.base import z_score

# (why, forecaster, series, horizon, expected mean, expected sigma, expected variance factors)
HAND = [
    pytest.param(
        LastValue(),
        [10.0, 12.0, 11.0, 13.0],
        2,
        [13.0, 13.0],
        math.sqrt((4 + 1 + 4) / 3),  # one-step errors 2, -1, 2
        [1.0, 2.0],
        id="last value: errors are the differences; variance grows like h",
    ),
    pytest.param(
        Drift(),
        [10.0, 12.0, 13.0, 16.0],
        2,
        [18.0, 20.0],  # slope (16 - 10) / 3 = 2
        math.sqrt((1.0 + 2.25) / 2),  # online forecasts 14 (slope 2), 14.5 (slope 1.5)
        [1 * (1 + 1 / 3), 2 * (1 + 2 / 3)],  # h (1 + h / (T - 1)), T = 4
        id="drift: last value plus the mean change; slope error widens the interval",
    ),
    pytest.param(
        SeasonalNaive(period=3),
        [1.0, 5.0, 9.0, 2.0, 6.0, 10.0],
        4,
        [2.0, 6.0, 10.0, 2.0],
        1.0,  # each value is one more than a season before
        [1.0, 1.0, 1.0, 2.0],  # k + 1 with k = floor((h - 1) / 3)
        id="seasonal naive: a season back; one more season, one more variance unit",
    ),
    pytest.param(
        EWMA(alpha=0.5),
        [10.0, 20.0, 20.0],
        2,
        [17.5, 17.5],  # 10 -> 15 -> 17.5
        math.sqrt((100 + 25) / 2),  # errors 10 and 5
        [1.0, 1.25],  # 1 + (h - 1) alpha^2
        id="EWMA: level moves half way; variance 1 + (h-1) alpha^2",
    ),
    pytest.param(
        HoltWinters(periods=(), alpha=0.5, beta=0.5),
        [1.0, 2.0, 4.0],
        2,
        [4.75, 6.0],  # start l=2, b=1; e=4-3=1: l=3.5, b=1.25
        1.0,
        [1.0, 1.5625],  # 1 + (alpha (1 + beta))^2
        id="Holt: level and slope corrected by alpha e and alpha beta e",
    ),
]


@pytest.mark.parametrize(("forecaster", "series", "horizon", "mean", "sigma", "variance"), HAND)
def test_hand_worked(forecaster, series, horizon, mean, sigma, variance):
    forecaster.fit(series)
    out = forecaster.forecast(horizon, level=(95,))
    np.testing.assert_allclose(out.mean, mean)
    assert forecaster.sigma == pytest.approx(sigma)
    half = z_score(95) * sigma * np.sqrt(variance)
    np.testing.assert_allclose(out.upper[0] - out.mean, half)
    np.testing.assert_allclose(out.mean - out.lower[0], half)


def test_holt_winters_variance_is_the_published_closed_form():
    # Hyndman et al. (2008), class 1, ETS(A,A,A), with the ETS beta = alpha * beta*
    alpha, beta_star, gamma, m = 0.3, 0.2, 0.15, 4
    f = HoltWinters(periods=(m,), alpha=alpha, beta=beta_star, gamma=gamma)
    f.fit(np.arange(12.0))
    beta = alpha * beta_star
    for h in range(1, 15):
        k = (h - 1) // m
        closed = (
            1
            + (h - 1) * (alpha**2 + alpha * beta * h + beta**2 * h * (2 * h - 1) / 6)
            + gamma * k * (2 * alpha + gamma + beta * m * (k + 1))
        )
        assert f._variance(h)[-1] == pytest.approx(closed)


def series_with_season(n=60, m=4, seed=1):
    rng = np.random.default_rng(seed)
    return 50 + 0.5 * np.arange(n) + np.tile([5.0, -3.0, 8.0, -10.0], n // m) + rng.normal(0, 1, n)


def test_holt_winters_filters_like_statsmodels():
    holtwinters = pytest.importorskip("statsmodels.tsa.holtwinters")
    m, y = 4, series_with_season()
    ours = HoltWinters(periods=(m,), alpha=0.4, beta=0.1, gamma=0.3).fit(y)
    level, season = y[:m].mean(), y[:m] - y[:m].mean()  # our start, given to statsmodels
    theirs = holtwinters.ExponentialSmoothing(
        y[m:],
        trend="add",
        seasonal="add",
        seasonal_periods=m,
        initialization_method="known",
        initial_level=level,
        initial_trend=0.0,
        initial_seasonal=season,
    ).fit(smoothing_level=0.4, smoothing_trend=0.1, smoothing_seasonal=0.3, optimized=False)
    assert ours.level_ == pytest.approx(theirs.level[-1], rel=1e-12)
    assert ours.slope_ == pytest.approx(theirs.trend[-1], rel=1e-12)
    # statsmodels stores the seasons by time; ours by position in the season
    np.testing.assert_allclose(np.roll(ours.seasons_[0], -(len(y) % m)), theirs.season[-m:])
    assert ours.sigma == pytest.approx(np.sqrt(np.mean(theirs.resid**2)), rel=1e-12)
    # the textbook forecast from statsmodels' final states
    h = np.arange(1, 9)
    expected = theirs.level[-1] + h * theirs.trend[-1] + theirs.season[-m:][(h - 1) % m]
    np.testing.assert_allclose(ours.forecast(8).mean, expected, rtol=1e-12)


def taylor_double_seasonal(y, m1, m2, alpha, beta, gamma1, gamma2):
    """Taylor's double seasonal Holt-Winters in component form, started as HoltWinters starts."""
    start = np.asarray(y[:m2])
    level, slope = start.mean(), 0.0
    rest = start - level
    s1 = np.array([rest[i::m1].mean() for i in range(m1)])
    rest = rest - s1[np.arange(m2) % m1]
    s2 = np.array([rest[i::m2].mean() for i in range(m2)])
    for t in range(m2, len(y)):
        a, b = s1[t % m1], s2[t % m2]
        new_level = alpha * (y[t] - a - b) + (1 - alpha) * (level + slope)
        s1[t % m1] = gamma1 * (y[t] - level - slope - b) + (1 - gamma1) * a
        s2[t % m2] = gamma2 * (y[t] - level - slope - a) + (1 - gamma2) * b
        slope = beta * (new_level - level) + (1 - beta) * slope
        level = new_level
    t = len(y) + np.arange(6)
    return level + slope * np.arange(1, 7) + s1[t % m1] + s2[t % m2]


def test_double_seasonal_is_taylors_recursion():
    rng = np.random.default_rng(3)
    i = np.arange(80)
    y = 100 + 10 * np.sin(2 * np.pi * i / 4) + 5 * (i % 12 > 6) + rng.normal(0, 1, 80)
    f = HoltWinters(periods=(4, 12), alpha=0.3, beta=0.1, gamma=(0.2, 0.1)).fit(y)
    np.testing.assert_allclose(
        f.forecast(6).mean, taylor_double_seasonal(y, 4, 12, 0.3, 0.1, 0.2, 0.1), rtol=1e-12
    )


def test_gaps_move_the_state_on_without_a_correction():
    whole = LastValue().fit([1.0, 2.0, 3.0], step=60.0)
    whole.learn_one(9.0, t=300.0)  # 180 and 240 missing
    assert whole.n_ == 6 and whole.forecast(1).times.tolist() == [360.0]
    assert whole.errors_ == 3  # the two filled steps are not errors
    seasonal = SeasonalNaive(period=2).fit([1.0, 5.0, 1.0, 5.0])
    seasonal.learn_one(np.nan, t=4.0)  # missing: the season carries on
    assert seasonal.forecast(2).mean.tolist() == [5.0, 1.0]


def test_aws_style_follows_the_aws_data_rules():
    hours = np.arange(24 * 20)
    load = 100.0 + 50.0 * np.sin(2 * np.pi * hours / 24) + 30.0 * (hours % 168 < 24)
    f = AWSStyle()
    with pytest.raises(ForecastError, match="needs 24"):
        f.fit(load[:23], step=3600.0).forecast(1)
    f.fit(load, step=3600.0)
    assert len(f.hours_) == 24 * 14  # two weeks kept
    assert f.origin_ % 6 == 5 or f.origin_ == f.last_hour_  # refreshed every 6 hours
    with pytest.raises(ForecastError, match="48-h forecast"):
        f.forecast(49)
    # the weekly weight lifts the day that had the bump a week ago
    monday = f.forecast(48).mean
    day = (f.last_hour_ + 1 + np.arange(48)) % 168 < 24
    assert monday[day].mean() > monday[~day].mean() + 1.0


def test_aws_style_repeats_an_exact_daily_profile():
    hours = np.arange(24 * 5)
    load = 100.0 + 50.0 * np.sin(2 * np.pi * hours / 24)
    f = AWSStyle().fit(load, step=3600.0)
    np.testing.assert_allclose(f.forecast(24).mean, load[:24], atol=1e-9)
    assert f.sigma == pytest.approx(0.0, abs=1e-9)


def test_aws_style_holds_its_forecast_between_refreshes():
    hours = np.arange(48)
    f = AWSStyle(refresh_hours=6).fit(100.0 + hours, step=3600.0)
    origin, held = f.origin_, list(f.forecast_)
    f.learn_one(1000.0, t=48 * 3600.0)  # a spike, inside the refresh period
    assert f.origin_ == origin and f.forecast_ == held


def test_aws_style_weights_by_hand():
    # three days of one hour each: values 10, 20, 40 at hour 0 of days 0..2
    f = AWSStyle(min_history_hours=1, decay=0.5, weekly=1.0, refresh_hours=1)
    for day, value in enumerate([10.0, 20.0, 40.0]):
        for hour in range(24):
            f.learn_one(value if hour == 0 else 0.0, t=(24 * day + hour) * 3600.0)
    # hour 0 of day 3: (40 + 0.5 * 20 + 0.25 * 10) / 1.75
    assert f.forecast(1).mean[0] == pytest.approx(52.5 / 1.75)


@pytest.mark.parametrize(
    ("make", "value", "why"),
    [
        (lambda: SeasonalNaive(period=1), 1, "a season of one step is the last value"),
        (lambda: EWMA(alpha=1.5), 1.5, "smoothing is a weight in [0, 1]"),
        (lambda: HoltWinters(periods=(4, 8, 16)), (4, 8, 16), "at most two seasons"),
        (lambda: HoltWinters(periods=(4, 8), gamma=(0.1,)), (0.1,), "one gamma per season"),
        (lambda: AWSStyle(min_history_hours=400), 400, "more history than is kept"),
    ],
)
def test_bad_parameters_name_themselves(make, value, why):
    with pytest.raises(ParameterError) as error:
        make()
    assert repr(value) in str(error.value), why


def test_bad_input_names_itself():
    f = LastValue().fit([1.0, 2.0])
    with pytest.raises(ParameterError, match="y=inf"):
        f.learn_one(math.inf, t=5.0)
    with pytest.raises(ParameterError, match=r"t=0\.0 is invalid; expected a time after"):
        f.learn_one(3.0, t=0.0)
    with pytest.raises(ParameterError, match="horizon=0"):
        f.forecast(0)
    with pytest.raises(ParameterError, match="level=100"):
        f.forecast(1, level=(100,))


def test_aws_style_averages_a_whole_hour_when_the_spacing_shrinks():
    f = AWSStyle()
    times = [*range(0, 3600, 60), 3555, 3570, 3585]  # one value a minute, then every 15 s
    times = sorted(set(times))
    values = [float(i) for i in range(len(times))]
    for t, y in zip(times, values, strict=True):
        f.learn_one(y, float(t))
    assert f.last_hour_ == 0 and f.hours_ == [pytest.approx(np.mean(values))]
    with pytest.raises(ParameterError, match="a time after the last one"):
        f.learn_one(1.0, 3000.0)


@pytest.mark.parametrize(
    "forecaster",
    [EWMA(), LastValue(), Drift(), SeasonalNaive(period=24), HoltWinters(periods=(24,))],
    ids=lambda f: type(f).__name__,
)
def test_a_gap_of_a_trillion_steps_starts_the_series_again_at_once(forecaster):
    forecaster.fit([float(v) for v in range(1, 60)], step=60.0)
    forecaster.learn_one(7.0, t=60.0 * 1e12)
    assert forecaster.t_ == 60.0 * 1e12 and forecaster.step_ == 60.0
    assert forecaster.n_ == 1 and forecaster.errors_ == 0


def test_a_gap_within_the_limit_is_still_filled():
    from elastic.forecast.base import MAX_GAP

    forecaster = LastValue().fit([1.0, 2.0, 3.0])
    forecaster.learn_one(4.0, t=float(MAX_GAP + 3))
    assert forecaster.n_ == 3 + MAX_GAP + 1


def test_an_aws_style_gap_of_a_trillion_hours_does_not_fill_memory():
    forecaster = AWSStyle()
    for hour in range(48):
        forecaster.learn_one(100.0, t=hour * 3600.0)
    forecaster.learn_one(100.0, t=1e12 * 3600.0)
    assert len(forecaster.hours_) <= 24 * forecaster.history_days + 1


@pytest.mark.parametrize("horizon", [10**9, 100_001])
def test_a_forecast_horizon_beyond_the_limit_is_refused(horizon):
    forecaster = SeasonalNaive(period=3).fit([1.0, 5.0, 9.0, 2.0, 6.0, 10.0])
    with pytest.raises(ParameterError, match=r"horizon=.* at most 100000 steps"):
        forecaster.forecast(horizon)
