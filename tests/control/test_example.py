"""The controller example runs as its README says (a real Prometheus, real workers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "controller" / "run.py"


def test_the_controller_example_scales_out_and_logs_every_step(
    prometheus_binary: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--seconds", "15", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    assert len(lines) >= 10
    assert max(line["applied"] or 0 for line in lines) >= 2  # it scaled out under the load
    assert "target 30 %" in lines[-1]["shadow"]
    assert (tmp_path / "loop.checkpoint").stat().st_size > 0
    assert "live " in done.stdout and "under-provisioned" in done.stdout
