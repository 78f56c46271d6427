"""A sync's stored summaries, sync-wide and per school (never recounted), within the caller's tenant."""

from __future__ import annotations

from db.entities_read import SummaryRow, count_schools, school_summaries_page
from db.syncs import SyncRow
from resolvers.context import Context
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor


async def sync_summaries(ctx: Context, sync: SyncRow) -> list[SummaryRow]:
    """The sync-wide summary row of every data type in the sync, in data type order."""
    return await ctx.loaders.summaries.load(sync.id)


async def school_page(
    ctx: Context, sync: SyncRow, *, first: int, after: str | None = None
) -> Page[tuple[str, list[SummaryRow]]]:
    """One page of the sync's schools in school id order, each with its summary rows."""
    tenant_id = ctx.require().tenant_id
    check_first(first)
    position = None if after is None else decode_cursor("s", after)
    schools = await school_summaries_page(ctx.pool, tenant_id, sync.id, after=position, limit=first + 1)
    schools, has_next = schools[:first], len(schools) > first

    async def count() -> int:
        return await count_schools(ctx.pool, tenant_id, sync.id)

    return Page(schools, [encode_cursor("s", school) for school, _ in schools], has_next, count)
