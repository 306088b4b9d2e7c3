"""The table mechanism: fitting a width by abbreviating, narrowing and leaving out columns, in that order."""

from __future__ import annotations

import pytest

from evctl.render.tables import Column, as_columns, cell_text, left_out_note, render_mapping, render_table

QUEUES = [
    {"name": "user-signup-queue", "visible": 3, "in_flight": 0, "dlq": "user-signup-dlq", "retention": "4d"},
    {"name": "orders-processing-events.fifo", "visible": 12345, "in_flight": 17, "dlq": None, "retention": "14d"},
]
SPEC = [
    Column("name", "QUEUE", priority=0, no_wrap=True),
    Column("visible", "VISIBLE", align="right", no_wrap=True),
    Column("in_flight", "IN FLIGHT", short="FLIGHT", align="right", no_wrap=True),
    Column("dlq", "DLQ", priority=2, no_wrap=True),
    Column("retention", "RETENTION", priority=3, no_wrap=True),
]


def widths(lines: list[str]) -> int:
    return max(len(line) for line in lines)


def test_a_table_that_fits_is_drawn_whole() -> None:
    table = render_table(QUEUES, SPEC, width=120)
    assert table.lines == [
        "QUEUE                          VISIBLE  IN FLIGHT  DLQ              RETENTION",
        "user-signup-queue                    3          0  user-signup-dlq  4d",
        "orders-processing-events.fifo    12345         17  -                14d",
    ]
    assert table.left_out == []


def test_no_width_means_every_column_at_full_width() -> None:
    assert render_table(QUEUES, SPEC, width=None).lines == render_table(QUEUES, SPEC, width=500).lines


def test_short_headers_come_before_leaving_anything_out() -> None:
    table = render_table(QUEUES, SPEC, width=75)
    assert table.lines[0].split() == ["QUEUE", "VISIBLE", "FLIGHT", "DLQ", "RETENTION"]
    assert table.left_out == [] and widths(table.lines) <= 75


def test_the_least_important_column_is_left_out_first_and_names_never_wrap() -> None:
    table = render_table(QUEUES, SPEC, width=65)
    assert [c.key for c in table.left_out] == ["retention"]  # priority 3
    assert table.lines[0].split() == ["QUEUE", "VISIBLE", "FLIGHT", "DLQ"]
    assert "orders-processing-events.fifo" in table.lines[2] and widths(table.lines) <= 65
    narrower = render_table(QUEUES, SPEC, width=40)
    assert [c.key for c in narrower.left_out] == ["in_flight", "dlq", "retention"]  # then 2, then the rightmost 1
    assert narrower.lines == [
        "QUEUE                          VISIBLE",
        "user-signup-queue                    3",
        "orders-processing-events.fifo    12345",
    ]


def test_the_first_column_and_priority_0_are_never_left_out() -> None:
    table = render_table(QUEUES, SPEC, width=10)
    assert [c.key for c in table.left_out] == ["visible", "in_flight", "dlq", "retention"]
    assert table.lines[1:] == ["user-signup-queue", "orders-processing-events.fifo"]  # wider than 10: not cut


def test_a_full_header_comes_back_when_leaving_a_column_out_made_room() -> None:
    table = render_table(QUEUES, SPEC, width=66)
    assert [c.key for c in table.left_out] == ["retention"]
    assert table.lines[0] == "QUEUE                          VISIBLE  IN FLIGHT  DLQ"


def test_headers_wrap_between_words_only() -> None:
    rows = [{"id": "a", "text": "x " * 40}]
    spec = [Column("id", "ID", no_wrap=True), Column("text", "A RATHER LONG DESCRIPTION HEADER")]
    table = render_table(rows, spec, width=30)
    words = {word for line in table.lines for word in line.split()}
    assert {"RATHER", "LONG", "DESCRIPTION", "HEADER"} <= words
    assert widths(table.lines) <= 30


def test_free_text_wraps_and_long_words_fold_in_wrapping_columns_only() -> None:
    rows = [{"arn": "arn:aws:sqs:us-east-1:123456789012:user-signup-queue", "body": '{"a": "' + "b" * 60 + '"}'}]
    spec = [Column("arn", "ARN", priority=0, no_wrap=True), Column("body", "BODY")]
    table = render_table(rows, spec, width=80)
    assert rows[0]["arn"] in table.lines[1]
    assert widths(table.lines) <= 80 and len(table.lines) > 2


def test_tuples_are_columns_with_the_default_priority() -> None:
    assert as_columns([("name", "NAME"), Column("n", "N", priority=5)]) == [Column("name", "NAME"), Column("n", "N", 5)]
    table = render_table([{"name": "a", "n": 1}], [("name", "NAME"), ("n", "COUNT")], width=None)
    assert table.lines == ["NAME  COUNT", "a     1"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "-"),
        ("", "-"),
        ([], "-"),
        ({}, "-"),
        (0, "0"),
        (False, "no"),
        (["user-signup-queue", "orders"], "user-signup-queue, orders"),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        ("[info] started", "[info] started"),  # printed as given: no markup language in cells
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_a_mapping_never_splits_a_word_and_shows_empties_as_a_dash() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:user-signup-handler"
    lines = render_mapping({"function": arn, "handler": None, "note": "one two three " * 5}, width=40)
    assert lines[0] == f"function  {arn}"
    assert lines[1] == "handler   -"
    assert all(len(line) <= 40 for line in lines[2:]) and lines[3].startswith("          ")


def test_colour_is_bold_headers_only() -> None:
    table = render_table([{"name": "a"}], [Column("name", "NAME")], width=None, color=True)
    assert table.lines == ["\x1b[1mNAME\x1b[0m", "a"]


def test_the_note_names_the_columns_and_the_way_to_see_them() -> None:
    note = left_out_note([Column("dlq", "DLQ"), Column("retention", "RETENTION")], 80)
    assert note == "evctl: left out DLQ, RETENTION to fit 80 columns; -o wide or -o json shows every column"
