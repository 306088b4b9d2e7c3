"""evctl's own configuration: evctl.toml in the current project, else $XDG_CONFIG_HOME/evctl/config.toml.

Read lazily (only by commands that need it, never at import time) with the standard library's tomllib.
The first file found wins; files are not merged. Layout::

    [publish]
    bus = "default"                # default event bus name or ARN
    concurrency = 4                # parallel PutEvents calls
    max_attempts = 5               # attempts per entry (entry-level retries)
    max_entry_size = "256KiB"      # or "1MiB", or a number of bytes

    [templates.order]
    source = "my.shop"
    detail-type = "OrderPlaced"
    detail = { order_id = "{uuid}", amount = 10 }
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evctl.errors import ConfigError

PROJECT_FILE = "evctl.toml"
USER_FILE = Path("evctl") / "config.toml"

# Every key the file may hold (a misspelt key is an error, never silently ignored).
PUBLISH_KEYS = frozenset({"bus", "concurrency", "max_attempts", "max_entry_size"})
TEMPLATE_KEYS = frozenset({"source", "detail-type", "detail_type", "detail", "description", "bus", "resources"})
SECTIONS = frozenset({"publish", "templates"})


@dataclass(frozen=True)
class Config:
    """The parsed configuration file (empty when there is none) and where it came from."""

    path: Path | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level table such as `publish` or `templates`; {} when absent."""
        value = self.data.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"[{name}] in {self.path} must be a table", "see docs/configuration.md")
        return value

    def setting(self, section: str, key: str, default: Any) -> Any:
        return self.section(section).get(key, default)


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/evctl/config.toml (XDG_CONFIG_HOME defaults to ~/.config)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / USER_FILE


def find_config_file(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The project's evctl.toml (in `cwd`), else the user's config file, else None."""
    project = (cwd or Path.cwd()) / PROJECT_FILE
    if project.is_file():
        return project
    user = user_config_path(environ)
    return user if user.is_file() else None


def load_config(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Parse the configuration file; a file that is not valid TOML is a configuration error (exit 4)."""
    import tomllib

    path = find_config_file(cwd, environ)
    if path is None:
        return Config()
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start + 1} is {exc.object[exc.start]:#04x})", "save it as UTF-8"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the file or move it away") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    check_config(path, data)
    return Config(path=path, data=data)


def check_config(path: Path, data: Mapping[str, Any]) -> None:
    """Every key is one evctl knows (a typo names its close match) and every number is finite; else exit 4."""
    _known(path, "the top level", data, SECTIONS)
    publish = data.get("publish")
    if isinstance(publish, Mapping):
        _known(path, "[publish]", publish, PUBLISH_KEYS)
    templates = data.get("templates")
    if isinstance(templates, Mapping):
        for name, spec in templates.items():
            if isinstance(spec, Mapping):
                _known(path, f"[templates.{name}]", spec, TEMPLATE_KEYS)
    for key, value in _leaves(data):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(
                f"{path}: {key} = {value} is not a finite number",
                "JSON and EventBridge have no NaN or Infinity: give a number",
            )


def _known(path: Path, where: str, table: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = [str(key) for key in table if key not in known]
    if unknown:
        matches = {key: match[0] for key in unknown if (match := difflib.get_close_matches(key, sorted(known), n=1))}
        close = [match if len(unknown) == 1 else f"{match} (for {key})" for key, match in matches.items()]
        raise ConfigError(
            f"{where} in {path}: unknown key(s) {', '.join(unknown)}",
            (f"did you mean {', '.join(close)}? " if close else "")
            + f"known keys: {', '.join(sorted(known))} (docs/configuration.md)",
        )


def _leaves(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) for every value in a TOML document, arrays' items as key[i]."""
    if isinstance(value, Mapping):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{key}.{k}" if key else str(k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{key}[{i}]")]
    return [(key, value)]
