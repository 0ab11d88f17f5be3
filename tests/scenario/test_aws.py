"""AWS Application Auto Scaling requests: import, export, lossless round trips, errors."""

import json
from datetime import UTC, datetime

import pytest

from elastic.errors import ManifestError
from elastic.scenario.aws import (
    from_put_scaling_policy,
    from_put_scheduled_action,
    to_put_scaling_policy,
    to_put_scheduled_action,
)

TARGET_TRACKING = {
    "PolicyName": "cpu75-target-tracking-scaling-policy",
    "ServiceNamespace": "ecs",
    "ResourceId": "service/default/web-app",
    "ScalableDimension": "ecs:service:DesiredCount",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 75.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": "app/my-alb/778d41231b141a0f/targetgroup/my-tg/943f017f100becff",
        },
        "ScaleOutCooldown": 60,
        "ScaleInCooldown": 300,
        "DisableScaleIn": True,
    },
}
CUSTOMIZED = {
    "PolicyName": "queue",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 100.0,
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Dimensions": [{"Name": "QueueName", "Value": "jobs"}],
            "Statistic": "Average",
        },
    },
}
STEP = {
    "PolicyName": "cpu-steps",
    "ServiceNamespace": "ecs",
    "ResourceId": "service/default/web-app",
    "ScalableDimension": "ecs:service:DesiredCount",
    "PolicyType": "StepScaling",
    "StepScalingPolicyConfiguration": {
        "AdjustmentType": "PercentChangeInCapacity",
        "StepAdjustments": [
            {
                "MetricIntervalLowerBound": 0,
                "MetricIntervalUpperBound": 15,
                "ScalingAdjustment": 10,
            },
            {"MetricIntervalLowerBound": 15, "ScalingAdjustment": 30},
        ],
        "Cooldown": 120,
        "MetricAggregationType": "Average",
        "MinAdjustmentMagnitude": 2,
    },
}


@pytest.mark.parametrize("request_", [TARGET_TRACKING, CUSTOMIZED])
def test_target_tracking_round_trips(request_):
    imported = from_put_scaling_policy(json.dumps(request_))
    assert to_put_scaling_policy(imported) == request_


def test_what_target_tracking_becomes():
    imported = from_put_scaling_policy(TARGET_TRACKING)
    policy = imported.policy
    assert (policy.metric, policy.target, policy.kind) == ("requests_per_target", 75.0,
                                                          "average_value")  # fmt: skip
    assert policy.disable_scale_in and policy.tolerance == 0.0
    assert (imported.cooldown.scale_out, imported.cooldown.scale_in) == (60, 300)
    assert imported.cooldown.mode == "application"
    # reported, not dropped: what elastic does not model
    assert imported.unmodeled["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {
            "ResourceLabel": "app/my-alb/778d41231b141a0f/targetgroup/my-tg/943f017f100becff"
        }
    }
    assert imported.unmodeled["ResourceId"] == "service/default/web-app"


def test_step_scaling_round_trips_and_keeps_its_steps():
    imported = from_put_scaling_policy(STEP, metric="cpu", threshold=70.0)
    policy = imported.policy
    assert policy.adjustment_type == "PercentChangeInCapacity"
    assert [tuple(s) for s in policy.steps] == [(0, 15, 10), (15, None, 30)]
    assert policy.min_adjustment_magnitude == 2 and imported.cooldown.scale_out == 120
    assert imported.unmodeled["StepScalingPolicyConfiguration"] == {
        "MetricAggregationType": "Average"
    }
    assert to_put_scaling_policy(imported) == STEP


@pytest.mark.parametrize(
    ("request_", "kwargs", "message"),
    [
        ({**STEP}, {}, "metric and threshold live in its CloudWatch alarm"),
        ({"PolicyType": "Simple"}, {}, "PolicyType='Simple' is invalid"),
        ({"PolicyType": "TargetTrackingScaling",
          "TargetTrackingScalingPolicyConfiguration": {
              "TargetValue": 50, "PredefinedMetricSpecification": {"PredefinedMetricType": "X"}}},
         {}, "PredefinedMetricType='X' is invalid"),
        ({"PolicyType": "TargetTrackingScaling",
          "TargetTrackingScalingPolicyConfiguration": {
              "TargetValue": -5, "PredefinedMetricSpecification": {
                  "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}},
         {}, "target=-5 is invalid"),
        ("{not json", {}, "not valid JSON"),
    ],
    ids=["step without its alarm", "unknown type", "unknown metric", "negative target", "bad json"],
)  # fmt: skip
def test_errors_name_the_field(request_, kwargs, message):
    with pytest.raises(ManifestError, match=message):
        from_put_scaling_policy(request_, **kwargs)


ORIGIN = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(
    "request_",
    [
        {"ServiceNamespace": "ecs", "ResourceId": "service/default/web",
         "ScalableDimension": "ecs:service:DesiredCount", "ScheduledActionName": "weekday-morning",
         "Schedule": "cron(0 8 ? * MON-FRI *)", "Timezone": "Europe/Paris",
         "ScalableTargetAction": {"MinCapacity": 4, "MaxCapacity": 40}},
        {"ScheduledActionName": "launch", "Schedule": "at(2026-01-06T09:30:00)",
         "ScalableTargetAction": {"MinCapacity": 20}},
        {"ScheduledActionName": "first-of-month", "Schedule": "cron(0 0 1 * ? *)",
         "StartTime": "2026-01-01T00:00:00+00:00", "EndTime": "2026-06-01T00:00:00+00:00",
         "ScalableTargetAction": {"MaxCapacity": 8}},
    ],
    ids=["weekday cron in a time zone", "one-off at", "monthly with start and end"],
)  # fmt: skip
def test_scheduled_actions_round_trip(request_):
    imported = from_put_scheduled_action(request_, origin=ORIGIN)
    assert to_put_scheduled_action(imported) == request_


def test_what_a_scheduled_action_becomes():
    imported = from_put_scheduled_action(
        {"Schedule": "at(2026-01-06T09:30:00)", "ScalableTargetAction": {"MinCapacity": 20}},
        origin=ORIGIN,
    )
    assert imported.action.at == 33.5 * 3600 and imported.action.min_replicas == 20


@pytest.mark.parametrize(
    ("schedule", "message"),
    [("rate(5 minutes)", "Schedule='rate\\(5 minutes\\)' is invalid"),
     ("cron(0 8 * * ? 2027)", "any year")],
)  # fmt: skip
def test_unmodelled_schedules_are_refused(schedule, message):
    with pytest.raises(ManifestError, match=message):
        from_put_scheduled_action(
            {"Schedule": schedule, "ScalableTargetAction": {"MinCapacity": 1}}, origin=ORIGIN
        )


# --- issue 15 A4: AWS cron days, field-for-field round trips, refusals ---------------------------


def _weekdays_fired(schedule, timezone=None):
    """The weekdays (0 = Monday) on which an imported AWS cron sets its minimum, over one week."""
    from elastic import Observation
    from elastic.policies import Scheduled

    request = {"Schedule": schedule, "ScalableTargetAction": {"MinCapacity": 4}}
    if timezone is not None:
        request["Timezone"] = timezone
    action = from_put_scheduled_action(request, origin=ORIGIN).action
    policy = Scheduled([action], origin=ORIGIN)
    fired = set()
    for minute in range(0, 8 * 24 * 60, 60):
        detail = policy.recommend(Observation(float(minute * 60), 1)).detail
        if "set at" in detail:
            seconds = float(detail.split("set at ")[1].split(" s")[0])
            if seconds >= 0:
                fired.add(int(seconds // 86400) % 7)  # ORIGIN is a Monday
    return fired


@pytest.mark.parametrize(
    ("schedule", "weekdays"),
    [("cron(0 8 ? * 2-6 *)", {0, 1, 2, 3, 4}),  # AWS 2-6 = MON-FRI
     ("cron(0 8 ? * MON-FRI *)", {0, 1, 2, 3, 4}),
     ("cron(0 8 ? * 1 *)", {6}),  # AWS 1 = SUN
     ("cron(0 8 ? * 7 *)", {5}),  # AWS 7 = SAT
     ("cron(0 8 ? * 1,7 *)", {5, 6})],
)  # fmt: skip
def test_aws_cron_day_of_week_numbers_are_sunday_first(schedule, weekdays):
    assert _weekdays_fired(schedule) == weekdays


def test_an_exported_cron_means_the_same_days_to_aws():
    from elastic.policies import ScheduledAction
    from elastic.scenario.aws import ImportedAction

    action = ScheduledAction(cron="0 8 * * 1-5", min_replicas=2)  # five-field: MON-FRI
    out = to_put_scheduled_action(ImportedAction(action, ORIGIN))
    assert out["Schedule"] == "cron(0 8 ? * MON-FRI *)"
    again = from_put_scheduled_action(out, origin=ORIGIN).action
    assert _weekdays_fired(out["Schedule"]) == {0, 1, 2, 3, 4}
    assert again.cron is not None


SPOT = {
    "PolicyName": "spot-cpu",
    "ServiceNamespace": "ec2",
    "ResourceId": "spot-fleet-request/sfr-73fbd2ce-aa30-494c-8788-1cee4EXAMPLE",
    "ScalableDimension": "ec2:spot-fleet-request:TargetCapacity",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 50.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "EC2SpotFleetRequestAverageCPUUtilization"},
        "ScaleInCooldown": 120,
        "DisableScaleIn": False,
    },
}  # fmt: skip


def test_a_spot_fleet_policy_round_trips_field_for_field():
    assert to_put_scaling_policy(from_put_scaling_policy(SPOT)) == SPOT


def test_a_missing_cooldown_takes_the_aws_default_and_stays_missing():
    imported = from_put_scaling_policy(SPOT)
    # AWS: 300 s for Spot Fleet requests when ScaleOutCooldown is not given, not 0
    assert imported.cooldown.scale_out == 300 and imported.cooldown.scale_in == 120
    assert "ScaleOutCooldown" in " ".join(imported.notes)
    config = to_put_scaling_policy(imported)["TargetTrackingScalingPolicyConfiguration"]
    assert "ScaleOutCooldown" not in config
    dynamo = {**TARGET_TRACKING, "ServiceNamespace": "dynamodb",
              "TargetTrackingScalingPolicyConfiguration": {
                  "TargetValue": 70.0, "PredefinedMetricSpecification": {
                      "PredefinedMetricType": "DynamoDBReadCapacityUtilization"}}}  # fmt: skip
    imported = from_put_scaling_policy(dynamo)
    assert (imported.cooldown.scale_out, imported.cooldown.scale_in) == (0, 0)
    assert to_put_scaling_policy(imported) == dynamo


def test_a_step_policy_without_cooldown_or_adjustment_type_round_trips():
    request = {
        "PolicyName": "s",
        "ServiceNamespace": "ecs",
        "PolicyType": "StepScaling",
        "StepScalingPolicyConfiguration": {
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
        },
    }
    imported = from_put_scaling_policy(request, metric="cpu", threshold=70.0)
    assert imported.cooldown.scale_out == 300  # AWS: 300 s when Cooldown is not given
    assert to_put_scaling_policy(imported) == request


def test_a_changed_policy_exports_its_new_values():
    from dataclasses import replace

    from elastic.core.cooldown import Cooldown

    imported = from_put_scaling_policy(SPOT)
    imported = replace(imported, cooldown=Cooldown(60, 120))
    config = to_put_scaling_policy(imported)["TargetTrackingScalingPolicyConfiguration"]
    assert config["ScaleOutCooldown"] == 60


@pytest.mark.parametrize(
    "request_",
    [{"ScheduledActionName": "utc", "Schedule": "cron(0 8 ? * 2-6 *)", "Timezone": "UTC",
      "ScalableTargetAction": {"MinCapacity": 4}},
     {"ScheduledActionName": "z", "Schedule": "cron(15 6 1,15 * ? *)",
      "StartTime": "2026-01-01T00:00:00Z", "EndTime": "2026-03-01T00:00:00Z",
      "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 3}}],
    ids=["explicit UTC and numeric days", "Z times"],
)  # fmt: skip
def test_scheduled_actions_round_trip_field_for_field(request_):
    imported = from_put_scheduled_action(request_, origin=ORIGIN)
    assert to_put_scheduled_action(imported) == request_


@pytest.mark.parametrize(
    ("request_", "message"),
    [({"Schedule": "cron(0 8 L * ? *)"}, "day-of-month.*'L'.*not modelled"),
     ({"Schedule": "cron(0 8 ? * 6L *)"}, "day-of-week.*'6L'.*not modelled"),
     ({"Schedule": "cron(0 8 1W * ? *)"}, "day-of-month.*'1W'.*not modelled"),
     ({"Schedule": "cron(0 8 ? * 2#1 *)"}, "day-of-week.*'2#1'.*not modelled"),
     ({"Schedule": "cron(60 8 * * ? *)"}, "minutes.*'60'.*0-59"),
     ({"Schedule": "cron(0 8 ? * 0 *)"}, "day-of-week.*'0'.*1-7"),
     ({"Schedule": "cron(0 8 * * * *)"}, "one of day-of-month and day-of-week must be '\\?'"),
     ({"Schedule": "cron(0 8 ? * ? *)"}, "one of day-of-month and day-of-week must be '\\?'"),
     ({"Schedule": "at(2026-13-06T09:30:00)"}, "Schedule=.*a real date and time"),
     ({"Schedule": "at(2026-01-06T09:30:00)", "Timezone": "Mars/Olympus"},
      "Timezone='Mars/Olympus' is invalid; expected an IANA time zone"),
     ({"Schedule": "cron(0 8 * * ? *)", "Timezone": "Nowhere"}, "Timezone='Nowhere'"),
     ({"Schedule": "cron(0 8 * * ? *)", "ScalableTargetAction": {"MinCapacity": 4,
                                                                  "MaxCapacity": 2}},
      "MinCapacity=4 is invalid; expected at most MaxCapacity \\(2\\)"),
     ({"Schedule": "cron(0 8 * * ? *)", "ScalableTargetAction": {"MinCapacity": -1}},
      "MinCapacity=-1 is invalid"),
     ({"Schedule": "cron(0 8 * * ? *)", "StartTime": "2026-02-01T00:00:00Z",
       "EndTime": "2026-01-01T00:00:00Z"},
      "EndTime=.* is invalid; expected a time after StartTime"),
     ({"Schedule": "cron(0 8 * * ? *)", "StartTime": "soon"}, "StartTime='soon' is invalid")],
    ids=["L", "6L", "W", "#", "minute 60", "day 0", "both days", "neither day", "bad at",
         "unknown zone at", "unknown zone cron", "min > max", "negative min", "end before start",
         "bad start"],
)  # fmt: skip
def test_scheduled_action_errors_name_the_field(request_, message):
    request_ = {"ScalableTargetAction": {"MinCapacity": 1}, **request_}
    with pytest.raises(ManifestError, match=message):
        from_put_scheduled_action(request_, origin=ORIGIN)
