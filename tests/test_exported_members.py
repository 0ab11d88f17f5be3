import elastic
import elastic.core
import elastic.policies


def test_all_is_exactly_the_sorted_public_names() -> None:
    for module in (elastic, elastic.core, elastic.policies):
        public = sorted(n for n in vars(module) if not n.startswith("_") and n not in {
            "annotations", "core", "errors", "testing", "checks"})
        public = [n for n in public if not isinstance(getattr(module, n), type(elastic))
                  or n == "policies"]
        assert sorted(module.__all__) == sorted(public), module.__name__


def test_issue_contract_names_exist() -> None:
    for name in ("DecisionLoop", "Observation", "Decision", "Reason", "Behavior", "ElasticError"):
        assert hasattr(elastic, name)
    for name in ("TargetTracking", "StepScaling", "Scheduled", "MaxOf", "MinOf", "Fallback"):
        assert hasattr(elastic.policies, name)
