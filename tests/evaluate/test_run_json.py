"""RunResult.from_json reads what to_json wrote, from a path as from text (issue 15 A11)."""

import json

import pytest

from elastic import DecisionLoop
from elastic.errors import ElasticError
from elastic.policies import TargetTracking
from elastic.sim import Poisson, RunResult, Scenario, simulate


@pytest.fixture(scope="module")
def result():
    loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=3)
    return simulate(Scenario(Poisson(5.0), duration=120.0), loop, seed=1)


def same(a, b):
    # (loop parameters are saved as their reprs, and read back as those strings)
    keep = lambda run: {k: v for k, v in run.to_dict().items() if k != "loop_params"}  # noqa: E731
    return keep(a) == keep(b)


def test_from_json_reads_the_file_to_json_wrote_given_as_a_string(result, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result.to_json("run.json")
    for source in ("run.json", tmp_path / "run.json", str(tmp_path / "run.json")):
        assert same(RunResult.from_json(source), result)
    assert same(RunResult.from_json(result.to_json()), result)


def test_from_json_names_a_missing_file_and_bad_text(tmp_path):
    with pytest.raises(ElasticError, match=r"missing\.json"):
        RunResult.from_json(str(tmp_path / "missing.json"))
    with pytest.raises(ElasticError, match=r"line 1, column \d+"):
        RunResult.from_json('{"format": ')


def test_parameters_read_back_are_written_as_they_were_read(result):
    again = RunResult.from_json(result.to_json())
    assert again.to_dict()["loop_params"] == result.to_dict()["loop_params"]
    assert RunResult.from_json(again.to_json()).to_dict() == again.to_dict()


def test_a_run_missing_a_series_is_refused_not_read_as_zeros(result):
    data = json.loads(result.to_json())
    del data["series"]["arrived"]
    with pytest.raises(ElasticError, match=r"\['arrived'\] missing"):
        RunResult.from_json(json.dumps(data))
    del data["series"]["busy_environments"]  # added later: older files read as zeros
    data["series"]["arrived"] = json.loads(result.to_json())["series"]["arrived"]
    assert RunResult.from_json(json.dumps(data)).busy_environments.sum() == 0


@pytest.mark.parametrize(
    "change",
    [lambda d: {"format": d["format"]},
     lambda d: d["series"]["arrived"].__setitem__(0, "x"),
     lambda d: d.__setitem__("cost", "abc"),
     lambda d: d["facts"].__setitem__("unknown", 1),
     lambda d: d["decisions"].__setitem__(3, {"x": 1}),
     lambda d: d.__setitem__("latency", {}),
     lambda d: d["series"]["arrived"].__setitem__(0, 10**400),
     lambda d: d["series"]["arrived"].pop()],
    ids=["only the format", "a text count", "a bad cost", "an unknown fact", "a bad decision",
         "no histogram", "a count beyond int64", "a short series"],
)  # fmt: skip
def test_well_formed_json_with_bad_contents_is_a_precise_error(result, change):
    data = json.loads(result.to_json())
    data = change(data) or data
    with pytest.raises(ElasticError, match="RunResult"):
        RunResult.from_json(json.dumps(data))
