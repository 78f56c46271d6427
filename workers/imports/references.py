"""References between files (§3): required ones skip the row, optional ones flag it; plus cross-file soft checks.

A reference resolves against the records that will exist after the sync: the package's applied records, the current
entities a bulk file keeps (their rows were skipped or excluded), and the tenant's current records of types whose file
is delta or absent. A row pointing at a row of the package that was not applied says so, with that row's line.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from oneroster_csv import apply_overrides
from oneroster_csv.model import DataType
from oneroster_csv.reader import LINE
from oneroster_csv.spec import ColumnSpec, Req
from workers.imports.model import SOURCED_ID, Outcome, TypeRows

_REF = "_ref"
# The rows two checks across enrollments compare (workers/imports/unchanged.py makes the same checks' rows meet):
# a primary teacher of a class, and a hash equal for enrollments of one class, user and role.
PRIMARY_TEACHER = (pl.col("role") == "teacher") & (pl.col("primary") == "true")
ENROLLMENT_PAIR = pl.col("classSourcedId").hash(1) ^ pl.col("userSourcedId").hash(2) ^ pl.col("role").hash(3)
# A 64-bit hash of a record's (class, school) pair, to compare with its class's school.
CLASS_SCHOOL = pl.col("classSourcedId").hash(5) ^ pl.col("schoolSourcedId").hash(6)


def reference_columns(rows: TypeRows, spec_columns: tuple[ColumnSpec, ...]) -> list[tuple[str, DataType, bool, bool]]:
    """(column, target, required, is_list) for each reference column of the file."""
    found = [(c.name, c.ref, c.req is Req.REQUIRED, c.is_list) for c in spec_columns if c.ref is not None]
    if rows.data_type is DataType.DEMOGRAPHICS:
        found.append((SOURCED_ID, DataType.USERS, True, False))  # a demographics record is its user's
    return [(name, target, required, is_list) for name, target, required, is_list in found if target is not None]


def check_references(
    rows: TypeRows,
    references: list[tuple[str, DataType, bool, bool]],
    targets: Mapping[DataType, pl.Series],
    not_applied: Mapping[DataType, pl.DataFrame],
    severities: Mapping[str, str],
) -> None:
    """Add reference findings; records with a HARD one become SKIPPED."""
    parts: list[pl.DataFrame] = []
    for column, target, required, is_list in references:
        if target not in targets or column not in rows.records.columns:
            continue
        if is_list:
            values = rows.records.select(LINE, SOURCED_ID, pl.col(column).alias(_REF)).filter(
                pl.col(_REF).is_not_null()
            )
            values = values.with_columns(pl.col(_REF).str.split(",")).explode(_REF)
            missing = values.join(pl.DataFrame({_REF: targets[target]}), on=_REF, how="anti")
        else:
            # A mask first: the rows of a million-row file are copied only where the reference is missing.
            unknown = pl.col(column).is_not_null() & ~pl.col(column).is_in(targets[target].implode())
            missing = rows.records.filter(unknown).select(LINE, SOURCED_ID, pl.col(column).alias(_REF))
        if missing.height == 0:
            continue
        skipped = not_applied.get(target)
        if skipped is not None and skipped.height:
            first_lines = skipped.group_by(SOURCED_ID).agg(pl.col(LINE).min().alias("_target_line"))
            missing = missing.join(first_lines.rename({SOURCED_ID: _REF}), on=_REF, how="left")
        else:
            missing = missing.with_columns(pl.lit(None, pl.Int64).alias("_target_line"))
        parts.append(_reference_findings(missing, column, target, required))
    if not parts:
        return
    findings = apply_overrides(pl.concat(parts), severities)
    rows.add_findings(findings)
    rows.reject(findings.filter(pl.col("severity") == "HARD")["line"].unique(), Outcome.SKIPPED)


def _reference_findings(missing: pl.DataFrame, column: str, target: DataType, required: bool) -> pl.DataFrame:
    was_rejected = pl.col("_target_line").is_not_null()
    value = pl.lit("'") + pl.col(_REF) + pl.lit("'")
    if required:
        code = (
            pl.when(was_rejected)
            .then(pl.lit("reference.target_not_applied"))
            .otherwise(pl.lit("reference.missing_target"))
        )
    else:
        code = pl.lit("reference.missing_optional_target")
    consequence = "the row was not applied" if required else "the record was applied without that link"
    message = (
        pl.when(was_rejected)
        .then(pl.format("{} {} refers to the {} row on line {}, which was not applied; {}", pl.lit(column), value,
                        pl.lit(f"{target.value}.csv"), pl.col("_target_line"), pl.lit(consequence)))
        .otherwise(pl.format("{} {} does not match any {} record in the package or in the district's current data; {}",
                             pl.lit(column), value, pl.lit(target.value), pl.lit(consequence)))
    )  # fmt: skip
    return missing.select(
        pl.col(LINE).alias("line"),
        code.alias("code"),
        pl.lit("HARD" if required else "SOFT").alias("severity"),
        pl.lit(column).alias("column"),
        message.alias("message"),
        pl.col(SOURCED_ID).alias("sourced_id"),
    )


def soft_finding(frame: pl.DataFrame, code: str, column: str, message: pl.Expr) -> pl.DataFrame:
    """A SOFT finding for every row of `frame` (which has `_line` and sourcedId)."""
    return frame.select(
        pl.col(LINE).alias("line"),
        pl.lit(code).alias("code"),
        pl.lit("SOFT").alias("severity"),
        pl.lit(column).alias("column"),
        message.alias("message"),
        pl.col(SOURCED_ID).alias("sourced_id"),
    )


def check_semantics(
    rows: TypeRows, org_types: pl.DataFrame, class_schools: pl.DataFrame, severities: Mapping[str, str]
) -> None:
    """Soft checks the official valid corpus breaks (§3): the record is applied and flagged INVALID."""
    parts: list[pl.DataFrame] = []
    records = rows.records
    if rows.data_type in (DataType.CLASSES, DataType.ENROLLMENTS) and "schoolSourcedId" in records.columns:
        others = org_types.filter(pl.col("type") != "school")  # few: departments, the district
        not_school = records.filter(pl.col("schoolSourcedId").is_in(others[SOURCED_ID].implode())).join(
            others, left_on="schoolSourcedId", right_on=SOURCED_ID, how="inner"
        )
        parts.append(soft_finding(not_school, "semantic.school_not_a_school", "schoolSourcedId",
                                  pl.format("schoolSourcedId '{}' is an org of type {}, not a school",
                                            pl.col("schoolSourcedId"), pl.col("type"))))  # fmt: skip
    if rows.data_type is DataType.ENROLLMENTS and records.height:
        parts += _enrollment_checks(records, class_schools)
    parts = [p for p in parts if p.height]
    if parts:
        findings = apply_overrides(pl.concat(parts), severities)
        rows.add_findings(findings)
        rows.reject(findings.filter(pl.col("severity") == "HARD")["line"].unique(), Outcome.SKIPPED)


def _enrollment_checks(records: pl.DataFrame, class_schools: pl.DataFrame) -> list[pl.DataFrame]:
    parts = []
    mismatch = _school_mismatches(records, class_schools.rename({SOURCED_ID: "classSourcedId"}))
    parts.append(soft_finding(mismatch, "semantic.enrollment_school_mismatch", "schoolSourcedId",
                              pl.format("schoolSourcedId '{}' differs from the school of class '{}' ('{}')",
                                        pl.col("schoolSourcedId"), pl.col("classSourcedId"),
                                        pl.col("_class_school"))))  # fmt: skip
    primary = records.filter(PRIMARY_TEACHER)
    crowded = primary.filter(pl.col("classSourcedId").is_duplicated())
    parts.append(
        soft_finding(
            crowded,
            "semantic.multiple_primary_teachers",
            "primary",
            pl.format("class '{}' has more than one primary teacher", pl.col("classSourcedId")),
        )
    )
    # An integer hash finds the few candidate repeats cheaply; the exact comparison runs on those only.
    pair = records.select(ENROLLMENT_PAIR)
    # (rechunked: polars 2.1 panics formatting a struct-deduplicated frame of several chunks)
    candidates = records.filter(pair.to_series().is_in(repeated_values(pair.to_series()).implode())).rechunk()
    repeated = candidates.filter(~pl.struct("classSourcedId", "userSourcedId", "role").is_first_distinct())
    parts.append(
        soft_finding(
            repeated,
            "semantic.duplicate_enrollment",
            "userSourcedId",
            pl.format(
                "user '{}' is already enrolled in class '{}' as {} under another sourcedId",
                pl.col("userSourcedId"),
                pl.col("classSourcedId"),
                pl.col("role"),
            ),
        )
    )
    return parts


def _school_mismatches(records: pl.DataFrame, classes: pl.DataFrame) -> pl.DataFrame:
    """Records whose schoolSourcedId differs from their class's school (in `_class_school`); records of unknown
    classes, or without a school on either side, are not compared."""
    columns = [LINE, SOURCED_ID, "classSourcedId", "schoolSourcedId"]
    if classes["classSourcedId"].is_duplicated().any():  # (never, for post-sync classes: each once)
        joined = records.select(columns).join(classes.rename({"schoolSourcedId": "_class_school"}),
                                              on="classSourcedId", how="inner")  # fmt: skip
        return joined.filter(pl.col("_class_school") != pl.col("schoolSourcedId"))
    # Only the records whose (class, school) pair is no class's are looked up, by a hash of the pair: a lookup of
    # each of a million records' class among the few classes takes four times as long. (A record with an unknown
    # class or without a school is one of them, and is then left out by the lookup.)
    pairs = classes.filter(pl.col("schoolSourcedId").is_not_null()).select(CLASS_SCHOOL.alias("_pair"))
    suspects = records.select(columns).filter(~CLASS_SCHOOL.is_in(pairs.to_series().implode()))
    school = pl.col("classSourcedId").replace_strict(
        classes["classSourcedId"], classes["schoolSourcedId"], default=None, return_dtype=pl.String
    )
    return suspects.with_columns(school.alias("_class_school")).filter(
        pl.col("_class_school") != pl.col("schoolSourcedId")
    )


def repeated_values(values: pl.Series) -> pl.Series:
    """The values that occur more than once, found by sorting (a hash set of a million values costs far more)."""
    ordered = values.sort()
    return ordered.filter(ordered == ordered.shift(1)).unique()
