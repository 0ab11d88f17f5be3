"""A tuning's results: a tidy frame, JSON that reads back, text and HTML of the best."""

from __future__ import annotations

import math

import pytest

from elastic import ParameterError
from elastic.tune import Constraint, Trial, Tuning

SLO = Constraint.parse("slo_attainment>=0.9")


def trial(number: int, cost: float, slo: float, *, feasible: bool = True, **more: object) -> Trial:
    margin = slo - 0.02 - 0.9
    return Trial(number, {"target": 40.0 + 10 * number, "window": "short"}, cost, 0.01,
                 {str(SLO): margin}, feasible, {"cost": cost, "slo_attainment": slo,
                 "latency_p99": 0.3}, {"cost": 0.01, "slo_attainment": 0.02,
                 "latency_p99": math.nan}, runs=3, **more)  # type: ignore[arg-type]  # fmt: skip


def two_objectives() -> Tuning:
    """Trial 2 is beaten by 1 on both; 3 is pruned; 4 is infeasible; 0 and 1 were confirmed."""
    trials = [trial(0, 0.10, 0.95), trial(1, 0.20, 0.99), trial(2, 0.25, 0.97),
              trial(3, 0.5, 0.5, feasible=False, state="pruned"),
              trial(4, 0.05, 0.85, feasible=False)]  # fmt: skip
    confirmed = [trial(0, 0.12, 0.93, fidelity="request"),
                 trial(1, 0.21, 0.99, fidelity="request")]  # fmt: skip
    return Tuning("cost", (SLO,), trials, ("cost", "slo_attainment"), confirmed)


def test_the_frame_has_one_row_per_trial_and_fidelity() -> None:
    frame = two_objectives().to_frame()
    assert len(frame) == 7
    assert list(frame[["trial", "fidelity"]].itertuples(index=False, name=None))[-2:] == [
        (0, "request"), (1, "request")]  # fmt: skip
    for column in ("target", "window", "cost", "cost_ci", "slo_attainment", "slo_attainment_ci",
                   "margin[slo_attainment>=0.9]", "feasible", "state", "runs"):  # fmt: skip
        assert column in frame.columns, column
    assert frame.loc[3, "state"] == "pruned" and not frame.loc[4, "feasible"]


def test_json_reads_back_every_trial_with_non_finite_numbers(tmp_path) -> None:
    tuning = two_objectives()
    tuning.trials.append(Trial(5, {"target": 90.0}, math.nan, math.nan,
                               {str(SLO): -math.inf}, False, runs=1))  # fmt: skip
    text = tuning.to_json(tmp_path / "tuning.json")
    assert "NaN" not in text and "Infinity" not in text, "strict JSON"
    again = Tuning.from_json(tmp_path / "tuning.json")
    assert repr(again.trials) == repr(tuning.trials)  # NaN != NaN, but reads the same
    assert repr(again.confirmed) == repr(tuning.confirmed)
    assert again.constraints == tuning.constraints and again.objectives == tuning.objectives
    assert again.study is None and again.best.number == tuning.best.number == 0
    assert [t.number for t in again.front] == [t.number for t in tuning.front]


@pytest.mark.parametrize(
    ("source", "expected"),
    [('{"format": "elastic.Comparison/1"}', "format='elastic.Comparison/1'"),
     ('{"format": "elastic.Tuning/1", "objective": "cost"}', "KeyError: 'constraints'"),
     ('{"format": "elastic.Tuning/1", "objective": "cost", "constraints": [{"metric": "x", '
      '"op": ">", "bound": 1}], "trials": []}', "op='>'"),
     ('{"format": "elastic.Tuning/1", "objective": "cost", "constraints": [], "trials": '
      '[{"number": 0, "params": {}, "objective": [1], "objective_ci": 0, "margins": {}, '
      '"feasible": true}]}', "[1] is not a number"),
     ("/nonexistent/tuning.json", "a readable JSON file")],
)  # fmt: skip
def test_a_bad_tuning_file_is_refused_in_words(source: str, expected: str) -> None:
    with pytest.raises(ParameterError, match="Tuning") as info:
        Tuning.from_json(source)
    assert expected in str(info.value)


def test_the_summary_gives_the_confirmed_best_with_intervals() -> None:
    facts = two_objectives().summary()
    assert facts["best"] == 0 and facts["fidelity"] == "request"
    assert facts["metrics"]["cost"]["interval"] == pytest.approx((0.11, 0.13))
    assert facts["metrics"]["slo_attainment"]["mean"] == pytest.approx(0.93)
    assert (facts["trials"], facts["pruned"], facts["feasible"], facts["confirmed"],
            facts["simulations"]) == (5, 1, 3, 2, 21)  # fmt: skip
    text = two_objectives().format().splitlines()
    assert text[0] == "best: trial 0 (request, 3 runs): target=40.0, window='short'"
    assert text[1].split() == ["cost", "0.120", "±0.010", "(minimize)"]
    assert text[2].split() == [
        "slo_attainment",
        "0.930",
        "±0.020",
        "(maximize)",
        "slo_attainment>=0.9:",
        "margin",
        "0.01",
    ]
    assert text[-1] == "5 trials (1 pruned, 3 feasible), 2 confirmed, 21 simulations"


def test_without_a_feasible_trial_the_summary_says_which_constraint_failed() -> None:
    tuning = Tuning("cost", (SLO,), [trial(4, 0.05, 0.85, feasible=False)])
    assert tuning.summary()["best"] is None
    assert tuning.format().startswith("no feasible trial: none of the 1 trials met")
    assert "slo_attainment&gt;=0.9 short by" in tuning._repr_html_()


def test_the_html_view_shows_the_best_the_front_the_counts_and_the_disagreements() -> None:
    view = two_objectives()._repr_html_()
    assert "5 trials (1 pruned, 3 feasible), 2 confirmed, 21 simulations" in view
    assert "Best: trial 0 (request, 3 runs)" in view
    assert "<td>cost</td><td>0.120 ±0.010</td><td>minimize</td>" in view
    assert "Pareto front (2 trials)" in view
    assert "Screened against confirmed" in view and "<th>agrees</th>" in view
    single = Tuning("cost", (SLO,), two_objectives().trials)
    assert "Pareto front" not in single._repr_html_()
    assert "Screened against confirmed" not in single._repr_html_()
