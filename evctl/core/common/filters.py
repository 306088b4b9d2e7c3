"""The one message filter: a JMESPath expression over a message's decoded view, used by drain, redrive and their
dry runs alike, so a preview and the real run always select the same messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evctl.errors import UsageError


def is_truthy(value: Any) -> bool:
    """JMESPath truthiness: null, false and empty strings, lists and objects are false; everything else, 0 included,
    is true. (`value in (None, False, ...)` would call 0 false, because 0 == False in Python.)"""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and not value)


@dataclass(frozen=True)
class MessageFilter:
    """A compiled `--filter`; `matches` is the only way a message is selected."""

    expression: str
    compiled: Any

    def matches(self, view: Any) -> bool:
        try:
            hit = self.compiled.search(view)
        except Exception:  # a type error inside JMESPath means "does not match", as in the AWS CLI's --query
            return False
        return is_truthy(hit)


def compile_filter(expression: str | None) -> MessageFilter | None:
    """A compiled JMESPath filter, or None for no filter; a syntax error is a UsageError naming --filter."""
    if not expression:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return MessageFilter(expression, jmespath.compile(expression))
    except JMESPathError as exc:
        raise UsageError(f"--filter is not a valid JMESPath expression: {exc}".replace("\n", " ")) from exc
