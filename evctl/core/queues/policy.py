"""The queue policy that lets EventBridge deliver to a queue on behalf of one rule only."""

from __future__ import annotations

from typing import Any


def eventbridge_send_policy(queue_arn: str, rule_arn: str, sid: str) -> dict[str, Any]:
    """A queue policy letting EventBridge send to the queue on behalf of one rule only (aws:SourceArn)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
