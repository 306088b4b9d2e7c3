"""Reading policy documents (JSON text, URL-encoded JSON, or dicts) into normalised Policy data.

Never raises on content: a document that is not a policy becomes a Policy with ``error`` set, and a statement
that cannot be evaluated keeps its place with its own ``error`` (it is then "might apply", never skipped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from .model import Condition, Policy, PolicyKind, Statement

_PRINCIPAL_TYPES = {"aws": "AWS", "service": "Service", "federated": "Federated", "canonicaluser": "CanonicalUser"}
_KNOWN_ELEMENTS = {
    "sid",
    "effect",
    "action",
    "notaction",
    "resource",
    "notresource",
    "principal",
    "notprincipal",
    "condition",
}


def load_policy(document: object, name: str = "policy", kind: PolicyKind = PolicyKind.RESOURCE) -> Policy:
    """Normalise a policy document: a dict, JSON text, or URL-encoded JSON text (as IAM's API returns it)."""
    parsed, error = _decode(document)
    if error is not None:
        return Policy(name=name, kind=kind, error=error)
    assert isinstance(parsed, dict)
    version = parsed.get("Version")
    variables = version == "2012-10-17"
    if "Statement" not in parsed:
        return Policy(name=name, kind=kind, error="the policy has no Statement element")
    raw_statements = parsed["Statement"]
    items = raw_statements if isinstance(raw_statements, list) else [raw_statements]
    statements = tuple(_statement(index, item, kind, variables) for index, item in enumerate(items))
    return Policy(name=name, kind=kind, statements=statements)


def _decode(document: object) -> tuple[object, str | None]:
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            return None, "the policy is not UTF-8 text"
    if isinstance(document, str):
        text = document.strip()
        if text.startswith("%7B") or text.startswith("%7b"):
            text = unquote(text)
        if not text:
            return None, "the policy is empty"
        try:
            document = json.loads(text)
        except ValueError as exc:
            return None, f"the policy is not valid JSON ({exc})"
    if not isinstance(document, Mapping):
        return None, f"the policy is a JSON {type(document).__name__}, not an object"
    return dict(document), None


def _strings(value: object, element: str) -> tuple[tuple[str, ...] | None, str | None]:
    """A single string or a list of strings, as a tuple; an error text for anything else."""
    items = value if isinstance(value, list) else [value]
    if not items:
        return None, f"{element} is an empty list"
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            return None, f"{element} holds a {type(item).__name__}, not a string"
        out.append(item)
    return tuple(out), None


def _principal(value: object, element: str) -> tuple[Mapping[str, tuple[str, ...]] | None, str | None]:
    if value == "*":
        return {"AWS": ("*",)}, None
    if not isinstance(value, Mapping):
        return None, f'{element} must be "*" or an object such as {{"Service": ...}}'
    out: dict[str, tuple[str, ...]] = {}
    for key, names in value.items():
        canonical = _PRINCIPAL_TYPES.get(str(key).lower())
        if canonical is None:
            return None, f"{element} has an unknown principal type {key!r}"
        strings, error = _strings(names, f"{element}.{key}")
        if error is not None or strings is None:
            return None, error
        out[canonical] = out.get(canonical, ()) + strings
    return out, None


def _condition_value(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return value
    return None


def _conditions(value: object) -> tuple[tuple[Condition, ...], str | None]:
    if not isinstance(value, Mapping):
        return (), "Condition must be an object of operators"
    out: list[Condition] = []
    for operator, block in value.items():
        if not isinstance(block, Mapping):
            return (), f"Condition operator {operator} must map condition keys to values"
        for key, raw in block.items():
            raws = raw if isinstance(raw, list) else [raw]
            values: list[str] = []
            for item in raws:
                text = _condition_value(item)
                if text is None:
                    return (), f"Condition {operator} {key} holds a {type(item).__name__}"
                values.append(text)
            out.append(Condition(operator=str(operator), key=str(key), values=tuple(values)))
    return tuple(out), None


def _statement(index: int, item: object, kind: PolicyKind, variables: bool) -> Statement:
    if not isinstance(item, Mapping):
        return Statement(index=index, sid=None, effect="", error="the statement is not an object", raw=item)
    fields = {str(key).lower(): value for key, value in item.items()}
    sid = fields.get("sid")
    sid_text = sid if isinstance(sid, str) and sid else None

    def broken(error: str) -> Statement:
        effect = fields.get("effect")
        shown = effect if effect in ("Allow", "Deny") else ""
        return Statement(index=index, sid=sid_text, effect=shown, error=error, raw=item)

    unknown = sorted(set(fields) - _KNOWN_ELEMENTS)
    if unknown:
        return broken(f"unknown element {unknown[0]!r}")
    effect = fields.get("effect")
    if effect not in ("Allow", "Deny"):
        return broken(f'Effect must be "Allow" or "Deny", not {effect!r}')
    parsed: dict[str, Any] = {}
    for element in ("action", "notaction", "resource", "notresource"):
        if element in fields:
            strings, error = _strings(fields[element], element)
            if error is not None:
                return broken(error)
            parsed[element] = strings
    for element in ("principal", "notprincipal"):
        if element in fields:
            mapping, error = _principal(fields[element], element)
            if error is not None:
                return broken(error)
            parsed[element] = mapping
    conditions: tuple[Condition, ...] = ()
    if "condition" in fields:
        conditions, error = _conditions(fields["condition"])
        if error is not None:
            return broken(error)
    problem = _shape_problem(parsed, effect, kind)
    if problem is not None:
        return broken(problem)
    return Statement(
        index=index,
        sid=sid_text,
        effect=effect,
        actions=parsed.get("action"),
        not_actions=parsed.get("notaction"),
        resources=parsed.get("resource"),
        not_resources=parsed.get("notresource"),
        principals=parsed.get("principal"),
        not_principals=parsed.get("notprincipal"),
        conditions=conditions,
        variables=variables,
        raw=item,
    )


def _shape_problem(parsed: Mapping[str, Any], effect: str, kind: PolicyKind) -> str | None:
    if ("action" in parsed) == ("notaction" in parsed):
        return "a statement needs exactly one of Action and NotAction"
    if "resource" in parsed and "notresource" in parsed:
        return "a statement cannot have both Resource and NotResource"
    has_principal = "principal" in parsed or "notprincipal" in parsed
    if kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY):
        if has_principal:
            return "an identity policy cannot name a Principal"
        if "resource" not in parsed and "notresource" not in parsed:
            return "an identity policy statement needs Resource or NotResource"
    else:
        if "principal" in parsed and "notprincipal" in parsed:
            return "a statement cannot have both Principal and NotPrincipal"
        if not has_principal:
            return "a resource policy statement needs Principal or NotPrincipal"
        if "notprincipal" in parsed and effect == "Allow":
            return "NotPrincipal is only supported with Effect Deny"
    return None
