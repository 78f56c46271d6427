"""The asyncpg pool and its type codecs."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Pool = asyncpg.Pool
# A connection of its own or one borrowed from the pool; both run the same statements.
Connection = asyncpg.Connection | PoolConnectionProxy
# Anything a single statement can run on.
Executor = Connection | asyncpg.Pool


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + json.dumps(value, separators=(",", ":")).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary jsonb codec: a text codec breaks binary COPY (copy_records_to_table).
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", format="binary", encoder=_encode_jsonb, decoder=_decode_jsonb
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing to send. asyncpg has already rolled back an open transaction, and the product changes
    session state only inside transactions (SET LOCAL, pg_advisory_xact_lock; no LISTEN, no cursor outside one), so
    asyncpg's default reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) would cost a round trip per
    borrow for nothing: a drill-down page borrows four or five connections."""


async def plan_for_values(conn: Connection) -> None:
    """Have the rest of the transaction plan each statement for the values it runs with.

    The version tables have a partition per tenant (migration 0006), and PostgreSQL 15 locks every partition a cached
    generic plan names each time it runs one, which asyncpg's prepared statements get after five runs: with hundreds
    of tenants, an import's statements locked them all and ran out of lock slots ("out of shared memory"). A plan made
    for the tenant's id names its partition only. (Not for every connection: planning each of a drill-down page's
    statements adds about 0.5 ms to it, and a page read right after a large import, before its partition has
    statistics, can be planned badly for its values; the API's reads name the tenant's id as a constant instead,
    `db.partitions.tenant_literal`.)
    """
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool's (for the CLI and migrations)."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn
