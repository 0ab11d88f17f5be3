"""Checked manifests (the documents by kind and name, their problems) and what they build."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elastic.core.loop import DecisionLoop
from elastic.scenario.documents import Document, Problem
from elastic.sim.distributions import Distribution
from elastic.sim.scenario import Scenario
from elastic.sim.workload import Workload

__all__ = ["POLICY_KINDS", "Built", "Manifests"]

#: the kinds a Scenario can name as its policy (by name alone: one name per policy)
POLICY_KINDS = ("ScalingPolicy", "HorizontalPodAutoscaler", "ScaledObject")


@dataclass(frozen=True)
class Built:
    """A runnable scenario: the simulator's scenario, the loop, and how to run it."""

    scenario: Scenario
    loop: DecisionLoop
    seed: int
    fidelity: str


@dataclass
class Manifests:
    """Validated documents by kind and name, the problems found and what was ignored.

    ``base`` is the folder relative trace files are read from; a trace file
    outside it is refused unless ``allow_outside``.
    """

    objects: dict[str, dict[str, tuple[Document, Any]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    base: Path = field(default_factory=lambda: Path("."))
    allow_outside: bool = False
    #: (kind, name) of the objects with problems of their own, so that a reference to one is
    #: not reported again as missing, and it is not built
    broken: set[tuple[str, str]] = field(default_factory=set, repr=False)
    #: the scenarios load() built, by name (build() hands them out without building again)
    built: dict[str, Built] = field(default_factory=dict, repr=False)
    #: the workloads (arrivals, service times) built, by name, base and allow_outside
    traffic: dict[tuple[str, Path, bool], tuple[Workload, Distribution]] = field(
        default_factory=dict, repr=False
    )

    def named(self, kind: str, name: str) -> tuple[Document, Any] | None:
        return self.objects.get(kind, {}).get(name)

    def scenarios(self) -> list[str]:
        return sorted(self.objects.get("Scenario", {}))
