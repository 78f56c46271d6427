"""Starting, approving, discarding and cancelling syncs, with the caller's role checked and tenant applied."""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from db import imports as db_imports
from db.syncs import SyncRow, sync_row
from resolvers.context import Context
from resolvers.errors import DomainError
from resolvers.ids import decode_id
from workers.progress import event_of
from workers.submit import QueueUnavailable
from workers.uploads import UploadTooLarge

QUEUE_DOWN = "The sync could not be queued; please try again shortly."
_REFUSALS = {
    "SYNC_NOT_HELD": "Only a HELD import can be approved.",
    "HOLD_STALE": "Another import was applied since this sync was held, so it can no longer be applied as computed; "
    "discard it and import the package again.",
    "SYNC_HELD": "A HELD sync is not running: approve it or discard it.",
    "SYNC_FINISHED": "The sync has already ended.",
    "NOT_FOUND": "No sync with this id.",
}


async def start_import(ctx: Context, app_id: str, package: BinaryIO, *, dry_run: bool) -> SyncRow:
    tenant_id = ctx.require("operator").tenant_id
    app = await ctx.loaders.app.load(decode_id(app_id, "App"))
    if app is None or app.uninstalled_at is not None or app.kind != "IMPORT":
        raise DomainError("No installed import app with this id.", code="NOT_FOUND")
    api = ctx.api
    try:
        key = await asyncio.to_thread(api.uploads.stage_stream, tenant_id, package, api.max_upload_bytes)
    except UploadTooLarge as error:
        raise DomainError(f"The package is too large: {error}.", code="PACKAGE_TOO_LARGE") from error
    try:
        return await api.submitter.start_import(tenant_id, app.id, key, dry_run=dry_run)
    except LookupError as error:  # uninstalled meanwhile
        api.uploads.discard(tenant_id, key)
        raise DomainError("No installed import app with this id.", code="NOT_FOUND") from error
    except QueueUnavailable as error:
        api.uploads.discard(tenant_id, key)
        raise DomainError(
            "The sync could not be queued; please try again shortly.", code="QUEUE_UNAVAILABLE"
        ) from error


async def start_export(ctx: Context, app_id: str) -> SyncRow:
    tenant_id = ctx.require("operator").tenant_id
    try:
        return await ctx.api.submitter.start_export(tenant_id, decode_id(app_id, "App"))
    except LookupError as error:
        raise DomainError("No installed export app with this id.", code="NOT_FOUND") from error
    except QueueUnavailable as error:
        raise DomainError(
            "The sync could not be queued; please try again shortly.", code="QUEUE_UNAVAILABLE"
        ) from error


async def approve(ctx: Context, sync_id: str) -> SyncRow:
    """Queue a HELD import again, to be applied exactly as computed (admin)."""
    tenant_id = ctx.require("admin").tenant_id
    local = decode_id(sync_id, "Sync")
    async with ctx.pool.acquire() as conn:
        refusal = await db_imports.request_approval(conn, tenant_id, local)
    _refuse(refusal)
    row = await _row(ctx, tenant_id, local)
    try:
        return await ctx.api.submitter.send(row)
    except QueueUnavailable as error:  # the sync ended FAILED: its package is no longer needed
        async with ctx.pool.acquire() as conn:
            job = await db_imports.import_job(conn, tenant_id, local)
        ctx.api.uploads.discard(tenant_id, job.upload_key if job else None)
        raise DomainError(QUEUE_DOWN, code="QUEUE_UNAVAILABLE") from error


async def discard(ctx: Context, sync_id: str) -> SyncRow:
    """HELD -> DISCARDED: nothing is applied; the summary and drill-downs stay readable (admin)."""
    tenant_id = ctx.require("admin").tenant_id
    local = decode_id(sync_id, "Sync")
    async with ctx.pool.acquire() as conn:
        job = await db_imports.import_job(conn, tenant_id, local)
        if job is None or not await db_imports.discard_held(conn, tenant_id, local):
            _refuse("NOT_FOUND" if job is None else "SYNC_NOT_HELD")
    assert job is not None
    ctx.api.uploads.discard(tenant_id, job.upload_key)
    return await _announced(ctx, tenant_id, local)


async def cancel(ctx: Context, sync_id: str) -> SyncRow:
    """Cancel a QUEUED sync, or ask a RUNNING one to stop (operator)."""
    tenant_id = ctx.require("operator").tenant_id
    local = decode_id(sync_id, "Sync")
    async with ctx.pool.acquire() as conn:
        refusal = await db_imports.request_cancel(conn, tenant_id, local)
        job = None if refusal else await db_imports.import_job(conn, tenant_id, local)
    _refuse(refusal)
    if job is not None and job.status == "CANCELLED":  # cancelled while QUEUED: its message will do nothing
        ctx.api.uploads.discard(tenant_id, job.upload_key)
    return await _announced(ctx, tenant_id, local)


def _refuse(code: str | None) -> None:
    if code is not None:
        raise DomainError(_REFUSALS.get(code, code), code=code)


async def _row(ctx: Context, tenant_id: int, sync_id: int) -> SyncRow:
    row = await sync_row(ctx.pool, tenant_id, sync_id)
    if row is None:
        _refuse("NOT_FOUND")
    assert row is not None
    return row


async def _announced(ctx: Context, tenant_id: int, sync_id: int) -> SyncRow:
    row = await _row(ctx, tenant_id, sync_id)
    await ctx.api.submitter.publisher.publish(event_of(row, status_changed=True))
    return row
