"""moto's HTTP server on a loopback address, with the two adjustments the sandbox needs.

- Bound to 127.0.0.1 only (moto's own default is 0.0.0.0). The socket is bound in the caller's thread, so a busy
  port is an immediate, clear error (moto's ThreadedMotoServer would wait forever for a thread that died).
- Exactly one consumer: moto's event source mapping would receive and "invoke" (fail without Docker) inside
  every send_message. The sandbox keeps the mapping as AWS shows it (State Enabled) but unhooks it from the
  queue, so only the local runner (runner.py) receives the messages. See `keep_moto_lambda_out`.
- moto_speed.apply(): SQS calls stay fast at depth (see moto_speed.py).
"""

from __future__ import annotations

import errno
import importlib
import ipaddress
import socket
import threading
from typing import Any

from evctl.errors import ConfigError, UsageError
from evctl.sandbox import mapping_guard
from evctl.sandbox.patches import Patch, Replacement

LOOPBACK = "127.0.0.1"


def _lambda_out() -> list[Replacement]:
    """moto registers each SQS mapping on the queue (`Queue.lambda_event_source_mappings`) and, on every
    add_message, receives and invokes synchronously. The mapping stays in the Lambda backend (list/get show it
    Enabled, as on AWS); only its hook on the queue is removed, so the local runner is the one consumer. Before
    moto creates a mapping, the sandbox's create checks (mapping_guard: the role's permissions) may refuse it."""
    LambdaBackend: Any = importlib.import_module("moto.awslambda.models").LambdaBackend
    sqs_backends: Any = importlib.import_module("moto.sqs.models").sqs_backends
    original = LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        mapping_guard.check(spec)
        esm = original(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            hooks = getattr(queue, "lambda_event_source_mappings", None)
            if isinstance(hooks, dict):
                for arn in [arn for arn, hooked in hooks.items() if hooked is esm]:
                    del hooks[arn]
        return esm

    return [(LambdaBackend, "create_event_source_mapping", create_event_source_mapping)]


LAMBDA_OUT = Patch("moto's mappings consume nothing", _lambda_out)
# In this process, moto's event source mappings never consume SQS messages (counted: an in-process sandbox leaves
# moto as it found it).
keep_moto_lambda_out = LAMBDA_OUT.install
let_moto_lambda_in = LAMBDA_OUT.uninstall


class SandboxServer:
    """moto's server in a background thread of this process. Use as a context manager or start()/stop()."""

    def __init__(self, port: int = 0, host: str = LOOPBACK) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise UsageError(f"the sandbox binds to loopback addresses only, not {host}")
        if not 0 <= port <= 65535:
            raise UsageError(f"port {port} is out of range", "use 1-65535, or 0 for any free port")
        self.host = host
        self.requested_port = port
        self.speed_note: str | None = None  # why the moto speed adjustment was not applied, if it was not
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._patched = False

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox server is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        # Imported here: moto.server takes ~0.4 s and is needed only by a running sandbox.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from evctl.sandbox import moto_lambda, moto_speed

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass  # one stderr line per request would drown the sandbox's own messages

        self.speed_note = moto_speed.apply()
        keep_moto_lambda_out()
        moto_lambda.apply()  # LastModified set by updates, as AWS does
        self._patched = True
        try:
            # Bound here, not by werkzeug: it prints and calls sys.exit(1) when the port is taken.
            listener = _listen(self.host, self.requested_port)
        except OSError as exc:
            self._unpatch()
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {self.requested_port} on {self.host} is already in use",
                    "pick another with --port, or --port 0 for any free port",
                ) from exc
            if exc.errno == errno.EACCES:
                raise ConfigError(
                    f"not allowed to listen on port {self.requested_port}", "use a port above 1023"
                ) from exc
            raise ConfigError(f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror}") from exc
        try:
            self._server = make_server(
                self.host,
                self.requested_port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug holds its own duplicate of the socket
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="evctl-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._unpatch()

    def _unpatch(self) -> None:
        if self._patched:
            from evctl.sandbox import moto_lambda, moto_speed

            self._patched = False
            if self.speed_note is None:
                moto_speed.restore()
            let_moto_lambda_in()
            moto_lambda.restore()

    def reset(self) -> None:
        """Drop every resource (moto's /moto-api/reset) without restarting."""
        reset_endpoint(self.endpoint)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR lets a restart reuse a port in TIME_WAIT; a port someone listens on still fails.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except BaseException:
        listener.close()
        raise
    return listener


def reset_endpoint(endpoint: str, timeout: float = 10.0) -> None:
    """Ask a running sandbox (any process) to drop all its state."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        from evctl.errors import UNREACHABLE_HINT, ServiceError

        raise ServiceError(f"could not reset the sandbox at {endpoint} ({exc})", UNREACHABLE_HINT) from exc
