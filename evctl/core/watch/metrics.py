"""The watch's CloudWatch read: every metric of every hop in one GetMetricData call (500 queries a call), through
the one metrics reader (core.common.metrics), the last `seconds` per minute.

    minutes = read_minutes(cloudwatch, hops, end_s=1700000040, seconds=900)
    minutes[(hop.id, "matched")]     # {minute start (epoch s): value}; {} where CloudWatch has no datapoint
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evctl.core.common.metrics import Query, fetch_series, series_key

from .plan import Hop

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

__all__ = ["is_percentile", "read_minutes"]

Minutes = dict[tuple[str, str], dict[float, float | None]]


def is_percentile(query: Query) -> bool:
    return query[3].startswith("p")


def read_minutes(
    cloudwatch: CloudWatchClient, hops: list[Hop], *, end_s: int, seconds: int, percentiles: bool = True
) -> Minutes:
    """Every hop's metrics over [end_s - seconds, end_s], per minute (`percentiles` False: the p95 ones left out).
    AWS errors go up (the caller notes them)."""
    wanted: list[tuple[str, str, Query]] = [
        (hop.id, spec.name, spec.query)
        for hop in hops
        for spec in hop.metrics
        if percentiles or not is_percentile(spec.query)
    ]
    queries = list({series_key(query): query for _, _, query in wanted}.values())
    if not queries:
        return {}
    series = fetch_series(cloudwatch, queries, end_s=end_s, seconds=seconds)
    return {(hop_id, name): dict(series.get(series_key(query), [])) for hop_id, name, query in wanted}
