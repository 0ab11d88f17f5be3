"""Shadow mode: candidate loops decide beside the live one, on the same observations, and never act.

Each candidate runs closed-loop on a *virtual* fleet: its own replica count,
which follows its decisions at once (new replicas ready after ``startup``
seconds), and the live observation re-expressed for that fleet. The work
the live fleet does is what the candidate's would have had to do: a
per-replica metric (a utilization, requests per replica) is rescaled from
the live ready replicas to the candidate's; totals (requests per second, a
queue length) are taken as they are. That is the simulator's fluid model
of a fleet, applied to real readings, so a candidate's costs and
under-provisioning are estimates, said as such in the report.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from elastic.core.loop import DecisionLoop
from elastic.core.types import Decision, Observation, Reason
from elastic.core.validate import check_int, check_number
from elastic.errors import ParameterError
from elastic.evaluate.elasticity import theta_o, theta_u
from elastic.evaluate.scaling import scaling_actions

__all__ = ["Shadow", "ShadowStep"]

LIVE = "live"


@dataclass(frozen=True)
class ShadowStep:
    """What one candidate made of one observation.

    ``replicas`` and ``ready`` are its virtual fleet before the step,
    ``desired`` its decision, ``live`` the live loop's decision at the same
    step, ``demand`` the replicas' worth of work seen (``None`` when the
    demand metric was missing).
    """

    time: float
    candidate: str
    replicas: int
    ready: int
    desired: int
    live: int
    reason: Reason
    detail: str
    demand: float | None

    @property
    def disagrees(self) -> bool:
        """Whether the candidate decided another count than the live loop."""
        return self.desired != self.live


@dataclass
class _Fleet:
    replicas: int
    arriving: list[tuple[float, int]] = field(default_factory=list)  # (ready at, count)

    def ready(self, now: float) -> int:
        self.arriving = [(at, n) for at, n in self.arriving if at > now]
        return self.replicas - sum(n for _, n in self.arriving)

    def scale(self, replicas: int, now: float, startup: float) -> None:
        if replicas > self.replicas and startup > 0:
            self.arriving.append((now + startup, replicas - self.replicas))
        elif replicas < self.replicas:  # the newest go first
            drop = self.replicas - replicas
            while drop and self.arriving:
                at, n = self.arriving.pop()
                taken = min(n, drop)
                drop -= taken
                if n > taken:
                    self.arriving.append((at, n - taken))
        self.replicas = replicas


class Shadow:
    """Candidate loops beside a live one: the same observations, no actions.

    Parameters
    ----------
    candidates
        Name -> a :class:`~elastic.DecisionLoop` of its own (not shared with
        the live controller or another candidate).
    per_replica
        Metrics that are averages over the ready replicas (rescaled for a
        candidate's fleet); the others are totals, taken as they are.
    demand
        ``(metric, per_replica_capacity)``: the replicas' worth of work is
        ``metric * live ready / capacity`` (``("cpu", 100.0)``: CPU
        utilization in percent); ``None`` to estimate no demand.
    startup
        Seconds a candidate's new replicas take to be ready.
    price
        Price of a replica-hour, for the report's estimated cost; ``None``
        for none.
    keep
        The steps kept for the report (the oldest go first beyond it).

    Candidates are not checkpointed: after a restart they start anew,
    while the live loop is restored.

    Examples
    --------
    >>> from elastic import DecisionLoop, Observation
    >>> from elastic.policies import TargetTracking
    >>> shadow = Shadow({"tight": DecisionLoop(TargetTracking("cpu", 40.0),
    ...                                        min_replicas=1, max_replicas=20)})
    >>> live = DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=20)
    >>> obs = Observation(0.0, 4, {"cpu": 60.0})
    >>> (step,) = shadow.step(obs, live.step(obs)).values()
    >>> step.live, step.desired, step.disagrees
    (4, 6, True)
    """

    def __init__(
        self,
        candidates: Mapping[str, DecisionLoop],
        *,
        per_replica: Collection[str] = ("cpu",),
        demand: tuple[str, float] | None = ("cpu", 100.0),
        startup: float = 0.0,
        price: float | None = None,
        keep: int = 1_000_000,
    ) -> None:
        owner = "Shadow"
        if not isinstance(candidates, Mapping) or not candidates:
            raise ParameterError(
                "candidates", candidates, "a mapping of names to DecisionLoops", owner=owner
            )
        for name, loop in candidates.items():
            if not isinstance(loop, DecisionLoop):
                raise ParameterError(f"candidates[{name!r}]", loop, "a DecisionLoop", owner=owner)
            if name == LIVE:
                raise ParameterError("candidates", name, f"a name other than {LIVE!r}", owner=owner)
        if len({id(loop) for loop in candidates.values()}) != len(candidates):
            raise ParameterError(
                "candidates", list(candidates), "a loop of its own for each candidate", owner=owner
            )
        if isinstance(per_replica, str) or not all(isinstance(n, str) for n in per_replica):
            raise ParameterError(
                "per_replica", per_replica, "a collection of metric names, e.g. ('cpu',)",
                owner=owner,
            )  # fmt: skip
        if demand is not None:
            if not isinstance(demand, tuple) or len(demand) != 2 or not isinstance(demand[0], str):
                raise ParameterError(
                    "demand", demand, "None or (metric name, capacity of a replica)", owner=owner
                )
            check_number(demand[1], "demand[1]", owner=owner, gt=0)
        keep = check_int(keep, "keep", owner=owner, ge=2)
        self.candidates = dict(candidates)
        self.per_replica = frozenset(per_replica)
        self.demand = demand
        self.startup = check_number(startup, "startup", owner=owner, ge=0)
        self.price = None if price is None else check_number(price, "price", owner=owner, ge=0)
        self.keep = keep
        self.steps: list[dict[str, ShadowStep]] = []
        self._live: list[tuple[float, int, int, float | None]] = []  # time, desired, ready, demand
        self._fleets: dict[str, _Fleet] = {}

    def step(self, observation: Observation, live: Decision) -> dict[str, ShadowStep]:
        """Let every candidate decide on ``observation``; ``live`` is the live loop's decision.

        A candidate that raises holds its count (``Reason.POLICY_ERROR``): a
        shadow never stops the live controller.
        """
        now = observation.time
        if self._live and now < self._live[-1][0]:
            raise ParameterError(
                "observation.time", now, f"a time >= that of the previous step "
                f"({self._live[-1][0]}): one Shadow follows one controller",
                owner="Shadow.step",
            )  # fmt: skip
        live_ready = observation.ready_replicas
        demand = self._demand(observation, live_ready)
        self._live.append((now, live.replicas, live_ready, demand))
        made: dict[str, ShadowStep] = {}
        for name, loop in self.candidates.items():
            fleet = self._fleets.setdefault(name, _Fleet(observation.replicas))
            ready = fleet.ready(now)
            try:
                seen = self._rescaled(observation, fleet.replicas, ready, live_ready)
                decision = loop.propose(seen)
            except Exception as error:
                made[name] = ShadowStep(
                    now, name, fleet.replicas, ready, fleet.replicas, live.replicas,
                    Reason.POLICY_ERROR, f"{type(error).__name__}: {error}", demand,
                )  # fmt: skip
                continue
            before = fleet.replicas
            loop.acknowledge(decision)
            fleet.scale(decision.replicas, now, self.startup)
            detail = decision.stages[0].detail if decision.stages else ""
            made[name] = ShadowStep(
                now, name, before, ready, decision.replicas, live.replicas,
                decision.reason, detail, demand,
            )  # fmt: skip
        self.steps.append(made)
        if len(self.steps) > self.keep:  # the report covers the last ``keep`` steps
            del self.steps[0], self._live[0]
        return made

    def _demand(self, observation: Observation, ready: int) -> float | None:
        if self.demand is None:
            return None
        metric, capacity = self.demand
        value = observation.metric(metric, nonnegative=True)
        if value is None:
            return None
        return value * ready / capacity if metric in self.per_replica else value / capacity

    def _rescaled(
        self, observation: Observation, replicas: int, ready: int, live_ready: int
    ) -> Observation:
        """The live observation as the candidate's fleet would have seen it."""
        metrics: dict[str, float] = {}
        for name, value in observation.metrics.items():
            if name in self.per_replica and math.isfinite(value):
                metrics[name] = value * live_ready / ready if ready else math.nan
            else:
                metrics[name] = value
        return replace(
            observation,
            replicas=replicas,
            ready=ready,
            pending=replicas - ready,
            warming=0,
            terminating=0,
            metrics=metrics,
        )

    def disagreements(self, candidate: str) -> list[ShadowStep]:
        """The steps where ``candidate`` decided another count than the live loop, and why."""
        return [s[candidate] for s in self.steps if candidate in s and s[candidate].disagrees]

    def report(self) -> list[dict[str, Any]]:
        """One row for the live loop and one per candidate: steps, disagreements, scaling
        actions, replica-hours, estimated cost, under-provisioned share of the time,
        and the SPEC accuracies ``theta_u``/``theta_o`` against the estimated demand."""
        if len(self._live) < 2:
            return []
        times = np.array([t for t, *_ in self._live])
        dt = np.diff(times)
        demand = np.array([math.nan if d is None else d for *_, d in self._live])[:-1]
        known = np.isfinite(demand)
        rows = [self._row(LIVE, [d for _, d, _, _ in self._live], [r for _, _, r, _ in self._live],
                          dt, demand, known, 0)]  # fmt: skip
        for name in self.candidates:
            taken = [s[name] for s in self.steps]
            rows.append(
                self._row(
                    name,
                    [s.desired for s in taken],
                    [s.ready for s in taken],
                    dt,
                    demand,
                    known,
                    sum(s.disagrees for s in taken),
                )
            )
        return rows

    def _row(
        self,
        name: str,
        desired: Sequence[int],
        ready: Sequence[int],
        dt: np.ndarray,
        demand: np.ndarray,
        known: np.ndarray,
        disagreements: int,
    ) -> dict[str, Any]:
        replicas = np.asarray(desired, dtype=np.float64)[:-1]  # held until the next step
        supply = np.asarray(ready, dtype=np.float64)[:-1]
        hours = float((replicas * dt).sum()) / 3600
        short = known & (demand > supply)
        share = float(dt[short].sum() / dt[known].sum()) if known.any() else math.nan
        accuracy: dict[str, float] = {"theta_u": math.nan, "theta_o": math.nan}
        if known.any() and (demand[known] > 0).all():
            accuracy = {
                "theta_u": theta_u(demand[known], supply[known], dt[known]),
                "theta_o": theta_o(demand[known], supply[known], dt[known]),
            }
        return {
            "loop": name,
            "steps": len(desired),
            "disagreements": disagreements,
            "scaling_actions": scaling_actions(desired)["actions"],
            "mean_replicas": float(np.mean(desired)),
            "replica_hours": hours,
            "cost": math.nan if self.price is None else hours * self.price,
            "underprovisioned_share": share,
            **accuracy,
        }

    def plot(self, path: str | None = None) -> Any:
        """Replicas over time of the live loop and each candidate, with the estimated demand
        (needs matplotlib); saved to ``path`` when given. The figure."""
        import matplotlib.pyplot as plt

        times = np.array([t for t, *_ in self._live])
        start = times[0] if len(times) else 0.0
        minutes = (times - start) / 60
        figure, axes = plt.subplots(figsize=(9, 4))
        axes.step(minutes, [d for _, d, _, _ in self._live], where="post", label="live")
        for name in self.candidates:
            axes.step(minutes, [s[name].desired for s in self.steps], where="post", label=name)
        demand = [math.nan if d is None else d for *_, d in self._live]
        axes.plot(minutes, demand, color="gray", linestyle=":", label="demand (estimated)")
        axes.set_xlabel("minutes")
        axes.set_ylabel("replicas")
        axes.legend()
        figure.tight_layout()
        if path is not None:
            figure.savefig(path)
        return figure

    def __repr__(self) -> str:
        return f"Shadow({sorted(self.candidates)})"
