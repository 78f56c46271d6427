"""`oneroster-sync import`: queue an import like an upload would, optionally follow it live, print its summary.

`--in-process` runs the engine right here instead (no worker needed; what the benchmarks compare the queue with).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import asyncpg
import polars as pl
import redis.asyncio as aioredis

from db.apps import AppRow
from db.entities import TYPE_CODES
from db.imports import read_summaries
from db.migrate import migrate
from db.pool import Connection, create_pool
from db.syncs import ACTIVE_STATUSES, insert_sync, sync_row
from db.tenants import UnknownTenant, tenant_id_by_name
from oneroster_sync.settings import Endpoints, Settings
from workers.broker import create_broker
from workers.events import RESYNC, EventHub, EventPublisher, SyncEvent
from workers.imports.engine import ImportResult, run_import
from workers.imports.key_cache import KeyCache
from workers.imports.model import ImportOptions
from workers.progress import event_of
from workers.queue import SyncQueue
from workers.submit import SyncSubmitter
from workers.uploads import UploadStore

COLUMNS = ("total", "no_change", "new", "updated", "deleted", "skipped", "merged", "excluded", "invalid")


@dataclass(frozen=True)
class ImportRequest:
    path: str
    tenant: str
    app_name: str
    dry_run: bool = False
    wait: bool = False
    in_process: bool = False


async def run_import_command(settings: Settings, endpoints: Endpoints, request: ImportRequest) -> int:
    if not Path(request.path).exists():
        print(f"oneroster-sync: {request.path} does not exist", file=sys.stderr)
        return 2
    pool = await create_pool(endpoints.database_url, min_size=1, max_size=3)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            app = await _import_app(conn, request)
        if app is None:
            return 1
        if request.in_process:
            return await _run_here(pool, app, request, KeyCache(settings.key_cache_dir))
        return await _queue(settings, endpoints, pool, app, request)
    finally:
        await pool.close()


async def _import_app(conn: Connection, request: ImportRequest) -> AppRow | None:
    try:
        tenant_id = await tenant_id_by_name(conn, request.tenant)
    except UnknownTenant as exc:
        print(f"oneroster-sync: {exc}", file=sys.stderr)
        return None
    record = await conn.fetchrow(
        "SELECT * FROM apps WHERE tenant_id = $1 AND name = $2 AND kind = 'IMPORT' AND uninstalled_at IS NULL",
        tenant_id, request.app_name,
    )  # fmt: skip
    if record is None:
        print(f"oneroster-sync: {request.tenant} has no installed import app named {request.app_name!r}",
              file=sys.stderr)  # fmt: skip
        return None
    return AppRow(**dict(record))


async def _run_here(pool: asyncpg.Pool, app: AppRow, request: ImportRequest, key_cache: KeyCache) -> int:
    sync = await insert_sync(pool, app.tenant_id, app.id, dry_run=request.dry_run)
    options = ImportOptions.from_settings(app.settings, dry_run=request.dry_run)
    result = await run_import(pool, app.tenant_id, sync.id, request.path, options, key_cache=key_cache)
    print(render_summary(result))
    return 0 if result.status in ("SUCCEEDED", "HELD") else 1


async def _queue(
    settings: Settings, endpoints: Endpoints, pool: asyncpg.Pool, app: AppRow, request: ImportRequest
) -> int:
    key = UploadStore(settings.uploads_dir).stage_path(app.tenant_id, Path(request.path))
    broker = create_broker(endpoints.redis_url, endpoints.redis_namespace)
    publisher = EventPublisher(aioredis.Redis.from_url(endpoints.redis_url), endpoints.redis_namespace)
    submitter = SyncSubmitter(pool, SyncQueue(broker), publisher)
    hub = EventHub(endpoints.redis_url, endpoints.redis_namespace)
    try:
        async with hub.subscribe(app.tenant_id) as subscription:  # listening before the sync exists: nothing missed
            row = await submitter.start_import(app.tenant_id, app.id, key, dry_run=request.dry_run)
            if not request.wait:
                print(f'{{"sync": {row.id}, "status": "{row.status}"}}')
                return 0
            bar = ProgressBar(sys.stderr)
            event = event_of(row, status_changed=True)
            while event.status in ACTIVE_STATUSES:
                bar.show(event)
                next_event = await subscription.next()
                if next_event is RESYNC:
                    current = await sync_row(pool, app.tenant_id, row.id)
                    next_event = event_of(current, status_changed=True) if current else event
                if next_event.sync_id == row.id:
                    event = next_event
            bar.show(event)
            bar.close()
        result = await _result(pool, app.tenant_id, row.id)
        print(render_summary(result))
        return 0 if result.status in ("SUCCEEDED", "HELD") else 1
    finally:
        await hub.stop()
        await publisher.close()
        broker.close()


async def _result(pool: asyncpg.Pool, tenant_id: int, sync_id: int) -> ImportResult:
    row = await sync_row(pool, tenant_id, sync_id)
    assert row is not None
    async with pool.acquire() as conn:
        summaries = await read_summaries(conn, tenant_id, sync_id)
    failure = (row.failure_code, row.failure_message or "") if row.failure_code else None
    counts = {"records": row.record_count, "errors": row.error_count, "warnings": row.warning_count}
    return ImportResult(sync_id, row.status, counts, summaries, row.hold, failure)


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; one line per phase otherwise (logs, CI)."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out = out
        self.width = width
        self.tty = out.isatty()
        self.phase = ""
        self.started = time.monotonic()

    def show(self, event: SyncEvent) -> None:
        percent = event.percent or 0.0
        filled = int(self.width * percent / 100)
        amount = f"{event.processed:,}" + (f"/{event.total:,}" if event.total else "")
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {percent:5.1f}% {event.phase:<10} {amount}"
        if self.tty:
            self.out.write(f"\r{line:<80}")
            self.out.flush()
        elif event.phase != self.phase:
            self.out.write(f"{time.monotonic() - self.started:7.1f}s {line}\n")
        self.phase = event.phase

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
        self.out.flush()


def render_summary(result: ImportResult) -> str:
    """The sync's per-type summary as a plain-text table."""
    lines = [f"sync {result.sync_id}: {result.status}"]
    if result.failure:
        lines.append(f"  {result.failure[0]}: {result.failure[1]}")
    if result.hold:
        hold = result.hold
        lines.append(f"  held: {hold['deleteCount']} of {hold['currentCount']} {hold['dataType']} would be deleted "
                     f"(more than {hold['thresholdPercent']}%); approve or discard it")  # fmt: skip
    summaries = result.summaries
    if summaries is None or summaries.height == 0:
        return "\n".join(lines)
    names = {code: data_type.value for data_type, code in TYPE_CODES.items()}
    rows = summaries.filter(pl.col("school_id") == "").sort("data_type")
    header = f"  {'data type':<18}" + "".join(f"{c:>10}" for c in COLUMNS)
    lines.append(header)
    for row in rows.iter_rows(named=True):
        lines.append(f"  {names[row['data_type']]:<18}" + "".join(f"{row[c]:>10}" for c in COLUMNS))
    counts = result.counts
    lines.append(f"  records {counts.get('records', 0)}, errors {counts.get('errors', 0)}, "
                 f"warnings {counts.get('warnings', 0)}")  # fmt: skip
    return "\n".join(lines)
