"""PostgreSQL's binary COPY format, encoded from polars columns without a Python loop over rows.

Binary COPY spares the server parsing CSV text and converting it to integers, booleans, arrays and jsonb: for a
million versions that is a fifth of the write. A row is `int16 field count`, then per field `int32 length | bytes`
(length -1: NULL), all in network byte order. The fields of the same size on every row come first, as one block per
row that numpy fills in (`RowLayout`); every other column becomes one or two arrays of per-row byte strings (its
length words, its bytes) or a constant, and one `binary_join_element_wise` lays them beside the blocks: the value
buffer of the result is exactly the chunk's rows. Other fixed-width values (length words) are byte-swapped by numpy
too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_BINARY = pa.large_binary()
_EMPTY = pa.scalar(b"", _BINARY)
_NULL = pa.scalar(b"\xff\xff\xff\xff", _BINARY)
_VERSION = pa.scalar(b"\x01", _BINARY)
_TEXT_OID = 25
_INTS = {"smallint": (pa.int16(), 2), "integer": (pa.int32(), 4), "bigint": (pa.int64(), 8)}

Part: TypeAlias = Any  # a pyarrow Array or Scalar of large_binary (pyarrow has no type stubs)
Encoder = Callable[[pl.Series], list[Part]]


@lru_cache(maxsize=64)  # a chunk needs a few widths; bounded, as the chunks' row counts vary
def _offsets(width: int, count: int) -> pa.Buffer:
    return pa.py_buffer(pl.int_range(0, (count + 1) * width, width, dtype=pl.Int64, eager=True).to_arrow().buffers()[1])


def _fixed(data: bytes | bytearray | np.ndarray, width: int, count: int) -> pa.Array:
    """`count` values of `width` bytes each, laid end to end in `data`, as a large_binary array."""
    return pa.Array.from_buffers(_BINARY, count, [None, _offsets(width, count), pa.py_buffer(data)])


def _big_endian(values: pa.Array, width: int, prefix: bytes = b"") -> pa.Array:
    """Integers (no nulls) as big-endian values of `width` bytes, each after `prefix` (numpy swaps the bytes)."""
    ints = values.cast(_INTS_BY_WIDTH[width]).to_numpy(zero_copy_only=False)
    names, formats, offsets = ["value"], [f">i{width}"], [len(prefix)]
    if prefix:
        names, formats, offsets = [*names, "prefix"], [*formats, f"V{len(prefix)}"], [*offsets, 0]
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": len(prefix) + width})
    fields = np.empty(len(ints), dtype)
    if prefix:
        fields["prefix"] = np.void(prefix)
    fields["value"] = ints
    return _fixed(fields, len(prefix) + width, len(ints))


_INTS_BY_WIDTH = {1: pa.int8(), **{width: arrow for arrow, width in _INTS.values()}}


def _lengths(values: pa.Array, valid: pa.Array | None, extra: int = 0) -> pa.Array:
    """Length words: the byte length of each value (plus `extra`), or -1 where not `valid`."""
    lengths = pc.add(pc.binary_length(values), extra).cast(pa.int32())
    if valid is not None:
        lengths = pc.if_else(valid, lengths, -1)
    return _big_endian(lengths, 4)


def _valid(series: pl.Series) -> pa.Array | None:
    return series.is_not_null().to_arrow() if series.null_count() else None


def _bytes_of(series: pl.Series) -> pa.Array:
    """The values as large_binary, NULL where null (the row's join leaves those out). Cast to binary in polars: a
    chunk's class ids, roles or dates reach arrow 4-6 times faster so than as text cast afterwards (filling their
    nulls cost as much again); sourcedIds, read at random in key order, take as long either way."""
    if series.dtype != pl.String:
        series = series.cast(pl.String)
    return series.cast(pl.Binary).to_arrow(compat_level=pl.CompatLevel.oldest())


def _integer(arrow: pa.DataType, width: int) -> Encoder:
    def encode(series: pl.Series) -> list[Part]:
        valid = _valid(series)
        values = series.fill_null(0).to_arrow().cast(arrow)
        if valid is None:
            return [_big_endian(values, width, width.to_bytes(4, "big"))]
        return [_lengths(_big_endian(values, width), valid), pc.if_else(valid, _big_endian(values, width), _EMPTY)]

    return encode


def _boolean(series: pl.Series) -> list[Part]:
    return _integer(pa.int8(), 1)(series.cast(pl.Int8))


def _text(series: pl.Series) -> list[Part]:
    values = _bytes_of(series)
    return [_lengths(values, _valid(series)), values]


def _jsonb(series: pl.Series) -> list[Part]:
    """jsonb's binary form is a version byte (1) and the JSON text."""
    valid = _valid(series)
    values = _bytes_of(series)
    version = _VERSION if valid is None else pc.if_else(valid, _VERSION, _EMPTY)
    return [_lengths(values, valid, 1), version, values]


def _text_array(series: pl.Series) -> list[Part]:
    """A text[] from a List(String) column (elements must not be null; a NULL list is an empty array here, NULL in
    `_nullable_text_array`).

    Header: ndim, has-nulls flag, element type oid, then per dimension its length and lower bound (1).
    """
    lists = series.fill_null([]).to_arrow(compat_level=pl.CompatLevel.oldest())
    assert isinstance(lists, pa.LargeListArray)
    elements = lists.flatten().cast(_BINARY)  # a slice's elements only, so its offsets are rebased
    offsets = pc.subtract(lists.offsets, lists.offsets[0])
    fields = pc.binary_join_element_wise(_lengths(elements, None), elements, _EMPTY)
    body = pc.binary_join(pa.LargeListArray.from_arrays(offsets, fields), _EMPTY)
    counts = pc.list_value_length(lists)
    oid = _TEXT_OID.to_bytes(4, "big")
    one = (1).to_bytes(4, "big")
    dimension = pc.binary_join_element_wise(pa.scalar(one + bytes(4) + oid, _BINARY), _big_endian(counts, 4),
                                            pa.scalar(one, _BINARY), _EMPTY)  # fmt: skip
    header = pc.if_else(pc.greater(counts, 0), dimension, pa.scalar(bytes(8) + oid, _BINARY))
    value = pc.binary_join_element_wise(header, body, _EMPTY)
    return [_lengths(value, None), value]


def _nullable_text_array(series: pl.Series) -> list[Part]:
    valid = _valid(series)
    if valid is None:
        return _text_array(series)
    length, value = _text_array(series)
    return [pc.if_else(valid, length, _NULL), pc.if_else(valid, value, _EMPTY)]


def _repeat(value: bytes, count: int) -> pa.Array:
    return _fixed(value * count, len(value), count)


def _all_null(series: pl.Series) -> bool:
    return series.null_count() == len(series)


def encoder(pg_type: str, nullable: bool = True) -> Encoder:
    """The field encoder of a column of `pg_type` (as `format_type` names it); `nullable`: whether the column takes
    NULL (a text[] column that does not gets an empty array for a NULL list)."""
    if pg_type == "text[]" and not nullable:
        return _text_array
    if pg_type in _INTS:
        chosen = _integer(*_INTS[pg_type])
    else:
        encoders: dict[str, Encoder] = {"text": _text, "jsonb": _jsonb, "boolean": _boolean,
                                        "text[]": _nullable_text_array}  # fmt: skip
        if pg_type not in encoders:
            raise TypeError(f"no binary COPY encoder for {pg_type}")
        chosen = encoders[pg_type]

    def encode(series: pl.Series) -> list[Part]:
        return [_NULL] if _all_null(series) else chosen(series)

    return encode


_WIDTHS = {"boolean": 1, **{pg_type: width for pg_type, (_, width) in _INTS.items()}}


class ColumnType(NamedTuple):
    """A table column as binary COPY needs to know it."""

    pg_type: str  # as format_type names it
    nullable: bool
    has_default: bool


@dataclass(frozen=True)
class RowLayout:
    """How a frame's rows are written: its columns in COPY order, the fields of the same size on every row first.

    Those fields (integers and booleans with no NULL in the frame, and columns that are all NULL) make one block per
    row, a template filled in by numpy; the others are joined to it value by value. Few parts make the join fast:
    it appends each part of each row on its own. A column all NULL without a default is left out: PostgreSQL fills
    it in.
    """

    columns: list[str]
    template: bytes  # one row's block: field count, fixed fields (values zero) and NULLs
    fixed: np.dtype  # the block's fixed values, each a big-endian field named as its column
    rest: list[tuple[str, Encoder]]


def row_layout(frame: pl.DataFrame, types: dict[str, ColumnType]) -> RowLayout:
    """The layout of `frame`'s rows in the table whose columns are `types`."""
    nulls = frame.null_count().row(0, named=True) if frame.width else {}
    template = bytearray(2)  # the field count, set below
    fixed: dict[str, tuple[str, int]] = {}  # name -> (numpy format, offset)
    blank: list[str] = []
    absent: list[str] = []
    rest: list[tuple[str, Encoder]] = []
    for name in frame.columns:
        column = types[name]
        if column.nullable and frame.height and nulls[name] == frame.height:
            (blank if column.has_default else absent).append(name)
        elif column.pg_type in _WIDTHS and nulls[name] == 0:
            width = _WIDTHS[column.pg_type]
            template += width.to_bytes(4, "big")
            fixed[name] = (f">i{width}", len(template))
            template += bytes(width)
        else:
            rest.append((name, encoder(column.pg_type, column.nullable)))
    if not (fixed or blank or rest):
        blank = absent  # (a row needs a field)
    template[:2] = (len(fixed) + len(blank) + len(rest)).to_bytes(2, "big")
    template += b"\xff\xff\xff\xff" * len(blank)
    dtype = np.dtype({"names": list(fixed), "formats": [f for f, _ in fixed.values()],
                      "offsets": [o for _, o in fixed.values()], "itemsize": len(template)})  # fmt: skip
    return RowLayout(list(fixed) + blank + [name for name, _ in rest], bytes(template), dtype, rest)


def _fixed_block(frame: pl.DataFrame, layout: RowLayout) -> pa.Array:
    """The rows' blocks: the template repeated, each fixed value written into it (numpy swaps the bytes)."""
    block = bytearray(layout.template * frame.height)
    fields = np.frombuffer(block, dtype=layout.fixed)
    for name in layout.fixed.names or ():
        series = frame[name]
        fields[name] = (series.cast(pl.Int8) if series.dtype == pl.Boolean else series).to_numpy()
    return _fixed(block, len(layout.template), frame.height)


def encode_rows(frame: pl.DataFrame, layout: RowLayout) -> memoryview:
    """The rows of `frame` (or of a slice of the frame `layout` was made for) in binary COPY form, fields in the
    order of `layout.columns` (without the file header and trailer): a view of arrow's buffer, not copied out."""
    if frame.height == 0:
        return memoryview(b"")
    parts: list[Part] = [_fixed_block(frame, layout)]
    for name, encode in layout.rest:
        parts.extend(encode(frame[name]))
    # The join is several times faster over arrays only: constants are spelled out once per row.
    arrays = [_repeat(p.as_py(), frame.height) if isinstance(p, pa.Scalar) else p for p in parts]
    rows = pc.binary_join_element_wise(*arrays, _EMPTY, null_handling="replace", null_replacement="")
    _, offsets, data = rows.buffers()
    assert offsets is not None and data is not None
    bounds = pl.Series(pa.Array.from_buffers(pa.int64(), len(rows) + 1, [None, offsets], offset=rows.offset))
    return memoryview(data[bounds[0] : bounds[-1]])


assert sys.byteorder == "little", "binary COPY encoding assumes a little-endian host"
