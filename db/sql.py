"""Small helpers for writing SQL text: quoted identifiers and numbered parameters."""

from __future__ import annotations

from typing import Any


def ident(name: str) -> str:
    """A quoted identifier (the attribute columns keep their CSV names, camelCase included)."""
    return '"' + name.replace('"', '""') + '"'


class Params:
    """Positional parameters of one statement: each value gets the next $n, with a cast so its type is known."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"
