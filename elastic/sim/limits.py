"""What one run may ask for, in one place.

A schema-valid scenario can still ask for a run that never ends: a control
interval of a nanosecond, a scrape every 0.1 microsecond, a duration of
1e300 seconds, a trace bucket of 1e300 requests. :class:`~elastic.sim.Scenario`
and the trace loaders refuse them with a message that names the limit, so
the Python API, the manifests and the command line are bounded alike.

Examples
--------
>>> from elastic.sim import Poisson, Scenario
>>> Scenario(Poisson(1.0), duration=600.0, control_interval=1e-9)
Traceback (most recent call last):
...
elastic.errors.ParameterError: Scenario: control_interval=1e-09 is invalid; expected at least
6e-05 s for a duration of 600 s: a run makes at most 10000000 control decisions ...
"""

from __future__ import annotations

__all__ = [
    "MAX_BUCKET_COUNT",
    "MAX_CONTROL_INTERVALS",
    "MAX_DURATION",
    "MAX_FLEET",
    "MAX_FLUID_TICKS",
    "MAX_SCRAPES",
    "MAX_WORKLOAD_CHANGES",
    "MIN_SERVICE",
]

#: Longest simulated duration, in seconds (10 years of 365 days).
MAX_DURATION = 10 * 365 * 86400.0
#: Most control intervals in one run (a year at a 15 s interval is 2.1 million).
MAX_CONTROL_INTERVALS = 10_000_000
#: Most metric scrapes in one run (``duration / metrics.resolution``).
MAX_SCRAPES = 10_000_000
#: Most requests in one bucket of a trace file.
MAX_BUCKET_COUNT = 10**9
#: Most replicas a simulated fleet may hold (initial replicas, and a loop's max_replicas):
#: each one is an object, a ledger entry and a name; a real fleet this size is rare.
MAX_FLEET = 100_000
#: Most ticks of one fluid run (ten years of one-second ticks; a month takes seconds).
MAX_FLUID_TICKS = 320_000_000
#: Most state changes of a workload in one run (an MMPP's switches, a noisy diurnal's
#: buckets: ``Workload.changes``).
MAX_WORKLOAD_CHANGES = 10_000_000
#: Shortest mean service time other than 0, in seconds (a nanosecond): the rates and
#: squared means the simulator works with stay within a float's range.
MIN_SERVICE = 1e-9
