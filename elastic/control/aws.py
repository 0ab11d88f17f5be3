"""The AWS actuators: an ECS service's desired count, an Application Auto Scaling target.

- :class:`EcsService` sets an Amazon ECS service's desired count
  (``UpdateService``), as the ECS console's "update service" does.
- :class:`ScalableTarget` pins an Application Auto Scaling scalable target
  to a count: ``RegisterScalableTarget`` with ``MinCapacity = MaxCapacity =
  count``; AWS then moves the resource's capacity into that range (see the
  class for why this and not the resource's own API).

Both need boto3, the ``aws`` extra (``pip install 'elastic[aws]'``), and
take the client to use (``boto3.client("ecs")``...): its credentials and
region are the usual ones of the AWS SDK (environment, profile, role).
"""

from __future__ import annotations

from typing import Any

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "elastic.control.aws needs the AWS SDK for Python (boto3), which is not installed "
        f"({missing}); install the extra: pip install 'elastic[aws]'"
    ) from missing

from elastic.control.sources import ReplicaCounts
from elastic.core.types import Decision
from elastic.errors import AdapterError, ParameterError

__all__ = ["EcsService", "ScalableTarget"]

# The SDK's own retries of throttling and transient errors, and no call without a bound:
# the controller's Retry comes on top, never past the next tick.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10
)

_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
_ECS_DIMENSION = "ecs:service:DesiredCount"


def _client(client: Any, service: str, owner: str) -> Any:
    if client is None:
        try:
            return boto3.client(service, config=_CONFIG)
        except BotoCoreError as failure:  # no region, a broken profile...
            raise AdapterError(
                f"{owner}: no {service} client could be made ({failure}); configure the AWS "
                f"SDK (AWS_REGION, credentials) or pass client=boto3.client({service!r}, ...)"
            ) from failure
    if not callable(getattr(client, "can_paginate", None)):  # every botocore client has it
        raise ParameterError("client", client, f"a boto3 {service} client", owner=owner)
    return client


def _name(value: object, label: str, owner: str) -> str:
    if not isinstance(value, str) or not value:
        raise ParameterError(label, value, "a non-empty string", owner=owner)
    return value


def _call(target: str, operation: str, method: Any, needs: str, **parameters: Any) -> Any:
    """Call ``method``; a refusal or a failure as an :class:`AdapterError` naming ``target``."""
    try:
        return method(**parameters)
    except ClientError as refused:
        error = refused.response.get("Error", {})
        code = error.get("Code", "?")
        status = refused.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        message = error.get("Message") or "(no message)"
        if code in _THROTTLED:
            hint = "AWS is throttling the calls: the controller retries with backoff"
        elif code in _DENIED:
            hint = f"the controller's IAM identity needs {needs} (see docs/controller.md)"
        else:
            hint = ""
        raise AdapterError(
            f"{target}: {operation} failed with {code} (HTTP {status}): {message}"
            + (f" ({hint})" if hint else "")
        ) from refused
    except BotoCoreError as failure:  # no connection, a timeout, no credentials
        raise AdapterError(
            f"{target}: {operation} failed: {type(failure).__name__}: {failure}"
        ) from failure


def _field(data: Any, key: str, target: str, operation: str) -> int:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AdapterError(
            f"{target}: {operation} answered {key}={value!r}; expected an integer >= 0"
        )
    return value


class EcsService:
    """An actuator on an Amazon ECS service's desired count.

    ``apply(decision)`` calls ``UpdateService(desiredCount=...)`` and returns
    the desired count in the answer; ``counts()`` reads ``DescribeServices``
    for :class:`~elastic.control.Observe`. A refusal (throttling, a service
    or cluster not found, access denied, a bad parameter) raises
    :class:`~elastic.errors.AdapterError` naming the service, the AWS error
    code and its message.

    If the service is also a scalable target with Application Auto Scaling
    policies, those policies keep moving the same count: remove them, or
    use :class:`ScalableTarget`.

    Parameters
    ----------
    cluster
        The cluster's name or ARN.
    service
        The service's name or ARN.
    client
        A ``boto3.client("ecs")``; by default one from the SDK's usual
        configuration, with standard retries and timeouts.

    Examples
    --------
    >>> import boto3
    >>> ecs = boto3.client("ecs", region_name="eu-west-1", aws_access_key_id="x",
    ...                    aws_secret_access_key="x")
    >>> EcsService("prod", "web", client=ecs)
    EcsService('prod', 'web')
    """

    def __init__(self, cluster: str, service: str, *, client: Any = None) -> None:
        owner = "EcsService"
        self.cluster = _name(cluster, "cluster", owner)
        self.service = _name(service, "service", owner)
        self.client = _client(client, "ecs", owner)

    @property
    def target(self) -> str:
        """The service, in words."""
        return f"ECS service {self.service!r} in cluster {self.cluster!r}"

    def apply(self, decision: Decision) -> int:
        """Set the desired count to ``decision.replicas``; the desired count AWS answered."""
        answer = _call(
            self.target,
            "UpdateService",
            self.client.update_service,
            "ecs:UpdateService",
            cluster=self.cluster,
            service=self.service,
            desiredCount=decision.replicas,
        )
        return _field(answer.get("service"), "desiredCount", self.target, "UpdateService")

    def counts(self) -> ReplicaCounts:
        """The service's counts: ``replicas`` its desired count, ``ready`` its running tasks
        (at most the desired count), ``pending`` its ``pendingCount`` and at least the tasks
        asked for and not running."""
        operation = "DescribeServices"
        answer = _call(
            self.target,
            operation,
            self.client.describe_services,
            "ecs:DescribeServices",
            cluster=self.cluster,
            services=[self.service],
        )
        services = answer.get("services") or []
        if not services:
            failures = answer.get("failures") or [{}]
            reason = failures[0].get("reason", "no service in the answer")
            raise AdapterError(
                f"{self.target}: {operation} found no such service ({reason}: "
                f"{failures[0].get('arn', self.service)})"
            )
        found = services[0]
        if found.get("status") == "INACTIVE":
            raise AdapterError(f"{self.target}: the service is INACTIVE (deleted)")
        desired = _field(found, "desiredCount", self.target, operation)
        running = _field(found, "runningCount", self.target, operation)
        pending = _field(found, "pendingCount", self.target, operation)
        ready = min(running, desired)
        return ReplicaCounts(desired, ready=ready, pending=max(pending, desired - ready))

    def __repr__(self) -> str:
        return f"EcsService({self.cluster!r}, {self.service!r})"


class ScalableTarget:
    """An actuator on an Application Auto Scaling scalable target: it pins the capacity.

    ``apply(decision)`` calls ``RegisterScalableTarget`` with ``MinCapacity =
    MaxCapacity = decision.replicas``. AWS then moves the resource's current
    capacity into that range, that is to the count (``RegisterScalableTarget``:
    "it changes the resource's current capacity to a value that is inside of
    this range"), and any scaling policy or scheduled action left on the
    target cannot move it elsewhere until the next decision. That is what
    an SRE expects of a controller that owns the count: the count asked for
    is the count kept, through the service AWS built for scaling that
    resource (whatever its kind: ECS, DynamoDB, Aurora replicas, SageMaker
    variants, Spot Fleets...). Moving only one bound (the minimum up, the
    maximum down) would leave the target's own policies to drift inside the
    range, so two autoscalers would fight over it. The bounds that were
    there before are replaced: write them down if you mean to hand the
    target back to its policies (``DescribeScalableTargets`` has them). A
    target not yet registered is registered, as AWS's call does.

    ``counts()`` checks the target is registered (``DescribeScalableTargets``)
    and reads the current capacity from the resource itself, since
    Application Auto Scaling does not report it: for an ECS service
    (``ecs:service:DesiredCount``), ``DescribeServices`` as
    :meth:`EcsService.counts` does. For another kind of resource give
    :class:`~elastic.control.Observe` a replica reader of your own.

    Parameters
    ----------
    service_namespace, resource_id, scalable_dimension
        The target, as Application Auto Scaling names it
        (``"ecs"``, ``"service/prod/web"``, ``"ecs:service:DesiredCount"``).
    client
        A ``boto3.client("application-autoscaling")``; by default one from the
        SDK's usual configuration.
    ecs_client
        A ``boto3.client("ecs")`` for :meth:`counts` of an ECS service; by
        default one in the region of ``client``.

    Examples
    --------
    >>> import boto3
    >>> aas = boto3.client("application-autoscaling", region_name="eu-west-1",
    ...                    aws_access_key_id="x", aws_secret_access_key="x")
    >>> ScalableTarget("ecs", "service/prod/web", "ecs:service:DesiredCount", client=aas)
    ScalableTarget('ecs', 'service/prod/web', 'ecs:service:DesiredCount')
    """

    def __init__(
        self,
        service_namespace: str,
        resource_id: str,
        scalable_dimension: str,
        *,
        client: Any = None,
        ecs_client: Any = None,
    ) -> None:
        owner = "ScalableTarget"
        self.service_namespace = _name(service_namespace, "service_namespace", owner)
        self.resource_id = _name(resource_id, "resource_id", owner)
        self.scalable_dimension = _name(scalable_dimension, "scalable_dimension", owner)
        self.client = _client(client, "application-autoscaling", owner)
        self._ecs: EcsService | None = None
        if scalable_dimension == _ECS_DIMENSION:
            parts = resource_id.split("/")
            if len(parts) != 3 or parts[0] != "service" or not all(parts[1:]):
                raise ParameterError(
                    "resource_id",
                    resource_id,
                    "service/<cluster>/<service> for ecs:service:DesiredCount",
                    owner=owner,
                )
            if ecs_client is None and client is not None:  # the region of the client given
                ecs_client = boto3.client(
                    "ecs", region_name=self.client.meta.region_name, config=_CONFIG
                )
            self._ecs = EcsService(parts[1], parts[2], client=ecs_client)

    @property
    def target(self) -> str:
        """The target, in words."""
        return f"scalable target {self.resource_id} ({self.scalable_dimension})"

    def apply(self, decision: Decision) -> None:
        """Pin the target to ``decision.replicas`` (``MinCapacity = MaxCapacity``); AWS's
        answer holds no count, so the count asked for is the count taken."""
        _call(
            self.target,
            "RegisterScalableTarget",
            self.client.register_scalable_target,
            "application-autoscaling:RegisterScalableTarget",
            ServiceNamespace=self.service_namespace,
            ResourceId=self.resource_id,
            ScalableDimension=self.scalable_dimension,
            MinCapacity=decision.replicas,
            MaxCapacity=decision.replicas,
        )

    def bounds(self) -> tuple[int, int]:
        """The target's ``(MinCapacity, MaxCapacity)``, from ``DescribeScalableTargets``."""
        operation = "DescribeScalableTargets"
        answer = _call(
            self.target,
            operation,
            self.client.describe_scalable_targets,
            "application-autoscaling:DescribeScalableTargets",
            ServiceNamespace=self.service_namespace,
            ResourceIds=[self.resource_id],
            ScalableDimension=self.scalable_dimension,
        )
        targets = answer.get("ScalableTargets") or []
        if not targets:
            raise AdapterError(
                f"{self.target}: not registered with Application Auto Scaling in namespace "
                f"{self.service_namespace!r} ({operation} found none)"
            )
        found = targets[0]
        return (
            _field(found, "MinCapacity", self.target, operation),
            _field(found, "MaxCapacity", self.target, operation),
        )

    def counts(self) -> ReplicaCounts:
        """The resource's counts (an ECS service's; see the class)."""
        self.bounds()
        if self._ecs is None:
            raise AdapterError(
                f"{self.target}: Application Auto Scaling does not report the current "
                f"capacity, and elastic reads it from the resource for {_ECS_DIMENSION} "
                "only; give Observe a replicas reader of your own"
            )
        return self._ecs.counts()

    def __repr__(self) -> str:
        return (
            f"ScalableTarget({self.service_namespace!r}, {self.resource_id!r}, "
            f"{self.scalable_dimension!r})"
        )
