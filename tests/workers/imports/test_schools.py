"""Per-school attribution (§2 "Per school") and the sync-level figures, on the handmade district.

The district: d1 with schools s1, s2 and department dep1 under s1; y1 (school year) > t1 (term); c1 at s1, c2 in the
district catalogue; k1 (c1, s1) and k2 (c2, s2), both in t1; u1 teacher at s1, u2 student at s1 and s2, u3 district
administrator; e1, e2 in k1 (s1), e3 in k2 (s2); u2's demographics.
"""

from __future__ import annotations

import polars as pl

from db.entities import TYPE_CODES
from db.entities_read import entities_by_keys
from oneroster_csv.model import DataType
from tests.workers.imports.conftest import District, summary
from tests.workers.imports.packages import (
    base_pkg,
    by_id,
    column_sums_hold,
    course,
    enrollment,
    klass,
    run,
    summary_table,
    user,
)
from workers.imports.engine import ImportResult
from workers.imports.schools import SchoolMap


def _totals(result: ImportResult, data_type: DataType) -> dict[str, int]:
    """school -> total of the type ('' = sync-wide)."""
    table = summary_table(result)
    return {school: row["total"] for (school, code), row in table.items() if code == TYPE_CODES[data_type]}


async def test_each_type_counts_in_the_schools_its_records_belong_to(district: District) -> None:
    result, records = await run(district, base_pkg())
    assert _totals(result, DataType.ORGS) == {"": 4, "s1": 2, "s2": 1}  # a school is its own; dep1 is s1's
    assert _totals(result, DataType.ACADEMIC_SESSIONS) == {"": 2, "s1": 2, "s2": 2}  # t1 via k1, k2; y1 above it
    assert _totals(result, DataType.COURSES) == {"": 2, "s1": 1, "s2": 1}  # c1 by its org, c2 through k2
    assert _totals(result, DataType.CLASSES) == {"": 2, "s1": 1, "s2": 1}
    assert _totals(result, DataType.USERS) == {"": 3, "s1": 2, "s2": 1}  # u2 in both, u3 district-level only
    assert _totals(result, DataType.ENROLLMENTS) == {"": 3, "s1": 2, "s2": 1}
    assert _totals(result, DataType.DEMOGRAPHICS) == {"": 1, "s1": 1, "s2": 1}  # through u2
    users = by_id(records, DataType.USERS)
    assert users["u2"][0].schools == ("s1", "s2")
    assert users["u3"][0].schools == ()
    assert summary(result, DataType.USERS, "s2")["new"] == 1


async def test_a_department_used_as_school_counts_in_its_parent_school(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["classes"].append(klass("k9", "c2", "dep1"))
    pkg.rows["enrollments"].append(enrollment("e9", "k9", "dep1", "u2"))
    pkg.rows["users"].append(user("u9", "dep1", "teacher"))
    result, records = await run(district, pkg)
    assert by_id(records, DataType.CLASSES)["k9"][0].schools == ("s1",)
    assert by_id(records, DataType.ENROLLMENTS)["e9"][0].schools == ("s1",)
    assert by_id(records, DataType.USERS)["u9"][0].schools == ("s1",)
    # the district course c2 now also counts in s1, through k9
    assert by_id(records, DataType.COURSES)["c2"][0].schools == ("s1", "s2")
    assert "dep1" not in {school for school, _ in summary_table(result)}  # a department has no table of its own


async def test_a_school_course_counts_only_in_its_own_school(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["classes"].append(klass("k9", "c1", "s2"))  # c1 is s1's course, taught at s2 too
    _, records = await run(district, pkg)
    assert by_id(records, DataType.COURSES)["c1"][0].schools == ("s1",)


async def test_an_unused_session_and_a_classless_district_course_are_district_level(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["academicSessions"].append({**pkg.rows["academicSessions"][1], "sourcedId": "t9"})
    pkg.rows["courses"].append(course("c9", "d1"))
    result, records = await run(district, pkg)
    assert by_id(records, DataType.ACADEMIC_SESSIONS)["t9"][0].schools == ()
    assert by_id(records, DataType.COURSES)["c9"][0].schools == ()
    assert summary(result, DataType.COURSES, "s1")["total"] == 1


async def test_skipped_rows_count_in_the_schools_their_own_values_name(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1,s2", enabledUser="perhaps"))  # skipped, names s1 and s2
    pkg.rows["enrollments"].append(enrollment("e9", "k1", "s2", "u2", role="learner"))  # skipped, names s2
    pkg.rows["classes"].append(klass("k9", "nowhere", "s2"))  # skipped: unknown course; names s2
    pkg.rows["demographics"].append({"sourcedId": "u9", "sex": "robot-and-skipped-user"})  # its user: nowhere
    result, records = await run(district, pkg)
    assert summary(result, DataType.USERS, "s1")["skipped"] == 1
    assert summary(result, DataType.USERS, "s2")["skipped"] == 1
    assert summary(result, DataType.ENROLLMENTS, "s2")["skipped"] == 1
    assert summary(result, DataType.ENROLLMENTS, "s1")["skipped"] == 0
    assert summary(result, DataType.CLASSES, "s2")["skipped"] == 1
    assert by_id(records, DataType.DEMOGRAPHICS)["u9"][0].schools == ()
    for row in summary_table(result).values():
        assert column_sums_hold(row), row


async def test_deleted_records_count_in_the_schools_they_belonged_to(district: District) -> None:
    await run(district, base_pkg())
    pkg = base_pkg()
    pkg.rows["enrollments"].pop()  # e3 (s2)
    pkg.rows["users"].pop(1)  # u2 (s1, s2)
    pkg.rows["enrollments"].pop(1)  # e2 refers to u2
    pkg.rows["demographics"] = [{"sourcedId": "u1", "sex": "male"}]
    result, _ = await run(district, pkg)
    assert summary(result, DataType.ENROLLMENTS, "s2")["deleted"] == 1
    assert summary(result, DataType.ENROLLMENTS, "s1")["deleted"] == 1
    assert summary(result, DataType.USERS, "s1")["deleted"] == 1
    assert summary(result, DataType.USERS, "s2")["deleted"] == 1
    assert summary(result, DataType.DEMOGRAPHICS, "s2")["deleted"] == 1
    demographics = summary(result, DataType.DEMOGRAPHICS, "s1")
    assert (demographics["deleted"], demographics["new"]) == (1, 1)  # u2's went, u1's came


async def test_sync_level_figures_add_up_the_summary(district: District) -> None:
    pkg = base_pkg()
    pkg.rows["users"].append(user("u9", "s1", email="broken"))  # invalid
    pkg.rows["users"].append(user("u8", "s1", givenName=""))  # skipped
    pkg.rows["orgs"] += [dict(pkg.rows["orgs"][1]), {**pkg.rows["orgs"][3], "name": "Other"}]  # merged, excluded pair
    result, _ = await run(district, pkg)
    sync_wide = [row for (school, _), row in summary_table(result).items() if school == ""]
    assert result.counts == {
        "records": sum(r["total"] for r in sync_wide),
        "errors": sum(r["skipped"] + r["excluded"] for r in sync_wide),
        "warnings": sum(r["invalid"] for r in sync_wide),
    }
    assert result.counts["errors"] == 1 + 2
    assert result.counts["warnings"] == 1
    stored = await district.pool.fetchrow(
        "SELECT record_count, error_count, warning_count FROM syncs WHERE tenant_id = $1 AND id = $2",
        district.tenant.id,
        result.sync_id,
    )
    assert stored is not None
    assert tuple(stored) == (result.counts["records"], result.counts["errors"], result.counts["warnings"])


async def test_a_record_counting_in_its_own_school_stores_no_school_list(district: District) -> None:
    # migration 0004: a class's or enrollment's schools are stored only when they differ from its schoolSourcedId
    pkg = base_pkg()
    pkg.rows["classes"].append(klass("k9", "c2", "dep1"))
    pkg.rows["enrollments"].append(enrollment("e9", "k9", "dep1", "u2"))
    await run(district, pkg)
    stored = {
        (table, row["sourcedId"]): row["schools"]
        for table in ("classes_versions", "enrollments_versions")
        for row in await district.pool.fetch(
            f'SELECT "sourcedId", schools FROM {table} WHERE tenant_id = $1', district.tenant.id
        )
    }
    assert stored[("classes_versions", "k1")] is None and stored[("enrollments_versions", "e1")] is None
    assert stored[("classes_versions", "k9")] == ["s1"] and stored[("enrollments_versions", "e9")] == ["s1"]
    async with district.pool.acquire() as conn:
        entities = await entities_by_keys(conn, district.tenant.id, [(DataType.ENROLLMENTS, k) for k in ("e1", "e9")])
    assert [entities[(DataType.ENROLLMENTS, k)].schools for k in ("e1", "e9")] == [["s1"], ["s1"]]


def test_own_schools_are_the_orgs_a_record_naming_them_counts_in_alone() -> None:
    """SchoolMap.own_schools: what lets an unchanged enrollment count in its school without being attributed again —
    a school (s1, s2), not a department (dep1 counts in s1), the district, or a school under a school (s3 counts in
    s2 and itself)."""
    orgs = pl.DataFrame(
        {
            "sourcedId": ["d1", "s1", "s2", "dep1", "s3"],
            "type": ["district", "school", "school", "department", "school"],
            "parentSourcedId": [None, "d1", "d1", "s1", "s2"],
        }
    )
    empty = pl.DataFrame(schema={c: pl.String for c in ("sourcedId", "parentSourcedId", "schoolSourcedId",
                                                        "courseSourcedId", "termSourcedIds")})  # fmt: skip
    users = pl.DataFrame(schema={c: pl.String for c in ("sourcedId", "orgSourcedIds", "primaryOrgSourcedId")})
    roles = pl.DataFrame(schema={c: pl.String for c in ("userSourcedId", "orgSourcedId")})
    schools = SchoolMap(orgs, empty, empty, users, roles)
    assert sorted(schools.own_schools().to_list()) == ["s1", "s2"]
