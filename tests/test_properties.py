"""The property run of benchmarks/bench_properties.py, on a few hundred cases.

Every case is a random scenario with two loops and a fidelity; each must
conserve requests, be deterministic, give both loops the same arrivals and
bill exactly (elastic.testing.properties says how each is checked).
"""

import os
import subprocess
import sys

import pytest

from elastic.testing.properties import check_case, digest, random_case

CASES = 240


@pytest.mark.parametrize("first", range(0, CASES, 40), ids=lambda first: f"cases {first}+")
def test_random_cases_keep_every_property(first):
    problems = [p for number in range(first, first + 40) for p in check_case(random_case(number))]
    assert not problems, "\n".join(problems)


def test_the_same_case_gives_the_same_run_in_another_process_and_hash_seed():
    numbers = range(12)
    script = (
        "from elastic.testing.properties import digest, random_case\n"
        f"for n in {list(numbers)!r}: print(digest(random_case(n).run(0)))\n"
    )
    env = os.environ | {"PYTHONHASHSEED": "4242"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [digest(random_case(n).run(0)) for n in numbers]
