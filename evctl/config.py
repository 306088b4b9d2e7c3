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

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evctl.errors import ConfigError

PROJECT_FILE = "evctl.toml"
USER_FILE = Path("evctl") / "config.toml"


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
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", "fix the file or move it away") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return Config(path=path, data=data)
