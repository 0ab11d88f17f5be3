import numpy as np

from elastic import DecisionLoop
from elastic.cli import main
from elastic.demo import compare, replay
from elastic.policies import TargetTracking


def static(n):
    return DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=n, max_replicas=n)


def test_fluid_model_against_hand_computed_cases():
    load = np.full(120, 600)  # 600 requests/min x 6 CPU-s = exactly 60 CPUs
    enough = replay(static(60), load, name="60")
    assert (enough.late_minutes, enough.mean_delay_s, enough.replica_hours) == (0, 0.0, 120.0)
    short = replay(static(59), load, name="59")
    # one CPU short: the backlog grows by 60 CPU-s a minute, so every minute ends late,
    # and the queue holds 60 * k CPU-s after minute k: delay = 60 * sum(60k) / (120 * 3600)
    assert short.late_minutes == 120
    expected = 60.0 * sum(60.0 * k for k in range(1, 121)) / (120 * 3600.0)
    assert abs(short.mean_delay_s - expected) < 1e-9


def test_boot_delay_makes_new_capacity_late():
    load = np.r_[np.full(10, 60), np.full(20, 1200)]  # 6 CPUs, then 120
    row = replay(
        DecisionLoop(TargetTracking("cpu", 60.0), min_replicas=1, max_replicas=500),
        load,
        name="tt",
        boot=5,
    )
    assert row.late_minutes >= 5 and row.scale_ups >= 1


def test_compare_is_deterministic_and_autoscaling_is_cheaper_than_static():
    first, second = compare(days=2), compare(days=2)
    assert first == second
    static_row = first[0]
    assert static_row.late_minutes == 0
    assert all(row.cost < static_row.cost for row in first[1:])


def test_cli_demo_prints_a_table(capsys):
    assert main(["demo", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "HPA: cpu 60 %, Kubernetes behavior" in out and "cost $" in out
