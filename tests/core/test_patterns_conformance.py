"""Conformance of the pattern engine with EventBridge's engine (aws/event-ruler), case by case.

The cases live in tests/data/patterns/*.json; each file cites the public sources its cases come from (the AWS
EventBridge user guide, event-ruler's README and tests). A case is a pattern, an event and whether it matches, or
a pattern and the path of the fault that makes it invalid, or a pattern that must be accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evctl.core.patterns import PatternError, RuleSet, compile_pattern

DATA = Path(__file__).resolve().parent.parent / "data" / "patterns"


def _load() -> list[Any]:
    cases = []
    for path in sorted(DATA.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document.get("sources"), f"{path.name} must cite its sources"
        for case in document["cases"]:
            cases.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return cases


CASES = _load()


def _events(case: dict[str, Any]) -> list[dict[str, Any]]:
    return case["events"] if "events" in case else [case["event"]]


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(PatternError) as raised:
            compile_pattern(case["pattern"])
        expected = case["error"]
        if isinstance(expected, dict) and "path" in expected:
            assert raised.value.path == expected["path"], raised.value.reason
        assert str(raised.value) == f"invalid event pattern at {raised.value.path}: {raised.value.reason}"
        return
    pattern = compile_pattern(case["pattern"])
    if case.get("valid"):
        assert pattern.branches
        return
    for event in _events(case):
        assert pattern.matches(event) is case["match"], event
        # explain() agrees with matches()
        assert (pattern.explain(event) == []) is case["match"]
        # the same answer from the rule index
        rules = RuleSet()
        rules.add("rule", pattern)
        assert rules.matching(event) == (["rule"] if case["match"] else [])


def test_every_file_has_cases() -> None:
    assert len(CASES) > 0
