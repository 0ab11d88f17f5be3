"""Layer 1: pay-per-use cost accounting.

Tariffs price the lifecycle of a billable unit (or a request) by the
provider's rule; the price catalog builds them from dated list prices; the
ledger records a run's lifecycles and requests and bills them exactly,
itemized by unit, by type and by time.
"""

from elastic.cost.billing import (
    fargate,
    hourly,
    lambda_request,
    per_second,
    provisioned_concurrency,
    spot,
)
from elastic.cost.catalog import (
    Catalog,
    FargatePrices,
    InstanceType,
    LambdaPrices,
    default_catalog,
    load_catalog,
)
from elastic.cost.ledger import CostObserver, Ledger, Lifecycle
from elastic.cost.money import money
from elastic.cost.tariffs import (
    Fargate,
    Hourly,
    LambdaRequests,
    PerSecond,
    ProvisionedConcurrency,
    QuantityTariff,
    Spot,
    Tariff,
)

__all__ = [
    "Catalog",
    "CostObserver",
    "Fargate",
    "FargatePrices",
    "Hourly",
    "InstanceType",
    "LambdaPrices",
    "LambdaRequests",
    "Ledger",
    "Lifecycle",
    "PerSecond",
    "ProvisionedConcurrency",
    "QuantityTariff",
    "Spot",
    "Tariff",
    "default_catalog",
    "fargate",
    "hourly",
    "lambda_request",
    "load_catalog",
    "money",
    "per_second",
    "provisioned_concurrency",
    "spot",
]
