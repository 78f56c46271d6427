"""DataLoaders: one SQL statement per relation per request, whatever the page size, scoped to one tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from strawberry.dataloader import DataLoader

from db.apps import AppRow, apps_by_ids
from db.syncs import SyncRow, previous_sync_ids, syncs_by_ids

Row = TypeVar("Row", AppRow, SyncRow)


def _by_id(fetch: Callable[[Sequence[int]], Awaitable[list[Row]]]) -> DataLoader[int, Row | None]:
    async def load(ids: list[int]) -> list[Row | None]:
        found = {row.id: row for row in await fetch(ids)}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, pool: asyncpg.Pool, tenant_id: int) -> None:
        self.app: DataLoader[int, AppRow | None] = _by_id(lambda ids: apps_by_ids(pool, tenant_id, ids))
        self.sync: DataLoader[int, SyncRow | None] = _by_id(lambda ids: syncs_by_ids(pool, tenant_id, ids))

        async def load_previous(ids: list[int]) -> list[int | None]:
            found = await previous_sync_ids(pool, tenant_id, ids)
            return [found.get(i) for i in ids]

        self.previous_sync_id: DataLoader[int, int | None] = DataLoader(load_fn=load_previous)
