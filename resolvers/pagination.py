"""Keyset cursors and the `first` bound shared by every connection."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from resolvers.errors import BadInputError

MAX_PAGE = 100
NOT_A_CURSOR = "`after` is not a cursor returned by this connection."
Item = TypeVar("Item")
Position = TypeVar("Position")


def check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise BadInputError(f"`first` must be between 1 and {MAX_PAGE}, got {first}.")
    return first


def encode_time_cursor(at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode()


def decode_time_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadInputError(NOT_A_CURSOR) from exc


def encode_cursor(kind: str, text: str) -> str:
    """An opaque cursor: base64 of "kind:text", `kind` naming the connection it belongs to."""
    return base64.urlsafe_b64encode(f"{kind}:{text}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> str:
    """The text inside a cursor of `kind`; anything else is a user error."""
    try:
        found, _, text = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadInputError(NOT_A_CURSOR) from exc
    if found != kind:
        raise BadInputError(NOT_A_CURSOR)
    return text


def decode_position(kind: str, cursor: str | None, parse: Callable[[str], Position]) -> Position | None:
    """The keyset position inside a cursor of `kind` (None for no cursor); `parse` raises ValueError on bad text."""
    if cursor is None:
        return None
    try:
        return parse(decode_cursor(kind, cursor))
    except ValueError as exc:
        raise BadInputError(NOT_A_CURSOR) from exc


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One keyset page of a connection: its items with their cursors, and how to count all matches (lazily, only
    when the client asks for totalCount)."""

    items: list[Item]
    cursors: list[str]
    has_next_page: bool
    count: Callable[[], Awaitable[int]]


async def _zero() -> int:
    return 0


def empty_page() -> Page[Any]:
    return Page([], [], False, _zero)
