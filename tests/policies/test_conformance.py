"""Every policy the package exports passes the conformance checks."""

import pytest

import elastic.policies
from elastic import checks
from elastic.policies.base import BasePolicy

CLASSES = [
    obj
    for name in elastic.policies.__all__
    if isinstance(obj := getattr(elastic.policies, name), type)
    and issubclass(obj, BasePolicy)
    and obj is not BasePolicy
]
CASES = [
    pytest.param(cls(**params), check, id=f"{cls.__name__}[{i}]-{check.__name__}")
    for cls in CLASSES
    for i, params in enumerate(cls.conformance_params())
    for check in checks.yield_checks(cls(**params))
]


def test_every_policy_has_test_params():
    assert {cls.__name__ for cls in CLASSES} >= {
        "TargetTracking",
        "StepScaling",
        "Scheduled",
        "MaxOf",
        "MinOf",
        "Fallback",
    }
    for cls in CLASSES:
        assert cls.conformance_params(), f"{cls.__name__} has no conformance_params()"


@pytest.mark.parametrize(("policy", "check"), CASES)
def test_conformance(policy, check):
    check(policy)


class Impure(BasePolicy):
    def __init__(self, metric: str = "cpu") -> None:
        self.metric = metric
        self.calls_ = 0

    def recommend(self, obs):
        self.calls_ += 1
        return elastic.Recommendation(obs.replicas, elastic.Reason.HOLD)


def test_the_checks_catch_an_impure_policy():
    with pytest.raises(AssertionError, match="changed the policy"):
        checks.check_recommend_is_pure(Impure())


def test_conformance_params_are_built_when_asked_never_shared():
    # built at import time and shared, a forecaster in the parameters of one test
    # would carry what it learned there into the next
    for cls in CLASSES:
        first, second = cls.conformance_params(), cls.conformance_params()
        assert [repr(cls(**p)) for p in first] == [repr(cls(**p)) for p in second]
        for a, b in zip(first, second, strict=True):
            for name, value in a.items():
                if not isinstance(value, str | int | float | bool | type(None)):
                    assert value is not b[name], f"{cls.__name__}: {name} is shared"


def test_conformance_params_default_to_the_defaults_when_every_parameter_has_one():
    class Needs(BasePolicy):
        def __init__(self, metric: str) -> None:
            self.metric = metric

    class Defaults(BasePolicy):
        def __init__(self, metric: str = "cpu") -> None:
            self.metric = metric

    assert Needs.conformance_params() == []
    assert Defaults.conformance_params() == [{}]
