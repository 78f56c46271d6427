"""Migrations: applied once, idempotent under concurrent starts, and refused when edited after being applied."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from db.migrate import MigrationError, load_migrations, migrate
from oneroster_sync.embedded import with_database
from oneroster_sync.settings import Endpoints
from tests.conftest import drop_database, fresh_database


@pytest.fixture
async def empty_database(server_endpoints: Endpoints) -> AsyncIterator[str]:
    url = await fresh_database(server_endpoints.database_url)
    yield url
    await drop_database(url)


async def _applied(url: str) -> list[tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [(r["version"], r["checksum"]) for r in await conn.fetch("SELECT * FROM schema_migrations ORDER BY 1")]
    finally:
        await conn.close()


def test_migration_files_are_ordered_and_numbered() -> None:
    migrations = load_migrations()
    assert migrations, "no migration files found"
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    assert migrations[0].version == 1


async def test_migrations_apply_once(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
    finally:
        await conn.close()
    assert first == [m.name for m in load_migrations()]
    assert second == []
    assert [v for v, _ in await _applied(empty_database)] == [m.version for m in load_migrations()]


async def test_concurrent_starts_apply_each_migration_exactly_once(empty_database: str) -> None:
    conns = [await asyncpg.connect(empty_database) for _ in range(6)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
    finally:
        for conn in conns:
            await conn.close()
    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted(m.name for m in load_migrations())
    assert sum(1 for r in results if r) == 1, "exactly one starter applies; the others wait, then find nothing to do"
    assert len(await _applied(empty_database)) == len(load_migrations())


def test_concurrent_migrate_commands_in_separate_processes(empty_database: str) -> None:
    env = {**os.environ, "DATABASE_URL": empty_database, "REDIS_URL": os.environ.get("REDIS_URL", "redis://unused")}
    command = [sys.executable, "-m", "oneroster_sync.cli", "migrate"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err.decode() for _, err in outputs]
    assert sum(1 for out, _ in outputs if b'"applied": []' not in out) == 1


async def test_a_failing_migration_changes_nothing(empty_database: str) -> None:
    broken = [
        *load_migrations(),
        dataclasses.replace(
            load_migrations()[0], version=9999, name="9999_broken", sql="CREATE TABLE fine (id int); SELECT 1/0;"
        ),
    ]
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, broken)
        assert await conn.fetchval("SELECT to_regclass('tenants')") is None
        assert await conn.fetchval("SELECT to_regclass('fine')") is None
    finally:
        await conn.close()


async def test_an_edited_migration_is_refused(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        await migrate(conn)
        edited = [dataclasses.replace(m, sql=m.sql + "\n-- edited") for m in load_migrations()]
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, edited)
    finally:
        await conn.close()


def test_with_database_keeps_socket_parameters() -> None:
    url = "postgresql://postgres:@/oneroster?host=/tmp/data/postgres"
    assert with_database(url, "other") == "postgresql://postgres:@/other?host=/tmp/data/postgres"
