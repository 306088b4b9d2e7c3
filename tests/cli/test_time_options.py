"""Every time option (`tail logs --since/--until`, `publish --time`) is read and range-checked by core/common/time:
exit 2 with one line naming the option, before any AWS call (issue 11)."""

from __future__ import annotations

import pytest
from moto import mock_aws

from tests.helpers import run_cli

HOSTILE_TIMES = [
    "",
    " ",
    "99999999d",
    "99999999999999999999",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:00:00-02:00",
    "nan",
]
COMMANDS = [
    (["tail", "logs", "some-group", "--since"], "--since"),
    (["tail", "logs", "some-group", "--until"], "--until"),
    (["publish", "--source", "s", "--detail-type", "t", "--time"], "--time"),
    (["publish", "signup", "--time"], "--time"),
]


@pytest.mark.parametrize("value", HOSTILE_TIMES)
@pytest.mark.parametrize(("args", "option"), COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_hostile_times_exit_2_naming_the_option(args: list[str], option: str, value: str) -> None:
    result = run_cli([*args, value])
    assert result.exit_code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("evctl: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"evctl: error: {option}"), result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


@mock_aws
def test_publish_time_takes_epoch_seconds_as_its_message_says() -> None:
    result = run_cli(
        ["-o", "json", "publish", "--source", "s", "--detail-type", "t", "--time", "1700000000", "--dry-run"]
    )
    assert '"Time": "2023-11-14T22:13:20Z"' in result.stdout, result.stderr


@pytest.mark.parametrize("when", ["99999999999999", "1e300", "-99999999999999"])
def test_an_event_time_out_of_range_is_bad_input_for_rules_test(when: str) -> None:
    """An entry's epoch-seconds Time goes through the same range check (it crashed with exit 5 before)."""
    event = f'{{"Source": "a", "DetailType": "t", "Detail": "{{}}", "Time": {when}}}'
    result = run_cli(["rules", "test", "--pattern", '{"source": ["a"]}', "--event", event])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("evctl: error: invalid event: Time ") and "out of range" in result.stderr
