"""evctl.render.doctor on a hand-made report: odd evidence values never crash the document, a finding about a
resource outside the graph belongs to its outcome's pipeline, and the terminal report collapses passed checks."""

from __future__ import annotations

import datetime as dt
import json

from evctl.core.doctor import Finding, Fix, Outcome, Report, Sample
from evctl.core.pipeline import Graph, Node
from evctl.render.doctor import DoctorMeta, document, report_lines, text_rows

QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"
DLQ = "arn:aws:sqs:us-east-1:123456789012:q-dlq"
OTHER = "arn:aws:sqs:us-east-1:123456789012:elsewhere"


class Opaque:
    def __str__(self) -> str:
        return "opaque thing"


def graph() -> Graph:
    g = Graph(targets=["q"])
    g.add(Node(QUEUE, "queue", "q"))
    g.add(Node(DLQ, "queue", "q-dlq"))
    g.connect(QUEUE, DLQ, "dead_letters_to")
    return g


def report() -> Report:
    finding = Finding(
        check="Q-VIS-1",
        resource=OTHER,
        message="visibility \x1b[31mtoo short",
        evidence={"when": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "ids": {"a"}, "thing": Opaque(), "n": float("nan")},
        fix=Fix("raise it", {"VisibilityTimeout": "18"}, "aws sqs set-queue-attributes --queue-url u --attributes X=1"),
    )
    return Report(
        outcomes=[
            Outcome("Q-VIS-1", QUEUE, "fail", findings=(finding,)),
            Outcome("Q-VIS-1", DLQ, "pass"),
            Outcome("Q-VIS-2", QUEUE, "not_checked", reason="sqs:GetQueueAttributes denied"),
        ],
        pipelines=[[DLQ, QUEUE]],
    )


def meta() -> DoctorMeta:
    return DoctorMeta(
        targets=["q"], checks=["Q-VIS-1", "Q-VIS-2"], samples=[Sample({"source": "s", "detail-type": "t"})]
    )


def test_the_document_holds_odd_evidence_and_places_findings_by_their_outcome() -> None:
    data = document(report(), graph(), meta())
    json.dumps(data, allow_nan=False)  # strict JSON all through
    [finding] = data["findings"]
    assert finding["evidence"] == {
        "when": "2026-01-02T00:00:00+00:00",
        "ids": ["a"],
        "thing": "opaque thing",
        "n": "NaN",
    }
    assert finding["pipelines"] == [1] and finding["resource"] == OTHER
    assert data["summary"]["by_severity"] == {"critical": 1, "high": 0, "medium": 0, "info": 0}
    assert data["failed"] is True and data["summary"]["failing"] == 1
    assert [p["name"] for p in data["pipelines"]] == ["q"]  # named by the queue it ends in, not its DLQ
    assert data["not_checked"][0]["reason"] == "sqs:GetQueueAttributes denied"


def test_the_terminal_report_escapes_data_and_collapses_passes() -> None:
    lines = report_lines(report(), graph(), meta())
    text = "\n".join(lines)
    assert "\x1b" not in text and "visibility \\x1b[31mtoo short" in text
    assert "    ✓ 1 passed (Q-VIS-1)" in lines
    assert "    ? Q-VIS-2 on queue q: not checked: sqs:GetQueueAttributes denied" in lines
    assert lines[-1] == "1 at or above high: exit 1"


def test_text_rows() -> None:
    rows = text_rows(report(), graph())
    assert [(r["status"], r["check"], r["resource"]) for r in rows] == [
        ("fail", "Q-VIS-1", OTHER),
        ("pass", "Q-VIS-1", DLQ),
        ("not_checked", "Q-VIS-2", QUEUE),
    ]


def test_a_clean_pipeline_is_one_line() -> None:
    clean = Report(
        outcomes=[Outcome("Q-VIS-1", QUEUE, "pass"), Outcome("Q-VIS-1", DLQ, "pass")], pipelines=[[DLQ, QUEUE]]
    )
    lines = report_lines(clean, graph(), meta())
    assert "  ✓ all 2 checks passed on its 2 resources" in lines
    assert not any(line.startswith("    ") for line in lines)  # no hop sections
    assert lines[-1] == "nothing at or above high"


def test_commands_to_run_first_come_before_the_fix_command_in_both_outputs() -> None:
    create = "aws sqs create-queue --queue-name q-events-dlq"
    fix = Fix("give the target a DLQ", {"DeadLetterConfig": {"Arn": DLQ}}, "aws events put-targets ...", (create,))
    finding = Finding(check="Q-VIS-1", resource=QUEUE, message="m", evidence={}, fix=fix)
    planted = Report(outcomes=[Outcome("Q-VIS-1", QUEUE, "fail", findings=(finding,))], pipelines=[[DLQ, QUEUE]])
    [listed] = document(planted, graph(), meta())["findings"]
    assert listed["fix"]["before"] == [create] and listed["fix"]["command"] == "aws events put-targets ..."
    commands = [line.strip() for line in report_lines(planted, graph(), meta()) if line.strip().startswith("$ ")]
    assert commands == [f"$ {create}", "$ aws events put-targets ..."]
