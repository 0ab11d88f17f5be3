"""Small real traces shipped with elastic (see ``README.md`` in this folder for sources)."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from elastic.errors import ParameterError

__all__ = ["TRACES", "load_trace"]

TRACES = {"nasa-1995-jul09": "nasa_kennedy_1995_jul09_per_minute.csv.gz"}


def load_trace(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(time_s, count)`` arrays of a shipped trace.

    Examples
    --------
    >>> t, requests = load_trace("nasa-1995-jul09")
    >>> len(t), int(requests.sum()), int(requests.max())
    (10080, 544913, 405)
    """
    if name not in TRACES:
        raise ParameterError(
            "name", name, "one of " + ", ".join(map(repr, TRACES)), owner="load_trace"
        )
    with (
        resources.files(__name__).joinpath(TRACES[name]).open("rb") as raw,
        gzip.open(raw, "rt") as text,
    ):
        table = np.loadtxt(text, delimiter=",", skiprows=1, dtype=np.int64)
    return table[:, 0], table[:, 1]
