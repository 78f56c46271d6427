"""The reader's fast path (a plain file parsed straight from its bytes) reads every file exactly as the general path."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from oneroster_csv import reader
from oneroster_csv.model import PackageError
from oneroster_csv.reader import CsvTable, read_csv_bytes

# No CRs, so many generated files take the fast path; blanks, short and long rows, quotes inside values or not
# closed, and line breaks in quoted values make it give up.
plain = st.text(alphabet=["a", "b", " ", "\t", "é", "\u00a0", "1"], max_size=3)
quoted = st.lists(st.sampled_from(["a", ",", " ", '""', "\n", "é"]), max_size=4).map(lambda p: f'"{"".join(p)}"')
stray = st.lists(st.sampled_from(["a", '"', " "]), max_size=3).map("".join)
cell = st.one_of(plain, quoted, stray)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    width = draw(st.integers(1, 4))
    names = st.sampled_from(["h1", "h2", " k", "", '"h1"', '""', '"a,b"', '"x"y', '"q""q"', ' "s"'])
    header = ",".join(draw(st.lists(names, min_size=width, max_size=width)))
    rows = draw(st.lists(st.one_of(
        st.lists(cell, min_size=width, max_size=width).map(",".join),  # as wide as the header
        st.text(alphabet=["a", ",", " ", "\n", '"'], max_size=5),  # anything: blank, short, long, empty lines
    ), max_size=5))  # fmt: skip
    ending = draw(st.sampled_from(["", "\n", "\n\n"]))
    return ("\n".join([header, *rows]) + ending).encode()


@st.composite
def quoting_files(draw: st.DrawFn) -> bytes:
    """Files whose rows are all as wide as the header, values quoted whole or not: mostly the fast path's."""
    width = draw(st.integers(1, 4))
    header = ",".join(f'"h{i}"' if draw(st.booleans()) else f"h{i}" for i in range(width))
    whole = st.lists(st.sampled_from(["a", ",", " ", "\t", "é"]), max_size=4).map(lambda parts: f'"{"".join(parts)}"')
    row = st.lists(st.one_of(plain, whole), min_size=width, max_size=width).map(",".join)
    rows = draw(st.lists(row, min_size=1, max_size=5))
    return ("\n".join([header, *rows]) + draw(st.sampled_from(["", "\n"]))).encode()


def _read(data: bytes, strict: bool) -> CsvTable | str:
    try:
        return read_csv_bytes(data, "t.csv", strict=strict)
    except Exception as error:  # the same failure either way is what counts
        return repr(error)


def _same(fast: CsvTable | str, general: CsvTable | str) -> bool:
    if isinstance(fast, str) or isinstance(general, str):
        return fast == general
    return (fast.header, fast.cells.rows(), fast.problems.rows(), fast.notes, fast.needs_trim) == (
        general.header, general.cells.rows(), general.problems.rows(), general.notes, general.needs_trim)  # fmt: skip


def _fast_and_general(data: bytes, strict: bool) -> tuple[CsvTable | str, CsvTable | str]:
    fast = _read(data, strict)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(reader, "_read_simple", lambda *args: None)
        general = _read(data, strict)
    return fast, general


@settings(max_examples=400, deadline=None)
@given(data=files(), strict=st.booleans())
def test_the_fast_path_reads_as_the_general_path(data: bytes, strict: bool) -> None:
    assert _same(*_fast_and_general(data, strict))


@settings(max_examples=300, deadline=None)
@given(data=quoting_files(), strict=st.booleans())
def test_the_fast_path_reads_values_quoted_whole_as_the_general_path(data: bytes, strict: bool) -> None:
    assert _same(*_fast_and_general(data, strict))


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(files(), quoting_files()),
    at=st.integers(0, 10**6),
    bad=st.sampled_from([b"\xff", b"\xc3", b"\x93", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]),
)
def test_a_file_that_is_not_utf8_is_refused_naming_the_line(data: bytes, at: int, bad: bytes) -> None:
    """Neither path reads it (the fast path leaves the check to polars' parse): the failure names the first line
    that is not UTF-8."""
    at %= len(data) + 1
    broken = data[:at] + bad + data[at:]
    try:
        broken.decode("utf-8")
    except UnicodeDecodeError as error:
        line = broken.count(b"\n", 0, error.start) + 1
    else:
        assume(False)
    with pytest.raises(PackageError) as refused:
        read_csv_bytes(broken, "t.csv", strict=False)
    assert (refused.value.code, refused.value.line) == ("csv.invalid_utf8", line)


def test_a_plain_file_takes_the_fast_path() -> None:
    assert reader._read_simple(b"a,b\n1,2\n3,\n", "t.csv", ()) is not None


def test_a_file_quoting_every_field_header_included_takes_the_fast_path() -> None:
    table = reader._read_simple(b'"a","b"\n"1",""\n', "t.csv", ())
    assert table is not None and table.header == ("a", "b") and table.cells.rows()[0][:2] == ("1", "")
    assert reader._read_simple(b'"a,b",c\n1,2\n', "t.csv", ()) is None  # (a comma inside a quoted name)


def test_a_file_quoting_whole_values_takes_the_fast_path_and_others_do_not() -> None:
    table = reader._read_simple(b'a,b\n"x,y",2\n"",3\n', "t.csv", ())
    assert table is not None and table.cells.rows() == [("x,y", "2", 2), ("", "3", 3)] and not table.needs_trim
    for data in (
        b'a,b\n"x""y",2\n',
        b'a,b\n"x\ny",2\n',
        b'a,b\nx"y,2\n',
        b'"a"b,c\n1,2\n',
        b'a,b\n"x, ",2\n',
        b'a\nx\n"y""',  # an unclosed quote on a last line without a line feed
    ):
        table = reader._read_simple(data, "t.csv", ())
        assert table is None or table.needs_trim, data
