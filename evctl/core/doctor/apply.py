"""Apply a fix's `aws ...` command line through boto3: evctl never needs the aws CLI to run what it prints.

    call = parse_command("aws sqs set-queue-attributes --queue-url URL --attributes VisibilityTimeout=18")
    call.service, call.operation, call.params     # "sqs", "SetQueueAttributes", {"QueueUrl": URL, "Attributes": {...}}
    apply_command(lambda service: factory.client(service), fix.command, cwd=workdir)   # the call's response

The operation and its parameters come from botocore's service model, named as the aws CLI names them
(`xform_name(..., "-")`: SetQueueAttributes ↔ set-queue-attributes, QueueUrl ↔ --queue-url). Values follow the aws
CLI: strings as given (a policy document is JSON *text*), numbers parsed, booleans as `--flag` / `--no-flag`,
structures, lists and maps as JSON or in the CLI's shorthand (`Key=Value,Other=[a,b]`, one level deep), a list
of scalars also as several words (`--function-response-types ReportBatchItemFailures`), `file://PATH` (text) and
`fileb://PATH` (bytes) read relative to `cwd`. Anything else (global options such as --region, nested shorthand,
an unknown operation or option) is refused with a CommandError naming it: never guessed.
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evctl.errors import UsageError

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

__all__ = ["AwsCall", "CommandError", "apply_command", "parse_command"]

# The aws CLI's command names that are not botocore's service names.
_CLI_SERVICES = {"s3api": "s3"}
_SCALARS = frozenset({"string", "integer", "long", "float", "double", "boolean", "timestamp", "blob"})
HINT = "apply it with the aws CLI, or make the change by hand"


class CommandError(UsageError):
    """A command line evctl cannot turn into an AWS call (exit 2): what is wrong, and to use the aws CLI instead."""

    def __init__(self, command: str, what: str) -> None:
        super().__init__(f"cannot apply {_shorten(command)!r}: {what}", HINT)
        self.what = what


@dataclass(frozen=True)
class AwsCall:
    """One AWS API call: the botocore service name, the operation (PascalCase), its input parameters."""

    service: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """The boto3 client method: set_queue_attributes."""
        from botocore import xform_name

        return str(xform_name(self.operation))


def apply_command(
    client_for: Callable[[str], Any], command: str, *, cwd: Path | None = None
) -> dict[str, Any]:
    """Parse `command` and make its call with client_for(service); the response (botocore's errors propagate)."""
    call = parse_command(command, cwd=cwd)
    client = client_for(call.service)
    return dict(getattr(client, call.method)(**call.params))


def parse_command(command: str, *, cwd: Path | None = None) -> AwsCall:
    """The AwsCall an `aws <service> <operation> [--option value ...]` line makes; CommandError when it cannot."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CommandError(command, f"not a shell command line ({exc})") from None
    if len(words) < 3 or words[0] != "aws":
        raise CommandError(command, "not an `aws <service> <operation> ...` command")
    cli_service, cli_operation, rest = words[1], words[2], words[3:]
    model = _service_model(command, _CLI_SERVICES.get(cli_service, cli_service))
    operation = _operation(command, model, cli_operation)
    members = _members(operation)
    params: dict[str, Any] = {}
    index = 0
    while index < len(rest):
        word = rest[index]
        if not word.startswith("--") or word == "--":
            raise CommandError(command, f"unexpected word {word!r} (expected an --option)")
        option = word[2:]
        name, _, inline = option.partition("=")
        has_inline = "=" in option
        member = members.get(name)
        if member is None and name.startswith("no-") and name[3:] in members:
            negated = members[name[3:]]
            if _shape(operation, negated).type_name == "boolean" and not has_inline:
                params[negated] = False
                index += 1
                continue
        if member is None:
            raise CommandError(command, f"{cli_service} {cli_operation} has no option --{name} evctl can apply")
        shape = _shape(operation, member)
        if member in params:
            raise CommandError(command, f"--{name} is given twice")
        if shape.type_name == "boolean" and not has_inline:
            params[member] = True
            index += 1
            continue
        if has_inline:
            values, index = [inline], index + 1
        else:
            values, index = _values(rest, index + 1)
        if not values:
            raise CommandError(command, f"--{name} needs a value")
        params[member] = _value(command, name, shape, values, cwd)
    missing = [m for m in operation.input_shape.required_members if m not in params] if operation.input_shape else []
    if missing:
        names = ", ".join("--" + _cli_name(m) for m in missing)
        raise CommandError(command, f"{cli_service} {cli_operation} needs {names}")
    return AwsCall(model.service_name, operation.name, params)


# ---- the service model --------------------------------------------------------------------------------------------


@functools.cache
def _loader_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _service_model(command: str, service: str) -> ServiceModel:
    from botocore.exceptions import UnknownServiceError

    try:
        model: ServiceModel = _loader_session().get_service_model(service)
    except UnknownServiceError:
        raise CommandError(command, f"unknown AWS service {service!r}") from None
    return model


def _operation(command: str, model: ServiceModel, cli_name: str) -> OperationModel:
    from botocore import xform_name

    for name in model.operation_names:
        if xform_name(name, "-") == cli_name:
            return model.operation_model(name)
    raise CommandError(command, f"{model.service_name} has no operation {cli_name!r}")


def _members(operation: OperationModel) -> dict[str, str]:
    """CLI option name → input member name (QueueUrl ↔ queue-url)."""
    shape = operation.input_shape
    return {_cli_name(member): member for member in (shape.members if shape is not None else {})}


def _cli_name(member: str) -> str:
    from botocore import xform_name

    return str(xform_name(member, "-"))


def _shape(operation: OperationModel, member: str) -> Shape:
    assert operation.input_shape is not None
    return operation.input_shape.members[member]


def _values(words: list[str], index: int) -> tuple[list[str], int]:
    """The words up to the next --option (a list option takes several, as the aws CLI's nargs='+')."""
    values = []
    while index < len(words) and not words[index].startswith("--"):
        values.append(words[index])
        index += 1
    return values, index


# ---- values -------------------------------------------------------------------------------------------------------


def _value(command: str, option: str, shape: Shape, words: list[str], cwd: Path | None) -> Any:
    kind = shape.type_name
    if kind != "list" and len(words) > 1:
        raise CommandError(command, f"--{option} takes one value, got {len(words)}: quote it")
    if kind == "list":
        first = _read(command, words[0], cwd, binary=False)
        if len(words) == 1 and isinstance(first, str) and first.lstrip().startswith("["):
            return _json(command, option, first)
        member = shape.member  # type: ignore[attr-defined]
        return [_item(command, option, member, word, cwd) for word in words]
    return _item(command, option, shape, words[0], cwd)


def _item(command: str, option: str, shape: Shape, word: str, cwd: Path | None) -> Any:
    kind = shape.type_name
    if kind in _SCALARS:
        text = _read(command, word, cwd, binary=kind == "blob")
        return text if isinstance(text, bytes) else _scalar(command, option, shape, text)
    text = _read(command, word, cwd, binary=False)
    assert isinstance(text, str)
    if text.lstrip().startswith(("{", "[")):
        return _json(command, option, text)
    return _shorthand(command, option, shape, text)


def _read(command: str, word: str, cwd: Path | None, *, binary: bool) -> str | bytes:
    """file://PATH as text, fileb://PATH as bytes (relative to cwd), anything else as given."""
    for prefix, as_bytes in (("fileb://", True), ("file://", False)):
        if word.startswith(prefix):
            path = Path(word[len(prefix) :]).expanduser()
            if not path.is_absolute():
                path = (cwd or Path.cwd()) / path
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(command, f"cannot read {path}: {exc.strerror}") from None
            if as_bytes:
                return data
            return data.decode("utf-8")
    return word.encode("utf-8") if binary else word


def _scalar(command: str, option: str, shape: Shape, text: str) -> Any:
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        raise CommandError(command, f"--{option}: {text!r} is not a number") from None
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise CommandError(command, f"--{option}: {text!r} is not true or false")
        return lowered == "true"
    return text


def _json(command: str, option: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CommandError(command, f"--{option} is not valid JSON ({exc})") from None


def _shorthand(command: str, option: str, shape: Shape, text: str) -> Any:
    """The aws CLI's shorthand, one level: `Key=Value,Key2=[a,b]` for a structure or a map."""
    kind = shape.type_name
    if kind not in ("structure", "map"):
        raise CommandError(command, f"--{option}: shorthand for a {kind} is not supported: give it as JSON")
    result: dict[str, Any] = {}
    for pair in _split(command, option, text):
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(command, f"--{option}: {pair!r} is not Key=Value")
        if value.startswith("{"):
            raise CommandError(command, f"--{option}: nested shorthand is not supported: give it as JSON")
        if kind == "map":
            member_shape = shape.value  # type: ignore[attr-defined]
        else:
            members = shape.members  # type: ignore[attr-defined]
            if key not in members:
                raise CommandError(command, f"--{option}: no member {key!r} (members: {', '.join(members)})")
            member_shape = members[key]
        result[key] = _shorthand_value(command, option, member_shape, value)
    return result


def _shorthand_value(command: str, option: str, shape: Shape, value: str) -> Any:
    items = [v.strip() for v in value[1:-1].split(",") if v.strip()] if value.startswith("[") else None
    if shape.type_name == "list":
        member = shape.member  # type: ignore[attr-defined]
        if member.type_name not in _SCALARS:
            raise CommandError(command, f"--{option}: a list of {member.type_name}s in shorthand: give it as JSON")
        return [_scalar(command, option, member, item) for item in (items if items is not None else [value])]
    if items is not None or shape.type_name not in _SCALARS or shape.type_name == "blob":
        raise CommandError(command, f"--{option}: this shorthand value is not supported: give it as JSON")
    return _scalar(command, option, shape, value)


def _split(command: str, option: str, text: str) -> list[str]:
    """Split on the commas outside [...]."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise CommandError(command, f"--{option}: unbalanced ']' in {text!r}")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise CommandError(command, f"--{option}: unbalanced '[' in {text!r}")
    parts.append(current)
    return [p for p in parts if p.strip()]


def _shorten(command: str, limit: int = 120) -> str:
    return command if len(command) <= limit else command[: limit - 1] + "…"
