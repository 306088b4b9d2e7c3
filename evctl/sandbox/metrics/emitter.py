"""The sandbox's metric emitter: what AWS services would put into CloudWatch, put into the sandbox's own.

Hooks (the SQS backend's, the local Lambda runner, the rule → target delivery) call `current()` and report what
happened; the emitter adds it up per series and minute in memory (cheap: a lock and a dict) and a background
thread writes the minutes into moto's CloudWatch every `flush_seconds` and once more on stop. Gauges (queue depth,
age of the oldest message) are sampled every `sample_seconds` by the samplers registered with `add_sampler`.

Statistics per series and minute, as CloudWatch stores standard-resolution data:
- count / observe: Sum, SampleCount, Minimum, Maximum of every value reported in that minute (Average = Sum /
  SampleCount); a count of 1 per event, an observation of one duration per invocation;
- gauge: the latest sample of the minute replaces the earlier ones (AWS/SQS publishes one sample a minute; the
  sandbox refreshes it more often, so the current minute is never empty).
A minute's datapoint carries the time of the first value reported in it (real time, nothing compressed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypedDict, Unpack

DEFAULT_ACCOUNT = "123456789012"  # moto's default account: the one every sandbox client uses

Dimensions = tuple[tuple[str, str], ...]
Dims = Mapping[str, str]


class Where(TypedDict, total=False):
    """Where a series lives when it is not the emitter's own account and region (moto's SQS: each queue's)."""

    account: str | None
    region: str | None


MAX_VALUES = 10_000  # values kept per series-minute for percentiles (beyond: the first MAX_VALUES)
MAX_ERRORS = 20  # failure messages kept (SandboxMetrics.errors); error_count counts them all


def error_kind(message: str) -> str:
    """What failed and the exception's type: "writing metrics failed: ClientError" (one warning per kind)."""
    return message.split("(", 1)[0]


@dataclass(frozen=True)
class SeriesKey:
    """One CloudWatch series: where it lives (account, region), what it is, and its unit."""

    account: str
    region: str
    namespace: str
    metric: str
    dimensions: Dimensions
    unit: str


@dataclass
class Minute:
    """The statistics of one series over one minute (`minute` = epoch seconds // 60), and its values (at most
    MAX_VALUES: what percentiles are computed from)."""

    minute: int
    first: float  # epoch seconds of the first value of the minute: the datapoint's timestamp
    sum: float
    minimum: float
    maximum: float
    count: float
    replace: bool = False  # a gauge: the newest sample replaces the minute's statistics
    fill: bool = False  # only a 0 making the minute exist (see SandboxMetrics.zero); any real value replaces it
    values: list[float] = field(default_factory=list)

    def add(self, value: float, weight: float) -> None:
        if self.replace or self.fill:
            self.fill = False
            self.sum, self.minimum, self.maximum, self.count = value, value, value, 1.0
            self.values = [value]
            return
        self.sum += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        self.count += weight
        if len(self.values) < MAX_VALUES:
            self.values.append(value)


class Sink(Protocol):
    """Where flushed minutes go (the sandbox's moto CloudWatch: store.MotoCloudWatch)."""

    def write(self, minutes: list[tuple[SeriesKey, Minute]]) -> None: ...


def rule_dimensions(rule_name: str, bus_name: str = "default") -> dict[str, str]:
    """AWS/Events: a default-bus rule's metrics carry RuleName alone; a custom bus's carry EventBusName too."""
    if bus_name in ("", "default") or bus_name.endswith(":event-bus/default"):
        return {"RuleName": rule_name}
    return {"EventBusName": bus_name.rsplit("/", 1)[-1], "RuleName": rule_name}


def function_dimensions(function_name: str) -> dict[str, str]:
    """AWS/Lambda: FunctionName (the name, not the ARN)."""
    return {"FunctionName": function_name.rsplit(":function:", 1)[-1].split(":", 1)[0]}


def queue_dimensions(queue_name: str) -> dict[str, str]:
    """AWS/SQS: QueueName (with `.fifo` for a FIFO queue)."""
    return {"QueueName": queue_name}


class NoMetrics:
    """The emitter when no sandbox runs in this process: every report is dropped, at no cost."""

    active = False

    def count(self, *args: object, **kwargs: object) -> None:
        pass

    observe = gauge = zero = lambda_throttle = rule_metric = count

    def lambda_invocation(self, *args: object, **kwargs: object) -> None:
        pass


NO_METRICS = NoMetrics()


class SandboxMetrics:
    """Collects the sandbox's service metrics and writes them into its CloudWatch (see the module docstring).

    `start()` starts the writer thread (and, through store/sqs, whatever `on_start` callbacks were given), `stop()`
    samples and flushes once more, joins the thread and runs `on_stop`. Thread-safe: hooks report from any thread.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        region: str,
        account: str = DEFAULT_ACCOUNT,
        flush_seconds: float = 1.0,
        sample_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sink = sink
        self.region = region
        self.account = account
        self.flush_seconds = flush_seconds
        self.sample_seconds = sample_seconds
        self.clock = clock
        self.errors: list[str] = []  # why a flush or a sample failed, the first MAX_ERRORS (the thread never dies)
        self.error_count = 0  # every failure, kept or not
        self._lock = threading.Lock()
        self._pending: dict[tuple[SeriesKey, int], Minute] = {}
        self._samplers: list[Callable[[SandboxMetrics], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sample = float("-inf")
        self._on_stop: list[Callable[[], None]] = []

    @property
    def active(self) -> bool:
        return True

    # -- reporting (any thread) -------------------------------------------------------------------------------

    def _add(
        self,
        namespace: str,
        metric: str,
        dimensions: Dims,
        value: float,
        unit: str,
        at: float | None,
        where: Where,
        replace: bool = False,
        fill: bool = False,
    ) -> None:
        when = self.clock() if at is None else at
        account, region = where.get("account") or self.account, where.get("region") or self.region
        key = SeriesKey(account, region, namespace, metric, tuple(sorted(dimensions.items())), unit)
        minute = int(when // 60)
        value = float(value)
        with self._lock:
            slot = self._pending.get((key, minute))
            if slot is None:
                self._pending[(key, minute)] = Minute(minute, when, value, value, value, 1.0, replace, fill, [value])
            elif not fill:
                slot.first = min(slot.first, when)
                slot.add(value, 1.0)

    def count(
        self,
        namespace: str,
        metric: str,
        dimensions: Dims,
        value: float = 1.0,
        unit: str = "Count",
        at: float | None = None,
        **where: Unpack[Where],
    ) -> None:
        """`value` more of a counted metric (Sum is what AWS's counts are read by)."""
        self._add(namespace, metric, dimensions, value, unit, at, where)

    def observe(
        self,
        namespace: str,
        metric: str,
        dimensions: Dims,
        value: float,
        unit: str = "Milliseconds",
        at: float | None = None,
        **where: Unpack[Where],
    ) -> None:
        """One observation (a duration): Average, Minimum, Maximum and SampleCount are read from these."""
        self._add(namespace, metric, dimensions, value, unit, at, where)

    def gauge(
        self,
        namespace: str,
        metric: str,
        dimensions: Dims,
        value: float,
        unit: str = "Count",
        at: float | None = None,
        **where: Unpack[Where],
    ) -> None:
        """A sampled level (queue depth, age): the minute's datapoint is its latest sample."""
        self._add(namespace, metric, dimensions, value, unit, at, where, replace=True)

    def zero(
        self,
        namespace: str,
        metric: str,
        dimensions: Dims,
        unit: str = "Count",
        at: float | None = None,
        **where: Unpack[Where],
    ) -> None:
        """Make the minute of a count exist with Sum 0 unless something was counted in it (AWS/SQS publishes its
        counts every minute for an active queue, 0 included; AWS/Events does not)."""
        self._add(namespace, metric, dimensions, 0.0, unit, at, where, fill=True)

    def lambda_invocation(
        self, function_name: str, duration_ms: float, *, error: bool = False, at: float | None = None
    ) -> None:
        """One invocation of a function (AWS/Lambda): Invocations 1, Errors 1 or 0 (a function error or a timeout is
        1: AWS's invocation metrics are binary indicators, sent for every invocation), Duration in ms. `at`: when
        the invocation started (AWS stamps an invocation's metrics with that time, not the error's); default now."""
        dims = function_dimensions(function_name)
        self.count("AWS/Lambda", "Invocations", dims, at=at)
        self.count("AWS/Lambda", "Errors", dims, 1.0 if error else 0.0, at=at)
        self.observe("AWS/Lambda", "Duration", dims, duration_ms, "Milliseconds", at=at)

    def lambda_throttle(self, function_name: str, at: float | None = None) -> None:
        """One invocation request refused for concurrency (AWS/Lambda Throttles; not counted in Invocations)."""
        self.count("AWS/Lambda", "Throttles", function_dimensions(function_name), at=at)

    def rule_metric(
        self, rule_name: str, metric: str, value: float = 1.0, *, bus_name: str = "default", at: float | None = None
    ) -> None:
        """An AWS/Events count for a rule: MatchedEvents, Invocations, FailedInvocations, InvocationsSentToDlq,
        InvocationsFailedToBeSentToDlq, ... (dimensions: rule_dimensions)."""
        self.count("AWS/Events", metric, rule_dimensions(rule_name, bus_name), value, at=at)

    # -- writing -------------------------------------------------------------------------------------------------

    def add_sampler(self, sampler: Callable[[SandboxMetrics], None]) -> None:
        """Call `sampler(self)` every sample_seconds (and once on stop); it reports gauges."""
        self._samplers.append(sampler)

    def on_stop(self, callback: Callable[[], None]) -> None:
        self._on_stop.append(callback)

    def sample(self) -> None:
        """Run every sampler now."""
        self._last_sample = time.monotonic()
        for sampler in self._samplers:
            try:
                sampler(self)
            except Exception as exc:  # a sampler's failure must not stop the sandbox
                self._note(f"sampling failed: {exc!r}")

    def flush(self) -> int:
        """Write what was reported since the last flush; returns the number of series-minutes written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            self.sink.write([(key, minute) for (key, _), minute in pending.items()])
        except Exception as exc:
            self._note(f"writing metrics failed: {exc!r}")
        return len(pending)

    def _note(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    def tick(self) -> None:
        """One turn of the writer thread: sample when due, then flush."""
        if time.monotonic() - self._last_sample >= self.sample_seconds:
            self.sample()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.tick()

    # -- life ------------------------------------------------------------------------------------------------------

    def start(self) -> SandboxMetrics:
        """Become `current()` and start writing."""
        if self._thread is not None:
            return self
        _push(self)
        self.sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="evctl-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing: the thread is joined, gauges sampled and everything reported so far flushed. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=10)
        _pop(self)
        try:
            self.sample()
            self.flush()
        finally:
            while self._on_stop:
                self._on_stop.pop()()

    def __enter__(self) -> SandboxMetrics:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_active_lock = threading.Lock()
_active: list[SandboxMetrics] = []


def _push(emitter: SandboxMetrics) -> None:
    with _active_lock:
        _active.append(emitter)


def _pop(emitter: SandboxMetrics) -> None:
    with _active_lock:
        if emitter in _active:
            _active.remove(emitter)


Emitter = SandboxMetrics | NoMetrics  # what a hook may call: the running emitter, or the no-op one


def current() -> Emitter:
    """The running sandbox's emitter in this process (the newest started), or a no-op one when none runs."""
    active = _active
    return active[-1] if active else NO_METRICS
