"""Entity versions: reading the current state columnar, and writing a sync's new versions with COPY.

Columnar on both sides: current keys and hashes come out with `COPY ... TO STDOUT` (text format), parsed by polars as
they stream in, and new versions go in with binary `COPY ... FROM STDIN` encoded column by column (db/pgcopy.py), so
no Python loop ever touches one row of a million-row import.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from enum import IntEnum
from typing import Any, cast

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from db.partitions import attach, create_detached, has_partition, partition_name
from db.pgcopy import HEADER, TRAILER, ColumnType, RowLayout, encode_rows, row_layout
from db.pool import Connection
from db.sql import ident
from oneroster_csv.model import DataType
from oneroster_csv.spec import layout_specs

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
    names: dict[str, None] = {}
    for spec in layout_specs(data_type):
        names.update(dict.fromkeys(spec.names))
    return list(names)


# Columns of a version row besides the attributes, in table order.
VERSION_HEAD = ("tenant_id", "sourcedId", "valid_from", "valid_to", "kind", "content_hash", "row_hash", "schools",
                "line", "invalid", "issues")  # fmt: skip


# Where `schools` is NULL it stands for the record's own school, in this column (migration 0004): nearly every class
# and enrollment counts in exactly the school it names, and the array was a fifth of an enrollment version.
OWN_SCHOOL: dict[DataType, str] = {DataType.CLASSES: "schoolSourcedId", DataType.ENROLLMENTS: "schoolSourcedId"}


def schools_sql(data_type: DataType, alias: str | None = None) -> str:
    """SQL of a version's schools (text[]), with a NULL spelled out as the record's own school."""
    prefix = "" if alias is None else f"{alias}."
    own = OWN_SCHOOL.get(data_type)
    return f"{prefix}schools" if own is None else f"coalesce({prefix}schools, ARRAY[{prefix}{ident(own)}])"


def version_columns(data_type: DataType) -> list[str]:
    return [*VERSION_HEAD, *attribute_columns(data_type)[1:], "metadata", "raw_hash", "info"]


_PARSE_BYTES = 8 * 2**20
# asyncpg hands over each socket read, about 12 KB as PostgreSQL streams a COPY out, at some 70 us of event-loop work
# each (half the cost of reading a million keys): after a small read, a pause lets the next one gather more.
_SMALL_READ, _GATHER_SECONDS = 64 * 2**10, 0.001
# Only once a stream is long: the result of a small query (most of a snapshot's) would wait for nothing.
_GATHER_AFTER = 2**20


async def _copy_out(conn: Connection, sql: str, schema: dict[str, pl.DataType], *args: object) -> pl.DataFrame:
    """A query's rows as a frame, parsed as they stream in (a million keys never sit in memory as text).

    In COPY's text format rather than CSV: PostgreSQL writes it some 20 % faster (no quoting to decide), and as a
    text value can hold neither a tab nor a line feed unescaped, polars splits it without quote handling; the rare
    value with a backslash escape is unescaped afterwards (`_unescaped`).
    """
    parts: list[pl.DataFrame] = []
    chunks: list[bytes] = []
    pending = received = 0
    whole = False  # a chunk ended inside a row: the rest is parsed in one piece at the end

    def parse() -> None:
        data = b"".join(chunks)
        chunks.clear()
        parts.append(pl.read_csv(data, has_header=False, new_columns=list(schema), schema_overrides=schema,
                                 separator="\t", quote_char=None, null_values=_TEXT_NULL,
                                 empty_string_is_null=False))  # fmt: skip

    async def receive(chunk: bytes) -> None:
        # Every chunk ends at a row's end, so the chunks gathered so far parse on their own: PostgreSQL sends each
        # row of a COPY out as one CopyData message, and asyncpg hands over whole messages only. (Checked, should
        # that ever change.)
        nonlocal pending, received, whole
        chunks.append(chunk)
        pending += len(chunk)
        received += len(chunk)
        whole = whole or not chunk.endswith(b"\n")
        if pending >= _PARSE_BYTES and not whole:
            parse()
            pending = 0
        if len(chunk) < _SMALL_READ and received >= _GATHER_AFTER:
            await asyncio.sleep(_GATHER_SECONDS)

    await conn.copy_from_query(sql, *args, output=receive, format="text")
    if chunks:
        parse()
    if not parts:
        return pl.DataFrame(schema=schema)
    frame = pl.concat(parts)
    return frame.with_columns(_unescaped(frame[name]) for name, dtype in schema.items() if dtype == pl.String)


_TEXT_NULL = "\\N"
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescaped(values: pl.Series) -> pl.Series:
    """A text column of COPY's text format with its backslash escapes undone: only the values that have one, so a
    column without any (nearly every one) costs a single scan."""
    escaped = values.str.contains("\\", literal=True).fill_null(False).arg_true()
    if escaped.len() == 0:
        return values
    undone = [_ESCAPE.sub(lambda m: _ESCAPED.get(m[1], m[1]), value) for value in values.gather(escaped).to_list()]
    return values.scatter(escaped, undone)


# A live record's raw hash, where its schools are just its own school (NULL, db.entities.OWN_SCHOOL): a row with
# that hash counts in exactly that school again as long as the school is still its own school (the engine checks).
RAW_KINDS = (int(VersionKind.NEW), int(VersionKind.UPDATED), int(VersionKind.NO_CHANGE))  # kinds of a record read
_UNCHANGED = f"kind IN {RAW_KINDS} AND schools IS NULL"
UNCHANGED_RAW = f"CASE WHEN {_UNCHANGED} THEN raw_hash END"
# With it, the INFO findings of the row (migration 0010), which a row taken as unchanged counts in the notes with.
UNCHANGED_INFO = f"CASE WHEN {_UNCHANGED} THEN info END"


# The columns of `current_keys`, as read (with `raw`: RAW_KEY_SCHEMA).
KEY_SCHEMA: dict[str, pl.DataType] = {"sourcedId": pl.String(), "content_hash": pl.Int64(), "row_hash": pl.Int64(),
                                      "kind": pl.Int16()}  # fmt: skip
RAW_KEY_SCHEMA: dict[str, pl.DataType] = {**KEY_SCHEMA, "raw_hash": pl.Int64(), "info": pl.Categorical()}


async def current_keys(conn: Connection, tenant_id: int, data_type: DataType, *, raw: bool = False) -> pl.DataFrame:
    """The current version of every entity of the type, deleted ones included: sourcedId, hashes, kind; and with
    `raw`, the raw hash of the row a record was read from where a row with that hash is unchanged in every way a
    sync counts (see `UNCHANGED_RAW`), else null, and that row's INFO findings (`UNCHANGED_INFO`)."""
    table = TABLES[data_type]
    raw_hash = f", {UNCHANGED_RAW}, {UNCHANGED_INFO}" if raw else ""
    sql = (f'SELECT "sourcedId", content_hash, row_hash, kind{raw_hash} FROM {table} '
           f"WHERE tenant_id = {int(tenant_id)} AND valid_to IS NULL")  # fmt: skip
    return await _copy_out(conn, sql, RAW_KEY_SCHEMA if raw else KEY_SCHEMA)


async def current_keys_and_values(
    conn: Connection, tenant_id: int, data_type: DataType, columns: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`current_keys` and `current_values` of `columns` in one read of the type's current versions: each row of a
    COPY out costs about the same whatever it holds, and a district's users are read once instead of twice."""
    table = TABLES[data_type]
    schema: dict[str, pl.DataType] = {**KEY_SCHEMA, **{name: pl.String() for name in columns}}
    select = ", ".join(ident(c) for c in schema)
    both = await _copy_out(conn, f"SELECT {select} FROM {table} WHERE tenant_id = {int(tenant_id)} "
                                 "AND valid_to IS NULL", schema)  # fmt: skip
    live = both.filter(pl.col("kind") != int(VersionKind.DELETED))
    return both.select(*KEY_SCHEMA), live.select("sourcedId", *columns)


async def has_current(conn: Connection, tenant_id: int, data_type: DataType) -> bool:
    """Whether the tenant has a current version of any entity of the type (deleted ones included)."""
    found: bool = await conn.fetchval(
        f"SELECT EXISTS (SELECT FROM {TABLES[data_type]} WHERE tenant_id = $1 AND valid_to IS NULL)", tenant_id
    )
    return found


async def current_values(
    conn: Connection,
    tenant_id: int,
    data_type: DataType,
    columns: Sequence[str],
    keys: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Attribute columns of the live (not deleted) current entities, optionally only those of `keys`."""
    table = TABLES[data_type]
    select = ", ".join(ident(c) for c in ["sourcedId", *columns])
    where = f"tenant_id = {int(tenant_id)} AND valid_to IS NULL AND kind <> {int(VersionKind.DELETED)}"
    schema: dict[str, pl.DataType] = {name: pl.String() for name in ["sourcedId", *columns]}
    if keys is None:
        return await _copy_out(conn, f"SELECT {select} FROM {table} WHERE {where}", schema)
    probes = _probes(table, str(int(tenant_id)), "$1")
    return await _copy_out(conn, f"SELECT {select} FROM {table} WHERE ctid = ANY(ARRAY({probes})) AND {where}",
                           schema, list(keys))  # fmt: skip


async def current_schools(conn: Connection, tenant_id: int, data_type: DataType, keys: Sequence[str]) -> pl.DataFrame:
    """sourcedId and schools (a list) of the current versions of `keys`."""
    records = await conn.fetch(
        f'''SELECT "sourcedId", {schools_sql(data_type)} FROM {TABLES[data_type]}
            WHERE tenant_id = $1 AND valid_to IS NULL AND "sourcedId" = ANY($2::text[])''',
        tenant_id, list(keys),
    )  # fmt: skip
    return _key_schools(records)


def _key_schools(records: Sequence[Any]) -> pl.DataFrame:
    """sourcedId and schools from rows of (sourcedId, schools), built through pyarrow: polars builds a list column
    from Python lists row by row, 70-90 ms for the 6,000 deletions of a day 2 against 2-5 ms this way."""
    table = pa.table({
        "sourcedId": pa.array([r[0] for r in records], pa.large_string()),
        "schools": pa.array([r[1] for r in records], pa.large_list(pa.large_string())),
    })  # fmt: skip
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


RowsSent = Callable[[int], Awaitable[None]]


async def copy_versions(
    conn: Connection,
    tenant_id: int,
    data_type: DataType,
    frame: pl.DataFrame,
    order: pl.Series | None = None,
    on_rows: RowsSent | None = None,
    loaded: Callable[[], None] | None = None,
) -> None:
    """Write new versions of the tenant's; `frame` has the columns of `version_columns` (any subset, the rest
    default), its tenant_id all `tenant_id`. `loaded` hears that they are in, before a new partition is attached.

    Into the tenant's partition; the first versions of the type create it, loaded before it is attached
    (db/partitions.py).
    """
    table = TABLES[data_type]
    if frame.height and not await has_partition(conn, table, tenant_id):
        first_seq = int(frame["valid_from"].min())  # type: ignore[arg-type]
        partition = await create_detached(conn, table, tenant_id, first_seq, frame.height)
        # (the partition fills in the tenant and the sync until it is attached: fewer bytes to send)
        defaulted = ["tenant_id"] + (["valid_from"] if frame["valid_from"].n_unique() == 1 else [])
        await copy_frame(conn, partition, frame.drop(defaulted), order, on_rows)
        if loaded is not None:
            loaded()  # (work for the worker while PostgreSQL builds the partition's indexes)
        await attach(conn, table, tenant_id)
        return
    if frame.height:
        await copy_frame(conn, partition_name(table, tenant_id), frame, order, on_rows)
    if loaded is not None:
        loaded()


COPY_CHUNK_ROWS = 25_000


async def copy_frame(
    conn: Connection,
    table: str,
    frame: pl.DataFrame,
    order: pl.Series | None = None,
    on_rows: RowsSent | None = None,
) -> None:
    """COPY a polars frame (columns named as the table's; text[] columns as lists) in binary, streamed in chunks,
    in the order of the row indices `order` if given. `on_rows` is told the rows sent so far after each chunk (an
    exception it raises aborts the COPY).

    Each chunk is encoded in a thread while PostgreSQL stores the previous one, and the whole file never sits in
    memory.
    """
    if frame.height == 0:
        return
    layout = row_layout(frame, await _column_types(conn, table))

    def encoding(offset: int) -> asyncio.Task[memoryview]:
        return asyncio.create_task(asyncio.to_thread(_encode_chunk, frame, order, offset, layout))

    async def chunks() -> AsyncIterator[bytes | memoryview]:
        # The next chunk is encoded while this one is sent: sending waits until PostgreSQL has read most of it.
        yield HEADER
        upcoming = encoding(0)
        try:
            for offset in range(0, frame.height, COPY_CHUNK_ROWS):
                chunk = await upcoming
                if offset + COPY_CHUNK_ROWS < frame.height:
                    upcoming = encoding(offset + COPY_CHUNK_ROWS)
                yield chunk
                if on_rows is not None:
                    await on_rows(min(offset + COPY_CHUNK_ROWS, frame.height))
        finally:
            upcoming.cancel()
        yield TRAILER

    # (asyncpg sends any buffer it is given, as the views of arrow's buffers are, though its stubs say bytes)
    source = cast(AsyncIterator[bytes], chunks())
    await conn.copy_to_table(table, source=source, columns=layout.columns, format="binary")


def _encode_chunk(frame: pl.DataFrame, order: pl.Series | None, offset: int, layout: RowLayout) -> memoryview:
    chunk = frame.slice(offset, COPY_CHUNK_ROWS) if order is None else frame[order.slice(offset, COPY_CHUNK_ROWS)]
    return encode_rows(chunk, layout)


async def _column_types(conn: Connection, table: str) -> dict[str, ColumnType]:
    """Column name -> its type, whether it takes NULL and whether it has a default."""
    records = await conn.fetch(
        """SELECT attname, format_type(atttypid, atttypmod), NOT attnotnull, atthasdef FROM pg_attribute
           WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped""",
        table,
    )
    return {r[0]: ColumnType(r[1], r[2], r[3]) for r in records}


async def supersede(
    conn: Connection,
    tenant_id: int,
    data_type: DataType,
    applied_seq: int,
    replaced: Sequence[str],
    carried: Sequence[tuple[str, VersionKind, int | None]],
) -> pl.DataFrame:
    """Close the current versions of `replaced` and `carried` keys; for each carried key also write a copy of its
    closed version as a new version of the given kind (DELETED tombstones, KEPT entities) with the given line.

    One statement, one primary-key probe per key, and the content never leaves PostgreSQL. Returns sourcedId and
    schools of the carried keys.
    """
    keys = [*replaced, *(key for key, _, _ in carried)]
    if not keys:
        return pl.DataFrame(schema={"sourcedId": pl.String, "schools": pl.List(pl.String)})
    table = TABLES[data_type]
    columns = [c for c in version_columns(data_type) if c not in ("valid_from", "valid_to", "kind", "line")]
    listed = ", ".join(ident(c) for c in columns)
    selected = ", ".join(f"closed.{ident(c)}" for c in columns)
    # JIT compiling never pays off for key probes, and a fresh import's table without statistics invites it.
    await conn.execute("SET LOCAL jit = off")
    records = await conn.fetch(
        f"""WITH closed AS (
                UPDATE {table} SET valid_to = $2
                WHERE tenant_id = $1 AND ctid = ANY(ARRAY({_probes(table, "$1", "$3", "AND valid_from <> $2")}))
                      AND valid_to IS NULL
                RETURNING *),
            carried AS (
                INSERT INTO {table} ({listed}, valid_from, kind, line)
                SELECT {selected}, $2, c.kind, c.line
                FROM closed JOIN unnest($4::text[], $5::smallint[], $6::int[]) AS c ("sourcedId", kind, line)
                     USING ("sourcedId")
                RETURNING "sourcedId", {schools_sql(data_type)} AS schools)
            SELECT "sourcedId", schools FROM carried""",
        tenant_id, applied_seq, keys, [k for k, _, _ in carried], [int(kind) for _, kind, _ in carried],
        [line for _, _, line in carried],
    )  # fmt: skip
    await conn.execute("SET LOCAL jit TO DEFAULT")
    return _key_schools(records)


async def renew_raw_hashes(
    conn: Connection,
    tenant_id: int,
    data_type: DataType,
    keys: Sequence[str],
    raw_hashes: Sequence[int],
    infos: Sequence[str | None],
) -> None:
    """Give the current versions of `keys` these raw hashes and INFO findings: the rows they were read from again,
    which validated to them unchanged (a version written before raw hashes, or under older rules, has none or
    another)."""
    await conn.execute(
        f'''UPDATE {TABLES[data_type]} v SET raw_hash = k.raw_hash, info = k.info
            FROM unnest($2::text[], $3::bigint[], $4::text[]) AS k ("sourcedId", raw_hash, info)
            WHERE v.tenant_id = $1 AND v."sourcedId" = k."sourcedId" AND v.valid_to IS NULL''',
        tenant_id, list(keys), list(raw_hashes), list(infos),
    )  # fmt: skip


def _probes(table: str, tenant: str, keys: str, condition: str = "") -> str:
    """A query of the row ids of the current versions of the keys in the text[] parameter `keys`, found by one
    primary-key probe per key.

    Written as a LIMITed lateral subquery so the planner cannot turn it into a join: `= ANY(keys)` or a join lets it
    scan the tenant's every version instead whenever its statistics are missing or it prefers a hash (a table just
    loaded by a million-row import has none yet). A ctid names a row within one partition only (migration 0006):
    the statement using these must name the tenant too.
    """
    return f"""SELECT current.ctid FROM unnest({keys}::text[]) AS k ("sourcedId"),
               LATERAL (SELECT v.ctid FROM {table} v WHERE v.tenant_id = {tenant} AND v."sourcedId" = k."sourcedId"
                        AND v.valid_to IS NULL {condition} LIMIT 1) AS current"""
