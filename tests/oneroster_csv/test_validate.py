from __future__ import annotations

import pytest

from oneroster_csv import DataType, FileMode, Severity

from .helpers import enrollments, found, header, read_one

GOOD = "e{n},,,c1,s1,u1,student,true,2023-08-01,2024-06-01"


def enr(*rows: str, mode: FileMode = FileMode.BULK, strict: bool = False, **kw: object):  # type: ignore[no-untyped-def]
    return read_one(DataType.ENROLLMENTS, enrollments(*rows), mode=mode, strict=strict, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "code", "column", "severity"),
    [
        ("e1,,,,s1,u1,student,,,", "row.missing_required", "classSourcedId", "HARD"),
        (",,,c1,s1,u1,student,,,", "row.missing_required", "sourcedId", "HARD"),
        ("bad id,,,c1,s1,u1,student,,,", "row.invalid_sourced_id", "sourcedId", "HARD"),
        ("e1,,,c 1,s1,u1,student,,,", "row.invalid_reference_id", "classSourcedId", "HARD"),
        ("e1,,,c1,s1,u1,pupil,,,", "row.invalid_enum", "role", "HARD"),
        ("e1,,,c1,s1,u1,student,maybe,,", "row.invalid_optional_boolean", "primary", "SOFT"),
        ("e1,,,c1,s1,u1,student,,2023-13-01,", "row.invalid_optional_date", "beginDate", "SOFT"),
        ("e1,,,c1,s1,u1,student,,2024-01-01,2023-01-01", "semantic.begin_after_end", "endDate", "SOFT"),
        ("e1,,,c1,s1,u1,student,,1/05/2023,", "row.ambiguous_date", "beginDate", "SOFT"),
        ("e1,tobedeleted,,c1,s1,u1,student,,,", "row.tobedeleted_in_bulk", "status", "HARD"),
        ("e1,inactive,,c1,s1,u1,student,,,", "row.unknown_status_in_bulk", "status", "SOFT"),
        ("e1,,,c1,s1,u1,student,,", "row.invalid_width", None, "HARD"),
        ('e1,,,c1,s1,u1,student,,"2023-\n01-01",', "csv.line_break_in_field", None, "HARD"),
    ],
)
def test_enrollment_rules(row: str, code: str, column: str | None, severity: str) -> None:
    t = enr(GOOD.format(n=0), row)
    assert (code, 3, column) in found(t)
    sev = t.findings.filter(t.findings["code"] == code)["severity"].to_list()
    assert sev == [severity]
    flag = "_hard" if severity == "HARD" else "_soft"
    assert t.frame.filter(t.frame["_line"] == 3)[flag].to_list() == [True]
    assert t.frame.filter(t.frame["_line"] == 2)["_hard"].to_list() == [False]


def test_clean_rows_have_no_findings() -> None:
    t = enr(GOOD.format(n=1), GOOD.format(n=2))
    assert t.findings.is_empty()
    assert t.frame["_hard"].to_list() == [False, False]


@pytest.mark.parametrize(
    ("row", "code", "column"),
    [
        ("e1,,2023-10-02T00:00:00.000Z,c1,s1,u1,student,,,", "row.missing_status_in_delta", "status"),
        ("e1,inactive,2023-10-02T00:00:00.000Z,c1,s1,u1,student,,,", "row.invalid_status", "status"),
        ("e1,active,,c1,s1,u1,student,,,", "row.missing_required", "dateLastModified"),
        ("e1,active,yesterday,c1,s1,u1,student,,,", "row.invalid_datetime", "dateLastModified"),
    ],
)
def test_delta_status_rules(row: str, code: str, column: str) -> None:
    t = enr(row, mode=FileMode.DELTA)
    assert (code, 2, column) in found(t)
    assert t.frame["_hard"].to_list() == [True]


def test_delta_tobedeleted_rows_need_only_the_id() -> None:
    t = enr("e1,tobedeleted,2023-10-02T00:00:00.000Z,,,,,,,", mode=FileMode.DELTA)
    assert t.findings.is_empty()
    assert t.frame["status"].to_list() == ["tobedeleted"]


def test_bulk_status_is_an_aggregated_note_and_strict_forbids_it() -> None:
    t = enr("e1,active,2023-05-01,c1,s1,u1,student,,,", "e2,Active,2023-05-01,c1,s1,u1,student,,,")
    assert t.findings.is_empty()
    notes = {(n.code, n.column): n for n in t.notes}
    assert notes[("row.status_in_bulk", "status")].count == 2
    assert notes[("row.status_in_bulk", "status")].line == 2
    strict = enr("e1,active,,c1,s1,u1,student,,,", strict=True)
    assert ("row.forbidden_in_bulk", 2, "status") in found(strict)


def test_lenient_rewrites_are_info_notes_with_count_and_first_line() -> None:
    t = enr(GOOD.format(n=1), "e2,,,c1,s1,u1,Student,TRUE,2023/08/01,")
    assert t.findings.is_empty()
    assert t.frame.row(1)[6:10] == ("student", "true", "2023-08-01", None)
    notes = {n.code: n for n in t.notes}
    assert {"row.enum_case", "row.boolean_case", "row.date_format"} <= set(notes)
    assert notes["row.enum_case"].severity is Severity.INFO
    assert (notes["row.enum_case"].line, notes["row.enum_case"].column, notes["row.enum_case"].count) == (3, "role", 1)
    strict = enr("e2,,,c1,s1,u1,Student,,,", strict=True)
    assert ("row.invalid_enum", 2, "role") in found(strict)


def test_academic_session_rules() -> None:
    text = "\n".join([
        header(DataType.ACADEMIC_SESSIONS),
        "as1,,,T,term,2023-09-01,2023-12-01,,2024",
        "as2,,,T,term,09/31/2023,2023-12-01,,2024",
        "as3,,,T,term,2023-09-01,2023-12-01,,24",
        "as4,,,T,term,2024-09-01,2023-12-01,,2024",
    ])  # fmt: skip
    t = read_one(DataType.ACADEMIC_SESSIONS, text)
    assert found(t) == {
        ("row.invalid_date", 3, "startDate"),
        ("row.invalid_year", 4, "schoolYear"),
        ("semantic.begin_after_end", 5, "endDate"),
    }


def test_user_rules() -> None:
    text = "\n".join([
        header(DataType.USERS),
        'u1,,,TRUE,o1,student,jd,"{LDAP:1}",J,D,,,j@x.org,,,,"9,10",',
        "u2,,,maybe,o1,student,jd2,,J,D,,,,,,,,",
        "u3,,,true,o1,student,jd3,nope,J,D,,,not-an-email,,,a b,3rd,",
    ])  # fmt: skip
    t = read_one(DataType.USERS, text)
    assert found(t) == {
        ("row.invalid_boolean", 3, "enabledUser"),
        ("row.invalid_user_ids", 4, "userIds"),
        ("row.invalid_email", 4, "email"),
        ("row.invalid_optional_reference_id", 4, "agentSourcedIds"),
        ("row.invalid_grade", 4, "grades"),
    }
    assert t.frame["grades"].to_list()[0] == "09,10"
    assert "row.grade_format" in {n.code for n in t.notes}


def test_optional_enum_and_list_rules() -> None:
    demo = header(DataType.DEMOGRAPHICS) + "\nu1,,,2010-01-01,x,,,,,,,,,,,\n"
    assert ("row.invalid_optional_enum", 2, "sex") in found(read_one(DataType.DEMOGRAPHICS, demo))
    classes = header(DataType.CLASSES) + '\nc1,,,T,,co1,,scheduled,,s1,t1,"a, b","x",\n'
    strict = read_one(DataType.CLASSES, classes, strict=True)
    assert ("row.invalid_list", 2, "subjects") in found(strict)
    lenient = read_one(DataType.CLASSES, classes, version="1.2")
    assert ("semantic.subject_codes_mismatch", 2, "subjectCodes") in found(lenient)
    assert lenient.frame["subjects"].to_list() == ["a,b"]


def test_multiple_primary_roles() -> None:
    text = "\n".join([
        header(DataType.ROLES, "1.2"),
        "r1,,,u1,primary,teacher,,,o1,",
        "r2,,,u1,secondary,aide,,,o1,",
        "r3,,,u1,primary,teacher,,,o1,",
        "r4,,,u1,primary,teacher,,,o2,",
    ])  # fmt: skip
    t = read_one(DataType.ROLES, text, version="1.2")
    assert found(t) == {("semantic.multiple_primary_roles", 4, "roleType")}


def test_severity_overrides() -> None:
    rows = ("e1,,,c1,s1,u1,pupil,,,", "bad id,,,c1,s1,u1,student,maybe,,", ",,,c1,s1,u1,student,,,",
            "e4,,,,s1,u1,student,,,")  # fmt: skip
    t = enr(*rows, severities={
        "row.invalid_enum": "SOFT", "row.invalid_optional_boolean": "HARD", "row.invalid_sourced_id": "OFF",
        "row.missing_required": "OFF",
    })  # fmt: skip
    sev = {(r["code"], r["line"]): r["severity"] for r in t.findings.iter_rows(named=True)}
    assert sev[("row.invalid_enum", 2)] == "SOFT"
    assert sev[("row.invalid_optional_boolean", 3)] == "HARD"
    assert sev[("row.invalid_sourced_id", 3)] == "HARD"  # structural: cannot be lowered
    assert sev[("row.missing_required", 4)] == "HARD"  # missing sourcedId is structural
    assert ("row.missing_required", 5) not in sev  # turned OFF for other columns
    assert t.frame["_hard"].to_list() == [False, True, True, False]
    assert t.frame["_soft"].to_list() == [True, False, False, False]
    with pytest.raises(ValueError):
        enr(*rows, severities={"row.invalid_enum": "WARN"})


def test_findings_frame_shape() -> None:
    t = enr("e1,,,,s1,u1,student,,,")
    assert t.findings.columns == ["line", "code", "severity", "column", "message", "sourced_id"]
    row = t.findings.row(0, named=True)
    assert row["sourced_id"] == "e1"
    assert "classSourcedId" in row["message"]
