"""A controller killed with SIGKILL and restarted decides as one that never stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

WALL = 1_700_000_000.0
STEPS = 40
#: a controller process: a loop with the HPA's default behavior and a warm-up over a system
#: whose replica count lives in a file (it outlives the controller), under a burst of load
#: from step 4 to 12; it kills itself with SIGKILL when it reads the metrics of step ``kill``
CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path
    from elastic import Behavior, DecisionLoop
    from elastic.control import CallableSource, CallbackActuator, Controller, ManualClock, Observe
    from elastic.policies import TargetTracking

    wall, steps, kill, folder, checkpoint = sys.argv[1:6]
    wall, steps, kill, folder = float(wall), int(steps), int(kill), Path(folder)
    system = folder / "system.json"
    replicas = json.loads(system.read_text())["replicas"] if system.exists() else 2
    state = {"replicas": replicas, "reads": 0}

    def metrics(now):
        if state["reads"] == kill:
            os.kill(os.getpid(), signal.SIGKILL)
        state["reads"] += 1
        step = round((now - 1_700_000_000.0) / 15)
        load = 900.0 if 4 <= step < 12 else 120.0
        return {"cpu": load / state["replicas"]}

    def scale(n):
        state["replicas"] = n
        system.write_text(json.dumps({"replicas": n}))

    controller = Controller(
        DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=30,
                     behavior=Behavior.kubernetes_default(), warmup=60.0),
        Observe(CallableSource(metrics), lambda: state["replicas"]),
        CallbackActuator(scale),
        interval=15.0,
        clock=ManualClock(wall=wall),
        log=folder / "decisions.jsonl",
        checkpoint=None if checkpoint == "-" else folder / "loop.checkpoint",
    )
    controller.run(steps=steps)
    controller.close()
    """
)


def run(folder: Path, wall: float, steps: int, kill: int = -1, checkpoint: bool = True) -> int:
    arguments = [str(wall), str(steps), str(kill), str(folder), "yes" if checkpoint else "-"]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


def decisions(folder: Path) -> list[tuple[object, ...]]:
    """What each step saw, decided and applied (not its tick, duration or detail texts)."""
    lines = [json.loads(line) for line in (folder / "decisions.jsonl").read_text().splitlines()]
    return [
        (
            line["time"],
            line["observation"]["replicas"],
            line["desired"],
            line["reason"],
            line["applied"],
            tuple((s["replicas"], s["reason"]) for s in line["stages"]),
        )
        for line in lines
    ]


@pytest.mark.parametrize("kill", [6, 14, 20])
def test_a_killed_and_restarted_controller_makes_the_same_decisions(
    tmp_path: Path, kill: int
) -> None:
    (whole := tmp_path / "whole").mkdir()
    run(whole, WALL, STEPS)
    (killed := tmp_path / "killed").mkdir()
    assert run(killed, WALL, STEPS, kill=kill) == -signal.SIGKILL
    assert len(decisions(killed)) == kill  # killed before the step's decision
    # restarted where the killed step was due, from its checkpoint and the system's state
    run(killed, WALL + 15.0 * kill, STEPS - kill)
    assert decisions(killed) == decisions(whole)


def test_without_its_checkpoint_a_restarted_controller_decides_otherwise(tmp_path: Path) -> None:
    """The test above can fail: the stabilization window and warm-up are lost without it."""
    (whole := tmp_path / "whole").mkdir()
    run(whole, WALL, STEPS, checkpoint=False)
    (killed := tmp_path / "killed").mkdir()
    run(killed, WALL, STEPS, kill=14, checkpoint=False)
    run(killed, WALL + 15.0 * 14, STEPS - 14, checkpoint=False)
    assert decisions(killed) != decisions(whole)
