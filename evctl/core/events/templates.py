"""Named event templates: the built-in `signup` (the seed's UserSignup event) and user templates from config.

A template fixes Source and DetailType (and optionally the bus and Resources) and gives default values for
the Detail object. `render(template, {"email": "ann@example.com"})` overrides Detail keys; a key may be a
dotted path into a nested object (`address.city`). Setting a key the template lacks is an error that says
so. `{uuid}`, `{seq}` and `{now}` in Detail strings become fresh values at each render (see placeholders.py);
`render(..., fill=False)` keeps them for a caller that fills each event itself (`evctl publish --count`).

User templates, in evctl.toml or $XDG_CONFIG_HOME/evctl/config.toml (see evctl.config)::

    [templates.order]
    source = "my.shop"
    detail-type = "OrderPlaced"
    description = "An order from the web shop"
    bus = "orders"                      # optional; --bus wins
    resources = []                      # optional
    detail = { order_id = "{uuid}", amount = 10, customer = { email = "test@example.com" } }
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evctl.config import TEMPLATE_KEYS, Config
from evctl.core.events.entries import compact_json
from evctl.core.events.placeholders import NOW, UUID
from evctl.core.events.placeholders import fill as fill_placeholders
from evctl.errors import ConfigError, UsageError

UUID_PLACEHOLDER = UUID
NOW_PLACEHOLDER = NOW


@dataclass(frozen=True)
class Template:
    name: str
    source: str
    detail_type: str
    detail: Mapping[str, Any]
    description: str = ""
    bus: str | None = None
    resources: tuple[str, ...] = ()
    origin: str = "built-in"  # "built-in" or the config file it came from

    def keys(self) -> list[str]:
        """Every settable key, nested ones as dotted paths."""
        return _paths(self.detail)


BUILTIN: dict[str, Template] = {
    "signup": Template(
        name="signup",
        source="my.webapp",
        detail_type="UserSignup",
        detail={"user_id": UUID_PLACEHOLDER, "email": "test@example.com", "name": "Test User"},
        description="A user signed up (the seed workflow's event); user_id is a fresh UUID unless set",
    ),
}


def all_templates(config: Config) -> dict[str, Template]:
    """Built-in templates, then the user's (a user template may replace a built-in one of the same name)."""
    templates = dict(BUILTIN)
    for name, spec in config.section("templates").items():
        templates[name] = _from_config(name, spec, config)
    return templates


def get_template(name: str, config: Config) -> Template:
    """The named template; UsageError (exit 2: a mistyped name) listing the known ones when there is none."""
    templates = all_templates(config)
    if name not in templates:
        raise UsageError(
            f"no template named {name!r}", f"known templates: {', '.join(sorted(templates))} (evctl templates list)"
        )
    return templates[name]


def render(
    template: Template,
    sets: Mapping[str, str],
    *,
    new_uuid: Callable[[], str] = lambda: str(uuid.uuid4()),
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    seq: int = 0,
    fill: bool = True,
) -> dict[str, Any]:
    """A PutEvents entry (Source, DetailType, Detail as compact JSON, plus EventBusName/Resources if the
    template names them) with `sets` applied to the Detail defaults.

    A set value replaces a string default as is; for a number, boolean, null, array or object default
    the value is read as JSON (`--set amount=12.5`, `--set tags='["a"]'`). Unknown keys and values that
    do not parse raise UsageError (exit 2).
    """
    detail: dict[str, Any] = copy.deepcopy(dict(template.detail))
    known = template.keys()
    for key, value in sets.items():
        parent, leaf = _locate(detail, key)
        if parent is None or leaf not in parent:
            raise UsageError(
                f"template {template.name!r} has no key {key!r}",
                f"its keys: {', '.join(known)}" if known else "it has no keys to set",
            )
        parent[leaf] = _typed(template.name, key, value, parent[leaf])
    entry: dict[str, Any] = {"Source": template.source, "DetailType": template.detail_type}
    text = compact_json(detail)
    entry["Detail"] = fill_placeholders(text, seq, new_uuid=new_uuid, now=now) if fill else text
    if template.resources:
        entry["Resources"] = list(template.resources)
    if template.bus:
        entry["EventBusName"] = template.bus
    return entry


def parse_sets(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (from --set) → a dict; the first '=' splits, so values may contain '='."""
    sets: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set {pair!r} is not KEY=VALUE", "e.g. --set email=ann@example.com")
        sets[key.strip()] = value
    return sets


def describe_template(template: Template) -> dict[str, Any]:
    """The template as data, for `evctl templates show` and `list`."""
    return {
        "name": template.name,
        "source": template.source,
        "detail_type": template.detail_type,
        "bus": template.bus,
        "resources": list(template.resources),
        "detail": dict(template.detail),
        "keys": template.keys(),
        "description": template.description,
        "origin": template.origin,
    }


def _from_config(name: str, spec: Any, config: Config) -> Template:
    where = f"[templates.{name}] in {config.path}"
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where} must be a table", "see docs/templates.md")
    known = TEMPLATE_KEYS
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}", f"known keys: {', '.join(sorted(known))}")
    source = spec.get("source")
    detail_type = spec.get("detail-type", spec.get("detail_type"))
    detail = spec.get("detail", {})
    resources = spec.get("resources", [])
    if not isinstance(source, str) or not source:
        raise ConfigError(f"{where}: `source` must be a non-empty string")
    if not isinstance(detail_type, str) or not detail_type:
        raise ConfigError(f"{where}: `detail-type` must be a non-empty string")
    if not isinstance(detail, Mapping):
        raise ConfigError(f"{where}: `detail` must be a table (a JSON object)")
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise ConfigError(f"{where}: `resources` must be a list of ARNs")
    bus = spec.get("bus")
    if bus is not None and not isinstance(bus, str):
        raise ConfigError(f"{where}: `bus` must be a string")
    return Template(
        name=name,
        source=source,
        detail_type=detail_type,
        detail=_plain(detail),
        description=str(spec.get("description", "")),
        bus=bus,
        resources=tuple(resources),
        origin=str(config.path),
    )


def _plain(value: Any) -> Any:
    """TOML values as JSON values (TOML dates become ISO strings)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def _paths(detail: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in detail.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            paths.extend(_paths(value, f"{path}."))
        else:
            paths.append(path)
    return paths


def _locate(detail: dict[str, Any], key: str) -> tuple[dict[str, Any] | None, str]:
    """The object holding a (possibly dotted) key, and the last part; a literal key wins over a path."""
    if key in detail:
        return detail, key
    head, _, rest = key.partition(".")
    child = detail.get(head)
    if rest and isinstance(child, dict):
        return _locate(child, rest)
    return None, key


class _NotFinite(ValueError):
    pass


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999
        raise _NotFinite(text)
    return number


def _no_constant(text: str) -> Any:  # NaN, Infinity, -Infinity: Python's json reads them, JSON has none
    raise _NotFinite(text)


def _typed(name: str, key: str, value: str, default: Any) -> Any:
    if isinstance(default, str):
        return value
    try:
        return json.loads(value, parse_float=_finite_float, parse_constant=_no_constant)
    except _NotFinite as exc:
        raise UsageError(
            f"--set {key}={value!r}: {exc} is not a finite number",
            "EventBridge takes JSON numbers only (no NaN or Infinity); give a number such as 12.5",
        ) from None
    except ValueError:
        raise UsageError(
            f"--set {key}={value!r}: template {name!r} expects JSON here (its default is {compact_json(default)})",
            "quote strings as JSON, e.g. --set key='\"text\"'",
        ) from None
