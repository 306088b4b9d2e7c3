"""The runner's gate: may the mapping poll now, and on what terms, as Lambda decides it.

Every `interval` seconds (2 s by default; AWS applies mapping and IAM changes after a delay of its own) the gate
reads, through the normal APIs of the sandbox:
- the mapping (ListEventSourceMappings by queue and function): State (a Disabled mapping does not poll),
  FilterCriteria, BatchSize, MaximumBatchingWindowInSeconds, FunctionResponseTypes;
- the function: its Role, and its reserved concurrency (0: every invocation is throttled);
- the role's policies (inline, attached, boundary), the queue's policy and key, the log group: access.decide.
The verdict is published where Lambda shows it (mapping_state): a role that cannot poll gives the mapping
`LastProcessingResult` "PROBLEM: The function execution role does not have permissions to call ReceiveMessage on
SQS" and the runner stops polling until a re-check finds the role fixed. docs/sandbox.md says what AWS documents.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evctl.aws import AwsSettings, ClientFactory
from evctl.core.iam import read_role_policies
from evctl.errors import EvctlError, error_code
from evctl.sandbox import mapping_state
from evctl.sandbox.access import Access, decide
from evctl.sandbox.filters import Filters, compile_filters
from evctl.sandbox.state import CREDENTIALS

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

    from evctl.sandbox.provision import SandboxClients

RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class Gate:
    """What the runner may do until the next re-check."""

    polls: bool
    reason: str | None = None  # why it does not poll
    mapping_uuid: str | None = None
    throttled: bool = False  # reserved concurrency 0: received batches are never invoked
    filters: Filters = field(default_factory=Filters)
    access: Access = field(default_factory=Access)
    batch_size: int | None = None  # the mapping's, when it has one
    batching_window: float | None = None
    report_batch_item_failures: bool | None = None


@dataclass
class Enforcement:
    """Reads and decides the gate for one function's mapping on one queue."""

    lambda_: LambdaClient
    iam: IAMClient
    sqs: SQSClient
    logs: CloudWatchLogsClient
    kms: KMSClient | None
    function_name: str
    queue_arn: str
    queue_url: str
    log_group: str
    interval: float = RECHECK_SECONDS
    clock: Callable[[], float] = time.monotonic
    _gate: Gate | None = None
    _checked_at: float = 0.0
    _filters: tuple[Any, Filters] | None = None
    _installed: bool = False

    def __post_init__(self) -> None:
        mapping_state.install()
        self._installed = True

    def close(self) -> None:
        if self._installed:
            self._installed = False
            mapping_state.uninstall()

    def gate(self) -> Gate:
        """The current gate, re-read when `interval` has passed since the last read."""
        if self._gate is None or self.clock() - self._checked_at >= self.interval:
            self.refresh()
        assert self._gate is not None
        return self._gate

    def refresh(self) -> Gate:
        self._gate = self._read()
        self._checked_at = self.clock()
        return self._gate

    # ---- reading -----------------------------------------------------------------------------
    def _read(self) -> Gate:
        mappings = self.lambda_.list_event_source_mappings(
            EventSourceArn=self.queue_arn, FunctionName=self.function_name
        ).get("EventSourceMappings", [])
        if not mappings:
            return Gate(False, f"no event source mapping connects {self.function_name} to {self.queue_arn}")
        mapping: dict[str, Any] = dict(mappings[0])
        uuid = str(mapping.get("UUID"))
        terms: dict[str, Any] = {
            "mapping_uuid": uuid,
            "filters": self._compiled(mapping.get("FilterCriteria")),
            "batch_size": mapping.get("BatchSize"),
            "batching_window": mapping.get("MaximumBatchingWindowInSeconds"),
            "report_batch_item_failures": "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or []),
        }
        state = str(mapping.get("State") or "")
        if state != "Enabled":
            mapping_state.publish(
                uuid, state_transition_reason=mapping_state.USER_INITIATED, last_processing_result=None
            )
            return Gate(False, f"event source mapping {uuid} is {state or 'in no state'}", **terms)
        function = self.lambda_.get_function_configuration(FunctionName=self.function_name)
        concurrency = self.lambda_.get_function_concurrency(FunctionName=self.function_name)
        access = self._access(str(function.get("Role") or ""), function)
        mapping_state.publish(
            uuid,
            state_transition_reason=mapping_state.USER_INITIATED,
            last_processing_result=None if access.polls else f"PROBLEM: {access.poll_problem}",
        )
        throttled = concurrency.get("ReservedConcurrentExecutions") == 0
        return Gate(access.polls, access.poll_problem, throttled=throttled, access=access, **terms)

    def _compiled(self, criteria: Any) -> Filters:
        if self._filters is None or self._filters[0] != criteria:
            self._filters = (criteria, compile_filters(criteria))
        return self._filters[1]

    def _access(self, role_arn: str, function: Any) -> Access:
        try:
            role = read_role_policies(self.iam, role_arn)
        except EvctlError as exc:
            problem = f"The function execution role {role_arn} cannot be used: {exc.message}"
            return Access(poll_problem=problem, logs_allowed=False, denied=("sts:AssumeRole",))
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        group = str((function.get("LoggingConfig") or {}).get("LogGroup") or self.log_group)
        region, account = self.queue_arn.split(":")[3], self.queue_arn.split(":")[4]
        group_arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
        queue = {str(k): str(v) for k, v in attributes.items()}
        return decide(role, self.queue_arn, queue, group_arn, self._group_exists(group), self.kms)

    def _group_exists(self, group: str) -> bool:
        try:
            found = self.logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        return any(g.get("logGroupName") == group for g in found)


def for_sandbox(
    clients: SandboxClients, *, function_name: str, queue_arn: str, queue_url: str, log_group: str, endpoint: str
) -> Enforcement:
    """The gate of the sandbox's own runner, with the sandbox's clients (and a KMS one for encrypted queues)."""
    region = queue_arn.split(":")[3]
    factory = ClientFactory(AwsSettings(region=region, endpoint_url=endpoint, sandbox_credentials=CREDENTIALS))
    return Enforcement(
        clients.lambda_,
        clients.iam,
        clients.sqs,
        clients.logs,
        factory.client("kms"),
        function_name=function_name,
        queue_arn=queue_arn,
        queue_url=queue_url,
        log_group=log_group,
    )
