"""Lambda's check at CreateEventSourceMapping, in an enforcing sandbox: a mapping whose function's execution role
may not receive, delete or read the attributes of the SQS queue is refused, as AWS refuses it (moto accepts it).

AWS answers InvalidParameterValueException "The function execution role does not have permissions to call
ReceiveMessage on SQS" (worded "The provided execution role ..." before 2025; sources in docs/sandbox.md, "What the
runner enforces"). The question is the runner's (access.sqs_denials: the doctor's I-SQS-1 request, identity
policies with the boundary, or the queue policy); only a DENY refuses, an undecided answer lets moto create it.
A role changed after the mapping exists is not checked here: the runner's gate stops polling then.

    guard = mapping_guard.install(clients)   # lifecycle.start, enforcing mode only; counted by guards
    ...                                      # server.py's create_event_source_mapping calls check(spec)
    mapping_guard.uninstall(guard)

The check reads the function, the role and the queue through the sandbox's own API (the clients given), from
moto's request thread: the server is threaded, so these nested calls are answered by other threads.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evctl.core.iam import load_policy, read_role_policies
from evctl.sandbox.access import sqs_denials, sqs_problem_text

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

    from evctl.sandbox.provision import SandboxClients


@dataclass(frozen=True, eq=False)
class Guard:
    """Decides, with one sandbox's clients, whether Lambda would refuse a mapping of `function` on `queue_arn`."""

    lambda_: LambdaClient
    iam: IAMClient
    sqs: SQSClient

    def refusal(self, function: str, queue_arn: str) -> str | None:
        """AWS's message when the role may not poll the queue; None when it may, or when the function, role or
        queue cannot be read (moto then answers as it would)."""
        parts = queue_arn.split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            return None
        try:
            role_arn = str(self.lambda_.get_function_configuration(FunctionName=function).get("Role") or "")
            role = read_role_policies(self.iam, role_arn)
            url = self.sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
            text = attributes.get("Policy")
            policy = load_policy(text, name="queue policy") if text else None
        except Exception:
            return None
        denied, _ = sqs_denials(role, queue_arn, policy)
        return sqs_problem_text(denied[0]) if denied else None


_lock = threading.Lock()
_guards: list[Guard] = []


def install(clients: SandboxClients) -> Guard:
    guard = Guard(clients.lambda_, clients.iam, clients.sqs)
    with _lock:
        _guards.append(guard)
    return guard


def uninstall(guard: Guard) -> None:
    with _lock:
        if guard in _guards:
            _guards.remove(guard)


def active() -> bool:
    with _lock:
        return bool(_guards)


def check(spec: dict[str, Any]) -> None:
    """Raise moto's InvalidParameterValueException when the newest guard refuses the mapping `spec` describes."""
    with _lock:
        guard = _guards[-1] if _guards else None
    if guard is None:
        return
    message = guard.refusal(str(spec.get("FunctionName") or ""), str(spec.get("EventSourceArn") or ""))
    if message:
        exceptions: Any = importlib.import_module("moto.awslambda.exceptions")
        raise exceptions.InvalidParameterValueException(message)
