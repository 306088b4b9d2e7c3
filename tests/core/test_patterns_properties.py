"""Property-based tests of the pattern engine: any input gives a Pattern or a clean PatternError, answers are
stable, explain() agrees with matches(), and the RuleSet index agrees with matching rule by rule."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evctl.core.patterns import EventError, Pattern, PatternError, RuleSet, compile_pattern
from evctl.errors import one_line

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = st.sampled_from(["a", "b", "c", "a.b", "$or", "prefix", "numeric", "detail"])
STRINGS = st.sampled_from(["x", "y", "X", "", "xy", "10.0.0.1", "2001:db8::1", "ß", "a*b", "*", "\\*"]) | st.text(
    max_size=4
)
NUMBERS = (
    st.sampled_from([0, 1, -1, 1.5, 300, 300.0, 1e300, 123456789012345678])
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
)
SCALARS = st.none() | st.booleans() | NUMBERS | STRINGS

JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(NAMES | st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=12,
)


def _operator() -> st.SearchStrategy[Any]:
    numeric = st.lists(st.sampled_from(["<", "<=", ">", ">=", "=", "x"]) | NUMBERS | STRINGS, max_size=5)
    inner = st.sampled_from(["prefix", "suffix", "equals-ignore-case", "wildcard", "numeric", "bogus"])
    return st.one_of(
        st.fixed_dictionaries({"prefix": STRINGS | st.fixed_dictionaries({"equals-ignore-case": STRINGS}) | JSON}),
        st.fixed_dictionaries({"suffix": STRINGS | st.fixed_dictionaries({"equals-ignore-case": STRINGS}) | JSON}),
        st.fixed_dictionaries({"equals-ignore-case": STRINGS | JSON}),
        st.fixed_dictionaries({"wildcard": STRINGS | JSON}),
        st.fixed_dictionaries({"numeric": numeric | JSON}),
        st.fixed_dictionaries({"exists": st.booleans() | JSON}),
        st.fixed_dictionaries({"cidr": st.sampled_from(["10.0.0.0/8", "10.0.0.1/24", "2001:db8::/32", "1/2"]) | JSON}),
        st.fixed_dictionaries(
            {
                "anything-but": STRINGS
                | NUMBERS
                | st.lists(STRINGS | NUMBERS, max_size=3)
                | st.dictionaries(inner, JSON, max_size=2)
            }
        ),
        st.dictionaries(st.sampled_from(["prefix", "exists", "exactly", "zzz"]), JSON, max_size=2),
    )


VALUES = st.lists(SCALARS | _operator(), min_size=0, max_size=3)
PATTERNS = st.recursive(
    st.dictionaries(NAMES, VALUES, min_size=1, max_size=3),
    lambda children: st.dictionaries(NAMES, children | VALUES | st.lists(children, max_size=3), min_size=1, max_size=3),
    max_leaves=8,
)
# Mostly valid patterns and events over the same few names and values, so that matches actually happen.
FIELD = st.sampled_from(["a", "b", "c", "a.b"])
SMALL = st.sampled_from(
    ["x", "y", "X", "", "10.0.0.1", "ß", "SS", 0, 1, 1.5, -1, 300.0, 123456789012345678, True, None]
)
SMALL_STRINGS = st.sampled_from(["x", "y", "X", "xy", "ß", "1"])
VALID_OPERATORS = st.one_of(
    st.fixed_dictionaries({"prefix": SMALL_STRINGS | st.fixed_dictionaries({"equals-ignore-case": SMALL_STRINGS})}),
    st.fixed_dictionaries({"suffix": SMALL_STRINGS | st.fixed_dictionaries({"equals-ignore-case": SMALL_STRINGS})}),
    st.fixed_dictionaries({"equals-ignore-case": SMALL_STRINGS}),
    st.fixed_dictionaries({"wildcard": st.sampled_from(["*", "x*", "*y", "x*y", "\\*", ""])}),
    st.fixed_dictionaries(
        {"numeric": st.sampled_from([[">", 0], ["<=", 1], ["=", 300], [">=", -1, "<", 1.5], [">", 0, "<=", 300]])}
    ),
    st.fixed_dictionaries({"exists": st.booleans()}),
    st.fixed_dictionaries({"cidr": st.sampled_from(["10.0.0.0/8", "2001:db8::/32"])}),
    st.fixed_dictionaries(
        {
            "anything-but": SMALL_STRINGS
            | st.sampled_from([0, 1.5])
            | st.lists(SMALL_STRINGS, min_size=1, max_size=2)
            | st.fixed_dictionaries({"prefix": SMALL_STRINGS})
            | st.fixed_dictionaries({"equals-ignore-case": st.lists(SMALL_STRINGS, min_size=1, max_size=2)})
        }
    ),
)
VALID_VALUES = st.lists(SMALL | VALID_OPERATORS, min_size=1, max_size=3)
VALID_PATTERNS = st.recursive(
    st.dictionaries(FIELD, VALID_VALUES, min_size=1, max_size=3),
    lambda children: (
        st.dictionaries(FIELD, children | VALID_VALUES, min_size=1, max_size=3)
        | st.fixed_dictionaries({"$or": st.lists(children, min_size=2, max_size=3)})
    ),
    max_leaves=6,
)
EVENTS = st.recursive(
    st.dictionaries(FIELD, SMALL | st.lists(SMALL, max_size=3), max_size=3),
    lambda children: st.dictionaries(FIELD, children | st.lists(children, max_size=3) | SMALL, max_size=3),
    max_leaves=10,
)


def _compile(pattern: Any) -> Pattern | None:
    try:
        return compile_pattern(pattern)
    except PatternError as exc:
        assert exc.path.startswith("$")
        assert str(exc) == one_line(f"invalid event pattern at {exc.path}: {exc.reason}")  # one line, always
        return None


@SETTINGS
@given(JSON)
def test_any_json_value_compiles_or_fails_cleanly(value: Any) -> None:
    _compile(value)
    _compile(json.dumps(value))


@SETTINGS
@given(st.text(max_size=30))
def test_any_text_compiles_or_fails_cleanly(text: str) -> None:
    _compile(text)


@SETTINGS
@given(PATTERNS | VALID_PATTERNS, EVENTS)
def test_answers_are_stable_and_explained(pattern_value: Any, event: dict[str, Any]) -> None:
    pattern = _compile(pattern_value)
    if pattern is None:
        return
    first = pattern.matches(event)
    assert pattern.matches(event) is first
    assert (pattern.explain(event) == []) is first
    assert pattern.matches(event) is first
    # the text form of the same pattern compiles to the same answers
    assert compile_pattern(json.dumps(pattern_value)).matches(event) is first


@SETTINGS
@given(st.lists(VALID_PATTERNS, min_size=1, max_size=8), st.lists(EVENTS, min_size=1, max_size=4))
def test_ruleset_agrees_with_each_pattern(pattern_values: list[Any], events: list[dict[str, Any]]) -> None:
    rules = RuleSet()
    patterns: dict[str, Pattern] = {}
    for index, value in enumerate(pattern_values):
        pattern = _compile(value)
        if pattern is not None:
            patterns[f"r{index}"] = pattern
            rules.add(f"r{index}", pattern)
    for event in events:
        assert rules.matching(event) == [name for name, pattern in patterns.items() if pattern.matches(event)]


@SETTINGS
@given(JSON)
def test_an_event_that_is_not_an_object_is_a_clean_error(value: Any) -> None:
    pattern = compile_pattern({"a": [{"exists": False}]})
    if isinstance(value, dict):
        assert isinstance(pattern.matches(value), bool)
        return
    try:
        pattern.matches(value)
    except EventError as exc:
        assert "object" in str(exc)
    else:
        raise AssertionError("a non-object event was accepted")


def _outcome(pattern: Any) -> str:
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        return f"{exc.path}: {exc.reason}"
    return "ok"


@SETTINGS
@given(PATTERNS | VALID_PATTERNS | JSON.filter(lambda value: not isinstance(value, str | bytes)))
def test_text_and_parsed_forms_are_judged_alike(value: Any) -> None:
    # (a str given to compile_pattern is the pattern's JSON text, so strings are left out here)
    assert _outcome(json.dumps(value)) == _outcome(value)
