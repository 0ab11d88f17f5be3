"""fast_init: the frozen step objects build faster and behave exactly as dataclasses do."""

import dataclasses
import inspect
import pickle

import pytest

from elastic.core.behavior import ScaleEvent
from elastic.core.frozen import fast_init
from elastic.core.types import Decision, Observation, Reason, Recommendation, Stage
from elastic.sim.result import IntervalRecord

FAST = [Observation, Recommendation, Stage, Decision, ScaleEvent, IntervalRecord]


def plain_twin(cls):
    """The same fields in a dataclass that keeps the generated __init__."""
    return dataclasses.make_dataclass(
        cls.__name__,
        [(f.name, f.type, f) for f in dataclasses.fields(cls)],
        frozen=True,
        slots=True,
    )


@pytest.mark.parametrize("cls", FAST, ids=lambda c: c.__name__)
def test_the_signature_is_the_dataclass_one(cls):
    fast = inspect.signature(cls).parameters
    plain = inspect.signature(plain_twin(cls)).parameters
    assert list(fast) == list(plain)
    for name, parameter in fast.items():
        default = plain[name].default
        # a default factory shows as a marker in both; plain defaults are the same object
        if repr(default) == "<factory>":
            assert repr(parameter.default) == "<factory>"
        else:
            assert parameter.default is default


SAMPLES = {
    Observation: ((60.0, 4), {"metrics": {"cpu": 75.0}, "ready": 3}),
    Recommendation: ((3, Reason.TARGET_TRACKING), {"detail": "x", "max_replicas": 9}),
    Stage: (("combine", 3, Reason.TARGET_TRACKING), {}),
    Decision: ((1.0, 2, 3, (), ()), {}),
    ScaleEvent: ((2, 30.0), {}),
}


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_objects_are_frozen_equal_hashable_and_pickle(cls):
    args, kwargs = SAMPLES[cls]
    obj = cls(*args, **kwargs)
    twin = plain_twin(cls)(*args, **kwargs)
    assert dataclasses.astuple(obj) == dataclasses.astuple(twin)
    assert obj == cls(*args, **kwargs)
    first = dataclasses.fields(cls)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, first, None)
    assert pickle.loads(pickle.dumps(obj)) == obj
    assert dataclasses.replace(obj) == obj
    if cls is not Observation:  # an Observation holds a dict
        assert hash(obj) == hash(cls(*args, **kwargs))


def test_each_default_factory_call_makes_a_new_value():
    assert Observation(1.0, 1).metrics is not Observation(1.0, 1).metrics


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: dataclasses.dataclass(slots=True)(
                type("A", (), {"__annotations__": {"x": int}})
            ),
            id="not frozen",
        ),
        pytest.param(
            lambda: dataclasses.dataclass(frozen=True)(
                type("B", (), {"__annotations__": {"x": int}})
            ),
            id="no slots",
        ),
    ],
)
def test_only_frozen_slotted_dataclasses_are_taken(make):
    with pytest.raises(TypeError):
        fast_init(make())
