"""What a worker does with a sync message: thin wrappers around the engines, safe under at-least-once delivery.

A message names a sync; the sync row says what to do. A message for a finished sync does nothing. One for a sync
that another worker is running (its lease is fresh) comes back later; one for a sync whose worker died (its lease is
stale) restarts it from the staged package, since an unfinished import applied nothing. Imports of a tenant run in
the order they were queued: a later one waits (without holding a worker thread) until the earlier ones are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import dramatiq

from db import imports as db_imports
from db.pool import Connection
from db.syncs import ACTIVE_STATUSES, FINISHED_STATUSES, renew_lease, sync_row
from workers.config import WorkerConfig
from workers.events import EventPublisher
from workers.imports.engine import ImportResult, fail_import, run_import
from workers.imports.key_cache import KeyCache
from workers.imports.model import ImportOptions
from workers.progress import ProgressReporter, publish_status
from workers.queue import SyncQueue
from workers.uploads import UploadStore

log = logging.getLogger(__name__)


class ComeBackLater(dramatiq.Retry):
    """Not this sync's turn yet, or another worker is running it: the message is retried after `delay` ms and the
    thread is free meanwhile. Not counted as a failure."""


@dataclass
class WorkerServices:
    """Per worker process, created on the process's event loop (asyncpg and redis.asyncio bind to it)."""

    config: WorkerConfig
    pool: asyncpg.Pool
    publisher: EventPublisher
    uploads: UploadStore
    queue: SyncQueue


async def run_import_message(services: WorkerServices, tenant_id: int, sync_id: int) -> str:
    """Handle one delivery of an import message; returns the sync's status afterwards."""
    config, pool = services.config, services.pool
    async with pool.acquire() as conn:
        job = await db_imports.import_job(conn, tenant_id, sync_id)
        if job is None or job.status not in ACTIVE_STATUSES:
            return job.status if job else "UNKNOWN"
        await _wait_for_turn(services, conn, job)
        if job.attempts >= config.max_attempts:
            await db_imports.fail_sync(conn, tenant_id, sync_id, "import.interrupted", INTERRUPTED)
            await publish_status(pool, services.publisher, tenant_id, sync_id)
            services.uploads.discard(tenant_id, job.upload_key)
            return "FAILED"
    result = await _run(services, job)
    await publish_status(pool, services.publisher, tenant_id, sync_id)
    if result.status in FINISHED_STATUSES:
        services.uploads.discard(tenant_id, job.upload_key)  # the package is needed again only to approve a hold
    return result.status


INTERRUPTED = ("The import was interrupted too many times (its worker stopped while running it) and was given up; "
               "nothing was applied. Check the workers' memory and time limits, then start it again.")  # fmt: skip
EXPORTS_UNAVAILABLE = "Exports are not available in this version of oneroster-sync; nothing was sent."
TIMED_OUT = "The import ran longer than the time limit and was stopped; nothing was applied."


async def _wait_for_turn(services: WorkerServices, conn: Connection, job: db_imports.ImportJob) -> None:
    lease = services.config.lease_seconds
    delay_ms = int(min(lease, 2.0) * 1000)
    if job.status == "RUNNING" and await db_imports.lease_alive(conn, job.tenant_id, job.sync_id, lease):
        raise ComeBackLater(f"sync {job.sync_id} is being run by another worker", delay=delay_ms)
    earlier = await db_imports.earlier_pending_import(conn, job.tenant_id, job.sync_id, lease)
    if earlier is not None:
        if earlier.stale:  # its message may be lost (a broker restart): send it again, duplicates are harmless
            await services.queue.enqueue_import(job.tenant_id, earlier.id)
        raise ComeBackLater(f"sync {job.sync_id} waits for sync {earlier.id}", delay=delay_ms)


async def _run(services: WorkerServices, job: db_imports.ImportJob) -> ImportResult:
    config, pool = services.config, services.pool
    row = await sync_row(pool, job.tenant_id, job.sync_id)
    assert row is not None
    reporter = ProgressReporter(pool, services.publisher, row, interval=config.progress_interval_seconds)
    options = ImportOptions.from_settings(job.settings, dry_run=job.dry_run)
    source = services.uploads.path(job.tenant_id, job.upload_key) if job.upload_key else None
    if source is None or not source.exists():
        return await fail_import(pool, job.tenant_id, job.sync_id, "import.package_missing",
                           "The uploaded package is no longer staged on the server; upload it again.")  # fmt: skip
    async with _lease(pool, job, config.lease_seconds / 3):
        try:
            async with asyncio.timeout(config.time_limit_seconds):
                return await run_import(pool, job.tenant_id, job.sync_id, source, options, progress=reporter,
                                        approving=job.approved, key_cache=_key_cache(config))  # fmt: skip
        except TimeoutError:
            return await fail_import(pool, job.tenant_id, job.sync_id, "import.time_limit_exceeded", TIMED_OUT)


def _key_cache(config: WorkerConfig) -> KeyCache | None:
    return None if config.key_cache_dir is None else KeyCache(config.key_cache_dir)


@contextlib.asynccontextmanager
async def _lease(pool: asyncpg.Pool, job: db_imports.ImportJob, every: float) -> AsyncIterator[None]:
    """Renew the sync's lease while the import runs, so other deliveries of its message know it is alive."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                async with pool.acquire() as conn:
                    await renew_lease(conn, job.tenant_id, job.sync_id)
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as error:
                log.warning("could not renew the lease of sync %s: %s", job.sync_id, error)

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def fail_exhausted(services: WorkerServices, tenant_id: int, sync_id: int) -> None:
    """The message's retries ran out (the database or the broker kept failing): the sync ends FAILED."""
    async with services.pool.acquire() as conn:
        job = await db_imports.import_job(conn, tenant_id, sync_id)  # None for an export
        status = job.status if job is not None else await db_imports.sync_status(conn, tenant_id, sync_id)
        if status in ACTIVE_STATUSES:
            await db_imports.fail_sync(conn, tenant_id, sync_id, "sync.retries_exhausted",
                                       "The sync failed repeatedly and was given up; nothing was applied. "
                                       "Start it again, or contact support if it keeps failing.")  # fmt: skip
            if job is not None:
                services.uploads.discard(tenant_id, job.upload_key)
    await publish_status(services.pool, services.publisher, tenant_id, sync_id)


async def run_export_message(services: WorkerServices, tenant_id: int, sync_id: int) -> str:
    """Exports are queued and tracked like imports; the export engine itself is not part of this version."""
    async with services.pool.acquire() as conn:
        status = await db_imports.sync_status(conn, tenant_id, sync_id)
        if status != "QUEUED":
            return status
        await db_imports.fail_sync(conn, tenant_id, sync_id, "export.unavailable", EXPORTS_UNAVAILABLE)
    await publish_status(services.pool, services.publisher, tenant_id, sync_id)
    return "FAILED"
