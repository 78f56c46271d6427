"""Sync bookkeeping of an import: the tenant's import lock, status changes, summaries and explicit outcomes."""

from __future__ import annotations

from typing import Any

import polars as pl

from db.entities import copy_frame
from db.pool import Connection

# Namespace of the per-tenant import lock among advisory locks (two-int form: namespace, tenant id).
IMPORT_LOCK_NAMESPACE = 0x0E5F


async def lock_tenant_imports(conn: Connection, tenant_id: int) -> None:
    """Wait for the tenant's previous imports to finish; held until the transaction ends (one import at a time)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1::int, $2::int)", IMPORT_LOCK_NAMESPACE, tenant_id)


async def last_applied_seq(conn: Connection, tenant_id: int) -> int:
    seq: int | None = await conn.fetchval(
        "SELECT max(applied_seq) FROM syncs WHERE tenant_id = $1 AND applied_seq IS NOT NULL", tenant_id
    )
    return seq or 0


async def next_applied_seq(conn: Connection) -> int:
    seq: int = await conn.fetchval("SELECT nextval('apply_seq')")
    return seq


async def mark_running(conn: Connection, tenant_id: int, sync_id: int, options: dict[str, Any]) -> bool:
    """QUEUED/RUNNING -> RUNNING; False when the sync is already finished (a redelivered message)."""
    row = await conn.fetchrow(
        """UPDATE syncs SET status = 'RUNNING', started_at = coalesce(started_at, clock_timestamp()),
                  attempts = attempts + 1, options = $3, progress_phase = 'parsing'
           WHERE tenant_id = $1 AND id = $2 AND status IN ('QUEUED', 'RUNNING') RETURNING id""",
        tenant_id, sync_id, options,
    )  # fmt: skip
    return row is not None


async def finish_sync(
    conn: Connection,
    tenant_id: int,
    sync_id: int,
    *,
    status: str,
    counts: dict[str, int] | None = None,
    applied_seq: int | None = None,
    base_seq: int | None = None,
    hold: dict[str, Any] | None = None,
    failure: tuple[str, str] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> None:
    counts = counts or {}
    await conn.execute(
        """UPDATE syncs SET status = $3, finished_at = CASE WHEN $3 = 'HELD' THEN NULL ELSE clock_timestamp() END,
                  record_count = $4, error_count = $5, warning_count = $6, applied_seq = $7, base_seq = $8,
                  hold = $9, failure_code = $10, failure_message = $11, findings = $12,
                  progress_phase = lower($3), progress_processed = coalesce(progress_total, $13)
           WHERE tenant_id = $1 AND id = $2""",
        tenant_id, sync_id, status, counts.get("records", 0), counts.get("errors", 0), counts.get("warnings", 0),
        applied_seq, base_seq, hold, failure[0] if failure else None, failure[1] if failure else None, findings,
        counts.get("records", 0),
    )  # fmt: skip


async def fail_sync(conn: Connection, tenant_id: int, sync_id: int, code: str, message: str) -> None:
    await finish_sync(conn, tenant_id, sync_id, status="FAILED", failure=(code, message))


SUMMARY_COLUMNS = ("school_id", "data_type", "total", "no_change", "new", "updated", "deleted", "skipped", "merged",
                   "excluded", "invalid")  # fmt: skip


async def write_summaries(
    conn: Connection, tenant_id: int, sync_id: int, summaries: pl.DataFrame, modes: dict[int, str]
) -> None:
    """Store the per-type counts, sync-wide (school_id '') and per school; replaces any earlier ones of the sync."""
    await conn.execute("DELETE FROM sync_summaries WHERE tenant_id = $1 AND sync_id = $2", tenant_id, sync_id)
    frame = summaries.select(SUMMARY_COLUMNS).with_columns(
        pl.lit(tenant_id).alias("tenant_id"),
        pl.lit(sync_id).alias("sync_id"),
        pl.when(pl.col("school_id") == "")
        .then(pl.col("data_type").replace_strict(modes, default=None, return_dtype=pl.String))
        .otherwise(None)
        .alias("file_mode"),
    )
    await copy_frame(conn, "sync_summaries", frame)


async def delete_explicit_outcomes(conn: Connection, tenant_id: int, sync_id: int) -> None:
    await conn.execute("DELETE FROM record_outcomes WHERE tenant_id = $1 AND sync_id = $2", tenant_id, sync_id)


async def read_summaries(conn: Connection, tenant_id: int, sync_id: int) -> pl.DataFrame:
    records = await conn.fetch(
        f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM sync_summaries WHERE tenant_id = $1 AND sync_id = $2",
        tenant_id, sync_id,
    )  # fmt: skip
    schema = {c: (pl.String if c == "school_id" else pl.Int16 if c == "data_type" else pl.Int64)
              for c in SUMMARY_COLUMNS}  # fmt: skip
    return pl.DataFrame([tuple(r) for r in records], schema=schema, orient="row")


async def discard_held(conn: Connection, tenant_id: int, sync_id: int) -> bool:
    """HELD -> DISCARDED: nothing applied, its summary and drill-downs stay readable. False when not HELD."""
    status = await conn.execute(
        """UPDATE syncs SET status = 'DISCARDED', finished_at = clock_timestamp(), progress_phase = 'discarded'
           WHERE tenant_id = $1 AND id = $2 AND status = 'HELD'""",
        tenant_id, sync_id,
    )  # fmt: skip
    return status.endswith(" 1")
