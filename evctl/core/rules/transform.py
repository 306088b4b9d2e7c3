"""What a rule target receives for an event: the whole event, `Input`, `InputPath` or `InputTransformer`.

Rendered as EventBridge renders it (AWS EventBridge user guide, "Amazon EventBridge input transformation",
eb-transform-target-input), not as moto does (moto ignores InputPath and pastes transformer values unquoted):

- no input configuration: the whole event, as JSON;
- `Input`: the constant text, verbatim;
- `InputPath`: the JSON value at the path (a string value arrives JSON-quoted);
- `InputTransformer`: `InputPathsMap` names values; `<name>` placeholders in `InputTemplate` are replaced.
  In a JSON template (one that is a JSON object, i.e. starts with `{`), a placeholder outside a string literal
  takes the value as JSON (strings gain quotes); inside a string literal, and anywhere in a plain-text template,
  it takes the raw value, which EventBridge does not escape. A path missing from the event creates no variable:
  its placeholder renders empty (`""` where a JSON value is expected). JSON output is minified.

Nothing here calls AWS or prints.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from evctl.core.common.time import iso_utc
from evctl.errors import UsageError

InputKind = Literal["event", "input", "input-path", "input-transformer"]

RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
RESERVED = (RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON)

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]")
MISSING = object()


class TransformError(UsageError):
    """A JSON path or template EventBridge would not accept."""


@dataclass(frozen=True)
class Rendered:
    """What one target would receive.

    `body` is the exact text delivered (None when nothing would be); `missing` names the transformer variables
    whose path is not in the event; `problem` says why AWS would not deliver `body` as intended.
    """

    kind: InputKind
    body: str | None
    missing: tuple[str, ...] = ()
    problem: str | None = None

    @property
    def value(self) -> Any:
        """The body as JSON when it parses, else the text."""
        if self.body is None:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "receives": self.value}
        if self.missing:
            data["missing"] = list(self.missing)
        if self.problem:
            data["problem"] = self.problem
        return data


@dataclass(frozen=True)
class RuleContext:
    """The reserved variables that do not come from the event."""

    rule_name: str
    rule_arn: str
    ingestion_time: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _minified(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_path(path: str) -> list[str | int | None]:
    """Steps of a JSONPath in EventBridge's subset: `$`, `.key`, `[index]`, `[*]` / `.*` (None = every element)."""
    text = path.strip()
    if not text.startswith("$"):
        raise TransformError(f"invalid JSON path {path!r}", "paths start with $, e.g. $.detail.user-id")
    steps: list[str | int | None] = []
    pos = 1
    while pos < len(text):
        match = _PATH_STEP.match(text, pos)
        if match is None:
            raise TransformError(
                f"invalid JSON path {path!r} at character {pos + 1}",
                "EventBridge accepts dot notation and array indices only, e.g. $.detail.items[0].id",
            )
        key, index = match.group(1), match.group(2)
        if key is not None:
            steps.append(None if key == "*" else key)
        else:
            steps.append(None if index == "*" else int(index))
        pos = match.end()
    return steps


def extract(document: Any, path: str) -> Any:
    """The value at `path`, or MISSING. A wildcard step yields a list of what it finds."""
    return _walk(document, parse_path(path))


def _walk(node: Any, steps: list[str | int | None]) -> Any:
    for position, step in enumerate(steps):
        if step is None:
            children = list(node.values()) if isinstance(node, Mapping) else node if isinstance(node, list) else None
            if children is None:
                return MISSING
            found = [_walk(child, steps[position + 1 :]) for child in children]
            return [item for item in found if item is not MISSING]
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return MISSING
            node = node[step]
        else:
            if not isinstance(node, Mapping) or step not in node:
                return MISSING
            node = node[step]
    return node


def is_json_template(template: str) -> bool:
    """AWS applies the JSON rules to a template that is a JSON object (surrounded by curly braces)."""
    return template.lstrip().startswith("{")


def ingestion_timestamp(moment: dt.datetime) -> str:
    """ISO 8601, as EventBridge writes event times: 2015-11-11T21:29:54Z."""
    return iso_utc(moment)


def event_without_detail(event: Mapping[str, Any]) -> dict[str, Any]:
    """`<aws.events.event>`: the envelope without `detail`, keyed as EventBridge delivers it (detailType)."""
    names = (
        ("id", "id"),
        ("account", "account"),
        ("detailType", "detail-type"),
        ("time", "time"),
        ("source", "source"),
        ("region", "region"),
        ("resources", "resources"),
        ("version", "version"),
    )
    return {out: event[key] for out, key in names if key in event}


def transformer_variables(
    transformer: Mapping[str, Any], event: Mapping[str, Any], context: RuleContext
) -> tuple[dict[str, Any], list[str]]:
    """The variables a template may use, and the names whose path is not in the event."""
    variables: dict[str, Any] = {}
    missing: list[str] = []
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        if name in RESERVED or name.startswith("AWS."):
            raise TransformError(f"InputPathsMap variable {name!r} is reserved by EventBridge", "rename it")
        value = extract(event, str(path))
        if value is MISSING:
            missing.append(name)
        else:
            variables[name] = value
    variables[RULE_ARN] = context.rule_arn
    variables[RULE_NAME] = context.rule_name
    variables[INGESTION_TIME] = ingestion_timestamp(context.ingestion_time)
    variables[EVENT] = event_without_detail(event)
    variables[EVENT_JSON] = dict(event)
    return variables, missing


def render_template(template: str, variables: Mapping[str, Any], missing: list[str] | tuple[str, ...] = ()) -> str:
    """Fill `<name>` placeholders. `missing` names declared variables whose path the event lacks (render empty)."""
    json_mode = is_json_template(template)
    out: list[str] = []
    in_string = False
    pos = 0
    while pos < len(template):
        char = template[pos]
        if char == "<":
            match = _PLACEHOLDER.match(template, pos)
            if match is not None and (match.group(1) in variables or match.group(1) in missing):
                name = match.group(1)
                as_json = json_mode and not in_string
                if name in variables:
                    value = variables[name]
                    if isinstance(value, str) and not as_json:
                        out.append(value)  # raw, not escaped: as EventBridge does
                    else:
                        out.append(_minified(value))
                elif as_json:
                    out.append('""')
                pos = match.end()
                continue
            if match is not None:
                raise TransformError(
                    f"InputTemplate contains invalid placeholder <{match.group(1)}>",
                    "declare it in InputPathsMap (AWS rejects such a target in PutTargets)",
                )
        elif json_mode and char == "\\" and in_string:
            out.append(template[pos : pos + 2])
            pos += 2
            continue
        elif json_mode and char == '"':
            in_string = not in_string
        out.append(char)
        pos += 1
    return "".join(out)


def render_target(target: Mapping[str, Any], event: Mapping[str, Any], context: RuleContext) -> Rendered:
    """What `target` (a ListTargetsByRule entry) receives for `event` (a full envelope)."""
    if target.get("Input") is not None:
        return Rendered("input", str(target["Input"]))
    if target.get("InputPath"):
        path = str(target["InputPath"])
        try:
            value = extract(event, path)
        except TransformError as exc:
            return Rendered("input-path", None, problem=str(exc))
        if value is MISSING:
            return Rendered("input-path", None, problem=f"InputPath {path} is not in the event")
        return Rendered("input-path", _minified(value))
    transformer = target.get("InputTransformer")
    if transformer:
        try:
            return _render_transformer(transformer, event, context)
        except TransformError as exc:
            return Rendered("input-transformer", None, problem=str(exc))
    return Rendered("event", _minified(dict(event)))


def _render_transformer(transformer: Mapping[str, Any], event: Mapping[str, Any], context: RuleContext) -> Rendered:
    template = str(transformer.get("InputTemplate") or "")
    variables, missing = transformer_variables(transformer, event, context)
    text = render_template(template, variables, missing)
    problem = None
    if missing:
        paths = transformer.get("InputPathsMap") or {}
        listed = ", ".join(f"<{name}> ({paths[name]})" for name in missing)
        problem = f"not in the event, rendered empty: {listed}"
    if is_json_template(template):
        try:
            text = _minified(json.loads(text))
        except ValueError:
            invalid = "the rendered template is not valid JSON; EventBridge fails such a delivery (INVALID_JSON)"
            problem = f"{problem}; {invalid}" if problem else invalid
    return Rendered("input-transformer", text, tuple(missing), problem)
