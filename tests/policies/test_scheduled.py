from datetime import UTC, datetime

import pytest

from elastic import DecisionLoop, Observation, ParameterError, PolicyError, Reason
from elastic.policies import Cron, Scheduled, ScheduledAction, TargetTracking


def at(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "tz", "now", "expected", "why"),
    [
        ("0 9 * * *", "UTC", at(2026, 1, 5, 8, 59), at(2026, 1, 4, 9, 0), "not yet today"),
        ("0 9 * * *", "UTC", at(2026, 1, 5, 9, 0), at(2026, 1, 5, 9, 0), "at the minute itself"),
        ("*/15 * * * *", "UTC", at(2026, 1, 5, 9, 44), at(2026, 1, 5, 9, 30), "every 15 min"),
        ("0 9 * * MON-FRI", "UTC", at(2026, 1, 4, 12), at(2026, 1, 2, 9), "Sunday -> Friday"),
        ("0 9 * * 0", "UTC", at(2026, 1, 5, 12), at(2026, 1, 4, 9), "0 is Sunday"),
        ("0 9 * * 7", "UTC", at(2026, 1, 5, 12), at(2026, 1, 4, 9), "7 is Sunday too"),
        ("0 0 1,15 * *", "UTC", at(2026, 1, 20), at(2026, 1, 15), "lists"),
        ("0 0 1 * MON", "UTC", at(2026, 1, 21), at(2026, 1, 19), "both days given: either"),
        ("0 0 1 JAN *", "UTC", at(2026, 6, 1), at(2026, 1, 1), "month names"),
        (
            "0 9 * * *",
            "America/New_York",
            at(2026, 1, 5, 13, 59),
            at(2026, 1, 4, 14, 0),
            "09:00 EST is 14:00 UTC",
        ),
        (
            "0 9 * * *",
            "America/New_York",
            at(2026, 7, 5, 13, 0),
            at(2026, 7, 5, 13, 0),
            "09:00 EDT is 13:00 UTC",
        ),
        (
            "30 2 * * *",
            "America/New_York",
            at(2026, 3, 8, 12),
            at(2026, 3, 8, 7, 30),
            "02:30 does not exist on 8 March 2026: resolved with the EST offset",
        ),
        (
            "30 1 * * *",
            "America/New_York",
            at(2026, 11, 1, 12),
            at(2026, 11, 1, 5, 30),
            "01:30 happens twice on 1 November 2026: the first one (EDT)",
        ),
        ("0 0 29 2 *", "UTC", at(2026, 11, 26), at(2024, 2, 29), "leap days only"),
    ],
)
def test_cron_latest(expression, tz, now, expected, why):
    assert Cron(expression, tz).latest(now) == expected, why


@pytest.mark.parametrize(
    ("expression", "tz", "name"),
    [
        ("0 9 * *", "UTC", "cron"),
        ("60 9 * * *", "UTC", "cron minute"),
        ("0 24 * * *", "UTC", "cron hour"),
        ("0 9 * * FUN", "UTC", "cron day of week"),
        ("0 9 5-1 * *", "UTC", "cron day of month"),
        ("*/0 9 * * *", "UTC", "cron minute"),
        ("0 0 31 2 *", "UTC", "cron"),
        ("0 9 * * *", "Mars/Olympus", "timezone"),
    ],
)
def test_bad_cron(expression, tz, name):
    with pytest.raises(ParameterError) as info:
        Cron(expression, tz)
    assert info.value.name == name


def drive(policy, times, start=2, low=1, high=20):
    loop = DecisionLoop([policy, TargetTracking("cpu", 50.0)], min_replicas=low, max_replicas=high)
    replicas, out = start, []
    for t in times:
        d = loop.step(Observation(float(t), replicas, {"cpu": 50.0}))
        replicas = d.replicas
        out.append(replicas)
    return out


def test_bounds_persist_and_desired_fires_once():
    policy = Scheduled(
        [
            ScheduledAction(at=100, min_replicas=5, desired=8),
            ScheduledAction(at=300, min_replicas=1, max_replicas=3),
        ]
    )
    # before 100: nothing; at 105: desired 8 (once), min 5 holds; after 300 max 3 scales in
    assert drive(policy, [0, 50, 105, 120, 200, 300, 400]) == [2, 2, 8, 8, 8, 3, 3]


def test_desired_is_not_sticky():
    policy = Scheduled([ScheduledAction(at=100, desired=8)])
    loop = DecisionLoop([policy, TargetTracking("cpu", 50.0)], min_replicas=1, max_replicas=20)
    assert loop.step(Observation(100.0, 2, {"cpu": 50.0})).replicas == 8
    # the target-tracking policy may take it down afterwards
    assert loop.step(Observation(115.0, 8, {"cpu": 10.0})).replicas == 2


def test_cron_schedule_against_an_origin():
    # the observation clock starts on Monday 5 January 2026 at 00:00 UTC
    policy = Scheduled(
        [
            ScheduledAction(cron="0 8 * * MON-FRI", timezone="Europe/Paris", min_replicas=6),
            ScheduledAction(cron="0 20 * * *", timezone="Europe/Paris", min_replicas=1),
        ],
        origin=at(2026, 1, 5),
    )
    hour = 3600.0
    rec = policy.recommend(Observation(6 * hour, 2))  # 07:00 Paris: last 20:00 action
    assert rec.min_replicas == 1
    rec = policy.recommend(Observation(7 * hour, 2))  # 08:00 Paris, Monday
    assert (rec.min_replicas, rec.reason) == (6, Reason.SCHEDULED)
    rec = policy.recommend(Observation(5 * 24 * hour + 9 * hour, 2))  # Saturday 10:00 Paris
    assert rec.min_replicas == 1


def test_start_and_end_limit_a_cron_action():
    policy = Scheduled(
        [ScheduledAction(cron="0 * * * *", min_replicas=4, start=7200.0, end=10800.0)]
    )
    assert policy.recommend(Observation(3600.0, 1)).min_replicas is None
    assert policy.recommend(Observation(7200.0, 1)).min_replicas == 4
    # after the end the last occurrence (at the end) still set the bound
    assert policy.recommend(Observation(20000.0, 1)).min_replicas == 4


@pytest.mark.parametrize(
    ("actions", "name"),
    [
        ([ScheduledAction(min_replicas=1)], "actions[0]"),
        ([ScheduledAction(at=1.0, cron="* * * * *", min_replicas=1)], "actions[0]"),
        ([ScheduledAction(at=1.0)], "actions[0]"),
        ([ScheduledAction(at=1.0, min_replicas=5, max_replicas=2)], "actions[0].min_replicas"),
        ([ScheduledAction(at=1.0, desired=-1)], "actions[0].desired"),
        ([ScheduledAction(at=1.0, desired=1), ScheduledAction(at=1.0, desired=2)], "actions[1].at"),
        ([ScheduledAction(cron="0 9 * *", desired=1)], "actions[0].cron"),
        ([ScheduledAction(cron="0 9 * * *", timezone="Nowhere", desired=1)], "actions[0].timezone"),
        (["0 9 * * *"], "actions[0]"),
        ([ScheduledAction(cron="0 9 * * *", start=100.0, end=50.0, desired=1)], "actions[0].end"),
        ([ScheduledAction(at=1.0, timezone="Nowhere", desired=1)], "actions[0].timezone"),
    ],
)
def test_bad_actions(actions, name):
    with pytest.raises(PolicyError) as info:
        Scheduled(actions)
    assert info.value.name == name


def test_origin_must_be_aware():
    with pytest.raises(PolicyError, match="origin"):
        Scheduled([ScheduledAction(at=1.0, desired=1)], origin=datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("aws", "five"),
    [("0 8 ? * 2-6 *", "0 8 * * 1-5"), ("0 8 ? * 1 *", "0 8 * * 0"), ("0 8 ? * 7 *", "0 8 * * 6"),
     ("0 8 ? * SUN,SAT *", "0 8 * * SUN,SAT"),
     ("0/15 8-17 1 JAN-JUN ? *", "0/15 8-17 1 JAN-JUN *")],
)  # fmt: skip
def test_aws_cron_days_of_week_count_from_sunday(aws, five):
    from elastic.policies.cron import cron_from_aws, cron_to_aws

    assert cron_from_aws(aws) == five
    # and back: the same days, spelled as names
    assert Cron(cron_from_aws(cron_to_aws(five)))._weekdays == Cron(five)._weekdays


def test_a_cron_restricting_both_day_fields_has_no_aws_form():
    from elastic.policies.cron import cron_to_aws

    with pytest.raises(ParameterError, match="at most one restricted day field"):
        cron_to_aws("0 8 1 * MON")
