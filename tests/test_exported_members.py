import types

import pytest

import elastic
import elastic.bench
import elastic.core
import elastic.cost
import elastic.evaluate
import elastic.forecast
import elastic.kubernetes
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
        elastic.forecast,
        elastic.kubernetes,
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
    subpackages = {"bench", "cost", "evaluate", "forecast", "keda", "knative", "kubernetes"}
    exported = set(module.__all__) - {"__version__", "policies", "sim", *subpackages}
    assert exported == public


def test_issue_contract_names_exist():
    for name in ("DecisionLoop", "Observation", "Decision", "Reason", "Behavior", "ElasticError"):
        assert name in elastic.__all__
    for name in ("TargetTracking", "StepScaling", "Scheduled", "MaxOf", "MinOf", "Fallback"):
        assert name in elastic.policies.__all__
    assert "Predictive" in elastic.policies.__all__
    for name in ("LastValue", "Drift", "EWMA", "SeasonalNaive", "HoltWinters", "AWSStyle"):
        assert name in elastic.forecast.__all__
    for name in ("Pod", "Tolerance", "utilization_replicas", "average_value_replicas",
                 "value_replicas", "average_value_total_replicas", "ScaleEvent", "stabilize",
                 "normalize", "HorizontalPodAutoscaler"):  # fmt: skip
        assert name in elastic.kubernetes.__all__
    # one Behavior: the kubernetes names are deprecated aliases, not exported
    # (tests/kubernetes/test_behavior.py checks their warnings)
    assert not {"Behavior", "ScalingRules", "ScalingPolicy"} & set(elastic.kubernetes.__all__)
    assert {"DeciderSpec", "Decider", "KnativeKPA"} <= set(elastic.knative.__all__)
