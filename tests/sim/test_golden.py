"""Refactors keep results: every golden case gives byte-identical numbers (see ``golden.py``)."""

from __future__ import annotations

import json

import pytest

from elastic.sim import simulate
from tests.sim.golden import PATH, cases, record

GOLDEN = json.loads(PATH.read_text())
CASES = {name: rest for name, *rest in cases()}


def test_the_golden_file_has_every_case() -> None:
    assert sorted(GOLDEN) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_golden_run_gives_what_was_recorded(name: str) -> None:
    scenario, loop, fidelity, seed = CASES[name]
    got = record(simulate(scenario, loop(), seed=seed, fidelity=fidelity))
    want = GOLDEN[name]
    for part in ("summary", "totals"):
        moved = {k: (want[part].get(k), v) for k, v in got[part].items() if want[part].get(k) != v}
        assert not moved, f"{name}: {part} moved (recorded, now): {moved}"
    assert got == want, f"{name}: bill, series or decisions moved"
