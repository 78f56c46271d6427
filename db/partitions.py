"""Per-tenant partitions of the version tables (migration 0006).

A tenant's partition of a type is created by the first write of versions of that type for that tenant: as a table
of its own, loaded, and only then attached, so PostgreSQL builds its indexes once from the loaded rows instead of
inserting each version into them with a WAL record each (a first import's million enrollments, measured with psql:
3.4 s to load and 1.8 s to attach, against 6.6-7.3 s loading the indexed table). Attaching takes a SHARE UPDATE
EXCLUSIVE lock on the parent: reads and writes of other tenants go on, and two first imports of different tenants
attach one after the other, the second waiting for the first to commit.
"""

from __future__ import annotations

from db.pool import Connection
from db.sql import ident

FILLFACTOR = 90  # as migration 0004 set: closing a version rewrites it in its own page (a HOT update)


def partition_name(table: str, tenant_id: int) -> str:
    return f"{table}_t{int(tenant_id)}"


async def has_partition(conn: Connection, table: str, tenant_id: int) -> bool:
    """Whether the tenant's partition of `table` exists (it has had versions of that type)."""
    found: bool = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", ident(partition_name(table, tenant_id)))
    return found


async def create_detached(conn: Connection, table: str, tenant_id: int) -> str:
    """Create the tenant's partition of `table` as a plain table, not yet attached, and return its name.

    Its CHECK on tenant_id proves the partition constraint, so attaching does not scan what it was loaded with.
    """
    name = partition_name(table, tenant_id)
    await conn.execute(
        f"CREATE TABLE {ident(name)} (LIKE {ident(table)} INCLUDING DEFAULTS, "
        f"CONSTRAINT {ident(name + '_tenant')} CHECK (tenant_id = {int(tenant_id)})) WITH (fillfactor = {FILLFACTOR})"
    )
    return name


async def attach(conn: Connection, table: str, tenant_id: int) -> None:
    """Attach the tenant's partition created by `create_detached`, building its indexes from what it holds."""
    await conn.execute(
        f"ALTER TABLE {ident(table)} ATTACH PARTITION {ident(partition_name(table, tenant_id))} "
        f"FOR VALUES IN ({int(tenant_id)})"
    )
