"""Starting syncs: the sync is committed as QUEUED, then its message is sent, then subscribers hear of it.

Shared by the API's mutations, the SFTP drop folder and the CLI, so all of them queue syncs the same way.
"""

from __future__ import annotations

import logging

import asyncpg
from redis.exceptions import RedisError

from db.imports import fail_sync
from db.syncs import SyncRow, insert_sync
from workers.events import EventPublisher
from workers.progress import event_of, publish_status
from workers.queue import SyncQueue

log = logging.getLogger(__name__)


QUEUE_UNAVAILABLE = "The sync could not be queued (the message broker is unavailable); start it again."


class QueueUnavailable(Exception):
    """The message could not be sent; the sync was marked FAILED (queue.unavailable)."""


class SyncSubmitter:
    def __init__(self, pool: asyncpg.Pool, queue: SyncQueue, publisher: EventPublisher) -> None:
        self.pool = pool
        self.queue = queue
        self.publisher = publisher

    async def start_import(self, tenant_id: int, app_id: int, upload_key: str, *, dry_run: bool = False) -> SyncRow:
        """Queue an import of a staged package. LookupError: not an installed import app of the tenant."""
        row = await insert_sync(self.pool, tenant_id, app_id, dry_run=dry_run, upload_key=upload_key, kind="IMPORT")
        return await self.send(row)

    async def start_export(self, tenant_id: int, app_id: int) -> SyncRow:
        """Queue an export. LookupError: not an installed export app of the tenant."""
        return await self.send(await insert_sync(self.pool, tenant_id, app_id, kind="EXPORT"))

    async def send(self, row: SyncRow) -> SyncRow:
        """Send the message of a committed QUEUED sync (new, or queued again by an approval) and announce it."""
        try:
            if row.kind == "IMPORT":
                await self.queue.enqueue_import(row.tenant_id, row.id)
            else:
                await self.queue.enqueue_export(row.tenant_id, row.id)
        except (RedisError, OSError) as error:
            log.error("could not queue sync %s: %s", row.id, error)
            async with self.pool.acquire() as conn:
                await fail_sync(conn, row.tenant_id, row.id, "queue.unavailable", QUEUE_UNAVAILABLE)
            await publish_status(self.pool, self.publisher, row.tenant_id, row.id)
            raise QueueUnavailable(str(error)) from error
        await self.publisher.publish(event_of(row, status_changed=True))
        return row
