"""Layer 1: forecasters with point forecasts and prediction intervals (numpy only)."""

from elastic.core.types import Forecast
from elastic.forecast.accuracy import Evaluation, mae, mase, rolling_origin, smape
from elastic.forecast.adapter import External
from elastic.forecast.aws import AWSStyle
from elastic.forecast.base import BaseForecaster
from elastic.forecast.naive import Drift, LastValue, SeasonalNaive
from elastic.forecast.smoothing import EWMA, HoltWinters

__all__ = [
    "EWMA",
    "AWSStyle",
    "BaseForecaster",
    "Drift",
    "Evaluation",
    "External",
    "Forecast",
    "HoltWinters",
    "LastValue",
    "SeasonalNaive",
    "mae",
    "mase",
    "rolling_origin",
    "smape",
]
