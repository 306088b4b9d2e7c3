"""Rule → SQS delivery as AWS does it, inside the sandbox's moto (on by default; `--permissive` restores moto).

    from evctl.sandbox import delivery
    delivery.install("enforcing")      # in the process running moto (lifecycle.start does it); counted
    ...                                # put_events: disabled rules deliver nothing, queue/key policies decide,
                                       # retries per the target's RetryPolicy, the target DLQ with AWS's attributes,
                                       # AWS/Events metrics, one ledger line per outcome in LEDGER_GROUP
    delivery.uninstall()               # the last one puts moto's own delivery back

Modules: hook (the patch on moto's Rule.send_to_targets), engine (one event to one target), access (queue and key
policies through evctl.core.iam), retry (which errors are retried, backoff, compressed clock), scheduler (retries
later), records (ledger and metrics). What is enforced, with sources: docs/sandbox.md.
"""

from __future__ import annotations

from evctl.sandbox.delivery.engine import ENFORCING, PERMISSIVE, Engine, Mode
from evctl.sandbox.delivery.hook import current_mode, install, uninstall
from evctl.sandbox.delivery.records import LEDGER_FIELDS, LEDGER_GROUP

__all__ = [
    "ENFORCING",
    "LEDGER_FIELDS",
    "LEDGER_GROUP",
    "PERMISSIVE",
    "Engine",
    "Mode",
    "current_mode",
    "install",
    "uninstall",
]
