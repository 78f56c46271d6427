"""Apps: the import and export integrations installed for a tenant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.pool import Connection, Executor

# Built-in providers and their kind. The defaults every new tenant gets are all four.
PROVIDERS: dict[str, str] = {
    "csv-upload": "IMPORT",
    "sftp": "IMPORT",
    "amplify": "EXPORT",
    "amplify-mclass": "EXPORT",
}
DEFAULT_PROVIDERS = tuple(PROVIDERS)


class UnknownProvider(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AppRow:
    tenant_id: int
    id: int
    provider: str
    name: str
    kind: str
    settings: dict[str, Any]
    installed_at: datetime
    uninstalled_at: datetime | None


_COLUMNS = "tenant_id, id, provider, name, kind, settings, installed_at, uninstalled_at"
# The same columns qualified by the alias `a`, for statements that join apps.
APP_COLUMNS = ", ".join(f"a.{name}" for name in _COLUMNS.split(", "))


def app_row(values: Iterable[Any]) -> AppRow:
    """An AppRow from the values of _COLUMNS (or APP_COLUMNS), in that order: a record or a slice of one."""
    return AppRow(*values)


def default_settings(provider: str) -> dict[str, Any]:
    """Settings a newly installed app starts with (stored, so later default changes don't alter old apps)."""
    if PROVIDERS[provider] == "EXPORT":
        return {"vendorProfile": provider, "exportAfterImport": False}
    return {
        "strict": False,
        "holdDeletePercent": 10.0,
        "holdDeleteMinimum": 25,
        "uniquenessDomains": ["users.username"],
    }


async def install_app(conn: Connection, tenant_id: int, provider: str, name: str | None = None) -> AppRow:
    """Install an app, or reinstall the uninstalled app of that name (bringing its history back)."""
    if provider not in PROVIDERS:
        raise UnknownProvider(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    record = await conn.fetchrow(
        f"""INSERT INTO apps (tenant_id, provider, name, kind, settings) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (tenant_id, name) DO UPDATE SET uninstalled_at = NULL, installed_at = now()
                WHERE apps.uninstalled_at IS NOT NULL AND apps.provider = EXCLUDED.provider
            RETURNING {_COLUMNS}""",
        tenant_id, provider, name or provider, PROVIDERS[provider], default_settings(provider),
    )  # fmt: skip
    if record is None:
        raise ValueError(f"an app named {name or provider!r} is already installed or belongs to another provider")
    return app_row(record)


async def uninstall_app(conn: Connection, tenant_id: int, app_id: int) -> AppRow | None:
    record = await conn.fetchrow(
        f"""UPDATE apps SET uninstalled_at = now() WHERE tenant_id = $1 AND id = $2 AND uninstalled_at IS NULL
            RETURNING {_COLUMNS}""",
        tenant_id, app_id,
    )  # fmt: skip
    return None if record is None else app_row(record)


async def update_settings(conn: Connection, tenant_id: int, app_id: int, changes: dict[str, Any]) -> AppRow | None:
    """Merge `changes` into the app's settings; fields left out keep their value."""
    record = await conn.fetchrow(
        f"""UPDATE apps SET settings = settings || $3::jsonb
            WHERE tenant_id = $1 AND id = $2 AND uninstalled_at IS NULL RETURNING {_COLUMNS}""",
        tenant_id, app_id, changes,
    )  # fmt: skip
    return None if record is None else app_row(record)


async def list_apps(conn: Executor, tenant_id: int, kind: str | None = None) -> list[AppRow]:
    """The tenant's installed apps, in installation order."""
    records = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM apps
            WHERE tenant_id = $1 AND uninstalled_at IS NULL AND ($2::text IS NULL OR kind = $2) ORDER BY id""",
        tenant_id, kind,
    )  # fmt: skip
    return [app_row(r) for r in records]


async def apps_by_ids(conn: Executor, tenant_id: int, ids: Sequence[int]) -> list[AppRow]:
    """Apps of this tenant among `ids`, installed or not (a sync's app stays readable)."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM apps WHERE tenant_id = $1 AND id = ANY($2::bigint[])", tenant_id, list(ids)
    )
    return [app_row(r) for r in records]
