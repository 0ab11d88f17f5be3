"""Layer 3: benchmarking policies across scenarios and seeds, on any executor."""

from elastic.bench.compare import Comparison, Failure, SerialExecutor, compare
from elastic.bench.stats import format_ci, mean_ci, t_quantile

__all__ = [
    "Comparison",
    "Failure",
    "SerialExecutor",
    "compare",
    "format_ci",
    "mean_ci",
    "t_quantile",
]
