"""Raw hashes (raw_hash.raw_hashes, api.read_raw): equal for rows that validate alike, kept only for rows read exactly
as written, and validating some rows of a raw file gives what validating the whole file gives for them."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_csv import RAW_HASH, DataType, FileMode, RawFile, read_raw
from oneroster_csv.model import Finding, Severity
from oneroster_csv.reader import LINE
from oneroster_csv.validate import INFO_KEYS
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
    more = (
        "e4,,,k1,s1,u3,Student,,,",
        "e5,,,k1,s1,,student,,,",
        "e6,,,k1,s1,u4,student,,05/06/2024,",
        "e7,,,k1,s1,u5,student,,2024/6/5,",
    )
    table = read_one(DataType.ENROLLMENTS, _file(*ROWS, *more))
    kept = dict(zip(table.frame[LINE], table.frame[RAW_HASH], strict=True))
    # e4 and e7 only raise INFO findings (a leniency), which their hash brings back as keys (INFO_KEYS); e5 a SOFT
    # one (blank user); e6's date reads by its column, day or month first, so the same row may not read the same
    assert [line for line, value in kept.items() if value is not None] == [2, 3, 4, 5, 8]
    info = dict(zip(table.frame[LINE], table.frame[INFO_KEYS], strict=True))
    assert (info[2], info[5], info[8]) == (None, "row.enum_case:role", "row.date_format:beginDate")
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


_LENIENT_ROWS = st.tuples(
    st.sampled_from(["", "active", "Active"]),
    st.sampled_from(["", "2024-08-26T12:00:00.000Z", "2024-08-26T12:00:00Z", "2024-08-26"]),
    st.sampled_from(["student", "Student", "TEACHER", "x"]),
    st.sampled_from(["", "true", "False"]),
    st.sampled_from(["", "2024-08-26", "2024/8/26"]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(_LENIENT_ROWS, min_size=1, max_size=12), st.lists(st.booleans(), min_size=12, max_size=12))
def test_rows_taken_unchanged_count_in_the_notes_as_if_validated(
    rows: list[tuple[str, str, str, str, str]], taken: list[bool]
) -> None:
    """A row with INFO findings only keeps its hash: taken as unchanged instead of validated, its notes still count
    (by its INFO_KEYS), with the same counts, first lines and examples as validating every row gives."""
    lines = [f"e{i},{status},{dlm},k1,s1,u{i},{role},{primary},{begin}," for i, (status, dlm, role, primary, begin)
             in enumerate(rows)]  # fmt: skip
    raw = read_raw(_file(*lines).encode(), DataType.ENROLLMENTS, version="1.1", mode=FileMode.BULK)
    full = raw.validated()
    mask = pl.Series([t for t, _ in zip(taken, rows, strict=False)]) & full.frame[RAW_HASH].is_not_null()
    part = raw.validated(~mask, taken=full.frame.filter(mask).select(LINE, INFO_KEYS))

    def info(notes: tuple[Finding, ...]) -> list[Finding]:
        return sorted((n for n in notes if n.severity is Severity.INFO), key=lambda n: (n.code, n.column or ""))

    assert info(part.notes) == info(full.notes)
