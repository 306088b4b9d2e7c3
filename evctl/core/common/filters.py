"""The one message filter: a JMESPath expression over a message's decoded view, used by drain, redrive and their
dry runs alike, so a preview and the real run always select the same messages.

A filter that cannot match anything must never cost a receive (each receive raises a message's receive count,
pushing it toward its DLQ). So `compile_filter` refuses, before anything is received (UsageError, exit 2):
- a syntax error;
- an unknown function (`lenght(body)`) or a wrong number of arguments (`length(a, b)`), found by walking the AST;
- a type error knowable without a message: an argument that does not depend on the message and has the wrong
  type (`abs('x')`, `starts_with(body.id, \\`5\\`)`), and any part built only of literals that fails;
- an expression false whatever the message (`\\`false\\``, `'a' == 'b'`, `x && \\`null\\``).
A type error that depends on a message's contents (`length(body.items)` where a message has no items) makes that
message not match, as in the AWS CLI's --query. The runs check that too: when the filter fails on every message
of the first batch it sees (`FilterGuard`), the run stops with exit 2 rather than receive more.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, cast

from evctl.errors import UsageError

# AST nodes whose value depends only on their children (not on the message): constant when all children are.
_PURE_NODES = {"function_expression", "comparator", "and_expression", "or_expression", "not_expression"}


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

    def evaluate(self, view: Any) -> tuple[bool, str | None]:
        """(matches, why it failed): a type error inside JMESPath means "does not match", and says so."""
        try:
            hit = self.compiled.search(view)
        except Exception as exc:
            return False, str(exc).replace("\n", " ") or type(exc).__name__
        return is_truthy(hit), None

    def matches(self, view: Any) -> bool:
        return self.evaluate(view)[0]


@dataclass
class FilterGuard:
    """Counts a run's filter failures; `check` raises UsageError (exit 2) once every message evaluated so far
    failed (the filter cannot match these messages, so receiving more only raises their receive counts)."""

    expression: str
    evaluated: int = 0
    failed: int = 0
    last_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, error: str | None) -> None:
        with self._lock:
            self.evaluated += 1
            if error is not None:
                self.failed += 1
                self.last_error = error

    def check(self) -> None:
        with self._lock:
            hopeless = self.evaluated > 0 and self.failed == self.evaluated
        if hopeless:
            raise UsageError(
                f"--filter {self.expression!r} fails on every message received ({self.failed}): {self.last_error}",
                "fix the expression (`evctl queue peek` shows the messages); a function fails on a missing field, "
                "so guard it, e.g. length(body.items || `[]`); the messages were released",
            )


def compile_filter(expression: str | None) -> MessageFilter | None:
    """A compiled JMESPath filter, or None for no filter; anything that can be known to be wrong before a message is
    seen (syntax, unknown function, arity, a literal of the wrong type) is a UsageError naming --filter."""
    if not expression:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        compiled = jmespath.compile(expression)
    except JMESPathError as exc:
        raise UsageError(f"--filter is not a valid JMESPath expression: {exc}".replace("\n", " ")) from exc
    root = cast("dict[str, Any]", compiled.parsed)
    _check_node(root)
    if _never_true(root):
        raise UsageError(
            f"--filter {expression!r} is false whatever the message: it can never match",
            "compare a field of the message, e.g. body.detail.plan == 'pro'",
        )
    return MessageFilter(expression, compiled)


def _never_true(node: dict[str, Any]) -> bool:
    """False for every message: a constant falsy part, an `and` with such a part, an `or` of only such parts."""
    kind = node.get("type")
    children = node.get("children", [])
    if _constant(node):
        return not is_truthy(_evaluate(node))
    if kind == "and_expression":
        return any(_never_true(child) for child in children)
    if kind == "or_expression":
        return all(_never_true(child) for child in children)
    return False


def _check_node(node: dict[str, Any]) -> None:
    """Walk the AST: every function known, called with the right number of arguments and, where an argument does
    not depend on the message, of the right type; a part made only of literals must evaluate."""
    for child in node.get("children", []):
        _check_node(child)
    if node.get("type") == "function_expression":
        _check_function(node)
    if node.get("type") in _PURE_NODES and _constant(node):
        _evaluate(node)


def _check_function(node: dict[str, Any]) -> None:
    from jmespath import functions
    from jmespath.exceptions import JMESPathError

    name = str(node.get("value"))
    table = functions.Functions.FUNCTION_TABLE
    spec = table.get(name)
    if spec is None:
        raise UsageError(
            f"--filter uses an unknown JMESPath function {name}()",
            f"the functions are: {', '.join(sorted(table))}",
        )
    signature = spec["signature"]
    args = node.get("children", [])
    variadic = bool(signature) and bool(signature[-1].get("variadic"))
    if (variadic and len(args) < len(signature)) or (not variadic and len(args) != len(signature)):
        wanted = f"at least {len(signature)}" if variadic else str(len(signature))
        raise UsageError(f"--filter: {name}() takes {wanted} argument(s), {len(args)} given")
    checker = functions.Functions()
    for i, arg in enumerate(args):
        types = signature[min(i, len(signature) - 1)]["types"]
        if not types or "expref" in types or "any" in types or not _constant(arg):  # [] = any type
            continue
        value = _evaluate(arg)
        try:
            cast("Any", checker)._type_check_single(value, types, name)  # jmespath's own type check
        except JMESPathError as exc:
            raise UsageError(f"--filter: {exc}".replace("\n", " "), "this argument never has the right type") from exc


def _constant(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    if kind == "literal":
        return True
    return kind in _PURE_NODES and all(_constant(child) for child in node.get("children", []))


def _evaluate(node: dict[str, Any]) -> Any:
    from jmespath.exceptions import JMESPathError
    from jmespath.visitor import TreeInterpreter

    try:
        return TreeInterpreter().visit(cast("Any", node), None)
    except JMESPathError as exc:
        raise UsageError(f"--filter can never match: {exc}".replace("\n", " ")) from exc
