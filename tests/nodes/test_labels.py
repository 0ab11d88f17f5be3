"""Node selector requirements, taints and tolerations: Kubernetes' matching rules, row by row."""

from __future__ import annotations

import pytest

from elastic.errors import ParameterError
from elastic.nodes.labels import Requirement, Taint, Toleration, tolerates_all

LABELS = {"kubernetes.io/arch": "arm64", "karpenter.k8s.aws/instance-cpu": "8"}


@pytest.mark.parametrize(
    ("requirement", "expected", "why"),
    [
        (Requirement("kubernetes.io/arch", "In", ("arm64", "amd64")), True, "value listed"),
        (Requirement("kubernetes.io/arch", "In", ("amd64",)), False, "value not listed"),
        (Requirement("zone", "In", ("a",)), False, "In needs the label present"),
        (Requirement("zone", "NotIn", ("a",)), True, "NotIn holds when the label is absent"),
        (Requirement("kubernetes.io/arch", "NotIn", ("arm64",)), False, "value excluded"),
        (Requirement("kubernetes.io/arch", "Exists"), True, "present"),
        (Requirement("zone", "DoesNotExist"), True, "absent"),
        (Requirement("karpenter.k8s.aws/instance-cpu", "Gt", ("4",)), True, "8 > 4"),
        (Requirement("karpenter.k8s.aws/instance-cpu", "Gt", ("8",)), False, "8 > 8 is false"),
        (Requirement("karpenter.k8s.aws/instance-cpu", "Lt", ("9",)), True, "8 < 9"),
        (
            Requirement("kubernetes.io/arch", "Gt", ("1",)),
            False,
            "a non-integer label never compares",
        ),
        (Requirement("zone", "Lt", ("1",)), False, "Gt/Lt need the label present"),
    ],
)
def test_requirement_matches_as_kubernetes_does(
    requirement: Requirement, expected: bool, why: str
) -> None:
    assert requirement.matches(LABELS) is expected, why


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("", "In", ("a",)), "key"),
        (("k", "Has", ()), "operator"),
        (("k", "In", ()), "values"),
        (("k", "Exists", ("a",)), "values"),
        (("k", "Gt", ("x",)), "values"),
        (("k", "Lt", ("1", "2")), "values"),
        (("k", "In", "abc"), "values"),
    ],
)
def test_a_bad_requirement_is_refused_naming_the_field(args: tuple, field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        Requirement(*args)


NO_SCHEDULE = Taint("dedicated", "gpu", "NoSchedule")


@pytest.mark.parametrize(
    ("toleration", "expected", "why"),
    [
        (Toleration("dedicated", "Equal", "gpu"), True, "same key, value, any effect"),
        (Toleration("dedicated", "Equal", "gpu", "NoExecute"), False, "another effect"),
        (Toleration("dedicated", "Equal", "cpu"), False, "another value"),
        (Toleration("dedicated", "Exists"), True, "Exists ignores the value"),
        (Toleration("other", "Exists"), False, "another key"),
        (Toleration(operator="Exists"), True, "empty key with Exists tolerates everything"),
        (Toleration(operator="Exists", effect="NoSchedule"), True, "every key, this effect"),
        (
            Toleration(operator="Exists", effect="PreferNoSchedule"),
            False,
            "every key, not this effect",
        ),
    ],
)
def test_toleration_matches_as_upstream(toleration: Toleration, expected: bool, why: str) -> None:
    assert toleration.tolerates(NO_SCHEDULE) is expected, why


def test_only_repelling_taints_must_be_tolerated() -> None:
    prefer = Taint("spot", "true", "PreferNoSchedule")
    execute = Taint("spot", "true", "NoExecute")
    assert tolerates_all((), (prefer,))
    assert not tolerates_all((), (execute,))
    assert tolerates_all((Toleration("spot", "Equal", "true"),), (prefer, execute))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"operator": "Equal"}, "key"),  # Equal needs a key
        ({"key": "k", "operator": "Exists", "value": "v"}, "value"),
        ({"key": "k", "effect": "Never"}, "effect"),
        ({"key": "k", "operator": "In"}, "operator"),
    ],
)
def test_a_bad_toleration_is_refused(kwargs: dict, field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        Toleration(**kwargs)


def test_a_bad_taint_is_refused() -> None:
    with pytest.raises(ParameterError, match="effect"):
        Taint("k", "v", "Sometimes")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="key"):
        Taint("")
