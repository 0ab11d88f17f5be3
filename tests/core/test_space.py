"""Search-space values declared next to the policies: ranges, conditions, old import path."""

from __future__ import annotations

import pytest

from elastic import ParameterError
from elastic.core.space import Choice, Float, Int, active, check_space, prefixed


def test_the_tune_import_path_gives_the_same_classes() -> None:
    from elastic import tune
    from elastic.tune import space

    assert tune.Float is Float and space.Int is Int and space.Choice is Choice


def test_a_condition_on_an_unknown_or_non_choice_parameter_is_refused() -> None:
    with pytest.raises(ParameterError, match=r"space\['margin'\]\.when='off'.*a Choice declared"):
        check_space({"margin": Float(0.0, 0.3, when={"off": (False,)})})
    with pytest.raises(ParameterError, match=r"a Choice declared before it"):
        check_space({"off": Float(0.0, 1.0), "margin": Float(0.0, 0.3, when={"off": (0.5,)})})


def test_a_condition_no_value_can_meet_is_a_contradictory_space() -> None:
    with pytest.raises(ParameterError, match=r"when\['off'\]='maybe'.*one of the options"):
        check_space({"off": Choice((False, True)),
                     "margin": Float(0.0, 0.3, when={"off": ("maybe",)})})  # fmt: skip


@pytest.mark.parametrize("when", [{}, {"off": ()}, {"off": "no"}, ["off"], {"": (1,)}])
def test_a_malformed_condition_is_refused(when: object) -> None:
    with pytest.raises(ParameterError, match="when"):
        Int(1, 2, when=when)  # type: ignore[arg-type]


def test_prefixed_names_carry_their_conditions() -> None:
    space = {"off": Choice((False, True)), "margin": Float(0.0, 0.3, when={"off": [False]})}
    out = prefixed(space, "policies[1].")
    assert out["policies[1].margin"].when == {"policies[1].off": (False,)}
    check_space(out)
    assert active(out, {"policies[1].off": False, "policies[1].margin": 0.2})
    assert not active(out, {"policies[1].off": True, "policies[1].margin": 0.2})
