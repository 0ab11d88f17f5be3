"""Scaling actions and how fast supply catches up with demand."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from elastic.errors import ParameterError

__all__ = ["scaling_actions", "time_to_scale_out"]


def scaling_actions(replicas: ArrayLike) -> dict[str, int]:
    """Changes of the replica count: all, up and down (a change of any size counts once).

    Examples
    --------
    >>> scaling_actions([2, 4, 4, 3, 6, 6])
    {'actions': 3, 'up': 2, 'down': 1}
    """
    steps = np.diff(np.asarray(replicas, dtype=np.float64).reshape(-1))
    up, down = int(np.count_nonzero(steps > 0)), int(np.count_nonzero(steps < 0))
    return {"actions": up + down, "up": up, "down": down}


def time_to_scale_out(time: ArrayLike, demand: ArrayLike, supply: ArrayLike) -> float:
    """Mean time from each rise of demand above supply until supply meets it again.

    An episode starts at the first sample where demand exceeds supply and
    ends at the first later sample where supply is at least demand; one
    still open at the end is left out. NaN when there is no episode.

    Examples
    --------
    Demand steps to 4 at t=10; supply reaches it at t=40. Later a step at 60, met at 70.

    >>> t = [0, 10, 20, 30, 40, 50, 60, 70]
    >>> time_to_scale_out(t, [2, 4, 4, 4, 4, 4, 6, 6], [2, 2, 3, 3, 4, 4, 4, 6])
    20.0
    """
    t = np.asarray(time, dtype=np.float64).reshape(-1)
    d = np.asarray(demand, dtype=np.float64).reshape(-1)
    s = np.asarray(supply, dtype=np.float64).reshape(-1)
    if not t.shape == d.shape == s.shape:
        raise ParameterError(
            "supply", s.shape, f"one value per time ({t.shape})", owner="time_to_scale_out"
        )
    short = d > s
    durations, began = [], None
    for index in range(len(t)):
        if short[index] and began is None:
            began = t[index]
        elif not short[index] and began is not None:
            durations.append(t[index] - began)
            began = None
    return float(np.mean(durations)) if durations else float("nan")
