"""check_policy says what is wrong in words: each broken rule of the policy contract gets its
own sentence, naming the class, the method, the attribute or parameter, and the values.

Each policy below breaks one rule and is otherwise fine; the tests pin the whole message.
"""

import itertools
import math
import pickle
import re

import pytest

from elastic import ConformanceError, ElasticError, Reason, Recommendation
from elastic.checks import check_forecast_is_pure, check_policy
from elastic.forecast import LastValue
from elastic.policies import BasePolicy, TargetTracking


class QueuePerReplica(BasePolicy):
    """A correct policy: enough replicas for `per_replica` queued items each."""

    def __init__(self, metric: str = "queue", per_replica: float = 10.0) -> None:
        self.metric = metric
        self.per_replica = per_replica

    def recommend(self, obs):
        queue = obs.metric(self.metric)
        if queue is None:
            return Recommendation(None, Reason.NO_DATA)
        return Recommendation(math.ceil(queue / self.per_replica), Reason.TARGET_TRACKING)


class SmoothsInRecommend(QueuePerReplica):
    """Learns a rate in recommend instead of observe."""

    def __init__(self, metric: str = "queue", per_replica: float = 10.0) -> None:
        super().__init__(metric, per_replica)
        self.rate_ = 0.0

    def recommend(self, obs):
        self.rate_ = self.rate_ + 1.0
        return super().recommend(obs)


class Percent(QueuePerReplica):
    """Converts a parameter in __init__: its clone converts it again."""

    def __init__(self, metric: str = "queue", per_replica: float = 10.0) -> None:
        super().__init__(metric, per_replica / 100)


class Renames(BasePolicy):
    """Stores its parameter under another name."""

    def __init__(self, per_replica: float = 10.0) -> None:
        self.size_ = per_replica

    def recommend(self, obs):
        return Recommendation(obs.replicas, Reason.HOLD)


class Duck:
    """A duck-typed policy (no BasePolicy) with a useful repr: it passes every check."""

    def __init__(self, metric: str = "queue", per_replica: float = 10.0) -> None:
        self.metric = metric
        self.per_replica = per_replica

    def observe(self, obs):
        pass

    def recommend(self, obs):
        return QueuePerReplica(self.metric, self.per_replica).recommend(obs)

    def __repr__(self):
        return f"Duck(metric={self.metric!r}, per_replica={self.per_replica!r})"


class DuckWithoutRepr(Duck):
    __repr__ = object.__repr__


class Forgetful(Duck):
    """Copies itself by hand and forgets a parameter."""

    def __deepcopy__(self, memo):
        return type(self)(self.metric)


TICKS = itertools.count()


def wall_clock() -> float:
    """Stands for time.time(): a value that moves on every read."""
    return float(next(TICKS))


class ReadsTheClock(QueuePerReplica):
    def recommend(self, obs):
        return Recommendation(int(wall_clock()) % 2 + 1, Reason.TARGET_TRACKING)


SHARED = {"observed": 0}


class SharesState(QueuePerReplica):
    """Keeps its learning in a module-level dict: clones see each other's observations."""

    def observe(self, obs):
        SHARED["observed"] += 1

    def recommend(self, obs):
        return Recommendation(SHARED["observed"], Reason.TARGET_TRACKING)


class CountsObservations(QueuePerReplica):
    """Counts every observation, a repeated time included."""

    def __init__(self, metric: str = "queue", per_replica: float = 10.0) -> None:
        super().__init__(metric, per_replica)
        self.seen_ = 0

    def observe(self, obs):
        self.seen_ += 1


class NeedsItsMetric(QueuePerReplica):
    def recommend(self, obs):
        return Recommendation(math.ceil(obs.metrics[self.metric] / 10), Reason.TARGET_TRACKING)


class ReturnsACount(QueuePerReplica):
    def recommend(self, obs):
        return 3


class Negative(QueuePerReplica):
    def recommend(self, obs):
        return Recommendation(-1, Reason.TARGET_TRACKING)


def double(x):
    return 2 * x


class HoldsALambda(QueuePerReplica):
    def __init__(self, metric: str = "queue", scale=double) -> None:
        super().__init__(metric)
        self.scale = scale


class ForgetsOnPickle(CountsObservations):
    """Learns a peak and leaves it out of its pickle."""

    def __init__(self, metric: str = "queue", per_replica: float = 10.0) -> None:
        super().__init__(metric, per_replica)
        self.peak_ = 0.0
        self.t_ = -math.inf

    def observe(self, obs):
        if obs.time > self.t_:
            self.t_ = obs.time
            self.peak_ = max(self.peak_, obs.metric(self.metric) or 0.0)

    def recommend(self, obs):
        return Recommendation(math.ceil(self.peak_ / self.per_replica), Reason.TARGET_TRACKING)

    def __getstate__(self):
        return {**vars(self), "peak_": 0.0}


VERBATIM = (
    "expected each __init__ argument stored as given in an attribute of the same name "
    "(validate it, don't convert it; derive values where they are used, or in attributes "
    "ending with _)"
)
PURE = (
    "expected the same answer to the same inputs: a policy depends only on its parameters, "
    "what observe() learned and the observation (no clock, I/O, global randomness or state "
    "shared between instances)"
)

BROKEN = [
    pytest.param(
        SmoothsInRecommend(),
        "SmoothsInRecommend: recommend() changed the policy's state at t=0: attribute rate_ "
        "went from 0.0 to 1.0; expected recommend() to only read: observe() is the only "
        "method that may change a policy",
        id="recommend-mutates",
    ),
    pytest.param(
        Percent(per_replica=20.0),
        "Percent: __init__ does not store its parameters as given: built with "
        f"per_replica=0.2 it stores per_replica=0.002; {VERBATIM}",
        id="init-converts-a-parameter",
    ),
    pytest.param(
        Renames(),
        "Renames: __init__ takes the parameter per_replica but stores no attribute "
        f"per_replica; {VERBATIM}",
        id="parameter-stored-under-another-name",
    ),
    pytest.param(
        Forgetful(per_replica=25.0),
        f"Forgetful: clone() changed a parameter: per_replica went from 25.0 to 10.0; {VERBATIM}",
        id="clone-loses-a-parameter",
    ),
    pytest.param(
        ReadsTheClock(),
        "ReadsTheClock: recommend() gave two different answers to the same observation at "
        "t=0 (replicas=1, metrics={'queue': 0.5395734275277406}): replicas=1 then replicas=2; "
        f"{PURE}",
        id="reads-a-clock",
    ),
    pytest.param(
        SharesState(),
        "SharesState: is not deterministic: two clones fed the same observations recommend "
        "replicas=... then replicas=... at t=0 (replicas=2, metrics={'queue': "
        "1.9009273926518706, 'cpu': 113.83793365646926}), observation 1 of 80; "
        f"{PURE}",
        id="state-shared-between-instances",
    ),
    pytest.param(
        CountsObservations(),
        "CountsObservations: observe() learned from a time it had already seen: observing "
        "t=0 a second time, attribute seen_ went from 1 to 2; expected an observation at or "
        "before the last time observed to teach nothing (a retried step, or two loops sharing "
        "the policy, observe a time again)",
        id="learns-from-a-repeated-time",
    ),
    pytest.param(
        NeedsItsMetric(),
        "NeedsItsMetric: recommend() raised KeyError: 'queue' at t=45 (replicas=3, "
        "metrics={'cpu': 21.078674472307082}); expected observe() and recommend() to answer "
        "every observation, missing metrics included (a policy with no data abstains: "
        "Recommendation(None, ...))",
        id="fails-on-a-missing-metric",
    ),
    pytest.param(
        ReturnsACount(),
        "ReturnsACount: recommend() returned 3 at t=0; expected an elastic.Recommendation",
        id="returns-a-number",
    ),
    pytest.param(
        Negative(),
        "Negative: recommend() asked for replicas=-1 at t=0; "
        "expected None (to abstain) or an int >= 0",
        id="negative-count",
    ),
    pytest.param(
        HoldsALambda(scale=lambda x: x),
        "HoldsALambda: cannot be pickled: attribute scale holds the function <lambda>; "
        "expected a picklable object (parameters and state made of module-level classes and "
        "functions, no lambdas, locks or open files), so runs can go to worker processes",
        id="unpicklable-parameter",
    ),
    pytest.param(
        ForgetsOnPickle(per_replica=0.01),
        "ForgetsOnPickle: recommends differently after a pickle round trip: replicas=... "
        "then replicas=... (original, then unpickled) at t=... (replicas=..., metrics=...); "
        "expected a pickled policy to carry on where it stopped (every learned attribute "
        "pickled)",
        id="pickle-loses-learned-state",
    ),
    pytest.param(
        DuckWithoutRepr(),
        "DuckWithoutRepr: repr() gives '<tests.test_checks.DuckWithoutRepr object at 0x...>'; "
        "expected DuckWithoutRepr( followed by the parameters that differ from their defaults "
        "(elastic.policies.BasePolicy gives this repr)",
        id="no-useful-repr",
    ),
]


def _pattern(message: str) -> str:
    """The message as a regular expression where ``...`` stands for anything."""
    return "^" + ".*".join(re.escape(part) for part in message.split("...")) + "$"


@pytest.mark.parametrize(("policy", "message"), BROKEN)
def test_each_broken_rule_is_named_in_words(policy, message):
    SHARED["observed"] = 0
    with pytest.raises(ConformanceError) as raised:
        check_policy(policy)
    assert re.match(_pattern(message), str(raised.value), re.DOTALL), str(raised.value)


def test_a_check_failure_is_an_elastic_error_and_an_assertion_error():
    with pytest.raises(ConformanceError) as raised:
        check_policy(SmoothsInRecommend())
    error = raised.value
    assert isinstance(error, ElasticError) and isinstance(error, AssertionError)
    assert (error.owner, error.problem.split(":")[0]) == (
        "SmoothsInRecommend",
        "recommend() changed the policy's state at t=0",
    )
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.owner == error.owner


def test_a_correct_policy_passes_duck_typed_or_not():
    check_policy(QueuePerReplica(per_replica=25.0))
    check_policy(Duck(per_replica=25.0))
    check_policy(TargetTracking("cpu", 60.0))


def test_check_policy_leaves_the_policy_as_it_was():
    policy = CountsObservations()
    with pytest.raises(ConformanceError):
        check_policy(policy)
    assert policy.seen_ == 0


class Leaky(LastValue):
    """Counts its forecasts: an impure forecast."""

    def _mean(self, horizon):
        self.calls_ = getattr(self, "calls_", 0) + 1
        return super()._mean(horizon)


def test_a_forecaster_that_changes_in_forecast_names_the_attribute():
    with pytest.raises(ConformanceError) as raised:
        check_forecast_is_pure(Leaky())
    assert str(raised.value) == (
        "Leaky: forecast() changed the forecaster's state: attribute calls_ went from 383 to 384; "
        "expected forecast() to only read: learn_one() is the only method that may change a "
        "forecaster"
    )
