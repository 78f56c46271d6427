"""Per-tenant partitions of the version tables: created by a tenant's first versions, loaded before they are
attached, rolled back with the transaction that made them, scoped by tenant wherever rows are found by ctid, filled
from the unpartitioned tables by migration 0006, and given their index of later versions by migration 0009."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import polars as pl
import pytest

from db.entities import TABLES, VersionKind, copy_versions, current_keys, supersede
from db.migrate import load_migrations, migrate
from db.partitions import LARGE_FIRST_LOAD, has_partition, partition_name
from db.pool import Connection, plan_for_values
from oneroster_csv.model import DataType
from oneroster_sync.settings import Endpoints
from tests.conftest import drop_database, fresh_database, make_tenant

ORGS = DataType.ORGS


def org_versions(tenant_id: int, keys: list[str], valid_from: int = 1) -> pl.DataFrame:
    return pl.DataFrame({
        "tenant_id": [tenant_id] * len(keys), "sourcedId": keys, "valid_from": [valid_from] * len(keys),
        "kind": [int(VersionKind.NEW)] * len(keys), "content_hash": list(range(len(keys))),
        "row_hash": list(range(len(keys))), "schools": [[]] * len(keys), "name": [f"Org {k}" for k in keys],
    }, schema_overrides={"schools": pl.List(pl.String)})  # fmt: skip


async def partitions_of(conn: Connection, table: str) -> set[str]:
    rows = await conn.fetch("SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = $1::regclass",
                            table)  # fmt: skip
    return {r["name"] for r in rows}


async def test_first_versions_create_the_tenants_partition_with_the_parents_indexes(pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    name = partition_name(TABLES[ORGS], tenant.id)
    async with pool.acquire() as conn:
        assert not await has_partition(conn, TABLES[ORGS], tenant.id)
        async with conn.transaction():
            await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["b", "a", "c"]))
        async with conn.transaction():  # the partition exists now: straight into it
            await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["d"], valid_from=2))
        assert name in await partitions_of(conn, TABLES[ORGS])
        indexes = sorted(r["indexdef"].split(" USING ")[1] for r in await conn.fetch(
            "SELECT indexdef FROM pg_indexes WHERE tablename = $1", name))  # fmt: skip
        assert indexes == sorted(['btree (tenant_id, "sourcedId", valid_from)', 'btree (tenant_id, "sourcedId") '
                                  "WHERE invalid", 'btree (valid_from, "sourcedId")'])  # fmt: skip
        # the parent's indexes each the partition's index of one of them (none made twice at the attach); the index
        # of later versions the partition's own
        parents = await conn.fetch(
            """SELECT indexrelid::regclass::text, inhparent::regclass::text FROM pg_index
               LEFT JOIN pg_inherits ON inhrelid = indexrelid WHERE indrelid = $1::regclass""", name)  # fmt: skip
        assert sorted((p[1] or p[0]) for p in parents) == sorted([f"{TABLES[ORGS]}_pkey", f"{TABLES[ORGS]}_invalid",
                                                                  f"{name}_by_sync"])  # fmt: skip
        keys = await current_keys(conn, tenant.id, ORGS)
        assert sorted(keys["sourcedId"].to_list()) == ["a", "b", "c", "d"]
        # the first load was sent without its tenant and sync, the partition's defaults until it was attached
        loaded = await conn.fetch(f'SELECT tenant_id, valid_from FROM "{name}" ORDER BY "sourcedId"')
        assert [tuple(r.values()) for r in loaded] == [(tenant.id, 1)] * 3 + [(tenant.id, 2)]
        defaults = """SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a
                      ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = $1::regclass ORDER BY 1"""
        assert await conn.fetch(defaults, f'"{name}"') == await conn.fetch(defaults, TABLES[ORGS])  # none left over
        with pytest.raises(asyncpg.CheckViolationError):  # the partition holds its tenant's rows only
            await conn.execute(f'INSERT INTO "{name}" (tenant_id, "sourcedId", valid_from, kind, content_hash, '
                               f"row_hash) VALUES ({tenant.id + 1}, 'x', 1, 1, 0, 0)")  # fmt: skip


async def test_a_new_partitions_partial_index_finds_the_invalid_versions_of_its_first_load(pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    versions = org_versions(tenant.id, ["a", "b", "c", "d"]).with_columns(invalid=pl.Series([True, False, True, False]))
    async with pool.acquire() as conn:
        async with conn.transaction():
            await copy_versions(conn, tenant.id, ORGS, versions)
        async with conn.transaction():
            # (the primary key's index could find them too, by tenant and a filter: only the partial one is left)
            await conn.execute(f"ANALYZE {TABLES[ORGS]}")
            await conn.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
            query = f'SELECT "sourcedId" FROM {TABLES[ORGS]} WHERE tenant_id = $1 AND invalid ORDER BY 1'
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", tenant.id))
            assert f"{partition_name(TABLES[ORGS], tenant.id)}_invalid" in plan
            assert [r[0] for r in await conn.fetch(query, tenant.id)] == ["a", "c"]


async def test_a_rolled_back_first_write_leaves_no_partition(pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["a"]))
                raise RuntimeError("the import failed after writing")
        assert not await has_partition(conn, TABLES[ORGS], tenant.id)
        assert partition_name(TABLES[ORGS], tenant.id) not in await partitions_of(conn, TABLES[ORGS])
        async with conn.transaction():  # and the next import creates it
            await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["a"]))
        assert await has_partition(conn, TABLES[ORGS], tenant.id)


async def test_first_imports_of_two_tenants_attach_in_turn(pool: asyncpg.Pool) -> None:
    first, second = await make_tenant(pool), await make_tenant(pool)
    async with pool.acquire() as one, pool.acquire() as other:
        async with one.transaction():
            await copy_versions(one, first.id, ORGS, org_versions(first.id, ["a"]))
            # The second tenant's attach waits for the first's transaction (both lock the parent), and only it.
            waiting = asyncio.ensure_future(_write_in_transaction(other, second.id, ["a", "b"]))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            assert await one.fetchval(f"SELECT count(*) FROM {TABLES[ORGS]} WHERE tenant_id = $1", first.id) == 1
        await asyncio.wait_for(waiting, 10)
        for tenant, count in ((first, 1), (second, 2)):
            assert await one.fetchval(f"SELECT count(*) FROM {TABLES[ORGS]} WHERE tenant_id = $1", tenant.id) == count


async def _write_in_transaction(conn: Connection, tenant_id: int, keys: list[str]) -> None:
    async with conn.transaction():
        await copy_versions(conn, tenant_id, ORGS, org_versions(tenant_id, keys))


async def test_closing_versions_by_row_id_stays_in_the_tenant(pool: asyncpg.Pool) -> None:
    """Row ids repeat across partitions: two tenants with the same versions have the same ctids."""
    one, other = await make_tenant(pool), await make_tenant(pool)
    async with pool.acquire() as conn:
        for tenant in (one, other):
            async with conn.transaction():
                await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["a", "b"]))
        async with conn.transaction():
            await supersede(conn, one.id, ORGS, 2, ["a"], [("b", VersionKind.DELETED, 3)])
        closed = "SELECT count(*) FROM orgs_versions WHERE tenant_id = $1 AND valid_to IS NOT NULL"
        assert await conn.fetchval(closed, one.id) == 2
        assert await conn.fetchval(closed, other.id) == 0
        assert (await current_keys(conn, other.id, ORGS))["kind"].to_list() == [1, 1]


@pytest.fixture
async def database(server_endpoints: Endpoints) -> AsyncIterator[asyncpg.Connection]:
    url = await fresh_database(server_endpoints.database_url)
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()
        await drop_database(url)


async def test_migration_0006_moves_every_tenants_versions_into_its_partition(database: asyncpg.Connection) -> None:
    await migrate(database, [m for m in load_migrations() if m.version < 6])
    tenants = [await database.fetchval("INSERT INTO tenants (name) VALUES ($1) RETURNING id", n) for n in "ab"]
    columns = '(tenant_id, "sourcedId", valid_from, valid_to, kind, content_hash, row_hash, "name", raw_hash)'
    for tenant in tenants:
        await database.execute(
            f"INSERT INTO orgs_versions {columns} VALUES ($1, 'b', 1, 2, 1, 1, 1, 'B', 7), ($1, 'b', 2, NULL, 2, 2, 2, "
            "'B2', NULL), ($1, 'a', 1, NULL, 1, 3, 3, 'A', 9)", tenant)  # fmt: skip
    before = await database.fetch("SELECT * FROM orgs_versions ORDER BY 1, 2, 3")

    await migrate(database)

    # (later migrations add columns; a record iterates over its values, its names come from keys())
    selected = ", ".join(f'"{name}"' for name in before[0].keys())  # noqa: SIM118
    assert await database.fetch(f"SELECT {selected} FROM orgs_versions ORDER BY 1, 2, 3") == before
    assert await partitions_of(database, "orgs_versions") == {partition_name("orgs_versions", t) for t in tenants}
    assert await partitions_of(database, "users_versions") == set()
    partition = partition_name("orgs_versions", tenants[0])
    assert await database.fetchval("SELECT reloptions FROM pg_class WHERE relname = $1", partition) == [
        "fillfactor=90"]  # fmt: skip
    assert await database.fetchval(  # sourcedIds still compare as bytes (migration 0004)
        "SELECT collname FROM pg_attribute JOIN pg_collation c ON c.oid = attcollation "
        "WHERE attrelid = 'orgs_versions'::regclass AND attname = 'sourcedId'") == "C"  # fmt: skip
    with pytest.raises(asyncpg.UniqueViolationError):
        await database.execute(f"INSERT INTO orgs_versions {columns} VALUES ($1, 'a', 1, NULL, 1, 0, 0, 'x', NULL)",
                               tenants[1])  # fmt: skip


async def test_migration_0009_gives_each_partition_its_index_of_versions_by_sync(database: asyncpg.Connection) -> None:
    await migrate(database, [m for m in load_migrations() if m.version < 9])
    small, large = [await database.fetchval("INSERT INTO tenants (name) VALUES ($1) RETURNING id", n) for n in "ab"]
    columns = '(tenant_id, "sourcedId", valid_from, valid_to, kind, content_hash, row_hash, "name")'
    for tenant in (small, large):
        await database.execute(f"CREATE TABLE orgs_versions_t{tenant} PARTITION OF orgs_versions "
                               f"FOR VALUES IN ({tenant})")  # fmt: skip
    await database.execute(f"INSERT INTO orgs_versions {columns} VALUES ($1, 'b', 4, 6, 1, 1, 1, 'B'), "
                           "($1, 'b', 6, NULL, 2, 2, 2, 'B2'), ($1, 'a', 4, NULL, 1, 3, 3, 'A')", small)  # fmt: skip
    await database.execute(f"INSERT INTO orgs_versions {columns} SELECT $1, 'k' || i, 4, NULL, 1, i, i, 'K' "
                           f"FROM generate_series(1, {LARGE_FIRST_LOAD}) AS i", large)  # fmt: skip
    await database.execute(f"INSERT INTO orgs_versions {columns} VALUES ($1, 'z', 7, NULL, 1, 0, 0, 'Z')", large)

    await migrate(database)

    assert await database.fetchval("SELECT to_regclass('orgs_versions_by_sync')") is None
    definition = 'CREATE INDEX {0} ON public.orgs_versions_t{1} USING btree (valid_from, "sourcedId")'
    indexes = {tenant: f"orgs_versions_t{tenant}_by_sync" for tenant in (small, large)}
    assert await database.fetchval("SELECT pg_get_indexdef($1::regclass)", indexes[small]) == definition.format(
        indexes[small], small)  # fmt: skip
    assert await database.fetchval("SELECT pg_get_indexdef($1::regclass)", indexes[large]) == definition.format(
        indexes[large], large) + " WHERE (valid_from > 4)"  # a large first load is left out  # fmt: skip
    await database.execute("ANALYZE orgs_versions")
    held = "SELECT reltuples FROM pg_class WHERE relname = $1"
    assert [await database.fetchval(held, indexes[t]) for t in (small, large)] == [3, 1]


async def test_the_versions_of_later_syncs_are_found_by_the_partitions_index_in_key_order(pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    async with pool.acquire() as conn:
        async with conn.transaction():
            first = [f"k{i:05}" for i in range(LARGE_FIRST_LOAD)]
            await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, first))
        for seq, keys in ((2, ["k00500", "k00007", "k01999"]), (3, ["k00003", "k00500"])):
            async with conn.transaction():
                await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, keys, valid_from=seq))
        await conn.execute(f"ANALYZE {TABLES[ORGS]}")
        index = f"{partition_name(TABLES[ORGS], tenant.id)}_by_sync"
        held = await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = $1", index)
        assert held == 5  # (counted by ANALYZE) the large first load's versions are not in it
        for seq, expected in ((2, ["k00007", "k00500", "k01999"]), (3, ["k00003", "k00500"])):
            query = (f'SELECT "sourcedId" FROM {TABLES[ORGS]} WHERE tenant_id = $1 AND valid_from = {seq} '
                     'AND "sourcedId" > $2 ORDER BY "sourcedId" LIMIT 100')  # fmt: skip
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", tenant.id, ""))
            assert f"Index Scan using {index}" in plan and "Sort" not in plan
            assert [r[0] for r in await conn.fetch(query, tenant.id, "")] == expected
            assert [r[0] for r in await conn.fetch(query, tenant.id, expected[0])] == expected[1:]


async def test_a_small_first_loads_versions_are_found_by_the_index_too(pool: asyncpg.Pool) -> None:
    tenant = await make_tenant(pool)
    async with pool.acquire() as conn:
        async with conn.transaction():  # a trial import of a few rows, then the real one
            await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["t2", "t1"]))
        async with conn.transaction():
            await copy_versions(conn, tenant.id, ORGS,
                                org_versions(tenant.id, [f"k{i:05}" for i in range(3000)], valid_from=2))  # fmt: skip
        await conn.execute(f"ANALYZE {TABLES[ORGS]}")
        query = f'SELECT "sourcedId" FROM {TABLES[ORGS]} WHERE tenant_id = $1 AND valid_from = 1 ORDER BY "sourcedId"'
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", tenant.id))
        assert f"Index Scan using {partition_name(TABLES[ORGS], tenant.id)}_by_sync" in plan
        assert [r[0] for r in await conn.fetch(query, tenant.id)] == ["t1", "t2"]


async def test_a_statement_of_one_tenant_locks_its_partition_only_however_often_it_runs(pool: asyncpg.Pool) -> None:
    """PostgreSQL 15 locks every partition a cached generic plan names when it runs it: once a statement had run five
    times with a tenant's id as a parameter, each run locked every tenant's partition (hundreds of tenants: out of
    shared memory, as a long hypothesis run of the engine properties found). In a transaction planning statements for
    their values, as an import's does, only the named tenant's partition is locked, however many tenants there
    are."""
    tenants = [await make_tenant(pool) for _ in range(12)]
    async with pool.acquire() as conn:
        for tenant in tenants:
            async with conn.transaction():
                await copy_versions(conn, tenant.id, ORGS, org_versions(tenant.id, ["a", "b"]))
        mine = tenants[0]
        async with conn.transaction():
            await plan_for_values(conn)
            for seq in range(2, 12):
                await supersede(conn, mine.id, ORGS, seq, ["a"], [])
            await current_keys(conn, mine.id, ORGS)
            locked = await conn.fetchval(
                """SELECT array_agg(DISTINCT l.relation::regclass::text) FROM pg_locks l
                   JOIN pg_inherits i ON i.inhrelid = l.relation
                   WHERE l.pid = pg_backend_pid() AND i.inhparent = $1::regclass""",
                TABLES[ORGS],
            )  # fmt: skip
    assert locked == [partition_name(TABLES[ORGS], mine.id)]
