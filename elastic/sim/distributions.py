"""Distributions of durations (boot times, service demands), sampled from a given generator."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from elastic.core.params import Params
from elastic.core.validate import check_number
from elastic.errors import ParameterError

__all__ = ["Constant", "Distribution", "Empirical", "Exponential", "LogNormal", "Uniform"]


class Distribution(Params, ABC):
    """A non-negative random duration, in seconds."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        """``size`` independent draws."""

    @property
    @abstractmethod
    def mean(self) -> float:
        """The expected value."""

    @property
    def scv(self) -> float:
        """Squared coefficient of variation, ``variance / mean**2`` (0 when the mean is 0)."""
        square = self.mean**2
        return self.variance / square if square > 0 else 0.0

    @property
    @abstractmethod
    def variance(self) -> float:
        """The variance."""

    def one(self, rng: np.random.Generator) -> float:
        """One draw."""
        return float(self.sample(rng, 1)[0])


class Constant(Distribution):
    """Always ``value``.

    Examples
    --------
    >>> Constant(2.5).sample(np.random.default_rng(0), 2).tolist()
    [2.5, 2.5]
    """

    def __init__(self, value: float) -> None:
        self.value = check_number(value, "value", owner="Constant", ge=0)

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        return np.full(size, self.value)

    def one(self, rng: np.random.Generator) -> float:
        return self.value

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0


class Uniform(Distribution):
    """Uniform on ``[low, high]``.

    Examples
    --------
    >>> Uniform(60, 120).mean
    90.0
    """

    def __init__(self, low: float, high: float) -> None:
        self.low = check_number(low, "low", owner="Uniform", ge=0)
        self.high = check_number(high, "high", owner="Uniform", ge=self.low)

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        return rng.uniform(self.low, self.high, size)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12


class Exponential(Distribution):
    """Exponential with the given ``mean`` (rate ``1 / mean``).

    Examples
    --------
    >>> round(float(Exponential(0.1).sample(np.random.default_rng(0), 100_000).mean()), 2)
    0.1
    >>> Exponential(0.1).scv
    1.0
    """

    def __init__(self, mean: float) -> None:
        self._mean = check_number(mean, "mean", owner="Exponential", gt=0)

    def get_params(self) -> dict[str, float]:
        return {"mean": self._mean}

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        return rng.exponential(self._mean, size)

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def variance(self) -> float:
        return self._mean**2


class LogNormal(Distribution):
    """Log-normal with the given ``median`` and ``sigma`` (of the underlying normal).

    Examples
    --------
    >>> round(LogNormal(60, 0.5).mean, 2), round(LogNormal(60, 0.5).scv, 3)
    (67.99, 0.284)
    """

    def __init__(self, median: float, sigma: float) -> None:
        self.median = check_number(median, "median", owner="LogNormal", gt=0)
        self.sigma = check_number(sigma, "sigma", owner="LogNormal", ge=0)
        try:
            moments = self.variance
        except OverflowError:
            moments = math.inf
        if not math.isfinite(moments):
            raise ParameterError(
                "sigma",
                sigma,
                "a sigma for which the mean and variance are finite",
                owner="LogNormal",
            )

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        return rng.lognormal(np.log(self.median), self.sigma, size)

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    @property
    def variance(self) -> float:
        return math.expm1(self.sigma**2) * self.mean**2


class Empirical(Distribution):
    """Draws, with replacement, from observed ``values``.

    Examples
    --------
    >>> Empirical([1.0, 2.0, 6.0]).mean
    3.0
    """

    def __init__(self, values: Sequence[float]) -> None:
        data = np.asarray(values, dtype=np.float64)
        if data.ndim != 1 or len(data) == 0 or not np.all(np.isfinite(data)) or np.any(data < 0):
            raise ParameterError(
                "values", values, "a non-empty list of finite durations >= 0", owner="Empirical"
            )
        with np.errstate(over="ignore"):
            finite = bool(np.isfinite(data.mean()) and np.isfinite(data.var()))
        if not finite:
            raise ParameterError(
                "values", values, "durations whose mean and variance are finite", owner="Empirical"
            )
        self.values = tuple(data.tolist())
        self._data = data

    def sample(self, rng: np.random.Generator, size: int) -> NDArray[np.float64]:
        return rng.choice(self._data, size)

    @property
    def mean(self) -> float:
        return float(self._data.mean())

    @property
    def variance(self) -> float:
        return float(self._data.var())
