"""Keyset cursors and the `first` bound shared by every connection."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from resolvers.errors import BadInputError

MAX_PAGE = 100


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
        raise BadInputError("`after` is not a cursor returned by this connection.") from exc
