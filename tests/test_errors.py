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


def test_unreachable_endpoint_hints_at_the_sandbox() -> None:
    mapped = from_aws(bx.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert mapped is not None and "sandbox running?" in str(mapped)


def test_foreign_exceptions_are_not_mapped() -> None:
    assert from_aws(ValueError("x")) is None
