"""The seed's pipeline, provisioned idempotently into a sandbox (or any account the clients point at).

bus `default` → rule `user-signup-rule` (source my.webapp, detail-type UserSignup) → queue `user-signup-queue`
(queue policy for events.amazonaws.com with aws:SourceArn = the rule; RedrivePolicy → `user-signup-dlq`, which keeps
messages 14 days, after maxReceiveCount 3) → event source mapping (batch 10, ReportBatchItemFailures) → function
`user-signup-handler` (Python, the handler zipped, a timeout; the queue's visibility timeout is 6× that timeout) → log
group /aws/lambda/user-signup-handler. Running it twice changes nothing.
"""

from __future__ import annotations

import ast
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from evctl.errors import EvctlError, UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

BUS = "default"
QUEUE = "user-signup-queue"
DLQ = "user-signup-dlq"
RULE = "user-signup-rule"
ROLE = "user-signup-handler-role"
FUNCTION = "user-signup-handler"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
SOURCE = "my.webapp"
DETAIL_TYPE = "UserSignup"
DLQ_RETENTION_SECONDS = 1_209_600  # 14 days, SQS's maximum: longer than the queue's 4
RUNTIME: Final = "python3.12"
DEFAULT_HANDLER_FILE = Path(__file__).with_name("default_handler.py")
DEFAULT_FUNCTION = "lambda_handler"


@dataclass(frozen=True)
class HandlerSpec:
    """The handler the function runs: a Python file and the function in it."""

    file: Path
    function: str = DEFAULT_FUNCTION

    @property
    def is_default(self) -> bool:
        return self.file == DEFAULT_HANDLER_FILE

    @property
    def zip_name(self) -> str:
        return "lambda_function.py" if self.is_default else self.file.name

    @property
    def lambda_handler(self) -> str:
        """The function's Handler setting: module.function."""
        return f"{Path(self.zip_name).stem}.{self.function}"

    def __str__(self) -> str:
        return "" if self.is_default else f"{self.file}:{self.function}"


DEFAULT_HANDLER = HandlerSpec(DEFAULT_HANDLER_FILE)


def parse_handler(text: str | None) -> HandlerSpec:
    """`path/to/file.py:function` (the function defaults to lambda_handler); None or "" = the default handler."""
    if not text:
        return DEFAULT_HANDLER
    path, sep, function = text.rpartition(":")
    if not sep or "/" in function or function.endswith(".py"):
        path, function = text, DEFAULT_FUNCTION
    if not function.isidentifier():
        raise UsageError(f"--handler {text!r}: {function!r} is not a Python function name", "use FILE.py:FUNCTION")
    if not path.strip():
        raise UsageError(f"--handler {text!r} names no file", "use FILE.py:FUNCTION")
    return HandlerSpec(Path(path).expanduser().resolve(), function)


def check_handler(spec: HandlerSpec) -> HandlerSpec:
    """Fail fast on what would fail every invocation: a missing file, a syntax error, no such function."""
    if not spec.file.exists():
        raise UsageError(f"handler file {spec.file} does not exist", "pass --handler FILE.py:FUNCTION")
    if spec.file.is_dir():
        raise UsageError(f"handler file {spec.file} is a directory", "pass --handler FILE.py:FUNCTION")
    if not spec.file.is_file():
        raise UsageError(f"handler file {spec.file} is not a regular file", "pass --handler FILE.py:FUNCTION")
    try:
        source = spec.file.read_bytes()
        tree = ast.parse(source, filename=str(spec.file))
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes, on some Python versions
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        raise UsageError(
            f"handler file {spec.file} has a syntax error: {message}{line}", "fix it and start again"
        ) from exc
    except OSError as exc:
        raise UsageError(f"cannot read handler file {spec.file}: {exc.strerror}", "check its permissions") from exc
    if spec.function not in _top_level_names(tree):
        raise UsageError(
            f"handler file {spec.file} defines no function {spec.function!r}",
            "name the function with --handler FILE.py:FUNCTION",
        )
    return spec


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


@dataclass(frozen=True)
class PipelineSettings:
    timeout: int = 3  # seconds (Lambda's default)
    memory_mb: int = 128
    max_receive_count: int = 3
    batch_size: int = 10
    batching_window: int = 0
    visibility_timeout: int | None = None  # None: 6 × timeout, as AWS advises

    @property
    def queue_visibility(self) -> int:
        return self.visibility_timeout if self.visibility_timeout is not None else 6 * self.timeout

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# The demo retries within seconds: 1 s timeout and visibility (the 6× rule would make it 6 s per retry).
DEMO_SETTINGS = PipelineSettings(timeout=1, visibility_timeout=1)


@dataclass(frozen=True)
class SandboxClients:
    events: EventBridgeClient
    sqs: SQSClient
    lambda_: LambdaClient
    iam: IAMClient
    logs: CloudWatchLogsClient


@dataclass(frozen=True)
class Pipeline:
    bus_arn: str
    rule_arn: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    role_arn: str
    function_arn: str
    esm_uuid: str
    log_group: str
    region: str
    handler: HandlerSpec
    settings: PipelineSettings

    def resources(self) -> dict[str, str]:
        return {
            "bus": self.bus_arn,
            "rule": self.rule_arn,
            "queue": self.queue_url,
            "dlq": self.dlq_url,
            "role": self.role_arn,
            "function": self.function_arn,
            "event_source_mapping": self.esm_uuid,
            "log_group": self.log_group,
        }


def provision(
    clients: SandboxClients, handler: HandlerSpec = DEFAULT_HANDLER, settings: PipelineSettings | None = None
) -> Pipeline:
    settings = settings or PipelineSettings()
    try:
        return _provision(clients, handler, settings)
    except EvctlError:
        raise
    except Exception as exc:
        raise (from_aws(exc, "sandbox resource") or exc) from exc


def _provision(clients: SandboxClients, handler: HandlerSpec, settings: PipelineSettings) -> Pipeline:
    sqs, events, lam = clients.sqs, clients.events, clients.lambda_
    bus_arn = events.describe_event_bus(Name=BUS)["Arn"]
    region = bus_arn.split(":")[3]

    dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    # A DLQ keeps messages longer than its source: expiry counts from the original enqueue time (doctor D-RET-1).
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)

    rule_arn = events.put_rule(
        Name=RULE,
        EventBusName=BUS,
        EventPattern=json.dumps({"source": [SOURCE], "detail-type": [DETAIL_TYPE]}),
        State="ENABLED",
        Description="The seed's user signups → user-signup-queue",
    )["RuleArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(settings.queue_visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
            ),
            "Policy": json.dumps(queue_policy(queue_arn, rule_arn)),
        },
    )
    events.put_targets(Rule=RULE, EventBusName=BUS, Targets=[{"Id": "user-signup-queue", "Arn": queue_arn}])

    role_arn = _role(clients.iam, queue_arn)
    function_arn = _function(lam, handler, settings, role_arn)
    esm_uuid = _event_source_mapping(lam, queue_arn, settings)
    _log_group(clients.logs)
    return Pipeline(
        bus_arn=bus_arn,
        rule_arn=rule_arn,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        role_arn=role_arn,
        function_arn=function_arn,
        esm_uuid=esm_uuid,
        log_group=LOG_GROUP,
        region=region,
        handler=handler,
        settings=settings,
    )


def queue_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """Lets EventBridge deliver to the queue for this rule only."""
    from evctl.core.queues import eventbridge_send_policy

    return eventbridge_send_policy(queue_arn, rule_arn, sid="AllowUserSignupRule")


def _queue_arn(sqs: SQSClient, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _role(iam: IAMClient, queue_arn: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except Exception as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise
        arn = iam.get_role(RoleName=ROLE)["Role"]["Arn"]
    permissions = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": queue_arn,
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            },
        ],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName="user-signup-handler", PolicyDocument=json.dumps(permissions))
    return str(arn)


def handler_zip(handler: HandlerSpec) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(handler.zip_name, handler.file.read_bytes())
    return buffer.getvalue()


def _function(lam: LambdaClient, handler: HandlerSpec, settings: PipelineSettings, role_arn: str) -> str:
    description = "The seed's welcome-email handler (run by evctl's local runner)"
    code = handler_zip(handler)
    try:
        created = lam.create_function(
            FunctionName=FUNCTION,
            Code={"ZipFile": code},
            Runtime=RUNTIME,
            Role=role_arn,
            Handler=handler.lambda_handler,
            Timeout=settings.timeout,
            MemorySize=settings.memory_mb,
            Description=description,
        )
        return created["FunctionArn"]
    except Exception as exc:
        if error_code(exc) != "ResourceConflictException":
            raise
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=code)
    updated = lam.update_function_configuration(
        FunctionName=FUNCTION,
        Runtime=RUNTIME,
        Role=role_arn,
        Handler=handler.lambda_handler,
        Timeout=settings.timeout,
        MemorySize=settings.memory_mb,
        Description=description,
    )
    return updated["FunctionArn"]


def _event_source_mapping(lam: LambdaClient, queue_arn: str, settings: PipelineSettings) -> str:
    existing = lam.list_event_source_mappings(EventSourceArn=queue_arn, FunctionName=FUNCTION)["EventSourceMappings"]
    if existing:
        uuid = existing[0]["UUID"]
        lam.update_event_source_mapping(
            UUID=uuid,
            FunctionName=FUNCTION,
            BatchSize=settings.batch_size,
            MaximumBatchingWindowInSeconds=settings.batching_window,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            Enabled=True,
        )
        return uuid
    created = lam.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=FUNCTION,
        BatchSize=settings.batch_size,
        MaximumBatchingWindowInSeconds=settings.batching_window,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        Enabled=True,
    )
    return created["UUID"]


def _log_group(logs: CloudWatchLogsClient) -> None:
    try:
        logs.create_log_group(logGroupName=LOG_GROUP)
    except Exception as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise


def queue_depths(sqs: SQSClient, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return {
        "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def describe(clients: SandboxClients) -> dict[str, Any]:
    """What `sandbox status` shows: each resource and the queue and DLQ depths."""
    try:
        sqs = clients.sqs
        queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        dlq_url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
        function = clients.lambda_.get_function_configuration(FunctionName=FUNCTION)
        mappings = clients.lambda_.list_event_source_mappings(FunctionName=FUNCTION)["EventSourceMappings"]
        rule = clients.events.describe_rule(Name=RULE, EventBusName=BUS)
        queue, dlq = queue_depths(sqs, queue_url), queue_depths(sqs, dlq_url)
    except Exception as exc:
        raise (
            from_aws(exc, "a sandbox resource")
            or EvctlError(f"cannot describe the sandbox: {exc}", "reprovision it with `evctl sandbox reset`")
        ) from exc
    return {
        "rule": rule["Arn"],
        "queue": queue_url,
        "dlq": dlq_url,
        "function": function["FunctionArn"],
        "handler": function.get("Handler"),
        "timeout": function.get("Timeout"),
        "event_source_mapping": mappings[0]["UUID"] if mappings else None,
        "log_group": LOG_GROUP,
        "queue_visible": queue["visible"],
        "queue_in_flight": queue["in_flight"],
        "dlq_depth": dlq["visible"] + dlq["in_flight"],
    }
