"""Everything that turns core data into terminal text: table column specs, row view models, log colours.

`evctl.render.tables` is the table mechanism `evctl.output` draws with; `evctl.render.<domain>` holds each
domain's column specs. A spec is a list of `Column` (or, the older form, `(key, header)` tuples)::

    from evctl.render import Column

    COLUMNS = [
        Column("name", "QUEUE", priority=0, no_wrap=True),     # names and ARNs never wrap; 0: never left out
        Column("visible", "VISIBLE", align="right"),
        Column("retention", "RETENTION", priority=3),          # higher numbers are left out first
    ]
    output.result(rows, columns=COLUMNS)
"""

from __future__ import annotations

from evctl.render.tables import Column, render_mapping, render_table

__all__ = ["Column", "render_mapping", "render_table"]
