"""--live: StartLiveTail sessions, the sampling notice, the 10-group limit, and the fallback to polling."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from evctl.core.logs import LogSource, Tail, TailOptions, live_events
from evctl.core.logs.live import LIVE_TOLERANCE_MS, LiveTailUnavailable, check_live_targets
from evctl.errors import ExitCode, UsageError
from tests.core.test_logs_harness import FakeClock, moto_logs

__all__ = ["moto_logs"]

ARN = "arn:aws:logs:us-east-1:123456789012:log-group:"


def make_group(logs: Any, name: str, messages: list[str], ts: int) -> LogSource:
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    if messages:
        logs.put_log_events(
            logGroupName=name,
            logStreamName="s",
            logEvents=[{"timestamp": ts + i, "message": m} for i, m in enumerate(messages)],
        )
    return LogSource(label=name.rsplit("/", 1)[-1], group=name, arn=ARN + name)


def deny_live_tail(logs: Any, code: str = "AccessDeniedException") -> list[dict[str, Any]]:
    """Answers StartLiveTail with an error; returns the list of parameters it was called with."""
    calls: list[dict[str, Any]] = []

    def before_params(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    def before_call(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Error": {"Code": code, "Message": "not authorized to perform logs:StartLiveTail"}}
        return AWSResponse("https://logs.test", 400, {}, None), {**error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    logs.meta.events.register("before-parameter-build.cloudwatch-logs.StartLiveTail", before_params)
    logs.meta.events.register("before-call.cloudwatch-logs.StartLiveTail", before_call)
    return calls


def test_live_session_events_from_moto(moto_logs: Any) -> None:
    clock = FakeClock()
    # One group: moto 5.2 resolves every identifier of a multi-group session to its last group. moto replays the
    # group's events and ends the stream, which AWS never does: the tail goes on by polling (issue 11), and what
    # live already showed is not shown again.
    source = make_group(moto_logs, "/aws/lambda/a", ["a1", "a2"], clock.now_ms)
    notices: list[str] = []
    tail = Tail(
        moto_logs,
        [source],
        TailOptions(start_ms=0, end_ms=clock.now_ms + 2000, live=True),
        clock=clock,
        sleep=clock.sleep,
        on_notice=notices.append,
    )
    shown = list(tail)
    assert [(e["source"], e["group"], e["message"]) for e in shown] == [
        ("a", "/aws/lambda/a", "a1"),
        ("a", "/aws/lambda/a", "a2"),
    ]
    assert all(e["eventId"] is None and e["ingestionTime"] for e in shown)
    assert notices == [
        "live tail is unavailable (the endpoint ended the live tail session by itself); polling FilterLogEvents instead"
    ]


@pytest.mark.parametrize("asked", ["/aws/lambda/a", "/aws/lambda/b"])
def test_moto_live_tail_of_another_group_or_old_events_falls_back_to_polling(moto_logs: Any, asked: str) -> None:
    """moto answers a session for /aws/lambda/a with /aws/lambda/b's events (the last group), and replays old events
    of a group: none of them is shown; one note, then polling from the session's start (issue 11)."""
    clock = FakeClock()
    sources = {
        name: make_group(moto_logs, name, [f"old in {name}"], clock.now_ms - 3_600_000)
        for name in ("/aws/lambda/a", "/aws/lambda/b")
    }
    notices: list[str] = []
    options = TailOptions(start_ms=0, end_ms=clock.now_ms + 2000, live=True)

    def new_event() -> None:
        if clock.now_ms > options.end_ms - 1500 and not notices[1:]:
            moto_logs.put_log_events(
                logGroupName=asked, logStreamName="s", logEvents=[{"timestamp": clock.now_ms, "message": "new"}]
            )
            notices.append("(put)")

    clock.on_sleep.append(new_event)
    tail = Tail(moto_logs, [sources[asked]], options, clock=clock, sleep=clock.sleep, on_notice=notices.append)
    assert [(e["group"], e["message"]) for e in tail] == [(asked, "new")]
    assert len(notices) == 2 and notices[0].startswith("live tail is unavailable (the endpoint")
    assert notices[0].endswith("; polling FilterLogEvents instead")


def test_live_events_of_several_groups_are_labelled_by_their_group_arn() -> None:
    sources = [LogSource(label=n, group=f"/aws/lambda/{n}", arn=f"{ARN}/aws/lambda/{n}") for n in ("a", "b")]
    results = [
        {
            "logStreamName": "s",
            "logGroupIdentifier": f"{ARN}/aws/lambda/b",
            "message": "b1",
            "timestamp": 1,
            "ingestionTime": 2,
        },
        {
            "logStreamName": "s",
            "logGroupIdentifier": f"{ARN}/aws/lambda/a:*",
            "message": "a1",
            "timestamp": 2,
            "ingestionTime": 3,
        },
    ]
    foreign = {
        "logStreamName": "s",
        "logGroupIdentifier": f"{ARN}/aws/lambda/c",
        "message": "c1",
        "timestamp": 3,
        "ingestionTime": 4,
    }
    stream = [
        {"sessionStart": {"sessionId": "x"}},
        {"sessionUpdate": {"sessionMetadata": {"sampled": False}, "sessionResults": results}},
        {"sessionUpdate": {"sessionMetadata": {"sampled": False}, "sessionResults": [results[0], foreign]}},
    ]
    shown = []
    with pytest.raises(LiveTailUnavailable, match="events of /aws/lambda/c, not asked for"):
        shown.extend(live_events(stream, sources))
    assert [(e["source"], e["group"], e["message"]) for e in shown] == [  # nothing of the update holding c1
        ("b", "/aws/lambda/b", "b1"),
        ("a", "/aws/lambda/a", "a1"),
    ]


def test_a_session_for_other_groups_or_with_old_events_is_not_live_tail() -> None:
    source = LogSource(label="a", group="/aws/lambda/a", arn=ARN + "/aws/lambda/a")
    other = [{"sessionStart": {"logGroupIdentifiers": [ARN + "/aws/lambda/b"]}}]
    with pytest.raises(LiveTailUnavailable, match="session for /aws/lambda/b, not the log groups asked for"):
        list(live_events(other, [source]))
    same = [{"sessionStart": {"logGroupIdentifiers": [ARN + "/aws/lambda/a"]}}]
    assert list(live_events(same, [source])) == []
    result = {"logStreamName": "s", "logGroupIdentifier": source.arn, "message": "m", "ingestionTime": 2}
    now = 1_800_000_000_000
    for age, believed in ((LIVE_TOLERANCE_MS, True), (LIVE_TOLERANCE_MS + 1, False)):
        update = {"sessionUpdate": {"sessionResults": [{**result, "timestamp": now - age}]}}
        if believed:
            assert len(list(live_events([update], [source], since_ms=now))) == 1
        else:
            with pytest.raises(LiveTailUnavailable, match="from before the session began"):
                list(live_events([update], [source], since_ms=now))


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("InternalFailure", "StartLiveTail is not yet implemented"),
        ("UnsupportedOperation", "no"),
        ("X", "Not supported"),
    ],
)
def test_an_unsupported_operation_error_falls_back(code: str, message: str) -> None:
    from botocore.exceptions import ClientError

    source = LogSource(label="a", group="/aws/lambda/a", arn=ARN + "/aws/lambda/a")
    clock = FakeClock()

    class Client:
        def start_live_tail(self, **params: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": code, "Message": message}}, "StartLiveTail")

        def filter_log_events(self, **params: Any) -> dict[str, Any]:
            return {"events": []}

    notices: list[str] = []
    options = TailOptions(start_ms=0, end_ms=clock.now_ms + 1000, live=True)
    assert list(Tail(Client(), [source], options, clock=clock, sleep=clock.sleep, on_notice=notices.append)) == []
    assert notices == [f"live tail is unavailable ({code}); polling FilterLogEvents instead"]


@pytest.mark.parametrize("code", ["AccessDeniedException", "UnknownOperationException"])
def test_denied_or_unknown_live_tail_falls_back_to_polling_new_events(moto_logs: Any, code: str) -> None:
    clock = FakeClock()
    source = make_group(moto_logs, "/aws/lambda/a", ["before the tail started"], clock.now_ms - 5000)
    calls = deny_live_tail(moto_logs, code)
    clock.on_sleep.append(
        lambda: (
            moto_logs.put_log_events(
                logGroupName="/aws/lambda/a",
                logStreamName="s",
                logEvents=[{"timestamp": clock.now_ms, "message": f"at {clock.now:.0f}"}],
            )
            if len(clock.slept) <= 3
            else None
        )
    )
    notices: list[str] = []
    options = TailOptions(start_ms=0, end_ms=clock.now_ms + 3000, live=True, stream_prefixes=("s",))
    tail = Tail(moto_logs, [source], options, clock=clock, sleep=clock.sleep, on_notice=notices.append)
    shown = [e["message"] for e in tail]
    assert calls == [{"logGroupIdentifiers": [ARN + "/aws/lambda/a"], "logStreamNamePrefixes": ["s"]}]
    assert notices == [f"live tail is unavailable ({code}); polling FilterLogEvents instead"]
    assert len(shown) == 3 and "before the tail started" not in shown
    assert tail.summary().startswith("3 events from 1 log group; ")


def test_client_without_start_live_tail_falls_back(moto_logs: Any) -> None:
    class OldClient:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            if name == "start_live_tail":
                raise AttributeError(name)
            return getattr(self._inner, name)

    clock = FakeClock()
    source = make_group(moto_logs, "/aws/lambda/a", [], clock.now_ms)
    notices: list[str] = []
    options = TailOptions(start_ms=0, end_ms=clock.now_ms, live=True)
    assert (
        list(Tail(OldClient(moto_logs), [source], options, clock=clock, sleep=clock.sleep, on_notice=notices.append))
        == []
    )
    assert notices == ["live tail is unavailable (this botocore has no StartLiveTail); polling FilterLogEvents instead"]


def test_group_without_arn_falls_back() -> None:
    notices: list[str] = []
    clock = FakeClock()
    source = LogSource(label="fn", group="/aws/lambda/fn", exists=False)
    options = TailOptions(start_ms=0, end_ms=clock.now_ms - 60_000, live=True)

    class Unused:
        def filter_log_events(self, **_: Any) -> dict[str, Any]:
            raise AssertionError("--until is before the fallback's start: nothing to ask for")

    assert list(Tail(Unused(), [source], options, clock=clock, sleep=clock.sleep, on_notice=notices.append)) == []
    assert notices == ["live tail is unavailable (no ARN known for /aws/lambda/fn); polling FilterLogEvents instead"]


def test_sampling_is_announced_at_most_once_a_minute() -> None:
    clock = FakeClock(start=1000.0)
    source = LogSource(label="a", group="/aws/lambda/a", arn=ARN + "/aws/lambda/a")

    def update(sampled: bool, message: str) -> dict[str, Any]:
        result = {
            "logStreamName": "s",
            "logGroupIdentifier": source.arn,
            "message": message,
            "timestamp": 1,
            "ingestionTime": 2,
        }
        return {"sessionUpdate": {"sessionMetadata": {"sampled": sampled}, "sessionResults": [result]}}

    class Stream(list[dict[str, Any]]):
        closed = False

        def close(self) -> None:
            self.closed = True

        def __iter__(self) -> Any:
            for item in super().__iter__():
                clock.now += 20
                yield item

    stream = Stream([{"sessionStart": {}}, *(update(i % 2 == 0, str(i)) for i in range(8))])
    notices: list[str] = []
    shown = [e["message"] for e in live_events(stream, [source], clock=clock, on_notice=notices.append)]
    assert shown == [str(i) for i in range(8)]
    assert len(notices) == 2  # sampled updates 40, 80, 120 and 160 s in: announced at 40 and 120
    assert notices[0] == "live tail is sampling: more than 500 events/s match, so AWS sends only some of them"
    assert stream.closed


def test_more_than_ten_groups_are_refused_before_any_call() -> None:
    targets = [f"/aws/lambda/fn-{i}" for i in range(11)]
    with pytest.raises(UsageError) as raised:
        check_live_targets(targets)
    assert raised.value.exit_code == ExitCode.USAGE
    assert str(raised.value) == "--live takes at most 10 log groups (11 given) — use --follow instead"
    check_live_targets(targets[:10] + targets[:10])  # repeats count once
    sources = [LogSource(label=t, group=t, arn=ARN + t) for t in targets]
    with pytest.raises(UsageError):
        Tail(object(), sources, TailOptions(start_ms=0, live=True))


def test_a_session_ended_by_the_3_hour_limit_is_restarted() -> None:
    from botocore.exceptions import EventStreamError

    source = LogSource(label="a", group="/aws/lambda/a", arn=ARN + "/aws/lambda/a")
    clock = FakeClock()
    result = {"logStreamName": "s", "logGroupIdentifier": source.arn, "timestamp": clock.now_ms, "ingestionTime": 2}
    end_ms = clock.now_ms + 1000

    def session(message: str, then_fail: bool) -> Any:
        yield {"sessionStart": {}}
        if not then_fail:
            clock.now = end_ms / 1000 + 1  # --until passes during the second session
        yield {
            "sessionUpdate": {"sessionMetadata": {"sampled": False}, "sessionResults": [{**result, "message": message}]}
        }
        if then_fail:
            error = {"Error": {"Code": "SessionTimeoutException", "Message": "Session timed out after 3 hours"}}
            raise EventStreamError(error, "StartLiveTail")

    class Client:
        calls = 0

        def start_live_tail(self, **params: Any) -> dict[str, Any]:
            Client.calls += 1
            return {"responseStream": session(f"session {Client.calls}", then_fail=Client.calls == 1)}

    notices: list[str] = []
    options = TailOptions(start_ms=0, end_ms=end_ms, live=True)
    tail = Tail(Client(), [source], options, clock=clock, sleep=clock.sleep, on_notice=notices.append)
    assert [e["message"] for e in tail] == ["session 1", "session 2"]
    assert notices == ["the live tail session reached AWS's 3-hour limit; starting a new one"]


def test_other_stream_errors_end_the_tail_with_a_mapped_error() -> None:
    from botocore.exceptions import EventStreamError

    from evctl.errors import ServiceError

    source = LogSource(label="a", group="/aws/lambda/a", arn=ARN + "/aws/lambda/a")

    def session() -> Any:
        yield {"sessionStart": {}}
        raise EventStreamError({"Error": {"Code": "SessionStreamingException", "Message": "internal"}}, "StartLiveTail")

    class Client:
        def start_live_tail(self, **params: Any) -> dict[str, Any]:
            return {"responseStream": session()}

    with pytest.raises(ServiceError) as raised:
        list(Tail(Client(), [source], TailOptions(start_ms=0, live=True)))
    assert raised.value.message == "SessionStreamingException: internal"
