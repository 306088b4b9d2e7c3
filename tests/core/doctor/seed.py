"""The seed pipeline on in-process moto, for doctor's check tests: plant a mistake, run doctor, apply the fix.

    def test_x(seed: DoctorSeed) -> None:
        seed.sqs.set_queue_attributes(QueueUrl=seed.queue_url, Attributes={"VisibilityTimeout": "1"})   # plant
        report = seed.doctor(only={"Q-VIS-1"})
        [finding] = report.findings                                         # the finding, with its evidence
        seed.apply(finding.fix)                                             # run the printed aws CLI command
        assert seed.doctor(only={"Q-VIS-1"}).findings == []                 # the fix is right

`apply` runs the fix's `command` (an `aws ...` line) through the real aws CLI's driver in-process, against the same
moto, so a wrong fix text fails the test.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.doctor import DoctorClients, DoctorContext, Fix, Report, Sample, run_checks
from evctl.core.pipeline import DescribeCache, PipelineClients, discover
from evctl.sandbox import provision as pv

REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-queue"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-dlq"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/user-signup-rule"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:user-signup-handler"
SIGNUP = {
    "version": "0",
    "id": "11111111-2222-3333-4444-555555555555",
    "detail-type": "UserSignup",
    "source": "my.webapp",
    "account": ACCOUNT,
    "time": "2026-12-02T12:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {"user_id": "u-1", "email": "ann@example.com", "plan": "free"},
}


class DoctorSeed:
    def __init__(self) -> None:
        names = ("events", "sqs", "lambda", "iam", "logs", "kms", "cloudwatch")
        self.raw: dict[str, Any] = {name: boto3.client(name, region_name=REGION) for name in names}
        self.events, self.sqs, self.lambda_, self.iam, self.logs = (self.raw[n] for n in names[:5])
        self.pipeline = pv.provision(pv.SandboxClients(self.events, self.sqs, self.lambda_, self.iam, self.logs))
        self.queue_url = self.sqs.get_queue_url(QueueName="user-signup-queue")["QueueUrl"]
        self.dlq_url = self.sqs.get_queue_url(QueueName="user-signup-dlq")["QueueUrl"]

    def doctor(
        self, targets: tuple[str, ...] = ("user-signup-queue",), *, only: set[str] | None = None,
        samples: list[Sample] | None = None,
    ) -> Report:  # fmt: skip
        """Discover from `targets` and run the checks (all, or `only` these ids) with fresh caches."""
        cache = DescribeCache()
        raw = self.raw
        graph = discover(
            PipelineClients(raw["events"], raw["sqs"], raw["lambda"], raw["logs"], raw["cloudwatch"]),
            list(targets),
            cache=cache,
        )
        clients = DoctorClients(
            events=cache.wrap(raw["events"], "events"),  # type: ignore[arg-type]
            sqs=cache.wrap(raw["sqs"], "sqs"),  # type: ignore[arg-type]
            lambda_=cache.wrap(raw["lambda"], "lambda"),  # type: ignore[arg-type]
            logs=cache.wrap(raw["logs"], "logs"),  # type: ignore[arg-type]
            iam=cache.wrap(raw["iam"], "iam"),  # type: ignore[arg-type]
            kms=cache.wrap(raw["kms"], "kms"),  # type: ignore[arg-type]
            cloudwatch=cache.wrap(raw["cloudwatch"], "cloudwatch"),  # type: ignore[arg-type]
        )
        ctx = DoctorContext(
            graph, clients, cache, samples=[Sample(SIGNUP, "default", "template signup")] if samples is None else samples, region=REGION, account=ACCOUNT
        )
        return run_checks(ctx, only=frozenset(only) if only else None)

    def apply(self, fix: Fix) -> None:
        """Run the fix's aws CLI commands (`before` ones first) in-process (awscli's driver) against this moto."""
        assert fix.command and fix.command.startswith("aws "), fix
        import awscli
        from awscli.clidriver import create_clidriver

        # awscli finds its own data (cli.json) through AWS_DATA_PATH, set once when it is first imported; the
        # suite's autouse fixture deletes every AWS_* variable before each test, so set it again here.
        os.environ["AWS_DATA_PATH"] = os.path.join(os.path.dirname(awscli.__file__), "data")
        for command in (*fix.before, fix.command):
            code = create_clidriver().main([*shlex.split(command)[1:], "--region", REGION])
            assert code == 0, f"the fix command failed: {command}"


@pytest.fixture
def seed() -> Iterator[DoctorSeed]:
    with mock_aws():
        yield DoctorSeed()
