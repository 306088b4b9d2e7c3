"""Option and argument aliases shared by commands, so every command spells them the same way."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from typer._click import core as click_core
from typer._click import types as click_types

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (required when not on a TTY).")]
BusOpt = Annotated[str, typer.Option("--bus", "-b", help="Event bus name or ARN.", show_default=True)]
QueueArg = Annotated[str, typer.Argument(help="Queue name, URL or ARN.", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; call nothing that changes state.")]

# --- numbers: every int/float option of every command is finite and bounded -------------------------------------
# `EvctlGroup` calls `harden_numbers` on the whole command tree once it is built, so an option declared tomorrow
# gets the same checks (tests/test_hostile_options.py sweeps every numeric option of every command).

INT_LIMIT = 2**31 - 1  # the upper bound of an int option that declares none: every AWS integer field fits
FLOAT_LIMIT = 1e9  # seconds, rates: ~31 years; keeps sleeps and waits within what the OS accepts


class _Bounded:
    """The shared part: a max the option did not declare (INT_LIMIT, FLOAT_LIMIT) is enforced but not shown in
    --help, and a value past it is reported as too large."""

    implicit_max = False
    max: Any

    def _describe_range(self) -> str:
        if self.implicit_max:  # show only what the option declared (a minimum, or nothing)
            if self.min is None:  # type: ignore[attr-defined]
                return ""
            return f"x{'>' if self.min_open else '>='}{self.min}"  # type: ignore[attr-defined]
        described: str = super()._describe_range()  # type: ignore[misc]
        return described

    def _check_limit(self, number: float, value: Any, param: Any, ctx: Any) -> None:
        if self.implicit_max and number > self.max:
            self.fail(f"{value!r} is too large (at most {self.max:,.0f})", param, ctx)  # type: ignore[attr-defined]


class FiniteIntRange(_Bounded, click_types.IntRange):
    """An int option: 'nan', '1e999', 'abc' and values outside [min, max] are usage errors (exit 2)."""

    def convert(self, value: Any, param: click_core.Parameter | None, ctx: click_core.Context | None) -> Any:
        if isinstance(value, str):
            try:
                self._check_limit(int(value.strip()), value, param, ctx)
            except ValueError:
                self.fail(f"{value!r} is not a whole number", param, ctx)
        return super().convert(value, param, ctx)


class FiniteFloatRange(_Bounded, click_types.FloatRange):
    """A float option: 'nan', 'inf', '1e999', 'abc' and values outside [min, max] are usage errors (exit 2)."""

    def convert(self, value: Any, param: click_core.Parameter | None, ctx: click_core.Context | None) -> Any:
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        self._check_limit(number, value, param, ctx)
        return super().convert(value, param, ctx)


def _hardened(kind: click_types.ParamType) -> click_types.ParamType | None:
    """The finite, bounded equivalent of a numeric parameter type, or None for any other type."""
    if isinstance(kind, FiniteIntRange | FiniteFloatRange):
        return None
    bounds: dict[str, Any] = {}
    if isinstance(kind, click_types.IntRange | click_types.FloatRange):
        bounds = {"min": kind.min, "max": kind.max, "min_open": kind.min_open, "max_open": kind.max_open}
    implicit_max = bounds.get("max") is None
    hardened: FiniteIntRange | FiniteFloatRange
    if isinstance(kind, click_types.IntParamType):
        hardened = FiniteIntRange(**{**bounds, "max": INT_LIMIT if implicit_max else bounds["max"]})
    elif isinstance(kind, click_types.FloatParamType):
        hardened = FiniteFloatRange(**{**bounds, "max": FLOAT_LIMIT if implicit_max else bounds["max"]})
    else:
        return None
    hardened.implicit_max = implicit_max
    return hardened


def iter_commands(
    command: click_core.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click_core.Command]]:
    """Every command of the tree under `command` (itself first), with its path of names below the root."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from iter_commands(sub, (*path, name))


def harden_numbers(root: click_core.Command) -> None:
    """Give every int/float parameter of every command a finite, bounded type (see FiniteIntRange)."""
    for _, command in iter_commands(root):
        for param in command.params:
            hardened = _hardened(param.type)
            if hardened is not None:
                param.type = hardened


# --- global options anywhere: `evctl templates list -o json` as well as `evctl -o json templates list` ------------


def _option_table(command: click_core.Command) -> dict[str, bool]:
    """Each option string of `command` → whether it takes a value."""
    table: dict[str, bool] = {}
    for param in command.params:
        if param.param_type_name == "option":
            for name in (*param.opts, *param.secondary_opts):
                table[name] = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
    return table


def lift_global_options(root: click_core.Command, args: list[str]) -> list[str]:
    """`args` with the root's options that follow a subcommand moved to just before the first subcommand name, as
    the aws CLI accepts them anywhere. An option the subcommand itself declares (`publish --max-attempts`) stays
    its own; an option's value is never taken for an option (`--source -o`); `--` ends the search."""
    globals_ = _option_table(root)
    kept: list[str] = []
    lifted: list[str] = []
    insert_at: int | None = None
    command, i = root, 0
    while i < len(args):
        token = args[i]
        if token == "--":
            kept.extend(args[i:])
            break
        if token.startswith("-") and token != "-":
            own = _option_table(command)
            name, attached = (
                (token.partition("=")[0], "=" in token) if token.startswith("--") else (token[:2], len(token) > 2)
            )
            lift = command is not root and name not in own and name in globals_
            table = globals_ if lift else own
            width = 2 if table.get(name) and not attached else 1
            (lifted if lift else kept).extend(args[i : i + width])
            i += width
            continue
        sub = getattr(command, "commands", {}).get(token)
        if sub is not None:
            if insert_at is None:
                insert_at = len(kept)
            command = sub
        kept.append(token)
        i += 1
    if insert_at is None:
        return kept
    return kept[:insert_at] + lifted + kept[insert_at:]
