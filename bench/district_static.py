"""The small, slowly changing part of the district: orgs, academic sessions, courses and classes.

These tables hold at most a few thousand rows, so plain Python with a seeded `random.Random` is fast enough.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from bench._rand import id_range, stream_key
from bench.catalog import COURSE_CODE_PREFIX, LEVELS, VARIANTS, CatalogEntry, catalog
from bench.names import ROOM_KINDS, SCHOOL_STEMS, SPECIAL_ROOMS

ORG_COLUMNS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
SESSION_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
    "schoolYear",
]
COURSE_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "schoolYearSourcedId",
    "title",
    "courseCode",
    "grades",
    "orgSourcedId",
    "subjects",
    "subjectCodes",
]
CLASS_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
]

# (district name, domain stem, state, NCES state code); the seed picks one.
DISTRICTS = [
    ("Cedar Valley", "cedarvalley", "or", "41"),
    ("Maple Grove", "maplegrove", "mn", "27"),
    ("Lakeview", "lakeview", "oh", "39"),
    ("Riverbend", "riverbend", "co", "08"),
]
# School year 2024-25 (schoolYear = ending year, the common US SIS convention).
SESSION_PLAN = [  # key, title, type, start, end, parent key
    ("year", "2024-2025", "schoolYear", "2024-08-26", "2025-06-13", None),
    ("fall", "Fall 2024", "semester", "2024-08-26", "2025-01-17", "year"),
    ("spring", "Spring 2025", "semester", "2025-01-21", "2025-06-13", "year"),
    ("q1", "Quarter 1", "gradingPeriod", "2024-08-26", "2024-11-01", "fall"),
    ("q2", "Quarter 2", "gradingPeriod", "2024-11-04", "2025-01-17", "fall"),
    ("q3", "Quarter 3", "gradingPeriod", "2025-01-21", "2025-03-28", "spring"),
    ("q4", "Quarter 4", "gradingPeriod", "2025-03-31", "2025-06-13", "spring"),
]


@dataclass(frozen=True)
class School:
    index: int
    sourced_id: str
    name: str
    level: str
    grades: tuple[str, ...]


@dataclass
class StaticPart:
    district_id: str
    domain: str
    schools: list[School]
    terms: dict[str, tuple[str, str, str]]  # key -> (sourcedId, startDate, endDate)
    orgs: pl.DataFrame
    sessions: pl.DataFrame
    courses: pl.DataFrame  # + _school (-1 = district catalog), _level, _homeroom
    classes: pl.DataFrame  # + _school, _begin, _end
    course_entries: list[dict[str, Any]] = field(default_factory=list)


def largest_remainder(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Split `total` into integer parts proportional to weights, each at least `minimum`."""
    spare = total - minimum * len(weights)
    raw = [spare * w / sum(weights) for w in weights]
    parts = [int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))
    for i in by_remainder[: spare - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def school_levels(n_schools: int) -> list[str]:
    if n_schools == 1:
        return ["k12"]
    if n_schools == 2:
        return ["k8", "high"]
    high = max(1, round(n_schools * 0.18))
    middle = max(1, round(n_schools * 0.22))
    return ["elementary"] * (n_schools - high - middle) + ["middle"] * middle + ["high"] * high


def build_orgs(seed: int, n_schools: int) -> tuple[str, str, list[School], pl.DataFrame]:
    rng = random.Random(stream_key(seed, "orgs"))
    name, stem, state, nces_state = DISTRICTS[seed % len(DISTRICTS)]
    ids = id_range(n_schools + 1, stream_key(seed, "orgs.id")).to_list()
    district_nces = f"{nces_state}{rng.randrange(10000, 99999)}"
    stems = rng.sample(SCHOOL_STEMS, n_schools)
    schools = [
        School(i, ids[i + 1], f"{stems[i]} {LEVELS[lv].suffix}", lv, LEVELS[lv].grades)
        for i, lv in enumerate(school_levels(n_schools))
    ]
    rows = [(ids[0], f"{name} School District", "district", district_nces, None)]
    rows += [
        (s.sourced_id, s.name, "school", f"{district_nces}{(s.index + 1) * 10 + rng.randrange(10):05d}", ids[0])
        for s in schools
    ]
    orgs = pl.DataFrame(
        [(r[0], None, None, *r[1:]) for r in rows],
        schema=ORG_COLUMNS,
        orient="row",
        schema_overrides={c: pl.String for c in ORG_COLUMNS},
    )
    return ids[0], f"{stem}.k12.{state}.us", schools, orgs


def build_sessions(seed: int) -> tuple[dict[str, tuple[str, str, str]], pl.DataFrame]:
    session_ids = id_range(len(SESSION_PLAN), stream_key(seed, "sessions.id")).to_list()
    ids = dict(zip([p[0] for p in SESSION_PLAN], session_ids, strict=True))
    rows = [
        (ids[k], None, None, title, kind, start, end, ids[parent] if parent else None, "2025")
        for k, title, kind, start, end, parent in SESSION_PLAN
    ]
    frame = pl.DataFrame(
        rows, schema=SESSION_COLUMNS, orient="row", schema_overrides={c: pl.String for c in SESSION_COLUMNS}
    )
    return {k: (ids[k], start, end) for k, _t, _k, start, end, _p in SESSION_PLAN}, frame


def course_row(
    entry: CatalogEntry, title: str, code: str, org_id: str, year_id: str, school: int, level: str, with_codes: bool
) -> dict[str, Any]:
    return {
        "sourcedId": None,
        "status": None,
        "dateLastModified": None,
        "schoolYearSourcedId": year_id,
        "title": title,
        "courseCode": code,
        "grades": ",".join(entry.grades),
        "orgSourcedId": org_id,
        "subjects": entry.subject,
        "subjectCodes": entry.subject_code if with_codes else None,
        "_school": school,
        "_level": level,
        "_homeroom": entry.homeroom,
        "_first_grade": entry.grades[0],
    }


def build_courses(seed: int, n_courses: int, district_id: str, schools: list[School], year_id: str) -> pl.DataFrame:
    rng = random.Random(stream_key(seed, "courses"))
    n_district = round(n_courses * 0.15) if n_courses >= 10 else 0
    per_school = largest_remainder(n_courses - n_district, [LEVELS[s.level].course_weight for s in schools], minimum=0)
    rows: list[dict[str, Any]] = []
    code_counter: dict[str, int] = {}

    def add(entry: CatalogEntry, variant: str, org_id: str, school: int, level: str) -> None:
        prefix = COURSE_CODE_PREFIX[entry.subject]
        code_counter[prefix] = code_counter.get(prefix, 0) + 1
        rows.append(
            course_row(
                entry,
                variant.format(entry.title),
                f"{prefix}{code_counter[prefix]:04d}",
                org_id,
                year_id,
                school,
                level,
                rng.random() < 0.6,
            )
        )

    levels = sorted({s.level for s in schools}, key=lambda lv: LEVELS[lv].grades[0])
    for n in range(n_district):  # shared catalog: core courses of each level, owned by the district
        level = levels[n % len(levels)]
        entries = catalog(level)
        add(entries[(n // len(levels)) % len(entries)], "{}", district_id, -1, level)
    for school, count in zip(schools, per_school, strict=True):
        entries = catalog(school.level)
        order = rng.sample(range(len(entries)), len(entries))
        for n in range(count):
            variant = VARIANTS[(n // len(entries)) % len(VARIANTS)]
            add(entries[order[n % len(entries)]], variant, school.sourced_id, school.index, school.level)
    frame = pl.DataFrame(rows)
    ids = id_range(frame.height, stream_key(seed, "courses.id"))
    return frame.with_columns(ids.alias("sourcedId")).select(
        [pl.col(c).cast(pl.String) for c in COURSE_COLUMNS] + ["_school", "_level", "_homeroom", "_first_grade"]
    )


def class_row(
    rng: random.Random, course: dict[str, Any], section: int, school: School, terms: dict[str, tuple[str, str, str]]
) -> dict[str, Any]:
    """One class of `course` at `school`; terms, period and room follow the school level."""
    secondary = school.level in ("middle", "high") or (school.level in ("k8", "k12") and rng.random() < 0.5)
    title, subject = str(course["title"]), str(course["subjects"])
    if course["_homeroom"] or not secondary or rng.random() < 0.5:
        term_keys = ["fall", "spring"]
    elif rng.random() < 0.8:
        term_keys = [rng.choice(["fall", "spring"])]
    else:
        term_keys = [rng.choice(["q1", "q2", "q3", "q4"])]
    if not secondary or course["_homeroom"]:
        periods = None
    else:
        first = rng.randrange(1, 8)
        periods = f"{first},{first + 1}" if rng.random() < 0.1 else str(first)
    if subject == "Physical Education" and "Health" not in title:
        location = "Gym"
    elif subject == "Fine Arts" and rng.random() < 0.7:
        location = rng.choice(SPECIAL_ROOMS[1:5])
    else:
        location = f"{rng.choice(ROOM_KINDS)} {rng.randrange(1, 4)}{rng.randrange(0, 40):02d}"
    return {
        "sourcedId": None,
        "status": None,
        "dateLastModified": None,
        "title": f"{title} - {section:02d}",
        "grades": course["grades"],
        "courseSourcedId": course["sourcedId"],
        "classCode": f"{course['courseCode']}-{section:02d}",
        "classType": "homeroom" if course["_homeroom"] else "scheduled",
        "location": location,
        "schoolSourcedId": school.sourced_id,
        "termSourcedIds": ",".join(terms[k][0] for k in term_keys),
        "subjects": course["subjects"],
        "subjectCodes": course["subjectCodes"],
        "periods": periods,
        "_school": school.index,
        "_begin": terms[term_keys[0]][1],
        "_end": terms[term_keys[-1]][2],
        "_grade_pos": school.grades.index(str(course["_first_grade"]))
        if course["_first_grade"] in school.grades
        else 0,
    }


def eligible_courses(courses: pl.DataFrame, school: School) -> list[dict[str, Any]]:
    """The school's own courses first, then the district catalog courses of its level."""
    own = courses.filter(pl.col("_school") == school.index)
    shared = courses.filter((pl.col("_school") == -1) & (pl.col("_level") == school.level))
    return own.to_dicts() + shared.to_dicts()


def build_classes(
    seed: int,
    per_school: list[int],
    schools: list[School],
    courses: pl.DataFrame,
    terms: dict[str, tuple[str, str, str]],
) -> pl.DataFrame:
    rng = random.Random(stream_key(seed, "classes"))
    rows: list[dict[str, Any]] = []
    for school, count in zip(schools, per_school, strict=True):
        options = eligible_courses(courses, school)
        own = sum(1 for c in options if c["_school"] == school.index)
        sections: dict[str, int] = {}
        school_rows = []
        for n in range(count):
            # every own course gets a section before any course gets a second one
            course = options[n] if n < own else options[rng.randrange(len(options))]
            sections[course["sourcedId"]] = sections.get(course["sourcedId"], 0) + 1
            school_rows.append(class_row(rng, course, sections[course["sourcedId"]], school, terms))
        # grade order lets a student's class window (see district_people) land on classes of their grade
        rows += sorted(school_rows, key=lambda r: (r["_grade_pos"], r["classCode"]))
    frame = pl.DataFrame(rows, infer_schema_length=None)
    ids = id_range(frame.height, stream_key(seed, "classes.id"))
    return frame.with_columns(ids.alias("sourcedId")).select(
        [pl.col(c).cast(pl.String) for c in CLASS_COLUMNS] + ["_school", "_begin", "_end", "_grade_pos"]
    )
