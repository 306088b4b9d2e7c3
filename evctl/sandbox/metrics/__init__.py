"""The CloudWatch metrics AWS would emit, emitted by the sandbox into its own CloudWatch (moto's, in-process).

Start one with the sandbox (lifecycle does), report from hooks through `current()`:

    from evctl.sandbox import metrics

    emitter = metrics.start_for_sandbox(region="us-east-1")   # hooks moto's SQS, starts the writer thread
    metrics.current().rule_metric("signup-rule", "Invocations")              # AWS/Events, RuleName
    metrics.current().rule_metric("r", "FailedInvocations", bus_name="orders")  # + EventBusName
    metrics.current().lambda_invocation("welcome-fn", duration_ms=12.5, error=False)  # AWS/Lambda
    metrics.current().lambda_throttle("welcome-fn")
    metrics.current().count("AWS/Events", "InvocationsSentToDlq", metrics.rule_dimensions("r"))
    emitter.stop()   # samples and flushes once more, joins the thread, unhooks SQS

`current()` is a no-op emitter when no sandbox runs in this process, so hooks never need to check. AWS/SQS counts
and gauges come from moto's SQS by themselves (see metrics.sqs). Reads go through CloudWatch's API as on AWS
(GetMetricData / GetMetricStatistics; see docs/sandbox.md "Metrics" for what differs).
"""

from __future__ import annotations

from . import reads, sqs
from .emitter import (
    DEFAULT_ACCOUNT,
    NO_METRICS,
    Emitter,
    NoMetrics,
    SandboxMetrics,
    current,
    error_kind,
    function_dimensions,
    queue_dimensions,
    rule_dimensions,
)
from .store import MotoCloudWatch

__all__ = [
    "DEFAULT_ACCOUNT",
    "NO_METRICS",
    "Emitter",
    "MotoCloudWatch",
    "NoMetrics",
    "SandboxMetrics",
    "current",
    "error_kind",
    "function_dimensions",
    "queue_dimensions",
    "rule_dimensions",
    "start_for_sandbox",
]


def start_for_sandbox(
    region: str, *, flush_seconds: float = 1.0, sample_seconds: float = 5.0, account: str = DEFAULT_ACCOUNT
) -> SandboxMetrics:
    """The sandbox's emitter, started: moto's SQS hooked, queues sampled every `sample_seconds`, everything
    written into moto's CloudWatch every `flush_seconds`. `stop()` undoes it all."""
    emitter = SandboxMetrics(
        MotoCloudWatch(), region=region, account=account, flush_seconds=flush_seconds, sample_seconds=sample_seconds
    )
    emitter.add_sampler(sqs.sample_queues)
    sqs.install()
    reads.install()
    emitter.on_stop(sqs.uninstall)
    emitter.on_stop(reads.uninstall)
    try:
        return emitter.start()
    except BaseException:
        sqs.uninstall()
        reads.uninstall()
        raise
