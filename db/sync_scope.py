"""Where a sync's records live (see db/outcomes.py): whether it applied versions, and at which sequence number, which
of its files were bulk files, and its sync-wide counts, a hint for how to walk each part.

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
    # Sync-wide summary numbers per type code: only a hint for choosing how to walk a part, never a count.
    hints: dict[int, dict[str, int]]


_HINTS = ("total", "no_change", "new", "updated", "deleted", "skipped", "merged", "excluded", "invalid")
# The scope's columns in a statement over `syncs s`: applied_seq and the sync-wide summary rows as a jsonb array.
SCOPE_COLUMNS = (
    "s.applied_seq AS scope_applied_seq, (SELECT coalesce(jsonb_agg(jsonb_build_array(ss.data_type, ss.file_mode, "
    + ", ".join(f"ss.{name}" for name in _HINTS)
    + ")), '[]') FROM sync_summaries ss WHERE ss.tenant_id = s.tenant_id AND ss.sync_id = s.id "
    "AND ss.school_id = '') AS scope_summaries"
)


def scope_of(record: Any) -> SyncScope:
    """The scope from the SCOPE_COLUMNS of a record."""
    summaries = jsonb_value(record["scope_summaries"])
    bulk = frozenset(int(row[0]) for row in summaries if row[1] == "bulk")
    hints = {int(row[0]): dict(zip(_HINTS, map(int, row[2:]), strict=True)) for row in summaries}
    return SyncScope(record["scope_applied_seq"], bulk, hints)


async def read_scope(conn: Connection, tenant_id: int, sync_id: int) -> SyncScope | None:
    record = await conn.fetchrow(f"SELECT {SCOPE_COLUMNS} FROM syncs s WHERE s.tenant_id = $1 AND s.id = $2",
                                 tenant_id, sync_id)  # fmt: skip
    return None if record is None else scope_of(record)
