"""core.common.metrics: the one GetMetricData reader (chunks of 500 queries, pages, nulls dropped)."""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.stub import ANY, Stubber

from evctl.core.common.metrics import Query, calls_for, fetch_series, series_key

END = 1_700_000_040
T0 = dt.datetime.fromtimestamp(END - 120, dt.UTC)
T1 = dt.datetime.fromtimestamp(END - 60, dt.UTC)


def _queries(n: int) -> list[Query]:
    return [("AWS/SQS", "NumberOfMessagesSent", {"QueueName": f"q{i}"}, "Sum") for i in range(n)]


def test_queries_go_500_a_call_pages_are_followed_and_nulls_dropped() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    queries = _queries(501)
    with Stubber(cloudwatch) as stub:
        first = {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY}
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "m0", "Timestamps": [T0], "Values": [2.0]}], "NextToken": "t"},
            first,
        )
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "m499", "Timestamps": [T0, T1], "Values": [1.0, 4.0]}]},
            {**first, "NextToken": "t"},
        )
        stub.add_response("get_metric_data", {"MetricDataResults": [{"Id": "m0", "Timestamps": [], "Values": []}]}, first)
        series = fetch_series(cloudwatch, queries, end_s=END, seconds=3600)
        stub.assert_no_pending_responses()
    assert series[series_key(queries[0])] == [(T0.timestamp(), 2.0)]
    assert series[series_key(queries[499])] == [(T0.timestamp(), 1.0), (T1.timestamp(), 4.0)]
    assert series[series_key(queries[500])] == []
    assert series[series_key(queries[1])] == []
    assert calls_for(501) == 2 and calls_for(500) == 1 and calls_for(0) == 0


class _MotoPercentile:
    """moto answers a percentile it does not compute with null values (a shape AWS never sends: Stubber refuses it)."""

    def get_metric_data(self, **_: object) -> dict[str, object]:
        return {"MetricDataResults": [{"Id": "m0", "Timestamps": [T0, T1], "Values": [None, 3.0]}]}


def test_null_values_are_dropped_with_their_timestamps() -> None:
    [query] = _queries(1)
    series = fetch_series(_MotoPercentile(), [query], end_s=END, seconds=600)  # type: ignore[arg-type]
    assert series[series_key(query)] == [(T1.timestamp(), 3.0)]
