"""Layer 2: evaluation. Plain functions over numpy arrays: SLO, elasticity, scaling, demand."""

from elastic.evaluate.demand import demand_replicas, offered_rate
from elastic.evaluate.elasticity import (
    SPEEDUP_METRICS,
    elastic_speedup,
    instability,
    jitter,
    tau_o,
    tau_u,
    theta_o,
    theta_u,
)
from elastic.evaluate.scaling import scaling_actions, time_to_scale_out
from elastic.evaluate.slo import (
    attainment,
    latency_percentiles,
    seconds_in_violation,
    slo_attainment,
)

__all__ = [
    "SPEEDUP_METRICS",
    "attainment",
    "demand_replicas",
    "elastic_speedup",
    "instability",
    "jitter",
    "latency_percentiles",
    "offered_rate",
    "scaling_actions",
    "seconds_in_violation",
    "slo_attainment",
    "tau_o",
    "tau_u",
    "theta_o",
    "theta_u",
    "time_to_scale_out",
]
