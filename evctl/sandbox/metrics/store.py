"""The sink: minutes written straight into moto's CloudWatch backend in this process (no HTTP, no PutMetricData
validation), one datapoint per series and minute, updated in place while the minute lasts.

Why in place: moto's GetMetricData walks every stored datapoint for every query and period, so a datapoint per
event (or per flush) would make doctor's reads slow within minutes; one per series-minute is also exactly what
CloudWatch keeps at standard resolution. Each datapoint is moto's own MetricAggregatedDatum (StatisticValues), so
Sum, SampleCount, Average, Minimum and Maximum come out of moto's GetMetricData / GetMetricStatistics unchanged;
each also keeps the minute's values (`evctl_values`, at most emitter.MAX_VALUES) for percentiles (reads.py).

A `moto-api/reset` (`evctl sandbox reset`) gives the backend a new list: the datapoints this sink remembered are
gone with it, and the next minute written starts a new one.
"""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from typing import Any

from .emitter import MAX_VALUES, Minute, SeriesKey


class MotoCloudWatch:
    """Writes minutes into `moto.cloudwatch.models.cloudwatch_backends[account][region]` of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[tuple[str, str], _Written] = {}

    def write(self, minutes: list[tuple[SeriesKey, Minute]]) -> None:
        models: Any = importlib.import_module("moto.cloudwatch.models")
        with self._lock:
            for key, minute in minutes:
                store = models.cloudwatch_backends[key.account][key.region].metric_data
                written = self._written.get((key.account, key.region))
                if written is None or written.store is not store:  # new, or reset since
                    written = self._written[(key.account, key.region)] = _Written(store)
                slot = (key, minute.minute)
                datum = written.datums.get(slot)
                if datum is None:
                    datum = models.MetricAggregatedDatum(
                        namespace=key.namespace,
                        name=key.metric,
                        min_stat=minute.minimum,
                        max_stat=minute.maximum,
                        sample_count=minute.count,
                        sum_stat=minute.sum,
                        dimensions=[{"Name": name, "Value": value} for name, value in key.dimensions],
                        timestamp=_naive_utc(minute.first),
                        unit=key.unit,
                    )
                    datum.evctl_values = list(minute.values)  # read by reads.py for percentiles
                    written.datums[slot] = datum
                    if minute.fill:
                        written.fills.add(slot)
                    store.append(datum)
                elif minute.fill:
                    continue  # the minute exists already
                elif minute.replace or slot in written.fills:
                    written.fills.discard(slot)
                    datum.sum, datum.min, datum.max = minute.sum, minute.minimum, minute.maximum
                    datum.sample_count = minute.count
                    datum.evctl_values = list(minute.values)
                else:
                    datum.sum += minute.sum
                    datum.min = min(datum.min, minute.minimum)
                    datum.max = max(datum.max, minute.maximum)
                    datum.sample_count += minute.count
                    room = MAX_VALUES - len(datum.evctl_values)
                    if room > 0:
                        datum.evctl_values.extend(minute.values[:room])
                    stamp = _naive_utc(minute.first)
                    if stamp < datum.timestamp:
                        datum.timestamp = stamp


class _Written:
    """The datapoints this sink made in one backend's list (`store`), by series and minute."""

    def __init__(self, store: list[Any]) -> None:
        self.store = store
        self.datums: dict[tuple[SeriesKey, int], Any] = {}
        self.fills: set[tuple[SeriesKey, int]] = set()  # datapoints holding only a fill 0 so far


def _naive_utc(epoch: float) -> dt.datetime:
    """moto keeps metric timestamps as naive UTC datetimes (its utcnow()); an aware one would not compare."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)
