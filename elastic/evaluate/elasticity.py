"""SPEC Research Group elasticity metrics: how well supply follows demand.

``demand`` and ``supply`` are resource amounts (replicas) sampled on a grid;
``dt`` is the length of each sample (one number, or one per sample). Sources:
Herbst et al., "Ready for Rain? A View from SPEC Research on the Future of
Cloud Metrics", SPEC-RG-2016-01 (arXiv:1604.03470); Herbst et al., "Quantifying
Cloud Performance and Dependability", ACM TOMPECS 3(4), 2018; the BUNGEE
implementation (github.com/NikolasHerbst/BUNGEE, ``metric/*.java``). The
formulas are in ``docs/evaluation.md``.

The accuracies are normalised by demand (percent of what was needed). A
sample with zero demand has no share to be wrong by: it is left out of the
normalised sums and of their ``T``. ``normalised=False`` gives the BUNGEE
2015 variant: the area between the curves in resource units, per unit of time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from elastic.errors import ParameterError

__all__ = [
    "SPEEDUP_METRICS",
    "elastic_speedup",
    "instability",
    "jitter",
    "tau_o",
    "tau_u",
    "theta_o",
    "theta_u",
]

FloatArray = NDArray[np.float64]
SPEEDUP_METRICS = ("theta_u", "theta_o", "tau_u", "tau_o")


def _series(
    demand: ArrayLike, supply: ArrayLike, dt: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    d = np.asarray(demand, dtype=np.float64).reshape(-1)
    s = np.asarray(supply, dtype=np.float64).reshape(-1)
    if d.shape != s.shape or len(d) == 0:
        raise ParameterError(
            "supply",
            np.shape(supply),
            f"as many samples as demand ({len(d)}), at least one",
            owner="elasticity",
        )
    step = np.broadcast_to(np.asarray(1.0 if dt is None else dt, dtype=np.float64), d.shape)
    for name, values in (("demand", d), ("supply", s)):
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ParameterError(name, values, "finite amounts >= 0", owner="elasticity")
    if not np.all(np.isfinite(step)) or np.any(step <= 0):
        raise ParameterError("dt", dt, "sample lengths > 0", owner="elasticity")
    return d, s, step


def _accuracy(gap: FloatArray, d: FloatArray, step: FloatArray, normalised: bool) -> float:
    if normalised:
        needed = d > 0
        if not needed.any():
            return 0.0
        return float(100 * (gap[needed] / d[needed] * step[needed]).sum() / step[needed].sum())
    return float((gap * step).sum() / step.sum())


def theta_u(
    demand: ArrayLike, supply: ArrayLike, dt: ArrayLike | None = None, *, normalised: bool = True
) -> float:
    """Under-provisioning accuracy ``θ_U = 100/T Σ max(d - s, 0) / d Δt`` (percent).

    Examples
    --------
    Demand 4 for two samples, supply 2 then 4: half the demand missing half the time.

    >>> theta_u([4, 4], [2, 4])
    25.0
    >>> theta_u([4, 4], [2, 4], normalised=False)  # BUNGEE: 1 replica short on average
    1.0
    """
    d, s, step = _series(demand, supply, dt)
    return _accuracy(np.maximum(d - s, 0), d, step, normalised)


def theta_o(
    demand: ArrayLike, supply: ArrayLike, dt: ArrayLike | None = None, *, normalised: bool = True
) -> float:
    """Over-provisioning accuracy ``θ_O = 100/T Σ max(s - d, 0) / d Δt`` (percent).

    Examples
    --------
    >>> theta_o([2, 4], [4, 4])
    50.0
    """
    d, s, step = _series(demand, supply, dt)
    return _accuracy(np.maximum(s - d, 0), d, step, normalised)


def tau_u(demand: ArrayLike, supply: ArrayLike, dt: ArrayLike | None = None) -> float:
    """Under-provisioning timeshare ``τ_U = 100/T Σ [d > s] Δt`` (percent of time).

    Examples
    --------
    >>> tau_u([4, 4, 4, 4], [2, 4, 5, 3], dt=[10, 10, 10, 20])
    60.0
    """
    d, s, step = _series(demand, supply, dt)
    return float(100 * (step * (d > s)).sum() / step.sum())


def tau_o(demand: ArrayLike, supply: ArrayLike, dt: ArrayLike | None = None) -> float:
    """Over-provisioning timeshare ``τ_O = 100/T Σ [s > d] Δt`` (percent of time).

    Examples
    --------
    >>> tau_o([4, 4, 4, 4], [2, 4, 5, 3])
    25.0
    """
    d, s, step = _series(demand, supply, dt)
    return float(100 * (step * (s > d)).sum() / step.sum())


def instability(demand: ArrayLike, supply: ArrayLike, dt: ArrayLike | None = None) -> float:
    """Instability (upsilon): percent of time supply moves otherwise than demand.

    ``upsilon = 100/(T - Δt_1) Σ_{t>=2} min(|sgn(Δs_t) - sgn(Δd_t)|, 1) Δt_t``.

    Examples
    --------
    Demand rises, rises, falls; supply rises, stays, falls: one step in three differs.

    >>> round(instability([1, 2, 3, 2], [1, 2, 2, 1]), 2)
    33.33
    """
    d, s, step = _series(demand, supply, dt)
    if len(d) < 2:
        return 0.0
    differs = np.sign(np.diff(s)) != np.sign(np.diff(d))
    return float(100 * (step[1:] * differs).sum() / step[1:].sum())


def jitter(
    demand: ArrayLike,
    supply: ArrayLike,
    dt: ArrayLike | None = None,
    *,
    per: float = 60.0,
    units: bool = True,
) -> float:
    """Jitter ``j = (E_S - E_D) / T``: adaptations of supply minus those of demand, per ``per`` s.

    With ``units`` (BUNGEE), an adaptation of k replicas counts k; else 1.
    Negative: supply too inert; positive: it moves too often.

    Examples
    --------
    Over 4 minutes, demand moves by 2 units and supply by 6 (oscillating): 1 a minute too many.

    >>> jitter([1, 2, 3, 3], [1, 3, 1, 3], dt=60.0)
    1.0
    """
    d, s, step = _series(demand, supply, dt)
    count = (
        (lambda x: np.abs(np.diff(x)).sum()) if units else (lambda x: np.count_nonzero(np.diff(x)))
    )
    return float((count(s) - count(d)) / step.sum() * per)


def elastic_speedup(
    candidate: Mapping[str, float],
    baseline: Mapping[str, float],
    metrics: tuple[str, ...] = SPEEDUP_METRICS,
) -> float:
    """Elastic speedup ``ε_k = (Π_m m_a / m_k)^(1/|M|)``: above 1, ``candidate`` does better.

    ``M`` is θ_U, θ_O, τ_U, τ_O by default. A metric that is 0 for both
    counts as a tie (ratio 1); 0 for the candidate only makes it infinitely
    better.

    Examples
    --------
    Half the under-provisioning, the same otherwise: ``2 ** (1/4)``.

    >>> base = {"theta_u": 10, "theta_o": 20, "tau_u": 30, "tau_o": 40}
    >>> better = {**base, "theta_u": 5}
    >>> round(elastic_speedup(better, base), 4)
    1.1892
    """
    logs = []
    for name in metrics:
        if name not in candidate or name not in baseline:
            raise ParameterError(
                "metrics", name, "a metric both runs have", owner="elastic_speedup"
            )
        ours, theirs = float(candidate[name]), float(baseline[name])
        if ours == theirs:
            continue
        if ours == 0:
            return math.inf
        if theirs == 0:
            return 0.0
        logs.append(math.log(theirs / ours))
    return math.exp(sum(logs) / len(metrics))
