"""``elastic tune``: search a manifest's policy on its scenarios, print the best, export it.

The command line (:mod:`elastic.cli`) hands the subcommand to this module.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import yaml

from elastic.errors import ParameterError

__all__ = ["parse_param", "run"]

#: seconds to wait for a Dask scheduler to answer
DASK_TIMEOUT = 10.0

_RANGE = re.compile(r"^\s*([-+0-9.eE]+)\s*\.\.\s*([-+0-9.eE]+)\s*(:log)?\s*$")


def parse_param(text: str, default: Any) -> tuple[str, Any]:
    """``FIELD``, ``FIELD=LOW..HIGH[:log]`` or ``FIELD=a,b,c`` as a field and its parameter.

    ``default`` maps fields to their default parameters (for ``FIELD`` alone).
    Whole-number bounds make an :class:`~elastic.tune.Int`.

    Examples
    --------
    >>> parse_param("spec.warmup=0..300", {})
    ('spec.warmup', Int(low=0, high=300, log=False))
    >>> parse_param("spec.policies[0].target=40..80.5", {})
    ('spec.policies[0].target', Float(low=40.0, high=80.5, log=False))
    >>> parse_param("spec.combine=max,aws", {})
    ('spec.combine', Choice(options=('max', 'aws')))
    >>> parse_param("spec.warmup=0...", {})
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: elastic tune: --param='spec.warmup=0...' is invalid; expected ...
    """
    from elastic.tune import Choice, Float, Int

    expected = "FIELD, FIELD=LOW..HIGH (numbers, LOW <= HIGH; :log for a log scale) or FIELD=a,b,c"
    field, sep, rest = text.partition("=")
    field = field.strip()
    if not field:
        raise ParameterError("--param", text, expected, owner="elastic tune")
    if not sep:
        if field not in default:
            known = ", ".join(default) or "none"
            raise ParameterError(
                "--param", text,
                f"a field with a default range ({known}), or FIELD=LOW..HIGH", owner="elastic tune",
            )  # fmt: skip
        return field, default[field]
    match = _RANGE.match(rest)
    try:
        if match is not None:
            low, high, log = match.group(1), match.group(2), bool(match.group(3))
            if re.fullmatch(r"[-+]?\d+", low) and re.fullmatch(r"[-+]?\d+", high):
                return field, Int(int(low), int(high), log)
            return field, Float(float(low), float(high), log)
        if ".." in rest or any(not part.strip() for part in rest.split(",")):
            raise ValueError(rest)
        options = tuple(yaml.safe_load(part) for part in rest.split(","))
        return field, Choice(options)
    except (ValueError, yaml.YAMLError, ParameterError) as error:
        why = f" ({error})" if isinstance(error, ParameterError) else ""
        raise ParameterError("--param", text, expected + why, owner="elastic tune") from None


@contextmanager
def _executor(spec: str) -> Iterator[Executor]:
    from elastic.bench.compare import SerialExecutor

    if spec == "serial":
        yield SerialExecutor()
        return
    if spec.startswith("processes"):
        count = spec.partition(":")[2]
        if spec != "processes" and not (spec.startswith("processes:") and count.isdigit()
                                        and int(count) >= 1):  # fmt: skip
            raise ParameterError("--executor", spec, "processes or processes:N with N >= 1",
                                 owner="elastic tune")  # fmt: skip
        pool = ProcessPoolExecutor(max_workers=int(count) if count else os.cpu_count() or 1)
        try:
            yield pool
        finally:
            pool.shutdown()
        return
    if spec.startswith("dask://"):
        try:
            import distributed
        except ImportError:
            raise ParameterError("--executor", spec, "the dask extra installed (distributed)",
                                 owner="elastic tune") from None  # fmt: skip
        address = "tcp://" + spec.removeprefix("dask://")
        try:
            client = distributed.Client(address, timeout=f"{DASK_TIMEOUT}s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as error:
            raise ParameterError("--executor", spec, f"a Dask scheduler that answers ({error})",
                                 owner="elastic tune") from None  # fmt: skip
        try:
            yield client.get_executor()  # type: ignore[no-untyped-call]
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    raise ParameterError("--executor", spec, "serial, processes[:N] or dask://host:port",
                         owner="elastic tune")  # fmt: skip


def _ci(trial: Any, metric: str) -> str:
    mean = trial.values.get(metric, math.nan)
    half = trial.cis.get(metric, math.nan)
    if math.isfinite(half):
        return f"{mean:.6g} ± {half:.3g}  (95 % interval)"
    return f"{mean:.6g}  (one run: no interval)"


def _whole_percents(space: dict[str, Any]) -> dict[str, Any]:
    """The space with each real target searched in whole percents, as an HPA writes it."""
    from elastic.tune import Float, Int

    out = dict(space)
    for field, parameter in space.items():
        if field.endswith(".target") and isinstance(parameter, Float):
            low, high = math.ceil(parameter.low), math.floor(parameter.high)
            if low <= high:
                out[field] = Int(low, high, parameter.log, when=parameter.when)
                print(f"note: {field} searched in whole percents ({low}..{high}), as an HPA "
                      "holds them")  # fmt: skip
    return out


def _show(trial: Any, objectives: Sequence[str]) -> None:
    print(f"  trial {trial.number} ({trial.fidelity}, {trial.runs} runs)")
    for name, value in trial.params.items():
        print(f"    {name} = {value!r}")
    for metric in objectives:
        print(f"    {metric:18} {_ci(trial, metric)}")
    for rule, margin in trial.margins.items():
        print(f"    {rule:18} margin {margin:+.4g}")


def run(args: argparse.Namespace, writable: Callable[[str, str], None]) -> int:
    from elastic.scenario import build, load
    from elastic.tune import InfeasibleError, tune
    from elastic.tune.export import export
    from elastic.tune.template import ManifestPolicy

    for option in ("export", "csv"):
        if getattr(args, option):
            writable(getattr(args, option), f"--{option}")
    manifests = load(*args.paths, allow_outside=args.allow_outside)
    if manifests.problems:
        for problem in sorted(manifests.problems):
            print(f"error: {problem}", file=sys.stderr)
        return 1
    policy = ManifestPolicy(manifests, args.policy)
    default = policy.space()
    space = dict(parse_param(text, default) for text in args.param) if args.param else default
    space = policy.check(space)
    if args.export and args.export_format == "aws" and policy.kind != "ScalingPolicy":
        raise ParameterError(
            "--export-format", "aws",
            f"hpa, elastic or manifest: a {policy.kind} is no AWS scaling policy",
            owner="elastic tune",
        )  # fmt: skip
    if args.export and args.export_format == "hpa":
        space = _whole_percents(space)
    if args.export and args.export_format != "manifest":
        try:  # what the format cannot express is said now, not after the search
            export(policy.build({}), args.export_format, name=args.policy)
        except ParameterError as error:
            raise ParameterError(
                "--export-format",
                args.export_format,
                f"a format {policy.kind} {args.policy!r} can be written in ({error})",
                owner="elastic tune",
            ) from None
    names = args.scenario or [
        name for name in manifests.scenarios()
        if manifests.objects["Scenario"][name][1].spec.policy == args.policy
    ]  # fmt: skip
    if not names:
        raise ParameterError(
            "--scenario", "(none given)",
            f"the Scenario to tune on: none of the manifests' scenarios "
            f"({', '.join(manifests.scenarios()) or 'none'}) names policy {args.policy!r}",
            owner="elastic tune",
        )  # fmt: skip
    scenarios = {name: build(manifests, name).scenario for name in names}
    objectives = args.objective or ["cost"]
    print(f"tuning {policy.kind} {args.policy!r}: {len(space)} parameters, {args.trials} trials "
          f"x {len(scenarios)} scenarios x {args.seeds} seeds ({args.fidelity})")  # fmt: skip
    study_name = args.study_name or args.policy
    try:
        with _executor(args.executor) as pool:
            result = tune(
                policy.build, space, scenarios, args.seeds, objective=tuple(objectives),
                constraints=args.constraint, trials=args.trials, sampler=args.sampler,
                seed=args.seed, executor=pool, fidelity=args.fidelity, confirm=args.confirm,
                screen_duration=args.screen_duration, prune=not args.no_prune,
                batch=args.batch, progress=sys.stderr.isatty(), storage=args.storage,
                study_name=study_name,
            )  # fmt: skip
    except KeyboardInterrupt:
        kept = (f"the finished trials are kept in {args.storage} (study {study_name!r}): run the "
                "same command again to resume" if args.storage else
                "nothing was kept (--storage keeps the trials, to resume)")  # fmt: skip
        print(f"error: interrupted; {kept}", file=sys.stderr)
        return 130
    if args.sampler == "grid" and len(result.trials) < args.trials:
        print(f"the grid is exhausted: all {len(result.trials)} points were tried")
    if args.csv:
        result.to_csv(args.csv)
        print(f"trials written to {args.csv}")
    feasible = sum(t.feasible for t in result.trials)
    print(f"{len(result.trials)} trials, {feasible} feasible, {result.simulations} simulations")
    try:
        winners = result.front if len(objectives) > 1 else [result.best]
    except InfeasibleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not winners:
        print("error: no feasible trial on the Pareto front", file=sys.stderr)
        return 1
    print("Pareto front:" if len(objectives) > 1 else "best:")
    shown = list(dict.fromkeys([*objectives, *(c.partition(">")[0].partition("<")[0].strip()
                                               for c in args.constraint)]))  # fmt: skip
    for trial in winners:
        _show(trial, shown)
    if args.export:
        best = winners[0]
        params = dict(best.params)
        if args.export_format == "manifest":
            text = policy.text(params)
            with open(args.export, "w", encoding="utf-8") as file:
                file.write(text)
        else:
            export(policy.build(params), args.export_format, args.export, name=args.policy)
        print(f"trial {best.number} written to {args.export} ({args.export_format})")
    return 0
