"""The AWS actuators against moto running as a local server.

moto's server (``ThreadedMotoServer``) listens on 127.0.0.1 for the whole
module and is reset before each test; the actuators talk to it through
real boto3 clients (an ``endpoint_url``, dummy credentials and region), so
the requests and answers go over HTTP in the AWS wire protocols.

moto neither throttles nor answers an IAM denial of a JSON-protocol call
(ECS, Application Auto Scaling) in that protocol, so those two answers
come from a ``before-send`` hook of the client, in the body and status the
ECS endpoint sends; botocore parses them as it parses AWS's. moto also does
not carry a scalable target's new bounds over to the ECS service (AWS
does): the tests read the bounds from Application Auto Scaling.
"""

from __future__ import annotations

import importlib
import json
import logging
import socket
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3", reason="the aws extra is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.config import Config  # noqa: E402

from elastic import Decision, DecisionLoop  # noqa: E402
from elastic.control import (  # noqa: E402
    CallableSource,
    Controller,
    ManualClock,
    Observe,
    ReplicaCounts,
    Retry,
)
from elastic.control.aws import EcsService, ScalableTarget  # noqa: E402
from elastic.errors import AdapterError, ParameterError  # noqa: E402
from elastic.policies import TargetTracking  # noqa: E402

REGION = "eu-west-1"
DIMENSION = "ecs:service:DesiredCount"


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def endpoint(moto: str) -> str:
    request = urllib.request.Request(f"{moto}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    return moto


def client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5),
    )


@pytest.fixture
def ecs(endpoint: str) -> Any:
    ecs = client(endpoint, "ecs")
    ecs.create_cluster(clusterName="prod")
    ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "web", "image": "nginx", "memory": 128}]
    )
    ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2)
    return ecs


def desired(ecs: Any, service: str = "web") -> int:
    found = ecs.describe_services(cluster="prod", services=[service])["services"][0]
    return int(found["desiredCount"])


def decision(replicas: int, current: int = 2) -> Decision:
    return Decision(0.0, current, replicas, (), ())


class Body:
    """The raw body of a canned answer."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


def answer(aws: Any, operation: str, status: int, body: dict[str, Any], times: int = 1) -> None:
    """Make the next ``times`` calls of ``operation`` answer ``status`` and ``body`` (JSON 1.1),
    as AWS does; later calls go to moto."""
    left = [times]

    def send(request: Any, **kwargs: Any) -> AWSResponse | None:
        if left[0] == 0:
            return None
        left[0] -= 1
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "r-1"}
        return AWSResponse(request.url, status, headers, Body(json.dumps(body).encode()))

    service = aws.meta.service_model.service_id.hyphenize()
    aws.meta.events.register(f"before-send.{service}.{operation}", send)


THROTTLED = {"__type": "ThrottlingException", "message": "Rate exceeded"}
DENIED = {
    "__type": "AccessDeniedException",
    "message": "User: arn:aws:sts::123456789012:assumed-role/elastic/ctl is not authorized to "
    "perform: ecs:UpdateService on resource: arn:aws:ecs:eu-west-1:123456789012:service/prod/web "
    "because no identity-based policy allows the ecs:UpdateService action",
}


# --- EcsService ---------------------------------------------------------------------------------


def test_an_ecs_service_takes_the_desired_count_and_answers_it(ecs: Any) -> None:
    actuator = EcsService("prod", "web", client=ecs)
    assert actuator.apply(decision(5)) == 5
    assert desired(ecs) == 5


def test_the_counts_of_an_ecs_service_come_from_describe_services(ecs: Any) -> None:
    actuator = EcsService("prod", "web", client=ecs)
    # moto starts a new service's tasks as PENDING and runs them all on an update
    assert actuator.counts() == ReplicaCounts(2, ready=0, pending=2)
    actuator.apply(decision(4))
    assert actuator.counts() == ReplicaCounts(4, ready=4, pending=0)


def test_while_an_ecs_service_scales_in_it_never_reports_more_ready_than_asked(ecs: Any) -> None:
    arn = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
    found = {"serviceArn": arn, "serviceName": "web", "status": "ACTIVE"}
    found.update(desiredCount=2, runningCount=4, pendingCount=0)  # two tasks still stopping
    answer(ecs, "DescribeServices", 200, {"services": [found], "failures": []})
    counts = EcsService("prod", "web", client=ecs).counts()
    assert counts == ReplicaCounts(2, ready=2, pending=0)


def test_an_unknown_ecs_service_or_cluster_is_a_precise_error(ecs: Any) -> None:
    with pytest.raises(AdapterError) as refused:
        EcsService("prod", "api", client=ecs).apply(decision(3))
    assert str(refused.value) == (
        "ECS service 'api' in cluster 'prod': UpdateService failed with "
        "ServiceNotFoundException (HTTP 400): Service not found."
    )
    with pytest.raises(
        AdapterError,
        match=r"'api' in cluster 'prod': DescribeServices found no "
        r"such service \(MISSING: arn:aws:ecs:eu-west-1:\d+:service/api\)",
    ):
        EcsService("prod", "api", client=ecs).counts()
    with pytest.raises(
        AdapterError,
        match=r"cluster 'test': UpdateService failed with "
        r"ClusterNotFoundException \(HTTP 400\): Cluster not found",
    ):
        EcsService("test", "web", client=ecs).apply(decision(3))


def test_throttling_is_a_precise_error(ecs: Any) -> None:
    answer(ecs, "UpdateService", 400, THROTTLED)
    with pytest.raises(AdapterError) as refused:
        EcsService("prod", "web", client=ecs).apply(decision(3))
    message = str(refused.value)
    assert "ECS service 'web' in cluster 'prod': UpdateService failed with ThrottlingException" in (
        message
    )
    assert "(HTTP 400): Rate exceeded" in message and "throttling" in message
    assert desired(ecs) == 2


def test_access_denied_names_the_permission_needed(ecs: Any) -> None:
    answer(ecs, "UpdateService", 400, DENIED)
    with pytest.raises(AdapterError) as refused:
        EcsService("prod", "web", client=ecs).apply(decision(3))
    message = str(refused.value)
    assert "UpdateService failed with AccessDeniedException (HTTP 400)" in message
    assert "is not authorized to perform: ecs:UpdateService" in message
    assert "needs ecs:UpdateService" in message


def test_an_unreachable_endpoint_is_a_precise_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ecs = client(f"http://127.0.0.1:{port}", "ecs")
    with pytest.raises(
        AdapterError,
        match=r"'web' in cluster 'prod': DescribeServices failed: "
        r"EndpointConnectionError",
    ):
        EcsService("prod", "web", client=ecs).counts()


def test_bad_parameters_are_refused_by_name(ecs: Any) -> None:
    with pytest.raises(ParameterError, match="cluster=''"):
        EcsService("", "web", client=ecs)
    with pytest.raises(ParameterError, match="client='ecs'"):
        EcsService("prod", "web", client="ecs")
    with pytest.raises(
        ParameterError, match=r"resource_id='prod/web'.*service/<cluster>/<service>"
    ):
        ScalableTarget("ecs", "prod/web", DIMENSION, client=ecs, ecs_client=ecs)


def test_without_boto3_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "elastic.control.aws")
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ImportError, match=r"pip install 'elastic\[aws\]'"):
        importlib.import_module("elastic.control.aws")


# --- ScalableTarget -----------------------------------------------------------------------------


def test_a_scalable_target_is_pinned_to_the_count(endpoint: str, ecs: Any) -> None:
    aas = client(endpoint, "application-autoscaling")
    aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/prod/web",
        ScalableDimension=DIMENSION,
        MinCapacity=1,
        MaxCapacity=10,
    )
    actuator = ScalableTarget("ecs", "service/prod/web", DIMENSION, client=aas, ecs_client=ecs)
    assert actuator.apply(decision(4)) is None  # AWS answers with the target's ARN only
    assert actuator.bounds() == (4, 4)
    actuator.apply(decision(12))  # beyond the old maximum: the bounds follow the count
    assert actuator.bounds() == (12, 12)


def test_the_counts_of_a_scalable_target_come_from_its_ecs_service(endpoint: str, ecs: Any) -> None:
    aas = client(endpoint, "application-autoscaling")
    actuator = ScalableTarget("ecs", "service/prod/web", DIMENSION, client=aas, ecs_client=ecs)
    with pytest.raises(
        AdapterError,
        match=r"scalable target service/prod/web "
        r"\(ecs:service:DesiredCount\): not registered",
    ):
        actuator.counts()
    actuator.apply(decision(3))
    ecs.update_service(cluster="prod", service="web", desiredCount=3)  # what AWS would do
    assert actuator.counts() == ReplicaCounts(3, ready=3, pending=0)


def test_a_scalable_target_refused_by_validation_is_a_precise_error(
    endpoint: str, ecs: Any
) -> None:
    aas = client(endpoint, "application-autoscaling")
    actuator = ScalableTarget("ecs", "service/prod/api", DIMENSION, client=aas, ecs_client=ecs)
    with pytest.raises(AdapterError) as refused:
        actuator.apply(decision(3))
    assert str(refused.value) == (
        "scalable target service/prod/api (ecs:service:DesiredCount): RegisterScalableTarget "
        "failed with ValidationException (HTTP 400): ECS service doesn't exist: service/prod/api"
    )


def test_a_throttled_scalable_target_is_a_precise_error(endpoint: str, ecs: Any) -> None:
    aas = client(endpoint, "application-autoscaling")
    answer(aas, "RegisterScalableTarget", 400, THROTTLED)
    actuator = ScalableTarget("ecs", "service/prod/web", DIMENSION, client=aas, ecs_client=ecs)
    with pytest.raises(
        AdapterError,
        match=r"RegisterScalableTarget failed with "
        r"ThrottlingException \(HTTP 400\): Rate exceeded",
    ):
        actuator.apply(decision(3))


def test_the_counts_of_another_kind_of_target_say_what_to_do(endpoint: str) -> None:
    aas = client(endpoint, "application-autoscaling")
    actuator = ScalableTarget(
        "dynamodb", "table/orders", "dynamodb:table:ReadCapacityUnits", client=aas
    )
    actuator.apply(decision(50))
    assert actuator.bounds() == (50, 50)
    with pytest.raises(AdapterError, match="give Observe a replicas reader of your own"):
        actuator.counts()


# --- the controller end to end ------------------------------------------------------------------


def test_the_controller_scales_an_ecs_service_through_throttling(ecs: Any) -> None:
    actuator = EcsService("prod", "web", client=ecs)
    ecs.update_service(cluster="prod", service="web", desiredCount=2)  # both tasks running
    load = [400.0]  # CPU percent of one task, spread over the running ones

    def cpu(now: float) -> dict[str, float]:
        return {"cpu": load[0] / max(actuator.counts().ready or 0, 1)}

    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20)
    controller = Controller(
        loop,
        Observe(CallableSource(cpu, names=("cpu",)), actuator.counts),
        actuator,
        interval=60.0,
        clock=ManualClock(1_700_000_000.0),
        retry=Retry(attempts=3, backoff=1.0),
    )
    answer(ecs, "UpdateService", 400, THROTTLED)  # once: the retry goes through
    first = controller.step()
    assert (first.applied, first.attempts) == (8, 2)
    assert desired(ecs) == 8
    assert controller.step().attempts == 0  # at the target: nothing to ask
    load[0] = 800.0
    answer(ecs, "UpdateService", 400, DENIED, times=3)  # every attempt refused
    events = list(loop.up_events_)
    third = controller.step()
    assert third.applied is None and third.attempts == 3
    assert third.error is not None and "AccessDeniedException" in third.error
    assert loop.up_events_ == events and desired(ecs) == 8  # nothing recorded, nothing changed
    fourth = controller.step()
    assert (fourth.applied, desired(ecs)) == (16, 16)
