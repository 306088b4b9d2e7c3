"""The rules on a bus as data: names from ARNs, ListRules / ListTargetsByRule (all pages), DescribeRule.

    info = describe_rule(events, "signups", bus="default")     # RuleInfo, with its targets
    rules = list_rules(events, "orders", prefix="order-")     # [RuleInfo], targets fetched a few at a time
    bus_name("arn:aws:events:us-east-1:123456789012:event-bus/orders")   # "orders"

Clients come from the caller; AWS errors become evctl errors (a missing bus or rule: exit 3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from evctl.core.common.names import check_name
from evctl.errors import EvctlError, UsageError, from_aws

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

DEFAULT_BUS = "default"
TARGET_FETCHERS = 8  # concurrent ListTargetsByRule calls in `rules list` (within the client pool of 10)


def bus_name(bus: str | None) -> str:
    """A bus name from a name or an ARN (arn:aws:events:region:account:event-bus/NAME); None is the default bus.

    UsageError (exit 2), before any call, for an empty or malformed name (common.names)."""
    if bus is None:
        return DEFAULT_BUS
    if bus.startswith("arn:"):
        _, sep, name = bus.partition(":event-bus/")
        if not sep or not name:
            raise UsageError(f"{bus!r} is not an event bus ARN", "give a bus name or arn:aws:events:…:event-bus/NAME")
        return check_name("event bus", name)
    return check_name("event bus", bus)


def rule_ref(rule: str, bus: str | None) -> tuple[str, str]:
    """(rule name, bus name) from a rule name or ARN (…:rule/NAME on the default bus, …:rule/BUS/NAME else)."""
    if rule.startswith("arn:"):
        _, sep, rest = rule.partition(":rule/")
        if not sep or not rest:
            raise UsageError(f"{rule!r} is not a rule ARN", "give a rule name or arn:aws:events:…:rule/NAME")
        if "/" in rest:
            arn_bus, _, name = rest.rpartition("/")
            return check_name("rule", name), check_name("event bus", arn_bus)
        return check_name("rule", rest), bus_name(bus)
    return check_name("rule", rule), bus_name(bus)


def _aws_error(exc: Exception, what: str) -> EvctlError | Exception:
    return from_aws(exc, what) or exc


def ensure_bus(events: EventBridgeClient, bus: str | None) -> str:
    """The bus name, after checking the bus exists (a clean not-found instead of an empty answer)."""
    name = bus_name(bus)
    try:
        events.describe_event_bus(Name=name)
    except Exception as exc:
        raise _aws_error(exc, f"event bus {name!r}") from exc
    return name


# ---- reading rules -----------------------------------------------------------------------------------
def fetch_rules(
    events: EventBridgeClient, bus: str, prefix: str | None = None, page_size: int | None = None
) -> list[dict[str, Any]]:
    """Every rule on `bus` (all pages), as ListRules returns them (EventPattern included)."""
    kwargs: dict[str, Any] = {"EventBusName": bus}
    if prefix:
        kwargs["NamePrefix"] = prefix
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    try:
        pages = events.get_paginator("list_rules").paginate(**kwargs)
        return cast("list[dict[str, Any]]", [rule for page in pages for rule in page.get("Rules", [])])
    except Exception as exc:
        raise _aws_error(exc, f"event bus {bus!r}") from exc


def fetch_targets(events: EventBridgeClient, rule: str, bus: str) -> list[dict[str, Any]]:
    try:
        pages = events.get_paginator("list_targets_by_rule").paginate(Rule=rule, EventBusName=bus)
        return cast("list[dict[str, Any]]", [target for page in pages for target in page.get("Targets", [])])
    except Exception as exc:
        raise _aws_error(exc, f"rule {rule!r} on bus {bus!r}") from exc


@dataclass
class RuleInfo:
    name: str
    arn: str
    bus: str
    state: str
    pattern: dict[str, Any] | str | None
    schedule: str | None
    description: str | None
    targets: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_aws(cls, rule: Mapping[str, Any], bus: str, targets: list[dict[str, Any]]) -> RuleInfo:
        return cls(
            name=rule["Name"],
            arn=rule.get("Arn", ""),
            bus=rule.get("EventBusName") or bus,
            state=rule.get("State", ""),
            pattern=_loads_or_text(rule.get("EventPattern")),
            schedule=rule.get("ScheduleExpression"),
            description=rule.get("Description"),
            targets=targets,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "event_bus": self.bus,
            "state": self.state,
            "pattern": self.pattern,
            "schedule": self.schedule,
            "description": self.description,
            "targets": self.targets,
        }


def _loads_or_text(text: str | None) -> dict[str, Any] | str | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def list_rules(
    events: EventBridgeClient, bus: str | None = None, prefix: str | None = None, page_size: int | None = None
) -> list[RuleInfo]:
    """Rules on the bus (all pages) with their targets (fetched a few rules at a time: one call per rule)."""
    name = ensure_bus(events, bus)
    found = fetch_rules(events, name, prefix, page_size)
    with ThreadPoolExecutor(max_workers=TARGET_FETCHERS) as pool:
        targets = list(pool.map(lambda rule: fetch_targets(events, rule["Name"], name), found))
    return [RuleInfo.from_aws(rule, name, rule_targets) for rule, rule_targets in zip(found, targets, strict=True)]


def _describe(events: EventBridgeClient, rule: str, bus: str | None) -> tuple[str, str, dict[str, Any]]:
    """(rule name, its bus, DescribeRule's answer) for a rule given by name or ARN."""
    name, bus_of_rule = rule_ref(rule, bus)
    ensure_bus(events, bus_of_rule)
    try:
        found = cast("dict[str, Any]", events.describe_rule(Name=name, EventBusName=bus_of_rule))
    except Exception as exc:
        raise _aws_error(exc, f"rule {name!r} on bus {bus_of_rule!r}") from exc
    return name, bus_of_rule, found


def describe_rule(events: EventBridgeClient, rule: str, bus: str | None = None) -> RuleInfo:
    name, bus_of_rule, found = _describe(events, rule, bus)
    return RuleInfo.from_aws(found, bus_of_rule, fetch_targets(events, name, bus_of_rule))


def rule_pattern(events: EventBridgeClient, rule: str, bus: str | None = None) -> str:
    """The event pattern (JSON text) of a rule on AWS (a scheduled rule has none)."""
    name, _, found = _describe(events, rule, bus)
    if not found.get("EventPattern"):
        raise UsageError(f"rule {name!r} has no event pattern (it runs on a schedule)")
    return str(found["EventPattern"])
