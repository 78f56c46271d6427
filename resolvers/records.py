"""The records behind every summary number (drill-downs) and an entity's history, within the caller's tenant."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace

from db.entities_read import EntityRow
from db.entity_history import HistoryCursor, count_history, history_page
from db.outcomes import (
    COLUMN_OUTCOMES,
    OUTCOME_NAMES,
    TYPE_OF_CODE,
    OutcomeCursor,
    OutcomeRecord,
    count_records,
    with_field_changes,
)
from db.outcomes import page_records as page_outcomes
from db.syncs import SyncRow
from oneroster_csv.model import DataType
from resolvers.context import Context
from resolvers.errors import BadInputError, DomainError
from resolvers.loaders import EntityKey
from resolvers.pagination import Page, check_first, decode_position, encode_cursor

IMPORT_COLUMNS = frozenset(COLUMN_OUTCOMES)  # TOTAL, the outcomes, DUPLICATES and INVALID
EXPORT_COLUMNS = frozenset({"TOTAL", "SKIPPED_BY_PROVIDER", "GRANTED_BY_PROVIDER", "SKIPPED_BY_VENDOR",
                            "RECEIVED_BY_VENDOR"})  # fmt: skip


@dataclass(frozen=True)
class RecordKey:
    """What identifies a record of a sync for `node(id:)`: the sync and the record's drill-down position."""

    sync_id: int
    position: OutcomeCursor

    def encode(self) -> str:
        return self.text(self.sync_id, self.position.encode())

    @staticmethod
    def text(sync_id: int, position: str) -> str:
        """The encoding of a key from its sync and its position already encoded."""
        return f"{sync_id}:{position}"

    @classmethod
    def decode(cls, text: str) -> RecordKey | None:
        sync_id, _, position = text.partition(":")
        if not sync_id.isdigit():
            return None
        try:
            return cls(int(sync_id), OutcomeCursor.decode(position))
        except ValueError:
            return None


@dataclass(slots=True)  # not frozen: a frozen dataclass is six times slower to make, and a page makes 100
class SyncRecord:
    """A record of a sync as the API shows it."""

    sync_id: int
    record: OutcomeRecord
    # A drill-down page reads its records without field changes; `complete_records` adds them when they are asked for.
    changes_pending: bool = False
    position: str | None = None  # the record's encoded cursor, when the page encoded it already (for its edge)

    @property
    def key_text(self) -> str:
        """The record's encoded RecordKey (its id), from the encoded position when the page has it."""
        position = self.record.cursor.encode() if self.position is None else self.position
        return RecordKey.text(self.sync_id, position)


def check_column(sync: SyncRow, column: str) -> None:
    """The column must be one of the sync kind's summary columns; export drill-downs are not stored yet."""
    if sync.kind == "EXPORT":
        if column not in EXPORT_COLUMNS:
            raise BadInputError(f"{column} is not a column of an export sync's summary.")
        raise DomainError("The records of export syncs are not available yet.", code="NOT_IMPLEMENTED")
    if column not in IMPORT_COLUMNS:
        raise BadInputError(f"{column} is not a column of an import sync's summary.")


async def sync_records(
    ctx: Context,
    sync: SyncRow,
    *,
    first: int,
    after: str | None = None,
    data_type: DataType | None = None,
    column: str = "TOTAL",
    school_id: str | None = None,
) -> Page[SyncRecord]:
    """One page of the records a summary column lists (one type or all, sync-wide or one school's)."""
    tenant_id = ctx.require().tenant_id
    check_first(first)
    check_column(sync, column)
    position = decode_position("r", after, OutcomeCursor.decode)
    async with ctx.pool.acquire() as conn:
        records = await page_outcomes(conn, tenant_id, sync.id, data_type=data_type, column=column,
                                      school_id=school_id, after=position, limit=first + 1,
                                      with_changes=False, scope=sync.scope)  # fmt: skip
    records, has_next = records[:first], len(records) > first

    async def count() -> int:
        async with ctx.pool.acquire() as conn:
            return await count_records(conn, tenant_id, sync.id, data_type=data_type, column=column,
                                       school_id=school_id)  # fmt: skip

    positions = [r.cursor.encode() for r in records]
    items = [SyncRecord(sync.id, r, True, position) for r, position in zip(records, positions, strict=True)]
    return Page(items, [encode_cursor("r", position) for position in positions], has_next, count)


async def complete_records(ctx: Context, items: list[SyncRecord]) -> list[SyncRecord]:
    """The items with the field changes of their UPDATED records: one statement per sync and data type, none when no
    item lacks them."""
    by_sync: dict[int, list[OutcomeRecord]] = {}
    for item in items:
        if item.changes_pending and item.record.outcome == "UPDATED":
            by_sync.setdefault(item.sync_id, []).append(item.record)
    if not by_sync:
        return items
    tenant_id = ctx.require().tenant_id
    completed: dict[tuple[int, OutcomeCursor], OutcomeRecord] = {}
    async with ctx.pool.acquire() as conn:
        for sync_id, records in by_sync.items():
            for record in await with_field_changes(conn, tenant_id, sync_id, records):
                completed[(sync_id, record.cursor)] = record
    return [
        replace(item, record=completed.get((item.sync_id, item.record.cursor), item.record), changes_pending=False)
        for item in items
    ]


async def record_entities(ctx: Context, items: list[SyncRecord]) -> list[EntityRow | None]:
    """The entities in Data Browsing of the items (none for rows that never became one), in order: a record read
    from its entity's current version is its entity (a drill-down of the latest sync reads nothing more); the others
    are one loader call."""
    found: dict[EntityKey, EntityRow | None] = {}
    for item in items:
        record = item.record
        if record.current:
            key = (record.data_type, record.sourced_id)
            found[key] = EntityRow(*key, record.outcome == "DELETED", record.attributes, record.schools)
    keys = list(dict.fromkeys((i.record.data_type, i.record.sourced_id) for i in items if i.record.sourced_id))
    missing = [key for key in keys if key not in found]
    if missing:
        found.update(zip(missing, await ctx.loaders.entity.load_many(missing), strict=True))
    return [found[key] for key in keys]


async def record_by_key(ctx: Context, key: RecordKey) -> SyncRecord | None:
    """The record at exactly this position of a sync of the caller's tenant, or None."""
    tenant_id = ctx.require().tenant_id
    position = key.position
    data_type = TYPE_OF_CODE.get(position.data_type)
    outcome = OUTCOME_NAMES.get(position.outcome)
    sync = await ctx.loaders.sync.load(key.sync_id)
    if sync is None or sync.kind != "IMPORT" or data_type is None or outcome is None:
        return None
    # The first record of that outcome after the position just before it is the record, when it exists.
    before = OutcomeCursor(position.data_type, position.sourced_id, position.line, position.outcome - 1)
    async with ctx.pool.acquire() as conn:
        found = await page_outcomes(conn, tenant_id, sync.id, data_type=data_type, column=outcome, after=before,
                                    limit=1)  # fmt: skip
    if not found or found[0].cursor != position:
        return None
    return SyncRecord(sync.id, found[0])


async def records_by_keys(ctx: Context, node_ids: Iterable[str]) -> list[SyncRecord | None]:
    async def one(node_id: str) -> SyncRecord | None:
        key = RecordKey.decode(node_id)
        return None if key is None else await record_by_key(ctx, key)

    return list(await asyncio.gather(*(one(i) for i in node_ids)))


async def entity_history(
    ctx: Context, data_type: DataType, sourced_id: str, *, first: int, after: str | None = None
) -> Page[SyncRecord]:
    """One page of an entity's records across syncs, newest sync first."""
    tenant_id = ctx.require().tenant_id
    check_first(first)
    position = decode_position("h", after, HistoryCursor.decode)
    entries = await history_page(ctx.pool, tenant_id, data_type, sourced_id, after=position, limit=first + 1)
    entries, has_next = entries[:first], len(entries) > first

    async def count() -> int:
        return await count_history(ctx.pool, tenant_id, data_type, sourced_id)

    items = [SyncRecord(e.sync_id, e.record) for e in entries]
    return Page(items, [encode_cursor("h", e.cursor.encode()) for e in entries], has_next, count)
