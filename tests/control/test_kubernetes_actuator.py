"""The Kubernetes actuator against an HTTP server speaking the ``scale`` subresource.

No Kubernetes API server can run here (no etcd, no container runtime, no
cluster network), so :class:`FakeApiServer` is an in-process HTTP server on
127.0.0.1 that speaks the part of the Kubernetes REST API the actuator
uses, as the API server does (k8s.io/api autoscaling/v1 ``Scale``; the
apiserver's patch, update and dry-run handling):

- ``GET .../{plural}/{name}`` (apps/v1 Deployments and StatefulSets, with
  their status) and ``GET/PATCH/PUT .../{plural}/{name}/scale`` with an
  ``autoscaling/v1`` ``Scale`` (``spec.replicas``; ``status.replicas`` and
  ``status.selector``), for apps/v1 and for a custom resource;
- PATCH as a JSON merge patch (415 for a media type the handler does not
  take), PUT with a ``metadata.resourceVersion`` precondition (409), a
  ``dryRun=All`` write that validates and answers but persists nothing (a
  ``dryRun`` of any other value is a 400), a custom resource's schema
  ``maximum`` on ``spec.replicas`` (422), RBAC refusals (403), unknown
  objects (404); errors are ``Status`` objects with the API server's
  messages. A 409 on a merge patch (which the API server sends only when
  writes keep contending past its own retries) and a slow answer are
  injected.

The real client library (``kubernetes``) talks to it over HTTP, so what is
tested is the actuator and the client together, on the wire.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

kubernetes = pytest.importorskip("kubernetes", reason="the kubernetes extra is not installed")
from kubernetes import client as k8s  # noqa: E402

from elastic import Decision, DecisionLoop  # noqa: E402
from elastic.control import (  # noqa: E402
    CallableSource,
    Controller,
    ManualClock,
    Observe,
    ReplicaCounts,
    Retry,
)
from elastic.control.kubernetes import KubernetesScale  # noqa: E402
from elastic.errors import AdapterError, ParameterError  # noqa: E402
from elastic.policies import TargetTracking  # noqa: E402

Key = tuple[str, str, str, str]  # group/version, namespace, plural, name


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class Refusal(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = _status(code, reason, message)


class FakeApiServer:
    """The scale subresource as the Kubernetes API server serves it (see the module docstring)."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.maximum: dict[str, int] = {}  # a custom resource's schema: plural -> maximum
        self.forbidden: set[tuple[str, str]] = set()  # (verb, resource) RBAC does not allow
        self.conflicts = 0  # answer the next writes with 409
        self.delay = 0.0  # seconds before each answer
        self.requests: list[tuple[str, str, dict[str, list[str]], str | None]] = []
        self.version = 100
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self, "GET")

            def do_PATCH(self) -> None:
                server.handle(self, "PATCH")

            def do_PUT(self) -> None:
                server.handle(self, "PUT")

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True  # a slow answer never holds up the fixture's teardown
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # --- the objects ------------------------------------------------------------------------

    def add_workload(
        self, kind: str, name: str, replicas: int, namespace: str = "default", **status: int
    ) -> dict[str, Any]:
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}[kind]
        labels = {"app": name}
        spec: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
            },
        }
        if kind == "StatefulSet":
            spec["serviceName"] = name
        obj = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": self._metadata(name, namespace),
            "spec": spec,
            "status": {"replicas": replicas, **status},
        }
        self.objects["apps/v1", namespace, plural, name] = obj
        return obj

    def add_custom(
        self, group: str, version: str, plural: str, name: str, replicas: int, observed: int
    ) -> dict[str, Any]:
        obj = {
            "apiVersion": f"{group}/{version}",
            "kind": "Rollout",
            "metadata": self._metadata(name, "default"),
            "spec": {"replicas": replicas},
            "status": {"replicas": observed},
        }
        self.objects[f"{group}/{version}", "default", plural, name] = obj
        return obj

    def _metadata(self, name: str, namespace: str) -> dict[str, Any]:
        self.version += 1
        return {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "resourceVersion": str(self.version),
            "generation": 1,
            "creationTimestamp": "2024-05-01T12:00:00Z",
        }

    # --- the REST API -----------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler, verb: str) -> None:
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length).decode() if length else None
        with self.lock:
            self.requests.append((verb, url.path, query, request.headers.get("Content-Type")))
        if self.delay:
            time.sleep(self.delay)
        try:
            with self.lock:
                code, answer = self.serve(verb, url.path, query, request, body)
        except Refusal as refusal:
            code, answer = refusal.status["code"], refusal.status
        data = json.dumps(answer).encode()
        try:
            request.send_response(code)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)

    def serve(
        self,
        verb: str,
        path: str,
        query: dict[str, list[str]],
        request: BaseHTTPRequestHandler,
        body: str | None,
    ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        # /apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}[/scale]
        if len(parts) not in (7, 8) or parts[0] != "apis" or parts[3] != "namespaces":
            raise Refusal(404, "NotFound", "the server could not find the requested resource")
        group, version, namespace, plural, name = parts[1], parts[2], parts[4], parts[5], parts[6]
        subresource = parts[7] if len(parts) == 8 else None
        if subresource not in (None, "scale"):
            raise Refusal(404, "NotFound", "the server could not find the requested resource")
        resource = f"{plural}.{group}"
        rbac = plural + ("/scale" if subresource else "")
        if (verb.lower(), rbac) in self.forbidden:
            raise Refusal(
                403,
                "Forbidden",
                f'{resource} "{name}" is forbidden: User "system:serviceaccount:default:elastic" '
                f'cannot {verb.lower()} resource "{rbac}" in API group "{group}" in the '
                f'namespace "{namespace}"',
            )
        obj = self.objects.get((f"{group}/{version}", namespace, plural, name))
        if obj is None:
            raise Refusal(404, "NotFound", f'{resource} "{name}" not found')
        if subresource is None:
            if verb != "GET":
                raise Refusal(405, "MethodNotAllowed", "the server does not allow this method")
            return 200, obj
        if verb == "GET":
            return 200, self.scale(obj)
        dry_run = query.get("dryRun", [])
        if any(value != "All" for value in dry_run):
            raise Refusal(
                400,
                "BadRequest",
                f'dryRun: Unsupported value: "{dry_run[0]}": supported values: "All"',
            )
        if self.conflicts:
            self.conflicts -= 1
            raise Refusal(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
            )
        current = self.scale(obj)
        sent = json.loads(body or "null")
        if verb == "PATCH":
            kind = request.headers.get("Content-Type", "")
            if kind != "application/merge-patch+json" and not (
                kind == "application/strategic-merge-patch+json" and group == "apps"
            ):
                raise Refusal(
                    415,
                    "UnsupportedMediaType",
                    f"the body of the request was in an "
                    f"unknown format - accepted media types include: "
                    f"application/merge-patch+json (got {kind})",
                )
            wanted = _merge(current, sent)
        else:
            wanted = sent
        precondition = (wanted.get("metadata") or {}).get("resourceVersion")
        if precondition is not None and precondition != obj["metadata"]["resourceVersion"]:
            raise Refusal(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {resource} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
            )
        replicas = (wanted.get("spec") or {}).get("replicas", 0)
        limit = self.maximum.get(plural)
        why = None
        if not isinstance(replicas, int) or replicas < 0:
            why = f"Invalid value: {replicas}: must be greater than or equal to 0"
        elif limit is not None and replicas > limit:
            why = (
                f"Invalid value: {replicas}: spec.replicas in body should be less than or "
                f"equal to {limit}"
            )
        if why is not None:
            raise Refusal(
                422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: {why}'
            )
        if dry_run:  # validated and answered as if written; nothing persists
            return 200, {**current, "spec": {"replicas": replicas}}
        if replicas != obj["spec"]["replicas"]:
            obj["spec"]["replicas"] = replicas
            obj["metadata"]["generation"] += 1
            self.version += 1
            obj["metadata"]["resourceVersion"] = str(self.version)
        return 200, self.scale(obj)

    @staticmethod
    def scale(obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        status: dict[str, Any] = {"replicas": obj["status"].get("replicas", 0)}
        if "selector" in obj["spec"]:
            labels = obj["spec"]["selector"]["matchLabels"]
            status["selector"] = ",".join(f"{k}={v}" for k, v in labels.items())
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                key: meta[key]
                for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            },
            "spec": {"replicas": obj["spec"]["replicas"]},
            "status": status,
        }

    def roll_out(self) -> None:
        """What the workload controllers do: every pod asked for is running, ready, available."""
        with self.lock:
            for obj in self.objects.values():
                n = obj["spec"]["replicas"]
                obj["status"].update(replicas=n, readyReplicas=n, availableReplicas=n)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer()
    fake.thread.start()
    yield fake
    fake.http.shutdown()
    fake.http.server_close()
    fake.thread.join(5)


def client(server: FakeApiServer) -> k8s.ApiClient:
    configuration = k8s.Configuration(host=server.url)
    configuration.retries = False  # the controller's Retry retries; the client does not
    return k8s.ApiClient(configuration)


def decision(replicas: int, current: int = 2) -> Decision:
    return Decision(0.0, current, replicas, (), ())


# --- apply --------------------------------------------------------------------------------


def test_apply_patches_the_scale_and_returns_the_count_the_server_set(
    server: FakeApiServer,
) -> None:
    web = server.add_workload("Deployment", "web", 2, namespace="shop")
    actuator = KubernetesScale("Deployment", "web", "shop", api=client(server))
    assert actuator.apply(decision(5)) == 5
    assert web["spec"]["replicas"] == 5
    verb, path, query, media = server.requests[-1]
    assert (verb, path) == ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web/scale")
    assert media == "application/merge-patch+json"
    assert query == {"fieldManager": ["elastic"]}


def test_a_statefulset_and_a_custom_resource_scale_through_their_own_paths(
    server: FakeApiServer,
) -> None:
    db = server.add_workload("StatefulSet", "db", 3)
    rollout = server.add_custom("argoproj.io", "v1alpha1", "rollouts", "web", 2, 2)
    api = client(server)
    assert KubernetesScale("sts", "db", api=api).apply(decision(4)) == 4
    assert db["spec"]["replicas"] == 4
    custom = KubernetesScale("argoproj.io/v1alpha1/rollouts", "web", api=api)
    assert custom.apply(decision(6)) == 6
    assert rollout["spec"]["replicas"] == 6
    assert (
        server.requests[-1][1] == "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/web/scale"
    )


def test_dry_run_changes_nothing_and_returns_the_count_the_server_would_set(
    server: FakeApiServer,
) -> None:
    web = server.add_workload("Deployment", "web", 2)
    before = json.dumps(web, sort_keys=True)
    actuator = KubernetesScale("Deployment", "web", api=client(server), dry_run=True)
    assert actuator.apply(decision(7)) == 7
    assert json.dumps(web, sort_keys=True) == before  # same spec, same resourceVersion
    assert server.requests[-1][2]["dryRun"] == ["All"]
    assert actuator.counts().replicas == 2


def test_a_dry_run_is_still_validated_by_the_server(server: FakeApiServer) -> None:
    server.add_custom("argoproj.io", "v1alpha1", "rollouts", "web", 2, 2)
    server.maximum["rollouts"] = 10
    actuator = KubernetesScale(
        "argoproj.io/v1alpha1/rollouts", "web", api=client(server), dry_run=True
    )
    with pytest.raises(AdapterError, match=r"HTTP 422.*less than or equal to 10"):
        actuator.apply(decision(20))


# --- counts -------------------------------------------------------------------------------


def test_counts_of_a_deployment_come_from_its_status(server: FakeApiServer) -> None:
    # 6 asked for, 5 pods, 4 ready of which 3 past minReadySeconds, 1 terminating
    server.add_workload(
        "Deployment", "web", 6, readyReplicas=4, availableReplicas=3, terminatingReplicas=1
    )
    server.objects["apps/v1", "default", "deployments", "web"]["status"]["replicas"] = 5
    counts = KubernetesScale("Deployment", "web", api=client(server)).counts()
    assert counts == ReplicaCounts(6, ready=4, pending=2, warming=1, terminating=1)


def test_counts_while_scaling_in_never_report_more_ready_than_asked(
    server: FakeApiServer,
) -> None:
    # spec already 2, the old pods not yet gone: ready may exceed the count asked for
    server.add_workload("StatefulSet", "db", 2, readyReplicas=5, availableReplicas=5)
    counts = KubernetesScale("StatefulSet", "db", api=client(server)).counts()
    assert counts == ReplicaCounts(2, ready=2, pending=0, warming=0)


def test_counts_of_a_fresh_deployment_without_status_fields(server: FakeApiServer) -> None:
    server.add_workload("Deployment", "web", 3)  # the API omits zero counts
    counts = KubernetesScale("Deployment", "web", api=client(server)).counts()
    assert counts == ReplicaCounts(3, ready=0, pending=3, warming=0)


def test_counts_of_a_custom_resource_come_from_its_scale(server: FakeApiServer) -> None:
    server.add_custom("argoproj.io", "v1alpha1", "rollouts", "web", 5, 3)
    counts = KubernetesScale("argoproj.io/v1alpha1/rollouts", "web", api=client(server)).counts()
    assert counts == ReplicaCounts(5, ready=None, pending=2)
    assert server.requests[-1][:2] == (
        "GET",
        "/apis/argoproj.io/v1alpha1/namespaces/default/rollouts/web/scale",
    )


# --- refusals -----------------------------------------------------------------------------


def test_an_unknown_object_is_a_precise_404(server: FakeApiServer) -> None:
    actuator = KubernetesScale("Deployment", "api", "shop", api=client(server))
    with pytest.raises(AdapterError) as refused:
        actuator.apply(decision(3))
    message = str(refused.value)
    assert "Deployment shop/api" in message
    assert "PATCH /apis/apps/v1/namespaces/shop/deployments/api/scale" in message
    assert 'HTTP 404 Not Found: deployments.apps "api" not found' in message
    with pytest.raises(AdapterError, match=r"Deployment shop/api: GET .* HTTP 404"):
        actuator.counts()


def test_a_missing_rbac_permission_is_a_precise_403(server: FakeApiServer) -> None:
    web = server.add_workload("Deployment", "web", 2)
    server.forbidden.add(("patch", "deployments/scale"))
    actuator = KubernetesScale("Deployment", "web", api=client(server))
    with pytest.raises(AdapterError) as refused:
        actuator.apply(decision(3))
    message = str(refused.value)
    assert "Deployment default/web" in message
    assert "HTTP 403 Forbidden" in message
    assert 'cannot patch resource "deployments/scale" in API group "apps"' in message
    assert "RBAC" in message
    assert web["spec"]["replicas"] == 2


def test_a_conflict_is_a_precise_409(server: FakeApiServer) -> None:
    server.add_workload("Deployment", "web", 2)
    server.conflicts = 1
    actuator = KubernetesScale("Deployment", "web", api=client(server))
    with pytest.raises(AdapterError, match=r"HTTP 409 Conflict: Operation cannot be fulfilled"):
        actuator.apply(decision(3))
    assert actuator.apply(decision(3)) == 3  # the next request goes through


def test_a_value_the_schema_refuses_is_a_precise_422(server: FakeApiServer) -> None:
    server.add_custom("argoproj.io", "v1alpha1", "rollouts", "web", 2, 2)
    server.maximum["rollouts"] = 10
    actuator = KubernetesScale("argoproj.io/v1alpha1/rollouts", "web", api=client(server))
    with pytest.raises(AdapterError) as refused:
        actuator.apply(decision(11))
    message = str(refused.value)
    assert "rollouts.argoproj.io/v1alpha1 default/web" in message
    assert "HTTP 422" in message and "spec.replicas" in message


def test_a_slow_server_is_a_timeout_not_a_hang(server: FakeApiServer) -> None:
    server.add_workload("Deployment", "web", 2)
    server.delay = 1.0
    actuator = KubernetesScale("Deployment", "web", api=client(server), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(
        AdapterError, match=r"Deployment default/web: PATCH .*no answer within 0.2 s"
    ):
        actuator.apply(decision(3))
    assert time.monotonic() - started < 0.9


def test_an_unreachable_server_is_a_precise_error(server: FakeApiServer) -> None:
    api = client(server)
    server.http.shutdown()
    server.http.server_close()
    actuator = KubernetesScale("Deployment", "web", api=api, timeout=1.0)
    with pytest.raises(AdapterError, match=r"Deployment default/web: GET .*could not be reached"):
        actuator.counts()


def test_bad_parameters_are_refused_by_name(server: FakeApiServer) -> None:
    api = client(server)
    with pytest.raises(ParameterError, match="kind='apps/v1'"):
        KubernetesScale("apps/v1", "web", api=api)
    with pytest.raises(ParameterError, match="name=''"):
        KubernetesScale("Deployment", "", api=api)
    with pytest.raises(ParameterError, match=r"api=.*ApiClient"):
        KubernetesScale("Deployment", "web", api="http://127.0.0.1")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="timeout"):
        KubernetesScale("Deployment", "web", api=api, timeout=0)


def test_without_the_client_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "elastic.control.kubernetes")
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    with pytest.raises(ImportError, match=r"pip install 'elastic\[kubernetes\]'"):
        importlib.import_module("elastic.control.kubernetes")


# --- the controller end to end ----------------------------------------------------------------


def test_the_controller_scales_a_deployment_through_refusals_and_retries(
    server: FakeApiServer,
) -> None:
    web = server.add_workload("Deployment", "web", 2, readyReplicas=2, availableReplicas=2)
    actuator = KubernetesScale("Deployment", "web", api=client(server))
    load = 400.0  # CPU percent of one replica, spread over the available ones

    def cpu(now: float) -> dict[str, float]:
        return {"cpu": load / max(actuator.counts().ready or 0, 1)}

    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=20)
    controller = Controller(
        loop,
        Observe(CallableSource(cpu, names=("cpu",)), actuator.counts),
        actuator,
        interval=15.0,
        clock=ManualClock(1_700_000_000.0),
        retry=Retry(attempts=3, backoff=1.0),
    )
    # step 1: a conflict, then the retry goes through
    server.conflicts = 1
    first = controller.step()
    assert (first.decision.replicas, first.applied, first.attempts) == (8, 8, 2)  # type: ignore[union-attr]
    assert web["spec"]["replicas"] == 8
    server.roll_out()
    # step 2: the fleet serves the load at the target: nothing to ask
    second = controller.step()
    assert (second.applied, second.attempts) == (8, 0)
    # step 3: the load doubles while RBAC refuses the scale: nothing applied, nothing recorded
    load = 800.0
    server.forbidden.add(("patch", "deployments/scale"))
    events = list(loop.up_events_)
    third = controller.step()
    assert third.applied is None and third.attempts == 3
    assert third.error is not None and "HTTP 403 Forbidden" in third.error
    assert web["spec"]["replicas"] == 8
    assert loop.up_events_ == events  # no phantom scale event
    # step 4: permission granted: the same decision goes through
    server.forbidden.clear()
    fourth = controller.step()
    assert (fourth.decision.replicas, fourth.applied) == (16, 16)  # type: ignore[union-attr]
    assert web["spec"]["replicas"] == 16
