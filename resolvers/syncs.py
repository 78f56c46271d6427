"""The sync history: keyset pages, counts and single syncs, always within the caller's tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from db.apps import AppRow
from db.syncs import SyncFilter, SyncRow, count_syncs, page_syncs, sync_row
from resolvers.context import Context
from resolvers.ids import decode_id, load_by_local_ids
from resolvers.pagination import check_first, decode_time_cursor, encode_time_cursor


@dataclass(frozen=True)
class SyncPage:
    rows: list[SyncRow]
    cursors: list[str]
    has_next_page: bool
    filter: SyncFilter
    apps: dict[int, AppRow]  # the apps of the page's syncs, read with them


async def sync_page(
    ctx: Context,
    *,
    first: int,
    after: str | None = None,
    app_ids: Sequence[str] | None = None,
    app_id: int | None = None,
    kind: str | None = None,
    statuses: Sequence[str] | None = None,
) -> SyncPage:
    """One page of the history, newest first; `app_ids` are global ids, `app_id` an already-decoded one."""
    tenant_id = ctx.require().tenant_id
    check_first(first)
    ids = None if app_ids is None else [decode_id(i, "App") for i in app_ids]
    if app_id is not None:
        ids = [app_id]
    where = SyncFilter(tenant_id=tenant_id, app_ids=ids, kind=kind, statuses=statuses)
    position = None if after is None else decode_time_cursor(after)
    found = await page_syncs(ctx.pool, where, limit=first + 1, after=position)
    found, has_next = found[:first], len(found) > first
    rows = [row for row, _ in found]
    apps = {app.id: app for _, app in found}
    return SyncPage(rows, [encode_time_cursor(r.initiated_at, r.id) for r in rows], has_next, where, apps)


async def sync_total(ctx: Context, where: SyncFilter) -> int:
    return await count_syncs(ctx.pool, where)


async def sync_by_id(ctx: Context, sync_id: int | None) -> SyncRow | None:
    return None if sync_id is None else await ctx.loaders.sync.load(sync_id)


async def syncs_by_ids(ctx: Context, node_ids: Iterable[str]) -> list[SyncRow | None]:
    """Syncs by the local ids of global ids, None where not found in the caller's tenant."""
    return await load_by_local_ids(ctx.loaders.sync, node_ids)


async def previous_sync(ctx: Context, sync_id: int) -> SyncRow | None:
    return await sync_by_id(ctx, await ctx.loaders.previous_sync_id.load(sync_id))


async def current_sync(ctx: Context, sync_id: int) -> SyncRow | None:
    """The sync as it is now, bypassing the loaders' cache, whose rows are forgotten too: a WebSocket context lives as
    long as its connection, and each subscription event must read the current state."""
    ctx.fresh_loaders()
    return await sync_row(ctx.pool, ctx.require().tenant_id, sync_id)
