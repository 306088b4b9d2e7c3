"""The watch loop: what is due when, the reads, the history, and a Snapshot after each step.

    watcher = Watcher(hops, WatchClients(sqs=sqs, cloudwatch=cw), targets=["orders"], doctor=runs, clock=clock)
    snapshot = watcher.tick()              # whatever is due now; then the Snapshot (data, never printed here)
    watcher.run(emit, sleep=sleep)         # tick, emit, sleep until the next due time; Ctrl-C ends it (caller)

Cadence (API calls a minute, whatever the pipeline's size):
- every `interval` (default 2 s): one GetQueueAttributes per queue hop (not DLQs);
- every DLQ_EVERY (60 s): one GetQueueAttributes per DLQ (depth moves slowly; a rise is marked);
- every METRICS_EVERY (60 s): one GetMetricData for every metric of every hop (MAX_QUERIES a call), the last
  HISTORY_SECONDS per minute (CloudWatch revises late minutes: the whole window is read again);
- every `doctor_every` (default 5 min): the doctor, on a background thread (its findings arrive at a later tick).
A missed due time (a slow call) is skipped, never caught up in a burst. A read that fails leaves a gap in its
series and a note on its hop; the watch goes on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from evctl.core.pipeline import denied_action
from evctl.errors import QUEUE_NOT_FOUND_CODES, EvctlError, error_code

from .history import History
from .metrics import is_percentile, read_minutes
from .plan import QUEUE_VALUES, Hop
from .snapshot import Alert, DoctorView, HopView, SeriesView, Snapshot, Unit

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["DEFAULT_INTERVAL", "DLQ_EVERY", "DOCTOR_EVERY", "HISTORY_SECONDS", "METRICS_EVERY", "WatchClients",
           "Watcher"]  # fmt: skip

DEFAULT_INTERVAL = 2.0
DLQ_EVERY = 60.0
METRICS_EVERY = 60.0
DOCTOR_EVERY = 300.0
HISTORY_SECONDS = 900  # the series kept: the last 15 minutes
_ATTRIBUTES = {"visible": "ApproximateNumberOfMessages", "in_flight": "ApproximateNumberOfMessagesNotVisible",
               "delayed": "ApproximateNumberOfMessagesDelayed"}  # fmt: skip
_UNITS: dict[str, Unit] = {"oldest_age_seconds": "seconds", "duration_p95_ms": "milliseconds"}
_READ_ERRORS = (ClientError, BotoCoreError, EvctlError)

Clock = Callable[[], float]
Start = Callable[[Callable[[], None]], None]


def _daemon(job: Callable[[], None]) -> None:
    """Run `job` on a daemon thread: a stop never waits for a doctor run in progress."""
    threading.Thread(target=job, name="evctl-watch-doctor", daemon=True).start()


@dataclass
class WatchClients:
    sqs: SQSClient
    cloudwatch: CloudWatchClient | None = None  # None: no CloudWatch reads (--no-metrics)


def _next(due: float, every: float, now: float) -> float:
    """The next due time after `now` on the grid due + k·every (missed ones skipped)."""
    missed = int((now - due) // every) if now >= due else -1
    return due + every * (missed + 1)


GONE = "does not exist (deleted since the watch started?)"


def _why(exc: BaseException, action: str) -> str:
    """A failed read as a note; `action` is the IAM action ("sqs:GetQueueAttributes")."""
    if denied_action(exc):
        return f"not read: {action} denied"
    code = error_code(exc)
    if code in QUEUE_NOT_FOUND_CODES:
        return GONE
    return f"{action.partition(':')[2] or action} failed: {code or type(exc).__name__}"


class Watcher:
    def __init__(
        self,
        hops: Sequence[Hop],
        clients: WatchClients,
        *,
        targets: Sequence[str] = (),
        interval: float = DEFAULT_INTERVAL,
        clock: Clock = time.time,
        doctor: Callable[[], tuple[Alert, ...]] | None = None,
        doctor_every: float = DOCTOR_EVERY,
        start: Start = _daemon,
    ) -> None:
        if interval <= 0 or doctor_every <= 0:
            raise ValueError("intervals are positive")
        self.hops = list(hops)
        self.clients = clients
        self.targets = tuple(targets)
        self.interval = float(interval)
        self.clock = clock
        self.calls: Counter[str] = Counter()
        self.history = History(samples=max(1, int(HISTORY_SECONDS // self.interval)), minutes=HISTORY_SECONDS // 60)
        self._notes: dict[str, dict[str, str]] = {}  # hop id → read → note (cleared when that read succeeds)
        self._first_depth: dict[str, float] = {}
        self._due = {"queues": 0.0, "dlqs": 0.0, "metrics": 0.0, "doctor": 0.0}
        self._started = False
        self._read_at = -1.0  # when the newest read was made
        self._metrics_at: float | None = None
        self._metrics_note: str | None = None
        self._percentiles = True  # False once the endpoint failed a call that asked for a percentile (p95)
        self._doctor = doctor
        self._doctor_every = float(doctor_every)
        self._start = start
        self._lock = threading.Lock()
        self._doctor_view = DoctorView(ran_at=None) if doctor is not None else None

    # ---- schedule -------------------------------------------------------------------------------------------
    def _jobs(self) -> dict[str, tuple[float, Callable[[float], None]]]:
        jobs: dict[str, tuple[float, Callable[[float], None]]] = {
            "queues": (self.interval, self._read_queues),
            "dlqs": (DLQ_EVERY, self._read_dlqs),
        }
        if self.clients.cloudwatch is not None:
            jobs["metrics"] = (METRICS_EVERY, self._read_metrics)
        if self._doctor is not None:
            jobs["doctor"] = (self._doctor_every, self._run_doctor)
        return jobs

    def due(self) -> float:
        """When the next read is due (epoch seconds)."""
        return min(self._due[name] for name in self._jobs())

    def tick(self) -> Snapshot:
        """Make every read that is due now, then return the snapshot."""
        now = self.clock()
        if not self._started:
            self._started = True
            self._due = dict.fromkeys(self._due, now)
        for name, (every, job) in self._jobs().items():
            if now >= self._due[name]:
                self._due[name] = _next(self._due[name], every, now)
                job(now)
                self._read_at = now
        return self.snapshot(now)

    def run(self, emit: Callable[[Snapshot], None], *, sleep: Callable[[float], None] = time.sleep,
            once: bool = False) -> None:  # fmt: skip
        """Tick and emit until stopped (KeyboardInterrupt, raised by the caller's signal handling, or emit's error);
        `once`: one snapshot, the doctor's first run waited for."""
        if once and self._doctor is not None:
            self._start = lambda job: job()
        while True:
            snapshot = self.tick()
            if self._read_at == snapshot.at:  # woken before anything was due: nothing new to show
                emit(snapshot)
            if once:
                return
            sleep(max(0.0, self.due() - self.clock()))

    # ---- reads ----------------------------------------------------------------------------------------------
    def _note(self, hop: Hop, read: str, note: str | None) -> None:
        notes = self._notes.setdefault(hop.id, {})
        if note is None:
            notes.pop(read, None)
        else:
            notes[read] = note

    def _read_queue(self, hop: Hop, now: float) -> None:
        self.calls["GetQueueAttributes"] += 1
        try:
            answer = self.clients.sqs.get_queue_attributes(QueueUrl=hop.url, AttributeNames=list(_ATTRIBUTES.values()))  # type: ignore[arg-type]
        except _READ_ERRORS as exc:
            self._note(hop, "queue", _why(exc, "sqs:GetQueueAttributes"))
            for name in QUEUE_VALUES:
                self.history.sample((hop.id, name), at=now, value=None)
            return
        self._note(hop, "queue", None)
        attributes = cast("dict[str, str]", answer.get("Attributes") or {})
        for name in QUEUE_VALUES:
            raw = attributes.get(_ATTRIBUTES[name])
            value = float(raw) if raw is not None else None
            self.history.sample((hop.id, name), at=now, value=value)
            if name == "visible" and value is not None:
                self._first_depth.setdefault(hop.id, value)

    def _read_queues(self, now: float) -> None:
        for hop in self.hops:
            if hop.role == "queue" and hop.polled:
                self._read_queue(hop, now)

    def _read_dlqs(self, now: float) -> None:
        for hop in self.hops:
            if hop.role == "dlq" and hop.polled:
                self._read_queue(hop, now)

    def _read_metrics(self, now: float) -> None:
        cloudwatch = self.clients.cloudwatch
        assert cloudwatch is not None
        end_s = int(now) // 60 * 60 + 60  # the end of this minute (as the doctor reads): the sandbox's are immediate
        wanted = [hop for hop in self.hops if hop.metrics]
        if not wanted:
            return
        self.calls["GetMetricData"] += 1
        try:
            minutes = read_minutes(cloudwatch, wanted, end_s=end_s, seconds=HISTORY_SECONDS,
                                   percentiles=self._percentiles)  # fmt: skip
        except _READ_ERRORS as exc:
            percentile = any(is_percentile(spec.query) for hop in wanted for spec in hop.metrics)
            if not (self._percentiles and percentile and denied_action(exc) is None):
                self._metrics_note = _why(exc, "cloudwatch:GetMetricData")
                return
            # An endpoint that cannot answer a percentile (moto fails the whole call): once more without them, and
            # never again with them in this watch.
            self._percentiles = False
            self._read_metrics(now)
            return
        self._metrics_at = now
        self._metrics_note = None if self._percentiles else "p95 duration not available from this endpoint"
        for (hop_id, name), points in minutes.items():
            self.history.minutes_of((hop_id, name), points)

    def _run_doctor(self, now: float) -> None:
        doctor = self._doctor
        assert doctor is not None and self._doctor_view is not None
        with self._lock:
            view = self._doctor_view
            if view.running:
                return  # the run before is still going: this one is skipped
            self._doctor_view = DoctorView(view.ran_at, view.alerts, view.error, running=True)
        self.calls["doctor runs"] += 1

        def job() -> None:
            try:
                alerts = doctor()
            except Exception as exc:  # the dashboard outlives a failed doctor run: it says why, keeps the last findings
                with self._lock:
                    view = self._doctor_view
                    assert view is not None
                    why = str(exc) if isinstance(exc, EvctlError) else _why(exc, "doctor")
                    self._doctor_view = DoctorView(view.ran_at, view.alerts, why)
                return
            with self._lock:
                self._doctor_view = DoctorView(now, alerts)

        self._start(job)

    # ---- the snapshot ---------------------------------------------------------------------------------------
    def _series(self, hop: Hop, name: str, step: float) -> SeriesView:
        points = self.history.points((hop.id, name))
        if step == 60.0 and name not in QUEUE_VALUES:  # CloudWatch: the newest minute that has a datapoint
            current = next((v for _, v in reversed(points) if v is not None), None)
        else:
            current = points[-1][1] if points else None
        return SeriesView(name, _UNITS.get(name, "count"), step, tuple(points), current)

    def _view(self, hop: Hop) -> HopView:
        series: list[SeriesView] = []
        grew_by = added = None
        if hop.role == "queue":
            series += [self._series(hop, name, self.interval) for name in ("visible", "in_flight", "delayed")]
        elif hop.role == "dlq":
            depth = self._series(hop, "visible", DLQ_EVERY)
            series.append(SeriesView("depth", "count", DLQ_EVERY, depth.points, depth.current))
            before = self.history.previous((hop.id, "visible"))
            if depth.current is not None and before is not None and before[1] is not None:
                grew_by = int(depth.current - before[1]) if depth.current > before[1] else None
            if depth.current is not None and hop.id in self._first_depth:
                added = int(depth.current - self._first_depth[hop.id])
        series += [self._series(hop, spec.name, METRICS_EVERY) for spec in hop.metrics]
        notes = (*hop.not_read, *sorted(self._notes.get(hop.id, {}).values()))
        if not hop.exists:
            notes = ("does not exist", *notes)
        elif hop.role in ("queue", "dlq") and not hop.url and not hop.not_read:
            notes = ("its URL is not known: not read", *notes)
        gone = self._notes.get(hop.id, {}).get("queue") == GONE  # the JSON's `exists` turns false with it
        return HopView(hop, tuple(series), tuple(notes), grew_by, added, gone)

    def snapshot(self, now: float | None = None) -> Snapshot:
        with self._lock:
            doctor = self._doctor_view
        if doctor is not None:
            doctor = DoctorView(doctor.ran_at, doctor.alerts, doctor.error, doctor.running, self._due["doctor"])
        return Snapshot(
            at=self.clock() if now is None else now,
            targets=self.targets,
            interval=self.interval,
            hops=tuple(self._view(hop) for hop in self.hops),
            metrics=self.clients.cloudwatch is not None,
            metrics_at=self._metrics_at,
            metrics_note=self._metrics_note,
            doctor=doctor,
            calls=dict(self.calls),
        )
