"""The exceptions of elastic, all under one root.

::

    ElasticError
    ├── ParameterError (also a ValueError)   a parameter has a value it cannot take
    │   └── PolicyError                      ... a parameter of a scaling policy
    ├── ManifestError                        a scenario manifest does not validate
    ├── ForecastError                        a forecaster cannot forecast (yet)
    ├── MetricsError                         a metric gives no replica count (no pods, no samples)
    ├── SimulationError                      the simulator reached an impossible state
    ├── AdapterError                         a real system refused or failed a call
    ├── CheckpointError                      a loop's saved state cannot be saved or restored
    └── ConformanceError (also an AssertionError)
                                             a policy or forecaster breaks its contract

Messages name the parameter, the value it had and what was expected, so that
the fix can be read off the message. Clamping a replica count is never an
exception: it is a :class:`elastic.Reason` in the :class:`elastic.Decision`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AdapterError",
    "CheckpointError",
    "ConformanceError",
    "ElasticError",
    "ForecastError",
    "ManifestError",
    "MetricsError",
    "ParameterError",
    "PolicyError",
    "SimulationError",
]


class ElasticError(Exception):
    """Root of every error raised by elastic."""


class ParameterError(ElasticError, ValueError):
    """A parameter has a value it cannot take.

    Parameters
    ----------
    name
        The parameter, as the user wrote it (``"steps[2]"``, ``"target"``).
    value
        The value it had.
    expected
        What it should have been, as a phrase (``"a number > 0"``).
    owner
        The class or function that took the parameter, for context.

    Examples
    --------
    >>> raise ParameterError("target", -1, "a number > 0", owner="TargetTracking")
    Traceback (most recent call last):
    ...
    elastic.errors.ParameterError: TargetTracking: target=-1 is invalid; expected a number > 0
    """

    def __init__(self, name: str, value: Any, expected: str, *, owner: str | None = None) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        self.owner = owner
        prefix = f"{owner}: " if owner else ""
        super().__init__(f"{prefix}{name}={value!r} is invalid; expected {expected}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_parameter_error,
            (type(self), self.name, self.value, self.expected, self.owner),
        )


def _rebuild_parameter_error(
    cls: type[ParameterError], name: str, value: Any, expected: str, owner: str | None
) -> ParameterError:
    return cls(name, value, expected, owner=owner)


class PolicyError(ParameterError):
    """A scaling policy was given a parameter it cannot work with."""


class ManifestError(ElasticError):
    """A scenario manifest does not validate."""


class ForecastError(ElasticError):
    """A forecaster cannot forecast: too little history, or data it cannot learn from."""


class MetricsError(ElasticError):
    """A metric cannot be turned into a replica count: no pods, no samples, a missing request."""


class SimulationError(ElasticError):
    """The simulator reached a state that should be impossible."""


class AdapterError(ElasticError):
    """A real system refused or failed a call made by an adapter."""


class CheckpointError(ElasticError):
    """A checkpoint of a loop's state cannot be written, read, or restored into this loop.

    The message says which: the file and the system's error, a checkpoint
    that is empty, damaged, truncated or of another format version, or a
    loop whose parameters differ from those of the loop that wrote it (and
    which ones).
    """


class ConformanceError(ElasticError, AssertionError):
    """A policy or a forecaster breaks the contract a check of :mod:`elastic.checks` tests.

    Also an :class:`AssertionError`, so a failed check fails a test like an
    ``assert`` does (and is still raised under ``python -O``).

    Parameters
    ----------
    owner
        The class that broke the contract, by name.
    problem
        What it did, naming the method, the attribute or parameter and the
        values (``"recommend() changed the policy's state: ..."``).
    expected
        What the contract asks instead, as a phrase.

    Examples
    --------
    >>> raise ConformanceError("Counter", "recommend() changed attribute calls_ from 0 to 1",
    ...                        "recommend() to only read")
    Traceback (most recent call last):
    ...
    elastic.errors.ConformanceError: Counter: recommend() changed attribute calls_ from 0 to 1;
    expected recommend() to only read
    """

    def __init__(self, owner: str, problem: str, expected: str) -> None:
        self.owner = owner
        self.problem = problem
        self.expected = expected
        super().__init__(f"{owner}: {problem}; expected {expected}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.owner, self.problem, self.expected))
