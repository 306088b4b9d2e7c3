"""`evctl templates list` on the terminal: its columns, and a template's keys on one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evctl.render.tables import Column

LIST_COLUMNS = [
    Column("name", "name", priority=0, no_wrap=True),
    Column("source", "source", no_wrap=True),
    Column("detail_type", "detail type", no_wrap=True),
    Column("keys", "keys", priority=2, min_width=16),
    Column("origin", "from", priority=3, no_wrap=True),
]


def template_row(template: Mapping[str, Any]) -> dict[str, Any]:
    """A described template (events.describe_template) as a table or text row."""
    return dict(template) | {"keys": ", ".join(template["keys"])}
