"""StartLiveTail: new events as CloudWatch Logs streams them (at most 10 groups, sampled above 500 events/s).

    stream = start_live_tail(logs_client, sources, filter_pattern="ERROR")   # or LiveTailUnavailable: poll instead
    for event in live_events(stream, sources, end_ms=None, on_notice=warn):
        ...

Live tail needs each group's ARN; without one, or when the API is missing or denied, polling is used instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evctl.core.logs.event import Clock, LogEvent, LogSource, Notify, event_from_raw, ignore_notice
from evctl.errors import UsageError, error_code, from_aws

if TYPE_CHECKING:
    from botocore.eventstream import EventStream
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_logs.type_defs import StartLiveTailRequestTypeDef, StartLiveTailResponseStreamTypeDef

__all__ = ["LIVE_MAX_GROUPS", "LiveTailUnavailable", "check_live_targets", "live_events", "start_live_tail"]

LIVE_MAX_GROUPS = 10
_LIVE_UNAVAILABLE_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "NotImplemented",
    "InvalidAction",
}


def check_live_targets(targets: Sequence[str]) -> None:
    """Before any call: --live cannot take more than 10 groups."""
    if len(set(targets)) > LIVE_MAX_GROUPS:
        raise UsageError(
            f"--live takes at most {LIVE_MAX_GROUPS} log groups ({len(set(targets))} given)", "use --follow instead"
        )


class LiveTailUnavailable(Exception):
    """StartLiveTail cannot be used here (API missing, denied, or a group without an ARN)."""


def start_live_tail(
    logs_client: CloudWatchLogsClient,
    sources: Sequence[LogSource],
    *,
    filter_pattern: str | None = None,
    stream_prefixes: Sequence[str] = (),
) -> EventStream[StartLiveTailResponseStreamTypeDef]:
    """Open a StartLiveTail session; raises LiveTailUnavailable when polling must be used instead."""
    if len(sources) > LIVE_MAX_GROUPS:
        raise UsageError(f"--live takes at most {LIVE_MAX_GROUPS} log groups ({len(sources)} given)", "use --follow")
    missing = [s.group for s in sources if not s.arn]
    if missing:
        raise LiveTailUnavailable(f"no ARN known for {', '.join(missing)}")
    params: StartLiveTailRequestTypeDef = {"logGroupIdentifiers": [s.arn for s in sources if s.arn]}
    if filter_pattern:
        params["logEventFilterPattern"] = filter_pattern
    if len(sources) == 1 and stream_prefixes:
        params["logStreamNamePrefixes"] = list(stream_prefixes)
    if not hasattr(logs_client, "start_live_tail"):
        raise LiveTailUnavailable("this botocore has no StartLiveTail")
    try:
        return logs_client.start_live_tail(**params)["responseStream"]
    except Exception as exc:
        from botocore.exceptions import EndpointConnectionError

        if isinstance(exc, EndpointConnectionError):
            # StartLiveTail goes to a "stream-" host: a local endpoint given through AWS_ENDPOINT_URL (not
            # --endpoint-url) gets that prefix and cannot be reached, while FilterLogEvents can.
            raise LiveTailUnavailable(f"could not reach {exc.kwargs.get('endpoint_url', 'its endpoint')}") from exc
        code = error_code(exc)
        status = int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _LIVE_UNAVAILABLE_CODES or status in (403, 404, 501):
            raise LiveTailUnavailable(f"{code or status}") from exc
        raise (from_aws(exc, "live tail") or exc) from exc


def live_events(
    stream: Iterable[Mapping[str, Any]],
    sources: Sequence[LogSource],
    *,
    end_ms: int | None = None,
    clock: Clock | None = None,
    on_notice: Notify | None = None,
    sample_notice_every: float = 60.0,
) -> Iterator[LogEvent]:
    """Events from an open live tail session, until it closes, `end_ms` passes, or the caller stops."""
    notify = on_notice or ignore_notice
    clock = clock or time.time
    by_arn = {s.arn: s for s in sources if s.arn}
    last_sample_notice = float("-inf")
    try:
        for item in stream:
            update = item.get("sessionUpdate")
            if not update:
                continue
            if (update.get("sessionMetadata") or {}).get("sampled") and clock() - last_sample_notice >= (
                sample_notice_every
            ):
                last_sample_notice = clock()
                notify("live tail is sampling: more than 500 events/s match, so AWS sends only some of them")
            for raw in update.get("sessionResults", []):
                identifier = str(raw.get("logGroupIdentifier", ""))
                source = by_arn.get(identifier.removesuffix(":*")) or _source_for(identifier, sources)
                yield event_from_raw(raw, source)
            if end_ms is not None and clock() * 1000 > end_ms:
                return
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _source_for(identifier: str, sources: Sequence[LogSource]) -> LogSource:
    name = identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    for source in sources:
        if source.group == name:
            return source
    return LogSource(label=name, group=name)
