"""The API's reads of the version tables lock the caller's partitions only, however many tenants share the database
and however often a connection runs the same statement (PostgreSQL 15 locks every partition a cached generic plan
names each time it runs it: db.partitions.tenant_literal)."""

from __future__ import annotations

import asyncpg

from db.entities import TABLES
from db.entities_read import EntityFilter, count_entities, entities_by_keys, entity_with_targets, page_entities
from db.entity_history import count_history, history_page
from db.outcomes import count_records, page_records
from db.partitions import partition_name
from oneroster_csv.model import DataType
from tests.conftest import make_tenant
from tests.workers.imports.conftest import District
from tests.workers.imports.packages import base_pkg

LOCKED = """SELECT coalesce(array_agg(DISTINCT l.relation::regclass::text), '{}') FROM pg_locks l
            JOIN pg_inherits i ON i.inhrelid = l.relation
            WHERE l.pid = pg_backend_pid() AND i.inhparent = ANY($1::regclass[])"""
RUNS = 8  # asyncpg's statements get PostgreSQL's generic plans after five runs


async def test_the_apis_reads_lock_only_the_callers_partitions(pool: asyncpg.Pool) -> None:
    for _ in range(4):  # other tenants, each with its partitions
        await District(pool, await make_tenant(pool)).run(base_pkg().zip())
    district = District(pool, await make_tenant(pool))
    package = base_pkg()
    await district.run(package.zip())
    package.rows["orgs"][1]["name"] = "School one, renamed"  # an UPDATED record, with field changes to read
    sync_id = (await district.run(package.zip())).sync_id
    org = package.rows["orgs"][1]["sourcedId"]
    tenant_id = district.tenant.id
    async with pool.acquire() as conn, conn.transaction():
        read = 0
        for _ in range(RUNS):
            read += len(await page_records(conn, tenant_id, sync_id, limit=1000))
            read += await count_records(conn, tenant_id, sync_id)
            read += len(await entities_by_keys(conn, tenant_id, [(DataType.ORGS, org), (DataType.USERS, "u1")]))
            entity, targets = await entity_with_targets(conn, tenant_id, DataType.ORGS, org)
            read += (entity is not None) + len(targets)
            for data_type in (DataType.ORGS, DataType.ENROLLMENTS):
                read += len(await page_entities(conn, EntityFilter(tenant_id, data_type), after=None, limit=50))
                read += await count_entities(conn, EntityFilter(tenant_id, data_type, search="a"))
            read += len(await history_page(conn, tenant_id, DataType.ORGS, org))
            read += await count_history(conn, tenant_id, DataType.ORGS, org)
        locked = set(await conn.fetchval(LOCKED, list(TABLES.values())))
    assert read > 0
    assert locked and locked <= {partition_name(table, tenant_id) for table in TABLES.values()}


async def test_a_tenant_without_versions_reads_nothing(pool: asyncpg.Pool) -> None:
    """Its partitions do not exist until its first import: every read is empty, none fails."""
    await District(pool, await make_tenant(pool)).run(base_pkg().zip())
    tenant_id = (await make_tenant(pool)).id
    async with pool.acquire() as conn:
        assert await entities_by_keys(conn, tenant_id, [(DataType.ORGS, "o1")]) == {}
        assert await entity_with_targets(conn, tenant_id, DataType.CLASSES, "k1") == (None, [])
        assert await page_entities(conn, EntityFilter(tenant_id, DataType.USERS), after=None, limit=10) == []
        assert await count_entities(conn, EntityFilter(tenant_id, DataType.USERS)) == 0
        assert await history_page(conn, tenant_id, DataType.USERS, "u1") == []
        assert await count_history(conn, tenant_id, DataType.USERS, "u1") == 0
