"""Karpenter's provisioning simulation: first-fit decreasing onto existing nodes and node claims.

Source: kubernetes-sigs/karpenter ``pkg/controllers/provisioning/scheduling/``:
``queue.go`` (pods sorted by CPU, then memory, descending), ``scheduler.go``
(``add``: an existing or in-flight node first, in order; then a node claim
planned in this run, fewest pods first; then a new claim from the first
NodePool, by weight, that can take the pod), ``nodeclaim.go`` (a claim keeps
every instance type on which all its pods, plus the daemon pods that would
run there, still fit), ``scheduler.go`` ``addToNewNodeClaim`` (NodePool limits:
instance types that would breach the remaining limits are left out, and a new
claim reserves the largest capacity among its options, ``subtractMax``).

Vectorized with numpy: identical pods (one spec) are placed as a run — on
existing nodes by a cumulative fill in node order, on claims in bulk while the
chosen claim stays first in the fewest-pods order — which is exactly what
placing them one by one would do. Consecutive runs of one spec (a
consolidation's queue alternates the kinds of identical pods) are placed as
one run, and each placement is reported under the run it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["Claim", "Offerings", "PackResult", "pack"]

_BIG = np.iinfo(np.int64).max // 4


@dataclass(frozen=True, slots=True)
class Offerings:
    """What the packer needs of every node template, as arrays indexed by template.

    ``usable``: allocatable minus the daemon pods' requests on such a node;
    ``capacity``: (cpu millicores, memory bytes) that NodePool limits count;
    ``rank``: price order (0 = cheapest; ties by template index); ``spot``:
    spot capacity; ``pools``: per NodePool (in weight order) the template
    indices it may launch.
    """

    usable: NDArray[np.int64]
    capacity: NDArray[np.int64]
    rank: NDArray[np.int64]
    spot: NDArray[np.bool_]
    pools: tuple[NDArray[np.int64], ...]


@dataclass(slots=True)
class Claim:
    """A node planned in this run: its NodePool, pods, what they request, the options left."""

    pool: int
    options: NDArray[np.bool_]
    requested: NDArray[np.int64]
    pods: int = 0
    specs: dict[int, int] = field(default_factory=dict)

    def choice(self, offerings: Offerings) -> int:
        """The template the claim launches: the cheapest option, Spot when any Spot option
        remains (Karpenter prefers Spot when a NodePool allows both)."""
        options = (
            self.options & offerings.spot if (self.options & offerings.spot).any() else self.options
        )
        candidates = np.flatnonzero(options)
        return int(candidates[np.argmin(offerings.rank[candidates])])


@dataclass(slots=True)
class PackResult:
    """Where the pods went: ``on_nodes`` (spec, position in the ``headroom`` given, count),
    ``claims``, and ``unplaced`` (spec, count, why); ``node_runs`` and ``unplaced_runs``
    give, for each entry of ``on_nodes`` and ``unplaced``, the index of its run."""

    on_nodes: list[tuple[int, int, int]]
    claims: list[Claim]
    unplaced: list[tuple[int, int, str]]
    node_runs: list[int] = field(default_factory=list)
    unplaced_runs: list[int] = field(default_factory=list)

    @property
    def placed(self) -> int:
        return sum(c for _, _, c in self.on_nodes) + sum(c.pods for c in self.claims)


def _counts(room: NDArray[np.int64], request: NDArray[np.int64]) -> NDArray[np.int64]:
    """How many pods of ``request`` fit in each row of ``room`` (rows x 3)."""
    safe = np.where(request > 0, request, 1)
    per = np.where(request > 0, room // safe, _BIG)
    per = np.where(room < 0, -1, per)
    counts: NDArray[np.int64] = per.min(axis=1)
    return np.maximum(counts, 0)


def pack(
    runs: Sequence[tuple[int, int]],
    requests: NDArray[np.int64],
    admits: NDArray[np.bool_],
    offerings: Offerings,
    headroom: NDArray[np.int64],
    node_ok: NDArray[np.bool_],
    node_template: NDArray[np.int64],
    limits: NDArray[np.int64],
) -> PackResult:
    """Place ``runs`` of identical pods, in order, first-fit.

    Parameters
    ----------
    runs
        ``(spec index, count)`` in queue order (sorted by CPU, then memory, descending).
    requests, admits
        ``ClusterState.requests`` and ``ClusterState.admits``.
    offerings
        The templates' arrays and the NodePools' options.
    headroom
        Free resources per node row, in the order nodes are tried (changed in place).
    node_ok, node_template
        Per row: a node pods may be placed on (ready or in flight, not cordoned),
        and its template index.
    limits
        Per NodePool: (cpu millicores, memory bytes) it may still launch (``_BIG``
        when unlimited); changed in place.

    Examples
    --------
    >>> import numpy as np
    >>> offers = Offerings(usable=np.array([[2000, 8, 10], [4000, 16, 20]]),
    ...                    capacity=np.array([[2000, 8], [4000, 16]]),
    ...                    rank=np.array([0, 1]), spot=np.array([False, False]),
    ...                    pools=(np.array([0, 1]),))
    >>> result = pack([(0, 3)], np.array([[1000, 1, 1]]), np.array([[True, True]]), offers,
    ...               np.zeros((0, 3), np.int64), np.zeros(0, bool), np.zeros(0, np.int64),
    ...               np.array([[10**12, 10**12]]))
    >>> [(c.pods, c.choice(offers)) for c in result.claims]   # 3 pods: only the 4-CPU type fits
    [(3, 1)]
    """
    on_nodes: list[tuple[int, int, int]] = []
    claims: list[Claim] = []
    unplaced: list[tuple[int, int, str]] = []
    n_templates = len(offerings.rank)
    # claim arrays (rows = claims, in creation order)
    slack_max = np.zeros((0, 3), dtype=np.int64)
    counts = np.zeros(0, dtype=np.int64)
    usable = offerings.usable
    node_runs: list[int] = []
    unplaced_runs: list[int] = []
    for spec, total, parts in _merged(runs):
        request = requests[spec]
        left = total
        # 1. existing and in-flight nodes, first fit in row order
        if len(headroom):
            ok = node_ok & admits[spec, node_template]
            fit = np.where(ok, _counts(headroom, request), 0)
            if fit.any():
                before = np.cumsum(fit) - fit
                take = np.clip(left - before, 0, fit)
                rows = np.flatnonzero(take)
                for row, count, run in _split(rows.tolist(), take[rows].tolist(), parts):
                    on_nodes.append((spec, row, count))
                    node_runs.append(run)
                headroom -= take[:, None] * request[None, :]
                left -= int(take.sum())
        # 2. claims planned in this run, fewest pods first (ties: the older claim)
        admitted = admits[spec]
        while left > 0 and len(claims):
            maybe = np.flatnonzero((slack_max >= request).all(axis=1))
            if not len(maybe):
                break
            order = maybe[np.lexsort((maybe, counts[maybe]))]
            chosen, position, fits = _first_fit(claims, order, admitted, usable, request)
            if chosen < 0:
                break
            claim = claims[chosen]
            take = min(left, int(fits.max()))
            # stay first only while no claim after it in the order has fewer pods
            later = order[position + 1 :]
            if len(later):
                nxt = int(later[0])
                bound = int(counts[nxt]) - claim.pods + (1 if chosen < nxt else 0)
                take = max(1, min(take, bound))
            _add(claim, spec, take, request, fits)
            counts[chosen] = claim.pods
            slack_max[chosen] = _slack(claim, usable)
            left -= take
        # 3. new claims from the first NodePool (by weight) that can take the pod
        while left > 0:
            made = False
            for pool, indices in enumerate(offerings.pools):
                options = np.zeros(n_templates, dtype=bool)
                options[indices] = True
                options &= admitted
                options &= (offerings.capacity <= limits[pool]).all(axis=1)
                if not options.any():
                    continue
                fits = np.where(options, _counts(usable, request), 0)
                if fits.max() < 1:
                    continue
                claim = Claim(pool, options, np.zeros(3, dtype=np.int64))
                take = min(left, int(fits.max()))
                # upstream reserves the largest option left after the claim's first pod
                limits[pool] -= offerings.capacity[fits >= 1].max(axis=0)
                _add(claim, spec, take, request, fits)
                claims.append(claim)
                counts = np.append(counts, claim.pods)
                slack_max = np.vstack([slack_max, _slack(claim, usable)[None, :]])
                left -= take
                made = True
                break
            if not made:
                why = _why(spec, request, admits, offerings, limits)
                # the last pods of the runs are left (each later one finds what this one did)
                start = 0
                for run, count in parts:
                    last = max(0, start + count - max(start, total - left))
                    if last:
                        unplaced.append((spec, last, why))
                        unplaced_runs.append(run)
                    start += count
                break
    return PackResult(on_nodes, claims, unplaced, node_runs, unplaced_runs)


def _merged(runs: Sequence[tuple[int, int]]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Consecutive runs of one spec packed as one: ``(spec, count, [(run, count), ...])``.
    Their pods are identical and placed one after the other, so the placements are the same;
    only the run each placement is reported for is kept."""
    specs: list[int] = []
    parts: list[list[tuple[int, int]]] = []
    for run, (spec, count) in enumerate(runs):
        if not specs or specs[-1] != spec:
            specs.append(spec)
            parts.append([])
        parts[-1].append((run, count))
    return [(spec, sum(c for _, c in p), p) for spec, p in zip(specs, parts, strict=True)]


def _split(
    rows: list[int], counts: list[int], parts: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """``(row, count, run)``: the pods placed on ``rows`` (in order), shared out among the
    runs ``parts`` in order (the first pods are the first run's)."""
    if len(parts) == 1:
        return [(row, count, parts[0][0]) for row, count in zip(rows, counts, strict=True)]
    out = []
    index, (run, room) = 0, parts[0]
    for row, count in zip(rows, counts, strict=True):
        while count:
            while not room:
                index += 1
                run, room = parts[index]
            given = min(count, room)
            out.append((row, given, run))
            count -= given
            room -= given
    return out


def _first_fit(
    claims: list[Claim],
    order: NDArray[np.int64],
    admitted: NDArray[np.bool_],
    usable: NDArray[np.int64],
    request: NDArray[np.int64],
) -> tuple[int, int, NDArray[np.int64]]:
    """The first claim in ``order`` a pod fits on: (claim index, position, pods per option)."""
    for position, index in enumerate(order.tolist()):
        options = claims[index].options & admitted
        if not options.any():
            continue
        fits = np.where(options, _counts(usable - claims[index].requested, request), 0)
        if fits.max() >= 1:
            return index, position, fits
    return -1, -1, np.zeros(0, dtype=np.int64)


def _add(
    claim: Claim, spec: int, take: int, request: NDArray[np.int64], fits: NDArray[np.int64]
) -> None:
    claim.options = fits >= take
    claim.requested = claim.requested + take * request
    claim.pods += take
    claim.specs[spec] = claim.specs.get(spec, 0) + take


def _slack(claim: Claim, usable: NDArray[np.int64]) -> NDArray[np.int64]:
    """Per resource, the most any remaining option has left (a quick reject test)."""
    slack: NDArray[np.int64] = (usable[claim.options] - claim.requested).max(axis=0)
    return slack


def _why(
    spec: int,
    request: NDArray[np.int64],
    admits: NDArray[np.bool_],
    offerings: Offerings,
    limits: NDArray[np.int64],
) -> str:
    pooled = np.zeros(len(offerings.rank), dtype=bool)
    for indices in offerings.pools:
        pooled[indices] = True
    if not pooled.any():
        return "no NodePool has an offering"
    if not (admits[spec] & pooled).any():
        return "no NodePool offering admits it (requirements, node selector, taints, or size)"
    room = (offerings.usable >= request).all(axis=1)
    if not (admits[spec] & pooled & room).any():
        return "it fits no offering once the daemon pods' requests are counted"
    return "NodePool limits reached"
