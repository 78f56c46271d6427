"""Day 2: the same district one day later. About 2% of each file changes (0.7% new, 1% updated, 0.3% deleted);
deletions cascade (a deleted user or class loses its enrollments) and newcomers get their enrollments.
Every choice is a hash of (seed, label, day-1 row), so day 2 is a pure function of day 1 and the seed."""

from __future__ import annotations

import random
from typing import Any

import polars as pl

from bench._rand import below, id_range, stream_key, uniform
from bench.catalog import COURSE_CODE_PREFIX, GRADES, catalog
from bench.district_enrollments import assemble, student_pairs, teacher_pairs
from bench.district_model import District, choose, with_tables
from bench.district_people import base_people, build_demographics, finish_users, id_digits
from bench.district_static import class_row, course_row, eligible_courses
from bench.names import FAMILY, SCHOOL_STEMS

NEW, UPDATED, DELETED = 0.007, 0.01, 0.003
WITHDRAWAL_DATE = "2024-09-17"  # day 2's date; no day-1 enrollment ends on it, so the update is always visible


def _n(rows: int, rate: float) -> int:
    return round(rows * rate)


def _appended(rows: list[dict[str, Any]], template: pl.DataFrame, seed: int, stream: str, start: int) -> pl.DataFrame:
    """New rows shaped like `template`, with ids continuing the day-1 id stream (so they never collide)."""
    if not rows:
        return template.clear()
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        id_range(len(rows), stream_key(seed, stream), start).alias("sourcedId")
    )
    return frame.select([pl.col(c).cast(template.schema[c]) for c in template.columns])


def _orgs(d: District) -> pl.DataFrame:
    """Rename a school (the only org change a real district sees in a day); ids and hierarchy stay."""
    orgs = d.tables["orgs"]
    taken = {s.name.split(" ")[0] for s in d.schools}
    free = [s for s in SCHOOL_STEMS if s.split(" ")[0] not in taken] or ["Unity"]
    renamed = choose(
        orgs.height, d.seed, "day2.orgs.update", max(1, _n(orgs.height, UPDATED)), orgs["type"] == "school"
    )
    stems = pl.Series([free[i % len(free)] for i in range(orgs.height)])
    suffix = pl.col("name").str.replace(r"^.*? (Elementary|Middle|High|K-8|Academy)", "$1")
    return orgs.with_columns(
        pl.when(pl.Series(renamed)).then(pl.concat_str(stems, pl.lit(" "), suffix)).otherwise("name").alias("name")
    )


def _courses_and_classes(d: District, rng: random.Random) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Returns (courses, classes, new classes); classes are kept grouped by school for enrollment windows."""
    courses, classes = d.tables["courses"], d.tables["classes"]
    gone_classes = choose(classes.height, d.seed, "day2.classes.delete", _n(classes.height, DELETED))
    kept = classes.filter(~gone_classes)
    unused = ~courses["sourcedId"].is_in(kept["courseSourcedId"].implode())
    gone_courses = choose(courses.height, d.seed, "day2.courses.delete", _n(courses.height, DELETED), unused)
    courses = courses.filter(~gone_courses)
    kind = below(pl.int_range(courses.height, eager=True), stream_key(d.seed, "day2.courses.kind"), 2)
    edit = pl.Series(choose(courses.height, d.seed, "day2.courses.update", _n(courses.height, UPDATED)))
    courses = courses.with_columns(
        pl.when(edit & (kind == 0))
        .then(pl.concat_str("title", pl.lit(" (Revised)")))
        .otherwise("title")
        .alias("title"),
        pl.when(edit & (kind == 1))
        .then(pl.concat_str("courseCode", pl.lit("R")))
        .otherwise("courseCode")
        .alias("courseCode"),
    )
    new_courses: list[dict[str, Any]] = []
    for n in range(_n(d.tables["courses"].height, NEW)):
        school = d.schools[rng.randrange(len(d.schools))]
        entry = rng.choice(catalog(school.level))
        code = f"{COURSE_CODE_PREFIX[entry.subject]}N{n + 1:03d}"
        new_courses.append(
            course_row(
                entry,
                f"{entry.title} Intensive",
                code,
                school.sourced_id,
                d.terms["year"][0],
                school.index,
                school.level,
                False,
            )
        )
    courses = pl.concat([courses, _appended(new_courses, courses, d.seed, "courses.id", d.tables["courses"].height)])
    new_rows: list[dict[str, Any]] = []
    for _ in range(_n(classes.height, NEW)):
        school = d.schools[rng.randrange(len(d.schools))]
        options = eligible_courses(courses, school)
        course = options[rng.randrange(len(options))]
        sections = classes.filter(pl.col("courseSourcedId") == course["sourcedId"]).height
        new_rows.append(class_row(rng, course, sections + 1 + len(new_rows), school, d.terms))
    new_classes = _appended(new_rows, classes, d.seed, "classes.id", classes.height)
    kind = below(pl.int_range(kept.height, eager=True), stream_key(d.seed, "day2.classes.kind"), 3)
    edit = pl.Series(choose(kept.height, d.seed, "day2.classes.update", _n(classes.height, UPDATED)))
    room = pl.concat_str(
        pl.lit("Room 4"),
        below(pl.int_range(kept.height, eager=True), stream_key(d.seed, "day2.room"), 100).cast(pl.String).str.zfill(2),
    )
    kept = kept.with_columns(
        pl.when(edit & (kind == 0)).then(room).otherwise("location").alias("location"),
        pl.when(edit & (kind == 1)).then(pl.concat_str("title", pl.lit(" (Block)"))).otherwise("title").alias("title"),
        pl.when(edit & (kind == 2)).then(pl.lit("0")).otherwise("periods").alias("periods"),
    )  # a "zero period"
    all_classes = pl.concat([kept, new_classes]).sort("_school", maintain_order=True)
    return courses, all_classes, new_classes


def _users(d: District, taught: pl.Series) -> tuple[pl.DataFrame, pl.Series, pl.DataFrame]:
    """Returns (day-2 users, deleted user ids, newcomers)."""
    users, layout = d.tables["users"], d.layout
    role = users["role"]
    eligible = (
        ((role == "student") & users["agentSourcedIds"].is_null())
        | (role == "aide")
        | ((role == "teacher") & ~users["sourcedId"].is_in(taught.implode()))
    )
    gone = choose(users.height, d.seed, "day2.users.delete", _n(users.height, DELETED), eligible)
    n_new = _n(users.height, NEW)
    uidx = pl.int_range(users.height, users.height + n_new, eager=True, dtype=pl.Int64)
    plan = pl.DataFrame(
        {
            "_role": pl.Series(["student"] * (n_new - round(n_new * 0.07)) + ["teacher"] * round(n_new * 0.07)),
            "_school": below(uidx, stream_key(d.seed, "day2.users.school"), layout.n_schools),
            "_uidx": uidx,
        }
    )
    newcomers = base_people(d.seed, plan, layout.n_schools, d.sch).with_columns(
        pl.lit(None, dtype=pl.String).alias("agentSourcedIds")
    )
    everyone = finish_users(
        d.seed, pl.concat([d.people, newcomers.select(d.people.columns)]), d.sch, d.domain, id_digits(layout)
    )
    newcomers = everyone.tail(n_new)
    u = users["_uidx"]
    kind = below(u, stream_key(d.seed, "day2.users.kind"), 4)
    edit = pl.Series(choose(users.height, d.seed, "day2.users.update", _n(users.height, UPDATED), ~gone))
    grade_top = users.join(d.sch, on="_school", how="left", maintain_order="left").select(
        (pl.col("_grade0") + pl.col("_n_grades") - 1).alias("top")
    )["top"]
    # promote one grade, or demote when already in the school's top grade
    new_grade = users["_grade_idx"].zip_with(users["_grade_idx"] < grade_top, users["_grade_idx"] - 2) + 1
    family = pl.Series(FAMILY)
    other_family = family.gather(
        (
            users["familyName"].replace_strict({f: i for i, f in enumerate(FAMILY)}, return_dtype=pl.Int64)
            + 1
            + below(u, stream_key(d.seed, "day2.family"), len(FAMILY) - 1)
        )
        % len(FAMILY)
    )
    student = role == "student"
    local = pl.concat_str(
        pl.col("givenName").str.to_lowercase().str.replace_all("[^a-z]", "").str.slice(0, 1),
        pl.col("familyName").str.to_lowercase().str.replace_all("[^a-z]", ""),
        pl.col("_uidx").cast(pl.String),
    )
    changed = users.with_columns(
        pl.when(edit & ((kind == 0) | ((kind == 1) & ~student)))
        .then(pl.concat_str(local, pl.lit("@" + d.domain)))
        .otherwise("email")
        .alias("email"),
        pl.when(edit & (kind == 1) & student)
        .then(pl.Series(GRADES).gather(new_grade.fill_null(0)))
        .otherwise("grades")
        .alias("grades"),
        pl.when(edit & (kind == 2)).then(other_family).otherwise("familyName").alias("familyName"),
        pl.when(edit & (kind == 3))
        .then(pl.when(pl.col("enabledUser") == "true").then(pl.lit("false")).otherwise(pl.lit("true")))
        .otherwise("enabledUser")
        .alias("enabledUser"),
    )
    return pl.concat([changed.filter(~gone), newcomers]), users["sourcedId"].filter(gone), newcomers


def _demographics(d: District, deleted: pl.Series, newcomers: pl.DataFrame) -> pl.DataFrame:
    demo = d.tables["demographics"].filter(~pl.col("sourcedId").is_in(deleted.implode()))
    edit = pl.Series(choose(demo.height, d.seed, "day2.demographics.update", _n(demo.height, UPDATED)))
    kind = below(demo["_uidx"], stream_key(d.seed, "day2.demographics.kind"), 2)
    demo = demo.with_columns(
        pl.when(edit & (kind == 0))
        .then(pl.when(pl.col("hispanicOrLatinoEthnicity") == "true").then(pl.lit("false")).otherwise(pl.lit("true")))
        .otherwise("hispanicOrLatinoEthnicity")
        .alias("hispanicOrLatinoEthnicity"),
        pl.when(edit & (kind == 1))
        .then(pl.lit("01655"))
        .otherwise("publicSchoolResidenceStatus")
        .alias("publicSchoolResidenceStatus"),
    )
    added = build_demographics(d.seed, newcomers.filter(pl.col("role") == "student"), d.state)
    return pl.concat([demo, added])


def _enrollments(
    d: District,
    classes: pl.DataFrame,
    new_classes: pl.DataFrame,
    users: pl.DataFrame,
    deleted_users: pl.Series,
    newcomers: pl.DataFrame,
) -> pl.DataFrame:
    old = d.tables["enrollments"]
    target_deleted = _n(old.height, DELETED)
    cascade = old["userSourcedId"].is_in(deleted_users.implode()) | ~old["classSourcedId"].is_in(
        classes["sourcedId"].implode()
    )
    drop = choose(
        old.height,
        d.seed,
        "day2.enrollments.delete",
        max(0, target_deleted - int(cascade.sum())),
        ~cascade & (old["role"] == "student"),
    )
    kept = old.filter(~(cascade | drop))
    withdrawn = pl.Series(
        choose(kept.height, d.seed, "day2.enrollments.update", _n(old.height, UPDATED), kept["role"] == "student")
    )
    co_taught = kept.filter((pl.col("role") == "teacher") & (pl.col("primary") == "false"))["classSourcedId"]
    swap_classes = co_taught.filter(
        choose(co_taught.len(), d.seed, "day2.enrollments.swap", max(1, co_taught.len() // 20))
    )
    swap = (kept["role"] == "teacher") & kept["classSourcedId"].is_in(swap_classes.implode())
    kept = kept.with_columns(
        pl.when(withdrawn).then(pl.lit(WITHDRAWAL_DATE)).otherwise("endDate").alias("endDate"),
        pl.when(swap)
        .then(pl.when(pl.col("primary") == "true").then(pl.lit("false")).otherwise(pl.lit("true")))
        .otherwise("primary")
        .alias("primary"),
    )
    per_student = max(
        1,
        round(
            old.filter(pl.col("role") == "student").height
            / max(1, d.tables["users"].filter(pl.col("role") == "student").height)
        ),
    )
    parts = [
        assemble(
            d.seed,
            student_pairs(d.seed, newcomers.filter(pl.col("role") == "student"), classes, d.sch, None, per_student),
            classes,
            old.height,
        )
    ]
    first = old.height + parts[0].height
    staff = users.filter(~pl.col("sourcedId").is_in(newcomers["sourcedId"].implode()))
    parts.append(assemble(d.seed, teacher_pairs(d.seed, new_classes, staff, "day2.enrollments"), new_classes, first))
    first += parts[1].height
    missing = _n(old.height, NEW) - first + old.height
    if missing > 0 and new_classes.height:  # fill the new sections with existing students of their school
        # newcomers are excluded: their own class window may already include a new section
        students = users.filter((pl.col("role") == "student") & (pl.col("_uidx") < d.tables["users"].height))
        pupils = students.select(
            "_school",
            pl.col("sourcedId").alias("userSourcedId"),
            uniform(students["_uidx"], stream_key(d.seed, "day2.fill")).alias("_h"),
        ).with_columns(pl.col("_h").rank("ordinal").over("_school").alias("_rank"))
        per_class = -(-missing // new_classes.height)
        picks = (
            new_classes.select("_school")
            .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_cidx"))
            .join(pupils, on="_school")
            .filter(pl.col("_rank") <= per_class)
            .sort("_cidx", "_rank")
            .head(missing)
        )
        pairs = picks.select(
            "_cidx", "userSourcedId", pl.lit("student").alias("role"), pl.lit("false").alias("primary")
        )
        parts.append(assemble(d.seed, pairs, new_classes, first))
    return pl.concat([kept, *parts])


def build_day2(d: District) -> District:
    rng = random.Random(stream_key(d.seed, "day2"))
    courses, classes, new_classes = _courses_and_classes(d, rng)
    taught = d.tables["enrollments"].filter(pl.col("role") == "teacher")["userSourcedId"]
    users, deleted, newcomers = _users(d, taught)
    return with_tables(
        d,
        orgs=_orgs(d),
        courses=courses,
        classes=classes,
        users=users,
        demographics=_demographics(d, deleted, newcomers),
        enrollments=_enrollments(d, classes, new_classes, users, deleted, newcomers),
    )
