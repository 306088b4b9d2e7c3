"""`evctl doctor`: the report on a terminal, the evctl.doctor/1 JSON, -o text rows, --fail-on exit codes, bad
targets, the --sample forms (and bad samples: exit 2 in one line), --check, the no-target mode, denied reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evctl.core.doctor import CATALOGUE, REGISTRY, NotChecked
from evctl.core.doctor.session import DoctorSession, SessionClients, pipelines_of, select_checks
from evctl.sandbox import provision as pv
from tests.helpers import CliResult, run_cli

REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:user-signup-queue"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:user-signup-handler"


@pytest.fixture
def seed() -> Iterator[pv.Pipeline]:
    with mock_aws():
        clients = pv.SandboxClients(
            boto3.client("events", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            boto3.client("lambda", region_name=REGION),
            boto3.client("iam", region_name=REGION),
            boto3.client("logs", region_name=REGION),
        )
        yield pv.provision(clients)


def plant_slow_function() -> None:
    """The catalogue's drift case: the function's timeout raised after the mapping was made (Q-VIS-1)."""
    boto3.client("lambda", region_name=REGION).update_function_configuration(
        FunctionName="user-signup-handler", Timeout=60
    )


def doctor(*args: str, tty: bool = False, output: str | None = None) -> CliResult:
    head = (["-o", output] if output else []) + (["--color", "never"] if tty else [])
    return run_cli([*head, "doctor", *args], tty=tty)


def as_json(result: CliResult) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def one_line_error(result: CliResult, code: int = 2) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("evctl: error: "), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# ---- output modes ------------------------------------------------------------------------------------------------


def test_a_terminal_gets_the_report_grouped_by_pipeline_and_hop(seed: pv.Pipeline) -> None:
    plant_slow_function()
    result = doctor("user-signup-queue", tty=True)
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    lines = out.splitlines()
    assert lines[0] == "evctl doctor: user-signup-queue"
    assert lines[1] == "samples: template signup (bus default)"
    assert any(line.startswith("pipeline 1: user-signup-queue  (bus default → rule user-signup-rule") for line in lines)
    assert "\n  queue\n" in out
    finding = next(i for i, line in enumerate(lines) if "Q-VIS-1  Visibility timeout shorter" in line)
    assert lines[finding].startswith("    ✗ CRITICAL ") and lines[finding].endswith("[DUP]")
    block = "\n".join(lines[finding : finding + 7])
    assert f"on        queue user-signup-queue  ({QUEUE})" in block
    assert "what      visibility timeout 18 s is shorter than user-signup-handler's timeout 60 s" in block
    assert "evidence  VisibilityTimeout=18 · function=" in block and "Timeout=60" in block
    assert '                value: {"VisibilityTimeout":"360"}' in block
    assert f"                $ aws sqs set-queue-attributes --queue-url {seed.queue_url}" in block
    assert any(line.startswith("    ✓ ") and " passed (" in line for line in lines)  # passed checks collapsed
    hops = [line.strip() for line in lines if line.startswith("  ") and not line.startswith("   ")]
    order = ["bus", "rule and pattern", "rule target", "target DLQ", "queue", "queue DLQ", "event source mapping",
             "function", "execution role", "logs", "across hops"]  # fmt: skip
    assert hops == sorted(hops, key=order.index)  # hops in flow order
    assert lines[-1].endswith("at or above high: exit 1")


def test_piped_or_json_is_the_documented_document(seed: pv.Pipeline) -> None:
    plant_slow_function()
    for result in (doctor("user-signup-queue"), doctor("user-signup-queue", output="json")):
        assert result.exit_code == 1, result.stderr
        data = as_json(result)
        assert list(data) == ["schema", "targets", "region", "account", "fail_on", "failed", "summary", "checks",
                              "samples", "log_window_seconds", "pipelines", "findings", "not_checked",
                              "passed"]  # fmt: skip
        assert data["schema"] == "evctl.doctor/1" and data["targets"] == ["user-signup-queue"]
        assert (data["region"], data["account"], data["fail_on"], data["failed"]) == (REGION, ACCOUNT, "high", True)
        assert set(data["summary"]) == {"findings", "fail", "pass", "not_checked", "by_severity", "failing"}
        assert list(data["summary"]["by_severity"]) == ["critical", "high", "medium", "info"]
        assert data["summary"]["failing"] >= 1 and data["summary"]["pass"] == len(data["passed"])
        assert data["summary"]["not_checked"] == len(data["not_checked"])
        assert sorted(data["checks"]["run"] + data["checks"]["not_implemented"]) == sorted(c.id for c in CATALOGUE)
        assert data["samples"] == [
            {"origin": "template signup", "bus": "default", "source": "my.webapp", "detail-type": "UserSignup"}
        ]
        [pipeline] = data["pipelines"]
        assert pipeline["pipeline"] == 1 and pipeline["name"] == "user-signup-queue" and QUEUE in pipeline["resources"]
        [vis] = [f for f in data["findings"] if f["check"] == "Q-VIS-1"]
        assert vis["severity"] == "critical" and vis["effects"] == ["DUP"] and vis["hop"] == "queue"
        assert vis["resource"] == QUEUE and vis["pipelines"] == [1] and vis["related"] == [FUNCTION]
        assert vis["evidence"] == {"VisibilityTimeout": 18, "function": FUNCTION, "Timeout": 60}
        assert vis["fix"]["value"] == {"VisibilityTimeout": "360"}
        assert vis["fix"]["command"].startswith("aws sqs set-queue-attributes --queue-url ")
        severities = ["critical", "high", "medium", "info"]
        ranks = [severities.index(f["severity"]) for f in data["findings"]]
        assert ranks == sorted(ranks)  # worst first
        assert "finding(s) at or above high" in result.stderr


def test_text_is_one_row_per_outcome(seed: pv.Pipeline) -> None:
    plant_slow_function()
    result = doctor("user-signup-queue", "--check", "Q-VIS-1", output="text")
    assert result.exit_code == 1
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert all(len(row) == 6 for row in rows)
    assert any(row[:5] == ["fail", "Q-VIS-1", "critical", "queue", QUEUE] for row in rows)
    assert any(row[0] == "pass" and row[1] == "Q-VIS-1" for row in rows)  # the DLQ passes


# ---- exit codes ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fail_on", ["critical", "high", "medium", "info"])
def test_a_critical_finding_fails_at_every_level_and_a_clean_queue_at_none(seed: pv.Pipeline, fail_on: str) -> None:
    clean = doctor("user-signup-queue", "--check", "Q-VIS-1", "--fail-on", fail_on)
    assert clean.exit_code == 0, clean.stdout
    assert as_json(clean)["failed"] is False
    plant_slow_function()
    broken = doctor("user-signup-queue", "--check", "Q-VIS-1", "--fail-on", fail_on)
    assert broken.exit_code == 1
    assert as_json(broken)["failed"] is True


def test_a_finding_below_fail_on_does_not_fail(seed: pv.Pipeline) -> None:
    every = as_json(doctor("user-signup-queue", "--fail-on", "critical"))
    low = [f for f in every["findings"] if f["severity"] in ("medium", "info")]
    if not low:
        pytest.skip("no check implemented yet finds a medium or info mistake on the seed")
    check = low[0]["check"]
    lowest = low[0]["severity"]
    assert doctor("user-signup-queue", "--check", check, "--fail-on", "high").exit_code == 0
    assert doctor("user-signup-queue", "--check", check, "--fail-on", lowest).exit_code == 1


def test_the_clean_seed_exits_0_with_every_check(seed: pv.Pipeline) -> None:
    result = doctor("user-signup-queue")
    assert result.exit_code == 0, [f["message"] for f in as_json(result)["findings"]]


@pytest.mark.parametrize("target", ["no-such-queue", "queue:nope", "function:nope"])
def test_an_unknown_target_is_exit_3_in_one_line(seed: pv.Pipeline, target: str) -> None:
    one_line_error(doctor(target), 3)


@pytest.mark.parametrize("target", ["a b", "widget:x", "queue:", "arn:aws:sqs"])
def test_a_malformed_target_is_exit_2_in_one_line(seed: pv.Pipeline, target: str) -> None:
    one_line_error(doctor(target), 2)


@pytest.mark.parametrize(
    "args",
    [
        ("--fail-on", "low"),
        ("--check", "NOPE-1"),
        ("--check", ""),
        ("--log-window", "soon"),
        ("--log-window", "0s"),
        ("--log-window", "31d"),
        ("--log-max-events", "0"),
        ("--workers", "0"),
    ],
)
def test_bad_options_are_exit_2_in_one_line(seed: pv.Pipeline, args: tuple[str, ...]) -> None:
    one_line_error(doctor("user-signup-queue", *args), 2)


def test_a_denied_discovery_read_is_exit_4(seed: pv.Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.aws import ClientFactory

    build = ClientFactory._build

    class Http:
        status_code = 400

    def denied(**_: Any) -> tuple[Any, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 400}}

    def patched(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = build(self, service, *args, **kwargs)
        if service == "sqs":
            client.meta.events.register("before-call.sqs.ListQueues", denied)
        return client

    monkeypatch.setattr(ClientFactory, "_build", patched)
    result = doctor()  # no target: ListQueues is the first read
    one_line_error(result, 4)


def test_a_denied_check_read_is_not_checked_never_a_pass(seed: pv.Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    from evctl.aws import ClientFactory

    build = ClientFactory._build

    class Http:
        status_code = 400

    def denied(**_: Any) -> tuple[Any, dict[str, Any]]:
        return Http(), {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 400}}

    def patched(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        client = build(self, service, *args, **kwargs)
        if service == "lambda":
            client.meta.events.register("before-call.lambda.GetFunctionConfiguration", denied)
        return client

    monkeypatch.setattr(ClientFactory, "_build", patched)
    data = as_json(doctor("user-signup-queue", "--check", "Q-VIS-1"))
    assert [(o["check"], o["resource"], o["reason"]) for o in data["not_checked"]] == [
        ("Q-VIS-1", QUEUE, "lambda:GetFunctionConfiguration denied")
    ]
    assert all(p["resource"] != QUEUE for p in data["passed"])


# ---- samples ------------------------------------------------------------------------------------------------------


def test_sample_forms_template_and_file(seed: pv.Pipeline, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps({"Source": "my.webapp", "DetailType": "UserSignup", "Detail": "{}", "EventBusName": "orders"})
        + "\n\n"
        + json.dumps({"source": "my.shop", "detail-type": "OrderPlaced", "detail": {}, "account": "111122223333"})
        + "\n"
    )
    result = doctor("user-signup-queue", "--check", "Q-VIS-1", "-s", "signup", "--sample", f"@{events}")
    assert result.exit_code == 0, result.stderr
    assert as_json(result)["samples"] == [
        {"origin": "template signup", "bus": "default", "source": "my.webapp", "detail-type": "UserSignup"},
        {"origin": f"{events}:1", "bus": "orders", "source": "my.webapp", "detail-type": "UserSignup"},
        {"origin": f"{events}:3", "bus": "default", "source": "my.shop", "detail-type": "OrderPlaced"},
    ]


def test_default_samples_are_the_templates_a_rule_names(
    seed: pv.Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evctl.toml").write_text(
        '[templates.order]\nsource = "my.shop"\ndetail-type = "OrderPlaced"\n\n'
        '[templates.welcome]\nsource = "my.webapp"\ndetail-type = "WelcomeSent"\nbus = "mail"\n'
    )
    data = as_json(doctor("user-signup-queue", "--check", "Q-VIS-1"))
    assert [(s["origin"], s["bus"]) for s in data["samples"]] == [("template signup", "default"),
                                                                   ("template welcome", "mail")]  # fmt: skip


def test_no_named_template_means_no_samples_said_on_the_terminal(seed: pv.Pipeline) -> None:
    boto3.client("events", region_name=REGION).put_rule(
        Name="user-signup-rule", EventPattern=json.dumps({"source": [{"prefix": "other."}]})
    )
    result = doctor("user-signup-queue", "--check", "Q-VIS-1", tty=True)
    assert "samples: none (checks that need the producer's events are not checked; give --sample)" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the file"),
        ("", "the file holds no event"),
        ("{not json\n", ":1: not valid JSON"),
        ('{"source": "a", "detail-type": "b"}\n[1, 2]\n', ":2: expected a JSON object"),
        ('{"Source": "a", "DetailType": "b", "Detail": "[1]"}\n', ":1: Detail must be a JSON object"),
        ('{"Source": "a", "Detail": "{}"}\n', ":1: an event needs a source and a detail-type"),
        ('{"Source": "a", "DetailType": "b", "Bogus": 1}\n', ":1: unknown PutEvents entry field(s): Bogus"),
        (b"\xff\xfe\n", "not UTF-8 text"),
    ],
)
def test_a_bad_sample_file_is_exit_2_in_one_line(
    seed: pv.Pipeline, tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "events.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = doctor("user-signup-queue", "--sample", f"@{path}")
    one_line_error(result, 2)
    assert message in result.stderr


@pytest.mark.parametrize(("value", "message"), [("nope", "no template named 'nope'"), ("@", "give a file name")])
def test_a_bad_sample_value_is_exit_2_in_one_line(seed: pv.Pipeline, value: str, message: str) -> None:
    result = doctor("user-signup-queue", "--sample", value)
    one_line_error(result, 2)
    assert message in result.stderr


# ---- checks, no-target mode, logs ---------------------------------------------------------------------------------


def test_check_patterns_select_catalogue_ids() -> None:
    assert select_checks(["q-vis-*"]) == ["Q-VIS-1", "Q-VIS-2"]
    assert select_checks([]) == [c.id for c in CATALOGUE]


def test_a_named_check_not_implemented_yet_is_not_checked_never_a_pass(
    seed: pv.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(REGISTRY, "Q-VIS-2")  # as in an evctl that does not implement it yet
    data = as_json(doctor("user-signup-queue", "--check", "Q-VIS-2"))
    assert data["not_checked"] == [
        {"check": "Q-VIS-2", "title": "Visibility timeout below AWS's 6× guidance", "hop": "queue", "resource": None,
         "pipelines": [], "reason": "not implemented yet in this evctl"}
    ]  # fmt: skip
    assert data["passed"] == [] and data["findings"] == []
    assert data["checks"] == {"run": [], "not_implemented": ["Q-VIS-2"]}
    result = doctor("user-signup-queue", tty=True)  # every check: the report says how many are implemented
    assert "73 of the 74 selected checks are implemented in this evctl" in result.stdout


def test_no_target_checks_every_queue_of_the_region_with_a_progress_bar(seed: pv.Pipeline) -> None:
    boto3.client("sqs", region_name=REGION).create_queue(QueueName="lonely")
    plant_slow_function()
    piped = doctor("--check", "Q-VIS-1")
    assert piped.exit_code == 1
    data = as_json(piped)
    assert data["targets"] == []
    assert [p["name"] for p in data["pipelines"]] == ["lonely", "user-signup-queue"]
    assert {o["resource"].rsplit(":", 1)[-1] for o in data["passed"]} == {"lonely", "user-signup-dlq"}
    assert "discovering" not in piped.stderr  # no bar when stderr is not a terminal
    on_terminal = doctor("--check", "Q-VIS-1", tty=True)
    assert on_terminal.exit_code == 1
    assert on_terminal.stdout.splitlines()[0] == f"evctl doctor: every queue in {REGION}"
    assert "discovering every queue in us-east-1" in on_terminal.stderr and "checking" in on_terminal.stderr


def test_a_region_without_queues_has_nothing_to_check() -> None:
    with mock_aws():
        result = doctor(tty=True)
        assert result.exit_code == 0
        assert "no pipeline found: nothing to check" in result.stdout


def test_a_bus_joins_no_pipelines(seed: pv.Pipeline) -> None:
    """Two pipelines on the default bus stay two (the bus is shown in each)."""
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="orders-rule", EventPattern=json.dumps({"source": ["my.shop"]}))
    events.put_targets(Rule="orders-rule", Targets=[{"Id": "q", "Arn": arn}])
    session = DoctorSession(
        SessionClients(
            events, sqs, boto3.client("lambda", region_name=REGION), boto3.client("logs", region_name=REGION)
        ),
        region=REGION,
        metrics=False,
    )
    graph = session.discover([])
    pipelines = pipelines_of(graph)
    assert len(pipelines) == 2
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    assert all(p[0] == bus for p in pipelines)


def test_no_logs_makes_log_event_reads_not_checked(seed: pv.Pipeline) -> None:
    session = DoctorSession(
        SessionClients(
            boto3.client("events", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            boto3.client("lambda", region_name=REGION),
            boto3.client("logs", region_name=REGION),
        ),
        region=REGION,
        metrics=False,
    )
    graph = session.discover(["user-signup-queue"])
    ctx = session.context(graph, [], logs=False)
    with pytest.raises(NotChecked, match="--no-logs"):
        ctx.clients.logs.filter_log_events(logGroupName="/aws/lambda/user-signup-handler")
    with pytest.raises(NotChecked, match="--no-logs"):
        ctx.clients.logs.get_paginator("filter_log_events")
    assert ctx.clients.logs.describe_log_groups()["logGroups"]  # other reads go through
    assert doctor("user-signup-queue", "--no-logs", "--check", "Q-VIS-1").exit_code == 0


def test_a_call_the_endpoint_does_not_route_is_not_checked(seed: pv.Pipeline) -> None:
    """moto's server answers an API path it lacks (lambda GetAccountSettings) with a bare 404: not available."""
    lam = boto3.client("lambda", region_name=REGION)

    class Http:
        status_code = 404

    def unrouted(**_: Any) -> tuple[Any, dict[str, Any]]:
        return Http(), {"Error": {"Code": "404", "Message": "Not Found"}, "ResponseMetadata": {"HTTPStatusCode": 404}}

    lam.meta.events.register("before-call.lambda.GetAccountSettings", unrouted)  # type: ignore[arg-type]
    session = DoctorSession(
        SessionClients(
            boto3.client("events", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            lam,
            boto3.client("logs", region_name=REGION),
        ),
        region=REGION,
        metrics=False,
    )
    ctx = session.context(session.discover(["user-signup-queue"]), [])
    with pytest.raises(NotChecked, match="not available from this endpoint"):
        ctx.clients.lambda_.get_account_settings()
    assert ctx.clients.lambda_.get_function_configuration(FunctionName="user-signup-handler")["Timeout"] == 3


def test_no_target_mode_resolves_the_listed_queues_without_a_call_each(seed: pv.Pipeline) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    for n in range(5):
        sqs.create_queue(QueueName=f"extra-{n}")
    calls: list[str] = []
    sqs.meta.events.register("before-call.sqs.GetQueueUrl", lambda **kw: calls.append(kw["params"]["QueueName"]))
    session = DoctorSession(
        SessionClients(
            boto3.client("events", region_name=REGION),
            sqs,
            boto3.client("lambda", region_name=REGION),
            boto3.client("logs", region_name=REGION),
        ),
        region=REGION,
        metrics=False,
    )
    graph = session.discover([])
    assert len([n for n in graph.nodes.values() if n.kind == "queue"]) == 7
    assert calls == []


def test_no_target_mode_reads_mappings_and_alarms_from_one_listing_each(seed: pv.Pipeline) -> None:
    lambda_, cloudwatch = boto3.client("lambda", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    calls: list[str] = []
    for client in (lambda_, cloudwatch):
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    session = DoctorSession(
        SessionClients(
            boto3.client("events", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            lambda_,
            boto3.client("logs", region_name=REGION),
            cloudwatch=cloudwatch,
        ),
        region=REGION,
    )
    graph = session.discover([])
    report = session.run(session.context(graph, []), checks=["E-STATE-1", "E-PBR-1", "E-WINDOW-1", "D-WATCH-1", "TD-WATCH-1"])
    assert {o.check for o in report.outcomes} >= {"E-STATE-1", "E-PBR-1", "D-WATCH-1"}
    assert "GetEventSourceMapping" not in calls  # the mapping comes from discovery's ListEventSourceMappings
    assert calls.count("ListEventSourceMappings") == 1
    assert "DescribeAlarmsForMetric" not in calls and calls.count("DescribeAlarms") == 1
