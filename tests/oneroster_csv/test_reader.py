from __future__ import annotations

import string

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_csv import PackageError
from oneroster_csv.reader import LINE, read_csv_bytes


def cells(data: bytes, strict: bool = False) -> list[tuple[object, ...]]:
    table = read_csv_bytes(data, "t.csv", strict=strict)
    return table.cells.rows()


def problems(data: bytes) -> list[tuple[int, str]]:
    table = read_csv_bytes(data, "t.csv", strict=False)
    return [(r["line"], r["code"]) for r in table.problems.iter_rows(named=True)]


def test_crlf_bom_and_missing_final_newline() -> None:
    assert cells(b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4") == [("1", "2", 2), ("3", "4", 3)]
    table = read_csv_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n", "t.csv", strict=False)
    assert table.header == ("a", "b")
    assert "csv.bom" in {n.code for n in table.notes}


def test_blank_lines_keep_physical_line_numbers() -> None:
    data = b"a,b\n\n1,2\n   \n,\n3,4\n\n"
    assert cells(data) == [("1", "2", 3), ("3", "4", 6)]


def test_quoted_commas_and_every_field_quoted() -> None:
    data = b'"a","b","c"\n"x, y","","he said ""hi"""\n'
    assert cells(data) == [("x, y", "", 'he said "hi"', 2)]


def test_ragged_rows_are_kept_and_flagged() -> None:
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    rows = cells(data)
    assert rows[1] == ("4", "5", None, 3)
    assert rows[2] == ("6", "7", "8", 4)
    assert problems(data) == [(3, "row.invalid_width"), (4, "row.invalid_width")]


def test_trailing_empty_cells_and_header_names_are_lenient() -> None:
    data = b"a,b,,\n1,2\n3,4,,\n5,6,,,\n"
    table = read_csv_bytes(data, "t.csv", strict=False)
    assert table.header == ("a", "b")
    assert table.cells.rows() == [("1", "2", 2), ("3", "4", 3), ("5", "6", 4)]
    assert table.problems.is_empty()
    with pytest.raises(PackageError) as exc:
        read_csv_bytes(data, "t.csv", strict=True)
    assert exc.value.code == "schema.empty_header"


def test_line_break_inside_quotes_is_one_flagged_row() -> None:
    data = b'a,b\n1,"x\ny"\n2,3\n'
    assert cells(data) == [("1", "x\ny", 2), ("2", "3", 4)]
    assert problems(data) == [(2, "csv.line_break_in_field")]


def test_unterminated_quote_only_affects_its_line() -> None:
    data = b'a,b\n1,"x\n2,3\n'
    rows = cells(data)
    assert rows[-1] == ("2", "3", 3)
    assert (2, "csv.unterminated_quote") in problems(data)


def test_stray_quote_inside_value_is_literal() -> None:
    assert cells(b'a,b\n5"10,x\n') == [('5"10', "x", 2)]


def test_bare_cr_lines() -> None:
    assert cells(b"a,b\r1,2\r3,4") == [("1", "2", 2), ("3", "4", 3)]
    with pytest.raises(PackageError) as exc:
        read_csv_bytes(b"a,b\r1,2\r", "t.csv", strict=True)
    assert exc.value.code == "csv.bare_cr"


def test_invalid_utf8_names_file_and_line() -> None:
    with pytest.raises(PackageError) as exc:
        read_csv_bytes(b"a,b\n1,2\n\x93x,3\n", "users.csv", strict=False)
    assert (exc.value.code, exc.value.file, exc.value.line) == ("csv.invalid_utf8", "users.csv", 3)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"a,b\n" + b"x,y\n" * 1000 + b"p,q\xc3\n", 1002),  # a file the fast path would take, but for one byte
        (b'"a","b"\n"x","y"\n"\xfe","z"\n', 3),  # quoted
        (b"a,\xe9b\nx,y\n", 1),  # in the header
        (b"a,b\nx,\xed\xa0\x80\n", 2),  # a surrogate's code
        (b"\xef\xbb\xbfa,b\nx,\xc0\xaf\n", 2),  # an overlong form, after a byte order mark
    ],
)
def test_text_that_is_not_utf8_is_refused_by_every_path(data: bytes, line: int) -> None:
    with pytest.raises(PackageError) as exc:
        read_csv_bytes(data, "users.csv", strict=False)
    assert (exc.value.code, exc.value.line) == ("csv.invalid_utf8", line)


def test_header_only_file() -> None:
    table = read_csv_bytes(b"a,b\n", "t.csv", strict=False)
    assert table.cells.height == 0
    assert "table.no_data_rows" in {n.code for n in table.notes}
    with pytest.raises(PackageError) as exc:
        read_csv_bytes(b"a,b\n", "t.csv", strict=True)
    assert exc.value.code == "table.no_data_rows"


def test_empty_file() -> None:
    with pytest.raises(PackageError) as exc:
        read_csv_bytes(b"", "t.csv", strict=False)
    assert exc.value.code == "csv.empty_file"


_CELL = st.text(alphabet=string.ascii_letters + string.digits + ' ,"-_.é', max_size=8)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    width = draw(st.integers(1, 5))
    names = [f"col{i}" for i in range(width)]
    rows = draw(st.lists(st.lists(_CELL, min_size=width, max_size=width), min_size=1, max_size=12))
    # A row of only empty cells would be a blank line for a one-column file; keep one non-empty cell.
    rows = [[*r[:-1], r[-1] or "v"] for r in rows]
    return names, rows


def _field(value: str, quote_all: bool) -> str:
    if quote_all or any(ch in value for ch in ',"') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


@settings(max_examples=150, deadline=None)
@given(tables(), st.booleans(), st.booleans(), st.booleans(), st.lists(st.integers(0, 12), max_size=4), st.booleans())
def test_roundtrip_values_and_physical_lines(
    table: tuple[list[str], list[list[str]]], crlf: bool, bom: bool, quote_all: bool, blanks: list[int], final_nl: bool
) -> None:
    names, rows = table
    eol = "\r\n" if crlf else "\n"
    out_lines = [",".join(names)]
    expected_lines: list[int] = []
    for i, row in enumerate(rows):
        out_lines += [""] * blanks.count(i)
        out_lines.append(",".join(_field(v, quote_all) for v in row))
        expected_lines.append(len(out_lines))
    text = eol.join(out_lines) + (eol if final_nl else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    result = read_csv_bytes(data, "t.csv", strict=False)
    assert result.header == tuple(names)
    assert result.problems.is_empty()
    assert result.cells[LINE].to_list() == expected_lines
    got = result.cells.drop(LINE).rows()
    assert [list(r) for r in got] == rows
    assert result.cells.schema[LINE] == pl.Int64
