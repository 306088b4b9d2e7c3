"""The handlers the mistakes deploy: the seed article's own (it reads an SNS envelope), and a slow one.

Each is the text of a `lambda_function.py`, zipped and deployed with UpdateFunctionCode (steps.deploy_handler).
"""

from __future__ import annotations

from evctl.sandbox.provision import DEFAULT_HANDLER_FILE

# The article's handler, verbatim: `json.loads(message_body['Message'])` is SNS's envelope; an EventBridge → SQS
# body is the event itself, so every record raises KeyError: 'Message'.
TUTORIAL_HANDLER = '''import json

def lambda_handler(event, context):
    """
    Handles user signup events from the SQS queue.
    """
    for record in event['Records']:
        message_body = json.loads(record['body'])
        user_data = json.loads(message_body['Message'])  # Double JSON encoding because SQS puts the event itself in a "Message" field.

        print(f"Processing user signup event: {user_data}")

        # Simulate sending a welcome email
        print(f"Sending welcome email to: {user_data['email']}")

    return {
        'statusCode': 200,
        'body': 'Successfully processed user signup events'
    }
'''

SLOW_SECONDS = 1.6  # longer than the planted 1 s visibility timeout, shorter than the planted 3 s function timeout

# The seed's handler, with a slow email provider: each signup takes SLOW_SECONDS before the welcome email is sent.
SLOW_HANDLER = f"""import json
import time


def lambda_handler(event, context):
    for record in event["Records"]:
        envelope = json.loads(record["body"])
        user_data = envelope["detail"]
        print(f"Processing user signup event: {{user_data}}")
        time.sleep({SLOW_SECONDS})  # a slow email provider
        print(f"Sending welcome email to: {{user_data['email']}}")
    return {{"statusCode": 200, "body": "Successfully processed user signup events"}}
"""


def corrected_handler() -> str:
    """The handler F-SHAPE-1's fix describes (detail = json.loads(record['body'])['detail']): the sandbox's default."""
    return DEFAULT_HANDLER_FILE.read_text(encoding="utf-8")
