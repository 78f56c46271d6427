"""db.outcomes on small handmade packages: each column's records, per school, bulk and delta files, duplicates,
dry runs, held syncs and the field changes of UPDATED records."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from db.field_changes import FieldChange
from db.outcomes import OutcomeCursor, OutcomeRecord, count_records, page_records
from oneroster_csv.model import DataType
from tests.conftest import make_tenant
from tests.workers.imports.conftest import District, write_package
from tests.workers.imports.test_drilldown_invariant import assert_drilldowns_match_summaries, page_to_the_end
from workers.imports.model import ImportOptions

USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,metadata.nick"
)
ORGS = """sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
d1,,,District,district,,
s1,,,School One,school,,d1
s2,,,School Two,school,,d1
"""
SESSIONS = """sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
t1,,,Term,term,2024-08-01,2025-06-30,,2025
"""
COURSES = """sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
c1,,,,Maths,,,s1,,
"""  # noqa: E501
CLASSES = """sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
k1,,,Maths A,,c1,,scheduled,,s1,t1,,,
k2,,,Maths B,,c1,,scheduled,,s2,t1,,,
"""  # noqa: E501
ENROLLMENTS = """sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
e1,,,k1,s1,u1,student,false,,
e2,,,k1,s1,u2,teacher,true,,
e3,,,k2,s2,u3,student,false,,
e4,,,k2,s2,u4,student,false,,
"""  # noqa: E501


def user(sid: str, orgs: str, given: str, *, role: str = "student", username: str | None = None, email: str = "",
         nick: str = "", status: str = "", modified: str = "") -> str:  # fmt: skip
    name = username or f"user-{sid}"
    return f'{sid},{status},{modified},true,"{orgs}",{role},{name},,{given},Family,,,{email},,,,,,{nick}'


def users(*rows: str) -> str:
    return "\n".join([USERS_HEADER, *rows]) + "\n"


BASE_USERS = [user("u1", "s1", "Ann", nick="A"), user("u2", "s1,s2", "Bob", role="teacher"),
              user("u3", "s2", "Cid"), user("u4", "s2", "Dee")]  # fmt: skip


def package(folder: Path, users_csv: str | None = None, *, only_users: bool = False, mode: str = "bulk") -> Path:
    files = {"users": users_csv or users(*BASE_USERS)}
    if not only_users:
        files |= {"orgs": ORGS, "academicSessions": SESSIONS, "courses": COURSES, "classes": CLASSES,
                  "enrollments": ENROLLMENTS}  # fmt: skip
    return write_package(folder, files, {stem: mode if stem == "users" else "bulk" for stem in files})


@pytest.fixture
async def district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))


async def records(
    district: District,
    sync_id: int,
    column: str = "TOTAL",
    *,
    data_type: DataType | None = DataType.USERS,
    school_id: str | None = None,
) -> list[OutcomeRecord]:
    """The column's records paged 2 at a time, checked against count_records."""  # fmt: skip
    async with district.pool.acquire() as conn:
        listed = await page_to_the_end(conn, district.tenant.id, sync_id, 2, data_type=data_type, column=column,
                                       school_id=school_id)  # fmt: skip
        assert await count_records(conn, district.tenant.id, sync_id, data_type=data_type, column=column,
                                   school_id=school_id) == len(listed)  # fmt: skip
    return listed


def ids(listed: list[OutcomeRecord]) -> list[str]:
    return [r.sourced_id for r in listed]


async def test_first_import_lists_every_record_as_new_with_its_values(district: District, tmp_path: Path) -> None:
    result = await district.run(package(tmp_path / "p"))
    assert result.status == "SUCCEEDED"
    new = await records(district, result.sync_id, "NEW")
    assert ids(new) == ["u1", "u2", "u3", "u4"] and ids(await records(district, result.sync_id)) == ids(new)
    u1, u2 = new[0], new[1]
    assert u1.line == 2 and u1.outcome == "NEW" and not u1.invalid and u1.changes == [] and u1.issues == []
    assert u1.attributes == {"sourcedId": "u1", "enabledUser": "true", "orgSourcedIds": "s1", "role": "student",
                             "username": "user-u1", "givenName": "Ann", "familyName": "Family",
                             "metadata.nick": "A"}  # fmt: skip
    assert u2.schools == ["s1", "s2"]
    assert ids(await records(district, result.sync_id, "NEW", school_id="s2")) == ["u2", "u3", "u4"]
    assert ids(await records(district, result.sync_id, "NEW", data_type=DataType.ENROLLMENTS, school_id="s1")) == [
        "e1",
        "e2",
    ]
    for column in ("NO_CHANGE", "UPDATED", "DELETED", "SKIPPED", "DUPLICATES", "MERGED", "EXCLUDED", "INVALID"):
        assert await records(district, result.sync_id, column) == [], column
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, result.sync_id)


async def test_unchanged_bulk_reimport_is_no_change_derived_from_versions(district: District, tmp_path: Path) -> None:
    await district.run(package(tmp_path / "p"))
    before = await district.all_versions()
    again = await district.run(package(tmp_path / "p"))
    assert await district.all_versions() == before  # nothing written: the NO_CHANGE records are derived
    assert await district.pool.fetchval("SELECT count(*) FROM record_outcomes WHERE sync_id = $1", again.sync_id) == 0
    listed = await records(district, again.sync_id, "NO_CHANGE")
    assert ids(listed) == ["u1", "u2", "u3", "u4"]
    assert all(r.line is None and r.outcome == "NO_CHANGE" for r in listed)
    assert listed[0].attributes["givenName"] == "Ann"
    assert len(await records(district, again.sync_id, "NO_CHANGE", data_type=None)) == 3 + 1 + 1 + 2 + 4 + 4
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, again.sync_id)


async def test_updated_record_carries_its_field_changes_dry_run_and_applied(district: District, tmp_path: Path) -> None:
    await district.run(package(tmp_path / "p"))
    changed = users(user("u1", "s1", "Anne", nick="B"), user("u2", "s2,s1", "Bob", role="teacher"),
                    *BASE_USERS[2:])  # fmt: skip
    folder = package(tmp_path / "q", changed)
    dry = await district.run(folder, ImportOptions(dry_run=True))
    applied = await district.run(folder)
    expected = [FieldChange("givenName", "Ann", "Anne"), FieldChange("metadata.nick", "A", "B")]
    for sync_id in (dry.sync_id, applied.sync_id):
        updated = await records(district, sync_id, "UPDATED")
        assert ids(updated) == ["u1"] and updated[0].changes == expected and updated[0].line == 2
        assert updated[0].attributes["givenName"] == "Anne"
        # u2's orgSourcedIds only changed order: a set, so NO_CHANGE
        assert ids(await records(district, sync_id, "NO_CHANGE")) == ["u2", "u3", "u4"]
        await assert_drilldowns_match_summaries(district.pool, district.tenant.id, sync_id)
    # a page without changes asked for leaves them out (the caller may not need them)
    async with district.pool.acquire() as conn:
        page = await page_records(conn, district.tenant.id, applied.sync_id, data_type=DataType.USERS,
                                  column="UPDATED", with_changes=False)  # fmt: skip
    assert page[0].changes == []


async def test_bulk_deletion_then_delta_file(district: District, tmp_path: Path) -> None:
    await district.run(package(tmp_path / "p"))
    bulk = await district.run(package(tmp_path / "q", users(*BASE_USERS[:3]), only_users=True))
    deleted = await records(district, bulk.sync_id, "DELETED")
    assert ids(deleted) == ["u4"] and deleted[0].line is None and deleted[0].schools == ["s2"]
    assert deleted[0].attributes["givenName"] == "Dee"  # a tombstone keeps the last content
    assert ids(await records(district, bulk.sync_id, "DELETED", school_id="s1")) == []
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, bulk.sync_id)

    stamp = "2024-05-01T00:00:00Z"
    delta_rows = users(
        user("u1", "s1", "Ann", nick="A", status="tobedeleted", modified=stamp),
        user("u2", "s1,s2", "Bobby", role="teacher", status="active", modified=stamp),
        user("u3", "s2", "Cid", status="active", modified=stamp),
        user("u9", "s2", "Nobody", status="tobedeleted", modified=stamp),
    )
    delta = await district.run(package(tmp_path / "r", delta_rows, only_users=True, mode="delta"))
    assert [(r.sourced_id, r.outcome, r.line) for r in await records(district, delta.sync_id)] == [
        ("u1", "DELETED", 2), ("u2", "UPDATED", 3), ("u3", "NO_CHANGE", 4), ("u9", "NO_CHANGE", 5)
    ]  # fmt: skip
    nothing_to_delete = (await records(district, delta.sync_id, "NO_CHANGE"))[1]
    assert [i.code for i in nothing_to_delete.issues] == ["row.delete_unknown"] and nothing_to_delete.schools == []
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, delta.sync_id)


async def test_skipped_merged_and_excluded_rows(district: District, tmp_path: Path) -> None:
    rows = users(
        user("u1", "s1", "Ann"),
        user("u1", "s1", "Ann"),  # the same row again: merged into line 2
        user("u2", "s1", "Bob"),
        user("u2", "s1", "Rob"),  # disagrees with line 4: both excluded
        user("u3", "s2", ""),  # missing givenName: skipped
        user("u4", "s2", "Dee"),
        user("u5", "s2", "Eve", username="user-u4"),  # clashes with u4's username: both excluded
    )
    result = await district.run(package(tmp_path / "p", rows))
    sync = result.sync_id
    assert [(r.sourced_id, r.line) for r in await records(district, sync, "NEW")] == [("u1", 2)]
    assert [(r.sourced_id, r.line) for r in await records(district, sync, "MERGED")] == [("u1", 3)]
    excluded = await records(district, sync, "EXCLUDED")
    assert [(r.sourced_id, r.line) for r in excluded] == [("u2", 4), ("u2", 5), ("u4", 7), ("u5", 8)]
    assert ids(await records(district, sync, "DUPLICATES")) == ["u1", "u2", "u2", "u4", "u5"]
    skipped = await records(district, sync, "SKIPPED")
    assert ids(skipped) == ["u3"] and skipped[0].line == 6 and skipped[0].schools == ["s2"]
    assert "row.missing_required" in [i.code for i in skipped[0].issues]
    assert all(i.severity == "HARD" for r in excluded for i in r.issues if i.code.startswith("duplicate."))
    assert excluded[1].attributes["givenName"] == "Rob"
    assert ids(await records(district, sync, "TOTAL")) == ["u1", "u1", "u2", "u2", "u3", "u4", "u5"]
    assert ids(await records(district, sync, "TOTAL", school_id="s2")) == ["u3", "u4", "u5"]
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, sync)


async def test_invalid_flag_is_judged_again_when_nothing_changed(district: District, tmp_path: Path) -> None:
    folder = package(tmp_path / "p", users(user("u1", "s1", "Ann", email="not-an-email"), *BASE_USERS[1:]))
    first = await district.run(folder)
    again = await district.run(folder)
    for sync_id, outcome in ((first.sync_id, "NEW"), (again.sync_id, "NO_CHANGE")):
        flagged = await records(district, sync_id, "INVALID")
        assert [(r.sourced_id, r.outcome, r.invalid) for r in flagged] == [("u1", outcome, True)]
        assert [i.field for i in flagged[0].issues] == ["email"]
        assert ids(await records(district, sync_id, "INVALID", school_id="s1")) == ["u1"]
        assert ids(await records(district, sync_id, "INVALID", school_id="s2")) == []
        await assert_drilldowns_match_summaries(district.pool, district.tenant.id, sync_id)


async def test_dry_run_lists_every_outcome_and_writes_no_version(district: District, tmp_path: Path) -> None:
    result = await district.run(package(tmp_path / "p"), ImportOptions(dry_run=True))
    assert all(not v for v in (await district.all_versions()).values())
    new = await records(district, result.sync_id, "NEW")
    assert [(r.sourced_id, r.line) for r in new] == [("u1", 2), ("u2", 3), ("u3", 4), ("u4", 5)]
    assert new[0].attributes["metadata.nick"] == "A" and new[1].schools == ["s1", "s2"]
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, result.sync_id)


async def test_a_held_sync_lists_what_it_would_have_done(district: District, tmp_path: Path) -> None:
    await district.run(package(tmp_path / "p"))
    before = await district.all_versions()
    options = ImportOptions(hold_delete_percent=10, hold_delete_minimum=1)
    held = await district.run(package(tmp_path / "q", users(BASE_USERS[0]), only_users=True), options)
    assert held.status == "HELD"
    assert await district.all_versions() == before
    deleted = await records(district, held.sync_id, "DELETED")
    assert ids(deleted) == ["u2", "u3", "u4"]
    assert deleted[0].attributes["givenName"] == "Bob" and deleted[0].schools == ["s1", "s2"]
    assert ids(await records(district, held.sync_id, "DELETED", school_id="s2")) == ["u2", "u3", "u4"]
    assert [(r.sourced_id, r.line) for r in await records(district, held.sync_id, "NO_CHANGE")] == [("u1", 2)]
    await assert_drilldowns_match_summaries(district.pool, district.tenant.id, held.sync_id)


async def test_pages_follow_one_keyset_order_across_types(district: District, tmp_path: Path) -> None:
    result = await district.run(package(tmp_path / "p"))
    async with district.pool.acquire() as conn:
        everything = await page_records(conn, district.tenant.id, result.sync_id, limit=1000)
        one_by_one = await page_to_the_end(conn, district.tenant.id, result.sync_id, 1)
        with pytest.raises(ValueError):
            await count_records(conn, district.tenant.id, result.sync_id, column="BOGUS")
    assert [r.cursor for r in one_by_one] == [r.cursor for r in everything]
    assert [r.data_type for r in everything][:2] == [DataType.ORGS, DataType.ORGS]
    assert [r.cursor.data_type for r in everything] == sorted(r.cursor.data_type for r in everything)
    assert len(everything) == 3 + 1 + 1 + 2 + 4 + 4
    with pytest.raises(ValueError):
        OutcomeCursor.decode("not a cursor")


async def test_another_tenant_reads_nothing_of_the_sync(district: District, pool: asyncpg.Pool, tmp_path: Path) -> None:
    result = await district.run(package(tmp_path / "p"))
    stranger = await make_tenant(pool)
    async with pool.acquire() as conn:
        assert await count_records(conn, stranger.id, result.sync_id) == 0
        assert await page_records(conn, stranger.id, result.sync_id) == []
        assert await count_records(conn, district.tenant.id, result.sync_id) == 15


async def test_a_blank_metadata_column_changes_nothing(district: District, tmp_path: Path) -> None:
    plain = USERS_HEADER.removesuffix(",metadata.nick")
    first = package(tmp_path / "p", "\n".join([plain, user("u1", "s1", "Ann").removesuffix(",")]) + "\n")
    await district.run(first)
    again = await district.run(package(tmp_path / "q", users(user("u1", "s1", "Ann"))))  # metadata.nick blank
    listed = await records(district, again.sync_id)
    assert [(r.sourced_id, r.outcome) for r in listed] == [("u1", "NO_CHANGE")]
