"""The hook in moto's EventBridge: `moto.events.models.Rule.send_to_targets`, replaced in this process while a
sandbox runs (counted, patches.Patch: the last `uninstall` puts moto's own functions back).

moto 5.2 calls `Rule.send_to_targets(event)` for every rule of the bus on put_events (and on a replay, with
`transform_input=False`); it checks the pattern, never the rule's State, and writes each SQS target's message
with `_send_to_sqs_queue`, which knows neither policies, keys, retries nor the target's DLQ. The replacement:
- checks the pattern the same way (moto's own matcher);
- enforcing: a DISABLED rule delivers nothing (PutRule's `State`: "DISABLED: The rule is disabled. EventBridge
  does not match any events against the rule.", https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html);
- emits MatchedEvents; hands every SQS target to the Engine (engine.py); lets moto handle every other target
  (logs, archives, buses, API destinations) exactly as before;
- permissive: moto's own delivery, then a "delivered" ledger line and the metrics for each SQS target.

And one fix the checks depend on, in both modes: moto's SetQueueAttributes drops the queue's Policy whenever the
call does not name it (moto 5.2 `Queue._set_attributes` ends with `self.policy = attributes.get("Policy")`), so
changing the visibility timeout would silently cut EventBridge off. On AWS a queue keeps every attribute the call
does not set (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html);
so does the sandbox while the hook is installed.
"""

from __future__ import annotations

import copy
import importlib
import threading
from typing import Any

from evctl.sandbox.delivery import records
from evctl.sandbox.delivery.engine import ENFORCING, PERMISSIVE, Engine, Mode
from evctl.sandbox.delivery.records import Where
from evctl.sandbox.delivery.scheduler import ThreadScheduler
from evctl.sandbox.patches import Patch, Replacement

_lock = threading.Lock()
_users: list[Mode] = []  # one entry per install, in order; the newest decides the mode
_engine: Engine | None = None


def current_mode() -> Mode | None:
    """The mode deliveries follow now in this process, or None when moto is as it shipped."""
    with _lock:
        return _users[-1] if _users else None


def current_engine() -> Engine | None:
    return _engine


def _replacements() -> list[Replacement]:
    Rule: Any = importlib.import_module("moto.events.models").Rule
    SQSBackend: Any = importlib.import_module("moto.sqs.models").SQSBackend
    original = Rule.send_to_targets
    original_set_attributes = SQSBackend.set_queue_attributes

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        engine_now = _engine
        if engine_now is None:  # uninstalled while a request was in flight
            original(self, original_event, transform_input)
        else:
            _send_to_targets(engine_now, original, self, original_event, transform_input)

    def set_queue_attributes(self: Any, queue_name: str, attributes: dict[str, Any]) -> Any:
        if "Policy" not in attributes:
            attributes = {**attributes, "Policy": self.get_queue(queue_name).policy}
        return original_set_attributes(self, queue_name, attributes)

    return [(Rule, "send_to_targets", send_to_targets), (SQSBackend, "set_queue_attributes", set_queue_attributes)]


PATCH = Patch("rule -> SQS delivery, SetQueueAttributes keeps the Policy", _replacements)


def install(mode: Mode = ENFORCING, engine: Engine | None = None) -> None:
    """Route rule → SQS deliveries through the sandbox's rules in this process (pair with `uninstall`).

    Installs nest: each adds a user, and the newest user's mode applies until it uninstalls. `engine` is for
    tests (an injected clock and scheduler).
    """
    global _engine
    if mode not in (ENFORCING, PERMISSIVE):
        raise ValueError(f"unknown delivery mode {mode!r}")
    with _lock:
        PATCH.install()
        _users.append(mode)
        if _engine is not None:
            _engine.mode = mode
        if engine is not None:
            if _engine is not None and _engine is not engine:
                _engine.scheduler.stop()
            engine.mode = mode
            _engine = engine
        elif _engine is None:
            _engine = Engine(mode, ThreadScheduler())


def uninstall() -> None:
    """Undo one `install`; the last one restores moto's own delivery and stops pending retries."""
    global _engine
    with _lock:
        if not _users:
            return
        _users.pop()
        PATCH.uninstall()
        if _users:
            if _engine is not None:
                _engine.mode = _users[-1]
            return
        if _engine is not None:
            _engine.scheduler.stop()
            _engine = None


def where_of(rule: Any) -> Where:
    return Where(
        account=str(rule.account_id),
        region=str(rule.region_name),
        rule_arn=str(rule.arn),
        rule_name=str(rule.name),
        bus_name=str(rule.event_bus_name or "default"),
    )


def _is_sqs(target: Any) -> bool:
    arn = str(target.get("Arn", "")) if isinstance(target, dict) else ""
    return arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]


def _send_to_targets(engine: Engine, original: Any, rule: Any, event: Any, transform_input: bool) -> None:
    if not rule.event_pattern.matches_event(event):
        return
    if engine.mode == ENFORCING and str(rule.state).upper() == "DISABLED":
        return
    where = where_of(rule)
    records.put_metric(where, "MatchedEvents")
    targets = list(rule.targets)
    sqs_targets = [target for target in targets if _is_sqs(target)]
    if engine.mode == PERMISSIVE:
        original(rule, event, transform_input)  # moto's delivery, errors and all
        for target in sqs_targets:
            engine.record_permissive(where, target, event)
        return
    others = [target for target in targets if not _is_sqs(target)]
    if others:
        view = copy.copy(rule)  # moto's delivery for the other targets only; the rule itself is untouched
        view.targets = others
        original(view, event, transform_input)
    for target in sqs_targets:
        engine.deliver(where, target, _body(target, event, transform_input), dict(event))


def _body(target: dict[str, Any], event: Any, transform_input: bool) -> Any:
    """The message body as moto builds it for the target (its input transformation, or the event itself)."""
    if not transform_input:
        return copy.copy(event)
    parser: Any = importlib.import_module("moto.events.utils").EventTemplateParser
    transformer = target.get("InputTransformer", {}) or {}
    return parser.parse(
        input_template=transformer.get("InputTemplate"),
        input_paths_map=transformer.get("InputPathsMap", {}),
        event=event,
    )
