"""Redrive a dead-letter queue: find where its messages belong, then move them natively or through the mover.

    plan = plan_redrive(sqs, RedriveRequest("orders-dlq", filter="body.n > `3`"), probe=native_probe(sqs))
    items, depth = preview(sqs, plan, limit=20, filter="body.n > `3`")      # --dry-run: what would move
    if plan.mode == "native":                                              # SQS message move task
        task = start_move_task(sqs, plan.dlq.arn, plan.destination.arn if plan.destination else None, rate=None)
        task = follow_task(sqs, task, on_progress=print)
    else:                                                                  # receive → send → check → delete
        sink = make_sink(plan, sqs)
        report = manual_redrive(sqs, plan, sink, filter="body.n > `3`")
        manual_summary(plan, report, sink)                                 # the result, as a dict
    all_dlq_tasks(sqs, "orders-dlq"); cancel(sqs, "orders-dlq")             # `redrive status` / `redrive cancel`

Modules: discovery.py (RedrivePolicy / ListDeadLetterSourceQueues: which queue is whose DLQ), plan.py (the
request, the plan, native or manual, the probe), native.py (move tasks), manual.py (the moving engine's run),
preview.py (the dry run, with the same filter as the run). Nothing here prints.
"""

from __future__ import annotations

from .discovery import Discovery, discover
from .manual import make_sink, manual_redrive, manual_summary
from .native import (
    MoveTask,
    all_dlq_tasks,
    cancel,
    decode_handle,
    follow_task,
    list_move_tasks,
    looks_like_queue,
    start_move_task,
)
from .plan import (
    NATIVE_MAX_RATE,
    Mode,
    NativeProbe,
    RedrivePlan,
    RedriveRequest,
    native_probe,
    plan_redrive,
    validate_rate,
)
from .preview import preview

__all__ = [
    "NATIVE_MAX_RATE",
    "Discovery",
    "Mode",
    "MoveTask",
    "NativeProbe",
    "RedrivePlan",
    "RedriveRequest",
    "all_dlq_tasks",
    "cancel",
    "decode_handle",
    "discover",
    "follow_task",
    "list_move_tasks",
    "looks_like_queue",
    "make_sink",
    "manual_redrive",
    "manual_summary",
    "native_probe",
    "plan_redrive",
    "preview",
    "start_move_task",
    "validate_rate",
]
