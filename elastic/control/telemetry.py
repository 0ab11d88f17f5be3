"""A controller's own metrics, for Prometheus to scrape (``prometheus-client``)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from elastic.control.step import StepRecord

__all__ = ["Telemetry"]

#: the most metric names ``elastic_metrics_missing_total`` labels; the others count as OTHER
MAX_METRIC_LABELS = 100
OTHER = "_other"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Telemetry:
    """The metrics of one controller, labelled ``controller=<name>``, in ``registry``.

    ``elastic_desired_replicas`` and ``elastic_applied_replicas`` (gauges),
    ``elastic_decisions_total`` by ``reason``, ``elastic_metrics_missing_total``
    by ``metric``, ``elastic_source_errors_total``,
    ``elastic_policy_errors_total``, ``elastic_actuator_errors_total``,
    ``elastic_checkpoint_errors_total``, ``elastic_ticks_missed_total``,
    ``elastic_last_step_timestamp_seconds`` and ``elastic_step_duration_seconds``
    (a histogram).

    Examples
    --------
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> registry = CollectorRegistry()
    >>> telemetry = Telemetry("web", registry)
    >>> b'elastic_desired_replicas' in generate_latest(registry)
    True
    """

    def __init__(self, name: str, registry: CollectorRegistry | None = None) -> None:
        self.name = name
        self.registry = CollectorRegistry() if registry is None else registry
        self._labelled: set[str] = set()
        r = self.registry

        def counter(name: str, text: str, *labels: str) -> Counter:
            return Counter(name, text, ["controller", *labels], registry=r)

        self.desired = Gauge(
            "elastic_desired_replicas", "Replicas the loop decided on", ["controller"], registry=r
        )
        self.applied = Gauge(
            "elastic_applied_replicas", "Replicas the system last took", ["controller"], registry=r
        )
        self.decisions = counter("elastic_decisions", "Decisions by reason", "reason")
        self.missing = counter(
            "elastic_metrics_missing", "Metrics missing from an observation", "metric"
        )
        self.source_errors = counter(
            "elastic_source_errors", "Steps whose replica counts could not be read"
        )
        self.policy_errors = counter("elastic_policy_errors", "Steps where a policy raised")
        self.actuator_errors = counter(
            "elastic_actuator_errors", "Requests the system refused after retries"
        )
        self.checkpoint_errors = counter(
            "elastic_checkpoint_errors", "Steps whose checkpoint could not be saved"
        )
        self.missed = counter("elastic_ticks_missed", "Ticks skipped because a step overran")
        self.last_step = Gauge(
            "elastic_last_step_timestamp_seconds",
            "Unix time the last step ended (alert when it grows old: a step hangs)",
            ["controller"],
            registry=r,
        )
        self.duration = Histogram(
            "elastic_step_duration_seconds", "Seconds a step took", ["controller"],
            buckets=_BUCKETS, registry=r,
        )  # fmt: skip

    def record(self, step: StepRecord, *, failed: Sequence[str], missed: int, wall: float) -> None:
        """Count ``step``: ``failed`` names what failed in it (``"source"``, ``"policy"``,
        ``"actuator"``, ``"checkpoint"``); ``wall`` is when it ended (Unix time)."""
        name = self.name
        decision = step.decision
        if decision is not None:
            self.desired.labels(name).set(decision.replicas)
            self.decisions.labels(name, decision.reason.value).inc()
        if step.applied is not None:
            self.applied.labels(name).set(step.applied)
        for metric in step.missing:
            if metric not in self._labelled and len(self._labelled) >= MAX_METRIC_LABELS:
                metric = OTHER  # a bounded label set, whatever names a source makes up
            self._labelled.add(metric)
            self.missing.labels(name, metric).inc()
        counters = {
            "source": self.source_errors,
            "policy": self.policy_errors,
            "actuator": self.actuator_errors,
            "checkpoint": self.checkpoint_errors,
        }
        for what in failed:
            counters[what].labels(name).inc()
        if missed:
            self.missed.labels(name).inc(missed)
        self.duration.labels(name).observe(step.duration)
        self.last_step.labels(name).set(wall)

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        """Expose the registry at ``http://address:port/metrics`` from a daemon thread."""
        start_http_server(port, addr=address, registry=self.registry)

    def __repr__(self) -> str:
        return f"Telemetry({self.name!r})"
