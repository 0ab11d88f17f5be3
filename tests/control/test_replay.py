"""Replay of real history: a Prometheus range query becomes a trace that elastic compare runs."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from elastic import ParameterError
from elastic.cli import main
from elastic.control.replay import GapsError, history_of, trace_of, write_trace
from elastic.scenario import build, load
from elastic.sim import TraceReplay
from elastic.testing.prometheus import GaugeTarget, PrometheusServer
from tests.control.conftest import Answer, Canned

START = 1_700_000_000.0

SCENARIO = """\
apiVersion: elastic/v1
kind: ScalingPolicy
metadata: {name: tracking}
spec:
  policies:
  - {type: TargetTracking, metric: cpu, target: 60}
  minReplicas: 1
  maxReplicas: 20
---
apiVersion: elastic/v1
kind: Scenario
metadata: {name: last-week}
spec:
  workload: replayed
  policy: tracking
  duration: DURATION
"""


def matrix(rates: list[str]) -> dict[str, Any]:
    values = [[START + 60 * i, r] for i, r in enumerate(rates)]
    result = [{"metric": {}, "values": [v for v in values if v[1] != "gap"]}]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def test_a_range_query_becomes_a_trace_and_a_workload_that_compare_runs(
    canned: Canned, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 10 minutes at 60 s: a rate of 2/s, a gap (no sample), NaN, then 5/s
    rates = ["2", "2", "gap", "NaN", "2", "5", "5", "5", "5", "5", "5"]
    canned.answers = [Answer(body=matrix(rates))]
    out = tmp_path / "week"
    query = "sum(rate(http_requests_total[1m]))"
    argv = ["replay", canned.url, query, "--start", str(START), "--end", str(START + 600),
            "--step", "60", "--out", str(out), "--slo", "0.5"]  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "11 buckets of 60 s (2 gaps, filled from their neighbours)" in said
    ((path, params),) = canned.requests
    assert path == "/api/v1/query_range" and float(params["step"]) == 60.0
    table = (out / "replayed.csv").read_text().splitlines()
    assert table[:4] == ["time_s,requests,logged", "0,120,1", "60,120,1", "120,0,0"]
    replay = TraceReplay.from_csv(out / "replayed.csv")
    assert replay.counts.tolist()[:6] == [120, 120, 120, 120, 120, 300]
    (out / "scenario.yaml").write_text(SCENARIO.replace("DURATION", "600"))
    built = build(load(out))
    assert built.scenario.slo == 0.5
    assert main(["compare", str(out), "--json", str(tmp_path / "rows.json")]) == 0


def test_gaps_are_filled_from_neighbours_never_read_as_no_traffic() -> None:
    trace = trace_of(np.arange(4) * 60.0, np.array([1.0, np.inf, -3.0, 1.0]), 60.0)
    assert trace.logged is not None and trace.logged.tolist() == [True, False, False, True]
    assert trace.counts.tolist() == [60, 60, 60, 60]


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ([math.nan, math.nan], "at least one finite rate"),
        ([1e12], "MAX_BUCKET_COUNT"),
    ],
)
def test_unusable_ranges_are_refused_in_words(rates: list[float], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        trace_of(np.arange(len(rates)) * 60.0, np.array(rates), 60.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "x"], "give the range as --last"),
        (["--last", "7d", "--start", "0", "--out", "x"], "give the range as --last"),
        (["--start", "yesterday", "--out", "x"], "--start='yesterday': expected Unix seconds"),
        (["--start", "100", "--end", "50", "--out", "x"], "the range is empty"),
        (["--last", "a week", "--out", "x"], "--last='a week'"),
        (["--last", "1h", "--step", "0", "--out", "x"], "--step=0.0: expected seconds > 0"),
    ],
)
def test_bad_replay_arguments_are_refused_before_any_query(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], canned: Canned
) -> None:
    assert main(["replay", canned.url, "up", *argv]) == 1
    assert message in capsys.readouterr().err
    assert canned.requests == []


def test_a_bad_workload_name_is_refused(tmp_path: Path) -> None:
    trace = trace_of(np.arange(2) * 60.0, np.array([1.0, 1.0]), 60.0)
    with pytest.raises(ParameterError, match=r"name='\.\./up' is invalid"):
        write_trace(tmp_path, "../up", trace)


def test_replay_from_a_real_prometheus(prometheus_binary: str, tmp_path: Path) -> None:
    with (
        GaugeTarget(4.0) as target,
        PrometheusServer(
            [target.address], scrape_interval=0.5, binary=prometheus_binary
        ) as prometheus,
    ):
        prometheus.wait_for_value("elastic_test_value", expect=4.0, timeout=30.0)
        time.sleep(2.0)
        out = tmp_path / "real"
        argv = ["replay", prometheus.url, "elastic_test_value", "--last", "3s",
                "--step", "0.5", "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
    replay = TraceReplay.from_csv(out / "replayed.csv")
    assert replay.logged is not None and replay.logged.any()
    assert set(replay.counts[replay.logged].tolist()) == {2}  # 4/s for 0.5 s


# ------------------------------------------------- issue 18 user trial ---


def test_leading_and_trailing_gaps_are_left_out_not_invented(
    canned: Canned, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a range of 100 minutes at 60 s where the series existed for 10 minutes only
    rates = ["gap"] * 40 + ["2"] * 10 + ["gap"] * 51
    canned.answers = [Answer(body=matrix(rates))]
    out = tmp_path / "short"
    argv = ["replay", canned.url, "up", "--start", str(START), "--end", str(START + 6000),
            "--step", "60", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "the series starts at 2023-11-14T22:53:20Z: 40 buckets before it left out" in said
    assert "the series ends at 2023-11-14T23:02:20Z: 51 buckets after it left out" in said
    assert "10 buckets of 60 s (0 gaps" in said
    replay = TraceReplay.from_csv(out / "replayed.csv")
    assert replay.counts.tolist() == [120] * 10 and replay.times[0] == 0.0


def test_a_range_mostly_gaps_is_refused_unless_allowed(
    canned: Canned, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rates = ["1", "gap", "gap", "NaN", "1"]  # 3 gaps in 5 buckets
    argv = ["replay", canned.url, "up", "--start", str(START), "--end", str(START + 240),
            "--step", "60", "--out", str(tmp_path / "g")]  # fmt: skip
    canned.answers = [Answer(body=matrix(rates))]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "3 of the 5 buckets (60 %) between the first and the last sample are gaps" in err
    assert "more than the 50 % allowed: a larger --step, or --allow-gaps" in err
    assert not (tmp_path / "g" / "replayed.csv").exists()
    canned.answers = [Answer(body=matrix(rates))]
    assert main([*argv, "--allow-gaps"]) == 0
    assert "5 buckets of 60 s (3 gaps" in capsys.readouterr().out


def test_trace_of_trims_to_the_real_samples_and_checks_the_gap_share() -> None:
    rates = np.array([np.nan, np.nan, 1.0, np.nan, 2.0, np.nan])
    history = history_of(START + np.arange(6) * 60.0, rates, 60.0)
    assert (history.start, history.before, history.after) == (START + 120, 2, 1)
    assert history.trace.times.tolist() == [0.0, 60.0, 120.0]
    assert history.trace.counts.tolist() == [60, 90, 120]
    assert trace_of(START + np.arange(6) * 60.0, rates, 60.0).times.tolist() == [0.0, 60, 120]
    mostly = np.array([1.0, np.nan, np.nan, 1.0])  # 2 of 4: not more than half
    assert trace_of(np.arange(4) * 60.0, mostly, 60.0).logged.tolist() == [1, 0, 0, 1]  # type: ignore[union-attr]
    with pytest.raises(GapsError, match=r"2 of the 4 buckets \(50 %\).*max_gap_share=0.4"):
        trace_of(np.arange(4) * 60.0, mostly, 60.0, max_gap_share=0.4)
    assert len(trace_of(np.arange(4) * 60.0, mostly, 60.0, max_gap_share=None).times) == 4
    with pytest.raises(ParameterError, match=r"max_gap_share=1\.5 is invalid"):
        trace_of(np.arange(4) * 60.0, mostly, 60.0, max_gap_share=1.5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--slo", "nan"], "--slo=nan: expected seconds > 0, a finite number"),
        (["--slo", "0"], "--slo=0.0: expected seconds > 0"),
        (["--slo", "-1"], "--slo=-1.0: expected seconds > 0"),
        (["--service", "0"], "--service=0.0: expected seconds > 0"),
        (["--service", "nan"], "--service=nan: expected seconds > 0"),
        (["--service", "inf"], "--service=inf: expected seconds > 0"),
        (["--step", "inf"], "--step=inf: expected seconds > 0"),
    ],
)
def test_bad_workload_values_are_refused_before_any_query(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], canned: Canned
) -> None:
    assert main(["replay", canned.url, "up", "--last", "1h", "--out", "x", *argv]) == 1
    assert message in capsys.readouterr().err
    assert canned.requests == []


@pytest.mark.parametrize("last", ["7", "7.5", " 90 "])
def test_last_needs_a_unit(last: str, capsys: pytest.CaptureFixture[str], canned: Canned) -> None:
    assert main(["replay", canned.url, "up", "--last", last, "--out", "x"]) == 1
    err = capsys.readouterr().err
    assert f"--last={last!r}: expected a duration with its unit, such as 90m, 36h or 7d" in err
    assert canned.requests == []


@pytest.mark.parametrize(("slo", "service"), [(math.nan, 0.1), (0.0, 0.1), (0.5, math.inf)])
def test_write_trace_refuses_a_bad_slo_or_service(
    tmp_path: Path, slo: float, service: float
) -> None:
    trace = trace_of(np.arange(2) * 60.0, np.array([1.0, 1.0]), 60.0)
    with pytest.raises(ParameterError, match="is invalid; expected seconds > 0"):
        write_trace(tmp_path, "w", trace, slo=slo, service=service)


def test_written_times_keep_their_precision(tmp_path: Path) -> None:
    # 6 significant digits (the old "%g") wrote 1e+06 three times: an unreadable trace
    trace = TraceReplay(1_000_000 + np.arange(3) * 0.05, [1, 2, 3], bucket=0.05)
    write_trace(tmp_path, "far", trace)
    back = TraceReplay.from_csv(tmp_path / "far.csv")
    assert np.abs(back.times - trace.times).max() < 1e-9
    # times on Prometheus's grid are written as the grid, not with the error of START + k * step
    history = history_of(START + 0.05 * np.arange(4), np.full(4, 20.0), 0.05)
    table, _ = write_trace(tmp_path, "grid", history.trace)
    assert table.read_text().splitlines()[1:] == ["0,1,1", "0.05,1,1", "0.1,1,1", "0.15,1,1"]


def test_writing_a_long_trace_holds_a_bounded_number_of_rows_in_memory(tmp_path: Path) -> None:
    import tracemalloc

    n = 60_000
    trace = TraceReplay(np.arange(n) * 1.0, np.full(n, 12), bucket=1.0)
    tracemalloc.start()
    try:
        write_trace(tmp_path, "long", trace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # every row as a string at once took about 90 bytes a row (5.4 MB here)
    assert peak < 2_000_000, f"{peak / n:.0f} bytes a row"
