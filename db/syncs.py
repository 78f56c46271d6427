"""Syncs: the history list, keyset-paginated newest first, and single-sync reads and writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from db.apps import APP_COLUMNS, AppRow, app_row
from db.pool import Executor
from db.sync_scope import SCOPE_COLUMNS, SyncScope, scope_of

STATUSES = ("QUEUED", "RUNNING", "HELD", "SUCCEEDED", "FAILED", "CANCELLED", "DISCARDED")
ACTIVE_STATUSES = frozenset({"QUEUED", "RUNNING"})  # still to run or running; HELD has stopped, awaiting a decision
FINISHED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "DISCARDED"})


@dataclass(frozen=True, slots=True)
class SyncRow:
    tenant_id: int
    id: int
    app_id: int
    kind: str
    status: str
    dry_run: bool
    initiated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    record_count: int
    error_count: int
    warning_count: int
    failure_code: str | None
    failure_message: str | None
    hold: dict[str, Any] | None
    progress_phase: str
    progress_processed: int
    progress_total: int | None
    # Where its records live, when read with it (syncs_by_ids: a drill-down then needs no statement of its own).
    scope: SyncScope | None = None


_FIELDS = [name for name in SyncRow.__dataclass_fields__ if name != "scope"]
_COLUMNS = ", ".join(f"s.{name}" for name in _FIELDS)
_WIDTH = len(_FIELDS)


def _row(record: asyncpg.Record, scope: SyncScope | None = None) -> SyncRow:
    values: list[Any] = [*record[:_WIDTH], scope]  # the columns are selected in the fields' order (_COLUMNS)
    return SyncRow(*values)


@dataclass(frozen=True, slots=True)
class SyncFilter:
    """Which syncs of a tenant the history shows: those of installed apps, optionally narrowed."""

    tenant_id: int
    app_ids: Sequence[int] | None = None
    kind: str | None = None
    statuses: Sequence[str] | None = None

    def where(self, params: list[Any]) -> str:
        """SQL predicates over `syncs s JOIN apps a`, appending their parameters to `params`."""
        params.append(self.tenant_id)
        clauses = [f"s.tenant_id = ${len(params)}", "a.uninstalled_at IS NULL"]
        if self.app_ids is not None:
            params.append(list(self.app_ids))
            clauses.append(f"s.app_id = ANY(${len(params)}::bigint[])")
        if self.kind is not None:
            params.append(self.kind)
            clauses.append(f"s.kind = ${len(params)}")
        if self.statuses is not None:
            params.append(list(self.statuses))
            clauses.append(f"s.status = ANY(${len(params)}::text[])")
        return " AND ".join(clauses)


_FROM = "FROM syncs s JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id"


async def page_syncs(
    conn: Executor,
    where: SyncFilter,
    *,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> list[tuple[SyncRow, AppRow]]:
    """Up to `limit` syncs newest first, strictly after the keyset position `after` (initiated_at, id), each with its
    app (the join that leaves out uninstalled apps' syncs reads it anyway).

    Keyset, not offset: syncs created while a client pages appear before its first page, never shift later pages.
    """
    params: list[Any] = []
    sql = f"SELECT {_COLUMNS}, {APP_COLUMNS} {_FROM} WHERE {where.where(params)}"
    if after is not None:
        params.extend(after)
        sql += f" AND (s.initiated_at, s.id) < (${len(params) - 1}, ${len(params)})"
    params.append(limit)
    sql += f" ORDER BY s.initiated_at DESC, s.id DESC LIMIT ${len(params)}"
    return [(_row(r), app_row(r[_WIDTH:])) for r in await conn.fetch(sql, *params)]


async def count_syncs(conn: Executor, where: SyncFilter) -> int:
    params: list[Any] = []
    count: int = await conn.fetchval(f"SELECT count(*) {_FROM} WHERE {where.where(params)}", *params)
    return count


async def syncs_by_ids(conn: Executor, tenant_id: int, ids: Sequence[int]) -> list[SyncRow]:
    """The syncs of this tenant among `ids`, each with its scope."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS}, {SCOPE_COLUMNS} FROM syncs s WHERE s.tenant_id = $1 AND s.id = ANY($2::bigint[])",
        tenant_id, list(ids),
    )  # fmt: skip
    return [_row(r, scope_of(r)) for r in records]


async def previous_sync_ids(conn: Executor, tenant_id: int, ids: Sequence[int]) -> dict[int, int]:
    """For each sync id, the id of the same app's sync initiated just before it (absent when it is the first)."""
    records = await conn.fetch(
        """SELECT cur.id, prev.id AS previous_id
           FROM syncs cur
           CROSS JOIN LATERAL (
               SELECT p.id FROM syncs p
               WHERE p.tenant_id = cur.tenant_id AND p.app_id = cur.app_id
                 AND (p.initiated_at, p.id) < (cur.initiated_at, cur.id)
               ORDER BY p.initiated_at DESC, p.id DESC LIMIT 1) prev
           WHERE cur.tenant_id = $1 AND cur.id = ANY($2::bigint[])""",
        tenant_id, list(ids),
    )  # fmt: skip
    return {r["id"]: r["previous_id"] for r in records}


async def insert_sync(
    conn: Executor,
    tenant_id: int,
    app_id: int,
    *,
    dry_run: bool = False,
    upload_key: str | None = None,
    kind: str | None = None,
) -> SyncRow:
    """A new QUEUED sync of an installed app of this tenant (its kind is the app's, which must be `kind` if given)."""
    record = await conn.fetchrow(
        f"""WITH s AS (
                INSERT INTO syncs (tenant_id, app_id, kind, dry_run, upload_key)
                SELECT tenant_id, id, kind, $3, $4 FROM apps
                WHERE tenant_id = $1 AND id = $2 AND uninstalled_at IS NULL AND kind = coalesce($5, kind)
                RETURNING *)
            SELECT {_COLUMNS} FROM s""",
        tenant_id, app_id, dry_run, upload_key, kind,
    )  # fmt: skip
    if record is None:
        raise LookupError(f"no installed {(kind or '').lower()} app {app_id} for this tenant".replace("  ", " "))
    return _row(record)


# `UPDATE syncs s SET ... <this>`: sync $2 of tenant $1 while RUNNING, unless the sync's own transaction holds its
# row (it is finishing): then the write is dropped rather than waited for, so a worker's bookkeeping never blocks
# the import it is about.
_RUNNING_ROW_UNLESS_LOCKED = """
    FROM (SELECT tenant_id, id FROM syncs WHERE tenant_id = $1 AND id = $2 AND status = 'RUNNING'
          FOR NO KEY UPDATE SKIP LOCKED) locked
    WHERE s.tenant_id = locked.tenant_id AND s.id = locked.id"""


async def store_progress(
    conn: Executor, tenant_id: int, sync_id: int, phase: str, processed: int, total: int | None
) -> bool | None:
    """Store a RUNNING sync's progress snapshot (renewing its lease); True when a cancel was requested, None when
    nothing was stored."""
    cancel_requested: bool | None = await conn.fetchval(
        f"""UPDATE syncs s SET progress_phase = $3, progress_processed = $4, progress_total = $5,
                   progress_at = clock_timestamp() {_RUNNING_ROW_UNLESS_LOCKED}
            RETURNING s.cancel_requested_at IS NOT NULL""",
        tenant_id, sync_id, phase, processed, total,
    )  # fmt: skip
    return cancel_requested


async def renew_lease(conn: Executor, tenant_id: int, sync_id: int) -> None:
    """Tell other deliveries of the sync's message that its worker is alive."""
    await conn.execute(
        f"UPDATE syncs s SET progress_at = clock_timestamp() {_RUNNING_ROW_UNLESS_LOCKED}", tenant_id, sync_id
    )


async def sync_row(conn: Executor, tenant_id: int, sync_id: int) -> SyncRow | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM syncs s WHERE s.tenant_id = $1 AND s.id = $2",
                                 tenant_id, sync_id)  # fmt: skip
    return None if record is None else _row(record)


async def changed_syncs(conn: Executor, tenant_id: int, since: datetime) -> tuple[list[SyncRow], datetime]:
    """The tenant's syncs created or changed (started, progressed, finished) after `since`, oldest change first, and
    the time of this reading (the next `since`)."""
    now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    records = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM syncs s
            WHERE s.tenant_id = $1
              AND greatest(s.initiated_at, s.started_at, s.finished_at, s.progress_at) > $2
            ORDER BY greatest(s.initiated_at, s.started_at, s.finished_at, s.progress_at), s.id""",
        tenant_id, since,
    )  # fmt: skip
    return [_row(r) for r in records], now
