"""Typed errors, their fixed exit codes, and the one map from botocore exceptions.

Nothing here imports botocore at module level: `evctl --help` must not pay for it.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    PARTIAL = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFIG = 4
    SERVICE = 5
    INTERRUPTED = 130


class EvctlError(Exception):
    """An error a user can act on: one line of what happened, an optional hint."""

    exit_code: ExitCode = ExitCode.SERVICE

    def __init__(self, message: str, hint: str | None = None) -> None:
        message = one_line(message)  # an error is one line, whatever text it carries
        super().__init__(message)
        self.message = message
        self.hint = one_line(hint) if hint is not None else None

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class PartialFailure(EvctlError):
    exit_code = ExitCode.PARTIAL


class UsageError(EvctlError):
    exit_code = ExitCode.USAGE


class NotFoundError(EvctlError):
    exit_code = ExitCode.NOT_FOUND


class ConfigError(EvctlError):
    """Credentials, permissions or configuration."""

    exit_code = ExitCode.CONFIG


class ServiceError(EvctlError):
    exit_code = ExitCode.SERVICE


class Interrupted(EvctlError):
    exit_code = ExitCode.INTERRUPTED


# The error codes SQS answers with when a queue does not exist (the JSON and the query protocol spellings).
QUEUE_NOT_FOUND_CODES = frozenset({"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "NonExistentQueue"})
_NOT_FOUND_CODES = {"ResourceNotFoundException", *QUEUE_NOT_FOUND_CODES, "NotFoundException"}
# The credentials themselves were refused (unknown key, wrong secret, expired session): not a permissions problem.
CREDENTIALS_REJECTED_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "InvalidToken",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "AuthFailure",
    }
)
_AUTH_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "KMS.AccessDeniedException"}
_USAGE_CODES = {
    "ValidationException",
    "InvalidParameterValue",
    "InvalidParameterException",
    "InvalidParameterCombination",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidEventPatternException",
    "MissingParameter",
    "InvalidAddress",
    "AWS.SimpleQueueService.UnsupportedOperation",
    "UnsupportedOperation",
}

# The local sandbox (`evctl demo`, `evctl sandbox ...`, `--sandbox`) runs moto's server: the `sandbox` extra, not a
# dependency (see docs/configuration.md). Keep the range equal to the extra in pyproject.toml (tests check it).
SANDBOX_REQUIREMENT = "moto[server]>=5.1,<5.3"
SANDBOX_MODULES = ("moto", "flask", "werkzeug", "flask_cors")  # what the extra brings that evctl's sandbox imports
SANDBOX_INSTALL_HINT = f"pip install 'evctl[sandbox]' (with pipx: pipx inject evctl '{SANDBOX_REQUIREMENT}')"


def sandbox_not_installed(module: str = "moto") -> ConfigError:
    """The one-line error (exit 4) for a sandbox command when the `sandbox` extra is not installed."""
    return ConfigError(f"the local sandbox needs {module}, which is not installed", SANDBOX_INSTALL_HINT)


def missing_module(exc: ModuleNotFoundError) -> EvctlError | None:
    """An import that failed because an optional extra is not installed, as an error naming the install command."""
    root = (exc.name or "").split(".")[0]
    return sandbox_not_installed(root) if root in SANDBOX_MODULES else None


UNREACHABLE_HINT = (
    "is the endpoint / sandbox running? (check --endpoint-url, AWS_ENDPOINT_URL or `evctl sandbox status`)"
)
CREDENTIALS_HINT = "set AWS_PROFILE or credentials (`aws configure`), or use --sandbox for the local sandbox"
CREDENTIALS_REJECTED_HINT = (
    "the credentials are invalid or expired: refresh them (`aws sso login` for an SSO profile, `aws configure` for"
    " keys, or new AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), or pick another --profile"
)
MAX_SERVICE_TEXT = 300  # characters of a service's message quoted in an error


def one_line(text: str) -> str:
    """Text as one line: line breaks (and the spaces around them) become one space."""
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip() if ("\n" in text or "\r" in text) else text


def service_text(code: str, message: str) -> tuple[str, str]:
    """A service's (code, message) fit for one line: an XML error document (moto answers JSON-protocol calls with
    one, its code in the HTTP status) gives its inner Code and Message; whitespace collapses; long text is cut."""
    if message.lstrip().startswith("<"):
        inner_code = re.search(r"<Code>\s*([^<]*?)\s*</Code>", message)
        inner_message = re.search(r"<Message>([^<]*)</Message>", message)
        if inner_code and (not code or code.isdigit()):
            code = inner_code.group(1)
        message = inner_message.group(1) if inner_message else re.sub(r"<[^>]*>", " ", message)
    message = " ".join(message.split())
    if len(message) > MAX_SERVICE_TEXT:
        message = message[: MAX_SERVICE_TEXT - 1].rstrip() + "…"
    return code, message


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def from_aws(exc: BaseException, what: str | None = None) -> EvctlError | None:
    """Translate a botocore/boto3 exception into an EvctlError, or None when it is not one of theirs.

    `what` names the resource the call was about ("queue user-signup-queue") for not-found messages.
    """
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return ConfigError("no AWS credentials found", CREDENTIALS_HINT)
    if isinstance(
        exc, bx.SSOError | bx.TokenRetrievalError | bx.CredentialRetrievalError | bx.RefreshWithMFAUnsupportedError
    ):
        return ConfigError(f"could not get AWS credentials: {exc}", CREDENTIALS_REJECTED_HINT)
    if isinstance(exc, bx.ProfileNotFound):
        return ConfigError(str(exc), "list profiles with `aws configure list-profiles`")
    if isinstance(exc, bx.NoRegionError):
        return ConfigError("no AWS region configured", "pass --region or set AWS_REGION")
    if isinstance(exc, bx.InvalidRegionError):
        return ConfigError(str(exc), "pass a region such as us-east-1")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError | bx.ConnectTimeoutError):
        return ServiceError(f"could not reach the endpoint ({exc})", UNREACHABLE_HINT)
    if isinstance(exc, bx.ReadTimeoutError):
        return ServiceError(f"the endpoint did not answer in time ({exc})", UNREACHABLE_HINT)
    if isinstance(exc, bx.ParamValidationError):
        return UsageError(str(exc).replace("\n", " "))
    if isinstance(exc, bx.ClientError):
        code, message = service_text(error_code(exc), str(exc.response.get("Error", {}).get("Message") or ""))
        message = message or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in _NOT_FOUND_CODES or code.endswith("NotFoundException") or code.startswith("NoSuch"):
            if what and code in QUEUE_NOT_FOUND_CODES and "queue" not in what:
                what = ""  # the missing thing is a queue (moto's PutEvents to a deleted target), not the `what` asked
            return NotFoundError(f"{what} not found" if what else message, message if what else None)
        if code in CREDENTIALS_REJECTED_CODES:
            return ConfigError(f"the AWS credentials were refused ({code}: {message})", CREDENTIALS_REJECTED_HINT)
        if code in _AUTH_CODES or status == 403:
            return ConfigError(f"access denied: {message}", "check the IAM permissions of your credentials")
        if code in _USAGE_CODES:
            return UsageError(message)
        return ServiceError(f"{code}: {message}" if code else message, "AWS failed after retries")
    if isinstance(exc, bx.BotoCoreError):
        return ServiceError(str(exc))
    return None
