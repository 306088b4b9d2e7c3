"""What the local runner knows about a mapping, shown through Lambda's own API.

moto answers GetEventSourceMapping / ListEventSourceMappings from its EventSourceMapping objects, with
`StateTransitionReason` fixed to "User initiated" and no `LastProcessingResult`. The runner publishes the fields
AWS would show for the mapping it runs (keyed by UUID) and, in this process, moto's answer carries them: `aws lambda
get-event-source-mapping` against the sandbox shows the runner's verdict exactly where it shows on AWS.

`install()` / `uninstall()` are counted (patches.Patch: an in-process sandbox leaves moto as it found it).
Publishing needs moto's server in this process (the sandbox's own); against any other endpoint it changes nothing
anyone can see.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from evctl.sandbox.patches import Patch, Replacement

# AWS shows this StateTransitionReason on SQS mappings a user created, enabled or disabled (the AWS CLI's own
# examples for get-event-source-mapping on an SQS queue; moto says "User initiated").
USER_INITIATED = "USER_INITIATED"

_lock = threading.Lock()
_published: dict[str, dict[str, Any]] = {}


def _replacements() -> list[Replacement]:
    mapping_class: Any = importlib.import_module("moto.awslambda.models").EventSourceMapping
    original = mapping_class.get_configuration

    def get_configuration(self: Any) -> dict[str, Any]:
        configuration: dict[str, Any] = original(self)
        fields = _published.get(str(getattr(self, "uuid", "")))
        if fields:
            configuration.update(fields)
            for name in [k for k, v in configuration.items() if v is None]:
                del configuration[name]  # as moto does: a field without a value is not in the answer
        return configuration

    return [(mapping_class, "get_configuration", get_configuration)]


def _forget_all() -> None:
    with _lock:
        _published.clear()


PATCH = Patch("the runner's fields in GetEventSourceMapping", _replacements, on_restore=_forget_all)
install = PATCH.install
uninstall = PATCH.uninstall


def publish(uuid: str, *, state_transition_reason: str | None, last_processing_result: str | None) -> None:
    """The fields Lambda would show for mapping `uuid` now (None: the field is absent)."""
    with _lock:
        _published[uuid] = {
            "StateTransitionReason": state_transition_reason,
            "LastProcessingResult": last_processing_result,
        }


def forget(uuid: str) -> None:
    with _lock:
        _published.pop(uuid, None)


def published(uuid: str) -> dict[str, Any]:
    with _lock:
        return dict(_published.get(uuid, {}))
