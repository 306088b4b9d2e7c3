"""Queue access checks (catalogue §2.5, QP): may EventBridge, acting for each rule that routes to the queue, send to
it (the queue policy) and encrypt for it (the queue's KMS key)? Decided offline by evctl.core.iam (⚖)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evctl.core.iam import (
    Decision,
    Policy,
    Request,
    Result,
    StatementRef,
    evaluate,
    events_send_request,
    load_policy,
)
from evctl.core.pipeline import Node
from evctl.core.queues import eventbridge_send_policy

from ..context import DoctorContext
from ..metrics import evidence_metric, rule_dimensions
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .queue_common import (
    compact,
    queue_arn,
    routing_rules,
    rules_not_all_read,
    set_attributes_command,
    url,
)

if TYPE_CHECKING:
    pass

EVENTS = "events.amazonaws.com"
METRIC_SECONDS = 86_400  # supporting evidence: the rule's FailedInvocations over the last day


# ---- the queue policy ---------------------------------------------------------------------------------------------
def _document(text: str | None) -> dict[str, Any] | None:
    """The queue policy as a dict with a list of statements (None: no policy or not JSON)."""
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    statements = document.get("Statement", [])
    document["Statement"] = statements if isinstance(statements, list) else [statements]
    return document


def _statements_of(document: dict[str, Any] | None) -> list[Any]:
    return [] if document is None else list(document["Statement"])


def _send_request(queue: str, rule_arn: str) -> Request:
    return events_send_request(queue, rule_arn)


def _neutral(statement: Any) -> Any:
    """A Deny that can never apply, in the Deny's place (so statement numbers stay those of the real policy)."""
    if isinstance(statement, dict) and statement.get("Effect") == "Deny":
        return {"Effect": "Deny", "Principal": "*", "Action": "evctl:NothingAtAll", "Resource": "*"}
    return statement


def _policy(document: dict[str, Any] | None, text: str | None, allows_only: bool = False) -> Policy | None:
    """The queue policy (or only its Allow statements) for the evaluator; None: there is none."""
    if not text:
        return None
    if not allows_only or document is None:
        return load_policy(text, name="queue policy")
    return load_policy(dict(document, Statement=[_neutral(s) for s in document["Statement"]]), name="queue policy")


def _raw(policy: Policy | None, ref: StatementRef) -> Any:
    """The statement a decision names, as written in the policy."""
    for statement in policy.statements if policy else ():
        if statement.label == ref.statement:
            return statement.raw
    return None


def _sid_for(rule: Node, document: dict[str, Any] | None) -> str:
    base = "AllowEventBridge" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", rule.name) if part)
    taken = {s.get("Sid") for s in _statements_of(document) if isinstance(s, dict)}
    sid, n = base, 2
    while sid in taken:
        sid, n = f"{base}{n}", n + 1
    return sid


def _with_statement(document: dict[str, Any] | None, statement: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = copy.deepcopy(document) if document else {"Version": "2012-10-17", "Statement": []}
    merged["Statement"] = [*merged["Statement"], statement]
    return merged


def _policy_fix(queue_url: str, policy: dict[str, Any], summary: str, value: Any) -> Fix:
    return Fix(summary=summary, value=value, command=set_attributes_command(queue_url, {"Policy": compact(policy)}))


def _decisions(ctx: DoctorContext, node: Node, allows_only: bool) -> Iterator[tuple[Node, str, Result, Policy | None]]:
    attributes = ctx.queue_attributes(node)
    text = attributes.get("Policy") or None
    document = _document(text)
    policy = _policy(document, text, allows_only)
    for rule, rule_arn in routing_rules(ctx, node):
        yield rule, rule_arn, evaluate(_send_request(queue_arn(node, attributes), rule_arn), resource=policy), policy


def undecided(results: list[tuple[str, Result]], queue: Node) -> None:
    """Raise NotChecked for the first rule whose answer is uncertain, or when the rules may be incomplete (called
    when nothing failed: a pass must cover every rule)."""
    incomplete = rules_not_all_read(queue)
    if incomplete:
        raise NotChecked(incomplete)
    for rule_arn, result in results:
        if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
            keys = f" (unknown keys: {', '.join(result.unknown_keys)})" if result.unknown_keys else ""
            raise NotChecked(f"queue policy for rule {rule_arn}: {result.reason}{keys}")


def _allow_finding(ctx: DoctorContext, node: Node, check_id: str) -> Iterator[Finding]:
    attributes = ctx.queue_attributes(node)
    document = _document(attributes.get("Policy") or None)
    arn = queue_arn(node, attributes)
    findings: list[Finding] = []
    uncertain: list[tuple[str, Result]] = []
    for rule, rule_arn, result, policy in _decisions(ctx, node, allows_only=True):
        if result.decision is not Decision.IMPLICIT_DENY:
            uncertain.append((rule_arn, result))
            continue
        near = [(ref, _raw(policy, ref)) for ref in result.near_misses]
        if (check_id == "Q-POLICY-2") != bool(near):
            continue
        statement = eventbridge_send_policy(arn, rule_arn, sid=_sid_for(rule, document))["Statement"][0]
        merged = _with_statement(document, statement)
        evidence: dict[str, Any] = {
            "rule": rule_arn,
            "request": {"principal": EVENTS, "action": "sqs:SendMessage", "resource": arn, "aws:SourceArn": rule_arn},
            "decision": result.decision.value,
            "reason": result.reason,
        }
        if near:
            evidence["near_misses"] = [{"label": ref.statement, "statement": raw, "why": ref.note} for ref, raw in near]
            message = (
                f"{node.name}'s policy allows EventBridge only under a condition rule {rule.name} does not meet: "
                f"{near[0][0].note}"
            )
        else:
            evidence["Policy"] = document if document is not None else (attributes.get("Policy") or None)
            evidence["FailedInvocations (24 h)"] = evidence_metric(ctx, "AWS/Events", "FailedInvocations", rule_dimensions(rule), METRIC_SECONDS)
            message = f"{node.name}'s policy does not let EventBridge send for rule {rule.name}: every event is dropped"
        findings.append(
            Finding(
                check=check_id,
                resource=node.id,
                message=message,
                evidence=evidence,
                fix=_policy_fix(
                    url(node),
                    merged,
                    f"add this statement to {node.name}'s policy (merged with its existing statements)",
                    statement,
                ),
                related=(rule.id,),
            )
        )
    if not findings:
        undecided(uncertain, node)
    yield from findings


@check("Q-POLICY-1", on="queue")
def queue_policy_does_not_allow_eventbridge(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """No Allow statement lets events.amazonaws.com send for a rule routing here (no policy at all included)."""
    yield from _allow_finding(ctx, node, "Q-POLICY-1")


@check("Q-POLICY-2", on="queue")
def queue_policy_condition_does_not_match_rule(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """An Allow for EventBridge exists but its condition (aws:SourceArn, aws:SourceAccount, ...) excludes this rule."""
    yield from _allow_finding(ctx, node, "Q-POLICY-2")


def _exempt_services(statement: dict[str, Any]) -> dict[str, Any]:
    fixed = copy.deepcopy(statement)
    condition = fixed.setdefault("Condition", {})
    condition.setdefault("BoolIfExists", {})["aws:PrincipalIsAWSService"] = "false"
    return fixed


@check("Q-POLICY-3", on="queue")
def queue_policy_deny_catches_eventbridge(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A Deny (a negated condition on a key services lack, a NotPrincipal) applies to EventBridge's delivery."""
    attributes = ctx.queue_attributes(node)
    document = _document(attributes.get("Policy") or None)
    arn = queue_arn(node, attributes)
    findings: list[Finding] = []
    uncertain: list[tuple[str, Result]] = []
    for rule, rule_arn, result, policy in _decisions(ctx, node, allows_only=False):
        if result.decision is not Decision.EXPLICIT_DENY:
            if any(ref.effect == "Deny" for ref in result.uncertain) or result.decision in (
                Decision.INDETERMINATE,
                Decision.NOT_CHECKED,
            ):
                uncertain.append((rule_arn, result))
            continue
        denies = [_raw(policy, ref) for ref in result.deciding]
        assert document is not None  # an explicit deny comes from a policy that parsed
        fixed = copy.deepcopy(document)
        fixed["Statement"] = [
            _exempt_services(s) if any(s == d for d in denies) and isinstance(s, dict) else s
            for s in fixed["Statement"]
        ]
        # The Deny fixed, does an Allow remain missing? Then the fix adds it too (one command, the whole answer).
        if not evaluate(_send_request(arn, rule_arn), resource=load_policy(fixed, name="queue policy")).allowed:
            statement = eventbridge_send_policy(arn, rule_arn, sid=_sid_for(rule, fixed))["Statement"][0]
            fixed = _with_statement(fixed, statement)
        changed = [s for s in fixed["Statement"] if s not in document["Statement"]]
        findings.append(
            Finding(
                check="Q-POLICY-3",
                resource=node.id,
                message=f"a Deny in {node.name}'s policy catches EventBridge delivering for rule {rule.name}",
                evidence={
                    "rule": rule_arn,
                    "request": {
                        "principal": EVENTS,
                        "action": "sqs:SendMessage",
                        "resource": arn,
                        "aws:SourceArn": rule_arn,
                        "aws:PrincipalIsAWSService": True,
                    },
                    "decision": result.decision.value,
                    "reason": result.reason,
                    "deny_statements": denies,
                },
                fix=_policy_fix(
                    url(node),
                    fixed,
                    'exempt AWS services from the Deny: add "BoolIfExists": {"aws:PrincipalIsAWSService": "false"} '
                    "to its Condition",
                    changed,
                ),
                related=(rule.id,),
            )
        )
    if not findings:
        undecided(uncertain, node)
    yield from findings


# ---- the queue's KMS key --------------------------------------------------------------------------------------------
