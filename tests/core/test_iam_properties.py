"""Properties of the IAM evaluator over generated policies and requests (hypothesis)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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

ACCOUNT = "111122223333"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
DLQ = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-dlq"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/orders-fn-role"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders-rule"
EB = "events.amazonaws.com"

ACTIONS = ["*", "sqs:*", "sqs:SendMessage", "sqs:Receive*", "kms:Decrypt", "SQS:SENDMESSAGE", "sqs:?eleteMessage"]
RESOURCES = ["*", QUEUE, DLQ, f"arn:aws:sqs:*:{ACCOUNT}:*", "arn:aws:sqs:us-east-1:${aws:username}:x"]
PRINCIPALS: list[Any] = ["*", {"Service": EB}, {"AWS": ACCOUNT}, {"AWS": ROLE}, {"Service": "sns.amazonaws.com"}]
CONDITIONS: list[Any] = [
    None,
    {"ArnEquals": {"aws:SourceArn": RULE}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/other"}},
    {"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}},
    {"StringEquals": {"aws:ResourceTag/env": "prod"}},  # unknown key
    {"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}},
    {"Null": {"aws:SourceArn": "false"}},
]


@st.composite
def statements(draw: st.DrawFn, resource_policy: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    action = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3))
    statement["NotAction" if draw(st.booleans()) and len(action) == 1 else "Action"] = action
    resource = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2))
    statement["NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"] = resource
    if resource_policy:
        statement["Principal"] = draw(st.sampled_from(PRINCIPALS))
    condition = draw(st.sampled_from(CONDITIONS))
    if condition is not None:
        statement["Condition"] = condition
    return statement


def documents(resource_policy: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(statements(resource_policy), min_size=0, max_size=5)


requests = st.builds(
    lambda service, action, resource: Request(
        Principal.of_service(EB) if service else Principal.of_arn(ROLE),
        action,
        resource,
        context=service_context(RULE) if service else {"aws:PrincipalArn": ROLE},
        absent=SERVICE_ABSENT_KEYS,
    ),
    st.booleans(),
    st.sampled_from(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "kms:Decrypt"]),
    st.sampled_from([QUEUE, DLQ]),
)


def _decide(request: Request, identity: list[dict[str, Any]], resource: list[dict[str, Any]]) -> Decision:
    identity_policy = load_policy({"Version": "2012-10-17", "Statement": identity}, "identity", PolicyKind.IDENTITY)
    resource_policy = load_policy({"Version": "2012-10-17", "Statement": resource}, "queue policy")
    return evaluate(request, [identity_policy], None, resource_policy).decision


@settings(max_examples=300, deadline=None)
@given(requests, documents(False), documents(True), st.booleans())
def test_adding_an_applicable_deny_gives_explicit_deny(
    request: Request, identity: list[dict[str, Any]], resource: list[dict[str, Any]], in_resource: bool
) -> None:
    deny: dict[str, Any] = {"Sid": "Added", "Effect": "Deny", "Action": "*", "Resource": "*"}
    if in_resource:
        resource = [*resource, {**deny, "Principal": "*"}]
    else:
        identity = [*identity, deny]
    assert _decide(request, identity, resource) is Decision.EXPLICIT_DENY


@settings(max_examples=300, deadline=None)
@given(requests, documents(False), documents(True), statements(True))
def test_adding_a_deny_never_turns_a_result_into_allow(
    request: Request, identity: list[dict[str, Any]], resource: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    before = _decide(request, identity, resource)
    after = _decide(request, identity, [*resource, {**extra, "Effect": "Deny"}])
    if before is not Decision.ALLOW:
        assert after is not Decision.ALLOW
    if before.denied:
        assert after.denied  # a denial stays a denial: never allow, never indeterminate


@settings(max_examples=300, deadline=None)
@given(requests, documents(False), documents(True), st.randoms(use_true_random=False))
def test_statement_order_does_not_change_the_decision(
    request: Request, identity: list[dict[str, Any]], resource: list[dict[str, Any]], rng: Any
) -> None:
    before = _decide(request, identity, resource)
    shuffled_identity, shuffled_resource = list(identity), list(resource)
    rng.shuffle(shuffled_identity)
    rng.shuffle(shuffled_resource)
    assert _decide(request, shuffled_identity, shuffled_resource) is before


service_names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
action_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True)
arn_parts = st.from_regex(r"[A-Za-z0-9/:._*?$-]{0,30}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(service_names, action_names, service_names, arn_parts)
def test_star_action_and_resource_match_everything(service: str, action: str, arn_service: str, tail: str) -> None:
    resource = f"arn:aws:{arn_service}:us-east-1:{ACCOUNT}:{tail}"
    request = Request(Principal.of_arn(ROLE), f"{service}:{action}", resource, closed=True)
    identity = load_policy({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}, "i", PolicyKind.IDENTITY)
    assert evaluate(request, [identity]).decision is Decision.ALLOW
    scoped = load_policy(
        {"Statement": {"Effect": "Allow", "Action": f"{service}:*", "Resource": f"arn:aws:{arn_service}:*:*:*"}},
        "i",
        PolicyKind.IDENTITY,
    )
    assert evaluate(request, [scoped]).decision is Decision.ALLOW


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
element_names = st.sampled_from(
    ["Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition", "Sid"]
)
statement_like = st.dictionaries(element_names, json_values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(requests, st.one_of(json_values, st.lists(statement_like, max_size=3)), st.booleans())
def test_any_document_gives_a_result_not_an_exception(request: Request, body: Any, as_text: bool) -> None:
    document: Any = {"Version": "2012-10-17", "Statement": body} if isinstance(body, list) else body
    if as_text:
        document = json.dumps(document)
    for kind in (PolicyKind.RESOURCE, PolicyKind.KEY, PolicyKind.IDENTITY):
        policy = load_policy(document, "fuzzed", kind)
        result = evaluate(
            request,
            [policy] if kind is PolicyKind.IDENTITY else [],
            None,
            None if kind is PolicyKind.IDENTITY else policy,
        )
        assert isinstance(result.decision, Decision)
        assert result.reason


def test_result_as_dict_is_json() -> None:
    policy = load_policy(
        {"Statement": {"Sid": "EB", "Effect": "Allow", "Principal": {"Service": EB}, "Action": "sqs:SendMessage"}}
    )
    request = Request(Principal.of_service(EB), "sqs:SendMessage", QUEUE, context=service_context(RULE))
    data = evaluate(request, resource=policy).as_dict()
    assert json.loads(json.dumps(data))["decision"] == "allow"
    assert data["deciding"] == [{"policy": "policy", "kind": "resource", "statement": "Sid 'EB'", "effect": "Allow"}]
