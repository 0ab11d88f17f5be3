"""A decision's effects count only once the system took it (``propose`` / ``acknowledge``)."""

import numpy as np
import pytest

from elastic import (
    Behavior,
    Cooldown,
    DecisionLoop,
    Observation,
    ParameterError,
    RateLimit,
    Reason,
    ScalingRules,
)
from elastic.policies import TargetTracking


def obs(t: float, replicas: int, cpu: float) -> Observation:
    return Observation(time=float(t), replicas=replicas, metrics={"cpu": cpu})


def tracking(**loop: object) -> DecisionLoop:
    return DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=50, **loop)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("why", "loop"),
    [
        ("warm-up: replicas never added are not warming", tracking(warmup=300.0)),
        ("a simple cooldown starts only with a scale that happened", tracking(cooldown=300.0)),
        (
            "a rate limit counts only the scale events that happened",
            tracking(
                behavior=Behavior(
                    scale_up=ScalingRules(policies=(RateLimit("Pods", 2, 600.0),)),
                )
            ),
        ),
    ],
)
def test_a_refused_decision_leaves_no_phantom(why: str, loop: DecisionLoop) -> None:
    first = loop.propose(obs(0, 2, 100.0))
    assert first.replicas > 2, why
    # the actuator failed: not acknowledged; the same load asks for the same scale-out again
    again = loop.propose(obs(15, 2, 100.0))
    assert again.replicas == first.replicas, why
    assert again.reason not in (Reason.WARMUP, Reason.COOLDOWN, Reason.SCALE_UP_LIMIT), why


def test_an_acknowledged_decision_starts_its_warmup_and_cooldown() -> None:
    loop = tracking(warmup=300.0, cooldown=Cooldown(0.0, 600.0, mode="application"))
    loop.acknowledge(loop.propose(obs(0, 2, 100.0)))
    held = loop.propose(obs(15, 4, 10.0))
    assert (held.replicas, held.reason) == (4, Reason.WARMUP)


def test_acknowledging_a_clamped_count_records_what_the_system_took() -> None:
    loop = tracking(warmup=300.0)
    decision = loop.propose(obs(0, 2, 300.0))
    assert decision.replicas == 12
    loop.acknowledge(decision, replicas=5)  # the system's own quota stopped it at 5
    # 3 replicas were added, not 10: 2 of the 5 are not warming, so the policy asks for
    # 12 again (with 10 phantom warming replicas it would see none at all)
    again = loop.propose(obs(15, 5, 300.0))
    assert (again.replicas, again.reason) == (12, Reason.TARGET_TRACKING)
    assert loop.up_events_[-1].replica_change == 3


@pytest.mark.parametrize(
    ("why", "act"),
    [
        (
            "a decision acknowledged twice",
            lambda loop, d: (loop.acknowledge(d), loop.acknowledge(d)),
        ),
        (
            "a decision older than the last proposed",
            lambda loop, d: (loop.propose(obs(15, 2, 100.0)), loop.acknowledge(d)),
        ),
        ("a negative count", lambda loop, d: loop.acknowledge(d, replicas=-1)),
        ("a count that is not an integer", lambda loop, d: loop.acknowledge(d, replicas=2.5)),
    ],
)
def test_a_wrong_acknowledgement_is_refused_in_words(why: str, act: object) -> None:
    loop = tracking()
    decision = loop.propose(obs(0, 2, 100.0))
    with pytest.raises(ParameterError, match=r"DecisionLoop\.acknowledge"):
        act(loop, decision)  # type: ignore[operator]


def test_another_loops_decision_is_refused() -> None:
    loop, other = tracking(), tracking()
    loop.propose(obs(0, 2, 100.0))
    with pytest.raises(ParameterError, match="last propose"):
        loop.acknowledge(other.propose(obs(0, 2, 100.0)))


def test_step_is_propose_then_acknowledge() -> None:
    rng = np.random.default_rng(7)
    loads = rng.uniform(0.0, 200.0, size=200)

    def loop() -> DecisionLoop:
        return tracking(
            warmup=60.0,
            cooldown=Cooldown(30.0, 120.0, mode="application"),
            behavior=Behavior.kubernetes_default(),
        )

    stepped, proposed = loop(), loop()
    a = b = 2
    for i, load in enumerate(loads):
        da = stepped.step(obs(15 * i, a, float(load)))
        db = proposed.propose(obs(15 * i, b, float(load)))
        proposed.acknowledge(db)
        assert da == db
        a, b = da.replicas, db.replicas
