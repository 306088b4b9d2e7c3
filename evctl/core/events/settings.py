"""Publishing settings: each from its flag, then [publish] in the config file, then the default."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evctl.core.common.names import check_name, is_bus_ref
from evctl.core.events.entries import DEFAULT_MAX_ENTRY_BYTES
from evctl.core.events.publishing import DEFAULT_CONCURRENCY
from evctl.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from evctl.config import Config

_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*(b|kb|kib|k|mb|mib|m)?\s*$", re.IGNORECASE)


@dataclass
class PublishSettings:
    """Publishing settings: the flag, then [publish] in the config file, then the default.

    Bad flags are usage errors (exit 2); bad config values are configuration errors (exit 4)."""

    bus: str
    concurrency: int
    max_attempts: int
    cap: int  # the entry-size cap, also the request-size cap for a batch
    bus_flag: str | None = None

    @classmethod
    def resolve(
        cls,
        config: Config,
        *,
        bus: str | None,
        concurrency: int | None,
        max_attempts: int | None,
        max_entry_size: str | None,
        default_max_attempts: int,
    ) -> PublishSettings:
        try:
            from_config = cls(
                bus=str(config.setting("publish", "bus", "default")),
                concurrency=int(config.setting("publish", "concurrency", DEFAULT_CONCURRENCY)),
                max_attempts=int(config.setting("publish", "max_attempts", default_max_attempts)),
                cap=parse_size(config.setting("publish", "max_entry_size", DEFAULT_MAX_ENTRY_BYTES)),
            )
        except (TypeError, ValueError, UsageError) as exc:
            raise ConfigError(f"bad [publish] setting in {config.path}: {exc}", "see docs/configuration.md") from exc
        if (
            min(from_config.cap, from_config.concurrency, from_config.max_attempts) <= 0
            or from_config.concurrency > 64
            or from_config.max_attempts > 20
        ):
            raise ConfigError(
                f"[publish] settings in {config.path} out of range", "concurrency 1-64, max_attempts 1-20, sizes > 0"
            )
        if bus is not None and not is_bus_ref(bus):
            check_name("event bus", bus, option="--bus")  # a name; an ARN's name part is checked the same way
            raise UsageError(
                f"--bus: {bus!r} is not an event bus name or ARN", "give NAME or arn:aws:events:…:event-bus/NAME"
            )
        cap = parse_size(max_entry_size) if max_entry_size is not None else from_config.cap
        if cap <= 0:
            raise UsageError("--max-entry-size must be positive")
        return cls(
            bus=bus or from_config.bus,
            concurrency=concurrency or from_config.concurrency,
            max_attempts=max_attempts or from_config.max_attempts,
            cap=cap,
            bus_flag=bus,
        )


def parse_size(text: str | int) -> int:
    """'256KiB', '1MiB', '262144' → bytes (KB/KiB and MB/MiB both mean powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = _SIZE_PATTERN.match(str(text))
    if not match:
        raise UsageError(f"cannot read size {text!r}", "use bytes, or e.g. 256KiB or 1MiB")
    unit = (match.group(2) or "b").lower()
    return int(match.group(1)) * {"b": 1, "k": 1024, "kb": 1024, "kib": 1024}.get(unit, 1024 * 1024)
