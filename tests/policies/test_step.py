import pytest

from elastic import DecisionLoop, Observation, PolicyError, Reason
from elastic.policies import StepScaling, aws_round

AWS_EXAMPLE = [
    (0, 10, 0),
    (10, 20, 10),
    (20, None, 30),
    (-10, 0, 0),
    (-20, -10, -10),
    (None, -20, -30),
]


def test_issue_example():
    policy = StepScaling(
        metric="cpu", threshold=50, adjustment_type="PercentChangeInCapacity", steps=AWS_EXAMPLE
    )
    assert policy.recommend(Observation(time=0, replicas=10, metrics={"cpu": 60})).replicas == 11


@pytest.mark.parametrize(
    ("current", "cpu", "expected", "why"),
    [
        (10, 60, 11, "SEMANTICS §1.3: +10 % of 10 = +1"),
        (11, 70, 14, "+30 % of 11 = 3.3 -> 3"),
        (14, 40, 13, "-10 % of 14 = -1.4 -> -1"),
        (13, 30, 10, "-30 % of 13 = -3.9 -> -3"),
        (10, 50, 10, "at the threshold the [0, 10) step (lower bound inclusive) adds 0"),
        (10, 59.99, 10, "still in [0, 10)"),
        (10, 70, 13, "70 is the inclusive lower bound of [20, inf) above the threshold"),
        (10, 40, 9, "-10 is the inclusive upper bound of (-20, -10] below the threshold"),
        (10, 30, 7, "-20 belongs to (-inf, -20] below the threshold"),
        (2, 65, 3, "+10 % of 2 = 0.2 rounds away from zero to 1"),
    ],
)
def test_aws_worked_example_and_bound_inclusivity(current, cpu, expected, why):
    policy = StepScaling("cpu", 50, AWS_EXAMPLE, adjustment_type="PercentChangeInCapacity")
    rec = policy.recommend(Observation(0, current, {"cpu": cpu}))
    assert (rec.replicas, rec.reason) == (expected, Reason.STEP_ADJUSTMENT), why


def test_worked_example_as_a_sequence_through_a_loop():
    policy = StepScaling("cpu", 50, AWS_EXAMPLE, adjustment_type="PercentChangeInCapacity")
    loop = DecisionLoop(policy, min_replicas=1, max_replicas=100)
    replicas, seen = 10, []
    for t, cpu in enumerate((60, 70, 40, 30)):
        replicas = loop.step(Observation(float(t), replicas, {"cpu": cpu})).replicas
        seen.append(replicas)
    assert seen == [11, 14, 13, 10]


@pytest.mark.parametrize(
    ("x_num", "x_den", "expected", "why"),
    [
        (127, 10, 12, "12.7 -> floor 12"),
        (67, 100, 1, "0.67 -> 1"),
        (-58, 100, -1, "-0.58 -> -1"),
        (-667, 100, -6, "-6.67 -> toward zero"),
        (1, 1, 1, "1 stays"),
        (0, 1, 0, "no change"),
        (-100, 100, -1, "-1 stays"),
    ],
)
def test_aws_rounding(x_num, x_den, expected, why):
    assert aws_round(x_num, x_den) == expected, why


@pytest.mark.parametrize(
    ("kwargs", "current", "cpu", "expected", "why"),
    [
        (
            {"adjustment_type": "ChangeInCapacity", "steps": [(0, None, 2), (None, 0, -1)]},
            4,
            80,
            6,
            "adds 2",
        ),
        (
            {"adjustment_type": "ChangeInCapacity", "steps": [(0, None, 2), (None, 0, -1)]},
            0,
            10,
            0,
            "never below zero",
        ),
        (
            {"adjustment_type": "ExactCapacity", "steps": [(0, None, 8), (None, 0, 2)]},
            4,
            80,
            8,
            "sets 8",
        ),
        (
            {
                "adjustment_type": "PercentChangeInCapacity",
                "steps": [(0, None, 25)],
                "min_adjustment_magnitude": 2,
            },
            4,
            80,
            6,
            "25 % of 4 = 1, at least 2",
        ),
        (
            {
                "adjustment_type": "PercentChangeInCapacity",
                "steps": [(0, None, 25)],
                "min_adjustment_magnitude": 2,
            },
            40,
            80,
            50,
            "25 % of 40 = 10 >= 2",
        ),
    ],
)
def test_adjustment_types(kwargs, current, cpu, expected, why):
    policy = StepScaling("cpu", 70, **kwargs)
    assert policy.recommend(Observation(0, current, {"cpu": cpu})).replicas == expected, why


def test_no_step_matches_means_no_alarm():
    policy = StepScaling("cpu", 70, [(0, None, 2)])
    rec = policy.recommend(Observation(0, 4, {"cpu": 50}))
    assert (rec.replicas, rec.reason) == (None, Reason.NO_BREACH)
    assert policy.recommend(Observation(0, 4, {})).reason is Reason.NO_DATA


def test_evaluation_periods_need_consecutive_breaches_on_one_side():
    policy = StepScaling("cpu", 70, [(0, None, 2), (None, 0, -1)], evaluation_periods=3)
    outcome = []
    for t, cpu in enumerate([80, 90, 60, 80, 85, 95, 99]):
        obs = Observation(float(t), 4, {"cpu": cpu})
        policy.observe(obs)
        outcome.append(policy.recommend(obs).replicas)
    # the 60 breaks the streak on the high side (it is a low-side breach)
    assert outcome == [None, None, None, None, None, 6, 6]


def test_recommend_without_observe_counts_the_observation_itself():
    policy = StepScaling("cpu", 70, [(0, None, 2)])
    assert policy.recommend(Observation(0, 4, {"cpu": 80})).replicas == 6


@pytest.mark.parametrize(
    ("steps", "name", "expected"),
    [
        ([(0, 10, 1), (20, None, 2)], "steps[1]", "not a gap"),
        ([(0, 10, 1), (5, None, 2)], "steps[1]", "not an overlap"),
        ([(None, None, 1)], "steps[0]", "at most one open"),
        ([(None, 0, -1), (None, -5, -2)], "steps", "at most one step with an open lower"),
        ([(0, None, 1), (5, None, 2)], "steps", "at most one step with an open upper"),
        ([(0, 10, 1)], "steps", "open upper bound"),
        ([(-10, 0, -1)], "steps", "open lower bound"),
        ([(10, 0, 1)], "steps[0]", "lower bound below the upper"),
        ([(0, None, 1.5)], "steps[0] adjustment", "an integer"),
        ([(0, None)], "steps[0]", "(lower, upper, adjustment)"),
        ([], "steps", "non-empty"),
        ("0,10,1", "steps", "non-empty"),
    ],
)
def test_overlapping_or_gapped_steps_are_errors(steps, name, expected):
    with pytest.raises(PolicyError) as info:
        StepScaling("cpu", 50, steps)
    assert info.value.name == name
    assert expected in str(info.value), str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"adjustment_type": "Percent"}, "adjustment_type"),
        ({"min_adjustment_magnitude": 2}, "min_adjustment_magnitude"),
        (
            {"adjustment_type": "PercentChangeInCapacity", "min_adjustment_magnitude": 0},
            "min_adjustment_magnitude",
        ),
        ({"evaluation_periods": 0}, "evaluation_periods"),
        ({"threshold": float("inf")}, "threshold"),
        ({"adjustment_type": "ExactCapacity", "steps": [(0, None, -1)]}, "steps[0] adjustment"),
    ],
)
def test_bad_parameters(kwargs, name):
    params = {"metric": "cpu", "threshold": 50, "steps": [(0, None, 1)], **kwargs}
    with pytest.raises(PolicyError) as info:
        StepScaling(**params)
    assert info.value.name == name
