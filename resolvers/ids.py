"""Global (Relay) ids: opaque base64 of "Type:local-id"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from strawberry.dataloader import DataLoader
from strawberry.relay import GlobalID, GlobalIDValueError

from resolvers.errors import BadInputError


def decode_id(global_id: str, type_name: str) -> int:
    """The numeric id inside a global id of `type_name`; a malformed or foreign-typed id is a user error."""
    try:
        decoded = GlobalID.from_id(global_id)
    except GlobalIDValueError as exc:
        raise BadInputError(f"{global_id!r} is not a valid id.") from exc
    if decoded.type_name != type_name or not decoded.node_id.isdigit():
        raise BadInputError(f"{global_id!r} is not the id of a {type_name}.")
    return int(decoded.node_id)


Row = TypeVar("Row")


async def load_by_local_ids(loader: DataLoader[int, Row | None], node_ids: Iterable[str]) -> list[Row | None]:
    """Rows for the local parts of global ids (as `node(id:)` passes them); a non-numeric id finds nothing."""
    ids = list(node_ids)
    numeric = [int(i) for i in ids if i.isdigit()]
    found = dict(zip(numeric, await loader.load_many(numeric), strict=True))
    return [found.get(int(i)) if i.isdigit() else None for i in ids]
