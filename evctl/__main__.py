"""Entry point for `evctl` and `python -m evctl`."""

from __future__ import annotations


def main() -> None:
    import sys

    # `evctl --version` answers before typer loads (~60 ms): scripts call it to probe the install.
    if sys.argv[1:] == ["--version"]:
        from evctl import __version__

        sys.stdout.write(f"evctl {__version__}\n")
        return

    from evctl.cli.main import app

    app(prog_name="evctl")


if __name__ == "__main__":
    main()
