"""Tuning a manifest's policy: the space over its document's fields, and candidates as documents.

A :class:`ManifestPolicy` stands for one ``ScalingPolicy``,
``HorizontalPodAutoscaler`` or ``ScaledObject`` of loaded manifests. Its
parameters are the document's fields, named by where they are
(``spec.metrics[0].resource.target.averageUtilization``); a candidate is
the document with those fields set, loaded by :func:`elastic.scenario.load`
like any manifest, so that every candidate passes the manifest checks, and
the winner is the document itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from pydantic.alias_generators import to_camel

from elastic.core.loop import DecisionLoop
from elastic.core.paths import parse_path
from elastic.core.space import Choice, Float, Int, Parameter, around, check_space, seconds_range
from elastic.errors import ElasticError, ParameterError
from elastic.scenario.build import policy_loop
from elastic.scenario.check import load
from elastic.scenario.documents import Document
from elastic.scenario.manifests import POLICY_KINDS, Manifests

__all__ = ["ManifestPolicy"]


class ManifestPolicy:
    """The policy ``name`` of ``manifests``, to tune through its document's fields.

    Examples
    --------
    >>> from elastic.scenario import load
    >>> manifests = load('''
    ... apiVersion: autoscaling/v2
    ... kind: HorizontalPodAutoscaler
    ... metadata: {name: web}
    ... spec:
    ...   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    ...   maxReplicas: 20
    ...   metrics:
    ...   - type: Resource
    ...     resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
    ...   behavior:
    ...     scaleDown: {stabilizationWindowSeconds: 300}
    ... ''')
    >>> web = ManifestPolicy(manifests, "web")
    >>> for name, parameter in web.space().items():
    ...     print(name, parameter)
    spec.metrics[0].resource.target.averageUtilization Int(low=30, high=90, log=False)
    spec.behavior.scaleUp.stabilizationWindowSeconds Int(low=0, high=120, log=False)
    spec.behavior.scaleDown.stabilizationWindowSeconds Int(low=0, high=600, log=False)
    >>> web.build({"spec.metrics[0].resource.target.averageUtilization": 75}).policies.metrics
    [Metric(type='Resource', name='cpu', target_type='Utilization', target=75, ...)]
    """

    def __init__(self, manifests: Manifests, name: str) -> None:
        policy_loop(manifests, name)  # a ProblemList naming the policies there are, if none
        found = next(hit for kind in POLICY_KINDS if (hit := manifests.named(kind, name)))
        self.manifests = manifests
        self.name = name
        self.document: Document = found[0]
        self.kind = self.document.kind
        #: how a field is written from a sampled value (KEDA's metadata are text)
        self._writers: dict[str, Callable[[Any], Any]] = {}
        self._space = self._declared()

    def __repr__(self) -> str:
        return f"ManifestPolicy({self.kind} {self.name!r})"

    # --- the space --------------------------------------------------------------------------

    def space(self) -> dict[str, Parameter]:
        """The default space: the fields worth tuning, over ranges relative to their values."""
        return dict(self._space)

    def _declared(self) -> dict[str, Parameter]:
        if self.kind == "ScalingPolicy":
            return self._scaling_policy()
        if self.kind == "HorizontalPodAutoscaler":
            return self._hpa()
        return self._scaled_object()

    def _scaling_policy(self) -> dict[str, Parameter]:
        loop = policy_loop(self.manifests, self.name)
        names = {path: self._field_of(path) for path in loop.search_space()}
        space: dict[str, Parameter] = {}
        for path, parameter in loop.search_space().items():
            field = names[path]
            if field is None:
                continue
            when = parameter.when
            if when is not None:
                if any(names.get(key) is None for key in when):
                    continue
                when = {str(names[key]): values for key, values in when.items()}
            space[field] = _with_when(parameter, when)
        return space

    def _field_of(self, path: str) -> str | None:
        """The document field of a loop's parameter path, or None where the document cannot
        hold it (a behavior written as ``kubernetes-default``)."""
        steps = parse_path(path)
        data = self.document.data["spec"]
        out = "spec"
        if steps[0] == "policies":
            out += f".policies[{steps[1]}]"
            data = data["policies"][steps[1]]
            steps = steps[2:]
            key = str(steps[0])
            written = key if key in data else to_camel(key)
            out += f".{written}"
            data = data.get(written)
            steps = steps[1:]
        for step in steps:
            if isinstance(step, int):
                out += f"[{step}]"
                data = data[step] if isinstance(data, list) and step < len(data) else None
            else:
                if data is not None and not isinstance(data, Mapping):
                    return None  # e.g. behavior: kubernetes-default
                out += f".{to_camel(step)}"
                data = None if data is None else data.get(to_camel(step), data.get(step))
        return out

    def _hpa(self) -> dict[str, Parameter]:
        space: dict[str, Parameter] = {}
        spec = self.document.data["spec"]
        loop = policy_loop(self.manifests, self.name)
        declared = loop.search_space()
        for i, metric in enumerate(spec.get("metrics") or ()):
            source = {"Resource": "resource", "ContainerResource": "containerResource"}.get(
                metric.get("type", "")
            )
            target = metric.get(source, {}).get("target", {}) if source else {}
            if target.get("type") == "Utilization":
                space[f"spec.metrics[{i}].{source}.target.averageUtilization"] = declared[
                    f"policies.metrics[{i}].target"
                ]
        behavior = spec.get("behavior")
        if isinstance(behavior, Mapping):
            for key, direction in (("scaleUp", "scale_up"), ("scaleDown", "scale_down")):
                window = f"behavior.{direction}.stabilization_window_seconds"
                space[f"spec.behavior.{key}.stabilizationWindowSeconds"] = declared[window]
                rules = behavior.get(key)
                limits = rules.get("policies") if isinstance(rules, Mapping) else None
                for j, _ in enumerate(limits or ()):
                    at = f"behavior.{direction}.policies[{j}]."
                    space[f"spec.behavior.{key}.policies[{j}].value"] = declared[at + "value"]
                    space[f"spec.behavior.{key}.policies[{j}].periodSeconds"] = declared[
                        at + "period_seconds"
                    ]
        return space

    def _scaled_object(self) -> dict[str, Parameter]:
        spec = self.document.data["spec"]
        space: dict[str, Parameter] = {}
        for i, trigger in enumerate(spec.get("triggers") or ()):
            metadata = trigger.get("metadata") or {}
            key = "threshold" if trigger.get("type") == "prometheus" else "value"
            if trigger.get("type") not in ("prometheus", "cpu", "memory") or key not in metadata:
                continue
            value = float(metadata[key])
            path = f"spec.triggers[{i}].metadata.{key}"
            if key == "value":  # a utilization in whole percent
                low, high = max(1, int(value) // 2), min(int(value) * 3 // 2, 100)
                space[path] = Int(low, max(high, int(value)))
            else:
                space[path] = around(value, log=True)
            self._writers[path] = _text
        polling = spec.get("pollingInterval", 30)
        space["spec.pollingInterval"] = Int(max(1, polling // 2), max(2, 2 * polling))
        space["spec.cooldownPeriod"] = seconds_range(spec.get("cooldownPeriod", 300), 600)
        return space

    # --- candidates -------------------------------------------------------------------------

    def current(self, field: str) -> Any:
        """The value the document holds at ``field`` (None where it leaves it out)."""
        value: Any = self.document.data
        for step in parse_path(field):
            if isinstance(step, int):
                value = value[step] if isinstance(value, list) and step < len(value) else None
            else:
                value = value.get(step) if isinstance(value, Mapping) else None
        return value

    def document_with(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The document's data with each field of ``params`` set (missing mappings made)."""
        data: dict[str, Any] = copy.deepcopy(self.document.data)
        for field, value in params.items():
            steps = parse_path(field)
            node: Any = data
            for i, step in enumerate(steps[:-1]):
                nxt = steps[i + 1]
                if isinstance(step, int):
                    if not (isinstance(node, list) and step < len(node)):
                        raise _no_field(field, self)
                    node = node[step]
                elif isinstance(node, dict):
                    if node.get(step) is None and isinstance(nxt, str):
                        node[step] = {}
                    node = node.get(step)
                else:
                    raise _no_field(field, self)
            last = steps[-1]
            writer = self._writers.get(field, _plain)
            in_list = isinstance(last, int) and isinstance(node, list) and last < len(node)
            if in_list or (isinstance(last, str) and isinstance(node, dict)):
                node[last] = writer(value)
            else:
                raise _no_field(field, self)
        return data

    def text(self, params: Mapping[str, Any]) -> str:
        """The tuned document as YAML."""
        return yaml.safe_dump(self.document_with(params), sort_keys=False)

    def build(self, params: Mapping[str, Any]) -> DecisionLoop:
        """The loop of the document with ``params`` set, loaded and checked as a manifest.

        Raises a :class:`~elastic.scenario.ProblemList` when a candidate is not a
        valid manifest (each problem at its field).
        """
        manifests = load(self.text(params))
        return policy_loop(manifests, self.name) if not manifests.problems else _raise(manifests)

    def check(self, space: Mapping[str, Parameter]) -> dict[str, Parameter]:
        """``space`` checked, and each of its fields one this document can hold and load
        (tried with the field's lowest value alone)."""
        checked = check_space(space)
        for field, parameter in checked.items():
            probe = _probe(parameter)
            try:
                self.build({field: probe})
            except ElasticError as error:
                lines = [line.strip() for line in str(error).strip().splitlines()]
                first = next((line for line in lines if line.startswith("<text>:")), lines[0])
                said = re.sub(r"^<text>:\d+:\d+: ", "", first)
                raise ParameterError(
                    "param", field,
                    f"a field {self.kind} {self.name!r} accepts (set to {probe!r}, its "
                    f"manifest says: {said})", owner="tune",
                ) from None  # fmt: skip
        return checked


def _raise(manifests: Manifests) -> DecisionLoop:
    from elastic.scenario.documents import ProblemList

    raise ProblemList(manifests.problems)


def _probe(parameter: Parameter) -> Any:
    return parameter.options[0] if isinstance(parameter, Choice) else parameter.low


def _no_field(field: str, policy: ManifestPolicy) -> ParameterError:
    return ParameterError(
        "param", field,
        f"a field of {policy.kind} {policy.name!r} (such as "
        f"{', '.join(list(policy.space())[:2]) or 'spec.maxReplicas'})",
        owner="tune",
    )  # fmt: skip


def _plain(value: Any) -> Any:
    """A sampled value as YAML writes it: whole floats of an Int stay ints."""
    return value.item() if hasattr(value, "item") else value


def _text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _with_when(parameter: Parameter, when: Any) -> Parameter:
    if isinstance(parameter, Choice):
        return Choice(parameter.options, when=when)
    if isinstance(parameter, Int):
        return Int(parameter.low, parameter.high, parameter.log, when=when)
    return Float(parameter.low, parameter.high, parameter.log, when=when)
