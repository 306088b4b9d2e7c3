"""Classifying Lambda log lines and formatting events (short / detailed / json / raw, colour, pretty)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from evctl.core.logs import Classifier, LogEvent, classify_message, event_record
from evctl.render.logs import LogFormatter

REQ = "8f5a2c3e-2b7d-4c8e-9a1f-0123456789ab"
STREAM = "2026/11/27/[$LATEST]0123456789abcdef"
TS = int(dt.datetime(2026, 11, 27, 10, 15, 6, tzinfo=dt.UTC).timestamp() * 1000) + 123  # 10:15:06.123Z


def event(message: str, *, stream: str = STREAM, ts: int = TS, source: str = "fn") -> LogEvent:
    return {
        "source": source,
        "group": "/aws/lambda/fn",
        "stream": stream,
        "timestamp": ts,
        "ingestionTime": ts + 40,
        "eventId": "3791",
        "message": message,
    }


@pytest.mark.parametrize(
    ("message", "kind", "request_id"),
    [
        (f"START RequestId: {REQ} Version: $LATEST\n", "start", REQ),
        (f"END RequestId: {REQ}\n", "end", REQ),
        (f"REPORT RequestId: {REQ}\tDuration: 15.74 ms\tBilled Duration: 16 ms\t\n", "report", REQ),
        (f"REPORT RequestId: {REQ}\tDuration: 3000.00 ms\tStatus: timeout\n", "error", REQ),
        (f"2026-11-27T10:00:03.004Z {REQ} Task timed out after 3.00 seconds\n", "timeout", None),
        (f"[ERROR]\t2026-11-27T10:00:00.000Z\t{REQ}\tsomething broke\n", "error", REQ),
        (f"[INFO]\t2026-11-27T10:00:00.000Z\t{REQ}\tall good\n", "log", REQ),
        (
            "[ERROR] KeyError: 'email'\rTraceback (most recent call last):\r  File \"/var/task/app.py\"\r",
            "traceback",
            None,
        ),
        ("2026-11-27T10:00:00.000Z\tabc\tERROR\tInvoke Error\n", "error", None),  # Node
        ("no errors here, ERRORS_TOTAL=0\n", "log", None),
        ("INIT_START Runtime Version: python:3.12.v40\n", "platform", None),
        ("Processing user signup event\n", "log", None),
    ],
)
def test_classify_text_lines(message: str, kind: str, request_id: str | None) -> None:
    assert classify_message(message) == (kind, request_id)


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        ({"timestamp": "2026-11-27T10:00:00Z", "level": "INFO", "message": "hi", "requestId": REQ}, "log"),
        ({"level": "ERROR", "message": "boom", "requestId": REQ}, "error"),
        ({"level": "CRITICAL", "message": "boom", "requestId": REQ}, "error"),
        ({"errorType": "KeyError", "errorMessage": "'email'", "requestId": REQ, "stackTrace": []}, "error"),
        ({"type": "platform.start", "record": {"requestId": REQ}}, "start"),
        ({"type": "platform.report", "record": {"requestId": REQ, "status": "success"}}, "report"),
        ({"type": "platform.report", "record": {"requestId": REQ, "status": "timeout"}}, "timeout"),
        ({"type": "platform.runtimeDone", "record": {"requestId": REQ, "status": "error"}}, "error"),
    ],
)
def test_classify_lambda_json_lines(doc: dict[str, Any], kind: str) -> None:
    annotated = Classifier().annotate(event(json.dumps(doc)))
    assert annotated["kind"] == kind
    assert annotated["requestId"] == REQ
    assert annotated["parsed"] == doc


def test_lines_between_start_and_end_belong_to_the_invocation_of_their_stream() -> None:
    classifier = Classifier()
    lines = [
        (STREAM, f"START RequestId: {REQ} Version: $LATEST\n"),
        ("other-stream", "printed by another environment\n"),
        (STREAM, "Processing user signup event: {'email': 'ann@example.com'}\n"),
        (STREAM, f"END RequestId: {REQ}\n"),
        (STREAM, f"REPORT RequestId: {REQ}\tDuration: 1.00 ms\n"),
        (STREAM, "printed after the invocation\n"),
    ]
    ids = [classifier.annotate(event(message, stream=stream))["requestId"] for stream, message in lines]
    assert ids == [REQ, None, REQ, REQ, REQ, None]


def test_a_traceback_printed_line_by_line_is_followed_to_its_exception_line() -> None:
    classifier = Classifier()
    lines = [
        "before\n",
        "Traceback (most recent call last):\n",
        '  File "/var/task/app.py", line 9, in handler\n',
        "    user = body['email']\n",
        "KeyError: 'email'\n",
        "after\n",
    ]
    kinds = [classifier.annotate(event(line))["kind"] for line in lines]
    assert kinds == ["log", "traceback", "traceback", "traceback", "error", "log"]


def test_short_format_piped_is_one_line_per_event_without_styling() -> None:
    formatter = LogFormatter("short")
    multi = Classifier().annotate(event("[ERROR] boom\rTraceback (most recent call last):\r  File x\n"))
    assert formatter.format(multi) == "10:15:06.123 [ERROR] boom\\nTraceback (most recent call last):\\n  File x"
    assert "\x1b" not in formatter.format(multi)


def test_short_format_on_a_terminal_styles_by_kind_and_pretty_prints_json() -> None:
    formatter = LogFormatter("short", color=True, pretty=True)
    classifier = Classifier()
    start = formatter.format(classifier.annotate(event(f"START RequestId: {REQ} Version: $LATEST\n")))
    assert start == f"\x1b[2m10:15:06.123\x1b[0m \x1b[2mSTART RequestId: {REQ} Version: $LATEST\x1b[0m"
    error = formatter.format(classifier.annotate(event("[ERROR] boom\rTraceback (most recent call last):\n")))
    assert error.endswith("\x1b[31m[ERROR] boom\nTraceback (most recent call last):\x1b[0m")
    report = formatter.format(
        classifier.annotate(event(f"REPORT RequestId: {REQ}\tDuration: 15.74 ms\tMax Memory Used: 56 MB\n"))
    )
    assert "\x1b[36m15.74 ms\x1b[0m" in report and "\x1b[36m56 MB\x1b[0m" in report
    assert f"\x1b[2mREPORT RequestId: {REQ}\tDuration: \x1b[0m" in report
    pretty = formatter.format(classifier.annotate(event('{"level":"INFO","message":"hi"}')))
    assert pretty.endswith('{\n  "level": "INFO",\n  "message": "hi"\n}')


def test_several_sources_are_labelled_and_coloured_one_colour_each() -> None:
    plain = LogFormatter("short", labels=["fn", "/aws/lambda/other"])
    assert plain.format(event("hi\n", source="fn")) == "10:15:06.123 fn                hi"
    coloured = LogFormatter("short", labels=["fn", "other"], color=True)
    first = coloured.format(event("hi\n", source="fn"))
    second = coloured.format(event("hi\n", source="other"))
    assert "\x1b[36mfn   \x1b[0m" in first and "\x1b[35mother\x1b[0m" in second
    assert "fn" not in LogFormatter("short", labels=["fn"]).format(event("hi\n"))  # one source: no label


def test_detailed_raw_and_json_formats() -> None:
    annotated = Classifier().annotate(event('{"level":"INFO","message":"hi","requestId":"r-1"}\n'))
    assert LogFormatter("detailed").format(annotated) == (
        f'2026-11-27T10:15:06.123Z /aws/lambda/fn {STREAM} {{"level":"INFO","message":"hi","requestId":"r-1"}}'
    )
    assert LogFormatter("raw").format(annotated) == '{"level":"INFO","message":"hi","requestId":"r-1"}'
    record = json.loads(LogFormatter("json", color=True, pretty=True).format(annotated))
    assert record == event_record(annotated)
    assert record == {
        "source": "fn",
        "group": "/aws/lambda/fn",
        "stream": STREAM,
        "timestamp": "2026-11-27T10:15:06.123Z",
        "ingestionTime": "2026-11-27T10:15:06.163Z",
        "eventId": "3791",
        "message": '{"level":"INFO","message":"hi","requestId":"r-1"}\n',
        "kind": "log",
        "requestId": "r-1",
        "parsed": {"level": "INFO", "message": "hi", "requestId": "r-1"},
    }


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        LogFormatter("yaml")  # type: ignore[arg-type]
