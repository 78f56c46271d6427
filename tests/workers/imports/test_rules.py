"""Every row rule of §3 pinned on a small handmade district: hard rules skip the row, soft rules apply it flagged
invalid, and each finding carries its code, its column and the row's physical line (the header is line 1).

Each case adds one broken row at the end of a clean file, so the line is known and the rest of the file must import
untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from oneroster_csv.model import DataType
from tests.workers.imports.conftest import District, summary
from tests.workers.imports.packages import (
    Pkg,
    Row,
    base_pkg,
    by_id,
    by_line,
    codes_at,
    delta,
    enrollment,
    klass,
    run,
    session,
    user,
)
from workers.imports.model import ImportOptions


@dataclass(frozen=True)
class Case:
    stem: str
    row: Row
    code: str
    column: str
    mode: str = "bulk"
    extra_cells: int = 0


HARD_CASES: dict[str, Case] = {
    "missing required value": Case("users", user("u9", "s1", givenName=""), "row.missing_required", "givenName"),
    "invalid sourcedId": Case("users", user("bad id!", "s1"), "row.invalid_sourced_id", "sourcedId"),
    "row wider than the header": Case("users", user("u9", "s1"), "row.invalid_width", "", extra_cells=1),
    "row narrower than the header": Case("users", user("u9", "s1"), "row.invalid_width", "", extra_cells=-2),
    "invalid enum in a required field": Case(
        "classes", {**klass("k9", "c1", "s1"), "classType": "lecture"}, "row.invalid_enum", "classType"
    ),
    "invalid boolean in a required field": Case(
        "users", user("u9", "s1", enabledUser="yes"), "row.invalid_boolean", "enabledUser"
    ),
    "invalid date in a required field": Case(
        "academicSessions", session("t9", start="2024-13-45"), "row.invalid_date", "startDate"
    ),
    "invalid year": Case("academicSessions", session("t9", year="25"), "row.invalid_year", "schoolYear"),
    "invalid id in a required reference": Case(
        "enrollments", enrollment("e9", "k 1", "s1", "u2"), "row.invalid_reference_id", "classSourcedId"
    ),
    "tobedeleted in a bulk file": Case(
        "users", {**user("u9", "s1"), "status": "tobedeleted"}, "row.tobedeleted_in_bulk", "status"
    ),
    "delta row without status": Case(
        "users", {**delta(user("u9", "s1")), "status": ""}, "row.missing_status_in_delta", "status", mode="delta"
    ),
    "delta row with the legacy inactive status": Case(
        "users", delta(user("u9", "s1"), "inactive"), "row.invalid_status", "status", mode="delta"
    ),
    "delta row without dateLastModified": Case(
        "users",
        {**delta(user("u9", "s1")), "dateLastModified": ""},
        "row.missing_required",
        "dateLastModified",
        mode="delta",
    ),
    "delta row with an unreadable dateLastModified": Case(
        "users",
        {**delta(user("u9", "s1")), "dateLastModified": "yesterday"},
        "row.invalid_datetime",
        "dateLastModified",
        mode="delta",
    ),
    "required reference to nothing": Case(
        "classes", klass("k9", "nowhere", "s1"), "reference.missing_target", "courseSourcedId"
    ),
    "required list reference with one unknown item": Case(
        "users", user("u9", "s1,ghost"), "reference.missing_target", "orgSourcedIds"
    ),
    "demographics of an unknown user": Case(
        "demographics", {"sourcedId": "u404", "sex": "male"}, "reference.missing_target", "sourcedId"
    ),
}


def _with_case(case: Case) -> Pkg:
    pkg = base_pkg()
    rows = pkg.rows[case.stem]
    if case.mode == "delta":
        pkg.rows[case.stem] = rows = [delta(r) for r in rows]
        pkg.modes[case.stem] = "delta"
    rows.append(case.row)
    if case.extra_cells:
        pkg.extra_cells[case.stem] = {len(rows) - 1: case.extra_cells}
    return pkg


@pytest.mark.parametrize("name", list(HARD_CASES))
async def test_a_hard_rule_skips_the_row_with_its_code_column_and_line(district: District, name: str) -> None:
    case = HARD_CASES[name]
    pkg = _with_case(case)
    data_type = DataType(case.stem)
    line = len(pkg.rows[case.stem]) + 1  # header is line 1
    result, records = await run(district, pkg)
    assert result.status == "SUCCEEDED"
    row = summary(result, data_type)
    # the broken row is skipped; the clean rows before it are applied as usual
    assert row["skipped"] == 1
    assert row["new"] == row["total"] - 1
    record = by_line(records, data_type)[line]
    assert record.outcome == "SKIPPED"
    assert not record.invalid  # a skipped row is an error, not a flagged record
    assert case.code in record.codes
    finding = next(i for i in record.issues if i["code"] == case.code)
    assert finding["severity"] == "HARD"
    assert (finding["field"] or "") == case.column
    assert finding["message"]
    assert result.counts["errors"] >= 1


SOFT_CASES: dict[str, Case] = {
    "malformed e-mail": Case("users", user("u9", "s1", email="not-an-email"), "row.invalid_email", "email"),
    "grade outside CEDS": Case("users", user("u9", "s1", grades="13th"), "row.invalid_grade", "grades"),
    "session begins after it ends": Case(
        "academicSessions", session("t9", start="2025-06-15", end="2024-08-15"), "semantic.begin_after_end", "endDate"
    ),
    "enrollment begins after it ends": Case(
        "enrollments",
        enrollment("e9", "k2", "s2", "u1", "teacher", beginDate="2025-01-02", endDate="2024-01-02"),
        "semantic.begin_after_end",
        "endDate",
    ),
    "malformed optional date": Case(
        "enrollments", enrollment("e9", "k2", "s2", "u1", "teacher", beginDate="someday"), "row.invalid_optional_date",
        "beginDate",
    ),
    "invalid optional enum": Case(
        "demographics", {"sourcedId": "u1", "sex": "robot"}, "row.invalid_optional_enum", "sex"
    ),
    "invalid optional boolean": Case(
        "enrollments", enrollment("e9", "k2", "s2", "u1", "teacher", primary="maybe"), "row.invalid_optional_boolean",
        "primary",
    ),
    "enrollment school differs from the class school": Case(
        "enrollments", enrollment("e9", "k1", "s2", "u3", "administrator"), "semantic.enrollment_school_mismatch",
        "schoolSourcedId",
    ),
    "duplicate (class, user, role) under another sourcedId": Case(
        "enrollments", enrollment("e9", "k1", "s1", "u2"), "semantic.duplicate_enrollment", "userSourcedId"
    ),
    "optional reference unresolved": Case(
        "users", user("u9", "s1", agentSourcedIds="ghost-parent"), "reference.missing_optional_target",
        "agentSourcedIds",
    ),
    "unknown status token in a bulk file": Case(
        "users", {**user("u9", "s1"), "status": "inactive"}, "row.unknown_status_in_bulk", "status"
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SOFT_CASES))
async def test_a_soft_rule_applies_the_record_flagged_invalid(district: District, name: str) -> None:
    case = SOFT_CASES[name]
    pkg = _with_case(case)
    data_type = DataType(case.stem)
    line = len(pkg.rows[case.stem]) + 1
    result, records = await run(district, pkg)
    assert result.status == "SUCCEEDED"
    row = summary(result, data_type)
    assert row["skipped"] == 0
    assert row["new"] == row["total"]
    assert row["invalid"] == 1
    record = by_line(records, data_type)[line]
    assert record.outcome == "NEW"
    assert record.invalid
    finding = next(i for i in record.issues if i["code"] == case.code)
    assert finding["severity"] == "SOFT"
    assert finding["field"] == case.column
    assert result.counts["warnings"] == 1
    assert result.counts["errors"] == 0


async def test_several_primary_teachers_flag_every_primary_enrollment_of_the_class(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u4", "s1", "teacher"))
    pkg.rows["enrollments"].append(enrollment("e9", "k1", "s1", "u4", "teacher", "true"))
    result, records = await run(district, pkg)
    row = summary(result, DataType.ENROLLMENTS)
    assert row["new"] == row["total"] == 4
    assert row["invalid"] == 2  # e1 (line 2) and e9 (line 5) are both primary teachers of k1
    assert "semantic.multiple_primary_teachers" in codes_at(records, DataType.ENROLLMENTS, 2)
    assert "semantic.multiple_primary_teachers" in codes_at(records, DataType.ENROLLMENTS, 5)
    assert not by_line(records, DataType.ENROLLMENTS)[3].invalid


async def test_a_department_used_as_school_is_a_soft_finding(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["classes"].append(klass("k9", "c1", "dep1"))
    result, records = await run(district, pkg)
    assert summary(result, DataType.CLASSES)["invalid"] == 1
    assert "semantic.school_not_a_school" in codes_at(records, DataType.CLASSES, 4)


async def test_an_enrollment_of_a_skipped_class_is_skipped_and_says_why(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["classes"].append({**klass("k9", "c1", "s1"), "classType": "lecture"})  # line 4: skipped
    pkg.rows["enrollments"].append(enrollment("e9", "k9", "s1", "u2"))  # line 5
    result, records = await run(district, pkg)
    assert summary(result, DataType.CLASSES)["skipped"] == 1
    enrollments = summary(result, DataType.ENROLLMENTS)
    assert (enrollments["skipped"], enrollments["new"]) == (1, 3)
    record = by_line(records, DataType.ENROLLMENTS)[5]
    assert record.outcome == "SKIPPED"
    finding = next(i for i in record.issues if i["code"] == "reference.target_not_applied")
    assert finding["field"] == "classSourcedId"
    assert "line 4" in finding["message"]  # it names the class row that was not applied
    assert "reference.missing_target" not in record.codes


async def test_a_skipped_course_cascades_through_its_class_to_the_enrollments(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["courses"].append({"sourcedId": "c9", "title": "", "orgSourcedId": "s1"})  # line 4: no title
    pkg.rows["classes"].append(klass("k9", "c9", "s1"))  # line 4
    pkg.rows["enrollments"] += [enrollment("e8", "k9", "s1", "u1", "teacher"), enrollment("e9", "k9", "s1", "u2")]
    result, records = await run(district, pkg)
    for data_type, skipped in ((DataType.COURSES, 1), (DataType.CLASSES, 1), (DataType.ENROLLMENTS, 2)):
        assert summary(result, data_type)["skipped"] == skipped, data_type
    assert "row.missing_required" in codes_at(records, DataType.COURSES, 4)
    assert codes_at(records, DataType.CLASSES, 4) == {"reference.target_not_applied"}
    assert codes_at(records, DataType.ENROLLMENTS, 5) == {"reference.target_not_applied"}
    assert codes_at(records, DataType.ENROLLMENTS, 6) == {"reference.target_not_applied"}
    assert result.counts == {"records": 4 + 2 + 3 + 3 + 3 + 5 + 1, "errors": 4, "warnings": 0}


async def test_raising_a_soft_rule_to_hard_skips_the_row(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1", email="not-an-email"))
    result, records = await run(district, pkg, ImportOptions(severities={"row.invalid_email": "HARD"}))
    row = summary(result, DataType.USERS)
    assert (row["skipped"], row["new"], row["invalid"]) == (1, 3, 0)
    record = by_line(records, DataType.USERS)[5]
    assert record.outcome == "SKIPPED"
    assert record.issues[0]["severity"] == "HARD"


async def test_lowering_a_missing_required_target_to_soft_applies_the_row_flagged(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["classes"].append(klass("k9", "nowhere", "s1"))
    result, records = await run(district, pkg, ImportOptions(severities={"reference.missing_target": "SOFT"}))
    row = summary(result, DataType.CLASSES)
    assert (row["skipped"], row["new"], row["invalid"]) == (0, 3, 1)
    record = by_line(records, DataType.CLASSES)[4]
    assert record.outcome == "NEW"
    assert record.invalid
    assert record.issues[0] == {**record.issues[0], "code": "reference.missing_target", "severity": "SOFT"}


async def test_turning_a_rule_off_drops_its_finding(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1", email="not-an-email"))
    result, records = await run(district, pkg, ImportOptions(severities={"row.invalid_email": "OFF"}))
    assert summary(result, DataType.USERS)["invalid"] == 0
    assert not by_line(records, DataType.USERS)[5].codes


async def test_structural_rules_cannot_be_lowered(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1"))
    pkg.extra_cells["users"] = {3: 1}
    severities = {"row.invalid_width": "SOFT", "row.invalid_sourced_id": "OFF"}
    result, records = await run(district, pkg, ImportOptions(severities=severities))
    assert summary(result, DataType.USERS)["skipped"] == 1
    assert "row.invalid_width" in codes_at(records, DataType.USERS, 5)


async def test_a_skipped_row_is_an_error_not_a_flagged_record(district: District) -> None:
    # `invalid` is a flag of applied records (§2); the record list of a skipped row must not show it
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1", givenName=""))
    result, records = await run(district, pkg)
    assert summary(result, DataType.USERS)["invalid"] == 0  # the summary agrees...
    assert not by_line(records, DataType.USERS)[5].invalid  # ...the stored record_outcomes row does not


async def test_raising_a_semantic_rule_to_hard_skips_the_row(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["enrollments"].append(enrollment("e9", "k1", "s2", "u3", "administrator"))  # class k1 is at s1
    options = ImportOptions(severities={"semantic.enrollment_school_mismatch": "HARD"})
    result, records = await run(district, pkg, options)
    record = by_line(records, DataType.ENROLLMENTS)[5]
    assert record.outcome == "SKIPPED"
    assert summary(result, DataType.ENROLLMENTS)["skipped"] == 1


async def test_tobedeleted_in_any_case_is_skipped_in_a_lenient_bulk_file(district: District) -> None:
    # lenient mode reads enum tokens case-insensitively (TOBEDELETED is tobedeleted), so the bulk rule must hold too
    pkg = base_pkg()
    pkg.rows["users"].append({**user("u9", "s1"), "status": "TOBEDELETED"})
    result, records = await run(district, pkg)
    assert summary(result, DataType.USERS)["skipped"] == 1
    assert "row.tobedeleted_in_bulk" in codes_at(records, DataType.USERS, 5)


async def test_the_invalid_flag_is_judged_again_on_a_no_change_reimport(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1", email="not-an-email"))
    await run(district, pkg)
    result, records = await run(district, pkg)
    row = summary(result, DataType.USERS)
    assert (row["no_change"], row["invalid"]) == (4, 1)
    u9 = by_id(records, DataType.USERS)["u9"]
    assert [(r.outcome, r.invalid) for r in u9] == [("NO_CHANGE", True)]
    assert result.counts["warnings"] == 1


async def test_strict_mode_skips_what_lenient_mode_rewrites(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append({**user("u9", "s1"), "role": "Student"})  # line 5: a case rewrite in lenient mode
    pkg.rows["users"].append({**user("u8", "s1"), "status": "active"})  # line 6: status is forbidden in bulk
    lenient, _ = await run(district, pkg)
    assert summary(lenient, DataType.USERS)["skipped"] == 0
    strict, records = await run(district, pkg, ImportOptions(strict=True))
    assert summary(strict, DataType.USERS)["skipped"] == 2
    assert "row.invalid_enum" in codes_at(records, DataType.USERS, 5)
    assert "row.forbidden_in_bulk" in codes_at(records, DataType.USERS, 6)
