"""The sandbox server: loopback only, clear errors, and the local runner as the queue's one consumer."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from evctl.errors import ConfigError, UsageError
from evctl.sandbox import provision as pv
from evctl.sandbox.server import SandboxServer
from tests.sandbox.conftest import drain_with, log_messages, send_signups


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on `port`, from the kernel's own table."""
    found = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A = LISTEN
                continue
            raw = bytes.fromhex(address_hex)
            if family == socket.AF_INET:
                found.add(socket.inet_ntop(family, raw[::-1]))
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(family, words))
    return found


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_server_listens_on_loopback_only(sandbox_server: SandboxServer) -> None:
    assert _listening_addresses(sandbox_server.port) == {"127.0.0.1"}
    other = _non_loopback_address()
    if other is not None:  # where the machine has another interface, connecting through it is refused
        with pytest.raises(OSError), socket.create_connection((other, sandbox_server.port), timeout=2):
            pass
    with socket.create_connection(("127.0.0.1", sandbox_server.port), timeout=2):
        pass


def test_a_non_loopback_bind_address_is_refused() -> None:
    with pytest.raises(UsageError, match=re.escape("loopback addresses only, not 0.0.0.0")):
        SandboxServer(port=0, host="0.0.0.0")


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as caught:
            SandboxServer(port=port).start()
    assert caught.value.exit_code == 4
    assert str(caught.value) == (
        f"port {port} on 127.0.0.1 is already in use — pick another with --port, or --port 0 for any free port"
    )


def test_moto_does_not_consume_the_messages(
    clients: pv.SandboxClients, make_pipeline: Callable[..., pv.Pipeline]
) -> None:
    pipeline = make_pipeline()
    mapping = clients.lambda_.get_event_source_mapping(UUID=pipeline.esm_uuid)
    assert mapping["State"] == "Enabled"  # shown as on AWS ...
    send_signups(clients, [{"email": f"u{i}@example.com"} for i in range(3)])
    attributes = clients.sqs.get_queue_attributes(QueueUrl=pipeline.queue_url, AttributeNames=["All"])["Attributes"]
    # ... yet moto received none of them (its mapping would have, inside send_message, and failed without Docker)
    assert attributes["ApproximateNumberOfMessages"] == "3"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    received = clients.sqs.receive_message(
        QueueUrl=pipeline.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in received] == ["1", "1", "1"]


def test_each_message_is_processed_by_the_runner_alone(
    clients: pv.SandboxClients,
    make_pipeline: Callable[..., pv.Pipeline],
    make_runner: Callable[..., object],
    handler_file: Callable[..., pv.HandlerSpec],
) -> None:
    spec = handler_file(
        """
        def handler(event, context):
            for record in event["Records"]:
                print("processed", record["messageId"], record["attributes"]["ApproximateReceiveCount"])
        """
    )
    pipeline = make_pipeline(spec)
    send_signups(clients, [{"email": f"u{i}@example.com"} for i in range(25)])
    invocations = drain_with(make_runner(pipeline))  # type: ignore[arg-type]
    processed = [e["message"].split()[1:] for e in log_messages(clients) if e["message"].startswith("processed ")]
    ids = [message_id for message_id, _ in processed]
    assert len(ids) == 25 and len(set(ids)) == 25  # every message once
    assert {count for _, count in processed} == {"1"}  # first receive each time: nobody else received them
    assert sum(len(i.deleted) for i in invocations) == 25
    depth = pv.queue_depths(clients.sqs, pipeline.queue_url)
    assert depth == {"visible": 0, "in_flight": 0}
