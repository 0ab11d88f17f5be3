"""The decision log: one JSON object a line for every step of a controller."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import IO, Any

from elastic.control.step import StepRecord
from elastic.errors import ParameterError

__all__ = ["DecisionLog", "record_json"]


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: they are written as null."""
    return value if value is None or math.isfinite(value) else None


def record_json(record: StepRecord) -> dict[str, Any]:
    """``record`` as a JSON-ready dict: what was seen, what each stage made of it, what was done.

    Examples
    --------
    >>> from elastic import DecisionLoop, Observation
    >>> from elastic.policies import TargetTracking
    >>> loop = DecisionLoop(TargetTracking("cpu", 50.0), min_replicas=1, max_replicas=10)
    >>> obs = Observation(60.0, 2, {"cpu": 100.0})
    >>> record = StepRecord(0, 60.0, obs, {}, loop.propose(obs), 4, 1, None, 0.002)
    >>> line = record_json(record)
    >>> line["desired"], line["applied"], [s["reason"] for s in line["stages"]]
    (4, 4, ['target_tracking', 'unchanged', 'unchanged', 'unchanged', 'unchanged'])
    """
    obs, decision = record.observation, record.decision
    return {
        "time": record.time,
        "tick": record.tick,
        "observation": None
        if obs is None
        else {
            "replicas": obs.replicas,
            "ready": obs.ready,
            "pending": obs.pending,
            "warming": obs.warming,
            "terminating": obs.terminating,
            "metrics": {name: _number(value) for name, value in obs.metrics.items()},
        },
        "missing": dict(record.missing),
        "recommendations": []
        if decision is None
        else [
            {"replicas": r.replicas, "reason": r.reason.value, "detail": r.detail}
            for r in decision.recommendations
        ],
        "stages": []
        if decision is None
        else [
            {"stage": s.name, "replicas": s.replicas, "reason": s.reason.value, "detail": s.detail}
            for s in decision.stages
        ],
        "desired": None if decision is None else decision.replicas,
        "reason": None if decision is None else decision.reason.value,
        "applied": record.applied,
        "attempts": record.attempts,
        "error": record.error,
        "duration": record.duration,
        "shadow": {
            name: {"replicas": step.replicas, "desired": step.desired, "reason": step.reason.value}
            for name, step in record.shadow.items()
        },
    }


class DecisionLog:
    """Appends each step as one JSON line to ``target`` (a path, or an open text stream).

    Each line is flushed as it is written, so a controller killed at any
    moment leaves whole lines behind (at most the last is cut short).

    Examples
    --------
    >>> import io, json
    >>> stream = io.StringIO()
    >>> DecisionLog(stream).write(StepRecord(3, 45.0, None, {"cpu": "no series"}, None, None, 0,
    ...                                      "the source raised", 0.01))
    >>> json.loads(stream.getvalue())["missing"]
    {'cpu': 'no series'}
    """

    def __init__(self, target: str | Path | IO[str]) -> None:
        self.target = target
        if isinstance(target, str | Path):
            try:
                self._stream: IO[str] = Path(target).open("a+", encoding="utf-8")  # noqa: SIM115
                if self._stream.tell():  # a line cut short by a crash stays apart from the next
                    self._stream.seek(self._stream.tell() - 1)
                    if self._stream.read(1) != "\n":
                        self._stream.write("\n")
            except OSError as error:
                raise ParameterError(
                    "log", str(target), f"a file that can be appended to ({error.strerror})",
                    owner="DecisionLog",
                ) from None  # fmt: skip
            self._owned = True
        else:
            self._stream = target
            self._owned = False

    def write(self, record: StepRecord) -> None:
        if self._stream.closed:
            raise ParameterError(
                "log", str(self.target), "a log not yet closed", owner="DecisionLog"
            )
        self._stream.write(json.dumps(record_json(record), allow_nan=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Close the file this log opened (a stream given to it is left open)."""
        if self._owned:
            self._stream.close()

    def __repr__(self) -> str:
        return f"DecisionLog({self.target!r})"
