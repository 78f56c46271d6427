"""The in-memory district (day 1 or day 2) and how day 1 is built from the requested sizes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from bench._rand import rand_u32, stream_key
from bench.district_enrollments import build_enrollments
from bench.district_people import (
    base_people,
    build_demographics,
    finish_users,
    id_digits,
    link_guardians,
    plan_users,
    school_table,
)
from bench.district_plan import Layout, plan_layout
from bench.district_static import DISTRICTS, School, build_classes, build_courses, build_orgs, build_sessions


@dataclass(frozen=True)
class District:
    seed: int
    layout: Layout
    schools: list[School]
    district_id: str
    domain: str
    state: str
    terms: dict[str, tuple[str, str, str]]
    sch: pl.DataFrame  # per-school lookup, see district_people.school_table
    people: pl.DataFrame  # users before derived strings; day 2 re-derives usernames over day 1 + newcomers
    tables: dict[str, pl.DataFrame]  # file stem -> frame; columns starting with "_" are helpers, not written


def build_day1(seed: int, users: int, classes: int, enrollments: int) -> District:
    layout = plan_layout(seed, users, classes, enrollments)
    district_id, domain, schools, orgs = build_orgs(seed, layout.n_schools)
    terms, sessions = build_sessions(seed)
    courses = build_courses(seed, layout.n_courses, district_id, schools, terms["year"][0])
    class_frame = build_classes(seed, layout.classes_per_school, schools, courses, terms)
    sch = school_table(schools, district_id)
    people = link_guardians(seed, base_people(seed, plan_users(layout), layout.n_schools, sch))
    user_frame = finish_users(seed, people, sch, domain, id_digits(layout))
    state = DISTRICTS[seed % len(DISTRICTS)][2]
    demographics = build_demographics(seed, user_frame.filter(pl.col("role") == "student"), state)
    enrollment_frame = build_enrollments(seed, class_frame, user_frame, sch, enrollments)
    tables = {
        "orgs": orgs,
        "academicSessions": sessions,
        "courses": courses,
        "classes": class_frame,
        "users": user_frame,
        "enrollments": enrollment_frame,
        "demographics": demographics,
    }
    return District(seed, layout, schools, district_id, domain, state, terms, sch, people, tables)


def with_tables(district: District, **tables: pl.DataFrame) -> District:
    return replace(district, tables={**district.tables, **tables})


def choose(height: int, seed: int, label: str, count: int, eligible: pl.Series | None = None) -> pl.Series:
    """Boolean mask of `count` rows picked by hash rank among eligible rows (fewer if not enough are eligible)."""
    if height == 0:
        return pl.Series(dtype=pl.Boolean)
    score = rand_u32(pl.int_range(height, eager=True), stream_key(seed, label)).cast(pl.Int64)
    if eligible is not None:
        score = score.zip_with(eligible, pl.Series([1 << 40] * height))  # ineligible rows rank last
    picked = score.rank("ordinal") <= count
    return picked if eligible is None else picked & eligible


def diff_counts(day1: pl.DataFrame, day2: pl.DataFrame) -> dict[str, int]:
    """new/updated/deleted/unchanged sourcedIds between two frames of one file (helper columns ignored)."""
    columns = [c for c in day1.columns if not c.startswith("_")]
    old, new = day1.select(columns), day2.select(columns)
    both = old.join(new, on="sourcedId", how="inner", suffix="__2")
    changed = both.select(
        pl.any_horizontal([pl.col(c).ne_missing(pl.col(c + "__2")) for c in columns if c != "sourcedId"]).sum()
    ).item()
    kept = both.height
    return {
        "new": new.height - kept,
        "updated": int(changed),
        "deleted": old.height - kept,
        "unchanged": kept - int(changed),
        "rows_day1": old.height,
        "rows_day2": new.height,
    }
