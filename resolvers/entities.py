"""Data Browsing: current entities, their references and the entities that reference them, within the tenant."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.relay import GlobalID, GlobalIDValueError

from db.entities_read import EntityFilter, EntityRow, count_entities, page_entities
from db.entities_read import entity_with_targets as db_entity_with_targets
from oneroster_csv.model import DataType
from resolvers.context import Context
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor


def entity_key(data_type: DataType, sourced_id: str) -> str:
    """The local part of an Entity's global id."""
    return f"{data_type.name}:{sourced_id}"


def parse_entity_key(text: str) -> tuple[DataType, str] | None:
    name, _, sourced_id = text.partition(":")
    if name not in DataType.__members__ or not sourced_id:
        return None
    return DataType[name], sourced_id


def school_sourced_id(school_id: str) -> str:
    """A `schoolId` argument: the global id of a school (an org Entity), or the school's sourcedId itself."""
    try:
        decoded = GlobalID.from_id(school_id)
    except GlobalIDValueError:
        return school_id
    key = parse_entity_key(decoded.node_id) if decoded.type_name == "Entity" else None
    if key is None or key[0] is not DataType.ORGS:
        return school_id
    return key[1]


async def entity_by_key(ctx: Context, data_type: DataType, sourced_id: str) -> EntityRow | None:
    ctx.require()
    return await ctx.loaders.entity.load((data_type, sourced_id))


async def entity_with_targets(
    ctx: Context, data_type: DataType, sourced_id: str
) -> tuple[EntityRow | None, list[EntityRow]]:
    """One entity and the entities it references, in one statement."""
    return await db_entity_with_targets(ctx.pool, ctx.require().tenant_id, data_type, sourced_id)


async def entities_by_ids(ctx: Context, node_ids: Iterable[str]) -> list[EntityRow | None]:
    keys = [parse_entity_key(i) for i in node_ids]
    found = await ctx.loaders.entity.load_many([k for k in keys if k is not None])
    rows = iter(found)
    return [None if k is None else next(rows) for k in keys]


async def entities_by_keys(ctx: Context, keys: list[tuple[DataType, str]]) -> list[EntityRow | None]:
    return await ctx.loaders.entity.load_many(keys)


async def entity_page(
    ctx: Context,
    data_type: DataType,
    *,
    first: int,
    after: str | None = None,
    search: str | None = None,
    school_id: str | None = None,
    include_deleted: bool = False,
    referenced: tuple[DataType, str] | None = None,
) -> Page[EntityRow]:
    """One page of current entities of a type in sourcedId order: all of them, those matching `search` or of a
    school, or (`referenced`) those whose reference columns point to an entity."""
    tenant_id = ctx.require().tenant_id
    check_first(first)
    where = EntityFilter(tenant_id, data_type, search=search or None,
                         school_id=None if school_id is None else school_sourced_id(school_id),
                         include_deleted=include_deleted, referenced=referenced)  # fmt: skip
    position = None if after is None else decode_cursor("e", after)
    rows = await page_entities(ctx.pool, where, after=position, limit=first + 1)
    rows, has_next = rows[:first], len(rows) > first
    ctx.loaders.entity.prime_many({(row.data_type, row.sourced_id): row for row in rows})

    async def count() -> int:
        return await count_entities(ctx.pool, where)

    return Page(rows, [encode_cursor("e", row.sourced_id) for row in rows], has_next, count)
