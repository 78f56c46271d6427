"""Live streams: a sync's progress and the tenant's sync status changes, from the process's one Redis subscription.

Each stream listens before it reads the current state, so nothing between the read and the first event is lost;
after a Redis reconnect (events may have been missed) the state is read again. Rows are read with the caller's
tenant in the SQL, so an id of another tenant finds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

from db.syncs import ACTIVE_STATUSES, SyncRow, changed_syncs
from resolvers.context import Context
from resolvers.errors import DomainError
from resolvers.ids import decode_id
from resolvers.syncs import current_sync
from workers.events import RESYNC, SyncEvent
from workers.progress import event_of

CLOCK_MARGIN = timedelta(seconds=5)


async def progress_events(ctx: Context, sync_id: str) -> AsyncIterator[SyncEvent]:
    """The sync's current progress, then every update; ends when the sync stops running (done, held or failed)."""
    tenant_id = ctx.require().tenant_id
    local = decode_id(sync_id, "Sync")
    async with ctx.api.hub.subscribe(tenant_id, local) as subscription:
        row = await current_sync(ctx, local)
        if row is None:
            raise DomainError("No sync with this id.", code="NOT_FOUND")
        current = event_of(row, status_changed=False)
        yield current
        while current.status in ACTIVE_STATUSES:
            event = await subscription.latest()
            if event is RESYNC:
                row = await current_sync(ctx, local)
                if row is None:
                    return
                event = event_of(row, status_changed=False)
            elif _behind(event, current):
                continue  # published before the snapshot was read, delivered after it
            current = event
            yield event


def _behind(event: SyncEvent, current: SyncEvent) -> bool:
    return event.status == current.status == "RUNNING" and (event.percent or 0.0) < (current.percent or 0.0)


async def status_changes(ctx: Context, app_ids: Sequence[str] | None) -> AsyncIterator[SyncRow]:
    """Every sync of the tenant (of these apps, if given) created or changing status, as its current row."""
    tenant_id = ctx.require().tenant_id
    apps = None if app_ids is None else {decode_id(i, "App") for i in app_ids}
    async with ctx.api.hub.subscribe(tenant_id) as subscription:
        since = await ctx.pool.fetchval("SELECT clock_timestamp()")
        while True:
            event = await subscription.next()
            if event is RESYNC:  # events were missed while Redis was away: what changed since is read instead
                changed, since = await changed_syncs(ctx.pool, tenant_id, since)
                for row in changed:
                    if apps is None or row.app_id in apps:
                        yield row
                continue
            # Up to here nothing was missed (events are published by the workers' clocks: a margin for skew).
            since = max(since, datetime.fromtimestamp(event.published_at, UTC) - CLOCK_MARGIN)
            if not event.status_changed:
                continue
            if apps is not None and event.app_id not in apps:
                continue
            ctx.fresh_loaders()  # the connection's context outlives events: its fields must read the state anew
            current = await ctx.api.shared_reads.after(ctx.pool, tenant_id, event)
            # An event the sync has already moved past is skipped: the event of its current status follows, so the
            # current row is sent once rather than once per event behind it.
            if current is not None and current.status == event.status:
                yield current
