"""One seed, named random streams: the same seed gives the same run in any process.

Each part of a run draws from its own generator (``"arrivals"``,
``"service"``, ``"boot"``, ``"failures"``, ...), derived from the run's seed
and the stream's name through :class:`numpy.random.SeedSequence`. A new
stream, or more draws from one, leaves every other stream unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np

from elastic.core.validate import check_int

__all__ = ["Streams"]


class Streams:
    """Named child generators of one seed.

    Examples
    --------
    >>> a, b = Streams(7), Streams(7)
    >>> a.generator("arrivals").random() == b.generator("arrivals").random()
    True
    >>> a.generator("arrivals").random() == a.generator("service").random()
    False
    """

    def __init__(self, seed: int) -> None:
        self.seed = check_int(seed, "seed", owner="Streams", ge=0)

    def generator(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (a fresh one on each call)."""
        # crc32, not hash(): str hashes change from one process to the next
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))
