"""Sync bookkeeping of an import: the tenant's import lock, status changes, summaries and explicit outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

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


async def recorded_hash_scheme(conn: Connection, name: str, fingerprint: int, polars_version: str) -> tuple[int, str]:
    """The fingerprint and polars version recorded for the hash scheme `name`, recording these if none is yet."""
    await conn.execute(
        """INSERT INTO hash_schemes (name, fingerprint, polars_version) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO NOTHING""",
        name, fingerprint, polars_version,
    )  # fmt: skip
    row = await conn.fetchrow("SELECT fingerprint, polars_version FROM hash_schemes WHERE name = $1", name)
    assert row is not None
    return row["fingerprint"], row["polars_version"]


async def data_token(conn: Connection, tenant_id: int) -> UUID | None:
    """The token naming the current state of the tenant's entity data (migration 0008); read under its import lock."""
    token: UUID | None = await conn.fetchval("SELECT data_token FROM tenants WHERE id = $1", tenant_id)
    return token


async def renew_data_token(conn: Connection, tenant_id: int) -> UUID:
    """A new token for the tenant's data, in the transaction that changes it (a copy named by the old one is stale
    once this commits)."""
    token: UUID = await conn.fetchval(
        "UPDATE tenants SET data_token = gen_random_uuid() WHERE id = $1 RETURNING data_token", tenant_id
    )
    return token


async def next_applied_seq(conn: Connection) -> int:
    seq: int = await conn.fetchval("SELECT nextval('apply_seq')")
    return seq


async def mark_running(conn: Connection, tenant_id: int, sync_id: int, options: dict[str, Any]) -> bool:
    """QUEUED/RUNNING -> RUNNING; False when the sync is already finished (a redelivered message)."""
    row = await conn.fetchrow(
        """UPDATE syncs SET status = 'RUNNING', started_at = coalesce(started_at, clock_timestamp()),
                  attempts = attempts + 1, options = $3, progress_phase = 'receiving', progress_processed = 0,
                  progress_total = NULL, progress_at = clock_timestamp()
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


async def sync_status(conn: Connection, tenant_id: int, sync_id: int) -> str:
    status: str | None = await conn.fetchval(
        "SELECT status FROM syncs WHERE tenant_id = $1 AND id = $2", tenant_id, sync_id
    )
    return status or "UNKNOWN"


async def mark_cancelled(
    conn: Connection, tenant_id: int, sync_id: int, statuses: tuple[str, ...] = ("QUEUED", "RUNNING")
) -> bool:
    """-> CANCELLED, from one of `statuses` (nothing applied); False when the sync was in none of them."""
    done = await conn.execute(
        """UPDATE syncs SET status = 'CANCELLED', finished_at = clock_timestamp(), progress_phase = 'cancelled'
           WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::text[])""",
        tenant_id, sync_id, list(statuses),
    )  # fmt: skip
    return done.endswith(" 1")


@dataclass(frozen=True, slots=True)
class ImportJob:
    """What a worker needs to run an import sync: its state, its staged package and its app's settings."""

    tenant_id: int
    sync_id: int
    app_id: int
    status: str
    dry_run: bool
    attempts: int
    upload_key: str | None
    approved: bool
    settings: dict[str, Any]


async def import_job(conn: Connection, tenant_id: int, sync_id: int) -> ImportJob | None:
    record = await conn.fetchrow(
        """SELECT s.tenant_id, s.id AS sync_id, s.app_id, s.status, s.dry_run, s.attempts, s.upload_key,
                  s.approved_at IS NOT NULL AS approved, a.settings
           FROM syncs s JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id
           WHERE s.tenant_id = $1 AND s.id = $2 AND s.kind = 'IMPORT'""",
        tenant_id, sync_id,
    )  # fmt: skip
    return None if record is None else ImportJob(**dict(record))


@dataclass(frozen=True, slots=True)
class PendingSync:
    id: int
    status: str
    stale: bool  # no sign of life (queued or progress) for longer than the lease: its message may be lost


async def earlier_pending_import(
    conn: Connection, tenant_id: int, sync_id: int, lease_seconds: float
) -> PendingSync | None:
    """The oldest import of the tenant queued or running before this one: imports apply in the order they came."""
    record = await conn.fetchrow(
        """SELECT id, status,
                  coalesce(progress_at, started_at, initiated_at) < clock_timestamp() - make_interval(secs => $3)
                  AS stale
           FROM syncs
           WHERE tenant_id = $1 AND kind = 'IMPORT' AND status IN ('QUEUED', 'RUNNING') AND id < $2
           ORDER BY id LIMIT 1""",
        tenant_id, sync_id, lease_seconds,
    )  # fmt: skip
    return None if record is None else PendingSync(**dict(record))


async def lease_alive(conn: Connection, tenant_id: int, sync_id: int, lease_seconds: float) -> bool:
    """Whether a worker is running the sync now: it is RUNNING and its heartbeat is fresher than the lease."""
    alive: bool | None = await conn.fetchval(
        """SELECT status = 'RUNNING' AND progress_at > clock_timestamp() - make_interval(secs => $3)
           FROM syncs WHERE tenant_id = $1 AND id = $2""",
        tenant_id, sync_id, lease_seconds,
    )  # fmt: skip
    return bool(alive)


async def request_approval(conn: Connection, tenant_id: int, sync_id: int) -> str | None:
    """HELD -> QUEUED with approved_at, when nothing was applied since it was computed. Returns None when done, else
    why not: SYNC_NOT_HELD, HOLD_STALE or NOT_FOUND (no such sync of the tenant)."""
    status = await conn.execute(
        """UPDATE syncs s SET status = 'QUEUED', approved_at = clock_timestamp(), progress_phase = 'queued',
                  progress_processed = 0, progress_total = NULL, attempts = 0
           WHERE s.tenant_id = $1 AND s.id = $2 AND s.status = 'HELD' AND s.kind = 'IMPORT'
             AND s.base_seq = (SELECT coalesce(max(applied_seq), 0) FROM syncs
                               WHERE tenant_id = $1 AND applied_seq IS NOT NULL)""",
        tenant_id, sync_id,
    )  # fmt: skip
    if status.endswith(" 1"):
        return None
    current = await sync_status(conn, tenant_id, sync_id)
    return {"HELD": "HOLD_STALE", "UNKNOWN": "NOT_FOUND"}.get(current, "SYNC_NOT_HELD")


async def request_cancel(conn: Connection, tenant_id: int, sync_id: int) -> str | None:
    """A QUEUED sync is CANCELLED at once; a RUNNING one is asked to stop (its worker ends it CANCELLED at its next
    step, unless it is already committing). Returns None when done, else why not."""
    if await mark_cancelled(conn, tenant_id, sync_id, ("QUEUED",)):
        return None
    requested = await conn.execute(
        """UPDATE syncs SET cancel_requested_at = coalesce(cancel_requested_at, clock_timestamp())
           WHERE tenant_id = $1 AND id = $2 AND status = 'RUNNING'""",
        tenant_id, sync_id,
    )  # fmt: skip
    if requested.endswith(" 1"):
        return None
    status = await sync_status(conn, tenant_id, sync_id)
    return {"UNKNOWN": "NOT_FOUND", "HELD": "SYNC_HELD"}.get(status, "SYNC_FINISHED")
