"""Tuning: the cheapest policy that meets the SLO, searched by Optuna over simulations (layer 3).

Needs the ``tune`` extra (Optuna).
"""

from elastic.tune.constraint import Constraint
from elastic.tune.results import InfeasibleError, Trial, Tuning
from elastic.tune.space import Choice, Float, Int, Parameter, check_space
from elastic.tune.study import Candidate, tune

__all__ = [
    "Candidate",
    "Choice",
    "Constraint",
    "Float",
    "InfeasibleError",
    "Int",
    "Parameter",
    "Trial",
    "Tuning",
    "check_space",
    "tune",
]
