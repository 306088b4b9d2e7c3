"""Print docs/doctor.md: a hand-written head (usage, output, the JSON schema, exit codes, the permissions doctor
needs), then every check of the catalogue (evctl.core.doctor.CATALOGUE, implemented or not yet: REGISTRY) and the
sources list (scripts/doctor_sources.md). `make docs` writes it; tests/test_doctor_doc.py fails when it drifts."""

from __future__ import annotations

import sys
from pathlib import Path

from evctl.core.doctor import CATALOGUE, REGISTRY, CheckInfo
from evctl.core.doctor.model import HOPS

SOURCES = Path(__file__).with_name("doctor_sources.md")

HOP_TITLES = {
    "bus": "Bus (B)",
    "rule": "Rule and pattern (R)",
    "target": "Target delivery settings (T)",
    "target_dlq": "EventBridge target DLQ (TD)",
    "queue": "Queue: access, encryption and configuration (Q)",
    "dlq": "Source queue DLQ (D)",
    "mapping": "Event source mapping (E)",
    "function": "Function (F)",
    "role": "Execution role (I)",
    "logs": "Logs (L)",
    "flow": "Cross-hop evidence (X)",
}

HEAD = """\
# `evctl doctor`: find what drops, delays or duplicates events

```
evctl doctor [TARGET...] [--sample TEMPLATE|@FILE.jsonl]... [--fail-on critical|high|medium|info]
             [--check ID]... [--log-window DURATION] [--log-max-events N] [--no-logs] [--no-metrics] [--workers N]
evctl -o json doctor ...        # the evctl.doctor/1 document a CI job gates on
```

`evctl doctor` discovers the pipeline around each TARGET exactly as `evctl pipeline show` does (read-only calls,
each resource read once per run: [pipeline.md](pipeline.md)) and runs the catalogue's checks over it. Every one of
the seed's "Common Mistakes" (IAM permissions on both sides of the queue, no DLQ, a wrong event pattern,
serialization, the Lambda timeout) is a setting that only shows when two hops are read together: the rule's ARN
against the queue policy's `aws:SourceArn`, the queue's visibility timeout against the function's timeout, the
producer's events against the rule's pattern. The doctor reads them together.

Each finding carries:

- the check id (`Q-VIS-1`), its **severity** (critical · high · medium · info) and **effect** (LOSS events dropped
  or expired · DUP processed more than once · DELAY late · DLQ good messages in a DLQ · BLIND a failure leaves no
  evidence · COST);
- the **resource** (its ARN) and a one-line message in the pipeline's own names;
- the **evidence**: the exact field values it was decided on (the policy statement and the evaluator's decision,
  both timeouts, the sample event and the pattern's why-not, ...);
- the **fix**: what to change, the exact value or statement, and the `aws` CLI command that applies it (after
  the `before` commands, when the fix needs something created first). Each implemented check has a test that plants
  the mistake on the seed pipeline, runs the printed commands and sees the finding go.

A check that cannot decide says why, and never passes silently: `not checked: sqs:GetQueueAttributes denied`,
`not checked: not available from this endpoint` (moto and LocalStack lack some calls), `not checked: no sample
events`, `not checked: log events not read (--no-logs)`, or for a check named with `--check` that this evctl does
not implement yet, `not checked: not implemented yet in this evctl`.

## Targets

A bus (name or ARN), a rule (`BUS/RULE` or ARN), a queue (name, URL or ARN) or a function (name or ARN); `bus:`,
`rule:`, `queue:` and `function:` prefixes settle a name that is several things ([pipeline.md](pipeline.md#targets)).
Several targets give one run.

**No target**: every pipeline in the region that ends in an SQS queue: every queue of `ListQueues` is a target, and
the doctor groups what it finds into pipelines (the connected parts of the graph; a bus feeds many pipelines and is
shown in each). On a terminal a progress bar on stderr shows discovery, then the checks.

## Samples: the producer's events

Pattern checks (R-PATTERN-1/2, R-DUP-1, E-FILTER-1, T-INPUT-1/2, F-SHAPE-1, ...) judge the rule against what the
producer really sends:

- `--sample signup` — a template (the built-in `signup`, or one of evctl.toml's: `evctl templates list`), rendered to
  a PutEvents entry and then to the envelope a rule sees (the account and region are the pipeline's);
- `--sample @events.jsonl` — one event per line: a PutEvents entry (`Source`, `DetailType`, `Detail`,
  `EventBusName`, ...), an EventBridge envelope (`source`, `detail-type`, `detail`, ... — kept as given, so a pattern
  on `account` or `id` sees the real values), or an SQS message whose body is one (an `evctl queue drain` line).
  The bus is the entry's `EventBusName`, else evctl.toml's `[publish] bus`, else `default`.
- `--sample` repeats; samples are used in the order given.
- **Default** (no `--sample`): the templates whose `source` one of the discovered rules names in its pattern (an
  exact string, or a `prefix` / `suffix` / `wildcard` / `equals-ignore-case` condition that matches it). With none,
  the checks that need samples are not checked, and the report says so on its second line. The tutorial's own
  mistake is of this kind: its rule selects CloudTrail events, so it names no template of the producer (`my.webapp`);
  `evctl doctor user-signup-queue --sample signup` (or the producer's template in evctl.toml, named with
  `--sample`) shows R-PATTERN-1 with the pattern's *why not*.

A bad sample is exit 2 in one line, before any AWS call: an unknown template, a file that cannot be read or is not
UTF-8, a line that is not JSON or not an event (`--sample @events.jsonl:3: not valid JSON (...)`), an event
without `source` and `detail-type`, an empty file, more than 1000 events.

## Options

| option | default | what |
| --- | --- | --- |
| `--sample`, `-s TEMPLATE\\|@FILE` | the templates a rule names | the producer's events (above) |
| `--fail-on` | `high` | exit 1 when a finding is at or above this severity |
| `--check`, `-c ID` | every check | run only these (an id, or a pattern: `'Q-*'`, `'*-PBR-*'`); an id that names no check is exit 2 |
| `--log-window` | `1h` | how far back the log checks read (`30m`, `2h`, `1d`; at most `30d`) |
| `--log-max-events` | 2000 | at most this many log events per log group |
| `--no-logs` | logs read | read no log events: the checks that need them are not checked |
| `--no-metrics` | metrics read | no CloudWatch reads (GetMetricData, DescribeAlarms): metric evidence is left out; metric-only checks and the DLQ alarm checks (D-WATCH-1, TD-WATCH-1) are not checked |
| `--workers` | 8 | reads made at once (1-16) |

## How it reads

Discovery is `pipeline show`'s: each resource read once per run through one cache, `--workers` reads at once; with
no target, or 8 or more, the account's listings are read once instead of each target's neighbourhood
([pipeline.md](pipeline.md#many-targets-at-once-the-account-is-listed-once)). The checks then read only what
discovery has not:

- a mapping's settings come from discovery's unfiltered ListEventSourceMappings when the run listed every mapping,
  else from one GetEventSourceMapping;
- **CloudWatch metrics**: the first check that asks reads every metric a check may use (per rule `AWS/Events`
  `MatchedEvents`, `Invocations`, `FailedInvocations`, `InvocationsSentToDlq`, `InvocationsFailedToBeSentToDlq`; per
  queue `AWS/SQS` `NumberOfMessagesSent`, `Received`, `Deleted`, `ApproximateAgeOfOldestMessage`; per function
  `AWS/Lambda` `Invocations`, `Errors`, `Throttles`, `Duration`) for every resource of the graph, in one GetMetricData
  read (500 queries a call) per minute over `--log-window` (at least 15 minutes); the checks that look back a day
  (deletes, failed deliveries) get one more read of the same metrics with a one-day period, one datapoint a query.
  The window ends at the end of the current minute, so a datapoint of this minute counts (the sandbox's are
  immediate). Every later question of the run is answered from those reads. Metrics are
  supporting evidence: a denied or failed read leaves them out, and only the metric-only checks become `not checked`;
- **DLQ alarms** (D-WATCH-1, TD-WATCH-1): one DescribeAlarms listing of the account's metric alarms per run, not a
  DescribeAlarmsForMetric per queue and metric;
- **logs**: each function's log group once per run, the last `--log-window`, at most `--log-max-events` events.

On a 545-resource account that is 1.21 calls per resource, discovery included
([performance.md](performance.md#doctor)).

## Output

**Terminal** (stdout a TTY, or `-o table`): a head (the targets, the samples), then each pipeline — named by the
queues it ends in — with its hops in flow order (bus, rule and pattern, rule target, target DLQ, queue, queue DLQ,
event source mapping, function, execution role, logs, across hops). In each hop every finding is shown in full
(severity, id, title, effects; the resource; the message; the evidence, compact; the fix, its value and the `$ aws
...` command), passed checks are collapsed to a count with their ids, and checks not run are listed with the
reason; a pipeline where every check passed is a single line (`✓ all 87 checks passed on its 7 resources`). The
last lines count findings by severity and say whether the run fails `--fail-on`.

```
pipeline 1: user-signup-queue  (bus default → rule user-signup-rule → queue user-signup-queue → function user-signup-handler)
  queue
    ✗ CRITICAL Q-VIS-1  Visibility timeout shorter than the function timeout  [DUP]
      on        queue user-signup-queue  (arn:aws:sqs:us-east-1:123456789012:user-signup-queue)
      what      visibility timeout 18 s is shorter than user-signup-handler's timeout 60 s
      evidence  VisibilityTimeout=18 · function=arn:aws:lambda:us-east-1:123456789012:function:user-signup-handler · Timeout=60
      fix       set the queue's VisibilityTimeout to at least 6 × 60 s (+ batching window)
                value: {"VisibilityTimeout":"360"}
                $ aws sqs set-queue-attributes --queue-url https://sqs.us-east-1.amazonaws.com/123456789012/user-signup-queue --attributes VisibilityTimeout=360
    ✓ 12 passed (Q-POLICY-1, Q-POLICY-2, Q-POLICY-3, Q-KMS-1, Q-KMS-2, Q-KMS-3, Q-VIS-1)
```

**JSON** (`-o json`, or stdout piped): one document, schema `evctl.doctor/1`. Keys are stable; new keys may be
added, none removed or renamed without a new schema version.

| key | what |
| --- | --- |
| `schema` | `"evctl.doctor/1"` |
| `targets` | the targets as given (`[]`: every queue in the region) |
| `region`, `account` | where the pipelines are |
| `fail_on`, `failed` | the `--fail-on` level, and whether a finding is at or above it (then the exit code is 1) |
| `summary` | `findings` (count), `fail` / `pass` / `not_checked` (outcomes: one per check × resource), `by_severity` (`critical`, `high`, `medium`, `info`: finding counts), `failing` (findings at or above `fail_on`) |
| `checks` | `run`: the selected checks this evctl implements; `not_implemented`: the selected ones it does not yet |
| `samples` | `[{origin, bus, source, detail-type}]`: the events the pattern checks used |
| `log_window_seconds` | how far back log checks read (`null` with `--no-logs`) |
| `pipelines` | `[{pipeline, name, resources}]`: numbered from 1; `resources` are node ids (ARNs) as in `evctl pipeline show -o json` |
| `findings` | worst first: `{check, title, hop, severity, effects, resource, pipelines, message, evidence, fix: {summary, value, before, command}, related}` (`before`: commands to run first, in order, e.g. creating the DLQ the command points at) |
| `not_checked` | `{check, title, hop, resource, pipelines, reason}` (`resource` is `null` for a check not implemented yet) |
| `passed` | `{check, title, hop, resource, pipelines}` |

A CI job gates on the exit code, or on the document:

```
evctl -o json doctor user-signup-queue --fail-on high > doctor.json || jq -r '.findings[] | "\\(.check) \\(.message)\\n  \\(.fix.command)"' doctor.json
```

**`-o text`**: one tab-separated line per outcome (and per finding): `status check severity hop resource detail`
(the message of a finding, the reason of a check not run).

## Exit codes

| code | when |
| --- | --- |
| 0 | nothing at or above `--fail-on` (findings below it are still reported) |
| 1 | a finding at or above `--fail-on` (default `high`) |
| 2 | bad input: a malformed or ambiguous target, a bad `--sample`, `--check` naming no check, a bad option value |
| 3 | a target that names nothing |
| 4 | credentials, permissions or configuration: a discovery read of the user's own target, or `sqs:ListQueues` in the no-target mode, was denied (a denied read *inside* the pipeline is `not checked`, not an exit) |
| 5 | an AWS error after retries, or the endpoint unreachable |
| 130 / 143 / 129 | stopped by Ctrl-C / SIGTERM / SIGHUP ([output.md](output.md)) |

## The permissions doctor needs

Read-only. A missing one turns the checks that need it into `not checked: <action> denied`; it never makes a check
pass.

- `events:ListEventBuses`, `DescribeEventBus`, `ListRules`, `DescribeRule`, `ListTargetsByRule`,
  `ListRuleNamesByTarget`, `ListArchives`
- `sqs:ListQueues`, `GetQueueUrl`, `GetQueueAttributes`, `ListDeadLetterSourceQueues`
- `lambda:ListEventSourceMappings`, `GetEventSourceMapping`, `GetFunctionConfiguration`, `GetFunctionConcurrency`,
  `GetAccountSettings`, `GetFunctionRecursionConfig`, `ListFunctionEventInvokeConfigs` (+ `GetFunction` only for the
  opt-in CODE evidence)
- `iam:GetRole`, `ListAttachedRolePolicies`, `GetPolicy`, `GetPolicyVersion`, `ListRolePolicies`, `GetRolePolicy`
  (+ `SimulatePrincipalPolicy`, optional)
- `kms:DescribeKey`, `GetKeyPolicy`, `ListAliases` (GetKeyPolicy also needs the key policy to allow the caller)
- `logs:DescribeLogGroups`, `FilterLogEvents` (5 TPS per account: the log checks read a bounded window and volume)
- `cloudwatch:GetMetricData`, `DescribeAlarms`

As a policy:

```json
{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "EvctlDoctorReadOnly",
    "Effect": "Allow",
    "Action": [
      "events:ListEventBuses", "events:DescribeEventBus", "events:ListRules", "events:DescribeRule",
      "events:ListTargetsByRule", "events:ListRuleNamesByTarget", "events:ListArchives",
      "sqs:ListQueues", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues",
      "lambda:ListEventSourceMappings", "lambda:GetEventSourceMapping", "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionConcurrency", "lambda:GetAccountSettings", "lambda:GetFunctionRecursionConfig",
      "lambda:ListFunctionEventInvokeConfigs",
      "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
      "iam:ListRolePolicies", "iam:GetRolePolicy",
      "kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases",
      "logs:DescribeLogGroups", "logs:FilterLogEvents",
      "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"
    ],
    "Resource": "*"
  }]
}
```

IAM decisions (queue, DLQ, key and bus policies; the execution role) are made offline by evctl's own evaluator
([iam.md](iam.md)): `iam:SimulatePrincipalPolicy` cannot evaluate a service principal such as
`events.amazonaws.com` against a resource policy. A policy the evaluator cannot decide (an unknown condition key, a
policy variable) makes the check `not checked` and names the keys.
"""

EVIDENCE = (
    "Evidence kinds: **CFG** configuration read · **IAM** offline policy evaluation · **MET** CloudWatch metrics · "
    "**LOG** log signatures · **SMP** the producer's sample events · **CODE** the deployment package (opt-in)."
)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _check_section(info: CheckInfo, implemented: bool) -> str:
    status = "implemented" if implemented else "not yet implemented"
    lines = [
        f"### {info.id}: {info.title}",
        "",
        f"{'/'.join(info.effects)} · {info.severity} · evidence {', '.join(info.evidence_kinds)} · hop `{info.hop}` · "
        f"**{status}**",
        "",
    ]
    for label, text in (("Detects", info.detects), ("Why", info.why), ("Fix", info.fix), ("Source", info.source)):
        if text:
            lines.append(f"- **{label}**: {' '.join(text.split())}")
    lines.append("")
    return "\n".join(lines)


def render() -> str:
    implemented = set(REGISTRY)
    done = sum(1 for info in CATALOGUE if info.id in implemented)
    parts = [HEAD]
    parts.append("## The checks\n")
    parts.append(
        f"Generated from the catalogue (evctl/core/doctor/catalogue.py) by `make docs` (scripts/gen_doctor_doc.py): "
        f"{len(CATALOGUE)} checks, {done} implemented in this evctl. {EVIDENCE}\n"
    )
    parts.append("| id | hop | title | severity | effect | evidence | implemented |")
    parts.append("| --- | --- | --- | --- | --- | --- | --- |")
    for info in CATALOGUE:
        parts.append(
            f"| [{info.id}](#{_anchor(info)}) | {info.hop} | {_cell(info.title)} | {info.severity} | "
            f"{'/'.join(info.effects)} | {', '.join(info.evidence_kinds)} | {'yes' if info.id in implemented else 'not yet'} |"
        )
    parts.append("")
    for hop in HOPS:
        checks = [info for info in CATALOGUE if info.hop == hop]
        if not checks:
            continue
        parts.append(f"## {HOP_TITLES.get(hop, hop)}\n")
        parts.extend(_check_section(info, info.id in implemented) for info in checks)
    parts.append("## Sources\n")
    parts.append(SOURCES.read_text(encoding="utf-8").rstrip() + "\n")
    return "\n".join(parts)


def _anchor(info: CheckInfo) -> str:
    """GitHub's anchor of the check's heading: lower case, punctuation dropped, spaces as hyphens."""
    text = f"{info.id}: {info.title}".lower()
    kept = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


if __name__ == "__main__":
    sys.stdout.write(render())
