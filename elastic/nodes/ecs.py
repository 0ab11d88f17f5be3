"""ECS capacity providers with managed scaling: the ``CapacityProviderReservation`` metric,
target tracking on it, and managed termination protection.

An Auto Scaling group (ASG) capacity provider runs ECS tasks on EC2
instances; with managed scaling on, ECS publishes every minute the metric
``CapacityProviderReservation`` (``M / N x 100``) and a target-tracking
policy on the ASG holds it at ``targetCapacity``. Every rule here is the
ECS Developer Guide's ("Amazon ECS managed scaling behavior",
``developerguide/managed-scaling-behavior.html``; "Automatically manage
Amazon ECS capacity with cluster auto scaling",
``developerguide/cluster-auto-scaling.html``; "Control the instances
Amazon ECS terminates", ``developerguide/managed-termination-protection.html``)
or the API reference's (``APIReference/API_CreateCapacityProvider.html``,
``API_AutoScalingGroupProvider.html``, ``API_ManagedScaling.html``); where
they are silent, the choice is ours and ``docs/nodes/ecs.md`` says so.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from elastic.core.stages import clamp_to_bounds
from elastic.core.types import Observation
from elastic.core.validate import check_int, check_number
from elastic.errors import ManifestError, ParameterError
from elastic.nodes.allocatable import Reservation
from elastic.nodes.cluster import LAUNCHING, PENDING, READY, REGISTERED, ClusterState
from elastic.nodes.plan import Launch, NodePlan, Removal
from elastic.nodes.templates import NodeTemplate
from elastic.policies.target_tracking import TargetTracking

__all__ = [
    "ECS_AGENT",
    "METRIC",
    "CapacityProvider",
    "EcsManagedScaling",
    "ReservationEstimate",
    "capacity_provider_reservation",
    "reservation",
]

#: the metric ECS publishes to the ``AWS/ECS/ManagedScaling`` namespace
METRIC = "CapacityProviderReservation"
#: what an ECS container instance keeps from tasks by default: nothing. The agent registers
#: the instance's CPU (1,024 units a vCPU) and the memory the OS sees, less
#: ``ECS_RESERVED_MEMORY`` (0 by default; ECS Developer Guide, "Reserving Amazon ECS Linux
#: container instance memory"); as ``NodeTemplate.from_catalog(type, reservation=ECS_AGENT)``.
ECS_AGENT = Reservation(0, 0, "ECS container agent: nothing reserved (ECS_RESERVED_MEMORY=0)")
#: the value with tasks waiting and no instance running (scale-out from zero)
FROM_ZERO = 200.0
#: the API's range for both scaling step sizes, and for ``instanceWarmupPeriod`` (0 to it)
STEP_LIMIT = 10_000
#: a bound on ``max_size`` (an ASG needs one; this one bounds what a run may launch)
MAX_SIZE_LIMIT = 10_000
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_RESERVED = ("aws", "ecs", "fargate")  # CreateCapacityProvider: a name may not start with these
_RUNNING = (LAUNCHING, REGISTERED, READY)
_SWITCH = {"ENABLED": True, "DISABLED": False}


@dataclass(frozen=True)
class CapacityProvider:
    """An ASG capacity provider: the group's instance types and size, and ECS's settings.

    The settings are the ``CreateCapacityProvider`` request's
    (:meth:`from_request` / :meth:`to_request`, field names as in the API);
    the ASG's own minimum, maximum and instance types are not in that
    request (they are the ASG's), so they are parameters here.

    Parameters
    ----------
    name
        The capacity provider's name: 1-255 letters, digits, ``_`` and
        ``-``, not starting with ``aws``, ``ecs`` or ``fargate``.
    templates
        The ASG's instance types, as node templates, in the group's
        priority order: new instances are of the first one (ECS asks for
        the larger types first and no weights). Usually one.
    target_capacity
        ``targetCapacity``: the metric's target, ``1..100`` percent
        (default 100: no spare instance; 90 keeps about 10 % spare).
    minimum_scaling_step_size, maximum_scaling_step_size
        Instances added at one time, at least / at most (defaults 1 and
        10,000; scale-in is not affected by them).
    instance_warmup_period
        Seconds after its launch before an instance counts as warmed
        (default 300, ``0..10000``); scale-out waits while any instance of
        the group is warming.
    managed_termination_protection
        Scale-in terminates only instances without non-daemon tasks (the
        API's default is off; this constructor's is on, the usual setting).
    min_size, max_size
        The ASG's ``MinSize`` and ``MaxSize`` (ECS never changes them).
    managed_draining
        ``managedDraining`` (the API's default is on). Kept for the round
        trip: the simulator always drains a removed instance.
    managed_scaling
        ``managedScaling.status``: off, ECS does not scale the group.
    auto_scaling_group
        ``autoScalingGroupArn``: the ASG's ARN or name (default: ``name``).
    tags
        The request's ``tags`` as ``(key, value)`` pairs, kept for the round trip.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.resources import Resources
    >>> m5 = NodeTemplate("m5", "m5.large", "on-demand",
    ...                   Resources(2048, 7_680 * 2**20, 29), Decimal("0.096"))
    >>> cp = CapacityProvider("web-ec2", (m5,), target_capacity=90, max_size=20)
    >>> cp.to_request()["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"]
    90
    >>> CapacityProvider.from_request(cp.to_request(), (m5,), max_size=20) == cp
    True
    """

    name: str
    templates: tuple[NodeTemplate, ...]
    _: KW_ONLY
    target_capacity: int = 100
    minimum_scaling_step_size: int = 1
    maximum_scaling_step_size: int = STEP_LIMIT
    instance_warmup_period: int = 300
    managed_termination_protection: bool = True
    min_size: int = 0
    max_size: int = 100
    managed_draining: bool = True
    managed_scaling: bool = True
    auto_scaling_group: str = ""
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        owner = "CapacityProvider"
        name = self.name
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ParameterError("name", name, "1-255 letters, digits, '_' or '-'", owner=owner)
        if name.lower().startswith(_RESERVED):
            raise ParameterError(
                "name", name, "a name not starting with aws, ecs or fargate", owner=owner
            )
        templates = self.templates
        if isinstance(templates, NodeTemplate) or not isinstance(templates, Sequence):
            raise ParameterError("templates", templates, "a sequence of NodeTemplate", owner=owner)
        templates = tuple(templates)
        if not templates or not all(isinstance(t, NodeTemplate) for t in templates):
            raise ParameterError("templates", templates, "at least one NodeTemplate", owner=owner)
        names = [t.name for t in templates]
        if len(set(names)) != len(names):
            raise ParameterError("templates", names, "templates of distinct names", owner=owner)
        object.__setattr__(self, "templates", templates)
        target = check_int(self.target_capacity, "target_capacity", owner=owner, ge=1)
        if target > 100:
            raise ParameterError("target_capacity", target, "an integer from 1 to 100", owner=owner)
        low = check_int(
            self.minimum_scaling_step_size, "minimum_scaling_step_size", owner=owner, ge=1
        )
        high = check_int(
            self.maximum_scaling_step_size, "maximum_scaling_step_size", owner=owner, ge=1
        )
        for field_name, value in (
            ("minimum_scaling_step_size", low),
            ("maximum_scaling_step_size", high),
        ):
            if value > STEP_LIMIT:
                raise ParameterError(
                    field_name, value, f"an integer from 1 to {STEP_LIMIT}", owner=owner
                )
        if low > high:
            raise ParameterError(
                "minimum_scaling_step_size",
                low,
                f"at most maximum_scaling_step_size ({high})",
                owner=owner,
            )
        warmup = check_int(self.instance_warmup_period, "instance_warmup_period", owner=owner, ge=0)
        if warmup > STEP_LIMIT:
            raise ParameterError(
                "instance_warmup_period", warmup, f"an integer from 0 to {STEP_LIMIT}", owner=owner
            )
        lowest = check_int(self.min_size, "min_size", owner=owner, ge=0)
        highest = check_int(self.max_size, "max_size", owner=owner, ge=0)
        if highest > MAX_SIZE_LIMIT:
            raise ParameterError(
                "max_size", highest, f"an integer from 0 to {MAX_SIZE_LIMIT}", owner=owner
            )
        if lowest > highest:
            raise ParameterError("min_size", lowest, f"at most max_size ({highest})", owner=owner)
        for flag in (
            "managed_termination_protection",
            "managed_draining",
            "managed_scaling",
        ):
            if not isinstance(getattr(self, flag), bool):
                raise ParameterError(flag, getattr(self, flag), "True or False", owner=owner)
        group = self.auto_scaling_group or name
        if not isinstance(group, str):
            raise ParameterError("auto_scaling_group", group, "the ASG's ARN or name", owner=owner)
        object.__setattr__(self, "auto_scaling_group", group)
        tags = self.tags
        if isinstance(tags, Mapping):
            tags = tuple(tags.items())
        if isinstance(tags, str) or not all(
            isinstance(t, tuple) and len(t) == 2 and all(isinstance(s, str) for s in t)
            for t in tags
        ):
            raise ParameterError("tags", tags, "(key, value) pairs of strings", owner=owner)
        object.__setattr__(self, "tags", tuple(tags))

    # --- the CreateCapacityProvider request ---------------------------------------------------

    def to_request(self) -> dict[str, Any]:
        """The ``CreateCapacityProvider`` request body (JSON shape of the ECS API)."""
        request: dict[str, Any] = {
            "name": self.name,
            "autoScalingGroupProvider": {
                "autoScalingGroupArn": self.auto_scaling_group,
                "managedScaling": {
                    "status": _switch(self.managed_scaling),
                    "targetCapacity": self.target_capacity,
                    "minimumScalingStepSize": self.minimum_scaling_step_size,
                    "maximumScalingStepSize": self.maximum_scaling_step_size,
                    "instanceWarmupPeriod": self.instance_warmup_period,
                },
                "managedTerminationProtection": _switch(self.managed_termination_protection),
                "managedDraining": _switch(self.managed_draining),
            },
        }
        if self.tags:
            request["tags"] = [{"key": k, "value": v} for k, v in self.tags]
        return request

    @classmethod
    def from_request(
        cls,
        request: Mapping[str, Any],
        templates: Sequence[NodeTemplate],
        *,
        min_size: int = 0,
        max_size: int = 100,
    ) -> CapacityProvider:
        """A capacity provider from a ``CreateCapacityProvider`` request body.

        Fields the request omits take the API's defaults (managed
        termination protection off, managed draining on, the managed
        scaling defaults above). Unknown fields and bad values raise a
        :class:`~elastic.errors.ManifestError` naming the field's path.
        """
        where = "CreateCapacityProvider"
        body = _mapping(request, "", where)
        _known(body, "", ("name", "autoScalingGroupProvider", "tags"), where)
        for required in ("name", "autoScalingGroupProvider"):
            if required not in body:
                raise ManifestError(f"{where}: {required} is required")
        group = _mapping(body["autoScalingGroupProvider"], "autoScalingGroupProvider", where)
        _known(
            group,
            "autoScalingGroupProvider.",
            (
                "autoScalingGroupArn",
                "managedScaling",
                "managedTerminationProtection",
                "managedDraining",
            ),
            where,
        )
        if "autoScalingGroupArn" not in group:
            raise ManifestError(
                f"{where}: autoScalingGroupProvider.autoScalingGroupArn is required"
            )
        arn = group["autoScalingGroupArn"]
        if not isinstance(arn, str) or not arn:
            raise ManifestError(
                f"{where}: autoScalingGroupProvider.autoScalingGroupArn={arn!r} is invalid; "
                "expected the ASG's ARN or name"
            )
        scaling_path = "autoScalingGroupProvider.managedScaling"
        scaling = _mapping(group.get("managedScaling", {}), scaling_path, where)
        fields = {
            "status": "managed_scaling",
            "targetCapacity": "target_capacity",
            "minimumScalingStepSize": "minimum_scaling_step_size",
            "maximumScalingStepSize": "maximum_scaling_step_size",
            "instanceWarmupPeriod": "instance_warmup_period",
        }
        _known(scaling, scaling_path + ".", tuple(fields), where)
        kwargs: dict[str, Any] = {}
        paths = {
            "name": "name",
            "auto_scaling_group": "autoScalingGroupProvider.autoScalingGroupArn",
        }
        for key, param in fields.items():
            paths[param] = f"{scaling_path}.{key}"
            if key in scaling:
                kwargs[param] = scaling[key]
        # a managedScaling object given without status, or none at all: see docs/nodes/ecs.md
        kwargs["managed_scaling"] = _read_switch(
            scaling.get("status", "ENABLED" if "managedScaling" in group else "DISABLED"),
            f"{scaling_path}.status",
            where,
        )
        for key, param, default in (
            ("managedTerminationProtection", "managed_termination_protection", "DISABLED"),
            ("managedDraining", "managed_draining", "ENABLED"),
        ):
            kwargs[param] = _read_switch(
                group.get(key, default), f"autoScalingGroupProvider.{key}", where
            )
        tags: list[tuple[str, str]] = []
        raw_tags = body.get("tags", [])
        if not isinstance(raw_tags, list):
            raise ManifestError(f"{where}: tags={raw_tags!r} is invalid; expected a list")
        for i, raw in enumerate(raw_tags):
            tag = _mapping(raw, f"tags[{i}]", where)
            _known(tag, f"tags[{i}].", ("key", "value"), where)
            tag_key, tag_value = tag.get("key"), tag.get("value", "")
            if not isinstance(tag_key, str) or not isinstance(tag_value, str):
                raise ManifestError(
                    f"{where}: tags[{i}]={dict(tag)!r} is invalid; expected a string key and value"
                )
            tags.append((tag_key, tag_value))
        try:
            return cls(
                body["name"],
                tuple(templates),
                min_size=min_size,
                max_size=max_size,
                auto_scaling_group=arn,
                tags=tuple(tags),
                **kwargs,
            )
        except ParameterError as error:
            path = paths.get(error.name)
            if path is None:  # a parameter that is not the request's (templates, sizes)
                raise
            expected = error.expected
            for name, written in paths.items():  # the request's names, not Python's
                expected = expected.replace(name, written.rsplit(".", 1)[-1])
            raise ManifestError(
                f"{where}: {path}={error.value!r} is invalid; expected {expected}"
            ) from None


def _switch(on: bool) -> str:
    return "ENABLED" if on else "DISABLED"


def _read_switch(value: Any, path: str, where: str) -> bool:
    if value not in _SWITCH:
        raise ManifestError(f"{where}: {path}={value!r} is invalid; expected ENABLED or DISABLED")
    return _SWITCH[value]


def _mapping(value: Any, path: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ManifestError(
            f"{where}: {path or 'the request'}={value!r} is invalid; expected a JSON object"
        )
    return value


def _known(body: Mapping[str, Any], prefix: str, known: tuple[str, ...], where: str) -> None:
    for key in body:
        if key not in known:
            raise ManifestError(
                f"{where}: unknown field {prefix}{key}; expected one of " + ", ".join(known)
            )


# --- the metric -------------------------------------------------------------------------------


class ReservationEstimate(NamedTuple):
    """``CapacityProviderReservation`` and the counts it was made of.

    ``running`` is N; ``needed`` is M (``None`` where the value is one of
    the documented constants: 200 with tasks waiting and no instance, 100
    when every waiting task fits no instance type); ``busy`` the instances
    running a non-daemon task; ``estimate`` the new instances the waiting
    tasks need (after the step-size clamp); ``provisioning`` the waiting
    tasks counted, ``incompatible`` those left out.
    """

    value: float
    running: int
    busy: int
    needed: int | None
    estimate: int
    provisioning: int
    incompatible: int


def capacity_provider_reservation(
    cluster: ClusterState,
    provider: CapacityProvider,
    specs: Collection[str] | None = None,
) -> float:
    """``CapacityProviderReservation`` of ``provider``'s group: ``M / N x 100``.

    See :func:`reservation` for how M and N are counted.

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.pods import PodSpec
    >>> from elastic.nodes.resources import Resources
    >>> m5 = NodeTemplate("m5", "m5.large", "on-demand",
    ...                   Resources(2000, 8 * 2**30, 29), Decimal("0.096"))
    >>> task = PodSpec("web", Resources.parse(cpu="1", memory="1Gi"))
    >>> cluster = ClusterState([m5], [task])
    >>> cp = CapacityProvider("web-ec2", (m5,))
    >>> capacity_provider_reservation(cluster, cp)        # M = N = 0
    100.0
    >>> _ = cluster.add_pod("web", now=0.0)
    >>> capacity_provider_reservation(cluster, cp)        # a task waits, no instance
    200.0
    """
    return reservation(cluster, provider, specs).value


def reservation(
    cluster: ClusterState,
    provider: CapacityProvider,
    specs: Collection[str] | None = None,
) -> ReservationEstimate:
    """``CapacityProviderReservation`` with its counts.

    - **N**: instances of the group that are running: launching,
      registered or ready (an instance being drained is being terminated
      and is not counted).
    - **Provisioning tasks**: pending tasks of ``specs`` (every non-daemon
      spec when ``None``) that do not fit the free room of the group's
      ready instances (placed first-fit, in spec order).
    - A spec is **compatible** when one task fits an empty instance of
      every instance type of the group (the smallest type is the guard);
      incompatible tasks are left out, and when every provisioning task is
      incompatible the value is 100.
    - **Estimate**: provisioning tasks are grouped by identical
      requirements; each group is packed onto the group's largest
      instance type for it (the one taking most such tasks, less the
      daemon tasks that run on every instance), ``ceil(tasks / per
      instance)``; the estimate is the largest group's count ("the maximum
      calculated instance count"), clamped to the scaling step sizes.
    - **M**: with provisioning tasks, ``N + estimate`` (the metric is then
      above 100); without, the instances running at least one non-daemon
      task.
    - Edges: ``M = N = 0`` gives 100; tasks waiting with ``N = 0`` give 200;
      ``M = 0 < N`` gives 0.
    """
    templates = _template_rows(cluster, provider)
    spec_rows = _spec_rows(cluster, specs)
    node_rows = cluster.node_rows(*_RUNNING)
    node_rows = node_rows[np.isin(cluster.node_template[node_rows], templates)]
    running = len(node_rows)
    tasks = cluster.requested[node_rows, 2] - cluster.daemon_requested[node_rows, 2]
    busy = int(np.count_nonzero(tasks > 0))

    waiting = _waiting(cluster, spec_rows)
    if waiting.any():
        ready = node_rows[cluster.node_state[node_rows] == READY]
        waiting = _left_after_free_room(cluster, waiting, ready)
    provisioning = int(waiting.sum())
    estimate, incompatible = _estimate(cluster, waiting, templates)
    if provisioning and estimate == 0:
        return ReservationEstimate(100.0, running, busy, None, 0, provisioning, incompatible)
    if estimate:
        estimate = min(
            max(estimate, provider.minimum_scaling_step_size), provider.maximum_scaling_step_size
        )
        if running == 0:
            return ReservationEstimate(FROM_ZERO, 0, 0, None, estimate, provisioning, incompatible)
        needed = running + estimate
    else:
        if running == 0:
            return ReservationEstimate(100.0, 0, 0, 0, 0, 0, 0)
        needed = busy
    return ReservationEstimate(
        needed / running * 100.0, running, busy, needed, estimate, provisioning, incompatible
    )


def _template_rows(cluster: ClusterState, provider: CapacityProvider) -> NDArray[np.int64]:
    rows = []
    for template in provider.templates:
        index = cluster.template_index.get(template.name)
        if index is None or cluster.templates[index] != template:
            raise ParameterError(
                "templates",
                template.name,
                "a template of the cluster (same name and shape): one of "
                + ", ".join(cluster.template_index),
                owner=f"CapacityProvider {provider.name!r}",
            )
        rows.append(index)
    return np.array(rows, dtype=np.int64)


def _spec_rows(cluster: ClusterState, specs: Collection[str] | None) -> NDArray[np.int64]:
    if specs is None:
        return np.flatnonzero(~cluster.daemon)
    if isinstance(specs, str):
        raise ParameterError("specs", specs, "a collection of spec names", owner="reservation")
    rows = []
    for name in specs:
        index = cluster.spec_index.get(name)
        if index is None:
            raise ParameterError(
                "specs", name, "one of " + ", ".join(cluster.spec_index), owner="reservation"
            )
        if not cluster.daemon[index]:  # daemon tasks never make an instance needed
            rows.append(index)
    return np.array(sorted(set(rows)), dtype=np.int64)


def _waiting(cluster: ClusterState, spec_rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Pending tasks per spec (length S), counted for ``spec_rows`` only."""
    pending = (cluster.pod_id != -1) & (cluster.pod_state == PENDING)
    counts = np.bincount(cluster.pod_spec[pending], minlength=len(cluster.specs))
    mask = np.zeros(len(cluster.specs), dtype=bool)
    mask[spec_rows] = True
    out: NDArray[np.int64] = np.where(mask, counts, 0).astype(np.int64)
    return out


def _per_node(room: NDArray[np.int64], request: NDArray[np.int64]) -> NDArray[np.int64]:
    """How many tasks of ``request`` fit in each row of ``room`` (rows, 3)."""
    big = np.iinfo(np.int64).max
    fits = np.where(request > 0, room // np.maximum(request, 1), big)
    out: NDArray[np.int64] = np.maximum(fits.min(axis=-1), 0)
    return out


def _left_after_free_room(
    cluster: ClusterState, waiting: NDArray[np.int64], ready: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Waiting tasks that the free room of ``ready`` instances cannot take (first fit)."""
    if not len(ready):
        return waiting
    room = cluster.headroom()[ready].copy()
    left = waiting.copy()
    for spec in np.flatnonzero(waiting):
        request = cluster.requests[spec]
        capacity = _per_node(room, request) * cluster.admits[spec, cluster.node_template[ready]]
        placed = min(int(left[spec]), int(capacity.sum()))
        if not placed:
            continue
        before = np.cumsum(capacity) - capacity
        take = np.clip(placed - before, 0, capacity)
        room -= take[:, None] * request
        left[spec] -= placed
    return left


def _estimate(
    cluster: ClusterState, waiting: NDArray[np.int64], templates: NDArray[np.int64]
) -> tuple[int, int]:
    """New instances the waiting tasks need (largest group), and the tasks left out."""
    specs = np.flatnonzero(waiting)
    if not len(specs):
        return 0, 0
    # daemon tasks run on every instance that admits them: their room is not the tasks'
    daemons = np.flatnonzero(cluster.daemon)
    room = cluster.template_allocatable[templates].copy()
    if len(daemons):
        on = cluster.admits[np.ix_(daemons, templates)]  # (D, T)
        room -= (on[:, :, None] * cluster.requests[daemons][:, None, :]).sum(axis=0)
    groups: dict[tuple[int, ...], int] = {}
    per_instance: dict[tuple[int, ...], int] = {}
    incompatible = 0
    for spec in specs:
        count = int(waiting[spec])
        request = cluster.requests[spec]
        fits = _per_node(room, request)
        if not cluster.admits[spec, templates].all() or int(fits.min()) < 1:
            incompatible += count
            continue
        key = (*request.tolist(), *cluster.admits[spec, templates].tolist())
        groups[key] = groups.get(key, 0) + count
        per_instance[key] = int(fits.max())
    needed = max((-(-n // per_instance[k]) for k, n in groups.items()), default=0)
    return needed, incompatible


# --- the decider ------------------------------------------------------------------------------


class EcsManagedScaling:
    """ECS cluster auto scaling: target tracking on ``CapacityProviderReservation`` per provider.

    Every ``interval`` seconds (one datapoint of the metric; ECS publishes
    one a minute), for each capacity provider with managed scaling on:

    1. the metric is computed (:func:`reservation`);
    2. its two alarms are updated: the high alarm fires after
       ``scale_out_datapoints`` consecutive datapoints above
       ``targetCapacity`` (ECS: 1), the low alarm after
       ``scale_in_datapoints`` consecutive datapoints below it (ECS: 15,
       "15 minutes");
    3. on a firing alarm, AWS target tracking gives the wanted count,
       ``ceil(N x metric / targetCapacity)`` (:class:`TargetTracking`,
       no tolerance band), on a base of one instance when ``N = 0``
       (200 % then launches two at the default target), within the ASG's
       ``MinSize``/``MaxSize``;
    4. a scale-out is clamped to ``[minimumScalingStepSize,
       maximumScalingStepSize]`` instances and waits while any instance
       of the group is inside ``instanceWarmupPeriod`` of its launch;
    5. a scale-in removes at most half the group per step (at least one),
       never during a warm-up, and with managed termination protection
       only ready instances running no non-daemon task, the longest empty
       first; without it, the oldest instances, tasks or not. Removals
       have the reason ``"scale-in"``.

    Parameters
    ----------
    providers
        The capacity providers (distinct names, no instance type shared).
    interval
        Seconds between steps: one datapoint (60: ECS's minute).
    strategy
        Which capacity provider each workload's tasks use, by spec name
        (a service's capacity provider strategy with one provider); specs
        not named use the first provider (the cluster's default strategy).
    scale_out_datapoints, scale_in_datapoints
        Consecutive datapoints for the high and the low alarm (1 and 15,
        as ECS creates them; users ask to change them, see
        ``aws/containers-roadmap#638``).

    Examples
    --------
    >>> from decimal import Decimal
    >>> from elastic.nodes.pods import PodSpec
    >>> from elastic.nodes.resources import Resources
    >>> m5 = NodeTemplate("m5", "m5.large", "on-demand",
    ...                   Resources(2000, 8 * 2**30, 29), Decimal("0.096"))
    >>> cluster = ClusterState([m5], [PodSpec("web", Resources.parse(cpu="1", memory="1Gi"))])
    >>> for _ in range(3):
    ...     _ = cluster.add_pod("web", now=0.0)
    >>> ecs = EcsManagedScaling([CapacityProvider("web-ec2", (m5,))])
    >>> ecs.step(cluster, 0.0, np.random.default_rng(0)).launches
    (Launch(template='m5', count=2, reason='scale-out', replaces=()),)
    """

    def __init__(
        self,
        providers: Sequence[CapacityProvider],
        *,
        interval: float = 60.0,
        strategy: Mapping[str, str] | None = None,
        scale_out_datapoints: int = 1,
        scale_in_datapoints: int = 15,
    ) -> None:
        owner = "EcsManagedScaling"
        if isinstance(providers, CapacityProvider) or not isinstance(providers, Sequence):
            raise ParameterError(
                "providers", providers, "a sequence of CapacityProvider", owner=owner
            )
        self.providers = tuple(providers)
        #: the node shapes it may launch (a simulator builds its cluster with them)
        self.templates = tuple(t for p in self.providers for t in p.templates)
        if not self.providers or not all(isinstance(p, CapacityProvider) for p in self.providers):
            raise ParameterError(
                "providers", providers, "at least one CapacityProvider", owner=owner
            )
        names = [p.name for p in self.providers]
        if len(set(names)) != len(names):
            raise ParameterError("providers", names, "providers of distinct names", owner=owner)
        seen: dict[str, str] = {}
        for provider in self.providers:
            for template in provider.templates:
                other = seen.setdefault(template.name, provider.name)
                if other != provider.name:
                    raise ParameterError(
                        "providers",
                        template.name,
                        f"each instance type in one provider (in {other!r} and {provider.name!r})",
                        owner=owner,
                    )
        self.interval = check_number(interval, "interval", owner=owner, gt=0)
        strategy = {} if strategy is None else strategy
        if not isinstance(strategy, Mapping):
            raise ParameterError(
                "strategy", strategy, "a mapping of spec names to provider names", owner=owner
            )
        for spec, name in strategy.items():
            if name not in names:
                raise ParameterError(
                    f"strategy[{spec!r}]", name, "one of " + ", ".join(names), owner=owner
                )
        self.strategy = dict(strategy)
        self.scale_out_datapoints = check_int(
            scale_out_datapoints, "scale_out_datapoints", owner=owner, ge=1
        )
        self.scale_in_datapoints = check_int(
            scale_in_datapoints, "scale_in_datapoints", owner=owner, ge=1
        )
        self._policies = {
            p.name: TargetTracking(METRIC, float(p.target_capacity), tolerance=0.0)
            for p in self.providers
        }
        #: consecutive datapoints above / below the target, per provider
        self.above_: dict[str, int] = dict.fromkeys(names, 0)
        self.below_: dict[str, int] = dict.fromkeys(names, 0)
        #: the last published metric, per provider
        self.reservation_: dict[str, ReservationEstimate] = {}

    def assignment(self, cluster: ClusterState) -> dict[str, list[str]]:
        """The spec names each provider's metric counts (daemon specs count for none)."""
        for named in self.strategy:
            if named not in cluster.spec_index:
                raise ParameterError(
                    "strategy",
                    named,
                    "spec names of the cluster: " + ", ".join(cluster.spec_index),
                    owner="EcsManagedScaling",
                )
        out: dict[str, list[str]] = {p.name: [] for p in self.providers}
        default = self.providers[0].name
        for spec in cluster.specs:
            if not spec.daemon:
                out[self.strategy.get(spec.name, default)].append(spec.name)
        return out

    def __repr__(self) -> str:
        # what a run's facts describe it by: the same in every process (no object address)
        providers = ", ".join(p.name for p in self.providers)
        return f"EcsManagedScaling(providers=[{providers}], interval={self.interval:g})"

    def step(self, cluster: ClusterState, now: float, rng: np.random.Generator) -> NodePlan:
        """One datapoint: the metric per provider, its alarms, and what to launch or remove."""
        launches: list[Launch] = []
        removals: list[Removal] = []
        notes: list[str] = []
        assigned = self.assignment(cluster)
        for provider in self.providers:
            if not provider.managed_scaling:
                notes.append(f"{provider.name}: managed scaling off")
                continue
            metric = reservation(cluster, provider, assigned[provider.name])
            self.reservation_[provider.name] = metric
            launch, removed, note = self._decide(cluster, provider, metric, now)
            launches.extend(launch)
            removals.extend(removed)
            notes.append(f"{provider.name}: {note}")
        return NodePlan(tuple(launches), tuple(removals), "; ".join(notes))

    def _decide(
        self,
        cluster: ClusterState,
        provider: CapacityProvider,
        metric: ReservationEstimate,
        now: float,
    ) -> tuple[list[Launch], list[Removal], str]:
        name, target = provider.name, provider.target_capacity
        value, running = metric.value, metric.running
        if value > target:
            self.above_[name] += 1
            self.below_[name] = 0
        elif value < target:
            self.below_[name] += 1
            self.above_[name] = 0
        else:
            self.above_[name] = self.below_[name] = 0
        shown = f"{METRIC}={value:.4g} (target {target})"
        rows = _group_rows(cluster, provider)
        warming = int(
            np.count_nonzero(cluster.launched_at[rows] > now - provider.instance_warmup_period)
        )
        low, high = provider.min_size, provider.max_size

        wanted = running
        why = "at target" if value == target else "alarm not firing"
        if value > target and self.above_[name] >= self.scale_out_datapoints:
            wanted = self._wanted(provider, running, value, now)
            why = "high alarm"
        elif value < target and self.below_[name] >= self.scale_in_datapoints:
            wanted = self._wanted(provider, running, value, now)
            why = "low alarm"
        elif value < target:
            why = f"low alarm at {self.below_[name]} of {self.scale_in_datapoints} datapoints"
        bounded, _, _ = clamp_to_bounds(wanted, low, high)

        if bounded > running:
            if running >= low and warming:
                return [], [], f"{shown}: scale-out waits for {warming} warming instance(s)"
            count = bounded - running
            if running >= low:  # a policy's scale-out, not the ASG's minimum
                count = min(
                    max(count, provider.minimum_scaling_step_size),
                    provider.maximum_scaling_step_size,
                    high - running,
                )
            template = provider.templates[0].name
            reason = "scale-out" if running >= low else "min size"
            return [Launch(template, count, reason)], [], f"{shown}, {why}: +{count} {template}"
        if bounded < running:
            if warming:
                return [], [], f"{shown}: scale-in waits for {warming} warming instance(s)"
            count = min(running - bounded, max(1, running // 2))
            chosen = _scale_in_candidates(cluster, provider, rows)[:count]
            removals = [Removal(int(cluster.node_id[r]), "scale-in") for r in chosen]
            held = count - len(removals)
            note = f"{shown}, {why}: -{len(removals)}"
            if held:
                note += f" ({held} protected: they run tasks)"
            return [], removals, note
        return [], [], f"{shown}: {why}"

    def _wanted(self, provider: CapacityProvider, running: int, value: float, now: float) -> int:
        # AWS target tracking: ceil(N x metric / target); from zero, on a base of one instance
        base = max(running, 1)
        obs = Observation(time=now, replicas=base, ready=base, metrics={METRIC: value})
        recommended = self._policies[provider.name].recommend(obs).replicas
        return running if recommended is None else int(recommended)


def _group_rows(cluster: ClusterState, provider: CapacityProvider) -> NDArray[np.int64]:
    rows = cluster.node_rows(*_RUNNING)
    out: NDArray[np.int64] = rows[
        np.isin(cluster.node_template[rows], _template_rows(cluster, provider))
    ]
    return out


def _scale_in_candidates(
    cluster: ClusterState, provider: CapacityProvider, rows: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Rows a scale-in may terminate, in the order it terminates them."""
    if not provider.managed_termination_protection:
        return rows  # oldest first (node_rows' order): the ASG does not look at tasks
    tasks = cluster.requested[rows, 2] - cluster.daemon_requested[rows, 2]
    empty = rows[(tasks == 0) & (cluster.node_state[rows] == READY)]
    order = np.lexsort((cluster.node_id[empty], cluster.changed_at[empty]))
    out: NDArray[np.int64] = empty[order]
    return out
