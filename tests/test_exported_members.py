import types

import pytest

import elastic
import elastic.bench
import elastic.core
import elastic.cost
import elastic.evaluate
import elastic.policies
import elastic.sim


@pytest.mark.parametrize(
    "module",
    [
        elastic,
        elastic.bench,
        elastic.core,
        elastic.cost,
        elastic.evaluate,
        elastic.policies,
        elastic.sim,
    ],
)
def test_all_is_exactly_the_public_names(module):
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations"}
    exported = set(module.__all__) - {"__version__", "bench", "cost", "evaluate", "policies", "sim"}
    assert exported == public


def test_issue_contract_names_exist():
    for name in ("DecisionLoop", "Observation", "Decision", "Reason", "Behavior", "ElasticError"):
        assert name in elastic.__all__
    for name in ("TargetTracking", "StepScaling", "Scheduled", "MaxOf", "MinOf", "Fallback"):
        assert name in elastic.policies.__all__
