"""The counting contract's invariant (§2): every summary number equals the records its drill-down lists.

For every sync, data type and column, sync-wide and per school: the stored summary == `count_records` == the records
reached by paging to the end with a small page size, none repeated and each one belonging to the column. Proven over
generated sequences of imports (bulk and delta files, duplicates, hard errors, dangling references, deletions, dry
runs, holds) and over the real sample packages.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from db.outcomes import COLUMN_OUTCOMES, OUTCOME_CODES, TYPE_OF_CODE, OutcomeCursor, OutcomeRecord, count_records
from db.outcomes import page_records as page_outcomes
from tests.conftest import make_tenant
from tests.workers.imports.conftest import District, write_package
from workers.imports.model import ImportOptions

# Drill-down column -> the summary fields whose sum it must equal.
SUMMARY_FIELDS: dict[str, tuple[str, ...]] = {
    "TOTAL": ("total",),
    "NO_CHANGE": ("no_change",),
    "NEW": ("new",),
    "UPDATED": ("updated",),
    "DELETED": ("deleted",),
    "SKIPPED": ("skipped",),
    "DUPLICATES": ("merged", "excluded"),
    "MERGED": ("merged",),
    "EXCLUDED": ("excluded",),
    "INVALID": ("invalid",),
}


async def page_to_the_end(
    conn: Any, tenant_id: int, sync_id: int, page_size: int, **selection: Any
) -> list[OutcomeRecord]:
    records: list[OutcomeRecord] = []
    after: OutcomeCursor | None = None
    for _ in range(100_000):
        page = await page_outcomes(conn, tenant_id, sync_id, after=after, limit=page_size, **selection)
        assert len(page) <= page_size
        records += page
        if len(page) < page_size:
            return records
        after = OutcomeCursor.decode(page[-1].cursor.encode())  # the cursor survives its text form
    raise AssertionError("paging did not end")


async def assert_drilldowns_match_summaries(
    pool: asyncpg.Pool, tenant_id: int, sync_id: int, page_size: int = 3
) -> set[str]:
    """Check every (school, data type, column) of the sync's summaries; returns the non-zero columns seen (labels
    such as "NEW" sync-wide and "school NEW" per school), so tests can tell what they covered."""
    seen: set[str] = set()
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT * FROM sync_summaries WHERE tenant_id = $1 AND sync_id = $2 ORDER BY school_id, data_type",
            tenant_id, sync_id,
        )  # fmt: skip
        for row in rows:
            data_type = TYPE_OF_CODE[row["data_type"]]
            school = row["school_id"] or None
            for column, fields in SUMMARY_FIELDS.items():
                expected = sum(row[f] for f in fields)
                where: dict[str, Any] = {"data_type": data_type, "column": column, "school_id": school}
                counted = await count_records(conn, tenant_id, sync_id, **where)
                if expected == 0 and counted == 0:  # one page proves an empty list; paging it again proves nothing
                    listed = await page_outcomes(conn, tenant_id, sync_id, limit=1, **where)
                else:
                    listed = await page_to_the_end(conn, tenant_id, sync_id, page_size, **where)
                context = (sync_id, data_type.name, school, column)
                assert expected == counted == len(listed), (*context, expected, counted, len(listed))
                keys = [r.cursor for r in listed]
                assert len(set(keys)) == len(keys), (*context, "a record repeats")
                for record in listed:
                    assert record.data_type is data_type, context
                    assert OUTCOME_CODES[record.outcome] in COLUMN_OUTCOMES[column], (*context, record)
                    assert column != "INVALID" or record.invalid, (*context, record)
                    assert school is None or school in record.schools, (*context, record)
                    assert (record.outcome == "UPDATED") == bool(record.changes), (*context, record)
                if expected:
                    seen.add(column if school is None else f"school {column}")
        # No record outside the summaries: the sync-wide totals add up to every stored record of the sync.
        wide = sum(r["total"] for r in rows if r["school_id"] == "")
        assert await count_records(conn, tenant_id, sync_id) == wide
        assert await conn.fetchval("SELECT record_count FROM syncs WHERE tenant_id = $1 AND id = $2",
                                   tenant_id, sync_id) == wide  # fmt: skip
    return seen


# ---------------------------------------------------------------------------------------------------------------
# Generated packages: a small fixed universe of entities; each import picks which appear, in which variant, with
# which fault, in which file mode.

ORGS = ("d1", "s1", "s2", "s3")
SESSIONS = ("t1", "t2")
COURSES = ("c1", "c2", "c3")
CLASSES = tuple(f"k{i}" for i in range(1, 7))
USERS = tuple(f"u{i}" for i in range(1, 11))
ENROLLMENTS = tuple(f"e{i}" for i in range(1, 16))
UNIVERSE: dict[str, tuple[str, ...]] = {"orgs": ORGS, "academicSessions": SESSIONS, "courses": COURSES,
                                        "classes": CLASSES, "users": USERS, "enrollments": ENROLLMENTS}  # fmt: skip

HEADERS: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"),
    "academicSessions": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
                         "parentSourcedId", "schoolYear"),
    "courses": ("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
                "orgSourcedId", "subjects", "subjectCodes"),
    "classes": ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "users": ("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
              "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds",
              "grades", "password"),
    "enrollments": ("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
                    "role", "primary", "beginDate", "endDate"),
}  # fmt: skip

# The single-valued field a conflicting duplicate row disagrees on.
CONFLICTING = {"orgs": "name", "academicSessions": "title", "courses": "title", "classes": "title",
               "users": "givenName", "enrollments": "beginDate"}  # fmt: skip
FAULTS = ("none",) * 8 + ("hard", "dangling", "merge", "conflict", "soft", "delete")


def _index(sourced_id: str) -> int:
    return int(sourced_id[1:])


def _values(stem: str, sid: str, variant: int) -> dict[str, str]:
    """The row of entity `sid` in `variant` (variants differ in one content field, so they make UPDATED)."""
    i = _index(sid)
    if stem == "orgs":
        school = sid != "d1"
        return {"name": f"Org {sid} v{variant}", "type": "school" if school else "district",
                "parentSourcedId": "d1" if school else ""}  # fmt: skip
    if stem == "academicSessions":
        return {"title": f"Term {i} v{variant}", "type": "term", "startDate": "2024-08-01", "endDate": "2025-06-30",
                "schoolYear": "2025"}  # fmt: skip
    if stem == "courses":
        return {"title": f"Course {i} v{variant}", "orgSourcedId": ("s1", "s2", "d1")[i - 1]}
    if stem == "classes":
        return {"title": f"Class {i} v{variant}", "courseSourcedId": f"c{i % 3 + 1}", "classType": "scheduled",
                "schoolSourcedId": f"s{i % 3 + 1}", "termSourcedIds": f"t{i % 2 + 1}"}  # fmt: skip
    if stem == "users":
        schools = [f"s{i % 3 + 1}"] + ([f"s{(i + 1) % 3 + 1}"] if variant == 2 else [])
        role = "teacher" if i % 4 == 0 else "student"
        return {"enabledUser": "true", "orgSourcedIds": ",".join(schools), "role": role, "username": f"user{i}",
                "givenName": f"Given{i} v{variant % 2}", "familyName": f"Family{i}"}  # fmt: skip
    user = (i - 1) % 10 + 1
    klass = (i - 1) % 6 + 1
    return {"classSourcedId": f"k{klass}", "schoolSourcedId": f"s{klass % 3 + 1}", "userSourcedId": f"u{user}",
            "role": "teacher" if user % 4 == 0 else "student", "primary": "false",
            "beginDate": f"2024-09-0{variant + 1}"}  # fmt: skip


def _faulty(stem: str, values: dict[str, str], fault: str) -> dict[str, str]:
    """The row with its fault applied (merge/conflict/delete are handled by the caller)."""
    required = {"orgs": "name", "academicSessions": "title", "courses": "title", "classes": "title",
                "users": "givenName", "enrollments": "role"}  # fmt: skip
    reference = {"orgs": "parentSourcedId", "academicSessions": "parentSourcedId", "courses": "orgSourcedId",
                 "classes": "courseSourcedId", "users": "orgSourcedIds", "enrollments": "userSourcedId"}  # fmt: skip
    if fault == "hard":
        return {**values, required[stem]: ""}
    if fault == "dangling":
        return {**values, reference[stem]: "missing1"}
    if fault == "soft":
        soft = {"users": ("email", "not-an-email"), "enrollments": ("schoolSourcedId", "s3"),
                "academicSessions": ("endDate", "2020-01-01"), "classes": ("grades", "99")}  # fmt: skip
        if stem in soft:
            column, value = soft[stem]
            return {**values, column: value}
    return values


@dataclass(frozen=True)
class FileDraw:
    mode: str  # bulk | delta
    rows: tuple[tuple[str, int, str], ...]  # (sourcedId, variant, fault)


@dataclass(frozen=True)
class ImportDraw:
    files: dict[str, FileDraw]
    dry_run: bool
    hold_easily: bool  # hold at 10% / at least 1 deletion instead of the default 25


def _csv(values: list[str]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


def render(stem: str, draw: FileDraw) -> str:
    header = HEADERS[stem]
    lines = [_csv(list(header))]
    delta = draw.mode == "delta"
    for sid, variant, fault in draw.rows:
        values = _faulty(stem, _values(stem, sid, variant), fault)
        status = "tobedeleted" if fault == "delete" else "active"
        if fault == "delete" and not delta:
            status = ""
            if stem != "orgs":  # a bulk file drops the entity instead: skip the row entirely
                continue
        meta = {"status": status if delta or fault == "delete" else "",
                "dateLastModified": "2024-05-01T00:00:00Z" if delta else ""}  # fmt: skip
        row = {"sourcedId": sid, **meta, **values}
        lines.append(_csv([row.get(c, "") for c in header]))
        if fault == "merge":
            lines.append(_csv([row.get(c, "") for c in header]))
        elif fault == "conflict":
            other = {**row, CONFLICTING[stem]: "2024-12-31" if stem == "enrollments" else "Other"}
            lines.append(_csv([other.get(c, "") for c in header]))
    if stem == "users" and any(f == "conflict" for _, _, f in draw.rows) and len(draw.rows) > 1:
        first = _values(stem, draw.rows[0][0], 0)  # a username clash between two different sourcedIds
        stamp = "2024-05-01T00:00:00Z" if delta else ""
        clash = {"sourcedId": "u99", "status": "active" if delta else "", "dateLastModified": stamp, **first,
                 "givenName": "Clash"}  # fmt: skip
        lines.append(_csv([clash.get(c, "") for c in header]))
    return "\n".join(lines) + "\n"


FAULT = st.sampled_from(FAULTS)


@st.composite
def fresh_rows(draw: st.DrawFn, stem: str, min_size: int) -> tuple[tuple[str, int, str], ...]:
    everything = draw(st.booleans())  # a whole file resolves most references, so fewer rows end up skipped
    ids = UNIVERSE[stem] if everything else draw(st.lists(st.sampled_from(UNIVERSE[stem]), unique=True,
                                                            min_size=min_size))  # fmt: skip
    clean = draw(st.booleans())  # half the files have no faulty row at all
    return tuple((sid, draw(st.integers(0, 2)), "none" if clean else draw(FAULT)) for sid in sorted(ids))


@st.composite
def next_file(draw: st.DrawFn, stem: str, previous: FileDraw | None) -> FileDraw | None:
    """The file of a later import: mostly the last one sent with a few rows changed, dropped or added, so that
    NO_CHANGE, UPDATED and DELETED are common; sometimes absent or drawn afresh."""
    ways = ["repeat", "vary", "vary", "vary", "absent", "fresh"] if previous else ["absent", "fresh"]
    way = draw(st.sampled_from(ways))
    if way == "absent":
        return None
    mode = draw(st.sampled_from(["bulk", "bulk", "delta"]))
    if way == "fresh" or previous is None:
        return FileDraw(mode, draw(fresh_rows(stem, 0)))
    if way == "repeat":
        return FileDraw(mode, tuple((sid, v, "none" if f == "delete" else f) for sid, v, f in previous.rows))
    rows: list[tuple[str, int, str]] = []
    clean = draw(st.booleans())  # half the files fix every faulty row of the last one
    for sid, variant, fault in previous.rows:
        change = draw(st.sampled_from(["keep", "keep", "variant", "variant", "fault", "drop"]))
        if change == "variant":
            variant = (variant + 1) % 3
        elif change == "fault":
            fault = draw(FAULT)
        if change != "drop":
            rows.append((sid, variant, "none" if clean or (fault == "delete" and change != "fault") else fault))
    known = {sid for sid, _, _ in previous.rows}
    added = draw(st.lists(st.sampled_from([i for i in UNIVERSE[stem] if i not in known] or ["x"]), unique=True,
                          max_size=3))  # fmt: skip
    rows += [(sid, draw(st.integers(0, 2)), draw(FAULT)) for sid in added if sid != "x"]
    return FileDraw(mode, tuple(sorted(rows)))


@st.composite
def import_sequences(draw: st.DrawFn) -> list[ImportDraw]:
    """1-3 imports; the first sends orgs and most other files in bulk."""
    last: dict[str, FileDraw] = {}
    sequence: list[ImportDraw] = []
    for number in range(draw(st.sampled_from([1, 2, 2, 3]))):
        files: dict[str, FileDraw] = {}
        for stem in UNIVERSE:
            if number == 0:
                if stem == "orgs" or draw(st.integers(0, 9)) > 0:
                    files[stem] = FileDraw("bulk", draw(fresh_rows(stem, 1)))
                continue
            drawn = draw(next_file(stem, last.get(stem)))
            if drawn is not None:
                files[stem] = drawn
        last.update(files)
        dry_run = draw(st.booleans()) and draw(st.booleans())
        sequence.append(ImportDraw(files, dry_run=dry_run, hold_easily=draw(st.booleans())))
    return sequence


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])  # fmt: skip
@given(sequence=import_sequences())
async def test_generated_imports_list_exactly_what_their_summaries_count(
    pool: asyncpg.Pool, sequence: list[ImportDraw]
) -> None:
    district = District(pool, await make_tenant(pool))
    with tempfile.TemporaryDirectory() as scratch:
        for number, step in enumerate(sequence):
            files = {stem: render(stem, f) for stem, f in step.files.items()}
            modes = {stem: f.mode for stem, f in step.files.items()}
            folder = write_package(Path(scratch) / str(number), files, modes)
            options = ImportOptions(dry_run=step.dry_run, hold_delete_percent=10,
                                    hold_delete_minimum=1 if step.hold_easily else 25)  # fmt: skip
            result = await district.run(folder, options)
            assert result.status in ("SUCCEEDED", "HELD"), result.failure
            seen = await assert_drilldowns_match_summaries(pool, district.tenant.id, result.sync_id)
            for label in [*sorted(seen), f"status {result.status}", f"dry run {step.dry_run}"]:
                event(label)  # which outcomes the examples reached (--hypothesis-show-statistics)


@pytest.mark.parametrize(
    "sample",
    ["rosterhub-en", "oat-1.1-base", "official-1.2-VRd118", "moodle-v1p2_full_dataset", "moodle-Test_minimal_data_set",
     "moodle-Test_full_data_set"],
)  # fmt: skip
async def test_real_samples_list_exactly_what_their_summaries_count(
    pool: asyncpg.Pool, shared_samples: Path, sample: str
) -> None:
    folder = shared_samples / sample
    if not (folder / "manifest.csv").exists():
        zips = sorted(folder.rglob("*.zip"))
        manifests = sorted(p.parent for p in folder.rglob("manifest.csv"))
        source = manifests[0] if manifests else zips[0] if zips else folder
    else:
        source = folder
    district = District(pool, await make_tenant(pool))
    for options in (ImportOptions(dry_run=True), ImportOptions(), ImportOptions()):  # dry run, first, re-import
        result = await district.run(source, options)
        assert result.status == "SUCCEEDED", result.failure
        seen = await assert_drilldowns_match_summaries(pool, district.tenant.id, result.sync_id, page_size=7)
        assert "TOTAL" in seen
