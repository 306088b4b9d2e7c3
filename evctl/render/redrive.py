"""`evctl redrive` on the terminal and in each output mode: move-task rows and results, the dry run's columns.

output.result([task_row(t) for t in tasks], columns=TASK_COLUMNS)    # redrive status
output.result(task_result(task))                                      # redrive dlq (native), redrive cancel
output.result(items, columns=preview_columns(items))                  # redrive dlq --dry-run
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evctl.render.tables import Column

if TYPE_CHECKING:
    from evctl.core.redrive import MoveTask

TASK_COLUMNS = [
    Column("queue", "DLQ", priority=0, no_wrap=True),
    Column("status", "STATUS", no_wrap=True),
    Column("moved", "MOVED", align="right", no_wrap=True),
    Column("to_move", "TO MOVE", align="right", no_wrap=True),
    Column("destination", "DESTINATION", priority=2, no_wrap=True, short="TO"),
    Column("rate", "RATE", priority=4, align="right", no_wrap=True),
    Column("started", "STARTED", priority=3, no_wrap=True),
    Column("failure", "FAILURE", min_width=24),
]  # the task handle is in the JSON output; on a terminal, `redrive cancel QUEUE` needs no handle
PREVIEW_COLUMNS = [
    Column("message_id", "MESSAGE", priority=0, no_wrap=True),
    Column("sent", "SENT", priority=3, no_wrap=True),
    Column("receives", "RECEIVES", priority=4, align="right", no_wrap=True, short="RCV"),
    Column("group", "GROUP", priority=3, no_wrap=True),
    Column("error_code", "ERROR", priority=2, no_wrap=True),
    Column("body", "BODY", min_width=30),
]
WOULD_FAIL = Column("problem", "WOULD FAIL", priority=1, min_width=16)  # why the real run would refuse it
ORIGINAL_SOURCES = "(original sources)"  # a task without a destination returns each message to its source


def preview_columns(items: list[dict[str, Any]]) -> list[Column]:
    """The dry run's columns: WOULD FAIL (before BODY) only when some message shown would be refused."""
    if all(item.get("movable", True) for item in items):
        return PREVIEW_COLUMNS
    return [*PREVIEW_COLUMNS[:-1], WOULD_FAIL, PREVIEW_COLUMNS[-1]]


def task_row(task: MoveTask) -> dict[str, Any]:
    """One move task, as `redrive status` lists it (every field; the table shows TASK_COLUMNS)."""
    return {
        "queue": task.source_name,
        "status": task.status,
        "moved": task.moved,
        "to_move": task.to_move,
        "destination": task.destination_name or ORIGINAL_SOURCES,
        "rate": task.rate,
        "started": task.started,
        "task_handle": task.handle,
        "failure": task.failure,
        "source_arn": task.source_arn,
        "destination_arn": task.destination_arn,
    }


def task_result(task: MoveTask) -> dict[str, Any]:
    """The result of `redrive dlq` in native mode and of `redrive cancel`."""
    row = task_row(task)
    return {
        "mode": "native",
        **{key: row[key] for key in ("queue", "status", "moved", "to_move", "destination")},
        "task_handle": row["task_handle"],
        "failure": row["failure"],
    }
