"""Naming a JSON value's type in error messages ("Detail must be a JSON object, not an array")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def describe_json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
