"""What a load run is asked for: how many events and at what rate, from --count, --rate and --duration.

    spec = LoadSpec.resolve(count=None, rate="200/s", duration="30s", from_file=False)   # 6000 events at 200/s
    parse_rate("6000/m")     # 100.0 events per second

Rules (each broken one is a UsageError, exit 2, one line):
- `--rate R` is events per second: `R`, `R/s` or `R/m` (per minute); positive, finite, at most MAX_RATE, written
  out (no exponent).
- `--duration D` needs `--rate` (count = ceil(rate × duration), at most MAX_COUNT); `--count` and `--duration` are
  exclusive.
- The schedule ends within MAX_DURATION_SECONDS (100 years, the longest --duration): `--rate 0.0001/m --count 3`
  (two weeks) runs, `--rate 0.0000001 --count 1000` does not.
- `--rate` alone needs `--count` or `--duration`, except with a file (the file, once, at that rate).
- `--count N` without `--rate`: N events as fast as the concurrency cap allows (no schedule).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from evctl.core.common.time import MAX_DURATION_SECONDS, parse_duration
from evctl.errors import UsageError

__all__ = ["MAX_COUNT", "MAX_RATE", "LoadSpec", "parse_rate"]

MAX_RATE = 1_000_000.0  # events per second; far above what one process can offer
MAX_COUNT = 2**31 - 1  # events in one run: --count's own bound (evctl/cli/options.py INT_LIMIT), --duration's too
_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:/\s*(s|sec|m|min))?\s*$", re.IGNORECASE)
_SHAPE = re.compile(r"^\s*([^/\s]*)\s*(?:/\s*(.*?))?\s*$")  # number / unit, to say which part is wrong
_RATE_HINT = "give events per second as R, R/s or R/m, e.g. --rate 100 or --rate 6000/m"


def _not_a_rate(text: str) -> UsageError:
    """The one line for a --rate that does not parse: what is wrong with it, as precisely as can be said."""
    shape = _SHAPE.match(text)
    number, unit = (shape.group(1), shape.group(2)) if shape else (text, None)
    try:
        value: float | None = float(number)
    except ValueError:
        value = None
    if unit is not None and not re.fullmatch(r"s|sec|m|min", unit, re.IGNORECASE):
        why = f"the unit /{unit} is not /s or /m" if unit else "no unit after /"
    elif value is None:
        why = "not a number of events"
    elif not math.isfinite(value):
        why = "not a finite number"
    elif value <= 0:
        why = "not more than 0 events per second"
    elif value > MAX_RATE:
        why = f"more than {MAX_RATE:,.0f} events per second"
    else:
        why = "an exponent: write the number out"
    return UsageError(f"--rate: {text!r} is not a rate ({why})", _RATE_HINT)


def parse_rate(text: str) -> float:
    """'100', '100/s', '2.5/s', '6000/m' → events per second."""
    match = _RATE.match(text)
    if not match:
        raise _not_a_rate(text)
    per_second = float(match.group(1)) / (60.0 if (match.group(2) or "s").lower().startswith("m") else 1.0)
    if not math.isfinite(per_second) or per_second <= 0:
        raise UsageError(f"--rate: {text!r} must be more than 0 events per second", _RATE_HINT)
    if per_second > MAX_RATE:
        raise UsageError(f"--rate: {text!r} is more than {MAX_RATE:,.0f} events per second", _RATE_HINT)
    return per_second


@dataclass(frozen=True)
class LoadSpec:
    """`count` events (None: each event of the file once), offered at `rate` per second (None: unpaced)."""

    count: int | None
    rate: float | None
    duration: float | None = None

    @classmethod
    def resolve(
        cls, *, count: int | None, rate: str | None, duration: str | None, from_file: bool, dry_run: bool = False
    ) -> LoadSpec | None:
        """The load asked for, or None when none of --count, --rate, --duration is given (a plain publish)."""
        if count is None and rate is None and duration is None:
            return None
        given = [name for name, value in (("--count", count), ("--rate", rate), ("--duration", duration)) if value]
        if dry_run:
            raise UsageError(
                f"--dry-run cannot be combined with {', '.join(given)}",
                "run --dry-run alone to check the event, then the load without it",
            )
        if count is not None and count < 1:
            raise UsageError(f"--count must be at least 1, not {count}")
        if count is not None and duration is not None:
            raise UsageError("give --count or --duration, not both", "--duration D with --rate R sends R × D events")
        per_second = parse_rate(rate) if rate is not None else None
        seconds = None
        if duration is not None:
            if per_second is None:
                raise UsageError("--duration needs --rate", "e.g. --rate 100/s --duration 30s")
            seconds = parse_duration(duration, "--duration")
            if seconds <= 0:
                raise UsageError(f"--duration must be more than 0, not {duration!r}", "e.g. --duration 30s or 2m")
            events = math.ceil(per_second * seconds - 1e-9)
            if events > MAX_COUNT:
                raise UsageError(
                    f"--rate {rate} for --duration {duration} is {events:,} events, more than one run sends"
                    f" ({MAX_COUNT:,})",
                    "shorten --duration or lower --rate",
                )
            count = max(1, events)
        if count is None and not from_file:
            raise UsageError("--rate needs --count N or --duration D", "e.g. --rate 100/s --duration 30s")
        spec = cls(count=count, rate=per_second, duration=seconds)
        if count is not None:
            spec.check_length(count)
        return spec

    def check_length(self, events: int) -> None:
        """`events` at this rate end within MAX_DURATION_SECONDS (a file sent once at --rate: no --count)."""
        if self.rate is not None and (events - 1) / self.rate > MAX_DURATION_SECONDS:
            years = (events - 1) / self.rate / 86400 / 365
            raise UsageError(
                f"--rate {self.rate:.3g}/s for {events:,} events would take {years:,.0f} years",
                "raise --rate or lower --count: a run ends within 100 years",
            )
