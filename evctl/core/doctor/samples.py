"""The producer's events for doctor's pattern checks: Sample objects (the envelope a rule sees, the bus it is put on,
where it came from) from template names, from a JSON-lines file, or by default from the templates whose source a
discovered rule names.

    samples_from_specs(["signup", "@events.jsonl"], config, account=…, region=…)   # --sample, in the order given
    default_samples(config, graph, account=…, region=…)                           # no --sample

A file line may be a PutEvents entry (Source, DetailType, Detail, EventBusName, ...), an EventBridge envelope
(source, detail-type, detail, ...) or an SQS message whose body is one (what `evctl publish` reads). A bad template
name, an unreadable file or a bad line is a UsageError (exit 2) naming the file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evctl.config import Config
from evctl.core.events.entries import InvalidEntry, entry_from_json
from evctl.core.events.templates import Template, all_templates, get_template, render
from evctl.core.patterns import EventError, PatternError, compile_pattern, normalize_event
from evctl.core.pipeline import Graph
from evctl.core.rules.catalog import bus_name
from evctl.errors import UsageError

from .context import Sample

__all__ = ["default_samples", "named_sources", "sample_from_template", "samples_from_file", "samples_from_specs"]

SAMPLE_HINT = "give --sample TEMPLATE (evctl templates list) or --sample @FILE.jsonl (events or PutEvents entries)"
MAX_SAMPLES = 1000  # sample events per run: pattern checks evaluate each against each rule
_ENVELOPE_KEYS = frozenset({"source", "detail-type", "detail"})


def sample_from_template(
    template: Template, *, account: str | None, region: str | None, default_bus: str = "default"
) -> Sample:
    """The template rendered to a PutEvents entry, then the envelope EventBridge matches rules against."""
    entry = render(template, {})
    envelope, _ = normalize_event(entry, account=account or None, region=region or None)
    bus = bus_name(entry.get("EventBusName") or default_bus)
    return Sample(event=envelope, bus=bus, origin=f"template {template.name}")


def samples_from_file(
    path: str, *, account: str | None, region: str | None, default_bus: str = "default"
) -> list[Sample]:
    """Every non-blank line of a JSON-lines file as a Sample; UsageError (exit 2) for an unreadable file or line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"--sample @{path}: cannot read the file ({exc.strerror or exc})", SAMPLE_HINT) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise UsageError(f"--sample @{path}: not UTF-8 text (binary data?)", SAMPLE_HINT) from None
    samples: list[Sample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"--sample @{path}:{number}"
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"{where}: not valid JSON ({_one_line(str(exc))})", SAMPLE_HINT) from None
        samples.append(_sample_from_object(obj, where, f"{path}:{number}", account, region, default_bus))
        if len(samples) > MAX_SAMPLES:
            raise UsageError(f"--sample @{path}: more than {MAX_SAMPLES} events", "give a representative few")
    if not samples:
        raise UsageError(f"--sample @{path}: the file holds no event", SAMPLE_HINT)
    return samples


def _sample_from_object(
    obj: Any, where: str, origin: str, account: str | None, region: str | None, default_bus: str
) -> Sample:
    try:
        entry = entry_from_json(obj, default_bus=default_bus)  # either shape, or an SQS message holding one
    except InvalidEntry as exc:
        raise UsageError(f"{where}: {_one_line(exc.message)}", exc.hint or SAMPLE_HINT) from None
    # An envelope keeps its own fields (id, account, region, ...): a pattern may select on them.
    document: Mapping[str, Any] = obj if isinstance(obj, Mapping) and _ENVELOPE_KEYS & obj.keys() else entry
    try:
        envelope, _ = normalize_event(document, account=account or None, region=region or None)
    except EventError as exc:
        raise UsageError(f"{where}: {_one_line(exc.reason)}", exc.hint or SAMPLE_HINT) from None
    if not isinstance(envelope.get("source"), str) or not isinstance(envelope.get("detail-type"), str):
        raise UsageError(f"{where}: an event needs a source and a detail-type", SAMPLE_HINT)
    try:
        bus = bus_name(str(entry.get("EventBusName") or default_bus))
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}", exc.hint) from None
    return Sample(event=envelope, bus=bus, origin=origin)


def samples_from_specs(
    specs: Sequence[str], config: Config, *, account: str | None, region: str | None, default_bus: str = "default"
) -> list[Sample]:
    """--sample values in the order given: `NAME` (a template) or `@FILE` (JSON lines)."""
    samples: list[Sample] = []
    for spec in specs:
        if spec.startswith("@"):
            if not spec[1:]:
                raise UsageError("--sample @: give a file name after @", SAMPLE_HINT)
            samples.extend(samples_from_file(spec[1:], account=account, region=region, default_bus=default_bus))
        elif not spec.strip():
            raise UsageError("--sample: empty value", SAMPLE_HINT)
        else:
            template = get_template(spec, config)  # UsageError listing the known templates
            samples.append(sample_from_template(template, account=account, region=region, default_bus=default_bus))
    return samples


def named_sources(pattern: Any) -> list[Any]:
    """The conditions a rule pattern puts on `source` (top level and inside `$or` branches)."""
    if not isinstance(pattern, Mapping):
        return []
    found: list[Any] = []
    source = pattern.get("source")
    if isinstance(source, list):
        found.extend(source)
    for branch in pattern.get("$or") or []:
        found.extend(named_sources(branch))
    return found


def _names(condition: Any, source: str) -> bool:
    """Whether one `source` condition names this source: an exact string, or prefix / suffix / wildcard /
    equals-ignore-case matching it (anything-but, exists and numeric name nothing)."""
    if isinstance(condition, str):
        return condition == source
    if not isinstance(condition, Mapping) or not condition.keys() & {"prefix", "suffix", "wildcard",
                                                                       "equals-ignore-case"}:  # fmt: skip
        return False
    try:
        return compile_pattern(json.dumps({"source": [condition]})).matches({"source": source})
    except (PatternError, TypeError, ValueError):
        return False


def default_samples(
    config: Config, graph: Graph, *, account: str | None, region: str | None, default_bus: str = "default"
) -> list[Sample]:
    """The templates (built-in `signup` and evctl.toml's) whose source one of the graph's rules names."""
    conditions = [c for node in graph.sorted_nodes() if node.kind == "rule"
                  for c in named_sources(node.attributes.get("pattern"))]  # fmt: skip
    return [
        sample_from_template(template, account=account, region=region, default_bus=default_bus)
        for template in _sorted(all_templates(config).values())
        if any(_names(condition, template.source) for condition in conditions)
    ]


def _sorted(templates: Iterable[Template]) -> list[Template]:
    return sorted(templates, key=lambda t: t.name)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
