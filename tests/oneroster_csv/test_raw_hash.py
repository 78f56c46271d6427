"""Raw hashes (raw_hash.raw_hashes, api.read_raw): equal for rows that validate alike, kept only for rows read exactly
as written, and validating some rows of a raw file gives what validating the whole file gives for them."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from oneroster_csv import RAW_HASH, DataType, FileMode, RawFile, read_raw
from oneroster_csv.reader import LINE
from tests.oneroster_csv.helpers import ENROLLMENT_HEADER, read_one

ROWS = ("e1,,,k1,s1,u1,student,,,", "e2,,,k1,s1,u2,teacher,true,,", "e3,,,k2,s2,u1,student,false,,")


def _raw(text: str, *, strict: bool = False, severities: Mapping[str, str] | None = None) -> RawFile:
    return read_raw(text.encode(), DataType.ENROLLMENTS, version="1.1", mode=FileMode.BULK, strict=strict,
                    severities=severities)  # fmt: skip


def _hashes(text: str, **settings: object) -> list[int | None]:
    return _raw(text, **settings).table.cells[RAW_HASH].to_list()  # type: ignore[arg-type]


def _file(*rows: str, header: str = ENROLLMENT_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_equal_cells_hash_equal_whatever_the_quoting_or_the_line() -> None:
    plain = _hashes(_file(*ROWS))
    quoted = _hashes(_file(ROWS[2], *(",".join(f'"{v}"' for v in row.split(",")) for row in ROWS[:2])))
    assert quoted == [plain[2], plain[0], plain[1]]
    assert len(set(plain)) == 3


def test_the_settings_and_the_header_are_part_of_the_hash() -> None:
    plain = _hashes(_file(*ROWS))
    assert _hashes(_file(*ROWS), strict=True) != plain
    assert _hashes(_file(*ROWS), severities={"row.invalid_email": "OFF"}) != plain
    reordered = ENROLLMENT_HEADER.replace("beginDate,endDate", "endDate,beginDate")
    assert _hashes(_file(*ROWS, header=reordered)) != plain


def test_only_rows_read_exactly_as_written_keep_their_hash() -> None:
    table = read_one(DataType.ENROLLMENTS, _file(*ROWS, "e4,,,k1,s1,u3,Student,,,", "e5,,,k1,s1,,student,,,"))
    kept = dict(zip(table.frame[LINE], table.frame[RAW_HASH], strict=True))
    assert [line for line, value in kept.items() if value is not None] == [2, 3, 4]  # e4 leniency, e5 blank user
    trimmed = read_one(DataType.ENROLLMENTS, _file(*ROWS[:2], "e3, ,,k2,s2,u1,student,,,"))
    assert trimmed.frame[RAW_HASH].null_count() == 3  # (a cell was trimmed somewhere: no row is known not to be)
    # a blank inside a value trims nothing: every row keeps its hash, quoted values or not
    for note in ("Room 12", '"Room 12,north"'):
        rows = (*(row + "," for row in ROWS[:2]), ROWS[2] + "," + note)
        table = read_one(DataType.ENROLLMENTS, _file(*rows, header=ENROLLMENT_HEADER + ",metadata.note"))
        assert table.frame[RAW_HASH].null_count() == 0, note


def test_a_row_with_a_structural_problem_has_no_hash() -> None:
    raw = _raw(_file(ROWS[0], ROWS[1] + ",extra", ROWS[2]))
    assert raw.table.cells[RAW_HASH].is_null().to_list() == [False, True, False]


@given(keep=st.lists(st.booleans(), min_size=5, max_size=5))
def test_validating_some_rows_gives_what_validating_all_gives_for_them(keep: list[bool]) -> None:
    rows = (*ROWS, "e4,,,k1,s1,u3,Student,,,", "bad id,,,k1,s1,u3,student,maybe,,")
    whole = _raw(_file(*rows)).validated()
    mask = pl.Series(keep)
    part = _raw(_file(*rows)).validated(mask)
    assert part.frame.equals(whole.frame.filter(mask))
    lines = whole.frame.filter(mask)[LINE].implode()
    assert part.findings.equals(whole.findings.filter(pl.col("line").is_in(lines)))


def test_columns_empty_on_every_row_are_kept_out_of_the_cells_and_validate_as_read() -> None:
    rows = (*ROWS, "e4,,,k1,s1,u3,Student,,,", "bad id,,,k1,s1,u3,student,maybe,,")
    raw = _raw(_file(*rows))
    assert len(raw.blank) == 4  # status, dateLastModified, beginDate, endDate: 16 bytes a cell no longer held
    assert raw.table.cells.width == 10 - 4 + 2  # the other cells, the line and the raw hash
    assert raw.cells(["sourcedId", "beginDate"])["beginDate"].to_list() == [""] * len(rows)
    read = read_one(DataType.ENROLLMENTS, _file(*rows))
    assert raw.validated().frame.equals(read.frame)
    assert raw.validated().findings.equals(read.findings)
    mask = pl.Series([True, False, True, False, True])
    assert raw.validated(mask).frame.equals(read.frame.filter(mask))
