"""Typer commands: parse, build the context, call core, render. No AWS logic lives here."""
