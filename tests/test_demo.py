"""The main job: a comparison on the shipped trace, with the table the README promises."""

import pytest

from elastic import Reason
from elastic.bench import SerialExecutor
from elastic.cli import main
from elastic.demo import COLUMNS, compare, history, peak_replicas, policies, render, scenario
from elastic.sim import simulate


@pytest.fixture(scope="module")
def one_day():
    return compare(days=1, first_day=0, executor=SerialExecutor(), progress=False)


def test_the_demo_compares_every_policy_and_autoscaling_pays(one_day):
    assert len(one_day.rows) == 5 and not one_day.failures
    by_policy = {row["policy"]: row for row in one_day.rows}
    static = next(row for name, row in by_policy.items() if name.startswith("static"))
    autoscaled = [row for name, row in by_policy.items() if not name.startswith("static")]
    assert all(row["cost"] < static["cost"] for row in autoscaled), "autoscaling is cheaper"
    assert static["theta_u"] <= min(row["theta_u"] for row in autoscaled)
    assert static["scaling_actions"] == 0


def test_a_row_is_the_summary_of_its_run(one_day):
    name = "HPA: cpu 60 %, Kubernetes behavior"
    row = next(r for r in one_day.rows if r["policy"] == name)
    loop = policies(peak_replicas(1, 0))[name]
    again = simulate(scenario(1, 0), loop, seed=row["seed"]).summary()
    assert {k: row[k] for k in again} == again


def test_the_table_has_every_column(one_day):
    table = render(one_day)
    header = table.splitlines()[0]
    for label, _ in COLUMNS.values():
        assert label in header
    assert len(table.splitlines()) == 2 + 5


def test_cli_demo_prints_a_table_and_writes_the_plots(capsys, tmp_path):
    plots = tmp_path / "plots"
    assert main(["demo", "--days", "1", "--first-day", "6", "--plots", str(plots)]) == 0
    out = capsys.readouterr().out
    assert "HPA: cpu 60 %, Kubernetes behavior" in out and "cost $" in out and "SLO %" in out
    written = sorted(p.name for p in plots.iterdir())
    assert "comparison.png" in written and len(written) == 1 + 5
    assert all((plots / name).read_bytes()[:4] == b"\x89PNG" for name in written)


def test_cli_refuses_days_past_the_week(capsys):
    assert main(["demo", "--days", "3", "--first-day", "5"]) == 1  # every CLI error: exit 1
    assert "within the week" in capsys.readouterr().err


def test_the_predictive_policy_forecasts_from_the_shipped_days_before():
    assert history(0) is None
    times, rps = history(3)
    assert len(times) == 3 * 1440 and times[-1] == -60.0 and rps.max() > 0
    name = "predictive + AWS-like target tracking"
    loop = policies(peak_replicas(), history=history(3))[name]
    run = simulate(scenario(), loop, fidelity="fluid")
    reasons = {rec.reason for d in run.decisions if d for rec in d.recommendations}
    assert Reason.FORECAST in reasons and Reason.NO_FORECAST not in reasons
