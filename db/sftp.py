"""SFTP accounts: one per tenant, found by username at login. Password hashes are made by oneroster_sync.sftp_auth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Connection, Executor


class UsernameTaken(ValueError):
    pass


class NoSftpApp(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class SftpAccount:
    tenant_id: int
    username: str
    password_hash: str | None
    authorized_keys: list[str]
    app_id: int | None  # the sftp import app whose syncs the drops become
    updated_at: datetime


_COLUMNS = "tenant_id, username, password_hash, authorized_keys, app_id, updated_at"


def _row(record: asyncpg.Record) -> SftpAccount:
    return SftpAccount(**dict(record))


async def set_account(
    conn: Connection, tenant_id: int, username: str, *, password_hash: str | None, authorized_keys: list[str]
) -> SftpAccount:
    """Create or replace the tenant's account (credentials not given are cleared), bound to its installed sftp app.

    NoSftpApp: the tenant has no installed sftp app. UsernameTaken: another tenant has this username.
    """
    async with conn.transaction():
        app_id: int | None = await conn.fetchval(
            """SELECT id FROM apps WHERE tenant_id = $1 AND provider = 'sftp' AND uninstalled_at IS NULL
               ORDER BY id LIMIT 1""",
            tenant_id,
        )
        if app_id is None:
            raise NoSftpApp("the tenant has no installed sftp app")
        try:
            record = await conn.fetchrow(
                f"""INSERT INTO sftp_accounts (tenant_id, username, password_hash, authorized_keys, app_id)
                    VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (tenant_id) DO UPDATE SET username = EXCLUDED.username,
                        password_hash = EXCLUDED.password_hash, authorized_keys = EXCLUDED.authorized_keys,
                        app_id = EXCLUDED.app_id, updated_at = now()
                    WHERE sftp_accounts.tenant_id = $1
                    RETURNING {_COLUMNS}""",
                tenant_id, username, password_hash, authorized_keys, app_id,
            )  # fmt: skip
        except asyncpg.UniqueViolationError as error:
            raise UsernameTaken(f"the SFTP username {username!r} belongs to another tenant") from error
        except asyncpg.CheckViolationError as error:
            raise ValueError("an SFTP username is 1 to 64 letters, digits, dots, underscores or hyphens") from error
    assert record is not None
    return _row(record)


async def account_by_username(conn: Executor, username: str) -> SftpAccount | None:
    """The account a login names (usernames are unique across tenants, so the username identifies the tenant)."""
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM sftp_accounts WHERE username = $1", username)
    return None if record is None else _row(record)


async def account_of_tenant(conn: Executor, tenant_id: int) -> SftpAccount | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM sftp_accounts WHERE tenant_id = $1", tenant_id)
    return None if record is None else _row(record)


async def delete_account(conn: Executor, tenant_id: int) -> bool:
    """Remove the tenant's account (its files stay on disk); False when it had none."""
    deleted: str = await conn.execute("DELETE FROM sftp_accounts WHERE tenant_id = $1", tenant_id)
    return deleted != "DELETE 0"
