"""StartLiveTail: new events as CloudWatch Logs streams them (at most 10 groups, sampled above 500 events/s).

    stream = start_live_tail(logs_client, sources, filter_pattern="ERROR")   # or LiveTailUnavailable: poll instead
    for event in live_events(stream, sources, end_ms=None, on_notice=warn):
        ...

Live tail needs each group's ARN; without one, or when the API is missing or denied, polling is used instead.
An endpoint that answers StartLiveTail without serving it (moto resolves every group to the last one and replays
old events, then ends the stream) is detected: a session for other groups than asked, events of a group not asked
for, or from before the session (`since_ms`, less LIVE_TOLERANCE_MS), raise LiveTailUnavailable before any of
them is shown, and the caller polls instead.
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

__all__ = [
    "LIVE_MAX_GROUPS",
    "LIVE_TOLERANCE_MS",
    "LiveTailUnavailable",
    "check_live_targets",
    "is_unsupported",
    "live_events",
    "start_live_tail",
]

LIVE_MAX_GROUPS = 10
LIVE_TOLERANCE_MS = 5 * 60 * 1000  # a live event logged this long before the session began is still believable
_LIVE_UNAVAILABLE_CODES = {
    "AccessDeniedException",
    "AccessDenied",
    "UnknownOperationException",
    "UnrecognizedClientException",
    "NotImplemented",
    "NotImplementedException",
    "InvalidAction",
    "InvalidOperation",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "OperationNotSupportedException",
}
_UNSUPPORTED_WORDS = ("not implemented", "not yet implemented", "not supported", "unsupported operation")


def is_unsupported(exc: BaseException) -> bool:
    """An error that says StartLiveTail is not served here (missing, denied, not implemented): poll instead."""
    code = error_code(exc)
    response = getattr(exc, "response", None) or {}
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = str(response.get("Error", {}).get("Message") or exc).lower()
    return code in _LIVE_UNAVAILABLE_CODES or status in (403, 404, 501) or any(w in message for w in _UNSUPPORTED_WORDS)


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
        if is_unsupported(exc):
            status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise LiveTailUnavailable(f"{error_code(exc) or status or exc}") from exc
        raise (from_aws(exc, "live tail") or exc) from exc


def live_events(
    stream: Iterable[Mapping[str, Any]],
    sources: Sequence[LogSource],
    *,
    end_ms: int | None = None,
    clock: Clock | None = None,
    on_notice: Notify | None = None,
    sample_notice_every: float = 60.0,
    since_ms: int | None = None,
) -> Iterator[LogEvent]:
    """Events from an open live tail session, until it closes, `end_ms` passes, or the caller stops.

    LiveTailUnavailable, before any event of the offending answer is yielded, when the session is for other
    groups than `sources`, or sends events of another group or (with `since_ms`, the session's start) from before
    the session: the endpoint does not serve live tail, whatever it answers."""
    notify = on_notice or ignore_notice
    clock = clock or time.time
    by_arn = {s.arn: s for s in sources if s.arn}
    by_group = {s.group: s for s in sources}
    last_sample_notice = float("-inf")
    try:
        for item in stream:
            start = item.get("sessionStart")
            if start and start.get("logGroupIdentifiers"):
                echoed = {_group_name(str(i)) for i in start["logGroupIdentifiers"]}
                if echoed != set(by_group):
                    raise LiveTailUnavailable(
                        f"the endpoint opened a session for {', '.join(sorted(echoed))}, not the log groups asked for"
                    )
            update = item.get("sessionUpdate")
            if not update:
                continue
            if (update.get("sessionMetadata") or {}).get("sampled") and clock() - last_sample_notice >= (
                sample_notice_every
            ):
                last_sample_notice = clock()
                notify("live tail is sampling: more than 500 events/s match, so AWS sends only some of them")
            events = []
            for raw in update.get("sessionResults", []):
                identifier = str(raw.get("logGroupIdentifier", ""))
                source = by_arn.get(identifier.removesuffix(":*")) or by_group.get(_group_name(identifier))
                if source is None:
                    raise LiveTailUnavailable(f"the endpoint sent events of {_group_name(identifier)}, not asked for")
                event = event_from_raw(raw, source)
                if since_ms is not None and event["timestamp"] < since_ms - LIVE_TOLERANCE_MS:
                    raise LiveTailUnavailable("the endpoint sent events from before the session began")
                events.append(event)
            yield from events
            if end_ms is not None and clock() * 1000 > end_ms:
                return
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


def _group_name(identifier: str) -> str:
    """A log group's name from its ARN (with or without `:*`) or its name."""
    return identifier.split(":log-group:", 1)[-1].removesuffix(":*")
