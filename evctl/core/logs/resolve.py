"""Which log groups to read: function names and ARNs (their log group), log group names and ARNs.

    sources = resolve_sources(["user-signup-handler", "/custom/payments"], logs_client, lambda_client)
    # [LogSource(label="user-signup-handler", group="/aws/lambda/user-signup-handler", arn=..., function=...), ...]

A function's group is its LoggingConfig.LogGroup, else /aws/lambda/<name>; a function that has not logged yet gives
a LogSource with exists=False (a notice says so). Unknown names are NotFoundError with "did you mean ...?".
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evctl.core.common.names import check_name, is_name, name_rule, quoted
from evctl.core.logs.event import LogSource, Notify, ignore_notice
from evctl.errors import NotFoundError, UsageError, error_code, from_aws

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["resolve_sources"]

_DENIED_CODES = {"AccessDeniedException", "AccessDenied"}


def resolve_sources(
    targets: Sequence[str],
    logs_client: CloudWatchLogsClient,
    lambda_client: LambdaClient,
    *,
    on_notice: Notify | None = None,
) -> list[LogSource]:
    """Log groups for function names/ARNs and log group names/ARNs, in the order given, without repeats."""
    notify = on_notice or ignore_notice
    sources: dict[str, LogSource] = {}
    for target in targets:
        source = _resolve_one(target.strip(), logs_client, lambda_client, notify)
        sources.setdefault(source.group, source)
    return list(sources.values())


def _resolve_one(
    target: str, logs_client: CloudWatchLogsClient, lambda_client: LambdaClient, notify: Notify
) -> LogSource:
    if not target:
        raise UsageError("empty target", "give a function name or ARN, or a log group name or ARN")
    if target.startswith("arn:"):
        return _resolve_arn(target, logs_client, lambda_client, notify)
    if is_name("function", target):
        source = _function_source(target, target.split(":")[0], logs_client, lambda_client, notify)
        if source is not None:
            return source
        group = _describe_group(logs_client, target)
        if group is not None:
            return LogSource(label=target, group=target, arn=_group_arn(group))
        raise NotFoundError(f"no function or log group named {target!r}", _suggest(target, logs_client, lambda_client))
    if not is_name("log group", target):
        raise UsageError(
            f"{quoted(target)} is neither a function name nor a log group name",
            f"a function name has {name_rule('function')}; a log group name has {name_rule('log group')}",
        )
    return _group_source(target, target, logs_client, lambda_client)


def _resolve_arn(arn: str, logs_client: CloudWatchLogsClient, lambda_client: LambdaClient, notify: Notify) -> LogSource:
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise UsageError(f"malformed ARN {arn!r}", "expected arn:aws:logs:REGION:ACCOUNT:log-group:NAME")
    service, region, resource = parts[2], parts[3], parts[5]
    if service == "logs" and resource.startswith("log-group:"):
        _check_region(arn, region, logs_client)
        name = check_name("log group", resource[len("log-group:") :].split(":", 1)[0])
        return _group_source(name, name, logs_client, lambda_client)
    if service == "lambda" and resource.startswith("function:"):
        _check_region(arn, region, lambda_client)
        name = check_name("function", resource.split(":")[1])
        source = _function_source(arn, name, logs_client, lambda_client, notify)
        if source is None:
            raise NotFoundError(f"function {name} not found", _suggest(name, logs_client, lambda_client))
        return source
    raise UsageError(f"{arn} is neither a Lambda function ARN nor a log group ARN")


def _check_region(arn: str, region: str, client: CloudWatchLogsClient | LambdaClient) -> None:
    current = getattr(getattr(client, "meta", None), "region_name", None)
    if region and current and region != current:
        raise UsageError(f"{arn} is in {region} but evctl is using {current}", f"pass --region {region}")


def _function_source(
    function_id: str, name: str, logs_client: CloudWatchLogsClient, lambda_client: LambdaClient, notify: Notify
) -> LogSource | None:
    """The function's log group (LoggingConfig.LogGroup, else /aws/lambda/<name>); None if no such function."""
    try:
        config = lambda_client.get_function_configuration(FunctionName=function_id)
    except Exception as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return None
        if code not in _DENIED_CODES:
            raise (from_aws(exc, f"function {name}") or exc) from exc
        group = f"/aws/lambda/{name}"
        notify(f"cannot read function {name}'s configuration (access denied); assuming log group {group}")
    else:
        name = str(config.get("FunctionName") or name)
        group = str((config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}")
    described = _describe_group(logs_client, group)
    if described is None:
        notify(f"log group {group} does not exist yet (function {name} has not logged anything)")
        return LogSource(label=name, group=group, exists=False, function=name)
    return LogSource(label=name, group=group, arn=_group_arn(described), function=name)


def _group_source(name: str, label: str, logs_client: CloudWatchLogsClient, lambda_client: LambdaClient) -> LogSource:
    described = _describe_group(logs_client, name)
    if described is None:
        raise NotFoundError(f"log group {name} not found", _suggest(name, logs_client, lambda_client))
    return LogSource(label=label, group=name, arn=_group_arn(described))


_UNKNOWN: dict[str, Any] = {}


def _describe_group(logs_client: CloudWatchLogsClient, name: str) -> dict[str, Any] | None:
    """The DescribeLogGroups entry for exactly `name`; {} when we may not look (assume it exists).

    Names come back sorted, so the exact name, if it exists, is the first with its prefix.
    """
    try:
        response = logs_client.describe_log_groups(logGroupNamePrefix=name, limit=50)
    except Exception as exc:
        if error_code(exc) in _DENIED_CODES:
            return _UNKNOWN
        mapped = from_aws(exc, f"log group {name}") or exc
        if isinstance(mapped, UsageError):  # a name DescribeLogGroups refuses cannot exist
            return None
        raise mapped from exc
    for group in response.get("logGroups", []):
        if group.get("logGroupName") == name:
            return dict(group)
    return None


def _group_arn(described: dict[str, Any]) -> str | None:
    arn = described.get("logGroupArn") or described.get("arn")
    return str(arn).removesuffix(":*") if arn else None


def _suggest(target: str, logs_client: CloudWatchLogsClient, lambda_client: LambdaClient) -> str:
    """'did you mean ...?' from function and log group names close to `target` (best effort)."""
    names: dict[str, str] = {}
    try:
        for page in lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"MaxItems": 500}):
            for function in page.get("Functions", []):
                names[function["FunctionName"]] = function["FunctionName"]
    except Exception:  # suggestions are a courtesy; a denied listing must not hide the real error
        pass
    try:
        groups = logs_client.get_paginator("describe_log_groups").paginate(PaginationConfig={"MaxItems": 500})
        for groups_page in groups:
            for group in groups_page.get("logGroups", []):
                full = group["logGroupName"]
                names.setdefault(full, full)
                names.setdefault(full.rsplit("/", 1)[-1], full)
    except Exception:
        pass
    close = difflib.get_close_matches(target, list(names), n=3, cutoff=0.6)
    shown = list(dict.fromkeys(names[c] for c in close))
    # A function and its /aws/lambda/<name> group are one suggestion, in the form the user typed.
    if target.startswith("/"):
        shown = [s for s in shown if f"/aws/lambda/{s}" not in shown]
    else:
        shown = [s for s in shown if not (s.startswith("/aws/lambda/") and s.removeprefix("/aws/lambda/") in shown)]
    if shown:
        return "did you mean " + " or ".join(shown) + "?"
    return "check the name (function name or ARN, log group name or ARN) and --region"
