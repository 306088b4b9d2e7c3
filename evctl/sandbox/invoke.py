"""The child process that runs one handler invocation, as Lambda's Python runtime would.

`python -m evctl.sandbox.invoke FILE FUNCTION RESULT_PATH`, the payload (event + context fields) on stdin, the
working directory set to the handler's folder (Lambda's /var/task). The handler's stdout and stderr are the
function's log; the outcome is written as JSON to RESULT_PATH. Standard library only, so a cold start is cheap.
Error types and log lines follow the Lambda Python runtime (Runtime.ImportModuleError, Runtime.HandlerNotFound,
Runtime.UserCodeSyntaxError, `[ERROR] Type: message` with traceback lines joined by \\r).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any


class LambdaContext:
    """The attributes and method Lambda's Python context object offers."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields.get("function_version", "$LATEST")
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(fields["memory_limit_in_mb"])
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._timeout_ms: int = int(fields["timeout_ms"])
        self._deadline_ms = int(time.time() * 1000) + self._timeout_ms

    def start_clock(self) -> None:
        """The timeout runs from the handler's start (after init), as on Lambda."""
        self._deadline_ms = int(time.time() * 1000) + self._timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _LambdaFormatter(logging.Formatter):
    """Lambda's text format: [LEVEL]\\t2026-11-27T10:15:06.123Z\\t<request id>\\t<message>."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self, request_id: str) -> None:
        fmt = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t" + request_id + "\t%(message)s\n"
        super().__init__(fmt, datefmt="%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\r").rstrip("\r")


def _error(error_type: str, message: str, trace: list[str]) -> dict[str, Any]:
    return {"ok": False, "errorType": error_type, "errorMessage": message, "stackTrace": trace}


def _log_error(outcome: dict[str, Any]) -> None:
    line = f"[ERROR] {outcome['errorType']}: {outcome['errorMessage']}"
    trace = outcome.get("stackTrace") or []
    if trace:
        line += "\rTraceback (most recent call last):\r" + "\r".join(t.rstrip("\n") for t in trace)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _load(path: Path, function: str) -> tuple[Any, dict[str, Any] | None]:
    module_name = path.stem
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        detail = f"{exc.msg} ({exc.filename}, line {exc.lineno})"
        return None, _error("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {detail}", [])
    except Exception as exc:
        return None, _error(
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
            traceback.format_tb(exc.__traceback__),
        )
    handler = getattr(module, function, None)
    if not callable(handler):
        return None, _error("Runtime.HandlerNotFound", f"Handler '{function}' missing on module '{module_name}'", [])
    return handler, None


def _peak_rss_mb() -> int:
    """This process's peak RSS (VmHWM restarts at exec; ru_maxrss would include the parent's before exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) // 1024


def main(argv: list[str]) -> int:
    file, function, result_path = argv
    payload = json.loads(sys.stdin.read())
    context = LambdaContext(payload["context"])

    handler_log = logging.StreamHandler(sys.stdout)
    handler_log.setFormatter(_LambdaFormatter(context.aws_request_id))
    logging.getLogger().addHandler(handler_log)

    sys.path.insert(0, str(Path(file).parent))
    handler, outcome = _load(Path(file), function)
    context.start_clock()
    with open(result_path + ".started", "w", encoding="utf-8"):
        pass  # tells the runner the init phase is over: the timeout starts now
    if outcome is None:
        try:
            result = handler(payload["event"], context)
            outcome = {"ok": True, "result": result}
            json.dumps(outcome)
        except TypeError as exc:
            if outcome is not None and "result" in outcome:
                outcome = _error("Runtime.MarshalError", f"Unable to marshal response: {exc}", [])
            else:
                outcome = _error(type(exc).__name__, str(exc), traceback.format_tb(exc.__traceback__)[1:])
        except Exception as exc:
            outcome = _error(type(exc).__name__, str(exc), traceback.format_tb(exc.__traceback__)[1:])
    if not outcome["ok"]:
        _log_error(outcome)
    sys.stdout.flush()
    sys.stderr.flush()
    outcome["maxRssMb"] = _peak_rss_mb()
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
