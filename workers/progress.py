"""Progress of a running sync: throttled snapshots stored on the sync row and published as events.

`processed`/`total` count the current phase's units (bytes while receiving and parsing, rows after); `percent` is the
whole sync's, from fixed phase spans, so it never goes down while processed restarts at each phase.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from db.syncs import ACTIVE_STATUSES, SyncRow, store_progress, sync_row
from workers.events import EventPublisher, SyncEvent

PHASE_SPANS: dict[str, tuple[float, float]] = {
    "queued": (0.0, 0.0),
    "receiving": (0.0, 5.0),
    "parsing": (5.0, 40.0),
    "validating": (40.0, 55.0),
    "diffing": (55.0, 75.0),
    "applying": (75.0, 100.0),
}
PHASES = tuple(PHASE_SPANS)


class SyncCancelled(Exception):
    """A cancel was requested for the running sync: the import stops and applies nothing."""


def overall_percent(status: str, phase: str, processed: int, total: int | None) -> float:
    """The whole sync's percentage (a phase whose total is not known yet counts as just started)."""
    if status not in ACTIVE_STATUSES:
        return 100.0
    start, end = PHASE_SPANS.get(phase, (0.0, 0.0))
    if not total:
        return start
    return round(start + (end - start) * min(1.0, processed / total), 2)


def event_of(row: SyncRow, *, status_changed: bool) -> SyncEvent:
    return SyncEvent(
        tenant_id=row.tenant_id, sync_id=row.id, app_id=row.app_id, status=row.status, phase=row.progress_phase,
        processed=row.progress_processed, total=row.progress_total, status_changed=status_changed,
        percent=overall_percent(row.status, row.progress_phase, row.progress_processed, row.progress_total),
    )  # fmt: skip


class ProgressReporter:
    """The engine's progress callback for one sync. Raises SyncCancelled when a cancel was requested."""

    def __init__(self, pool: asyncpg.Pool, publisher: EventPublisher, row: SyncRow, *, interval: float = 0.25) -> None:
        self._pool = pool
        self._publisher = publisher
        self._row = row
        self._interval = interval
        self._phase = ""
        self._position = (-1, -1)
        self._last = 0.0
        self._lock = asyncio.Lock()
        self._started = False

    async def __call__(self, phase: str, processed: int, total: int | None) -> None:
        # Reports from worker threads arrive concurrently with the engine's own: one at a time, never backwards.
        async with self._lock:
            await self._report(phase, processed, total)

    async def _report(self, phase: str, processed: int, total: int | None) -> None:
        now = time.monotonic()
        position = (PHASES.index(phase) if phase in PHASE_SPANS else len(PHASES), processed)
        if position < self._position:
            return
        finishing_phase = total is not None and processed >= total
        if phase == self._phase and now - self._last < self._interval and not finishing_phase:
            return
        self._phase, self._last, self._position = phase, now, position
        cancel = await store_progress(self._pool, self._row.tenant_id, self._row.id, phase, processed, total)
        percent = overall_percent("RUNNING", phase, processed, total)
        row, started = self._row, not self._started
        self._started = True  # the first report is also the news that the sync started running (syncUpdates)
        await self._publisher.publish(SyncEvent(row.tenant_id, row.id, row.app_id, "RUNNING", phase, processed,
                                                total, percent, status_changed=started))  # fmt: skip
        if cancel:
            raise SyncCancelled(f"sync {row.id} was cancelled")


async def publish_status(pool: asyncpg.Pool, publisher: EventPublisher, tenant_id: int, sync_id: int) -> None:
    """Publish the sync's current state as a status change (created, started, finished...)."""
    row = await sync_row(pool, tenant_id, sync_id)
    if row is not None:
        await publisher.publish(event_of(row, status_changed=True))
