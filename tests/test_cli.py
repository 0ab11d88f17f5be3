"""Every CLI error: exit status 1, one precise message on stderr, no traceback; files to be
written are checked before the run (issue 15, B5)."""

from pathlib import Path

import pytest

from elastic.cli import main
from tests.scenario.test_hostile_input import BASE


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    return path


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.err


def test_a_negative_seed_is_a_usage_error(capsys, scenario):
    status, err = run_cli(capsys, "run", scenario, "--seed", "-1")
    assert status == 1
    assert (
        err == "error: argument --seed: -1 is invalid; expected an integer >= 0 (see "
        "elastic run --help)\n"
    )


def test_seeds_below_one_are_a_usage_error(capsys, scenario):
    status, err = run_cli(capsys, "compare", scenario, "--seeds", "0")
    assert status == 1
    assert "argument --seeds: 0 is invalid; expected an integer >= 1" in err


@pytest.mark.parametrize(
    ("command", "option", "expected"),
    [
        ("run", "--json", "error: --json {bad}: no folder '{folder}'; expected an existing one\n"),
        ("compare", "--csv",
         "error: --csv {bad}: no folder '{folder}'; expected an existing one\n"),
    ],
)  # fmt: skip
def test_an_unwritable_output_is_found_before_the_run(
    capsys, scenario, tmp_path, monkeypatch, command, option, expected
):
    import elastic.sim

    def no_run(*args, **kwargs):
        raise AssertionError("the run started before the output was checked")

    monkeypatch.setattr(elastic.sim, "simulate", no_run)
    folder = tmp_path / "missing"
    bad = folder / "out"
    extra = ["--serial"] if command == "compare" else []
    status, err = run_cli(capsys, command, scenario, option, bad, *extra)
    assert status == 1
    assert err == expected.format(bad=bad, folder=folder)


def test_a_plots_path_that_is_a_file_is_refused_before_the_run(capsys, scenario, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    status, err = run_cli(capsys, "compare", scenario, "--plots", taken, "--serial")
    assert status == 1 and err == f"error: --plots {taken}: is a file; expected a folder\n"


def test_a_folder_given_as_the_json_file_is_refused(capsys, scenario, tmp_path):
    status, err = run_cli(capsys, "run", scenario, "--json", tmp_path)
    assert status == 1 and err == f"error: --json {tmp_path}: is a folder; expected a file name\n"


def test_trace_files_outside_the_folder_need_allow_outside(capsys, tmp_path):
    (tmp_path / "t.csv").write_text("time_s,requests\n0,5\n60,6\n")
    inside = tmp_path / "m"
    inside.mkdir()
    manifest = inside / "s.yaml"
    manifest.write_text(BASE.replace("generator: {poisson: {rate: 5}}", "trace: {file: ../t.csv}"))
    status, err = run_cli(capsys, "validate", manifest)
    assert status == 1 and "is outside the manifests' folder" in err
    status, err = run_cli(capsys, "validate", manifest, "--allow-outside")
    assert status == 0, err


def test_an_unknown_command_or_option_exits_1(capsys, scenario):
    assert run_cli(capsys, "frobnicate")[0] == 1
    status, err = run_cli(capsys, "run", scenario, "--sed", "1")
    assert status == 1 and err.startswith("error: unrecognized arguments: --sed 1")


def test_run_writes_its_json_where_asked(capsys, scenario, tmp_path):
    out = tmp_path / "run.json"
    status, err = run_cli(capsys, "run", scenario, "--fidelity", "fluid", "--json", out)
    assert status == 0, err
    assert Path(out).read_text().startswith("{")
