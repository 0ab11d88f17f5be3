"""Layer 1: pay-per-use cost accounting (billing models so far)."""

from elastic.cost.billing import (
    fargate,
    hourly,
    lambda_request,
    money,
    per_second,
    provisioned_concurrency,
    spot,
)

__all__ = [
    "fargate",
    "hourly",
    "lambda_request",
    "money",
    "per_second",
    "provisioned_concurrency",
    "spot",
]
