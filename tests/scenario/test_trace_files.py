"""Trace CSV files: every problem with the file and the line, never a traceback (issue 15, B5),
and run limits named in the error, from the Python API and from manifests (B7)."""

import gzip
import re

import pytest

from elastic.errors import ElasticError, ParameterError
from elastic.files import FileError
from elastic.scenario import load
from elastic.sim import Poisson, Scenario, TraceReplay
from elastic.sim.scenario import MetricsSpec
from elastic.sim.workload import Timestamps
from tests.scenario.test_hostile_input import BASE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time_s,requests\n0,abc\n60,3\n",
         "expected numbers in every cell (line 2, column 'requests': 'abc' is not a number)"),
        ("time_s,requests\n0,1\n60,3,4\n",
         "expected 2 cells in every row, one per column of the header (line 3 has 3)"),
        ("time_s,requests\n", "expected rows of numbers after the header (there are none)"),
        ("", "expected a CSV file whose first line is a header of column names"),
        ("time_s,requests\n0,1e300\n60,3\n",
         "counts[0]=1e+300 is invalid; expected a whole count from 0 to 1000000000 "
         "(elastic.sim.limits.MAX_BUCKET_COUNT) (line 2)"),
        ("time_s,requests\n0,-1\n", "counts[0]=-1.0 is invalid; expected a whole count"),
        ("time_s,requests\n0,nan\n", "expected finite numbers (line 2, column 'requests': nan)"),
        ("time_s,requests\n0,1\n60,2\n# a comment\n\n150,3\n", "(line 6)"),
        ("time_s,count\n0,1\n", "expected a column 'requests' (the columns are time_s, count)"),
    ],
)  # fmt: skip
def test_a_bad_trace_csv_is_reported_with_the_file_and_line(tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(FileError) as error:
        TraceReplay.from_csv(path)
    assert f"path='{path}'" in str(error.value) and expected in str(error.value)


def test_a_corrupt_gzip_trace_is_a_file_error(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"garbage")
    with pytest.raises(FileError, match="expected a gzip file"):
        TraceReplay.from_csv(path)
    path.write_bytes(gzip.compress(b"time_s,requests\n0,5\n60,7\n"))
    assert TraceReplay.from_csv(path).counts.tolist() == [5, 7]


def test_timestamps_from_csv_report_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t_ms\n10\nlater\n")
    with pytest.raises(FileError, match=r"line 3, column 't_ms': 'later' is not a number"):
        Timestamps.from_csv(path)


def test_a_trace_manifest_reports_the_csv_line_at_the_trace_file_field(tmp_path):
    (tmp_path / "t.csv").write_text("time_s,requests\n0,abc\n")
    manifest = tmp_path / "s.yaml"
    manifest.write_text(BASE.replace("generator: {poisson: {rate: 5}}", "trace: {file: t.csv}"))
    (problem,) = load(manifest).problems
    assert str(problem) == (
        f"{manifest}:5:17: spec.trace.file: TraceReplay: path='{tmp_path}/t.csv' is invalid; "
        "expected numbers in every cell (line 2, column 'requests': 'abc' is not a number)"
    )


# --- B7: bounds on what a run may ask for ------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"control_interval": 1e-9}, "control_interval=1e-09 is invalid; expected at least "
         "1.2e-05 s for a duration of 120 s: a run makes at most 10000000 control decisions "
         "(elastic.sim.limits.MAX_CONTROL_INTERVALS)"),
        ({"metrics": MetricsSpec(resolution=1e-7)}, "metrics.resolution=1e-07 is invalid; "
         "expected at least 1.2e-05 s for a duration of 120 s: a run scrapes its metrics at most "
         "10000000 times (elastic.sim.limits.MAX_SCRAPES)"),
        ({"duration": 1e300}, "duration=1e+300 is invalid; expected at most 3.1536e+08 s, 10 "
         "years (elastic.sim.limits.MAX_DURATION)"),
    ],
)  # fmt: skip
def test_a_scenario_refuses_a_run_beyond_the_limits(options, message):
    with pytest.raises(ParameterError) as error:
        Scenario(Poisson(1.0), **({"duration": 120.0} | options))
    assert str(error.value) == f"Scenario: {message}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  controlInterval: 1e-9", "26:20: spec.controlInterval: Scenario: control_interval="),
        ("  metrics: {resolution: 1e-7}", "26:25: spec.metrics.resolution: Scenario: "
         "metrics.resolution="),
    ],
)  # fmt: skip
def test_manifests_surface_the_run_limits_at_the_field(line, expected):
    (problem,) = load(BASE + line + "\n").problems
    assert str(problem).removeprefix("<text>:").startswith(expected)
    assert "elastic.sim.limits.MAX_" in str(problem)


def test_a_huge_duration_in_a_manifest_names_the_limit():
    (problem,) = load(BASE.replace("duration: 120", "duration: 1e300")).problems
    assert str(problem) == (
        "<text>:25:13: spec.duration: Scenario: duration=1e+300 is invalid; expected at most "
        "3.1536e+08 s, 10 years (elastic.sim.limits.MAX_DURATION)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("time_s,requests\r0,60\r60,60\r", None),
     ("time_s,requests\n0,6_0\n", "(line 2, column 'requests': '6_0' is not a number)"),
     ("time_s,requests,requests\n0,1,2\n", "each column named once (line 1 names 'requests'"),
     ("time_s,requests\n60,60\n0,60\n", "times in column 'time_s' that increase, not 0 after 60 "
      "(line 3)")],
    ids=["lines ended by CR alone", "an underscore", "a column named twice", "times going back"],
)  # fmt: skip
def test_trace_csv_details_are_read_or_located(tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_text(text, newline="")
    if expected is None:
        assert TraceReplay.from_csv(path).counts.tolist() == [60, 60]
    else:
        with pytest.raises(ElasticError, match=re.escape(expected)):
            TraceReplay.from_csv(path)
