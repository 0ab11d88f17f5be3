"""Fuzzing manifests, trace files and command lines: every outcome is a success or a precise
error (an ElasticError, or exit status 1 with one message), never another exception, a
traceback or a hang (issue 15, "keep the classes closed"). Bounded: derandomized and a few
dozen small examples per property, so the suite adds seconds to the default run."""

import contextlib
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from elastic.cli import main
from elastic.errors import ElasticError
from elastic.scenario import Problem, ProblemList, build, load
from elastic.sim import TraceReplay
from tests.scenario.test_hostile_input import BASE

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [BASE] + [
    p.read_text()
    for folder in (ROOT / "examples" / "origin", ROOT / "tests" / "scenario" / "origin")
    for p in sorted(folder.glob("*.yaml"))
]
HOSTILE = ["yes", "-1", "1e400", "'1e1000000'", "''", "null", "[]", "{}", "'$(id)'", "1e-9",
           ".nan", "-.inf", "&a [*a]", "*nope", "{poisson: 5}", "x" * 40, "0", "2.5",
           "[[[[[[]]]]]]", "'250x'", "~", "!!binary aGk="]  # fmt: skip
BOUNDED = settings(
    max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


@st.composite
def mutated_manifest(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "drop", "copy", "indent", "bytes"]))
        line = lines[at]
        if action == "value" and ":" in line:
            lines[at] = line[: line.index(":") + 1] + " " + draw(st.sampled_from(HOSTILE))
        elif action == "drop":
            del lines[at]
        elif action == "copy":
            lines.insert(at, line)
        elif action == "indent":
            lines[at] = "  " + line
        else:
            junk = draw(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=4))
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + junk + line[cut:]
    return "\n".join(lines) + "\n"


@BOUNDED
@given(text=mutated_manifest())
def test_a_mutated_manifest_loads_to_problems_or_builds(text):
    manifests = load(text, base=ROOT / "examples" / "origin")
    assert all(isinstance(p, Problem) and p.line >= 1 and p.message for p in manifests.problems)
    if not manifests.problems:
        for name in manifests.scenarios():
            try:
                build(manifests, name)
            except ProblemList as error:  # pragma: no cover - load builds everything already
                raise AssertionError(f"validated but did not build: {error}") from None


TRACE = "time_s,requests\n0,5\n60,7\n120,0\n180,12\n"


@BOUNDED
@given(
    cut=st.integers(0, len(TRACE)),
    junk=st.binary(max_size=6),
    gz=st.booleans(),
)
def test_a_mutated_trace_file_reads_or_is_a_file_error(tmp_path_factory, cut, junk, gz):
    folder = tmp_path_factory.mktemp("trace")
    data = TRACE.encode()[:cut] + junk + TRACE.encode()[cut:]
    path = folder / ("t.csv.gz" if gz else "t.csv")
    path.write_bytes(data)  # a .gz that is not gzip must be a precise error too
    try:
        trace = TraceReplay.from_csv(path)
    except ElasticError as error:
        assert str(path) in str(error)
    else:
        assert (trace.counts >= 0).all()


TOKENS = ["validate", "run", "compare", "--seed", "-1", "7", "x", "--seeds", "0", "2",
          "--fidelity", "fluid", "request", "--policy", "p", "nope", "--scenario", "s",
          "--json", "--csv", "--allow-outside", "--serial", "/nonexistent/out.json", "--",
          "-", ""]  # fmt: skip


@settings(BOUNDED, max_examples=30)
@given(command=st.sampled_from(["validate", "run", "compare"]),
       rest=st.lists(st.sampled_from(TOKENS), max_size=6))  # fmt: skip
def test_a_random_command_line_exits_0_or_1_with_a_message(tmp_path_factory, command, rest):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "s.yaml").write_text(BASE)
    argv = [command, str(folder / "s.yaml"), *rest]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(argv)
    assert status in (0, 1), argv
    assert "Traceback" not in err.getvalue()
    if status == 1:
        assert "error" in err.getvalue() or "FAILED" in err.getvalue(), argv
