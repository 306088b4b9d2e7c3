"""Queue configuration checks (catalogue §2.6, Q-*)."""

from __future__ import annotations

from collections.abc import Iterator

from evctl.core.pipeline import Node

from ..context import DoctorContext
from ..model import Finding, Fix
from ..registry import check


@check("Q-VIS-1", on="queue")
def visibility_shorter_than_function_timeout(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A message still being processed becomes visible again and a second invocation gets it (DUP)."""
    visibility = int(ctx.queue_attributes(node)["VisibilityTimeout"])
    for mapping in ctx.downstream(node, "polls"):
        for function in ctx.downstream(mapping, "invokes"):
            timeout = int(ctx.function(function).get("Timeout", 3))
            if visibility < timeout:
                wanted = 6 * timeout + int(mapping.attributes.get("batching_window") or 0)
                yield Finding(
                    check="Q-VIS-1",
                    resource=node.id,
                    message=f"visibility timeout {visibility} s is shorter than {function.name}'s timeout {timeout} s",
                    evidence={"VisibilityTimeout": visibility, "function": function.id, "Timeout": timeout},
                    fix=Fix(
                        summary=f"set the queue's VisibilityTimeout to at least 6 × {timeout} s (+ batching window)",
                        value={"VisibilityTimeout": str(wanted)},
                        command=(
                            f"aws sqs set-queue-attributes --queue-url {node.attributes['url']} "
                            f"--attributes VisibilityTimeout={wanted}"
                        ),
                    ),
                    related=(function.id,),
                )
