"""The seed article's user-signup handler, corrected for what an EventBridge → SQS target delivers.

The seed decodes `json.loads(body["Message"])`, an SNS envelope. A rule targeting the queue directly puts the
EventBridge event itself in the message body, so the user's data is in its `detail`. Deployed to the sandbox's
`user-signup-handler` function (as lambda_function.py) and run by the local runner.
"""

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Handles user signup events from the SQS queue."""
    for record in event["Records"]:
        envelope = json.loads(record["body"])  # the EventBridge event: id, source, detail-type, detail, ...
        user_data = envelope["detail"]

        print(f"Processing user signup event: {user_data}")

        email = user_data.get("email")
        if not email:
            # Fails the batch: SQS makes it visible again, and after maxReceiveCount moves it to the DLQ.
            raise ValueError(f"signup event {envelope.get('id')} has no email")

        # Simulate sending a welcome email
        print(f"Sending welcome email to: {email}")

    return {"statusCode": 200, "body": "Successfully processed user signup events"}
