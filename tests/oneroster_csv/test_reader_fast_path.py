"""The reader's fast path (a plain file parsed straight from its bytes) reads every file exactly as the general path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_csv import reader
from oneroster_csv.reader import CsvTable, read_csv_bytes

# No quotes or CRs, so many generated files take the fast path; blanks, short and long rows make it give up.
cell = st.text(alphabet=["a", "b", " ", "\t", "é", "\u00a0", "1"], max_size=3)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    width = draw(st.integers(1, 4))
    header = ",".join(draw(st.lists(st.sampled_from(["h1", "h2", " k", ""]), min_size=width, max_size=width)))
    rows = draw(st.lists(st.one_of(
        st.lists(cell, min_size=width, max_size=width).map(",".join),  # as wide as the header
        st.text(alphabet=["a", ",", " ", "\n"], max_size=5),  # anything: blank, short, long, empty lines
    ), max_size=5))  # fmt: skip
    ending = draw(st.sampled_from(["", "\n", "\n\n"]))
    return ("\n".join([header, *rows]) + ending).encode()


def _read(data: bytes, strict: bool) -> CsvTable | str:
    try:
        return read_csv_bytes(data, "t.csv", strict=strict)
    except Exception as error:  # the same failure either way is what counts
        return repr(error)


def _same(fast: CsvTable | str, general: CsvTable | str) -> bool:
    if isinstance(fast, str) or isinstance(general, str):
        return fast == general
    return (fast.header, fast.cells.rows(), fast.problems.rows(), fast.notes) == (
        general.header, general.cells.rows(), general.problems.rows(), general.notes)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(data=files(), strict=st.booleans())
def test_the_fast_path_reads_as_the_general_path(data: bytes, strict: bool) -> None:
    fast = _read(data, strict)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(reader, "_read_simple", lambda *args: None)
        general = _read(data, strict)
    assert _same(fast, general)


def test_a_plain_file_takes_the_fast_path() -> None:
    assert reader._read_simple(b"a,b\n1,2\n3,\n", "t.csv", ()) is not None
