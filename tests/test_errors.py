from __future__ import annotations

import pytest
from botocore import exceptions as bx

from evctl.errors import ExitCode, from_aws


def client_error(code: str, status: int = 400, message: str = "boom") -> bx.ClientError:
    return bx.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (bx.NoCredentialsError(), ExitCode.CONFIG),
        (bx.ProfileNotFound(profile="nope"), ExitCode.CONFIG),
        (bx.NoRegionError(), ExitCode.CONFIG),
        (bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), ExitCode.SERVICE),
        (client_error("AccessDeniedException", 400), ExitCode.CONFIG),
        (client_error("SomethingForbidden", 403), ExitCode.CONFIG),
        (client_error("ResourceNotFoundException"), ExitCode.NOT_FOUND),
        (client_error("AWS.SimpleQueueService.NonExistentQueue"), ExitCode.NOT_FOUND),
        (client_error("ThrottlingException"), ExitCode.SERVICE),
        (client_error("InternalFailure", 500), ExitCode.SERVICE),
        (client_error("ValidationException"), ExitCode.USAGE),
    ],
)
def test_botocore_exceptions_map_to_fixed_exit_codes(exc: Exception, code: ExitCode) -> None:
    mapped = from_aws(exc)
    assert mapped is not None
    assert mapped.exit_code == code
    assert "\n" not in str(mapped)


def test_not_found_names_the_resource() -> None:
    mapped = from_aws(client_error("QueueDoesNotExist"), "queue orders")
    assert mapped is not None
    assert mapped.message == "queue orders not found"


def test_a_missing_queue_is_not_blamed_on_the_bus_the_call_was_about() -> None:
    # moto answers PutEvents to a rule whose target queue was deleted with QueueDoesNotExist
    mapped = from_aws(client_error("QueueDoesNotExist", message="The specified queue does not exist."), "event bus 'default'")
    assert mapped is not None and mapped.exit_code == ExitCode.NOT_FOUND
    assert mapped.message == "The specified queue does not exist." and "bus" not in str(mapped)


def test_unreachable_endpoint_hints_at_the_sandbox() -> None:
    mapped = from_aws(bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert mapped is not None and "sandbox running?" in str(mapped)


def test_foreign_exceptions_are_not_mapped() -> None:
    assert from_aws(ValueError("x")) is None


@pytest.mark.parametrize(
    ("value", "traceback"),
    [("0", False), ("false", False), ("no", False), ("", False), ("1", True), ("true", True), ("yes", True)],
)
def test_evctl_debug_means_what_it_says(value: str, traceback: bool) -> None:
    """EVCTL_DEBUG=0 (or false, no, empty) leaves debug off; 1 (true, yes) shows the traceback with the error."""
    from tests.helpers import run_cli

    result = run_cli(["--sandbox", "queue", "list"], env={"EVCTL_DEBUG": value})  # no sandbox runs: exit 4
    assert (result.exit_code, result.stdout) == (4, "")
    assert ("Traceback (most recent call last)" in result.stderr) is traceback
    assert result.stderr.splitlines()[-1].startswith("evctl: error: no sandbox is running")


def test_the_sandbox_install_hint_names_the_extra_pyproject_declares() -> None:
    import tomllib
    from pathlib import Path

    from evctl.errors import SANDBOX_INSTALL_HINT, SANDBOX_REQUIREMENT

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["sandbox"][0] == SANDBOX_REQUIREMENT
    assert SANDBOX_REQUIREMENT in project["optional-dependencies"]["test"]
    assert "pip install 'evctl[sandbox]'" in SANDBOX_INSTALL_HINT
    assert not any(dep.startswith("moto") for dep in project["dependencies"])


def test_every_third_party_import_is_declared() -> None:
    """Each top-level package evctl imports is the standard library's, evctl's own, or declared in pyproject."""
    import ast
    import sys
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = {
        dep.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower().replace("-", "_")
        for dep in [*project["dependencies"], *project["optional-dependencies"]["sandbox"]]
    }
    imported: set[str] = set()
    for path in (root / "evctl").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "evctl"}
    type_stubs = {name for name in third_party if name.startswith("mypy_boto3_")}  # under TYPE_CHECKING only
    assert third_party - type_stubs <= declared, f"undeclared: {sorted(third_party - type_stubs - declared)}"


# --- credentials that are refused: say so, and how to refresh them, on one line ----------------------------------

REFUSED = [
    ("InvalidClientTokenId", 403),
    ("ExpiredToken", 400),
    ("ExpiredTokenException", 400),
    ("UnrecognizedClientException", 400),
    ("InvalidSignatureException", 400),
    ("SignatureDoesNotMatch", 403),
    ("AuthFailure", 401),
]


def _assert_refused_line(stderr: str, code: str) -> None:
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("evctl: error: the AWS credentials were refused") and code in stderr
    assert "invalid or expired" in stderr and "aws sso login" in stderr and "aws configure" in stderr
    assert "IAM permissions" not in stderr and "<" not in stderr


@pytest.mark.parametrize(("code", "status"), REFUSED)
def test_refused_credentials_say_so_through_the_cli(code: str, status: int) -> None:
    from unittest import mock

    from botocore.stub import Stubber

    from evctl.aws import AwsSettings, ClientFactory
    from tests.helpers import run_cli

    sqs = ClientFactory(AwsSettings()).client("sqs")
    stubber = Stubber(sqs)
    stubber.add_client_error(
        "list_queues", service_error_code=code, http_status_code=status, service_message="The token\nis bad."
    )
    with stubber, mock.patch("evctl.aws.ClientFactory.client", return_value=sqs):
        result = run_cli(["queue", "list"])
    stubber.assert_no_pending_responses()
    assert (result.exit_code, result.stdout) == (4, "")
    _assert_refused_line(result.stderr, code)


def test_moto_with_auth_on_gives_one_line_without_xml() -> None:
    """moto answers a JSON-protocol call with an XML error document: code '403', the document as the message."""
    from moto import mock_aws
    from moto.core import set_initial_no_auth_action_count

    from tests.helpers import run_cli

    @set_initial_no_auth_action_count(0)
    @mock_aws
    def run() -> tuple[int, str, str]:
        result = run_cli(["queue", "list"])
        return result.exit_code, result.stdout, result.stderr

    code, stdout, stderr = run()
    assert (code, stdout) == (4, "")
    _assert_refused_line(stderr, "InvalidClientTokenId")


def test_service_text_is_one_short_line() -> None:
    from evctl.errors import MAX_SERVICE_TEXT

    xml = '<?xml version="1.0"?>\n<ErrorResponse><Errors><Error><Code>Boom</Code><Message>it\nbroke</Message>'
    mapped = from_aws(client_error("500", 500, xml))
    assert mapped is not None and str(mapped) == "Boom: it broke — AWS failed after retries"
    long = from_aws(client_error("InternalFailure", 500, "x" * 5000))
    assert long is not None and len(long.message) < MAX_SERVICE_TEXT + 40
    odd = from_aws(bx.ParamValidationError(report="line one\nline two"))
    assert odd is not None and "\n" not in str(odd)


def test_an_sso_session_that_expired_says_how_to_refresh() -> None:
    mapped = from_aws(bx.UnauthorizedSSOTokenError())
    assert mapped is not None and mapped.exit_code == ExitCode.CONFIG and "aws sso login" in str(mapped)
    assert "\n" not in str(mapped)
