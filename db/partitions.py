"""Per-tenant partitions of the version tables (migration 0006).

A tenant's partition of a type is created by the first write of versions of that type for that tenant: as a table
of its own, loaded, and only then attached, so PostgreSQL builds its indexes once from the loaded rows instead of
inserting each version into them with a WAL record each (a first import's million enrollments, measured with psql:
3.4 s to load and 1.8 s to attach, against 6.6-7.3 s loading the indexed table). Attaching takes a SHARE UPDATE
EXCLUSIVE lock on the parent: reads and writes of other tenants go on, and two first imports of different tenants
attach one after the other, the second waiting for the first to commit.

The partial indexes (`WHERE invalid`: a few rows) are the exception, made before the load: keeping them costs the
load a predicate per row, building them at the attach another scan of the whole table (a million enrollments: 0.02 s
against 0.06 s). And the attach sorts the primary key in memory (`ATTACH_SORT_MEMORY`): with the default 64 MB of
`maintenance_work_mem` a million keys spill to temporary files (0.30 s against 0.36 s to build it).

A partition also has an index of its own, attached to none of the parent's (migration 0009): its versions by sync,
`(valid_from, "sourcedId")`, where a large first load leaves its own out (`WHERE valid_from > <the sync that created
it>`). It finds the versions a later sync wrote (a day's few thousand among a million) in key order, as the
drill-downs page them; made before the load, it costs a large first load a predicate per row instead of another scan
of the table at the attach (a BRIN index on valid_from did this job before: 0.15 s of a million-enrollment first
import), and that load's own versions, most of the partition, are read along the primary key. A small first load is
indexed with the rest: a tenant's trial import of a few rows, followed by the real one, keeps its rows easy to find.
Queries name the sync by its value, not a parameter, so the planner can prove the predicate.

Every version of the first load has the tenant's id and the sync's number: until the attach they are the columns'
defaults on the partition, so the load does not send them (24 bytes a row in binary COPY).
"""

from __future__ import annotations

from db.pool import Connection
from db.sql import ident

FILLFACTOR = 90  # as migration 0004 set: closing a version rewrites it in its own page (a HOT update)
LARGE_FIRST_LOAD = 10_000  # rows: from here a first load is left out of the partition's index of versions by sync
ATTACH_SORT_MEMORY = "512MB"  # maintenance_work_mem while attaching: an upper bound, a sort takes what it needs


def partition_name(table: str, tenant_id: int) -> str:
    return f"{table}_t{int(tenant_id)}"


def tenant_literal(tenant_id: int) -> str:
    """A tenant's id as the API's statements on the version tables name it: a constant, not a parameter.

    PostgreSQL prunes partitions by a constant when it plans a statement, by a parameter only when it runs the plan;
    and PostgreSQL 15 locks every partition a cached generic plan names each time it runs one, which asyncpg's
    prepared statements get after five runs. With a parameter, a drill-down page read often enough on a connection
    locked every tenant's partitions (thousands of tenants: the lock table's slots run out, and each lock costs the
    read time); with the id written in, each of its plans names the tenant's partitions only, or none before the
    tenant's first versions (an empty result, not an error). The statement's text is then the tenant's own, as a
    drill-down's already is the sync's. (The import's statements plan for their values instead: db.pool.)"""
    return str(int(tenant_id))


async def has_partition(conn: Connection, table: str, tenant_id: int) -> bool:
    """Whether the tenant's partition of `table` exists (it has had versions of that type)."""
    found: bool = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", ident(partition_name(table, tenant_id)))
    return found


async def create_detached(conn: Connection, table: str, tenant_id: int, first_seq: int, rows: int) -> str:
    """Create the tenant's partition of `table` as a plain table, not yet attached, for `rows` versions of the sync
    `first_seq` to be loaded into it; return its name.

    Its CHECK on tenant_id proves the partition constraint, so attaching does not scan what it was loaded with;
    `tenant_id` and `valid_from` default to the tenant and `first_seq` until then (`copy_versions` sends neither,
    `attach` drops the defaults).
    """
    name = partition_name(table, tenant_id)
    statements = [
        f"CREATE TABLE {ident(name)} (LIKE {ident(table)} INCLUDING DEFAULTS, "
        f"CONSTRAINT {ident(name + '_tenant')} CHECK (tenant_id = {int(tenant_id)})) WITH (fillfactor = {FILLFACTOR})",
        f"ALTER TABLE {ident(name)} ALTER tenant_id SET DEFAULT {int(tenant_id)}, "
        f"ALTER valid_from SET DEFAULT {int(first_seq)}",
        versions_by_sync_index(name, first_seq if rows >= LARGE_FIRST_LOAD else None),
    ]
    for index, definition in await _partial_indexes(conn, table):
        # (the parent's definition on the partition; attaching then takes it as the partition's index of the parent's)
        method_on = definition[definition.index(" USING ") :]
        statements.append(f"CREATE INDEX {ident(name + index.removeprefix(table))} ON {ident(name)}{method_on}")
    await conn.execute(";\n".join(statements))
    return name


def versions_by_sync_index(partition: str, after_seq: int | None) -> str:
    """The statement making a partition's index of its versions by sync (see above), of those written after the
    sync `after_seq` if given."""
    where = "" if after_seq is None else f" WHERE valid_from > {int(after_seq)}"
    return f'CREATE INDEX {ident(partition + "_by_sync")} ON {ident(partition)} (valid_from, "sourcedId"){where}'


async def _partial_indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """Name and definition of each partial index of the partitioned `table`."""
    rows = await conn.fetch(
        """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indrelid = $1::regclass AND i.indpred IS NOT NULL AND NOT i.indisunique""",
        table,
    )
    return [(row[0], row[1]) for row in rows]


async def attach(conn: Connection, table: str, tenant_id: int) -> None:
    """Attach the tenant's partition created by `create_detached`, building its other indexes from what it holds."""
    partition = ident(partition_name(table, tenant_id))
    await conn.execute(
        f"ALTER TABLE {partition} ALTER tenant_id DROP DEFAULT, ALTER valid_from DROP DEFAULT;\n"
        f"SET LOCAL maintenance_work_mem = '{ATTACH_SORT_MEMORY}';\n"
        f"ALTER TABLE {ident(table)} ATTACH PARTITION {partition} "
        f"FOR VALUES IN ({int(tenant_id)});\n"
        "SET LOCAL maintenance_work_mem TO DEFAULT"
    )
