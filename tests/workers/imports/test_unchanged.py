"""workers/imports/unchanged.py: rows told unchanged by their raw hash give exactly what validating them would.

Each property imports the same day 1 into two tenants, forgets the raw hashes in one of them (as versions written
before migration 0005 have none), and imports the same day 2 into both: one takes the shortcut, the other validates
every row, and every number, record, finding and stored value must come out the same.
"""

from __future__ import annotations

import logging
import random

import asyncpg
import polars as pl
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from tests.conftest import make_tenant
from tests.workers.imports.conftest import District
from tests.workers.imports.packages import (
    Generated,
    Pkg,
    base_pkg,
    content_state,
    enrollment,
    packages,
    run,
    summary_table,
)
from tests.workers.imports.test_engine_properties import PROPERTY
from workers.imports import unchanged
from workers.imports.model import ImportOptions

STAGES = "workers.imports.stages"


async def _district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))


async def _forget_raw_hashes(district: District) -> None:
    await district.pool.execute("UPDATE enrollments_versions SET raw_hash = NULL WHERE tenant_id = $1",
                                district.tenant.id)  # fmt: skip


async def _findings(district: District, sync_id: int) -> object:
    return await district.pool.fetchval("SELECT findings FROM syncs WHERE tenant_id = $1 AND id = $2",
                                        district.tenant.id, sync_id)  # fmt: skip


async def _stored_outcomes(district: District, sync_id: int) -> list[tuple[object, ...]]:
    """The explicit outcome rows with the values they show (every record of a held sync)."""
    rows = await district.pool.fetch(
        """SELECT data_type, "sourcedId", line, outcome, attributes, changes FROM record_outcomes
           WHERE tenant_id = $1 AND sync_id = $2 ORDER BY 1, 2, 3, 4""",
        district.tenant.id, sync_id,
    )  # fmt: skip
    return [tuple(r.values()) for r in rows]


def _unchanged_taken(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == STAGES and "unchanged since" in r.getMessage()]


EDITS = ("role", "primary", "move", "drop", "add", "same id", "same triple", "second primary", "class school",
         "drop class", "drop user", "demote school")  # fmt: skip


@st.composite
def successors(draw: st.DrawFn, day1: Pkg) -> Pkg:
    """Day 1 edited as a district's next export might be: enrollments changed, moved, dropped, added and repeated
    (a sourcedId, a class-user-role, a second primary teacher), classes moved to another school or dropped, users
    dropped, a school turned into a department, rows reordered; every file bulk."""
    pkg = day1.copy()
    pkg.modes = {}
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    rows = pkg.rows
    enrollments, classes = rows["enrollments"], rows["classes"]
    schools = [o["sourcedId"] for o in rows["orgs"] if o.get("type") == "school"]
    for _ in range(draw(st.integers(0, 6))):
        edit = draw(st.sampled_from(EDITS))
        if edit in ("role", "primary", "move", "drop", "same id", "same triple", "second primary") and enrollments:
            row = rng.choice(enrollments)
            if edit == "role":
                row["role"] = "student" if row["role"] == "teacher" else "teacher"
            elif edit == "primary":
                row["primary"] = "false" if row.get("primary") == "true" else "true"
            elif edit == "move" and classes:
                klass = rng.choice(classes)
                row["classSourcedId"], row["schoolSourcedId"] = klass["sourcedId"], klass["schoolSourcedId"]
            elif edit == "drop":
                enrollments.remove(row)
            elif edit == "same id":
                enrollments.append({**row, "role": "teacher" if row["role"] == "student" else "student"})
            elif edit == "same triple":
                enrollments.append({**row, "sourcedId": f"x{len(enrollments)}"})
            else:
                enrollments.append({**row, "sourcedId": f"p{len(enrollments)}", "userSourcedId": "u1",
                                    "role": "teacher", "primary": "true"})  # fmt: skip
        elif edit == "add" and classes and rows["users"]:
            klass, person = rng.choice(classes), rng.choice(rows["users"])
            enrollments.append(enrollment(f"n{len(enrollments)}", klass["sourcedId"], klass["schoolSourcedId"],
                                          person["sourcedId"]))  # fmt: skip
        elif edit == "class school" and classes and schools:
            rng.choice(classes)["schoolSourcedId"] = rng.choice(schools)
        elif edit == "drop class" and classes:
            classes.remove(rng.choice(classes))
        elif edit == "drop user" and len(rows["users"]) > 1:
            rows["users"].remove(rng.choice(rows["users"]))
        elif edit == "demote school" and len(schools) > 1:
            demoted = rng.choice(schools)
            for org in rows["orgs"]:
                if org["sourcedId"] == demoted:
                    org["type"] = "department"
    if draw(st.booleans()):
        rng.shuffle(enrollments)
    for stem, stem_rows in rows.items():
        if not stem_rows and stem not in pkg.extra_cells:
            pkg.modes[stem] = "absent"
    return pkg


# Values lenient reading rewrites or ignores, each with an INFO finding (a note): the rows keep their raw hash, and
# the notes count them whether they are validated or taken as unchanged.
LENIENT = {"status": ("", "active", "Active"), "dateLastModified": ("", "2024-08-26T12:00:00Z", "2024-08-26")}


@PROPERTY
@given(data=st.data(), day1=packages(), held=st.booleans(), metadata=st.booleans(), lenient=st.booleans())
async def test_the_shortcut_gives_what_validating_every_row_gives(
    pool: asyncpg.Pool, data: st.DataObject, day1: Generated, held: bool, metadata: bool, lenient: bool
) -> None:
    if metadata:  # a metadata column on enrollments: kept in the raw hash, and spread out again for a held sync
        day1.pkg.metadata["enrollments"] = ("metadata.period",)
        for i, row in enumerate(day1.pkg.rows["enrollments"]):
            row["metadata.period"] = ("P1", "", "P2;P3")[i % 3]
    if lenient:
        for i, row in enumerate(day1.pkg.rows["enrollments"]):
            row["status"], row["dateLastModified"] = LENIENT["status"][i % 3], LENIENT["dateLastModified"][i // 2 % 3]
            if i % 2 and row.get("role") == "student":
                row["role"] = "Student"
            if i % 4 == 1 and not row.get("beginDate"):
                row["beginDate"] = "2024/8/26"
    day2 = data.draw(successors(day1.pkg))
    note(f"day 2 enrollments: {day2.rows['enrollments']}")
    options = ImportOptions(hold_delete_percent=0.0, hold_delete_minimum=1) if held else ImportOptions()
    shortcut, validated = await _district(pool), await _district(pool)
    for district in (shortcut, validated):
        await run(district, day1.pkg)
    await _forget_raw_hashes(validated)
    (fast, fast_records), (full, full_records) = [await run(d, day2, options) for d in (shortcut, validated)]
    assert (fast.status, fast.counts, fast.hold) == (full.status, full.counts, full.hold), (fast, full)
    assert summary_table(fast) == summary_table(full)
    assert sorted(fast_records, key=repr) == sorted(full_records, key=repr)
    assert await _findings(shortcut, fast.sync_id) == await _findings(validated, full.sync_id)
    assert await _stored_outcomes(shortcut, fast.sync_id) == await _stored_outcomes(validated, full.sync_id)
    assert await content_state(shortcut) == await content_state(validated)


async def test_unchanged_rows_skip_validation_and_a_moved_class_still_flags_its_enrollments(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """The rows of an unchanged file are all taken as unchanged; when a class moves to another school, its
    enrollments' rows are the same but no longer agree with their class: they are validated, and flagged."""
    caplog.set_level(logging.DEBUG, logger=STAGES)
    day1 = base_pkg()
    await run(district, day1)
    again, _ = await run(district, day1)
    assert _unchanged_taken(caplog)[-1].endswith("3 of 3 rows unchanged since their versions")
    assert summary_table(again)[("", 5)]["no_change"] == 3
    moved = day1.copy()
    moved.rows["classes"][0]["schoolSourcedId"] = "s2"  # k1, with e1 and e2 (school s1)
    result, records = await run(district, moved)
    assert _unchanged_taken(caplog)[-1].endswith("1 of 3 rows unchanged since their versions")
    flagged = {r.sourced_id for r in records if "semantic.enrollment_school_mismatch" in r.codes}
    assert flagged == {"e1", "e2"}
    assert summary_table(result)[("", 5)]["invalid"] == 2


async def test_a_repeated_row_sends_the_whole_file_through_validation(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """A new row repeating an unchanged one's class, user and role: both are checked together, as validating the
    file checks them, so no row is taken as unchanged and the repeat is flagged."""
    caplog.set_level(logging.DEBUG, logger=STAGES)
    day1 = base_pkg()
    await run(district, day1)
    repeated = day1.copy()
    repeated.rows["enrollments"].insert(0, {**repeated.rows["enrollments"][1], "sourcedId": "e9"})
    _, records = await run(district, repeated)
    assert _unchanged_taken(caplog)[-1].endswith("0 of 4 rows unchanged since their versions")
    assert {r.sourced_id for r in records if "semantic.duplicate_enrollment" in r.codes} == {"e2"}


@pytest.mark.parametrize(
    ("kept", "added", "code", "flagged"),
    [
        # an unchanged row whose role was read in another case, and a new row repeating its class, user and role
        (("e2", "k1", "s1", "u2", "Student"), ("e9", "k1", "s1", "u2", "student", ""),
         "semantic.duplicate_enrollment", {"e9"}),
        # an unchanged primary teacher whose primary was read in another case, and a new one in the same class
        (("e1", "k1", "s1", "u1", "teacher", "TRUE"), ("e9", "k1", "s1", "u2", "teacher", "true"),
         "semantic.multiple_primary_teachers", {"e1", "e9"}),
    ],
)  # fmt: skip
async def test_a_row_read_leniently_is_checked_across_rows_by_its_normalised_values(
    district: District, caplog: pytest.LogCaptureFixture, kept: tuple[str, ...], added: tuple[str, ...],
    code: str, flagged: set[str],
) -> None:  # fmt: skip
    """A row whose only findings are INFO ones (an enum in another case) keeps its raw hash and is taken as
    unchanged the next day; a new row that repeats it once normalised must still send the file through validation,
    where the check across rows flags the repeat (found by the property above)."""
    caplog.set_level(logging.DEBUG, logger=STAGES)
    day1 = base_pkg()
    rows = day1.rows["enrollments"]
    rows[[r["sourcedId"] for r in rows].index(kept[0])] = enrollment(*kept)
    await run(district, day1)
    repeated = day1.copy()
    repeated.rows["enrollments"].append(enrollment(*added))
    _, records = await run(district, repeated)
    assert _unchanged_taken(caplog)[-1].startswith("enrollments.csv: 0 of")
    assert {r.sourced_id for r in records if code in r.codes} == flagged


async def test_rows_with_only_info_findings_are_taken_unchanged_and_still_counted_in_the_notes(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """Most exports fill dateLastModified, which a bulk file ignores (an INFO note on every row): such rows keep
    their raw hash, so the next import takes them as unchanged, and its notes are the first import's."""
    caplog.set_level(logging.DEBUG, logger=STAGES)
    day1 = base_pkg()
    for row in day1.rows["enrollments"]:
        row["dateLastModified"], row["role"] = "2024-08-26T12:00:00Z", row["role"].title()
    first, _ = await run(district, day1)
    again, _ = await run(district, day1)
    assert _unchanged_taken(caplog)[-1].endswith("3 of 3 rows unchanged since their versions")
    notes = await _findings(district, again.sync_id)
    assert notes == await _findings(district, first.sync_id)
    counted = {(n["code"], n["column"]): n["count"] for n in notes if n["file"] == "enrollments.csv"}  # type: ignore[attr-defined]
    assert counted == {("row.status_in_bulk", "dateLastModified"): 3, ("row.datetime_format", "dateLastModified"): 3,
                       ("row.enum_case", "role"): 3}  # fmt: skip


async def _raw_hashes(district: District) -> list[tuple[str, int | None]]:
    rows = await district.pool.fetch(
        """SELECT "sourcedId", raw_hash FROM enrollments_versions WHERE tenant_id = $1 AND valid_to IS NULL
           ORDER BY 1""",
        district.tenant.id,
    )  # fmt: skip
    return [(r[0], r[1]) for r in rows]


async def test_rows_validated_in_full_get_their_raw_hashes_back_and_are_taken_unchanged_next_time(
    pool: asyncpg.Pool, district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """Versions without a raw hash (written before migration 0005, or under older rules, with another): their rows
    are validated in full, NO_CHANGE, and their versions get the raw hash a fresh import gives them, so the next
    import takes them as unchanged; nothing else about them changes."""
    caplog.set_level(logging.DEBUG, logger=STAGES)
    day1, fresh = base_pkg(), await _district(pool)
    await run(fresh, day1)
    await run(district, day1)
    await _forget_raw_hashes(district)
    before = await content_state(district)
    again, _ = await run(district, day1)
    assert _unchanged_taken(caplog)[-1].endswith("0 of 3 rows unchanged since their versions")
    assert summary_table(again)[("", 5)]["no_change"] == 3
    renewed = await _raw_hashes(district)
    assert renewed == await _raw_hashes(fresh) and all(raw is not None for _, raw in renewed)
    assert await content_state(district) == before
    await run(district, day1)
    assert _unchanged_taken(caplog)[-1].endswith("3 of 3 rows unchanged since their versions")


async def test_a_row_validated_beside_rows_taken_as_unchanged_gets_its_raw_hash_back(
    pool: asyncpg.Pool, district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """One version without a raw hash among versions with theirs: the others' rows are taken as unchanged, its own
    is validated (matched among the few current keys left) and its version alone gets the hash back."""
    caplog.set_level(logging.DEBUG, logger=STAGES)
    day1, fresh = base_pkg(), await _district(pool)
    await run(fresh, day1)
    await run(district, day1)
    await district.pool.execute("""UPDATE enrollments_versions SET raw_hash = NULL
                                   WHERE tenant_id = $1 AND "sourcedId" = 'e2'""", district.tenant.id)  # fmt: skip
    await run(district, day1)
    assert _unchanged_taken(caplog)[-1].endswith("2 of 3 rows unchanged since their versions")
    assert await _raw_hashes(district) == await _raw_hashes(fresh)
    await run(district, day1)
    assert _unchanged_taken(caplog)[-1].endswith("3 of 3 rows unchanged since their versions")


TIMING = "oneroster_sync.timing"


def _closed_early(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().strip() for r in caplog.records if r.name == TIMING and "deleted early" in r.getMessage()]


async def test_entities_on_no_row_are_closed_while_the_rest_is_planned(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """An enrollment on no row of a bulk day 2 is closed as soon as the rows are matched to their versions, and
    counts DELETED in the school it counted in, like any deletion; a re-import then deletes nothing."""
    caplog.set_level(logging.DEBUG, logger=TIMING)
    day1 = base_pkg()
    await run(district, day1)
    day2 = day1.copy()
    day2.rows["enrollments"] = [r for r in day2.rows["enrollments"] if r["sourcedId"] != "e3"]
    day2.rows["enrollments"][1]["role"] = "teacher"  # e2: validated and planned while e3 is closed
    result, records = await run(district, day2)
    assert [m.split(":")[0] for m in _closed_early(caplog)] == ["close 1 deleted early"]
    assert result.status == "SUCCEEDED"
    deleted = [r for r in records if r.outcome == "DELETED"]
    assert [(r.sourced_id, r.schools) for r in deleted] == [("e3", ("s2",))]
    assert summary_table(result)[("s2", 5)]["deleted"] == 1
    assert summary_table(result)[("", 5)]["updated"] == 1
    again, _ = await run(district, day2)
    assert summary_table(again)[("", 5)]["deleted"] == 0
    assert summary_table(again)[("", 5)]["no_change"] == 2


async def test_a_rejected_row_keeps_its_entity_so_it_is_not_closed_early(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """A row that fails validation still names its entity: the sync keeps it, so nothing is closed early."""
    caplog.set_level(logging.DEBUG, logger=TIMING)
    day1 = base_pkg()
    await run(district, day1)
    day2 = day1.copy()
    day2.rows["enrollments"][2]["userSourcedId"] = ""  # e3: a required reference missing, the row skipped
    result, records = await run(district, day2)
    assert _closed_early(caplog) == []
    assert summary_table(result)[("", 5)]["deleted"] == 0
    assert [r.outcome for r in records if r.sourced_id == "e3"] == ["SKIPPED"]
    assert "e3" in {dict(row)["sourcedId"] for row in (await content_state(district))["enrollments_versions"]}


async def test_a_row_with_a_structural_problem_leaves_deletions_to_the_plan(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    """A row too wide may not show its sourcedId where the header says: nothing is closed early, and the plan still
    deletes what the file left out."""
    caplog.set_level(logging.DEBUG, logger=TIMING)
    day1 = base_pkg()
    await run(district, day1)
    day2 = day1.copy()
    day2.rows["enrollments"] = day2.rows["enrollments"][:2]
    day2.extra_cells["enrollments"] = {1: 1}
    result, _ = await run(district, day2)
    assert _closed_early(caplog) == []
    assert summary_table(result)[("", 5)]["deleted"] == 1


async def test_closing_an_entity_the_plan_does_not_delete_fails_the_sync_and_changes_nothing(
    district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entities closed early must be deletions of the finished plan: should they not be (a 64-bit hash
    collision), the sync fails and the district's data is as it was."""
    day1 = base_pkg()
    await run(district, day1)
    before = await content_state(district)
    monkeypatch.setattr(unchanged, "_absent", lambda *args: pl.Series(["e1"]))  # e1 is on an unchanged row
    day2 = day1.copy()
    day2.rows["enrollments"][1]["role"] = "teacher"
    result, _ = await run(district, day2)
    assert result.status == "FAILED" and result.failure is not None
    assert result.failure[0] == "import.internal_error"
    assert await content_state(district) == before
