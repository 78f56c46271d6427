"""A sync's row as a status event left it, read once for every syncUpdates subscriber the event reaches.

A status change reaches every subscriber of the tenant in this process at about the same moment; each would read the
same row. The first one reads it (with the tenant in the SQL), the others wait for that read: a thousand subscribers
cost one statement per change, not a thousand. The last reads are kept for late subscribers, a bounded number.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import asyncpg

from db.syncs import SyncRow, sync_row
from workers.events import SyncEvent

_KEPT = 256


class SharedSyncReads:
    def __init__(self) -> None:
        self._reads: OrderedDict[tuple[int, int, str, float], asyncio.Future[SyncRow | None]] = OrderedDict()

    async def after(self, pool: asyncpg.Pool, tenant_id: int, event: SyncEvent) -> SyncRow | None:
        """The sync's current row, read at or after `event` reached this process."""
        key = (tenant_id, event.sync_id, event.status, event.published_at)
        read = self._reads.get(key)
        if read is None:
            read = self._reads[key] = asyncio.ensure_future(sync_row(pool, tenant_id, event.sync_id))
            read.add_done_callback(lambda done: self._forget_failed(key, done))
            while len(self._reads) > _KEPT:
                self._reads.popitem(last=False)
        return await asyncio.shield(read)  # one subscriber leaving must not cancel the others' read

    def _forget_failed(self, key: tuple[int, int, str, float], read: asyncio.Future[SyncRow | None]) -> None:
        if (read.cancelled() or read.exception() is not None) and self._reads.get(key) is read:
            del self._reads[key]  # the next subscriber tries again
