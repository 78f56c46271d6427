"""Entity versions: reading the current state columnar, and writing a sync's new versions with COPY.

Columnar on both sides: current keys and hashes come out with `COPY ... TO STDOUT (FORMAT csv)` straight into polars,
and new versions go in with `COPY ... FROM STDIN (FORMAT csv)` written by polars, so no Python loop ever touches one
row of a million-row import.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from enum import IntEnum

import polars as pl

from db.pool import Connection
from oneroster_csv.model import DataType
from oneroster_csv.spec import file_spec

TABLES: dict[DataType, str] = {
    DataType.ORGS: "orgs_versions",
    DataType.ACADEMIC_SESSIONS: "academic_sessions_versions",
    DataType.COURSES: "courses_versions",
    DataType.CLASSES: "classes_versions",
    DataType.USERS: "users_versions",
    DataType.ENROLLMENTS: "enrollments_versions",
    DataType.DEMOGRAPHICS: "demographics_versions",
    DataType.ROLES: "roles_versions",
    DataType.USER_PROFILES: "user_profiles_versions",
}

# The order of the GraphQL DataType enum; stored as data_type smallint in summaries and outcomes.
TYPE_CODES: dict[DataType, int] = {t: i for i, t in enumerate(TABLES)}


class VersionKind(IntEnum):
    """What the record was in the sync that wrote the version (see migration 0002)."""

    NEW = 1
    UPDATED = 2
    NO_CHANGE = 3
    DELETED = 4
    KEPT = 5


def attribute_columns(data_type: DataType) -> list[str]:
    """Every CSV column of the type over all layouts (1.1, 1.2, 1.2 with resourceSourcedIds), sourcedId first."""
    names: list[str] = []
    layouts: list[tuple[str, str | None]] = [("1.1", None), ("1.2", None)]
    if data_type is DataType.USERS:
        layouts.append(("1.2", "1.2+resourceSourcedIds"))
    for version, layout in layouts:
        try:
            spec = file_spec(data_type, version, layout)
        except (KeyError, ValueError):
            continue  # roles and userProfiles exist in 1.2 only
        names += [c.name for c in spec.columns if c.name not in names]
    return names


# Columns of a version row besides the attributes, in table order.
VERSION_HEAD = ("tenant_id", "sourcedId", "valid_from", "valid_to", "kind", "row_hash", "schools", "line", "invalid",
                "issues")  # fmt: skip


def version_columns(data_type: DataType) -> list[str]:
    return [*VERSION_HEAD, *attribute_columns(data_type)[1:], "metadata"]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _copy_out(conn: Connection, sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    buffer = io.BytesIO()
    await conn.copy_from_query(sql, output=buffer, format="csv")
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema_overrides=schema)


async def current_keys(conn: Connection, tenant_id: int, data_type: DataType) -> pl.DataFrame:
    """The current version of every entity of the type, deleted ones included: sourcedId, row_hash, kind."""
    table = TABLES[data_type]
    sql = (f'SELECT "sourcedId", row_hash, kind FROM {table} '
           f"WHERE tenant_id = {int(tenant_id)} AND valid_to IS NULL")  # fmt: skip
    return await _copy_out(conn, sql, {"sourcedId": pl.String(), "row_hash": pl.Int64(), "kind": pl.Int16()})


async def current_values(
    conn: Connection,
    tenant_id: int,
    data_type: DataType,
    columns: Sequence[str],
    keys: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Attribute columns of the live (not deleted) current entities, optionally only those of `keys`."""
    table = TABLES[data_type]
    select = ", ".join(_ident(c) for c in ["sourcedId", *columns])
    where = f"tenant_id = {int(tenant_id)} AND valid_to IS NULL AND kind <> {int(VersionKind.DELETED)}"
    schema: dict[str, pl.DataType] = {name: pl.String() for name in ["sourcedId", *columns]}
    if keys is None:
        return await _copy_out(conn, f"SELECT {select} FROM {table} WHERE {where}", schema)
    # `= ANY(array)` probes the primary key per key whatever the table's statistics say (a fresh million-row
    # import has none yet, and a join against a temporary table then degenerates into a nested loop).
    records = await conn.fetch(f'SELECT {select} FROM {table} WHERE {where} AND "sourcedId" = ANY($1::text[])',
                               list(keys))  # fmt: skip
    return pl.DataFrame([tuple(r) for r in records], schema=schema, orient="row")


async def current_schools(conn: Connection, tenant_id: int, data_type: DataType, keys: Sequence[str]) -> pl.DataFrame:
    """sourcedId and schools (a list) of the current versions of `keys`."""
    records = await conn.fetch(
        f'''SELECT "sourcedId", schools FROM {TABLES[data_type]}
            WHERE tenant_id = $1 AND valid_to IS NULL AND "sourcedId" = ANY($2::text[])''',
        tenant_id, list(keys),
    )  # fmt: skip
    return pl.DataFrame(
        [(r[0], list(r[1])) for r in records],
        schema={"sourcedId": pl.String, "schools": pl.List(pl.String)},
        orient="row",
    )


async def copy_versions(conn: Connection, data_type: DataType, frame: pl.DataFrame) -> None:
    """Write new versions; `frame` has the columns of `version_columns` (any subset, the rest default)."""
    if frame.height == 0:
        return
    columns = list(frame.columns)
    data = frame.write_csv(include_header=False).encode()
    await conn.copy_to_table(TABLES[data_type], source=io.BytesIO(data), columns=columns, format="csv")


async def carry_forward(
    conn: Connection,
    tenant_id: int,
    data_type: DataType,
    keys: Sequence[str],
    applied_seq: int,
    kind: VersionKind,
    lines: Sequence[int | None] | None = None,
) -> int:
    """Write a copy of the current version of each of `keys` as a new version of `kind` (tombstones, kept entities).

    The copy is made inside PostgreSQL: the content never travels to the worker and back. `= ANY` makes the
    versions side a primary-key probe even before the table has statistics.
    """
    if not keys:
        return 0
    columns = [c for c in version_columns(data_type) if c not in ("valid_from", "valid_to", "kind", "line")]
    listed = ", ".join(_ident(c) for c in columns)
    selected = ", ".join(f"v.{_ident(c)}" for c in columns)
    status = await conn.execute(
        f"""INSERT INTO {TABLES[data_type]} ({listed}, valid_from, kind, line)
            SELECT {selected}, $2, $3, s.line
            FROM {TABLES[data_type]} v JOIN unnest($4::text[], $5::int[]) AS s ("sourcedId", line) USING ("sourcedId")
            WHERE v.tenant_id = $1 AND v."sourcedId" = ANY($4::text[]) AND v.valid_to IS NULL""",
        tenant_id, applied_seq, int(kind), list(keys), list(lines) if lines is not None else [None] * len(keys),
    )  # fmt: skip
    return int(status.rsplit(" ", 1)[-1])


async def close_versions(
    conn: Connection, tenant_id: int, data_type: DataType, keys: Sequence[str], applied_seq: int
) -> int:
    """Mark the current versions of `keys` as superseded by the sync with `applied_seq` (its own are untouched)."""
    if not keys:
        return 0
    status = await conn.execute(
        f"""UPDATE {TABLES[data_type]} SET valid_to = $2
            WHERE tenant_id = $1 AND valid_to IS NULL AND valid_from <> $2 AND "sourcedId" = ANY($3::text[])""",
        tenant_id, applied_seq, list(keys),
    )  # fmt: skip
    return int(status.rsplit(" ", 1)[-1])
