"""Where a sync's records live (see db/outcomes.py): whether it applied versions, and at which sequence number, and
which of its files were bulk files.

Read with the sync's row where one is read anyway (SCOPE_COLUMNS in a statement over `syncs s`), else on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from db.field_changes import jsonb_value
from db.pool import Connection


@dataclass(frozen=True)
class SyncScope:
    """What decides where a sync's records live (read with the sync's row: SCOPE_COLUMNS)."""

    applied_seq: int | None  # None: the sync applied nothing, every outcome is explicit
    bulk_types: frozenset[int]


# The scope's columns in a statement over `syncs s`: applied_seq and the type codes of its bulk files, from the
# sync-wide summary rows.
SCOPE_COLUMNS = (
    "s.applied_seq AS scope_applied_seq, (SELECT coalesce(jsonb_agg(ss.data_type), '[]') FROM sync_summaries ss "
    "WHERE ss.tenant_id = s.tenant_id AND ss.sync_id = s.id AND ss.school_id = '' AND ss.file_mode = 'bulk') "
    "AS scope_bulk_types"
)


def scope_of(record: Any) -> SyncScope:
    """The scope from the SCOPE_COLUMNS of a record."""
    bulk = frozenset(int(code) for code in jsonb_value(record["scope_bulk_types"]))
    return SyncScope(record["scope_applied_seq"], bulk)


async def read_scope(conn: Connection, tenant_id: int, sync_id: int) -> SyncScope | None:
    record = await conn.fetchrow(f"SELECT {SCOPE_COLUMNS} FROM syncs s WHERE s.tenant_id = $1 AND s.id = $2",
                                 tenant_id, sync_id)  # fmt: skip
    return None if record is None else scope_of(record)
