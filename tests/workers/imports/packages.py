"""Building OneRoster 1.1 packages for import-engine tests, reading back what an import stored, and hypothesis
strategies that generate small but realistic districts with random valid and invalid rows.

Rows are dicts keyed by CSV column name (a missing key is a blank cell); `Pkg` renders them into a zip with any
quoting, line-end and BOM style, so the same district can be written many ways.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl
from hypothesis import strategies as st

from db.entities import TABLES, TYPE_CODES, VersionKind, schools_sql
from oneroster_csv.model import DataType
from oneroster_csv.spec import file_spec
from tests.workers.imports.conftest import District
from workers.imports.engine import ImportResult
from workers.imports.model import ImportOptions, Outcome

Row = dict[str, str]

STEMS: tuple[str, ...] = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics")
HEADERS: dict[str, tuple[str, ...]] = {stem: file_spec(DataType(stem), "1.1").names for stem in STEMS}
TYPE_OF_CODE: dict[int, DataType] = {code: data_type for data_type, code in TYPE_CODES.items()}
OUTCOME_NAMES: dict[int, str] = {int(o): o.name for o in Outcome}
# The summary's outcome columns, by outcome code (the rest of the row are `total` and the `invalid` flag).
OUTCOME_COLUMNS: dict[str, Outcome] = {
    "no_change": Outcome.NO_CHANGE,
    "new": Outcome.NEW,
    "updated": Outcome.UPDATED,
    "deleted": Outcome.DELETED,
    "skipped": Outcome.SKIPPED,
    "merged": Outcome.MERGED,
    "excluded": Outcome.EXCLUDED,
}
APPLIED = frozenset({"NEW", "UPDATED", "NO_CHANGE"})  # the outcomes the invalid flag counts on (§2)
DELTA_STAMP = "2024-01-02T03:04:05.000Z"


# ---------------------------------------------------------------------------------------------------------------------
# Rendering


def _cell(value: str, quote_all: bool) -> str:
    if quote_all or any(ch in value for ch in ',"'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True)
class Style:
    """How a package is written: line ends, quoting, BOM. None of it may change what is imported."""

    crlf: bool = False
    quote_all: bool = False
    bom: bool = False
    final_newline: bool = True


def csv_text(
    stem: str,
    rows: Sequence[Row],
    *,
    metadata: Sequence[str] = (),
    style: Style = Style(),
    extra_cells: Mapping[int, int] | None = None,
) -> str:
    """One CSV file: the 1.1 header of `stem` plus `metadata`, one line per row (`extra_cells`: row index -> cells
    to add, negative to drop, to break the row width)."""
    columns = [*HEADERS[stem], *metadata]
    lines = [",".join(_cell(c, style.quote_all) for c in columns)]
    for index, row in enumerate(rows):
        unknown = set(row) - set(columns)
        assert not unknown, f"{stem}: unknown columns {unknown}"
        cells = [_cell(row.get(c, ""), style.quote_all) for c in columns]
        change = (extra_cells or {}).get(index, 0)
        cells = cells + ["x"] * change if change >= 0 else cells[:change]
        lines.append(",".join(cells))
    end = "\r\n" if style.crlf else "\n"
    text = end.join(lines) + (end if style.final_newline else "")
    return ("\ufeff" if style.bom else "") + text


def manifest_text(modes: Mapping[str, str], version: str = "1.1") -> str:
    lines = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    lines += [f"file.{stem},{mode}" for stem, mode in modes.items()]
    return "\n".join(lines) + "\n"


def zip_bytes(files: Mapping[str, str | bytes], modes: Mapping[str, str], version: str = "1.1") -> bytes:
    """A package as zip bytes: `files` maps a stem to its CSV text (a stem in `modes` but not in `files` is left
    out of the zip, which is how a manifest declaring a missing file is made)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", manifest_text(modes, version))
        for stem, text in files.items():
            archive.writestr(f"{stem}.csv", text.encode("utf-8") if isinstance(text, str) else text)
    return buffer.getvalue()


@dataclass
class Pkg:
    """A package under construction: rows per stem (file order), the manifest modes and the writing style."""

    rows: dict[str, list[Row]]
    modes: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extra_cells: dict[str, dict[int, int]] = field(default_factory=dict)
    style: Style = Style()

    def mode(self, stem: str) -> str:
        return self.modes.get(stem, "bulk")

    def files(self) -> dict[str, str]:
        return {
            stem: csv_text(
                stem,
                rows,
                metadata=self.metadata.get(stem, ()),
                style=self.style,
                extra_cells=self.extra_cells.get(stem),
            )
            for stem, rows in self.rows.items()
            if self.mode(stem) != "absent"
        }

    def zip(self) -> bytes:
        modes = {stem: self.mode(stem) for stem in self.rows} | self.modes
        return zip_bytes(self.files(), modes)

    def copy(self) -> Pkg:
        return replace(
            self,
            rows={s: [dict(r) for r in rows] for s, rows in self.rows.items()},
            modes=dict(self.modes),
            metadata=dict(self.metadata),
            extra_cells={s: dict(c) for s, c in self.extra_cells.items()},
        )


# ---------------------------------------------------------------------------------------------------------------------
# Row builders and a small handmade district


def org(sid: str, type_: str = "school", parent: str = "", name: str | None = None) -> Row:
    return {"sourcedId": sid, "name": name or f"Org {sid}", "type": type_, "parentSourcedId": parent}


def session(
    sid: str,
    type_: str = "term",
    parent: str = "",
    start: str = "2024-08-15",
    end: str = "2025-06-15",
    year: str = "2025",
) -> Row:
    return {
        "sourcedId": sid,
        "title": f"Session {sid}",
        "type": type_,
        "startDate": start,
        "endDate": end,
        "parentSourcedId": parent,
        "schoolYear": year,
    }


def course(sid: str, org_id: str, grades: str = "", year: str = "") -> Row:
    return {
        "sourcedId": sid,
        "title": f"Course {sid}",
        "orgSourcedId": org_id,
        "grades": grades,
        "schoolYearSourcedId": year,
    }


def klass(sid: str, course_id: str, school: str, terms: str = "t1", grades: str = "") -> Row:
    return {
        "sourcedId": sid,
        "title": f"Class {sid}",
        "courseSourcedId": course_id,
        "classType": "scheduled",
        "schoolSourcedId": school,
        "termSourcedIds": terms,
        "grades": grades,
    }


def user(sid: str, orgs: str, role: str = "student", username: str | None = None, **values: str) -> Row:
    row = {
        "sourcedId": sid,
        "enabledUser": "true",
        "orgSourcedIds": orgs,
        "role": role,
        "username": username if username is not None else f"user.{sid}",
        "givenName": f"Given{sid}",
        "familyName": f"Family{sid}",
    }
    row.update(values)
    return row


def enrollment(
    sid: str, class_id: str, school: str, user_id: str, role: str = "student", primary: str = "", **values: str
) -> Row:
    row = {
        "sourcedId": sid,
        "classSourcedId": class_id,
        "schoolSourcedId": school,
        "userSourcedId": user_id,
        "role": role,
        "primary": primary,
    }
    row.update(values)
    return row


def demographic(user_id: str, sex: str = "female", birth: str = "2012-03-04") -> Row:
    return {"sourcedId": user_id, "sex": sex, "birthDate": birth}


def base_rows() -> dict[str, list[Row]]:
    """A clean district: district d1; schools s1, s2; department dep1 under s1; school year y1 with term t1;
    course c1 at s1 and c2 in the district catalogue; classes k1 (s1) and k2 (s2); teacher u1 at s1, student u2 at
    s1 and s2, administrator u3 at the district only; their enrollments; u2's demographics."""
    return {
        "orgs": [
            org("d1", "district"),
            org("s1", parent="d1"),
            org("s2", parent="d1"),
            org("dep1", "department", parent="s1"),
        ],
        "academicSessions": [session("y1", "schoolYear"), session("t1", "term", parent="y1")],
        "courses": [course("c1", "s1", grades="05"), course("c2", "d1")],
        "classes": [klass("k1", "c1", "s1"), klass("k2", "c2", "s2")],
        "users": [
            user("u1", "s1", "teacher", email="u1@example.org"),
            user("u2", "s1,s2", "student", grades="05"),
            user("u3", "d1", "administrator"),
        ],
        "enrollments": [
            enrollment("e1", "k1", "s1", "u1", "teacher", "true"),
            enrollment("e2", "k1", "s1", "u2"),
            enrollment("e3", "k2", "s2", "u2"),
        ],
        "demographics": [demographic("u2")],
    }


def base_pkg() -> Pkg:
    return Pkg(base_rows())


def delta(row: Row, status: str = "active") -> Row:
    """The row as a delta row: status and dateLastModified filled."""
    return {**row, "status": status, "dateLastModified": DELTA_STAMP}


# ---------------------------------------------------------------------------------------------------------------------
# Reading back what an import stored


@dataclass(frozen=True)
class Record:
    """One record of a sync as the drill-downs would show it (explicit outcome row or a version of the sync)."""

    data_type: DataType
    sourced_id: str
    line: int
    outcome: str
    invalid: bool
    schools: tuple[str, ...]
    codes: tuple[str, ...]
    issues: tuple[dict[str, Any], ...]


def _issues(raw: Any) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    value = json.loads(raw) if isinstance(raw, str) else raw
    return tuple(value)


async def applied_seq(district: District, sync_id: int) -> int | None:
    seq: int | None = await district.pool.fetchval(
        "SELECT applied_seq FROM syncs WHERE tenant_id = $1 AND id = $2", district.tenant.id, sync_id
    )
    return seq


async def file_modes(district: District, sync_id: int) -> dict[DataType, str]:
    rows = await district.pool.fetch(
        "SELECT data_type, file_mode FROM sync_summaries WHERE tenant_id = $1 AND sync_id = $2 AND school_id = ''",
        district.tenant.id,
        sync_id,
    )
    return {TYPE_OF_CODE[r["data_type"]]: r["file_mode"] for r in rows}


async def sync_records(district: District, sync_id: int) -> list[Record]:
    """Every record of the sync, derived as migration 0002 describes: the explicit outcome rows, plus for an applied
    sync its own versions (kind = outcome; KEPT is no record) and, for a bulk file, the versions live across it as
    NO_CHANGE. This is what every drill-down must list; its counts must equal the summary's."""
    tenant = district.tenant.id
    out: list[Record] = []
    explicit = await district.pool.fetch(
        """SELECT data_type, "sourcedId", line, outcome, invalid, schools, issues FROM record_outcomes
           WHERE tenant_id = $1 AND sync_id = $2""",
        tenant,
        sync_id,
    )
    for r in explicit:
        issues = _issues(r["issues"])
        out.append(
            Record(
                TYPE_OF_CODE[r["data_type"]],
                r["sourcedId"],
                r["line"],
                OUTCOME_NAMES[r["outcome"]],
                r["invalid"],
                tuple(r["schools"]),
                tuple(i["code"] for i in issues),
                issues,
            )
        )
    seq = await applied_seq(district, sync_id)
    if seq is None:
        return out
    modes = await file_modes(district, sync_id)
    for data_type, mode in modes.items():
        table = TABLES[data_type]
        own = await district.pool.fetch(
            f"""SELECT "sourcedId", line, kind, invalid, {schools_sql(data_type)} AS schools, issues FROM {table}
                WHERE tenant_id = $1 AND valid_from = $2 AND kind <> $3""",
            tenant,
            seq,
            int(VersionKind.KEPT),
        )
        rows = [(r, Outcome(r["kind"]).name) for r in own]
        if mode == "bulk":
            across = await district.pool.fetch(
                f"""SELECT "sourcedId", line, kind, invalid, {schools_sql(data_type)} AS schools, issues FROM {table}
                    WHERE tenant_id = $1 AND valid_from < $2 AND (valid_to IS NULL OR valid_to > $2) AND kind <> $3
                      AND kind <> $4""",
                tenant,
                seq,
                int(VersionKind.DELETED),
                int(VersionKind.KEPT),
            )
            rows += [(r, "NO_CHANGE") for r in across]
        for r, outcome in rows:
            issues = _issues(r["issues"])
            out.append(
                Record(
                    data_type,
                    r["sourcedId"],
                    r["line"] or 0,
                    outcome,
                    r["invalid"],
                    tuple(r["schools"]),
                    tuple(i["code"] for i in issues),
                    issues,
                )
            )
    return out


def by_line(records: Sequence[Record], data_type: DataType) -> dict[int, Record]:
    return {r.line: r for r in records if r.data_type is data_type}


def by_id(records: Sequence[Record], data_type: DataType) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = {}
    for r in records:
        if r.data_type is data_type:
            found.setdefault(r.sourced_id, []).append(r)
    return found


def drilldown_counts(records: Sequence[Record]) -> dict[tuple[str, int], dict[str, int]]:
    """(school_id, data_type code) -> column counts, counted from the records as the drill-downs list them."""
    counts: dict[tuple[str, int], Counter[str]] = {}
    names = {o.name: column for column, o in OUTCOME_COLUMNS.items()}
    for r in records:
        code = TYPE_CODES[r.data_type]
        for school in ("", *r.schools):
            counter = counts.setdefault((school, code), Counter())
            counter["total"] += 1
            counter[names[r.outcome]] += 1
            counter["invalid"] += int(r.invalid and r.outcome in APPLIED)
    columns = ["total", *OUTCOME_COLUMNS, "invalid"]
    return {key: {c: counter.get(c, 0) for c in columns} for key, counter in counts.items()}


def summary_table(result: ImportResult) -> dict[tuple[str, int], dict[str, int]]:
    assert result.summaries is not None
    table: dict[tuple[str, int], dict[str, int]] = {}
    for row in result.summaries.to_dicts():
        key = (row.pop("school_id"), row.pop("data_type"))
        table[key] = row
    return table


# Columns that are bookkeeping of a version, not the district's data.
# (raw_hash: of the row the version was read from, which a record unchanged since an earlier sync keeps)
BOOKKEEPING = frozenset({"tenant_id", "valid_from", "valid_to", "line", "kind", "raw_hash", "info"})
# Columns that never make a record UPDATED by themselves (§2), so a NO_CHANGE record keeps its earlier values.
NOT_CONTENT = frozenset({"status", "dateLastModified"})
SET_COLUMNS = frozenset({"orgSourcedIds", "grades"})


async def content_state(district: District) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """The live current entities per table, without version bookkeeping, status/dateLastModified, and with the
    lists compared as sets (orgSourcedIds, grades) in set order: the district's data as a comparison would see it."""
    state: dict[str, list[tuple[tuple[str, Any], ...]]] = {}
    for table in TABLES.values():
        rows = await district.pool.fetch(
            f'SELECT * FROM {table} WHERE tenant_id = $1 AND valid_to IS NULL AND kind <> $2 ORDER BY "sourcedId"',
            district.tenant.id,
            int(VersionKind.DELETED),
        )
        items = []
        for r in rows:
            values = []
            for key, value in r.items():
                if key in BOOKKEEPING or key in NOT_CONTENT:
                    continue
                if key in SET_COLUMNS and value is not None:
                    value = ",".join(sorted(value.split(",")))
                values.append((key, value))
            items.append(tuple(values))
        state[table] = items
    return state


def column_sums_hold(row: Mapping[str, int]) -> bool:
    parts = sum(row[c] for c in OUTCOME_COLUMNS)
    return row["total"] == parts and row["invalid"] <= row["no_change"] + row["new"] + row["updated"]


# ---------------------------------------------------------------------------------------------------------------------
# Hypothesis strategies

ROLES = ("student", "teacher", "administrator", "aide", "parent")
GRADES = ("KG", "01", "02", "05", "09", "12")
# Row faults: each turns a valid row into one a rule catches (HARD: skipped, SOFT: applied and flagged).
HARD_FAULTS = ("blank_required", "bad_enum", "bad_id", "dangling_required", "tobedeleted", "width")
SOFT_FAULTS = ("bad_email", "bad_grade", "dangling_agent", "dates_reversed", "unknown_status")
DUPLICATE_FAULTS = ("duplicate_same", "duplicate_fill", "duplicate_conflict", "username_clash")


@dataclass(frozen=True)
class Shape:
    """The sizes and ids of a generated district."""

    schools: tuple[str, ...]
    departments: tuple[tuple[str, str], ...]  # (department, parent school)
    terms: tuple[str, ...]
    courses: tuple[tuple[str, str], ...]  # (course, org)
    classes: tuple[tuple[str, str, str, str], ...]  # (class, course, school, terms)
    users: tuple[tuple[str, str, str], ...]  # (user, orgs, role)


@st.composite
def shapes(draw: st.DrawFn, prefix: str = "", min_classes: int = 0) -> Shape:
    """Ids and links of a district: 1-3 schools, maybe departments, 1-2 terms, 1-4 courses, 0-5 classes, 1-8 users."""
    n_schools = draw(st.integers(1, 3))
    schools = tuple(f"{prefix}s{i}" for i in range(1, n_schools + 1))
    departments = tuple((f"{prefix}dep{i}", draw(st.sampled_from(schools))) for i in range(draw(st.integers(0, 2))))
    terms = tuple(f"{prefix}t{i}" for i in range(1, draw(st.integers(1, 2)) + 1))
    orgs_for_courses = (*schools, "d1")
    courses = tuple((f"{prefix}c{i}", draw(st.sampled_from(orgs_for_courses))) for i in range(draw(st.integers(1, 4))))
    class_schools = schools + tuple(d for d, _ in departments)  # a department used as school now and then
    classes = tuple(
        (
            f"{prefix}k{i}",
            draw(st.sampled_from(courses))[0],
            draw(st.sampled_from(class_schools)),
            ",".join(draw(st.lists(st.sampled_from(terms), min_size=1, max_size=len(terms), unique=True))),
        )
        for i in range(draw(st.integers(min_classes, 5)))
    )
    user_orgs = (*schools, "d1")
    users = tuple(
        (
            f"{prefix}u{i}",
            ",".join(draw(st.lists(st.sampled_from(user_orgs), min_size=1, max_size=len(user_orgs), unique=True))),
            draw(st.sampled_from(ROLES)),
        )
        for i in range(1, draw(st.integers(1, 8)) + 1)
    )
    return Shape(schools, departments, terms, courses, classes, users)


@st.composite
def clean_rows(draw: st.DrawFn, shape: Shape, full: bool = False) -> dict[str, list[Row]]:
    """Valid rows for a shape, with random optional values (grades, emails). `full`: every file has a row (the shape
    must have a class)."""
    rows: dict[str, list[Row]] = {
        "orgs": [
            org("d1", "district"),
            *(org(s, parent="d1") for s in shape.schools),
            *(org(d, "department", parent=p) for d, p in shape.departments),
        ],
        "academicSessions": [session("y1", "schoolYear"), *(session(t, parent="y1") for t in shape.terms)],
        "courses": [
            course(c, o, grades=",".join(draw(st.lists(st.sampled_from(GRADES), max_size=2, unique=True))))
            for c, o in shape.courses
        ],
        "classes": [klass(k, c, s, terms) for k, c, s, terms in shape.classes],
        "users": [],
        "enrollments": [],
        "demographics": [],
    }
    for sid, orgs, role in shape.users:
        extra: Row = {}
        if draw(st.booleans()):
            extra["email"] = f"{sid}@example.org"
        if role == "student" and draw(st.booleans()):
            extra["grades"] = draw(st.sampled_from(GRADES))
        username = draw(st.sampled_from([f"user.{sid}", f"User.{sid}", f"{sid}@district.example"]))
        rows["users"].append(user(sid, orgs, role, username=username, **extra))
        if draw(st.integers(0, 2)) == 0:
            rows["demographics"].append(demographic(sid, draw(st.sampled_from(["male", "female", ""]))))
    if full and not rows["demographics"]:
        rows["demographics"].append(demographic(shape.users[0][0]))
    if shape.classes:
        pairs = draw(
            st.lists(
                st.tuples(st.sampled_from(shape.classes), st.sampled_from(shape.users)),
                min_size=1 if full else 0,
                max_size=10,
                unique_by=lambda p: (p[0][0], p[1][0]),
            )
        )
        for i, ((k, _, school, _), (u, _, role)) in enumerate(pairs):
            enrol_role = "teacher" if role == "teacher" else "student"
            primary = draw(st.sampled_from(["", "true", "false"])) if enrol_role == "teacher" else ""
            rows["enrollments"].append(enrollment(f"e{i}", k, school, u, enrol_role, primary))
    return rows


REQUIRED_OF = {
    "orgs": "name",
    "academicSessions": "title",
    "courses": "title",
    "classes": "title",
    "users": "givenName",
    "enrollments": "role",
}
ENUM_OF = {"orgs": "type", "academicSessions": "type", "classes": "classType", "users": "role", "enrollments": "role"}
REFERENCE_OF = {
    "courses": "orgSourcedId",
    "classes": "courseSourcedId",
    "users": "orgSourcedIds",
    "enrollments": "classSourcedId",
    "demographics": "sourcedId",
}


def _fault(pkg: Pkg, stem: str, index: int, fault: str) -> None:
    """Break row `index` of `stem` in the way `fault` names (a no-op where the fault does not apply to the file)."""
    rows = pkg.rows[stem]
    row = rows[index]
    if fault == "blank_required" and stem in REQUIRED_OF:
        row[REQUIRED_OF[stem]] = ""
    elif fault == "bad_enum" and stem in ENUM_OF:
        row[ENUM_OF[stem]] = "bogus"
    elif fault == "bad_id":
        row["sourcedId"] = "bad id!"
    elif fault == "dangling_required" and stem in REFERENCE_OF:
        row[REFERENCE_OF[stem]] = "nowhere"
    elif fault == "tobedeleted":
        row["status"] = "tobedeleted"
    elif fault == "width":
        pkg.extra_cells.setdefault(stem, {})[index] = 1
    elif fault == "bad_email" and stem == "users":
        row["email"] = "not-an-email"
    elif fault == "bad_grade" and stem in ("users", "courses", "classes"):
        row["grades"] = "13th"
    elif fault == "dangling_agent" and stem == "users":
        row["agentSourcedIds"] = "ghost-parent"
    elif fault == "dates_reversed" and stem == "academicSessions":
        row["startDate"], row["endDate"] = "2025-06-15", "2024-08-15"
    elif fault == "unknown_status":
        row["status"] = "inactive"
    elif fault == "duplicate_same":
        rows.append(dict(row))
    elif fault == "duplicate_fill":
        # a copy that fills a blank of the original: mergeable
        copy = dict(row)
        blank = [c for c in HEADERS[stem][3:] if not row.get(c) and c not in ("status", "dateLastModified")]
        if blank and stem != "enrollments":
            copy[blank[0]] = _filler(stem, blank[0])
        rows.append(copy)
    elif fault == "duplicate_conflict" and stem in REQUIRED_OF:
        rows.append({**row, REQUIRED_OF[stem]: "Something else"})
    elif fault == "username_clash" and stem == "users" and len(rows) > 1:
        other = rows[(index + 1) % len(rows)]
        row["username"] = other["username"].upper()


def _filler(stem: str, column: str) -> str:
    """A valid value for a blank optional column."""
    return {
        "identifier": "X-1",
        "courseCode": "CODE-1",
        "classCode": "CLS-1",
        "location": "Room 1",
        "middleName": "Middle",
        "phone": "555-0100",
        "sms": "555-0101",
        "email": "filled@example.org",
        "cityOfBirth": "Springfield",
        "countryOfBirthCode": "US",
    }.get(column, "")


@dataclass(frozen=True)
class Generated:
    pkg: Pkg
    faults: tuple[tuple[str, int, str], ...]  # (stem, row index, fault) applied, for the failure report


@st.composite
def packages(
    draw: st.DrawFn, *, clean: bool = False, prefix: str = "", metadata: bool = True, deltas: bool = False
) -> Generated:
    """A bulk 1.1 package of every rostering file. `clean`: every row valid (no skipped or excluded rows) and every
    file has rows, though rows may still repeat exactly (MERGED). Otherwise a few rows carry random faults, and
    files without rows are declared absent. `deltas`: some files are delta files (status and dateLastModified
    filled, a few tobedeleted rows for known or unknown sourcedIds) or absent."""
    shape = draw(shapes(prefix, min_classes=1 if clean else 0))
    rows = draw(clean_rows(shape, full=clean))
    style = Style(
        crlf=draw(st.booleans()),
        quote_all=draw(st.booleans()),
        bom=draw(st.booleans()),
        final_newline=draw(st.booleans()),
    )
    pkg = Pkg(rows, style=style)
    if metadata and draw(st.booleans()):
        pkg.metadata["users"] = ("metadata.house",)
        for row in rows["users"]:
            row["metadata.house"] = draw(st.sampled_from(["", "Red", "Blue, Green"]))
    faults: list[tuple[str, int, str]] = []
    kinds = ("duplicate_same",) if clean else (*HARD_FAULTS, *SOFT_FAULTS, *DUPLICATE_FAULTS)
    for _ in range(draw(st.integers(0, 4))):
        stem = draw(st.sampled_from(STEMS))
        if not pkg.rows[stem]:
            continue
        index = draw(st.integers(0, len(pkg.rows[stem]) - 1))
        fault = draw(st.sampled_from(kinds))
        _fault(pkg, stem, index, fault)
        faults.append((stem, index, fault))
    if draw(st.booleans()):  # file order is not meaningful: shuffle the files (width faults stay on their rows)
        for stem in STEMS:
            if stem not in pkg.extra_cells:
                pkg.rows[stem] = draw(st.permutations(pkg.rows[stem]))
    if deltas:
        for stem in STEMS:
            mode = draw(st.sampled_from(["bulk", "delta", "delta", "absent"]))
            if mode == "absent":
                pkg.modes[stem] = "absent"
            elif mode == "delta":
                pkg.modes[stem] = "delta"
                pkg.rows[stem] = [{**row, "status": row.get("status") or "active", "dateLastModified": DELTA_STAMP}
                                  for row in pkg.rows[stem]]  # fmt: skip
                known = ["s1", "d1", "t1", "c0", "k0", "u1", "u2", "e0", "e1", "ghost"]
                for sid in draw(st.lists(st.sampled_from(known), max_size=2, unique=True)):
                    pkg.rows[stem].append({"sourcedId": sid, "status": "tobedeleted", "dateLastModified": DELTA_STAMP})
                    faults.append((stem, len(pkg.rows[stem]) - 1, "delete"))
    return Generated(non_empty(pkg), tuple(faults))


def non_empty(pkg: Pkg) -> Pkg:
    """Files without rows are not permitted in a package: declare them absent."""
    for stem, rows in pkg.rows.items():
        if not rows and stem not in pkg.extra_cells:
            pkg.modes[stem] = "absent"
    return pkg


def summaries_frame_ok(frame: pl.DataFrame) -> list[str]:
    """Rows of a summary frame whose columns do not add up (empty when the §2 sums hold everywhere)."""
    return [f"{row}" for row in frame.to_dicts() if not column_sums_hold(row)]


async def run(
    district: District, pkg: Pkg | bytes, options: ImportOptions | None = None, **kwargs: object
) -> tuple[ImportResult, list[Record]]:
    """Import the package and return the result with every record of the sync."""
    result = await district.run(pkg.zip() if isinstance(pkg, Pkg) else pkg, options, **kwargs)
    return result, await sync_records(district, result.sync_id)


def codes_at(records: Sequence[Record], data_type: DataType, line: int) -> set[str]:
    return set(by_line(records, data_type)[line].codes)
