"""What a target receives: Input, InputPath and InputTransformer rendered as EventBridge renders them.

Sources of the expected values (AWS behaviour, not moto's):
- [UG] AWS EventBridge user guide, "Amazon EventBridge input transformation"
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
  (archived text: github.com/awsdocs/amazon-eventbridge-user-guide doc_source/eb-transform-target-input.md):
  the EC2 example event, the "Input Transform Examples" table, the predefined variables, and "Common issues"
  (a path missing from the event creates no variable; values are not escaped; the JSON passed is minified).
- [API] EventBridge API reference, InputTransformer
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html (its three examples).
- [LS] Responses recorded against real AWS by LocalStack's AWS-validated tests:
  github.com/localstack/localstack tests/aws/services/events/test_events_inputs.py and its .snapshot.json
  (recorded 2024-05/06): a missing path renders empty, `""` as a JSON value; `<aws.events.event>` is the
  envelope without detail, keyed `detailType`; InputPath to a string arrives JSON-quoted; PutTargets rejects a
  template placeholder that is not declared.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evctl.core.rules.transform import (
    MISSING,
    RuleContext,
    TransformError,
    extract,
    is_json_template,
    parse_path,
    render_target,
)

# [UG] "Input Transform Examples": the example Amazon EC2 event.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
# [UG] the Input Path of the examples.
EC2_PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
# [UG] the rule of the reserved-variable examples.
CONTEXT = RuleContext(
    rule_name="example",
    rule_arn="arn:aws:events:us-east-2:123456789012:rule/example",
    ingestion_time=dt.datetime(2015, 11, 11, 21, 29, 55, tzinfo=dt.UTC),
)


def transform(template: str, paths: dict[str, str] | None = None, event: dict[str, Any] | None = None) -> Any:
    target = {"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputTransformer": {"InputTemplate": template}}
    if paths is not None:
        target["InputTransformer"]["InputPathsMap"] = paths
    return render_target(target, event or EC2_EVENT, CONTEXT)


# ---- [UG] the Input Transform Examples table, row by row -------------------------------------------------
@pytest.mark.parametrize(
    ("row", "template", "expected_body"),
    [
        ("Simple string", '"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        (
            "String with escaped quotes (console behaviour)",
            '"instance \\"<instance>\\" is in <state>"',
            '"instance \\"i-0123456789\\" is in RUNNING"',
        ),
        (
            "Simple JSON",
            '{\n  "instance" : <instance>,\n  "state": <state>\n}',
            '{"instance":"i-0123456789","state":"RUNNING"}',
        ),
        (
            "JSON with strings and variables",
            '{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
            '{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
        ),
        (
            "JSON with a mix of variables and static information",
            '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}\n',
            '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
        ),
        ("Including reserved variables in a string", '"<aws.events.rule-name> triggered"', '"example triggered"'),
    ],
)
def test_user_guide_examples(row: str, template: str, expected_body: str) -> None:
    rendered = transform(template, EC2_PATHS)
    assert rendered.body == expected_body, row
    assert rendered.kind == "input-transformer"
    assert rendered.missing == ()
    assert rendered.problem is None


def test_user_guide_reserved_variables_in_json() -> None:
    template = (
        '{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n'
        '  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}'
    )
    value = transform(template, EC2_PATHS).value
    assert value["instance"] == "i-0123456789"
    assert value["state"] == "RUNNING"
    assert value["ruleArn"] == "arn:aws:events:us-east-2:123456789012:rule/example"
    assert value["ruleName"] == "example"
    # [LS] <aws.events.event>: the envelope without detail, detail-type keyed as detailType.
    assert value["originalEvent"] == {
        "id": EC2_EVENT["id"],
        "account": "123456789012",
        "detailType": "EC2 Instance State-change Notification",
        "time": "2015-11-11T21:29:54Z",
        "source": "aws.ec2",
        "region": "us-east-1",
        "resources": EC2_EVENT["resources"],
        "version": "0",
    }


def test_event_json_is_the_whole_event_with_detail() -> None:
    # [LS] template '{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}'
    value = transform('{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}').value
    assert value["originalEventJson"] == EC2_EVENT
    assert "detail" not in value["originalEvent"]


def test_ingestion_time_is_iso8601_and_not_the_event_time() -> None:
    rendered = transform('"at <aws.events.event.ingestion-time>, event time <timestamp>"', EC2_PATHS)
    assert rendered.body == '"at 2015-11-11T21:29:55Z, event time 2015-11-11T21:29:54Z"'


# ---- [API] InputTransformer examples ---------------------------------------------------------------------
API_PATHS = {"instance": "$.detail.instance", "status": "$.detail.status"}
API_EVENT = {**EC2_EVENT, "detail": {"instance": "i-0a1b", "status": "stopped"}}


def test_api_plain_text_template_inserts_raw_values() -> None:
    assert transform("<instance> is in state <status>", API_PATHS, API_EVENT).body == "i-0a1b is in state stopped"


def test_api_quotes_inside_a_text_template() -> None:
    assert transform('<instance> is in state "<status>"', API_PATHS, API_EVENT).body == 'i-0a1b is in state "stopped"'


def test_api_json_template_with_variables_in_quotes_and_out() -> None:
    template = '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}'
    rendered = transform(template, API_PATHS, API_EVENT)
    assert rendered.value == {"myInstance": "i-0a1b", "myStatus": 'i-0a1b is in state "stopped"'}
    assert rendered.body == '{"myInstance":"i-0a1b","myStatus":"i-0a1b is in state \\"stopped\\""}'  # minified [UG]


# ---- a path missing from the event: the variable is absent [UG "Common issues"], rendered empty [LS] -------
def test_missing_path_in_a_string_template_renders_empty() -> None:
    # [LS] "custom-variables-not-match-all" with a string template.
    paths = {**EC2_PATHS, "command": "$.detail.notinmessage"}
    rendered = transform('"Event of <instance> type, info extracted from detail <command>"', paths)
    assert rendered.body == '"Event of i-0123456789 type, info extracted from detail "'
    assert rendered.missing == ("command",)
    assert rendered.problem == "not in the event, rendered empty: <command> ($.detail.notinmessage)"


def test_missing_path_as_a_json_value_renders_an_empty_string() -> None:
    # [LS] '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}' -> "command": ""
    paths = {"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.notinmessage"}
    rendered = transform('{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}', paths)
    assert rendered.value == {
        "detailType": "EC2 Instance State-change Notification",
        "time": "2015-11-11T21:29:54Z",
        "command": "",
    }
    assert rendered.missing == ("command",)


def test_template_starting_with_special_characters_inside_a_string() -> None:
    # [LS] '"{[/Check with special starting characters for event of <detail-type> type"'
    rendered = transform('"{[/Check with special starting characters for event of <dt> type"', {"dt": "$.detail-type"})
    assert (
        rendered.body
        == '"{[/Check with special starting characters for event of EC2 Instance State-change Notification type"'
    )


# ---- values are not escaped [UG "Common issues"] ----------------------------------------------------------
def test_unescaped_quote_inside_a_json_string_breaks_the_json() -> None:
    event = {**EC2_EVENT, "detail": {"name": 'say "hi"'}}
    rendered = transform('{"greeting": "<name>"}', {"name": "$.detail.name"}, event)
    assert rendered.body == '{"greeting": "say "hi""}'
    assert rendered.problem is not None and "not valid JSON" in rendered.problem and "INVALID_JSON" in rendered.problem


def test_same_value_outside_quotes_is_json_encoded() -> None:
    event = {**EC2_EVENT, "detail": {"name": 'say "hi"'}}
    rendered = transform('{"greeting": <name>}', {"name": "$.detail.name"}, event)
    assert rendered.value == {"greeting": 'say "hi"'}
    assert rendered.problem is None


def test_non_string_values() -> None:
    event = {**EC2_EVENT, "detail": {"n": 5, "ok": True, "none": None, "obj": {"a": [1, 2]}}}
    paths = {"n": "$.detail.n", "ok": "$.detail.ok", "none": "$.detail.none", "obj": "$.detail.obj"}
    assert transform('{"n": <n>, "ok": <ok>, "none": <none>, "obj": <obj>}', paths, event).value == {
        "n": 5,
        "ok": True,
        "none": None,
        "obj": {"a": [1, 2]},
    }
    assert (
        transform("n=<n> ok=<ok> none=<none> obj=<obj>", paths, event).body == 'n=5 ok=true none=null obj={"a":[1,2]}'
    )


def test_angle_brackets_that_are_not_placeholders_stay() -> None:
    assert transform('"1 < 2 and <instance>"', EC2_PATHS).body == '"1 < 2 and i-0123456789"'


def test_undeclared_placeholder_is_reported_not_rendered() -> None:
    # [LS] PutTargets: "InputTemplate for target <id> contains invalid placeholder notdefinedkey."
    rendered = transform('"Event of <instance>, with not defined key <notdefinedkey>"', EC2_PATHS)
    assert rendered.body is None
    assert rendered.problem is not None and "invalid placeholder <notdefinedkey>" in rendered.problem


@pytest.mark.parametrize("name", ["aws.events.rule-name", "AWS.mine"])
def test_reserved_name_in_input_paths_map_is_reported(name: str) -> None:
    # [API] InputPathsMap: the reserved variables, and keys that start with "AWS."
    rendered = transform(f'"<{name}>"', {name: "$.source"})
    assert rendered.body is None
    assert rendered.problem == f"InputPathsMap variable {name!r} is reserved by EventBridge — rename it"


# ---- Input, InputPath, nothing ---------------------------------------------------------------------------
def test_no_input_configuration_delivers_the_whole_event() -> None:
    rendered = render_target({"Id": "t", "Arn": "a"}, EC2_EVENT, CONTEXT)
    assert rendered.kind == "event"
    assert rendered.value == EC2_EVENT


def test_constant_input_is_delivered_verbatim() -> None:
    rendered = render_target({"Id": "t", "Arn": "a", "Input": '{"hello": "world"}'}, EC2_EVENT, CONTEXT)
    assert (rendered.kind, rendered.body) == ("input", '{"hello": "world"}')


def test_input_path_object_and_string() -> None:
    # [LS] InputPath "$.detail" -> the detail object; "$.detail.payload.sf_id" -> "\"baz\"" (JSON-quoted).
    assert render_target({"InputPath": "$.detail"}, EC2_EVENT, CONTEXT).value == EC2_EVENT["detail"]
    assert render_target({"InputPath": "$.detail.state"}, EC2_EVENT, CONTEXT).body == '"RUNNING"'


def test_input_path_missing_from_the_event() -> None:
    rendered = render_target({"InputPath": "$.detail.nope"}, EC2_EVENT, CONTEXT)
    assert rendered.body is None
    assert rendered.problem == "InputPath $.detail.nope is not in the event"


def test_invalid_input_path_is_reported() -> None:
    rendered = render_target({"InputPath": "detail.state"}, EC2_EVENT, CONTEXT)
    assert rendered.body is None
    assert rendered.problem is not None and "invalid JSON path" in rendered.problem


# ---- the JSONPath subset [UG Note]: dot notation, dashes, underscores, array indices, wildcards -----------
def test_paths() -> None:
    doc = {"a-b": {"c_d": [{"e": 1}, {"e": 2}]}, "f": [10, 20]}
    assert parse_path("$.a-b.c_d[1].e") == ["a-b", "c_d", 1, "e"]
    assert extract(doc, "$.a-b.c_d[1].e") == 2
    assert extract(doc, "$.f[0]") == 10
    assert extract(doc, "$.a-b.c_d[*].e") == [1, 2]
    assert extract(doc, "$") == doc
    assert extract(doc, "$.f[5]") is MISSING
    assert extract(doc, "$.a-b.nope") is MISSING
    assert extract(doc, "$.f.x") is MISSING


@pytest.mark.parametrize("path", ["detail", "$detail", "$.a..b", "$.a[x]", "$['a']", "$.a[", ""])
def test_invalid_paths(path: str) -> None:
    with pytest.raises(TransformError) as info:
        parse_path(path)
    assert "invalid JSON path" in info.value.message
    assert info.value.exit_code == 2


def test_json_template_detection() -> None:
    assert is_json_template('  {"a": 1}')
    assert not is_json_template('"text"')
    assert not is_json_template("<a> is <b>")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(detail=st.dictionaries(st.text(max_size=5), json_values, max_size=4), template=st.text(max_size=40))
def test_rendering_never_crashes(detail: dict[str, Any], template: str) -> None:
    event = {**EC2_EVENT, "detail": detail}
    paths = {key.replace(".", "_") or "k": f"$.detail.{key}" for key in detail if key and "." not in key}
    target = {"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}}
    rendered = render_target(target, event, CONTEXT)
    assert rendered.body is not None or rendered.problem
    json.dumps(rendered.as_dict())
