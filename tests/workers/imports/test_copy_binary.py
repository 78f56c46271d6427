"""Binary COPY (db/pgcopy.py): every column type the engine writes round-trips through PostgreSQL unchanged."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import entities
from db.entities import copy_frame

# h: a text[] that takes no NULL, where a NULL list is written as an empty array; k: e's texts as a categorical
# column (as the versions' INFO keys are)
TYPES = {"a": "bigint", "b": "integer", "c": "smallint", "d": "boolean", "e": "text", "f": "jsonb", "g": "text[]",
         "h": "text[] NOT NULL", "k": "text"}  # fmt: skip
SCHEMA: dict[str, pl.DataType] = {"a": pl.Int64(), "b": pl.Int64(), "c": pl.Int16(), "d": pl.Boolean(),
                                  "e": pl.String(), "f": pl.String(), "g": pl.List(pl.String),
                                  "h": pl.List(pl.String), "k": pl.Categorical()}  # fmt: skip

texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
rows = st.tuples(
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.integers(-(2**31), 2**31 - 1),
    st.none() | st.integers(-(2**15), 2**15 - 1),
    st.none() | st.booleans(),
    st.none() | texts,
    st.none() | st.dictionaries(st.sampled_from(["k", "é", "x y"]), texts, max_size=2),
    st.none() | st.lists(texts, max_size=3),
)


async def _round_trip(
    pool: asyncpg.Pool, frame: pl.DataFrame, order: pl.Series | None = None
) -> list[tuple[object, ...]]:
    async with pool.acquire() as conn, conn.transaction():
        columns = ", ".join(f"{name} {pg_type}" for name, pg_type in TYPES.items())
        await conn.execute(f"CREATE TEMP TABLE copied (i serial, {columns}) ON COMMIT DROP")
        await copy_frame(conn, "copied", frame, order)
        records = await conn.fetch(f"SELECT {', '.join(TYPES)} FROM copied ORDER BY i")
    return [tuple(r.values()) for r in records]


def _frame(values: list[tuple[object, ...]]) -> pl.DataFrame:
    encoded = [(*row[:5], None if row[5] is None else json.dumps(row[5]), row[6], row[6], row[4]) for row in values]
    return pl.DataFrame(encoded, schema=SCHEMA, orient="row")


def _expected(row: tuple[object, ...]) -> tuple[object, ...]:
    return (*row, row[6] if row[6] is not None else [], row[4])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(rows, max_size=30), start=st.integers(0, 5))
async def test_every_type_round_trips(pool: asyncpg.Pool, values: list[tuple[object, ...]], start: int) -> None:
    frame = _frame(values).slice(start)  # a slice: arrays whose buffers start at an offset
    expected = [_expected(row) for row in values[start:]]
    assert await _round_trip(pool, frame) == expected


# Columns of one kind each: a frame's column may be free of NULLs (integers and booleans then go in the block of
# fields of the same size on every row) or all NULL (sent as NULL when the column has a default, else left out).
column_kinds = st.sampled_from(["mixed", "no_null", "all_null"])


def _shaped(values: list[tuple[object, ...]], kinds: list[str]) -> list[tuple[object, ...]]:
    fills: tuple[object, ...] = (-(2**63), 2**31 - 1, -1, False, "x" * 200, {"k": "v"}, ["a", "b"])
    shaped = []
    for row in values:
        cells = list(row)
        for i, kind in enumerate(kinds):
            if kind == "all_null":
                cells[i] = None
            elif kind == "no_null" and cells[i] is None:
                cells[i] = fills[i]
        shaped.append(tuple(cells))
    return shaped


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(rows, min_size=1, max_size=20), kinds=st.lists(column_kinds, min_size=7, max_size=7),
       defaults=st.booleans())  # fmt: skip
async def test_columns_without_nulls_or_all_null_round_trip(
    pool: asyncpg.Pool, values: list[tuple[object, ...]], kinds: list[str], defaults: bool
) -> None:
    shaped = _shaped(values, kinds)
    default = {"a": "7", "b": "8", "c": "9", "d": "true", "e": "'d'", "f": "'{}'", "g": "'{}'"}
    async with pool.acquire() as conn, conn.transaction():
        columns = ", ".join(f"{name} {pg_type}" + (f" DEFAULT {default[name]}" if defaults and name in default else "")
                            for name, pg_type in TYPES.items())  # fmt: skip
        await conn.execute(f"CREATE TEMP TABLE copied (i serial, {columns}) ON COMMIT DROP")
        await copy_frame(conn, "copied", _frame(shaped))
        records = await conn.fetch(f"SELECT {', '.join(TYPES)} FROM copied ORDER BY i")
    # an all-NULL column is NULL whatever its default (h takes no NULL: an empty array)
    expected = [_expected(row) for row in shaped]
    assert [tuple(r.values()) for r in records] == expected


async def test_a_frame_of_columns_all_null_writes_its_rows(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE copied (i serial, e text, f jsonb) ON COMMIT DROP")
        await copy_frame(conn, "copied", pl.DataFrame({"e": [None, None]}, schema={"e": pl.String}))
        records = await conn.fetch("SELECT e, f FROM copied ORDER BY i")
    assert [tuple(r.values()) for r in records] == [(None, None), (None, None)]


async def test_rows_written_in_the_given_order_chunk_by_chunk(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entities, "COPY_CHUNK_ROWS", 2)  # three chunks, each encoded while the previous is sent
    frame = _frame([(i, i, i, True, str(i), {"k": str(i)}, [str(i)]) for i in range(5)])
    order = pl.Series([3, 1, 4, 0, 2], dtype=pl.UInt32)
    got = await _round_trip(pool, frame, order)
    assert [row[0] for row in got] == [3, 1, 4, 0, 2]
    assert [row[6] for row in got] == [["3"], ["1"], ["4"], ["0"], ["2"]]


async def test_rows_copied_out_are_parsed_as_they_stream_in(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entities, "_PARSE_BYTES", 4096)  # many parses, rows with quotes and escapes among them
    odd = ["", None, "a,b", 'say "hi"', "two\nlines", "tab\there", "\\N", "\\", "back\\slash\\n", "cr\r\n",
           "\x0bv\x08\x0c", "\\\t\\", "after"]  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE streamed ON COMMIT DROP AS "
                           "SELECT i, 'value ' || i AS v FROM generate_series(0, 99999) AS i")  # fmt: skip
        await conn.executemany("INSERT INTO streamed VALUES ($1, $2)", [(100_000 + i, v) for i, v in enumerate(odd)])
        schema: dict[str, pl.DataType] = {"i": pl.Int32(), "v": pl.String()}
        frame = await entities._copy_out(conn, "SELECT i, v FROM streamed ORDER BY i", schema)
    assert frame["v"].to_list() == [f"value {i}" for i in range(100_000)] + odd


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.none() | texts, max_size=30))
async def test_any_text_streams_out_as_stored(pool: asyncpg.Pool, values: list[str | None]) -> None:
    # COPY's text format escapes backslashes, tabs, line breaks and other control characters; NULL is \N.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("CREATE TEMP TABLE texts (i int, v text) ON COMMIT DROP")
        await conn.executemany("INSERT INTO texts VALUES ($1, $2)", list(enumerate(values)))
        schema: dict[str, pl.DataType] = {"i": pl.Int32(), "v": pl.String()}
        frame = await entities._copy_out(conn, "SELECT i, v FROM texts ORDER BY i", schema)
    assert frame["v"].to_list() == values


async def test_chunks_cut_inside_a_row_are_parsed_whole(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entities, "_PARSE_BYTES", 64)
    real = asyncpg.Connection.copy_from_query

    async def cut_in_three(self: asyncpg.Connection, query: str, *args: object, output: Any, **kw: Any) -> str:
        async def split(chunk: bytes) -> None:  # as a driver handing over arbitrary pieces would
            third = max(1, len(chunk) // 3)
            for start in range(0, len(chunk), third):
                await output(chunk[start : start + third])

        return await real(self, query, *args, output=split, **kw)

    monkeypatch.setattr(asyncpg.Connection, "copy_from_query", cut_in_three)
    async with pool.acquire() as conn:
        schema: dict[str, pl.DataType] = {"i": pl.Int32(), "v": pl.String()}
        frame = await entities._copy_out(conn, "SELECT i, 'row ' || i FROM generate_series(0, 2999) AS i", schema)
    assert frame["v"].to_list() == [f"row {i}" for i in range(3000)]
