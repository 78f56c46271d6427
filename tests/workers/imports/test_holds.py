"""Holds and dry runs (§4): a mass deletion stops HELD with its full summary and nothing applied; a dry run computes
everything and applies nothing; approving (ignore_hold on a new sync) applies what the held sync computed."""

from __future__ import annotations

import logging

import pytest

from oneroster_csv.model import DataType
from tests.workers.imports.conftest import District, summary
from tests.workers.imports.packages import (
    Pkg,
    base_pkg,
    course,
    delta,
    drilldown_counts,
    enrollment,
    klass,
    org,
    run,
    session,
    summary_table,
    user,
    zip_bytes,
)
from workers.imports.model import ImportOptions


def _roster(count: int, skip: int = 0) -> Pkg:
    """orgs and `count` students at s1, minus the first `skip` of them."""
    users = [user(f"u{i:03d}", "s1") for i in range(skip, count)]
    return Pkg({"orgs": [org("d1", "district"), org("s1", parent="d1")], "users": users})


async def _status(district: District, sync_id: int) -> str:
    status: str = await district.pool.fetchval(
        "SELECT status FROM syncs WHERE tenant_id = $1 AND id = $2", district.tenant.id, sync_id
    )
    return status


async def test_a_bulk_import_deleting_a_quarter_of_the_users_is_held_with_nothing_applied(district: District) -> None:
    await run(district, _roster(100))
    before = await district.all_versions()
    result, records = await run(district, _roster(100, skip=25))
    assert result.status == "HELD"
    assert await _status(district, result.sync_id) == "HELD"
    assert result.hold == {"dataType": "USERS", "currentCount": 100, "deleteCount": 25, "thresholdPercent": 10.0}
    # the full summary is computed, and the drill-downs list exactly what it counts
    users = summary(result, DataType.USERS)
    assert (users["total"], users["no_change"], users["deleted"]) == (100, 75, 25)
    assert summary(result, DataType.USERS, "s1")["deleted"] == 25
    assert drilldown_counts(records) == summary_table(result)
    assert result.counts["records"] == 102
    assert await district.all_versions() == before


async def test_below_the_minimum_count_nothing_is_held(district: District) -> None:
    await run(district, _roster(100))
    result, _ = await run(district, _roster(100, skip=24))  # 24 % but fewer than 25 records
    assert result.status == "SUCCEEDED"
    assert result.hold is None
    assert summary(result, DataType.USERS)["deleted"] == 24


async def test_exactly_the_threshold_share_is_not_held(district: District) -> None:
    await run(district, _roster(250))
    result, _ = await run(district, _roster(250, skip=25))  # exactly 10 %: held only above it
    assert result.status == "SUCCEEDED"
    result, _ = await run(district, _roster(250, skip=51))  # 26 of 225 = 11.6 %
    assert result.status == "HELD"
    assert result.hold is not None and result.hold["currentCount"] == 225


async def test_the_thresholds_are_configurable(district: District) -> None:
    await run(district, _roster(100))
    lenient = ImportOptions(hold_delete_percent=50.0)
    result, _ = await run(district, _roster(100, skip=25), lenient)
    assert result.status == "SUCCEEDED"
    strict = ImportOptions(hold_delete_percent=0.0, hold_delete_minimum=1)
    result, _ = await run(district, _roster(100, skip=26), strict)  # u025: one of the 75 left
    assert result.status == "HELD"
    assert result.hold == {"dataType": "USERS", "currentCount": 75, "deleteCount": 1, "thresholdPercent": 0.0}


async def test_delta_deletions_are_held_too(district: District) -> None:
    await run(district, _roster(100))
    before = await district.all_versions()
    rows = [delta({"sourcedId": f"u{i:03d}"}, "tobedeleted") for i in range(30)]
    result, _ = await run(district, Pkg({"users": rows}, modes={"users": "delta"}))
    assert result.status == "HELD"
    assert result.hold is not None and result.hold["deleteCount"] == 30
    assert await district.all_versions() == before


async def test_a_hold_names_the_type_deleting_the_largest_share(district: District) -> None:
    pkg = _roster(100)
    pkg.rows["orgs"] += [org(f"x{i:02d}", "department", parent="s1") for i in range(40)]
    await run(district, pkg)
    day2 = _roster(100, skip=30)  # users: 30 % ; orgs: 40 of 42 = 95 %
    result, _ = await run(district, day2)
    assert result.hold is not None
    assert (result.hold["dataType"], result.hold["deleteCount"], result.hold["currentCount"]) == ("ORGS", 40, 42)


def _classroom(enrollments: int, skip: int = 0, email: str = "") -> Pkg:
    """One class of `enrollments` students, minus the first `skip` enrollments; `email` changes a user."""
    pkg = _roster(enrollments)
    pkg.rows["users"][0]["email"] = email
    pkg.rows["academicSessions"] = [session("t1")]
    pkg.rows["courses"] = [course("c1", "s1")]
    pkg.rows["classes"] = [klass("k1", "c1", "s1")]
    pkg.rows["enrollments"] = [enrollment(f"e{i:03d}", "k1", "s1", f"u{i:03d}") for i in range(skip, enrollments)]
    return pkg


async def test_a_hold_found_in_the_last_file_applies_none_of_the_others(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    # The other files are planned before enrollments are read; the enrollments' deletions hold the whole sync. The
    # enrollments on no row were closed while the rest was planned: the hold rolls them back with the rest.
    await run(district, _classroom(100))
    before = await district.all_versions()
    caplog.set_level(logging.DEBUG, logger="oneroster_sync.timing")
    result, records = await run(district, _classroom(100, skip=30, email="new@example.org"))
    assert any(r.getMessage().strip().startswith("close 30 deleted early") for r in caplog.records)
    assert result.status == "HELD"
    assert result.hold is not None and (result.hold["dataType"], result.hold["deleteCount"]) == ("ENROLLMENTS", 30)
    assert summary(result, DataType.USERS)["updated"] == 1
    assert drilldown_counts(records) == summary_table(result)
    assert await district.all_versions() == before
    approved, records = await run(district, _classroom(100, skip=30, email="new@example.org"), ignore_hold=True)
    assert approved.status == "SUCCEEDED" and summary_table(approved) == summary_table(result)
    assert drilldown_counts(records) == summary_table(approved)
    assert await district.all_versions() != before


async def test_approving_a_held_sync_applies_what_it_computed(district: District) -> None:
    await run(district, _roster(100))
    held, _ = await run(district, _roster(100, skip=40))
    assert held.status == "HELD"
    approved, records = await run(district, _roster(100, skip=40), ignore_hold=True)
    assert approved.status == "SUCCEEDED"
    assert approved.hold is None
    assert summary_table(approved) == summary_table(held)
    assert approved.counts == held.counts
    assert drilldown_counts(records) == summary_table(approved)
    users = await district.pool.fetchval(
        "SELECT count(*) FROM users_versions WHERE tenant_id = $1 AND valid_to IS NULL AND kind <> 4",
        district.tenant.id,
    )
    assert users == 60


async def test_a_dry_run_computes_everything_and_applies_nothing(district: District) -> None:
    await run(district, base_pkg())
    before = await district.all_versions()
    pkg = base_pkg()
    pkg.rows["users"][0]["email"] = "changed@example.org"
    pkg.rows["users"].append(user("u9", "s2", email="broken"))
    pkg.rows["enrollments"].pop()
    pkg.rows["classes"].append({"sourcedId": "k9", "title": "No course", "classType": "scheduled"})
    dry, records = await run(district, pkg, ImportOptions(dry_run=True))
    assert dry.status == "SUCCEEDED"
    users = summary(dry, DataType.USERS)
    assert (users["updated"], users["new"], users["no_change"], users["invalid"]) == (1, 1, 2, 1)
    assert summary(dry, DataType.ENROLLMENTS)["deleted"] == 1
    assert summary(dry, DataType.CLASSES)["skipped"] == 1
    assert drilldown_counts(records) == summary_table(dry)
    assert await district.all_versions() == before
    # the same package applied for real gives the same numbers
    real, _ = await run(district, pkg)
    assert summary_table(real) == summary_table(dry)


async def test_a_dry_run_is_never_held(district: District) -> None:
    await run(district, _roster(100))
    before = await district.all_versions()
    dry, _ = await run(district, _roster(100, skip=50), ImportOptions(dry_run=True))
    assert dry.status == "SUCCEEDED"
    assert summary(dry, DataType.USERS)["deleted"] == 50
    assert await district.all_versions() == before


def _broken(kind: str) -> bytes:
    """The clean district's package, broken at package level in the way `kind` names."""
    pkg = base_pkg()
    files: dict[str, str | bytes] = dict(pkg.files())
    modes = {stem: pkg.mode(stem) for stem in pkg.rows}
    if kind == "corrupt zip":
        return pkg.zip()[:-30]
    if kind == "declared file missing":
        del files["courses"]  # still declared bulk in the manifest
    elif kind == "header of another version":
        files["users"] = pkg.files()["users"].replace("givenName", "firstName", 1)
    elif kind == "not utf-8":
        files["users"] = pkg.files()["users"].replace("Givenu1", "Ren\u00e9").encode("latin-1")  # Excel's cp1252
    elif kind == "not a zip":
        return b"sourcedId,status\n"
    return zip_bytes(files, modes)


@pytest.mark.parametrize(
    "kind",
    [
        "corrupt zip",
        "declared file missing",
        "header of another version",
        "not a zip",
        "not utf-8",
    ],
)
async def test_a_failed_package_changes_nothing(district: District, kind: str) -> None:
    await run(district, base_pkg())
    before = await district.all_versions()
    result, records = await run(district, _broken(kind))
    assert result.status == "FAILED"
    assert result.failure is not None and "." in result.failure[0]
    assert records == []
    assert await district.all_versions() == before


async def test_a_last_file_failing_while_the_others_are_written_changes_nothing(district: District) -> None:
    # A tenant without enrollments: its next import writes the other files while enrollments are read.
    first = base_pkg()
    del first.rows["enrollments"]
    await run(district, first)
    before = await district.all_versions()
    pkg = base_pkg()
    files: dict[str, str | bytes] = dict(pkg.files())
    files["users"] = pkg.files()["users"].replace("u1@example.org", "new@example.org")
    files["enrollments"] = pkg.files()["enrollments"].replace("student", "\u00e9l\u00e8ve", 1).encode("latin-1")
    result, records = await run(district, zip_bytes(files, {stem: pkg.mode(stem) for stem in pkg.rows}))
    assert result.status == "FAILED"
    assert result.failure is not None and result.failure[0] == "csv.invalid_utf8"
    assert records == []
    assert await district.all_versions() == before
