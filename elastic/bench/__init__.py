"""Layer 3: benchmarking policies across scenarios and seeds, on any executor."""

from elastic.bench.compare import Comparison, Failure, SerialExecutor, compare
from elastic.bench.stats import mean_ci

__all__ = ["Comparison", "Failure", "SerialExecutor", "compare", "mean_ci"]
