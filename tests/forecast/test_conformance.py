"""Every forecaster the package exports passes the conformance checks."""

import numpy as np
import pytest

import elastic.forecast
from elastic import checks
from elastic.core.params import clone
from elastic.forecast import BaseForecaster, External


def median_of_last_day(history, horizon):
    return np.full(horizon, np.median(history[-24:]))


CLASSES = [
    obj
    for name in elastic.forecast.__all__
    if isinstance(obj := getattr(elastic.forecast, name), type)
    and issubclass(obj, BaseForecaster)
    and obj not in (BaseForecaster, External)
]
INSTANCES = [cls(**params) for cls in CLASSES for params in cls.conformance_params()] + [
    External(median_of_last_day, min_samples=24, window=200)
]
CASES = [
    pytest.param(forecaster, check, id=f"{forecaster!r}-{check.__name__}")
    for forecaster in INSTANCES
    for check in checks.yield_forecaster_checks(forecaster)
]


def test_every_forecaster_has_test_params():
    assert {cls.__name__ for cls in CLASSES} >= {
        "LastValue",
        "Drift",
        "EWMA",
        "SeasonalNaive",
        "HoltWinters",
        "AWSStyle",
    }
    for cls in CLASSES:
        assert cls.conformance_params(), f"{cls.__name__} has no conformance_params()"


@pytest.mark.parametrize(("forecaster", "check"), CASES)
def test_conformance(forecaster, check):
    check(clone(forecaster))


class Leaky(elastic.forecast.LastValue):
    """Counts its forecasts: an impure forecast."""

    def _mean(self, horizon):
        self.calls_ = getattr(self, "calls_", 0) + 1
        return super()._mean(horizon)


def test_the_checks_catch_an_impure_forecaster():
    with pytest.raises(AssertionError, match="changed the forecaster"):
        checks.check_forecast_is_pure(Leaky())
