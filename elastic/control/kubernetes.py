"""The Kubernetes actuator: the ``scale`` subresource of a workload.

:class:`KubernetesScale` asks the API server for a replica count through
the ``scale`` subresource (``autoscaling/v1`` ``Scale``), the way
``kubectl scale`` and the HorizontalPodAutoscaler do: Deployments,
StatefulSets and ReplicaSets of ``apps/v1``, and any resource that has a
scale subresource (a custom resource, given as ``group/version/plural``).

It needs the official client, the ``kubernetes`` extra
(``pip install 'elastic[kubernetes]'``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

try:
    import urllib3
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "elastic.control.kubernetes needs the official Kubernetes client, which is not "
        f"installed ({missing}); install the extra: pip install 'elastic[kubernetes]'"
    ) from missing

from elastic.control.sources import ReplicaCounts
from elastic.core.types import Decision
from elastic.core.validate import check_number
from elastic.errors import AdapterError, ParameterError

__all__ = ["KubernetesScale"]

# apps/v1 workloads with a scale subresource, by every name kubectl accepts for them
_APPS = {
    "deployment": "deployment",
    "deployments": "deployment",
    "deploy": "deployment",
    "statefulset": "stateful_set",
    "statefulsets": "stateful_set",
    "sts": "stateful_set",
    "replicaset": "replica_set",
    "replicasets": "replica_set",
    "rs": "replica_set",
}
_KINDS = {"deployment": "Deployment", "stateful_set": "StatefulSet", "replica_set": "ReplicaSet"}

# What each refusal usually means, for the operator reading the error
_HINTS = {
    401: "the credentials were not accepted",
    403: "the controller's identity lacks an RBAC permission (see docs/controller.md)",
    404: "no such object in this namespace, or its resource has no scale subresource",
    409: "the object changed meanwhile; the next step reads it again",
    422: "the server refused the value",
    429: "the API server is throttling requests",
}


@dataclass(frozen=True)
class _Resource:
    """Where a workload lives: ``apps`` names the typed apps/v1 methods, else a custom resource."""

    group: str
    version: str
    plural: str
    apps: str | None  # "deployment", "stateful_set", "replica_set" or None

    @property
    def kind(self) -> str:
        if self.apps is not None:
            return _KINDS[self.apps]
        return f"{self.plural}.{self.group}/{self.version}"


def _resource(kind: object) -> _Resource:
    expected = (
        "Deployment, StatefulSet, ReplicaSet, or a resource with a scale subresource as "
        "'group/version/plural' (e.g. 'argoproj.io/v1alpha1/rollouts')"
    )
    if not isinstance(kind, str):
        raise ParameterError("kind", kind, expected, owner="KubernetesScale")
    apps = _APPS.get(kind.lower())
    if apps is not None:
        return _Resource("apps", "v1", apps.replace("_", "") + "s", apps)
    parts = kind.split("/")
    if len(parts) != 3 or not all(part.strip() == part and part for part in parts):
        raise ParameterError("kind", kind, expected, owner="KubernetesScale")
    group, version, plural = parts
    if group == "apps" and version == "v1" and plural in _APPS:
        return _resource(plural)
    return _Resource(group, version, plural.lower(), None)


class KubernetesScale:
    """An actuator on the ``scale`` subresource of a Kubernetes workload.

    ``apply(decision)`` PATCHes ``.../{plural}/{name}/scale`` with
    ``spec.replicas`` (a JSON merge patch, as ``kubectl scale`` sends) and
    returns the count in the server's answer; a refusal raises
    :class:`~elastic.errors.AdapterError` naming the object, the HTTP status
    and the server's message, and the controller retries it and records
    nothing. ``counts()`` reads the replica counts, to be the ``replicas``
    reader of :class:`~elastic.control.Observe`.

    Parameters
    ----------
    kind
        ``"Deployment"``, ``"StatefulSet"`` or ``"ReplicaSet"`` (apps/v1; also
        their plural and short names), or ``"group/version/plural"`` of any
        resource with a scale subresource (``"argoproj.io/v1alpha1/rollouts"``).
    name, namespace
        The object.
    api
        A ``kubernetes.client.ApiClient``. By default: the pod's service
        account when running in a cluster, the kubeconfig otherwise.
    dry_run
        Send every change with ``dryRun=All``: the server validates and
        admits it (RBAC, admission webhooks, the value) and answers with the
        count it would have set, and nothing changes.
    timeout
        Seconds a request may take.
    field_manager
        The name the server records for the change (``managedFields``).

    Examples
    --------
    >>> from kubernetes import client
    >>> api = client.ApiClient(client.Configuration(host="http://127.0.0.1:6443"))
    >>> KubernetesScale("Deployment", "web", "shop", api=api, dry_run=True)
    KubernetesScale('Deployment', 'web', namespace='shop', dry_run=True)
    >>> KubernetesScale("argoproj.io/v1alpha1/rollouts", "web", api=api)
    KubernetesScale('argoproj.io/v1alpha1/rollouts', 'web', namespace='default')
    >>> KubernetesScale("Pod", "web", api=api)
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: KubernetesScale: kind='Pod' is invalid; expected Deployment, ...
    """

    def __init__(
        self,
        kind: str,
        name: str,
        namespace: str = "default",
        *,
        api: k8s.ApiClient | None = None,
        dry_run: bool = False,
        timeout: float = 10.0,
        field_manager: str = "elastic",
    ) -> None:
        owner = "KubernetesScale"
        self.resource = _resource(kind)
        for label, value in (("name", name), ("namespace", namespace)):
            if not isinstance(value, str) or not value:
                raise ParameterError(label, value, "a non-empty string", owner=owner)
        if not isinstance(dry_run, bool):
            raise ParameterError("dry_run", dry_run, "True or False", owner=owner)
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.dry_run = dry_run
        self.timeout = check_number(timeout, "timeout", owner=owner, gt=0)
        self.field_manager = field_manager
        if api is None:
            api = _default_api()
        elif not isinstance(api, k8s.ApiClient):
            raise ParameterError("api", api, "a kubernetes.client.ApiClient", owner=owner)
        self.api = api
        self._apps = k8s.AppsV1Api(api)
        self._custom = k8s.CustomObjectsApi(api)

    @property
    def target(self) -> str:
        """The object, in words: ``Deployment shop/web``."""
        return f"{self.resource.kind} {self.namespace}/{self.name}"

    def apply(self, decision: Decision) -> int:
        """Ask for ``decision.replicas``; the count the server set (or would set, in a dry run)."""
        body = {"spec": {"replicas": decision.replicas}}
        options: dict[str, Any] = {
            "dry_run": "All" if self.dry_run else None,
            "field_manager": self.field_manager,
            "_content_type": "application/merge-patch+json",
            "_request_timeout": self.timeout,
        }
        resource = self.resource
        if resource.apps is not None:
            method = getattr(self._apps, f"patch_namespaced_{resource.apps}_scale")
            scale = self._call("PATCH", "scale", method, self.name, self.namespace, body, **options)
        else:
            scale = self._call(
                "PATCH",
                "scale",
                self._custom.patch_namespaced_custom_object_scale,
                resource.group,
                resource.version,
                self.namespace,
                resource.plural,
                self.name,
                body,
                **options,
            )
        return self._count(scale, "spec", "replicas", "scale")

    def counts(self) -> ReplicaCounts:
        """The replica counts, for :class:`~elastic.control.Observe`.

        For a Deployment, StatefulSet or ReplicaSet, one read of the object
        (one consistent snapshot): ``replicas`` is ``spec.replicas``,
        ``ready`` its ``readyReplicas``, ``warming`` the ready ones not yet
        available (inside ``minReadySeconds``), ``pending`` the ones asked
        for and not ready, ``terminating`` its ``terminatingReplicas`` where
        the server reports them. For any other resource, the scale: ``ready``
        is unknown (``None``) and ``pending`` is ``spec.replicas`` less
        ``status.replicas`` (asked for, not yet observed).
        """
        resource = self.resource
        if resource.apps is None:
            scale = self._call(
                "GET",
                "scale",
                self._custom.get_namespaced_custom_object_scale,
                resource.group,
                resource.version,
                self.namespace,
                resource.plural,
                self.name,
                _request_timeout=self.timeout,
            )
            replicas = self._count(scale, "spec", "replicas", "scale")
            observed = self._count(scale, "status", "replicas", "scale")
            return ReplicaCounts(replicas, pending=max(replicas - observed, 0))
        method = getattr(self._apps, f"read_namespaced_{resource.apps}")
        found = self._call(
            "GET", "", method, self.name, self.namespace, _request_timeout=self.timeout
        )
        replicas = self._count(found, "spec", "replicas", resource.kind)
        ready = min(self._count(found, "status", "readyReplicas", resource.kind), replicas)
        available = min(self._count(found, "status", "availableReplicas", resource.kind), ready)
        return ReplicaCounts(
            replicas,
            ready=ready,
            pending=replicas - ready,
            warming=ready - available,
            terminating=self._count(found, "status", "terminatingReplicas", resource.kind),
        )

    # --- the API calls ----------------------------------------------------------------------

    def _call(self, verb: str, subresource: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the client; the answer as JSON-like data; any failure as an AdapterError."""
        what = f"{verb} {self._path(subresource)}"
        if verb != "GET" and self.dry_run:
            what += " (dry run)"
        try:
            answer = method(*args, **kwargs)
        except ApiException as refused:
            status = refused.status
            hint = _HINTS.get(status, "")
            raise AdapterError(
                f"{self.target}: {what} failed with HTTP {status} {refused.reason}: "
                f"{_server_message(refused.body)}" + (f" ({hint})" if hint else "")
            ) from refused
        except urllib3.exceptions.HTTPError as failure:
            cause = getattr(failure, "reason", None) or failure
            # NewConnectionError is a ConnectTimeoutError too, for urllib3's backward compatibility
            if isinstance(cause, urllib3.exceptions.TimeoutError) and not isinstance(
                cause, urllib3.exceptions.NewConnectionError
            ):
                why = f"no answer within {self.timeout:g} s"
            else:
                why = f"the API server could not be reached ({type(cause).__name__}: {cause})"
            raise AdapterError(f"{self.target}: {what} failed: {why}") from failure
        return self.api.sanitize_for_serialization(answer)  # type: ignore[no-untyped-call]

    def _path(self, subresource: str) -> str:
        r = self.resource
        path = f"/apis/{r.group}/{r.version}/namespaces/{self.namespace}/{r.plural}/{self.name}"
        return f"{path}/{subresource}" if subresource else path

    def _count(self, data: Any, part: str, field: str, what: str) -> int:
        """``data[part][field]``: absent is 0 (the API omits zero counts); else an integer >= 0."""
        section = data.get(part, {}) if isinstance(data, dict) else None
        value = section.get(field, 0) if isinstance(section, dict) else section
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise AdapterError(
                f"{self.target}: the {what} answered {part}.{field}={value!r}; "
                "expected an integer >= 0"
            )
        return value

    def __repr__(self) -> str:
        options = f", namespace={self.namespace!r}" + (", dry_run=True" if self.dry_run else "")
        return f"KubernetesScale({self.kind!r}, {self.name!r}{options})"


def _server_message(body: object) -> str:
    """The ``message`` of the server's ``Status`` answer, or the body as it came."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        status = json.loads(text)
    except ValueError:
        return text.strip()[:500] or "(no message)"
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return text.strip()[:500]


def _default_api() -> k8s.ApiClient:
    """The pod's service account inside a cluster, else the kubeconfig (``$KUBECONFIG``)."""
    try:
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = k8s.Configuration()
            k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
            return k8s.ApiClient(configuration)
        api: k8s.ApiClient = k8s_config.new_client_from_config()  # type: ignore[no-untyped-call]
        return api
    except (k8s_config.ConfigException, OSError) as failure:
        raise AdapterError(
            "KubernetesScale: no Kubernetes configuration: not in a pod with a service account "
            f"and no usable kubeconfig ({failure}); pass api=kubernetes.client.ApiClient(...)"
        ) from failure
