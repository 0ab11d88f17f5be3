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
