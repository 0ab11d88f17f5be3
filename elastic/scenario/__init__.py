"""Layer 3: scenario manifests in YAML, checked with precise errors and built into runnable objects.

``load(*paths)`` reads files, folders or YAML text and collects every
problem (with file, line, column and field path) instead of stopping at the
first; ``validate`` raises them at once; ``build`` turns a checked set of
manifests into the simulator's :class:`~elastic.sim.Scenario` and a
:class:`~elastic.DecisionLoop`.
"""

from elastic.scenario.build import build, distribution, policies, policy_loop
from elastic.scenario.check import load, validate
from elastic.scenario.documents import Document, Problem, ProblemList, read_documents
from elastic.scenario.manifests import Built, Manifests
from elastic.scenario.node_level import capacity_provider_request

__all__ = [
    "Built",
    "Document",
    "Manifests",
    "Problem",
    "ProblemList",
    "build",
    "capacity_provider_request",
    "distribution",
    "load",
    "policies",
    "policy_loop",
    "read_documents",
    "validate",
]
