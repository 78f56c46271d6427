"""enrollments.csv: one primary teacher per class (sometimes a co-teacher) and ~10 classes per student.

Built with joins and one `explode`, so a million rows take about a second.
"""

from __future__ import annotations

import polars as pl

from bench._rand import below, id_range, stream_key, uniform
from bench.district_plan import CO_TEACHING_RATE

ENROLLMENT_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]
# Pairs carry the class row (_cidx into the classes frame) and the user; ids and dates are added by `assemble`.
PAIR_SCHEMA = {"_cidx": pl.Int64, "userSourcedId": pl.String, "role": pl.String, "primary": pl.String}


def teacher_pairs(seed: int, classes: pl.DataFrame, users: pl.DataFrame, label: str) -> pl.DataFrame:
    """Class k of a school gets that school's teacher k (mod the teacher count), so load is spread evenly."""
    teachers = users.filter(pl.col("role") == "teacher").select(
        "_school",
        pl.col("sourcedId").alias("userSourcedId"),
        pl.int_range(pl.len(), dtype=pl.Int64).over("_school").alias("_trank"),
    )
    n_teachers = teachers.group_by("_school").agg(pl.len().cast(pl.Int64).alias("_n_t"))
    co_taught = uniform(pl.int_range(classes.height, eager=True), stream_key(seed, label + ".co")) < CO_TEACHING_RATE
    cls = (
        classes.select("_school")
        .with_columns(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_cidx"),
            pl.int_range(pl.len(), dtype=pl.Int64).over("_school").alias("_crank"),
            co_taught.alias("_co"),
        )
        .join(n_teachers, on="_school", how="inner", maintain_order="left")
    )
    primary = cls.with_columns((pl.col("_crank") % pl.col("_n_t")).alias("_trank"), pl.lit("true").alias("primary"))
    second = cls.filter(pl.col("_co") & (pl.col("_n_t") >= 2)).with_columns(
        ((pl.col("_crank") + 1) % pl.col("_n_t")).alias("_trank"), pl.lit("false").alias("primary")
    )
    pairs = pl.concat([primary, second]).join(teachers, on=["_school", "_trank"], maintain_order="left")
    return pairs.select("_cidx", "userSourcedId", pl.lit("teacher").alias("role"), "primary").sort(
        "_cidx", maintain_order=True
    )


def student_pairs(
    seed: int,
    students: pl.DataFrame,
    classes: pl.DataFrame,
    sch: pl.DataFrame,
    total: int | None,
    per_student: int | None = None,
) -> pl.DataFrame:
    """Each student takes k consecutive classes of their school, starting near their grade's block (classes are
    sorted by grade within a school), so classes are distinct and mostly grade-appropriate. `total` spreads
    exactly that many enrollments over the students; `per_student` gives everyone the same k instead."""
    n = students.height
    if n == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    if total is not None:
        base, extra_count = divmod(total, n)
    else:
        base, extra_count = per_student or 0, 0
    step = next(p for p in (7919, 104729, 1299709, 15485863) if n % p)
    ordinal = pl.int_range(n, eager=True, dtype=pl.Int64)
    extra = ((ordinal * step + 7) % n) < extra_count  # a permutation, so exactly extra_count students get one more
    blocks = (
        classes.select("_school")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"))
        .group_by("_school")
        .agg(pl.col("_pos").min().alias("_off"), pl.len().cast(pl.Int64).alias("_n"))
    )
    u = students["_uidx"]
    frame = (
        students.select("_uidx", "_school", "_grade_idx", pl.col("sourcedId").alias("userSourcedId"))
        .with_columns(
            (base + extra.cast(pl.Int64)).alias("_k"),
            below(u, stream_key(seed, "enrollments.jitter"), 1 << 20).alias("_r"),
        )
        .join(blocks, on="_school", maintain_order="left")
        .join(sch.select("_school", "_grade0", "_n_grades"), on="_school", maintain_order="left")
    )
    too_many = frame.filter(pl.col("_k") > pl.col("_n")).height
    if too_many:
        raise ValueError(f"{too_many} students need more distinct classes than their school has")
    span = pl.max_horizontal(pl.col("_n") // pl.col("_n_grades"), pl.lit(1))
    center = ((pl.col("_grade_idx") - pl.col("_grade0")) * 2 + 1) * pl.col("_n") // (2 * pl.col("_n_grades"))
    frame = frame.with_columns(
        (center - pl.col("_k") // 2 + pl.col("_r") % span - span // 2).alias("_start"),
        pl.int_ranges(0, "_k").alias("_j"),
    ).explode("_j")
    slot = ((pl.col("_start") + pl.col("_j")) % pl.col("_n") + pl.col("_n")) % pl.col("_n")
    return frame.select(
        (pl.col("_off") + slot).alias("_cidx"),
        "userSourcedId",
        pl.lit("student").alias("role"),
        pl.lit("false").alias("primary"),
    )


def assemble(seed: int, pairs: pl.DataFrame, classes: pl.DataFrame, first_index: int) -> pl.DataFrame:
    """Enrollment rows for (class row, user) pairs; ids continue from `first_index` in the enrollment stream."""
    idx = pl.int_range(first_index, first_index + pairs.height, eager=True)
    with_dates = uniform(idx, stream_key(seed, "enrollments.dates")) < 0.15  # most SIS leave them blank
    cls = classes.select(pl.col("sourcedId").alias("classSourcedId"), pl.col("schoolSourcedId"), "_begin", "_end")
    cidx = pairs["_cidx"]
    frame = pairs.with_columns(
        id_range(pairs.height, stream_key(seed, "enrollments.id"), first_index).alias("sourcedId"),
        cls["classSourcedId"].gather(cidx),
        cls["schoolSourcedId"].gather(cidx),
        cls["_begin"].gather(cidx),
        cls["_end"].gather(cidx),
        with_dates.alias("_dated"),
        pl.lit(None, dtype=pl.String).alias("status"),
        pl.lit(None, dtype=pl.String).alias("dateLastModified"),
    )
    return frame.with_columns(
        pl.when("_dated").then("_begin").alias("beginDate"),
        pl.when("_dated").then("_end").alias("endDate"),
    ).select(ENROLLMENT_COLUMNS)


def build_enrollments(
    seed: int, classes: pl.DataFrame, users: pl.DataFrame, sch: pl.DataFrame, total: int
) -> pl.DataFrame:
    teachers = teacher_pairs(seed, classes, users, "enrollments")
    students = users.filter(pl.col("role") == "student")
    if total < teachers.height:
        raise ValueError(f"{total} enrollments cannot even cover the {teachers.height} teacher enrollments")
    pairs = pl.concat([teachers, student_pairs(seed, students, classes, sch, total - teachers.height)])
    return assemble(seed, pairs, classes, 0)
