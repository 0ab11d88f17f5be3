"""ECS capacity providers: the reservation metric, managed scaling, and the request round trip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elastic.errors import ManifestError, ParameterError
from elastic.nodes.cluster import DRAINING, LAUNCHING, READY, ClusterState
from elastic.nodes.ecs import (
    CapacityProvider,
    EcsManagedScaling,
    capacity_provider_reservation,
    reservation,
)
from elastic.nodes.labels import Toleration
from elastic.nodes.plan import NodePlan
from elastic.nodes.pods import PodSpec
from elastic.nodes.resources import Resources
from elastic.nodes.templates import NodeTemplate

GiB = 2**30
M5 = NodeTemplate("m5", "m5.large", "on-demand", Resources(2000, 8 * GiB, 29), Decimal("0.096"))
M5X = NodeTemplate("m5x", "m5.xlarge", "on-demand", Resources(4000, 16 * GiB, 58), Decimal("0.192"))
C5 = NodeTemplate("c5", "c5.large", "on-demand", Resources(2000, 4 * GiB, 29), Decimal("0.085"))
WEB = PodSpec("web", Resources.parse(cpu="1", memory="1Gi"))
BIG = PodSpec("big", Resources.parse(cpu="1500m", memory="2Gi"))
HUGE = PodSpec("huge", Resources.parse(cpu="3", memory="2Gi"))
AGENT = PodSpec(
    "agent",
    Resources.parse(cpu="100m", memory="128Mi"),
    daemon=True,
    tolerations=(Toleration(operator="Exists"),),
)
RNG = np.random.default_rng(0)

Node = tuple[str, int, Mapping[str, int]]  # template, state, tasks by spec


def build(
    nodes: Sequence[Node],
    pending: Mapping[str, int] | None = None,
    *,
    specs: Sequence[PodSpec] = (WEB, BIG, HUGE),
    launched_at: float = -1000.0,
) -> ClusterState:
    cluster = ClusterState([M5, M5X, C5], specs)
    for template, state, tasks in nodes:
        node = cluster.add_node(template, launched_at)
        for name, count in tasks.items():
            for _ in range(count):
                cluster.bind(cluster.add_pod(name, launched_at), node, launched_at)
        if state in (READY, DRAINING):
            cluster.set_node_state(node, READY, launched_at)
        if state == DRAINING:
            cluster.set_node_state(node, DRAINING, launched_at)
    for name, count in (pending or {}).items():
        for _ in range(count):
            cluster.add_pod(name, 0.0)
    return cluster


FULL = ("m5", READY, {"web": 2})  # two 1-vCPU tasks fill an m5's 2,000 millicores
HALF = ("m5", READY, {"web": 1})  # room for one more
EMPTY = ("m5", READY, {})

# (why, nodes, pending, provider settings, expected value)
RESERVATION_TABLE: list[tuple[str, list[Node], dict[str, int], dict[str, Any], float]] = [
    ("M = N = 0: nothing runs, nothing waits -> 100", [], {}, {}, 100.0),
    ("a task waits and no instance runs (N = 0, M > 0) -> 200", [], {"web": 1}, {}, 200.0),
    ("two instances, no task (M = 0 < N) -> 0", [EMPTY, EMPTY], {}, {}, 0.0),
    ("every instance runs a task, nothing waits: exactly at target", [HALF, FULL], {}, {}, 100.0),
    ("4 instances, 3 busy: M = 3, N = 4", [FULL, FULL, HALF, EMPTY], {}, {}, 75.0),
    (
        "3 waiting, 2 per m5: ceil(3/2) = 2 new, M = N + 2 = 4 over N = 2",
        [FULL, FULL],
        {"web": 3},
        {},
        200.0,
    ),
    (
        "3 waiting, the two half-full instances take 2: 1 provisioning -> M = 3",
        [HALF, HALF],
        {"web": 3},
        {},
        150.0,
    ),
    (
        "groups are not summed: 3 web need 2 m5, 1 big needs 1; the largest group, 2",
        [FULL],
        {"web": 3, "big": 1},
        {},
        300.0,
    ),
    (
        "maximumScalingStepSize 1 clamps the 2 new instances to 1: M = 3",
        [FULL, FULL],
        {"web": 3},
        {"maximum_scaling_step_size": 1},
        150.0,
    ),
    (
        "minimumScalingStepSize 5 raises 1 new instance to 5: M = 2 + 5",
        [FULL, FULL],
        {"web": 1},
        {"minimum_scaling_step_size": 5},
        350.0,
    ),
    (
        "a 3-vCPU task fits no m5: left out, and with nothing else waiting -> 100",
        [FULL, EMPTY],
        {"huge": 2},
        {},
        100.0,
    ),
    (
        "launching instances are running (N = 2), the empty one lowers M",
        [FULL, ("m5", LAUNCHING, {})],
        {},
        {},
        50.0,
    ),
    (
        "a draining instance is being terminated: not in N",
        [FULL, ("m5", DRAINING, {})],
        {},
        {},
        100.0,
    ),
    ("another group's instance is not this provider's", [FULL, ("c5", READY, {})], {}, {}, 100.0),
]


@pytest.mark.parametrize(
    ("nodes", "pending", "settings", "expected"),
    [row[1:] for row in RESERVATION_TABLE],
    ids=[row[0] for row in RESERVATION_TABLE],
)
def test_reservation_table(
    nodes: list[Node], pending: dict[str, int], settings: dict[str, Any], expected: float
) -> None:
    provider = CapacityProvider("web-ec2", (M5,), **settings)
    assert capacity_provider_reservation(build(nodes, pending), provider) == pytest.approx(expected)


def test_reservation_packs_onto_the_largest_type_and_guards_with_the_smallest() -> None:
    provider = CapacityProvider("mixed", (M5, M5X))
    # 5 web: 4 per m5.xlarge -> 2 new (the m5 would need 3); M = 1 + 2 over N = 1
    assert capacity_provider_reservation(build([FULL], {"web": 5}), provider) == 300.0
    # a 3-vCPU task fits the m5.xlarge but not the smallest type, the m5: left out -> 100
    metric = reservation(build([FULL], {"huge": 1}), provider)
    assert (metric.value, metric.incompatible) == (100.0, 1)


def test_reservation_leaves_the_daemon_tasks_room_out_of_the_estimate() -> None:
    specs = (WEB, BIG, HUGE, AGENT)
    cluster = build([("m5", READY, {"web": 1, "agent": 1})], {"web": 3}, specs=specs)
    # free room 900 m: no web fits; on a new m5, 2000 - 100 m holds one web: 3 new, M = 4
    metric = reservation(cluster, CapacityProvider("web-ec2", (M5,)))
    assert (metric.value, metric.busy, metric.estimate) == (400.0, 1, 3)
    # an instance running only the daemon is empty: M = 0
    alone = build([("m5", READY, {"agent": 1})], specs=specs)
    assert capacity_provider_reservation(alone, CapacityProvider("web-ec2", (M5,))) == 0.0


def test_reservation_counts_only_the_specs_it_is_given() -> None:
    cluster = build([FULL], {"big": 2})
    provider = CapacityProvider("web-ec2", (M5,))
    assert capacity_provider_reservation(cluster, provider, ["web"]) == 100.0
    assert capacity_provider_reservation(cluster, provider, ["big"]) == 300.0
    with pytest.raises(ParameterError, match="specs='nope'"):
        capacity_provider_reservation(cluster, provider, ["nope"])


def test_a_provider_template_missing_from_the_cluster_is_named() -> None:
    other = NodeTemplate("r5", "r5.large", "on-demand", Resources(2000, 16 * GiB, 29), "0.126")
    with pytest.raises(ParameterError, match="templates='r5'"):
        capacity_provider_reservation(build([]), CapacityProvider("x", (other,)))


# --- managed scaling --------------------------------------------------------------------------


def one_step(
    cluster: ClusterState, *providers: CapacityProvider, now: float = 0.0, **kw: Any
) -> NodePlan:
    return EcsManagedScaling(list(providers), **kw).step(cluster, now, RNG)


# (why, nodes, pending, provider settings, launched)
SCALE_OUT_TABLE: list[tuple[str, list[Node], dict[str, int], dict[str, Any], int]] = [
    ("from zero: 200 % on a base of one instance launches two", [], {"web": 3}, {}, 2),
    ("from zero at target 50: ceil(1 x 200 / 50) = 4", [], {"web": 1}, {"target_capacity": 50}, 4),
    ("200 % of 2 instances at target 100: ceil(2 x 2) = 4, +2", [FULL, FULL], {"web": 3}, {}, 2),
    (
        "target 90 keeps spare: 10 busy at 100 % -> ceil(10 x 100 / 90) = 12, +2",
        [HALF] * 10,
        {},
        {"target_capacity": 90},
        2,
    ),
    (
        "maximumScalingStepSize 1: at most one at a time",
        [FULL, FULL],
        {"web": 3},
        {"maximum_scaling_step_size": 1},
        1,
    ),
    (
        "minimumScalingStepSize 3 with target 90: +2 raised to +3",
        [HALF] * 10,
        {},
        {"target_capacity": 90, "minimum_scaling_step_size": 3},
        3,
    ),
    ("max_size 3 caps the +2 at +1", [FULL, FULL], {"web": 3}, {"max_size": 3}, 1),
    ("max_size reached: nothing", [FULL, FULL], {"web": 3}, {"max_size": 2}, 0),
]


@pytest.mark.parametrize(
    ("nodes", "pending", "settings", "launched"),
    [row[1:] for row in SCALE_OUT_TABLE],
    ids=[row[0] for row in SCALE_OUT_TABLE],
)
def test_scale_out_table(
    nodes: list[Node], pending: dict[str, int], settings: dict[str, Any], launched: int
) -> None:
    plan = one_step(build(nodes, pending), CapacityProvider("web-ec2", (M5,), **settings))
    assert sum(launch.count for launch in plan.launches) == launched
    assert all(launch.reason == "scale-out" and launch.template == "m5" for launch in plan.launches)
    assert not plan.removals


@pytest.mark.parametrize(
    ("age", "launches"),
    [(100.0, 0), (299.0, 0), (300.0, 2)],
    ids=[
        "an instance 100 s old is warming: scale-out waits",
        "1 s before the end of the warm-up it still waits",
        "exactly at instanceWarmupPeriod it has passed: scale-out",
    ],
)
def test_scale_out_waits_for_the_warm_up(age: float, launches: int) -> None:
    cluster = build([FULL], {"web": 3}, launched_at=1000.0 - age)
    plan = one_step(cluster, CapacityProvider("web-ec2", (M5,)), now=1000.0)
    assert sum(launch.count for launch in plan.launches) == launches
    if not launches:
        assert "warming" in plan.note


def test_min_size_is_kept_without_an_alarm() -> None:
    plan = one_step(build([]), CapacityProvider("web-ec2", (M5,), min_size=2, max_size=5))
    assert plan.launches[0].count == 2 and plan.launches[0].reason == "min size"


def test_scale_in_needs_fifteen_datapoints_below_target() -> None:
    cluster = build([FULL, EMPTY])  # 50 %
    empty = list(cluster)[1]
    ecs = EcsManagedScaling([CapacityProvider("web-ec2", (M5,))])
    plans = [ecs.step(cluster, 60.0 * k, RNG) for k in range(15)]
    assert all(not p.removals for p in plans[:14])
    assert "14 of 15" in plans[13].note
    assert [(r.node, r.reason) for r in plans[14].removals] == [(empty, "scale-in")]


def test_a_datapoint_at_target_restarts_the_scale_in_count() -> None:
    cluster = build([FULL, EMPTY])
    ecs = EcsManagedScaling([CapacityProvider("web-ec2", (M5,))], scale_in_datapoints=3)
    assert not ecs.step(cluster, 0.0, RNG).removals
    assert not ecs.step(cluster, 60.0, RNG).removals
    # the empty instance takes a task: 100 %, the low alarm's count starts over
    cluster.bind(cluster.add_pod("web", 120.0), list(cluster)[1], 120.0)
    assert not ecs.step(cluster, 120.0, RNG).removals
    assert ecs.below_["web-ec2"] == 0


def test_termination_protection_never_picks_an_instance_with_a_task() -> None:
    # target 100, 1 of 4 busy: target tracking wants 1 -> 3 to remove, at most half the group (2)
    cluster = build([EMPTY, FULL, EMPTY, EMPTY])
    busy = list(cluster)[1]
    plan = one_step(cluster, CapacityProvider("web-ec2", (M5,)), scale_in_datapoints=1)
    assert len(plan.removals) == 2
    assert busy not in {r.node for r in plan.removals}


def test_protected_instances_hold_the_scale_in_and_say_so() -> None:
    # the only empty instance is still launching: ECS removes protection only from registered ones
    cluster = build([FULL, ("m5", LAUNCHING, {})])
    plan = one_step(cluster, CapacityProvider("web-ec2", (M5,)), scale_in_datapoints=1)
    assert not plan.removals and "protected" in plan.note


def test_without_termination_protection_the_oldest_instance_goes_tasks_or_not() -> None:
    cluster = build([FULL, EMPTY])
    provider = CapacityProvider("web-ec2", (M5,), managed_termination_protection=False)
    plan = one_step(cluster, provider, scale_in_datapoints=1)
    assert [r.node for r in plan.removals] == [next(iter(cluster))]


def test_scale_in_waits_for_the_warm_up_too() -> None:
    cluster = build([FULL, EMPTY], launched_at=900.0)
    plan = one_step(cluster, CapacityProvider("web-ec2", (M5,)), now=1000.0, scale_in_datapoints=1)
    assert not plan.removals and "warming" in plan.note


def test_managed_scaling_off_does_nothing() -> None:
    provider = CapacityProvider("web-ec2", (M5,), managed_scaling=False)
    plan = one_step(build([], {"web": 3}), provider)
    assert plan.empty and "managed scaling off" in plan.note


def test_the_strategy_sends_each_workload_to_its_provider() -> None:
    small = CapacityProvider("small", (M5,))
    large = CapacityProvider("large", (M5X,))
    plan = one_step(build([], {"huge": 1}), small, large, strategy={"huge": "large"})
    assert [(launch.template, launch.count) for launch in plan.launches] == [("m5x", 2)]
    # without a strategy the first provider is the default, and a 3-vCPU task fits no m5
    plan = one_step(build([], {"huge": 1}), small, large)
    assert plan.empty


def test_scaling_parameters_are_checked() -> None:
    provider = CapacityProvider("web-ec2", (M5,))
    with pytest.raises(ParameterError, match="interval=0"):
        EcsManagedScaling([provider], interval=0)
    with pytest.raises(ParameterError, match="strategy\\['web'\\]='nope'"):
        EcsManagedScaling([provider], strategy={"web": "nope"})
    with pytest.raises(ParameterError, match="distinct names"):
        EcsManagedScaling([provider, provider])
    with pytest.raises(ParameterError, match="one provider"):
        EcsManagedScaling([provider, CapacityProvider("other", (M5,))])
    with pytest.raises(ParameterError, match="strategy='nope'"):
        EcsManagedScaling([provider], strategy={"nope": "web-ec2"}).step(build([]), 0.0, RNG)


@settings(max_examples=30, deadline=None)
@given(
    tasks=st.lists(st.integers(0, 2), min_size=1, max_size=8),
    pending=st.integers(0, 5),
    target=st.integers(1, 100),
)
def test_no_instance_running_a_task_is_ever_chosen_for_scale_in(
    tasks: list[int], pending: int, target: int
) -> None:
    cluster = build([("m5", READY, {"web": n}) for n in tasks], {"web": pending})
    provider = CapacityProvider("web-ec2", (M5,), target_capacity=target)
    ecs = EcsManagedScaling([provider], scale_in_datapoints=1)
    for k in range(3):
        plan = ecs.step(cluster, 60.0 * k, RNG)
        for removal in plan.removals:
            row = cluster.row_of(removal.node)
            assert cluster.requested[row, 2] - cluster.daemon_requested[row, 2] == 0


# --- the CreateCapacityProvider request -------------------------------------------------------


@pytest.mark.parametrize(
    "provider",
    [
        CapacityProvider("web-ec2", (M5,)),
        CapacityProvider(
            "batch",
            (M5X, M5),
            target_capacity=90,
            minimum_scaling_step_size=2,
            maximum_scaling_step_size=50,
            instance_warmup_period=0,
            managed_termination_protection=False,
            managed_draining=False,
            managed_scaling=False,
            min_size=1,
            max_size=40,
            auto_scaling_group="arn:aws:autoscaling:us-east-1:123:autoScalingGroup:x",
            tags=(("team", "data"),),
        ),
    ],
    ids=["defaults", "every field set"],
)
def test_request_round_trip(provider: CapacityProvider) -> None:
    again = CapacityProvider.from_request(
        provider.to_request(),
        provider.templates,
        min_size=provider.min_size,
        max_size=provider.max_size,
    )
    assert again == provider


def test_a_minimal_request_takes_the_api_defaults() -> None:
    request = {"name": "cp", "autoScalingGroupProvider": {"autoScalingGroupArn": "asg"}}
    provider = CapacityProvider.from_request(request, (M5,))
    assert (provider.managed_termination_protection, provider.managed_draining) == (False, True)
    assert not provider.managed_scaling  # no managedScaling object: ECS does not scale the group
    with_scaling = {
        "name": "cp",
        "autoScalingGroupProvider": {"autoScalingGroupArn": "asg", "managedScaling": {}},
    }
    provider = CapacityProvider.from_request(with_scaling, (M5,))
    assert provider.managed_scaling and provider.target_capacity == 100
    assert (provider.minimum_scaling_step_size, provider.maximum_scaling_step_size) == (1, 10_000)
    assert provider.instance_warmup_period == 300


def request(**scaling: Any) -> dict[str, Any]:
    return {
        "name": "cp",
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": "asg",
            "managedScaling": {"status": "ENABLED", **scaling},
        },
    }


BAD_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("targetCapacity 0", request(targetCapacity=0), "managedScaling.targetCapacity=0"),
    ("targetCapacity 101", request(targetCapacity=101), "managedScaling.targetCapacity=101"),
    ("targetCapacity 90.5", request(targetCapacity=90.5), "targetCapacity=90.5"),
    (
        "min step above max step",
        request(minimumScalingStepSize=5, maximumScalingStepSize=2),
        "minimumScalingStepSize=5 is invalid; expected at most maximumScalingStepSize (2)",
    ),
    (
        "warm-up above 10000",
        request(instanceWarmupPeriod=10_001),
        "instanceWarmupPeriod=10001",
    ),
    ("status not a switch", request(status="ON"), "managedScaling.status='ON'"),
    (
        "unknown field in managedScaling",
        request(targetCapcity=90),
        "unknown field autoScalingGroupProvider.managedScaling.targetCapcity",
    ),
    (
        "unknown top-level field",
        {**request(), "managedInstancesProvider": {}},
        "unknown field managedInstancesProvider",
    ),
    ("a reserved name prefix", {**request(), "name": "ecs-web"}, "name='ecs-web'"),
    (
        "no ASG",
        {"name": "cp", "autoScalingGroupProvider": {}},
        "autoScalingGroupArn is required",
    ),
    (
        "managedTerminationProtection not a switch",
        {
            "name": "cp",
            "autoScalingGroupProvider": {
                "autoScalingGroupArn": "asg",
                "managedTerminationProtection": True,
            },
        },
        "managedTerminationProtection=True",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), [row[1:] for row in BAD_REQUESTS], ids=[row[0] for row in BAD_REQUESTS]
)
def test_bad_requests_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as caught:
        CapacityProvider.from_request(body, (M5,))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_capacity": 0}, "target_capacity=0"),
        ({"target_capacity": 101}, "target_capacity=101"),
        ({"minimum_scaling_step_size": 3, "maximum_scaling_step_size": 2}, "minimum_scaling_step"),
        ({"maximum_scaling_step_size": 10_001}, "maximum_scaling_step_size=10001"),
        ({"instance_warmup_period": -1}, "instance_warmup_period=-1"),
        ({"min_size": 3, "max_size": 2}, "min_size=3"),
        ({"max_size": 10_001}, "max_size=10001"),
        ({"managed_draining": "yes"}, "managed_draining='yes'"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        CapacityProvider("web-ec2", (M5,), **kwargs)


def test_templates_are_checked() -> None:
    with pytest.raises(ParameterError, match="templates"):
        CapacityProvider("web-ec2", ())
    with pytest.raises(ParameterError, match="templates"):
        CapacityProvider("web-ec2", M5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="distinct"):
        CapacityProvider("web-ec2", (M5, M5))


def test_an_ecs_instance_keeps_nothing_from_tasks_by_default() -> None:
    from elastic.nodes.ecs import ECS_AGENT

    ecs = NodeTemplate.from_catalog("m5.large", reservation=ECS_AGENT)
    eks = NodeTemplate.from_catalog("m5.large")
    task = PodSpec("origin", Resources(2000, 256 * 2**20, 1))  # 2048 CPU units
    assert ecs.allocatable.cpu == 2000 and ecs.admits(task)  # 1,024 units a vCPU, all of them
    assert eks.allocatable.cpu == 1930 and not eks.admits(task)  # the EKS AMI keeps 70m
