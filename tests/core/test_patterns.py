"""The pattern engine's API: errors, explain() output, normalize_event, load_event and RuleSet."""

from __future__ import annotations

import datetime as dt

import pytest

from evctl.core.patterns import (
    EventError,
    Mismatch,
    PatternError,
    RuleSet,
    compile_pattern,
    load_event,
    normalize_event,
)
from evctl.errors import ExitCode, UsageError

ORDER = {
    "source": ["shop"],
    "detail": {
        "total": [{"numeric": [">", 100]}],
        "status": ["paid", "shipped"],
        "email": [{"exists": True}],
        "note": [{"exists": False}],
    },
}


def test_pattern_error_is_a_usage_error_with_path_and_reason() -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern({"detail": {"amount": [{"numeric": [">", 10, "<", 5]}]}})
    error = raised.value
    assert isinstance(error, UsageError)
    assert error.exit_code == ExitCode.USAGE
    assert error.path == "$.detail.amount[0].numeric"
    assert error.reason == "bottom must be less than top"
    assert str(error) == "invalid event pattern at $.detail.amount[0].numeric: bottom must be less than top"


@pytest.mark.parametrize(
    ("text", "path", "reason_part"),
    [
        ("{", "$", "not valid JSON"),
        ("[]", "$", "must be a JSON object"),
        ('{"source": "shop"}', "$.source", 'values go in an array: ["shop"]'),
        ('{"a": [{"contains": "x"}]}', "$.a[0].contains", "unrecognized match type contains"),
        ('{"a": [{"wildcard": "a**"}]}', "$.a[0].wildcard", "consecutive wildcard"),
        ('{"$or": [{"a": ["1"]}]}', "$.$or", "at least 2"),
        ('{"a": [{"cidr": "10.0.0.0/33"}]}', "$.a[0].cidr", "mask bits must be < 32"),
    ],
)
def test_invalid_patterns_name_the_place_and_the_reason(text: str, path: str, reason_part: str) -> None:
    with pytest.raises(PatternError) as raised:
        compile_pattern(text)
    assert raised.value.path == path
    assert reason_part in raised.value.reason


def test_source_is_the_parsed_pattern() -> None:
    pattern = compile_pattern('{"source": ["shop"], "detail": {"n": [1.5]}}')
    assert pattern.source == {"source": ["shop"], "detail": {"n": [1.5]}}
    assert compile_pattern(pattern.source).source == pattern.source


def test_explain_is_empty_when_the_event_matches() -> None:
    event = {"source": "shop", "detail": {"total": 150, "status": "paid", "email": "a@b"}}
    pattern = compile_pattern(ORDER)
    assert pattern.matches(event)
    assert pattern.explain(event) == []


def test_explain_lists_every_failing_field_in_pattern_order() -> None:
    event = {"source": "shop", "detail": {"total": 50, "status": "new", "note": "x"}}
    mismatches = compile_pattern(ORDER).explain(event)
    assert mismatches == [
        Mismatch("detail.total", "numeric > 100", 50, False),
        Mismatch("detail.status", 'one of ["paid","shipped"]', "new", False),
        Mismatch("detail.email", "to exist", None, True),
        Mismatch("detail.note", "not to exist", "x", False),
    ]
    assert [str(m) for m in mismatches] == [
        "detail.total: wanted numeric > 100, got 50",
        'detail.status: wanted one of ["paid","shipped"], got "new"',
        "detail.email: wanted to exist, but the event has no such field",
        'detail.note: wanted not to exist, got "x"',
    ]


@pytest.mark.parametrize(
    ("values", "wanted"),
    [
        (["a"], '"a"'),
        ([1, True, None], "one of [1,true,null]"),
        ([{"prefix": "abc"}], 'prefix "abc"'),
        ([{"prefix": {"equals-ignore-case": "ab"}}], 'prefix equals-ignore-case "ab"'),
        ([{"suffix": ".png"}, "x"], 'suffix ".png" or "x"'),
        ([{"anything-but": ["zzz-unmatched", "b"]}], 'anything but ["zzz-unmatched","b"]'),
        ([{"anything-but": {"prefix": "zzz"}}], 'anything but prefix "zzz"'),
        ([{"numeric": [">=", 0, "<", 5]}], "numeric >= 0 < 5"),
        ([{"cidr": "10.0.0.0/8"}], "cidr 10.0.0.0/8"),
        ([{"wildcard": "a*b"}], 'wildcard "a*b"'),
        ([{"equals-ignore-case": "ab"}], 'equals-ignore-case "ab"'),
    ],
)
def test_explain_says_what_the_pattern_wanted(values: list[object], wanted: str) -> None:
    (mismatch,) = compile_pattern({"f": values}).explain({"f": "zzz-unmatched"})
    assert mismatch.wanted == wanted
    assert mismatch.got == "zzz-unmatched"


def test_explain_shows_every_value_of_an_array() -> None:
    (mismatch,) = compile_pattern({"tags": ["x"]}).explain({"tags": ["a", "b"]})
    assert mismatch.got == ["a", "b"]
    assert str(mismatch) == 'tags: wanted "x", got ["a","b"]'


def test_explain_reports_fields_matched_in_different_array_elements() -> None:
    pattern = compile_pattern({"items": {"sku": ["A"], "qty": [2]}})
    (mismatch,) = pattern.explain({"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]})
    assert mismatch.path == "items.sku"
    assert mismatch.wanted == '"A" in the same array element as items.qty'
    assert mismatch.got == ["A", "B"]


def test_explain_picks_the_closest_or_branch() -> None:
    pattern = compile_pattern({"$or": [{"a": ["1"], "b": ["2"]}, {"c": ["3"]}]})
    assert pattern.explain({"a": "1", "b": "0"}) == [Mismatch("b", '"2"', "0", False)]


def test_normalize_a_put_events_entry() -> None:
    entry = {"Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"total": 3}', "EventBusName": "orders"}
    envelope, filled = normalize_event(
        entry, now=lambda: dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), new_id=lambda: "id-1"
    )
    assert envelope == {
        "version": "0",
        "id": "id-1",
        "detail-type": "OrderPlaced",
        "source": "shop",
        "account": "123456789012",
        "time": "2026-01-02T03:04:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"total": 3},
    }
    assert filled == ["version", "id", "account", "time", "region", "resources"]


def test_normalize_keeps_what_is_given_and_fills_the_rest() -> None:
    event = {"source": "shop", "detail-type": "X", "account": "999", "time": "2020-01-01T00:00:00Z", "detail": {}}
    envelope, filled = normalize_event(event, region="eu-west-1", new_id=lambda: "id-2")
    assert envelope["account"] == "999"
    assert envelope["time"] == "2020-01-01T00:00:00Z"
    assert envelope["region"] == "eu-west-1"
    assert filled == ["version", "id", "region", "resources"]


def test_normalize_entry_with_object_detail_time_and_resources() -> None:
    entry = {
        "Source": "s",
        "DetailType": "t",
        "Detail": {"a": 1},
        "Resources": ["arn:1"],
        "Time": dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
    }
    envelope, filled = normalize_event(entry, account="111122223333")
    assert envelope["detail"] == {"a": 1}
    assert envelope["resources"] == ["arn:1"]
    assert envelope["time"] == "2026-05-06T07:08:09Z"
    assert envelope["account"] == "111122223333"
    assert "time" not in filled and "resources" not in filled


def test_normalize_never_invents_source_or_detail_type() -> None:
    envelope, _ = normalize_event({"detail": {"x": 1}})
    assert "source" not in envelope
    assert "detail-type" not in envelope


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"Source": "s", "DetailType": "t", "Detail": "{oops"}, "Detail is not valid JSON"),
        ({"Source": "s", "DetailType": "t", "Detail": "[1]"}, "Detail must be a JSON object"),
        ([1], "an event must be a JSON object"),
    ],
)
def test_normalize_rejects_bad_events(event: object, message: str) -> None:
    with pytest.raises(EventError) as raised:
        normalize_event(event)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert raised.value.exit_code == ExitCode.USAGE


def test_load_event() -> None:
    assert load_event('{"a": 1}') == {"a": 1}
    with pytest.raises(EventError, match="not valid JSON"):
        load_event("{")
    with pytest.raises(EventError, match="not a string"):
        load_event('"text"')


def test_matches_rejects_a_non_object_event() -> None:
    with pytest.raises(EventError):
        compile_pattern({"a": ["b"]}).matches(["not", "an", "object"])  # type: ignore[arg-type]


def test_text_numbers_keep_their_text() -> None:
    # 0.30000000000000001 is not exactly a double: the engine matches it by its text only
    pattern = compile_pattern('{"a": [0.30000000000000001]}')
    assert pattern.matches(load_event('{"a": 0.30000000000000001}'))
    assert not pattern.matches(load_event('{"a": 0.3}'))


def test_repeated_keys_in_pattern_text_are_all_used() -> None:
    pattern = compile_pattern('{"a": {"b": ["1"]}, "a": {"c": ["2"]}}')
    assert pattern.matches({"a": {"b": "1", "c": "2"}})
    assert not pattern.matches({"a": {"c": "2"}})


def test_ruleset_returns_matching_names_in_insertion_order() -> None:
    rules = RuleSet()
    rules.add("zeta", compile_pattern({"source": ["shop"]}))
    rules.add("alpha", compile_pattern({"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}}))
    rules.add("other", compile_pattern({"source": ["bank"]}))
    rules.add("any", compile_pattern({"detail": {"total": [{"exists": True}]}}))
    event = {"source": "shop", "detail": {"total": 20}}
    assert rules.matching(event) == ["zeta", "alpha", "any"]
    assert rules.matching({"source": "bank"}) == ["other"]
    assert len(rules) == 4
    assert "alpha" in rules


def test_ruleset_add_again_replaces_and_keeps_the_place() -> None:
    rules = RuleSet()
    rules.add("one", compile_pattern({"a": ["x"]}))
    rules.add("two", compile_pattern({"a": ["x"]}))
    assert rules.matching({"a": "x"}) == ["one", "two"]
    rules.add("one", compile_pattern({"a": ["y"]}))
    assert rules.matching({"a": "x"}) == ["two"]
    assert rules.matching({"a": "y"}) == ["one"]


def test_ruleset_indexes_numbers_by_value_and_or_branches() -> None:
    rules = RuleSet()
    rules.add("n", compile_pattern({"a": [300]}))
    rules.add("or", compile_pattern({"$or": [{"b": ["x"]}, {"c": [True]}]}))
    assert rules.matching({"a": 3.0e2}) == ["n"]
    assert rules.matching({"c": True}) == ["or"]
    assert rules.matching({"b": "x", "a": 300}) == ["n", "or"]


def test_scalar_arrays_in_many_fields_do_not_explode() -> None:
    pattern = compile_pattern({**{name: [{"exists": True}] for name in "abcdef"}, "z": ["no"]})
    event = {**{name: list(range(200)) for name in "abcdef"}, "z": "yes"}
    assert not pattern.matches(event)
    assert pattern.explain(event) == [Mismatch("z", '"no"', "yes", False)]


def _nested(depth: int) -> dict[str, object]:
    root: dict[str, object] = {}
    node = root
    for _ in range(depth):
        child: dict[str, object] = {}
        node["a"] = child
        node = child
    return root


def test_deeply_nested_input_is_a_clean_error() -> None:
    with pytest.raises(EventError, match="nested too deeply"):
        compile_pattern({"a": ["x"]}).matches(_nested(5000))
    with pytest.raises(PatternError, match="nested too deeply"):
        compile_pattern(_nested(5000))
    with pytest.raises(PatternError, match=r"not valid JSON|nested too deeply"):
        compile_pattern('{"a":' * 5000 + '["x"]' + "}" * 5000)
