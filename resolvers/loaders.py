"""DataLoaders: one SQL statement per relation per request, whatever the page size, scoped to one tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from strawberry.dataloader import DataLoader

from db.apps import AppRow, apps_by_ids
from db.entities_read import EntityRow, SummaryRow, entities_by_keys, sync_wide_summaries
from db.syncs import SyncRow, previous_sync_ids, syncs_by_ids
from oneroster_csv.model import DataType

Row = TypeVar("Row", AppRow, SyncRow)
EntityKey = tuple[DataType, str]


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

        async def load_summaries(ids: list[int]) -> list[list[SummaryRow]]:
            by_sync: dict[int, list[SummaryRow]] = {i: [] for i in ids}
            for row in await sync_wide_summaries(pool, tenant_id, ids):
                by_sync[row.sync_id].append(row)
            return [by_sync[i] for i in ids]

        # A sync's sync-wide summary rows, in data type order.
        self.summaries: DataLoader[int, list[SummaryRow]] = DataLoader(load_fn=load_summaries)

        async def load_entities(keys: list[EntityKey]) -> list[EntityRow | None]:
            found = await entities_by_keys(pool, tenant_id, keys)
            return [found.get(key) for key in keys]

        # The current version (deleted ones included) of an entity by (data type, sourcedId).
        self.entity: DataLoader[EntityKey, EntityRow | None] = DataLoader(load_fn=load_entities)
