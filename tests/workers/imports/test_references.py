"""Delta and absent files, what references resolve against (§3), and what does and does not make a record UPDATED (§2).

Every test imports the handmade district first (day 1), then a second package (day 2) and checks day 2's outcomes.
"""

from __future__ import annotations

import json

import polars as pl

from db.entities import VersionKind, current_keys, current_values
from oneroster_csv.model import DataType
from tests.workers.imports.conftest import District, summary
from tests.workers.imports.packages import (
    DELTA_STAMP,
    Pkg,
    base_pkg,
    base_rows,
    by_id,
    by_line,
    content_state,
    csv_text,
    delta,
    enrollment,
    run,
    user,
    zip_bytes,
)
from workers.imports.model import SOURCED_ID, ImportOptions
from workers.imports.state import ATTRIBUTION_COLUMNS, load_snapshot


async def _day1(district: District) -> None:
    result, _ = await run(district, base_pkg())
    assert result.status == "SUCCEEDED" and result.counts["errors"] == 0


async def test_delta_tobedeleted_deletes_an_existing_record_and_ignores_an_unknown_one(district: District) -> None:
    await _day1(district)
    rows = [
        delta({"sourcedId": "e2"}, "tobedeleted"),  # line 2: exists
        delta({"sourcedId": "e404"}, "tobedeleted"),  # line 3: never existed
        delta(enrollment("e9", "k2", "s2", "u1", "teacher")),  # line 4: new
    ]
    pkg = Pkg({"enrollments": rows}, modes={"enrollments": "delta"})
    result, records = await run(district, pkg)
    row = summary(result, DataType.ENROLLMENTS)
    assert (row["total"], row["deleted"], row["no_change"], row["new"], row["skipped"]) == (3, 1, 1, 1, 0)
    assert by_line(records, DataType.ENROLLMENTS)[2].outcome == "DELETED"
    unknown = by_line(records, DataType.ENROLLMENTS)[3]
    assert unknown.outcome == "NO_CHANGE"
    assert "row.delete_unknown" in unknown.codes  # an explanation, not an error
    assert result.counts["errors"] == 0
    state = await content_state(district)
    assert [r[0][1] for r in state["enrollments_versions"]] == ["e1", "e3", "e9"]
    # a delta file deletes only what it names: the other types are untouched and have no summary row
    assert summary(result, DataType.USERS) == {}


async def test_a_deleted_entity_stays_readable_as_a_tombstone_and_comes_back_as_new(district: District) -> None:
    await _day1(district)
    await run(district, Pkg({"users": [delta({"sourcedId": "u3"}, "tobedeleted")]}, modes={"users": "delta"}))
    kind = await district.pool.fetchval(
        """SELECT kind FROM users_versions WHERE tenant_id = $1 AND "sourcedId" = 'u3' AND valid_to IS NULL""",
        district.tenant.id,
    )
    assert kind == 4  # DELETED, with its last content
    result, _ = await run(
        district, Pkg({"users": [delta(user("u3", "d1", "administrator"))]}, modes={"users": "delta"})
    )
    assert summary(result, DataType.USERS)["new"] == 1  # "had only as deleted" counts as new


async def test_the_snapshot_reads_keys_and_values_of_a_type_at_once_as_apart(district: District) -> None:
    await _day1(district)
    await run(district, Pkg({"users": [delta({"sourcedId": "u3"}, "tobedeleted")]}, modes={"users": "delta"}))
    async with district.pool.acquire() as conn, conn.transaction():
        snapshot = await load_snapshot(conn, district.tenant.id, [DataType.USERS, DataType.CLASSES, DataType.COURSES])
        for data_type, columns in ATTRIBUTION_COLUMNS.items():
            values = await current_values(conn, district.tenant.id, data_type, columns)
            assert snapshot.values[data_type].sort(SOURCED_ID).equals(values.sort(SOURCED_ID))
        for data_type in (DataType.USERS, DataType.CLASSES, DataType.COURSES):
            keys = await current_keys(conn, district.tenant.id, data_type)
            assert snapshot.keys[data_type].sort(SOURCED_ID).equals(keys.sort(SOURCED_ID))
    users = snapshot.keys[DataType.USERS]
    assert users.filter(pl.col(SOURCED_ID) == "u3")["kind"].to_list() == [VersionKind.DELETED]  # a tombstone: a key
    assert "u3" not in snapshot.values[DataType.USERS][SOURCED_ID].to_list()  # but no live value
    assert set(snapshot.keys) == {DataType.USERS, DataType.CLASSES, DataType.COURSES}


async def test_delta_references_resolve_against_current_data_of_absent_files(district: District) -> None:
    await _day1(district)
    pkg = Pkg({"enrollments": [delta(enrollment("e9", "k2", "s2", "u1", "teacher"))]}, modes={"enrollments": "delta"})
    result, records = await run(district, pkg)  # classes, orgs, users are not in the package: k2, s2, u1 are current
    assert summary(result, DataType.ENROLLMENTS)["new"] == 1
    assert not by_line(records, DataType.ENROLLMENTS)[2].codes


async def test_delta_references_resolve_against_a_delta_file_of_the_target(district: District) -> None:
    await _day1(district)
    pkg = Pkg(
        {
            "users": [delta({"sourcedId": "u3"}, "tobedeleted"), delta(user("u4", "s2"))],
            "enrollments": [
                delta(enrollment("e8", "k2", "s2", "u4")),  # line 2: u4 arrives in the same package
                delta(enrollment("e9", "k2", "s2", "u3", "administrator")),  # line 3: u3 is deleted by it
                delta(enrollment("e7", "k2", "s2", "u1", "teacher")),  # line 4: u1 untouched, current
            ],
        },
        modes={"users": "delta", "enrollments": "delta"},
    )
    result, records = await run(district, pkg)
    row = summary(result, DataType.ENROLLMENTS)
    assert (row["new"], row["skipped"]) == (2, 1)
    assert by_line(records, DataType.ENROLLMENTS)[3].codes == ("reference.missing_target",)


async def test_references_do_not_resolve_against_records_a_bulk_file_drops(district: District) -> None:
    await _day1(district)
    rows = base_rows()
    pkg = Pkg(
        {"classes": rows["classes"][:1], "enrollments": [delta(enrollment("e9", "k2", "s2", "u1", "teacher"))]},
        modes={"classes": "bulk", "enrollments": "delta"},
    )
    result, records = await run(district, pkg)
    assert summary(result, DataType.CLASSES)["deleted"] == 1  # k2 is gone after this sync
    record = by_line(records, DataType.ENROLLMENTS)[2]
    assert record.outcome == "SKIPPED"
    assert record.codes == ("reference.missing_target",)


async def test_an_absent_file_changes_nothing_and_has_no_summary_row(district: District) -> None:
    await _day1(district)
    before = await content_state(district)
    rows = base_rows()
    files = {"orgs": csv_text("orgs", rows["orgs"])}
    modes = {"orgs": "bulk", "users": "absent", "enrollments": "absent"}
    result, _ = await run(district, zip_bytes(files, modes))
    assert result.status == "SUCCEEDED"
    assert summary(result, DataType.USERS) == {}
    assert summary(result, DataType.ENROLLMENTS) == {}
    assert summary(result, DataType.ORGS)["no_change"] == 4
    assert await content_state(district) == before


async def test_a_file_the_manifest_does_not_name_is_ignored(district: District) -> None:
    await _day1(district)
    before = await content_state(district)
    rows = base_rows()
    files = {"orgs": csv_text("orgs", rows["orgs"]), "users": csv_text("users", rows["users"][:1])}
    result, _ = await run(district, zip_bytes(files, {"orgs": "bulk"}))
    assert result.status == "SUCCEEDED"
    assert summary(result, DataType.USERS) == {}
    assert await content_state(district) == before


async def test_a_manifest_of_only_absent_files_is_a_sync_with_no_records(district: District) -> None:
    await _day1(district)
    before = await district.all_versions()
    result, _ = await run(district, zip_bytes({}, {"users": "absent"}))
    assert result.status == "SUCCEEDED"
    assert result.counts == {"records": 0, "errors": 0, "warnings": 0}
    assert await district.all_versions() == before


async def test_status_and_date_last_modified_alone_never_make_a_record_updated(district: District) -> None:
    await _day1(district)
    stamped = base_pkg()
    for rows in stamped.rows.values():
        for values in rows:
            values.update(status="active", dateLastModified=DELTA_STAMP)
    result, _ = await run(district, stamped)
    for data_type in (DataType.ORGS, DataType.USERS, DataType.CLASSES, DataType.ENROLLMENTS, DataType.DEMOGRAPHICS):
        counts = summary(result, data_type)
        assert counts["no_change"] == counts["total"] > 0, (data_type, counts)
    again = Pkg({"users": [delta(r) for r in base_rows()["users"]]}, modes={"users": "delta"})
    result, _ = await run(district, again)
    assert summary(result, DataType.USERS)["no_change"] == 3


async def test_reordered_org_and_grade_lists_are_no_change(district: District) -> None:
    await _day1(district)
    pkg = base_pkg()
    pkg.rows["users"][1].update(orgSourcedIds="s2,s1", grades="05")
    pkg.rows["courses"][0]["grades"] = "05"
    pkg.rows["users"][0]["grades"] = ""
    result, _ = await run(district, pkg)
    assert summary(result, DataType.USERS)["no_change"] == 3
    reordered = base_pkg()
    reordered.rows["users"][1]["grades"] = "05,06"
    await run(district, reordered)
    reordered.rows["users"][1].update(orgSourcedIds="s2,s1", grades="06,05")
    result, _ = await run(district, reordered)
    assert summary(result, DataType.USERS)["no_change"] == 3


async def test_a_reordered_term_list_is_an_update(district: District) -> None:
    # only orgSourcedIds and grades are sets; other lists are compared as lists (§2)
    pkg = base_pkg()
    pkg.rows["academicSessions"].append({**pkg.rows["academicSessions"][1], "sourcedId": "t2"})
    pkg.rows["classes"][0]["termSourcedIds"] = "t1,t2"
    await run(district, pkg)
    pkg.rows["classes"][0]["termSourcedIds"] = "t2,t1"
    result, _ = await run(district, pkg)
    assert summary(result, DataType.CLASSES)["updated"] == 1


async def test_lenient_case_and_date_rewrites_are_no_change(district: District) -> None:
    await _day1(district)
    pkg = base_pkg()
    pkg.rows["users"][0].update(role="Teacher", enabledUser="TRUE")
    pkg.rows["academicSessions"][0]["startDate"] = "8/15/2024"
    pkg.rows["users"][1]["grades"] = "5"
    result, _ = await run(district, pkg)
    assert summary(result, DataType.USERS)["no_change"] == 3
    assert summary(result, DataType.ACADEMIC_SESSIONS)["no_change"] == 2


async def test_a_changed_metadata_column_is_an_update_with_its_field_change(district: District) -> None:
    pkg = base_pkg()
    pkg.metadata["users"] = ("metadata.house",)
    pkg.rows["users"][0]["metadata.house"] = "Red"
    await run(district, pkg)
    pkg.rows["users"][0]["metadata.house"] = "Blue"
    dry, _ = await run(district, pkg, ImportOptions(dry_run=True))
    assert summary(dry, DataType.USERS)["updated"] == 1
    changes = await district.pool.fetchval(
        """SELECT changes FROM record_outcomes WHERE tenant_id = $1 AND sync_id = $2 AND "sourcedId" = 'u1'
           AND data_type = 4""",
        district.tenant.id,
        dry.sync_id,
    )
    assert (json.loads(changes) if isinstance(changes, str) else changes) == [
        {"field": "metadata.house", "before": "Red", "after": "Blue"}
    ]
    result, records = await run(district, pkg)
    row = summary(result, DataType.USERS)
    assert (row["updated"], row["no_change"]) == (1, 2)
    assert [r.outcome for r in by_id(records, DataType.USERS)["u1"]] == ["UPDATED"]


async def test_a_new_blank_metadata_column_is_no_change(district: District) -> None:
    # blank = no value (§1 of ONEROSTER.md): a column nobody filled in changes no record
    await _day1(district)
    pkg = base_pkg()
    pkg.metadata["users"] = ("metadata.house",)
    result, _ = await run(district, pkg)
    assert summary(result, DataType.USERS)["no_change"] == 3


async def test_reordered_metadata_columns_are_no_change(district: District) -> None:
    pkg = base_pkg()
    pkg.metadata["users"] = ("metadata.house", "metadata.bus")
    for row in pkg.rows["users"]:
        row.update({"metadata.house": "Red", "metadata.bus": "7"})
    await run(district, pkg)
    pkg.metadata["users"] = ("metadata.bus", "metadata.house")
    result, _ = await run(district, pkg)
    assert summary(result, DataType.USERS)["no_change"] == 3


async def test_every_update_carries_its_field_changes(district: District) -> None:
    await _day1(district)
    pkg = base_pkg()
    pkg.rows["users"][0]["email"] = "new@example.org"
    pkg.rows["classes"][1]["title"] = "Renamed"
    dry, _ = await run(district, pkg, ImportOptions(dry_run=True))
    rows = await district.pool.fetch(
        'SELECT "sourcedId", changes FROM record_outcomes WHERE tenant_id = $1 AND sync_id = $2 AND outcome = 2',
        district.tenant.id,
        dry.sync_id,
    )
    found = {r["sourcedId"]: json.loads(r["changes"]) if isinstance(r["changes"], str) else r["changes"] for r in rows}
    assert found == {
        "k2": [{"field": "title", "before": "Class k2", "after": "Renamed"}],
        "u1": [{"field": "email", "before": "u1@example.org", "after": "new@example.org"}],
    }


async def test_an_attribute_change_is_an_update_and_the_rest_no_change(district: District) -> None:
    await _day1(district)
    pkg = base_pkg()
    pkg.rows["users"][2]["familyName"] = "Married"
    pkg.rows["enrollments"].pop()  # e3 is dropped by the bulk file
    result, records = await run(district, pkg)
    users = summary(result, DataType.USERS)
    assert (users["updated"], users["no_change"]) == (1, 2)
    enrollments = summary(result, DataType.ENROLLMENTS)
    assert (enrollments["deleted"], enrollments["no_change"], enrollments["total"]) == (1, 2, 3)
    assert [r.outcome for r in by_id(records, DataType.ENROLLMENTS)["e3"]] == ["DELETED"]
