"""Entry point for `evctl` and `python -m evctl`."""

from __future__ import annotations


def main() -> None:
    import sys

    if None in (sys.stdin, sys.stdout, sys.stderr):  # started with `<&-`, `>&-` or `2>&-`
        from evctl.output import adopt_closed_streams

        adopt_closed_streams()
    try:
        _main(sys.argv[1:])
    except (OSError, ValueError) as exc:  # stdout failed outside a command (help, usage, --version)
        if isinstance(exc, ValueError) and "closed file" not in str(exc):
            raise
        from evctl.output import exit_status_for_stdout_error

        sys.exit(exit_status_for_stdout_error(exc))


def _main(args: list[str]) -> None:
    import sys

    # `evctl --version` answers before typer loads (~60 ms): scripts call it to probe the install.
    if args == ["--version"]:
        from evctl import __version__

        sys.stdout.write(f"evctl {__version__}\n")
        sys.stdout.flush()
        return

    from evctl.cli.main import app

    app(prog_name="evctl")


if __name__ == "__main__":
    main()
