"""Bus checks (catalogue §2.1, B-*): the producer's events reach the bus the rule is on, AWS-service events are
looked for on the default bus, other accounts may put events, the bus key is usable, lost events can be replayed.

B-BUS-1 and B-AWSSRC-1 run on rules (a bus reached through one of its rules is not expanded, and the finding is
about where that rule lives); B-POLICY-1, B-KMS-1 and B-ARCHIVE-1 on buses."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from evctl.core.iam import (
    SERVICE_ABSENT_KEYS,
    Decision,
    PolicyKind,
    Principal,
    Request,
    evaluate,
    load_policy,
    service_context,
)
from evctl.core.patterns import PatternError, compile_pattern
from evctl.core.patterns.event import DEFAULT_ACCOUNT
from evctl.core.pipeline import Node
from evctl.errors import error_code

from ..context import DoctorContext, Sample
from ..model import Finding, Fix, NotChecked
from ..registry import check
from .eb_support import (
    arn_parts,
    bus_name_of,
    bus_of,
    pattern_dict,
    pattern_of,
    quoted_json,
    require_samples,
    same_bus,
    sample_evidence,
    why_not,
)

EVENTS = "events.amazonaws.com"
_NOT_FOUND = frozenset({"ResourceNotFoundException", "NotFoundException"})


def _bus_arn_like(rule_arn: str, bus: str) -> str:
    if bus.startswith("arn:"):
        return bus
    parts = arn_parts(rule_arn)
    return f"arn:{parts[1] or 'aws'}:events:{parts[3]}:{parts[4]}:event-bus/{bus}"


def _rules_on(ctx: DoctorContext, bus: str) -> list[dict[str, Any]] | None:
    """Every rule on `bus` (ListRules, all pages, through the run's cache); None when there is no such bus."""
    try:
        pages = ctx.clients.events.get_paginator("list_rules").paginate(EventBusName=bus_name_of(bus))
        return [dict(rule) for page in pages for rule in page.get("Rules", [])]
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise


def _delivering_rules(ctx: DoctorContext, bus: str, envelope: Mapping[str, Any]) -> list[str] | None:
    """The enabled rules on `bus` that match the event and have a target (None: the bus does not exist)."""
    rules = _rules_on(ctx, bus)
    if rules is None:
        return None
    hits = []
    for rule in rules:
        if rule.get("State") == "DISABLED" or not rule.get("EventPattern"):
            continue
        try:
            if not compile_pattern(str(rule["EventPattern"])).matches(envelope):
                continue
        except PatternError:
            continue
        pages = ctx.clients.events.get_paginator("list_targets_by_rule").paginate(
            Rule=str(rule["Name"]), EventBusName=bus_name_of(bus)
        )
        if any(page.get("Targets") for page in pages):
            hits.append(str(rule["Name"]))
    return hits


def _forward_fix(rule: Mapping[str, Any], from_bus: str, exists: bool, why: str) -> Fix:
    """A rule on `from_bus` with the rule's pattern whose target is the rule's bus (bus-to-bus forwarding)."""
    to_bus = _bus_arn_like(str(rule.get("Arn")), bus_of(rule))
    name = re.sub(r"[^\w.\-]", "-", f"{rule.get('Name')}-forward")[:64]
    pattern = pattern_dict(rule)
    before = []
    if not exists:
        before.append(f"aws events create-event-bus --name {shlex.quote(bus_name_of(from_bus))}")
    before.append(
        f"aws events put-rule --name {name} --event-bus-name {shlex.quote(bus_name_of(from_bus))} "
        f"--event-pattern {quoted_json(pattern)}"
    )
    target = {"Id": "forward", "Arn": to_bus}
    return Fix(
        summary=(
            f"{why}; or forward: create rule {name} on bus {bus_name_of(from_bus)} with the same pattern "
            f"whose target is bus {bus_name_of(bus_of(rule))} (AWS recommends a RoleArn on event-bus targets)"
        ),
        value={"EventBusName": to_bus, "forward_rule": name, "forward_target": target},
        before=tuple(before),
        command=(
            f"aws events put-targets --rule {name} --event-bus-name {shlex.quote(bus_name_of(from_bus))} "
            f"--targets {quoted_json([target])}"
        ),
    )


@check("B-BUS-1", on="rule")
def producer_on_another_bus(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A sample put on a bus other than the rule's, where no rule delivers it: accepted, then dropped."""
    rule = ctx.rule(node)
    pattern = pattern_of(rule)
    if pattern is None:
        raise NotChecked("a scheduled rule: it receives no events")
    given = require_samples(ctx)
    matches_any = any(pattern.matches(envelope) for _, envelope in given)
    reported: set[str] = set()
    for sample, envelope in given:
        if same_bus(sample.bus, bus_of(rule)) or bus_name_of(sample.bus) in reported:
            continue
        if matches_any and not pattern.matches(envelope):
            continue  # another producer's event: this rule is not meant for it
        delivering = _delivering_rules(ctx, sample.bus, envelope)
        if delivering:
            continue
        reported.add(bus_name_of(sample.bus))
        exists = delivering is not None
        rule_bus = _bus_arn_like(str(rule.get("Arn")), bus_of(rule))
        yield Finding(
            check="B-BUS-1",
            resource=str(rule.get("Arn") or node.id),
            message=(
                f"the producer puts {sample.origin or 'its events'} on bus {bus_name_of(sample.bus)}, but rule "
                f"{node.name} is on bus {bus_of(rule)}"
                + (" and no rule there delivers them" if exists else f" (bus {bus_name_of(sample.bus)} does not exist)")
            ),
            evidence={
                "sample": sample_evidence(sample, envelope),
                "rule_bus": bus_of(rule),
                "sample_bus": sample.bus,
                "sample_bus_exists": exists,
                "rule_matches_sample": pattern.matches(envelope),
                "why_not": why_not(pattern, envelope),
            },
            fix=_forward_fix(rule, sample.bus, exists, f"publish with EventBusName={rule_bus}"),
            related=(_bus_arn_like(str(rule.get("Arn")), sample.bus),),
        )


def _aws_sources(pattern: Any) -> list[str]:
    """The AWS-service sources (aws.*) or CloudTrail detail-types a pattern selects."""
    found: list[str] = []
    branches = pattern.get("$or", [pattern]) if isinstance(pattern, dict) else []
    for branch in branches:
        if not isinstance(branch, dict):
            continue
        sources = branch.get("source") or []
        kinds = branch.get("detail-type") or []
        for value in sources if isinstance(sources, list) else []:
            text = value if isinstance(value, str) else (value.get("prefix") if isinstance(value, dict) else None)
            if isinstance(text, str) and text.startswith("aws."):
                found.append(text)
        for value in kinds if isinstance(kinds, list) else []:
            if isinstance(value, str) and value.startswith("AWS API Call via CloudTrail"):
                found.append(value)
    return found


@check("B-AWSSRC-1", on="rule")
def aws_events_on_custom_bus(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """AWS services put their events on the default bus only: a rule for them on a custom bus never fires."""
    rule = ctx.rule(node)
    if bus_name_of(bus_of(rule)) == "default":
        return
    pattern = pattern_dict(rule)
    sources = _aws_sources(pattern)
    if not sources:
        return
    bus_arn = _bus_arn_like(str(rule.get("Arn")), bus_of(rule))
    pages = ctx.clients.events.get_paginator("list_rule_names_by_target").paginate(
        TargetArn=bus_arn, EventBusName="default"
    )
    forwarders = [name for page in pages for name in page.get("RuleNames", [])]
    if forwarders:
        return
    yield Finding(
        check="B-AWSSRC-1",
        resource=str(rule.get("Arn") or node.id),
        message=(
            f"rule {node.name} selects AWS-service events ({', '.join(sources)}) on custom bus {bus_of(rule)}: "
            "AWS services send only to the default bus, and no default-bus rule forwards to it"
        ),
        evidence={
            "EventPattern": pattern,
            "EventBusName": bus_of(rule),
            "aws_sources": sources,
            "default_bus_rules_targeting_this_bus": [],
        },
        fix=_forward_fix(rule, "default", True, "move the rule to the default bus"),
    )


def _producer_accounts(ctx: DoctorContext, bus: Node, bus_account: str) -> tuple[set[str], list[Sample]]:
    """Accounts the samples put on this bus come from, and the samples whose account is unknown."""
    known: set[str] = set()
    unknown: list[Sample] = []
    for sample, envelope in require_samples(ctx):
        if not same_bus(sample.bus, bus.name):
            continue
        account = str(sample.event.get("account") or sample.event.get("Account") or envelope.get("account") or "")
        if not sample.event.get("account") or (account == DEFAULT_ACCOUNT and account != bus_account):
            unknown.append(sample)  # absent, or evctl's placeholder account: not the producer's
        else:
            known.add(account)
    return known, unknown


def _grants(policy_text: str | None) -> list[Any]:
    try:
        document = json.loads(policy_text) if policy_text else {}
    except ValueError:
        return [policy_text]
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [
        s.get("Principal")
        for s in (statements if isinstance(statements, list) else [statements])
        if isinstance(s, dict) and s.get("Effect") == "Allow"
    ]


@check("B-POLICY-1", on="bus")
def bus_policy_refuses_producer(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A producer in another account may put events only if the bus policy lets its account (or org) do so."""
    bus = dict(ctx.clients.events.describe_event_bus(Name=node.id))
    bus_arn = str(bus.get("Arn") or node.id)
    bus_account = arn_parts(bus_arn)[4]
    known, unknown = _producer_accounts(ctx, node, bus_account)
    if not known and not unknown:
        raise NotChecked(f"no sample event is put on bus {node.name}")
    policy_text = str(bus["Policy"]) if bus.get("Policy") else None
    foreign = sorted(a for a in known if a != bus_account)
    if not foreign:
        if unknown:
            raise NotChecked(
                f"the producer's account is unknown ({unknown[0].origin or 'the samples'} carry none): a producer in "
                f"{bus_account} needs no bus policy; the policy allows PutEvents for {_grants(policy_text) or 'no one else'}"
            )
        return
    policy = load_policy(policy_text, name="bus policy") if policy_text else None
    everything = load_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        name="(the producer's own IAM policies, assumed to allow)",
        kind=PolicyKind.IDENTITY,
    )
    for account in foreign:
        principal = f"arn:{arn_parts(bus_arn)[1] or 'aws'}:iam::{account}:root"
        request = Request(
            Principal.of_arn(principal),
            "events:PutEvents",
            bus_arn,
            context={"aws:PrincipalAccount": account, "aws:PrincipalIsAWSService": False, "aws:SecureTransport": True},
        )
        result = evaluate(request, identity=[everything], resource=policy)
        if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
            keys = f" (keys: {', '.join(result.unknown_keys)})" if result.unknown_keys else ""
            raise NotChecked(f"the bus policy for account {account}: {result.reason}{keys}")
        if not result.decision.denied:
            continue
        yield Finding(
            check="B-POLICY-1",
            resource=bus_arn,
            message=(
                f"bus {node.name} (account {bus_account}) does not let account {account}, where the producer runs, "
                "put events: each entry fails with AccessDeniedException inside a 200 response"
            ),
            evidence={
                "producer_account": account,
                "bus_account": bus_account,
                "Policy": json.loads(policy_text) if policy_text else None,
                **result.as_dict(),
            },
            fix=Fix(
                summary=f"let account {account} put events on bus {node.name} (or grant the organization with "
                "aws:PrincipalOrgID)",
                value={"Action": "events:PutEvents", "Principal": account, "StatementId": f"allow-{account}"},
                command=(
                    f"aws events put-permission --event-bus-name {shlex.quote(node.name)} --action events:PutEvents "
                    f"--principal {account} --statement-id allow-{account}"
                ),
            ),
        )


@check("B-KMS-1", on="bus")
def bus_key_unusable(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """A bus encrypted with a customer managed key that is disabled, pending deletion, or closed to EventBridge."""
    bus = dict(ctx.clients.events.describe_event_bus(Name=node.id))
    key_id = str(bus.get("KmsKeyIdentifier") or "")
    if not key_id:
        return
    if ctx.clients.kms is None:
        raise NotChecked("KMS is not read in this run")
    bus_arn = str(bus.get("Arn") or node.id)
    try:
        metadata = dict(ctx.clients.kms.describe_key(KeyId=key_id)["KeyMetadata"])
    except ClientError as exc:
        if error_code(exc) not in _NOT_FOUND:
            raise
        metadata = {}
    state = str(metadata.get("KeyState") or "missing")
    if state != "Enabled":
        key = str(metadata.get("Arn") or key_id)
        key_ref = str(metadata.get("KeyId") or key)  # the id: the key is the bus's account's
        command = {
            "Disabled": f"aws kms enable-key --key-id {key_ref}",
            "PendingDeletion": f"aws kms cancel-key-deletion --key-id {key_ref}",
        }.get(state)
        yield Finding(
            check="B-KMS-1",
            resource=bus_arn,
            message=f"bus {node.name}'s key {key_id} is {state}: events put on the bus likely fail to be delivered",
            evidence={"KmsKeyIdentifier": key_id, "KeyState": state},
            fix=Fix(
                summary={
                    "Disabled": "enable the key",
                    "PendingDeletion": "cancel the key's deletion, then enable it",
                }.get(state, "point the bus at a usable key (update-event-bus --kms-key-identifier)"),
                value={"KeyState": "Enabled"},
                command=command,
            ),
            related=(key,),
        )
        return
    key_arn = str(metadata["Arn"])
    text = ctx.clients.kms.get_key_policy(KeyId=key_arn, PolicyName="default").get("Policy") or ""
    policy = load_policy(text, name="key policy", kind=PolicyKind.KEY)
    denied = {}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        request = Request(
            Principal.of_service(EVENTS), action, key_arn, context=service_context(bus_arn), absent=SERVICE_ABSENT_KEYS
        )
        result = evaluate(request, resource=policy)
        if result.decision in (Decision.INDETERMINATE, Decision.NOT_CHECKED):
            keys = f" (keys: {', '.join(result.unknown_keys)})" if result.unknown_keys else ""
            raise NotChecked(f"bus {node.name}'s key policy: {result.reason}{keys}")
        if result.decision.denied:
            denied[action] = result.as_dict()
    if not denied:
        return
    statement = {
        "Sid": "AllowEventBridgeBusEncryption",
        "Effect": "Allow",
        "Principal": {"Service": EVENTS},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceArn": bus_arn}},
    }
    document = json.loads(text) if text else {"Version": "2012-10-17", "Statement": []}
    statements = document.get("Statement", [])
    document["Statement"] = [*(statements if isinstance(statements, list) else [statements]), statement]
    yield Finding(
        check="B-KMS-1",
        resource=bus_arn,
        message=f"bus {node.name}'s key {key_arn} does not let EventBridge {' and '.join(denied)}: events likely fail",
        evidence={
            "KmsKeyIdentifier": key_id,
            "KeyArn": key_arn,
            "key_policy": json.loads(text) if text else None,
            "decisions": denied,
        },
        fix=Fix(
            summary="add this statement to the key policy (merged with its existing statements)",
            value=statement,
            command=f"aws kms put-key-policy --key-id {key_arn} --policy-name default --policy {quoted_json(document)}",
        ),
        related=(key_arn,),
    )


@check("B-ARCHIVE-1", on="bus")
def no_archive(ctx: DoctorContext, node: Node) -> Iterator[Finding]:
    """Without an archive, events lost downstream cannot be replayed."""
    bus = dict(ctx.clients.events.describe_event_bus(Name=node.id))
    bus_arn = str(bus.get("Arn") or node.id)
    archives = ctx.clients.events.list_archives(EventSourceArn=bus_arn).get("Archives", [])
    if archives:
        return
    name = re.sub(r"[^\w.\-]", "-", f"{node.name}-archive")[:48]
    yield Finding(
        check="B-ARCHIVE-1",
        resource=bus_arn,
        message=f"bus {node.name} has no archive: events lost downstream cannot be replayed",
        evidence={"archives": []},
        fix=Fix(
            summary="archive the bus's events (optionally only the rules' patterns) for a week, to replay them",
            value={"ArchiveName": name, "EventSourceArn": bus_arn, "RetentionDays": 7},
            command=f"aws events create-archive --archive-name {name} --event-source-arn {bus_arn} --retention-days 7",
        ),
    )
