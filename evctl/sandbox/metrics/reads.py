"""Two fixes to moto's CloudWatch reads in the sandbox process, so GetMetricData answers as CloudWatch does.

- Dimension order: moto matches a query's dimensions by comparing `sorted()` lists of its `Dimension` objects,
  whose `__lt__` compares a value with the other's name (moto 5.2.5: `self.name < other.name and self.value <
  other.name`). Two dimensions sort by accident, so a query for {RuleName, EventBusName} finds the datapoints of
  {EventBusName, RuleName} or not depending on the values. CloudWatch matches dimensions as a set; the fix orders
  them by (name, value).
- Percentiles: moto computes no extended statistic; a `p95` query made its GetMetricData fail with HTTP 500. With
  the fix, `pNN` (0 < NN <= 100, decimals allowed) is the nearest-rank percentile of the period's values: those
  the sandbox kept with each datapoint (store.py) and single values put with PutMetricData. A period with no such
  values (only statistic sets from PutMetricData) behaves as before.

Counted (patches.Patch): applied while a sandbox runs in this process.
"""

from __future__ import annotations

import importlib
import math
import re
from typing import Any

from evctl.sandbox.patches import Patch, Replacement

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def _less(self: Any, other: Any) -> bool:
    return (str(self.name), str(self.value or "")) < (str(other.name), str(other.value or ""))


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _with_percentiles(original: Any, single: Any) -> Any:
    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = PERCENTILE.match(stat)
        if match is None or not 0 < float(match.group(1)) <= 100:
            return original(self, stat)
        values: list[float] = []
        for datum in self.metric_data or []:
            if isinstance(datum, single):
                values.append(float(datum.value))
            else:
                values.extend(getattr(datum, "evctl_values", ()))
        if not values:
            return original(self, stat)
        return percentile(values, float(match.group(1)))

    return get_statistics_for_type


def _replacements() -> list[Replacement]:
    models: Any = importlib.import_module("moto.cloudwatch.models")
    statistics = models.Statistics
    original = statistics.__dict__["get_statistics_for_type"]
    return [
        (models.Dimension, "__lt__", _less),
        (statistics, "get_statistics_for_type", _with_percentiles(original, models.MetricDatum)),
    ]


PATCH = Patch("CloudWatch reads: dimension order, percentiles", _replacements)
install = PATCH.install
uninstall = PATCH.uninstall
