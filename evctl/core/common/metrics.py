"""The one CloudWatch metrics reader: many metrics over one window in GetMetricData calls of 500 queries.

    series = fetch_series(cloudwatch, [("AWS/SQS", "NumberOfMessagesSent", {"QueueName": "q"}, "Sum")],
                          end_s=1_700_000_040, seconds=3600)
    series[series_key(query)]     # [(period start, epoch s; value), ...]: [] where CloudWatch has no datapoint

The period grows with the window (at most 1440 points a query, never under a minute). A value of None, which AWS
never sends (moto answers a percentile it does not compute with nulls), is dropped with its timestamp.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

Query = tuple[str, str, dict[str, str], str]  # namespace, metric name, dimensions, statistic (Sum, Maximum, p95)
Key = tuple[str, str, tuple[tuple[str, str], ...], str]
Series = dict[Key, list[tuple[float, float]]]  # (period start, epoch seconds; value)

MAX_QUERIES = 500  # per GetMetricData call
MAX_POINTS = 1440  # per query: the period grows with the window


def series_key(query: Query) -> Key:
    namespace, name, dimensions, statistic = query
    return namespace, name, tuple(sorted(dimensions.items())), statistic


def calls_for(queries: int) -> int:
    """GetMetricData calls (without pages) that reading this many queries takes."""
    return -(-queries // MAX_QUERIES)


def fetch_series(
    cloudwatch: CloudWatchClient, queries: list[Query], *, end_s: int, seconds: int, period: int | None = None
) -> Series:
    """The datapoints of `queries` over [end_s - seconds, end_s], per `period` seconds (default: the shortest
    whole minute that keeps a query under 1440 points). AWS errors go up to the caller."""
    period = period or max(60, -(-seconds // MAX_POINTS // 60) * 60)
    end = dt.datetime.fromtimestamp(end_s, dt.UTC)
    series: Series = {series_key(q): [] for q in queries}
    for first in range(0, len(queries), MAX_QUERIES):
        chunk = queries[first : first + MAX_QUERIES]
        params: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": f"m{i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": namespace,
                            "MetricName": name,
                            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                        },
                        "Period": period,
                        "Stat": statistic,
                    },
                    "ReturnData": True,
                }
                for i, (namespace, name, dimensions, statistic) in enumerate(chunk)
            ],
            "StartTime": end - dt.timedelta(seconds=seconds),
            "EndTime": end,
        }
        while True:
            answer = cloudwatch.get_metric_data(**params)
            for result in answer.get("MetricDataResults") or []:
                points = series[series_key(chunk[int(str(result.get("Id"))[1:])])]
                for stamp, value in zip(result.get("Timestamps") or [], result.get("Values") or [], strict=False):
                    if value is not None:
                        points.append((stamp.timestamp(), float(value)))
            token = answer.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
    return series
