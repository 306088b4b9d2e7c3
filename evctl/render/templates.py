"""`evctl templates list` on the terminal: its columns, and a template's keys on one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LIST_COLUMNS = [("name", "name"), ("source", "source"), ("detail_type", "detail type"), ("keys", "keys")]
LIST_COLUMNS += [("origin", "from")]


def template_row(template: Mapping[str, Any]) -> dict[str, Any]:
    """A described template (events.describe_template) as a table or text row."""
    return dict(template) | {"keys": ", ".join(template["keys"])}
