"""Fast checks of the benchmark district generator on a scaled-down district (3 schools)."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.generate_district import generate_district

SIZES: dict[str, Any] = {"users": 8000, "classes": 300, "enrollments": 80_000}
SEED = 7
# OneRoster 1.1 headers, copied from the spec digest (not from the generator) so the test is independent.
HEADERS = {
    "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "academicSessions": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    "courses": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,"
    "subjectCodes",
    "classes": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
    "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "users": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password",
    "enrollments": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate",
    "demographics": "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
    "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
    "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
    "publicSchoolResidenceStatus",
}
ABSENT = {"categories", "classResources", "courseResources", "lineItems", "resources", "results"}
Table = list[dict[str, str]]


def read(package: Path, name: str) -> Table:
    with (package / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ids(rows: Table) -> set[str]:
    return {r["sourcedId"] for r in rows}


def items(value: str) -> list[str]:
    return value.split(",") if value else []


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("district")
    dirs = {"day1": root / "day1", "again": root / "again", "day2": root / "day2"}
    generate_district(dirs["day1"], seed=SEED, make_zip=True, **SIZES)
    generate_district(dirs["again"], seed=SEED, make_zip=True, **SIZES)
    generate_district(dirs["day2"], seed=SEED, day=2, **SIZES)
    yield dirs


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_headers_manifest_and_bulk_format(packages: dict[str, Path], day: str) -> None:
    package = packages[day]
    manifest = dict(row for row in csv.reader((package / "manifest.csv").open()) if row)
    assert manifest.pop("propertyName") == "value"
    assert manifest["manifest.version"] == "1.0" and manifest["oneroster.version"] == "1.1"
    for name, header in HEADERS.items():
        raw = (package / f"{name}.csv").read_bytes()
        assert raw.split(b"\n", 1)[0].decode() == header
        assert b"\r" not in raw
        assert manifest[f"file.{name}"] == "bulk"
        rows = read(package, name)
        assert rows, name
        assert all(r["status"] == "" and r["dateLastModified"] == "" for r in rows), name
        assert all(None not in r for r in rows), f"{name}: row wider than header"
    assert {k[5:] for k, v in manifest.items() if k.startswith("file.") and v == "absent"} == ABSENT


@pytest.mark.parametrize("day", ["day1", "day2"])
def test_references_resolve_and_ids_unique(packages: dict[str, Path], day: str) -> None:
    t = {name: read(packages[day], name) for name in HEADERS}
    for name, rows in t.items():
        assert len(ids(rows)) == len(rows), f"duplicate sourcedId in {name}"
    orgs, sessions, users = ids(t["orgs"]), ids(t["academicSessions"]), ids(t["users"])
    schools = {r["sourcedId"] for r in t["orgs"] if r["type"] == "school"}
    years = {r["sourcedId"] for r in t["academicSessions"] if r["type"] == "schoolYear"}
    assert len(schools) == 3 and len(orgs) == 4
    assert all(r["parentSourcedId"] in orgs for r in t["orgs"] if r["type"] == "school")
    assert all(r["parentSourcedId"] in sessions for r in t["academicSessions"] if r["type"] != "schoolYear")
    assert all(r["orgSourcedId"] in orgs and r["schoolYearSourcedId"] in years for r in t["courses"])
    courses = ids(t["courses"])
    for r in t["classes"]:
        assert r["courseSourcedId"] in courses and r["schoolSourcedId"] in schools
        assert items(r["termSourcedIds"]) and set(items(r["termSourcedIds"])) <= sessions
    class_school = {r["sourcedId"]: r["schoolSourcedId"] for r in t["classes"]}
    for r in t["enrollments"]:
        assert r["classSourcedId"] in class_school and r["userSourcedId"] in users
        assert r["schoolSourcedId"] == class_school[r["classSourcedId"]]
    for r in t["users"]:
        assert items(r["orgSourcedIds"]) and set(items(r["orgSourcedIds"])) <= orgs
        assert set(items(r["agentSourcedIds"])) <= users
    assert ids(t["demographics"]) <= users
    assert len({r["username"] for r in t["users"]}) == len(users)
    emails = [r["email"] for r in t["users"] if r["email"]]
    assert len(set(emails)) == len(emails)
    pairs = {(r["classSourcedId"], r["userSourcedId"]) for r in t["enrollments"]}
    assert len(pairs) == len(t["enrollments"]), "a user is enrolled twice in one class"


def test_day1_shape(packages: dict[str, Path]) -> None:
    t = {name: read(packages["day1"], name) for name in ("users", "classes", "enrollments", "demographics")}
    assert (len(t["users"]), len(t["classes"]), len(t["enrollments"])) == tuple(SIZES.values())
    roles = [r["role"] for r in t["users"]]
    assert 0.90 < roles.count("student") / len(roles) < 0.95
    assert 0.05 < roles.count("teacher") / len(roles) < 0.07
    assert len(t["demographics"]) == roles.count("student")
    primaries = [r["classSourcedId"] for r in t["enrollments"] if r["role"] == "teacher" and r["primary"] == "true"]
    assert sorted(primaries) == sorted(ids(t["classes"])), "every class has exactly one primary teacher"
    per_student = len([r for r in t["enrollments"] if r["role"] == "student"]) / roles.count("student")
    assert 9 <= per_student <= 11.5
    assert any(len(items(r["termSourcedIds"])) == 2 for r in t["classes"])
    assert all(r["grades"] for r in t["users"] if r["role"] == "student")
    assert sum(1 for r in t["users"] if len(items(r["orgSourcedIds"])) == 2) > 0


def test_same_seed_is_byte_identical(packages: dict[str, Path]) -> None:
    for name in [*HEADERS, "manifest"]:
        first = (packages["day1"] / f"{name}.csv").read_bytes()
        assert first == (packages["again"] / f"{name}.csv").read_bytes(), name
    assert packages["day1"].with_suffix(".zip").read_bytes() == packages["again"].with_suffix(".zip").read_bytes()


def test_other_seed_differs(tmp_path: Path) -> None:
    generate_district(tmp_path / "a", seed=1, users=500, classes=20, enrollments=5000)
    generate_district(tmp_path / "b", seed=2, users=500, classes=20, enrollments=5000)
    assert (tmp_path / "a" / "users.csv").read_bytes() != (tmp_path / "b" / "users.csv").read_bytes()
    assert len(read(tmp_path / "a", "enrollments")) == 5000  # the brief's tiny example works (one K-12 school)


def test_day2_changes_match_expected_json(packages: dict[str, Path]) -> None:
    expected = json.loads((packages["day2"] / "expected.json").read_text())["files"]
    for name in HEADERS:
        old = {r["sourcedId"]: r for r in read(packages["day1"], name)}
        new = {r["sourcedId"]: r for r in read(packages["day2"], name)}
        counts = {
            "new": len(new.keys() - old.keys()),
            "deleted": len(old.keys() - new.keys()),
            "updated": sum(1 for k in new.keys() & old.keys() if new[k] != old[k]),
        }
        assert {k: expected[name][k] for k in counts} == counts, name
        if len(old) >= 50:  # tiny files (orgs, sessions) cannot change by ~2%
            rate = sum(counts.values()) / len(old)
            assert 0.01 <= rate <= 0.04, f"{name}: change rate {rate:.3f}"
            if len(old) >= 1000:
                assert all(counts.values()), f"{name}: {counts}"


def test_floor_runs_and_drops_its_schema(packages: dict[str, Path]) -> None:
    asyncpg = pytest.importorskip("asyncpg")
    from bench.floor import copy_floor

    dsn = "postgresql://postgres@127.0.0.1:5432/postgres"

    async def leftover_schemas() -> int:
        connection = await asyncpg.connect(dsn, timeout=3)
        try:
            return int(
                await connection.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench_floor_%'")
            )
        finally:
            await connection.close()

    try:
        before = asyncio.run(leftover_schemas())
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"no local PostgreSQL: {error}")
    seconds = asyncio.run(copy_floor(dsn, packages["day1"]))
    assert seconds > 0
    assert asyncio.run(leftover_schemas()) == before
