"""An import locks its own tenant's partitions only, however many tenants share the database and however many
imports its connection ran before (PostgreSQL 15 locks every partition a cached generic plan names: db.pool)."""

from __future__ import annotations

import asyncpg

from db.entities import TABLES
from db.partitions import partition_name
from db.pool import create_pool
from oneroster_sync.settings import Endpoints
from tests.conftest import make_tenant
from tests.workers.imports.conftest import District
from tests.workers.imports.packages import base_pkg
from workers.imports.model import ImportOptions

LOCKED = """SELECT array_agg(DISTINCT l.relation::regclass::text) FROM pg_locks l
            JOIN pg_inherits i ON i.inhrelid = l.relation
            WHERE l.pid = $1 AND i.inhparent = ANY($2::regclass[])"""


async def test_an_import_locks_only_its_tenants_partitions(pool: asyncpg.Pool, endpoints: Endpoints) -> None:
    for _ in range(6):  # other tenants, each with its partitions
        await District(pool, await make_tenant(pool)).run(base_pkg().zip())
    # One connection for every import of the tenant: its prepared statements would have generic plans by the last.
    single = await create_pool(endpoints.database_url, min_size=1, max_size=1)
    try:
        district = District(single, await make_tenant(pool))
        async with single.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
        package = base_pkg()
        for day in range(7):  # an UPDATED org and enrollment each day: versions closed by key
            package.rows["orgs"][1]["name"] = f"School one, day {day}"
            package.rows["enrollments"][1]["role"] = ("student", "teacher")[day % 2]
            await district.run(package.zip())
        locked: list[list[str]] = []

        async def progress(phase: str, processed: int, total: int | None) -> None:
            if phase == "applying" and total is not None and processed == total:  # (in the sync's transaction)
                locked.append(await pool.fetchval(LOCKED, backend, list(TABLES.values())))

        package.rows["orgs"][1]["name"] = "School one, the last day"
        result = await district.run(package.zip(), ImportOptions(), progress=progress)
    finally:
        await single.close()
    assert result.status == "SUCCEEDED"
    assert locked and set(locked[-1]) <= {partition_name(table, district.tenant.id) for table in TABLES.values()}
