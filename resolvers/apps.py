"""Apps: listing, install, uninstall and settings, within the caller's tenant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from db import apps as db_apps
from db.apps import AppRow
from resolvers.context import Context
from resolvers.errors import DomainError
from resolvers.ids import decode_id, load_by_local_ids


async def list_apps(ctx: Context, kind: str | None) -> list[AppRow]:
    apps = await db_apps.list_apps(ctx.pool, ctx.require().tenant_id, kind)
    ctx.loaders.app.prime_many({app.id: app for app in apps})
    return apps


async def app_by_id(ctx: Context, app_id: int) -> AppRow | None:
    return await ctx.loaders.app.load(app_id)


async def apps_by_ids(ctx: Context, node_ids: Iterable[str]) -> list[AppRow | None]:
    return await load_by_local_ids(ctx.loaders.app, node_ids)


async def install_app(ctx: Context, provider: str, name: str | None) -> AppRow:
    tenant_id = ctx.require("admin").tenant_id
    async with ctx.pool.acquire() as conn:
        try:
            return await db_apps.install_app(conn, tenant_id, provider, name)
        except ValueError as exc:
            raise DomainError(str(exc), code="APP_NOT_INSTALLABLE") from exc


async def uninstall_app(ctx: Context, app_id: str) -> AppRow:
    tenant_id = ctx.require("admin").tenant_id
    async with ctx.pool.acquire() as conn:
        row = await db_apps.uninstall_app(conn, tenant_id, decode_id(app_id, "App"))
    if row is None:
        raise DomainError("No installed app with this id.", code="NOT_FOUND")
    return row


async def configure_app(ctx: Context, app_id: str, changes: dict[str, Any]) -> AppRow:
    tenant_id = ctx.require("admin").tenant_id
    async with ctx.pool.acquire() as conn:
        row = await db_apps.update_settings(conn, tenant_id, decode_id(app_id, "App"), changes)
    if row is None:
        raise DomainError("No installed app with this id.", code="NOT_FOUND")
    return row
