"""Shadow mode: candidates decide on the live observations, on virtual fleets, and never act."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from elastic import DecisionLoop, Observation, ParameterError, Reason
from elastic.control import CallableSource, CallbackActuator, Controller, ManualClock, Observe
from elastic.control.shadow import Shadow
from elastic.policies import TargetTracking

WALL = 1_700_000_000.0


def tracking(target: float) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", target), min_replicas=1, max_replicas=50)


class World:
    """A fleet doing ``work`` percent-replicas of CPU: its utilization is work / ready."""

    def __init__(self, replicas: int = 2) -> None:
        self.replicas = replicas
        self.asked: list[int] = []
        self.work = [150.0] * 10 + [400.0] * 10 + [90.0] * 20

    def cpu(self, now: float) -> dict[str, float]:
        step = round((now - WALL) / 15)
        return {"cpu": self.work[min(step, len(self.work) - 1)] / self.replicas}

    def scale(self, n: int) -> None:
        self.asked.append(n)
        self.replicas = n


def controller(world: World, shadow: Shadow, live: float = 60.0, **options: object) -> Controller:
    return Controller(
        tracking(live),
        Observe(CallableSource(world.cpu), lambda: world.replicas),
        CallbackActuator(world.scale),
        clock=ManualClock(WALL),
        shadow=shadow,
        **options,  # type: ignore[arg-type]
    )


def test_a_candidate_equal_to_the_live_loop_never_disagrees_and_tracks_its_fleet() -> None:
    world = World()
    shadow = Shadow({"same": tracking(60.0)})
    c = controller(world, shadow)
    c.run(steps=40)
    assert shadow.disagreements("same") == []
    steps = [s["same"] for s in shadow.steps]
    # its virtual fleet is the live fleet, step by step: the rescaling is exact
    assert [s.replicas for s in steps] == [
        r.observation.replicas for r in c.history if r.observation
    ]
    live, same = shadow.report()
    assert {k: v for k, v in live.items() if k not in ("loop", "disagreements")} == {
        k: v for k, v in same.items() if k not in ("loop", "disagreements")
    }


def test_a_tighter_target_would_have_run_more_replicas_and_been_short_less(
    tmp_path: Path,
) -> None:
    world = World()
    shadow = Shadow({"tight": tracking(40.0), "loose": tracking(90.0)}, price=0.096)
    c = controller(world, shadow)
    c.run(steps=40)
    assert world.asked and all(r.shadow for r in c.history)  # only the live loop acted
    rows = {row["loop"]: row for row in shadow.report()}
    assert rows["tight"]["replica_hours"] > rows["live"]["replica_hours"]
    assert rows["loose"]["replica_hours"] < rows["live"]["replica_hours"]
    assert rows["tight"]["cost"] == pytest.approx(rows["tight"]["replica_hours"] * 0.096)
    assert rows["loose"]["underprovisioned_share"] >= rows["tight"]["underprovisioned_share"]
    first = shadow.disagreements("tight")[0]
    assert first.desired > first.live and first.reason is Reason.TARGET_TRACKING
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    figure = shadow.plot(str(tmp_path / "shadow.png"))
    assert (tmp_path / "shadow.png").stat().st_size > 0
    assert [line.get_label() for line in figure.axes[0].lines] == [
        "live",
        "tight",
        "loose",
        "demand (estimated)",
    ]


def test_per_replica_metrics_are_rescaled_and_totals_are_not() -> None:
    shadow = Shadow({"big": DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=8,
                                         max_replicas=8)}, per_replica=("cpu",))  # fmt: skip
    live = tracking(50.0)
    obs = Observation(0.0, 4, {"cpu": 80.0, "rps": 300.0})
    shadow.step(obs, live.step(obs))  # the candidate's fleet becomes 8
    seen = shadow._rescaled(Observation(15.0, 4, {"cpu": 80.0, "rps": 300.0}), 8, 8, 4)
    assert seen.metrics == {"cpu": 40.0, "rps": 300.0}
    assert (seen.replicas, seen.ready, seen.pending) == (8, 8, 0)


def test_a_candidates_new_replicas_are_ready_after_the_startup() -> None:
    shadow = Shadow({"c": tracking(50.0)}, startup=30.0)
    live = tracking(50.0)
    readies = []
    for t in (0.0, 15.0, 30.0, 45.0):
        obs = Observation(t, 2, {"cpu": 100.0})
        step = shadow.step(obs, live.step(obs))["c"]
        readies.append((step.replicas, step.ready))
    # 2 -> 4 at 0 s: the 2 new ones ready at 30 s
    assert readies[:3] == [(2, 2), (4, 2), (4, 4)]


def test_a_candidate_that_raises_holds_and_the_live_controller_goes_on() -> None:
    class Broken(TargetTracking):
        def recommend(self, obs):  # type: ignore[no-untyped-def]
            raise RuntimeError("a bug in a candidate")

    world = World()
    shadow = Shadow({"broken": DecisionLoop(Broken("cpu", 50.0), min_replicas=1,
                                            max_replicas=9)})  # fmt: skip
    stream = io.StringIO()
    c = controller(world, shadow, log=stream)
    c.run(steps=3)
    assert all(r.error is None and r.decision is not None for r in c.history)
    step = c.history[0].shadow["broken"]
    assert step.reason is Reason.POLICY_ERROR and "a bug in a candidate" in step.detail
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["shadow"] == {"broken": {"replicas": 2, "desired": 2, "reason": "policy_error"}}


def test_a_missing_demand_metric_is_left_out_of_the_estimates() -> None:
    shadow = Shadow({"c": tracking(50.0)})
    live = tracking(50.0)
    for t, cpu in ((0.0, 100.0), (15.0, math.nan), (30.0, 100.0)):
        obs = Observation(t, 2, {"cpu": cpu})
        shadow.step(obs, live.step(obs))
    assert [s["c"].demand for s in shadow.steps] == [2.0, None, 2.0]
    assert {row["loop"] for row in shadow.report()} == {"live", "c"}


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ({}, "candidates={} is invalid"),
        ({"live": tracking(50.0)}, "a name other than 'live'"),
        ({"a": "hpa"}, "expected a DecisionLoop"),
    ],
)
def test_bad_candidates_are_refused(candidates: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Shadow(candidates)  # type: ignore[arg-type]


def test_a_loop_shared_by_two_candidates_is_refused() -> None:
    loop = tracking(50.0)
    with pytest.raises(ParameterError, match="a loop of its own for each candidate"):
        Shadow({"a": loop, "b": loop})
