"""The pure part of an import: from a read package and a snapshot of current data to every record's outcome.

Nothing here touches the database: the engine loads the snapshot, calls these stages, fetches the few stored rows the
diff asks for, and hands the finished plan to `apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import polars as pl

from db.entities import RAW_KINDS, TYPE_CODES
from db.entities_read import reference_columns as columns_referencing
from oneroster_csv import INFO_KEYS, RAW_HASH
from oneroster_csv.api import Package
from oneroster_csv.model import DataType, FileMode
from oneroster_csv.reader import LINE
from workers.imports.diff import INVALID, ISSUES, WRITE, classify, issues_by_line, prepare
from workers.imports.model import CURRENT_ROW, OUTCOME, SCHOOLS, SOURCED_ID, ImportOptions, Outcome, TypeRows
from workers.imports.references import check_references, check_semantics, reference_columns
from workers.imports.rows import fold_rows
from workers.imports.schools import SchoolMap, build_school_map, just_own_school
from workers.imports.state import Snapshot, kept_keys, marked, post_keys, post_values, unnamed_live
from workers.imports.unchanged import PostSync, Unchanged

# Targets before the files that reference them, so a skipped target skips its referrers (the cascade of §3).
PROCESS_ORDER = (
    DataType.ORGS,
    DataType.ACADEMIC_SESSIONS,
    DataType.COURSES,
    DataType.CLASSES,
    DataType.USERS,
    DataType.USER_PROFILES,
    DataType.ROLES,
    DataType.ENROLLMENTS,
    DataType.DEMOGRAPHICS,
)


@dataclass
class TypePlan:
    """One data type's outcomes. `records` carry `_outcome` (NEW, UPDATED or NO_CHANGE) once `finish` has run."""

    rows: TypeRows
    records: pl.DataFrame
    rejected: pl.DataFrame
    kept: pl.Series
    deleted: pl.DataFrame  # sourcedId, _line (delta) of current entities this sync deletes
    delete_noop: pl.DataFrame  # delta tobedeleted rows for entities the tenant does not have (NO_CHANGE)
    current_count: int  # live entities before the sync
    known: pl.Series  # sourcedIds with a current version (deleted ones included)
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted_schools: pl.DataFrame | None = None
    unchanged: Unchanged | None = None  # rows known NO_CHANGE by their raw hash, not in `records`
    renewed_raw: pl.DataFrame | None = None  # sourcedId, raw_hash, info of versions whose raw hash is renewed
    # (`_stale_raw`)
    closed: pl.DataFrame | None = None  # sourcedId, schools of deletions closed while the plan was made (`absent`)

    @property
    def data_type(self) -> DataType:
        return self.rows.data_type

    @property
    def mode(self) -> FileMode:
        return self.rows.mode

    def updated_keys(self) -> list[str]:
        return self.records.filter(pl.col(OUTCOME) == int(Outcome.UPDATED))[SOURCED_ID].to_list()


def needed_types(modes: dict[DataType, FileMode]) -> set[DataType]:
    """The types whose current keys an import reads: those it supplies, and those their files reference."""
    supplied = {t for t, mode in modes.items() if mode is not FileMode.ABSENT}
    return supplied | {target for t in supplied for target in reference_targets(t)}


@cache
def reference_targets(data_type: DataType) -> frozenset[DataType]:
    return frozenset(reference.target for reference in columns_referencing(data_type))


def fold_package(package: Package, options: ImportOptions) -> dict[DataType, TypeRows]:
    return {t: fold_rows(package.tables[t], options.uniqueness_domains) for t in PROCESS_ORDER if t in package.tables}


class References:
    """Reference resolution of a package's files, in dependency order, over one or more calls (a later call's
    files may reference an earlier call's, never the reverse): the post-sync keys of the files resolved so far, their
    rows that were not applied, and what the semantic checks read from them."""

    def __init__(self, snapshot: Snapshot, options: ImportOptions) -> None:
        self.snapshot, self.options = snapshot, options
        self.rows: dict[DataType, TypeRows] = {}
        self.targets: dict[DataType, pl.Series] = {}
        self.not_applied: dict[DataType, pl.DataFrame] = {}
        self._semantic_inputs: tuple[pl.DataFrame, pl.DataFrame] | None = None

    def resolve(self, package: Package, rows: dict[DataType, TypeRows]) -> None:
        """Required references skip rows, in dependency order; optional ones and the semantic checks flag them."""
        self.rows.update(rows)
        # Orgs and classes resolved in an earlier call are settled, and kept: planning releases their records.
        settled = None if {DataType.ORGS, DataType.CLASSES} & rows.keys() else self._semantic_inputs
        for data_type in PROCESS_ORDER:
            if data_type in rows:
                self._resolve(package, rows[data_type], settled)
        if settled is None:
            self._semantic_inputs = self._org_types_and_class_schools()

    def post_sync(self, schools: SchoolMap) -> PostSync:
        """What the last file's rows taken as unchanged are checked against (once the other files are resolved)."""
        _, class_schools = self._semantic_inputs or self._org_types_and_class_schools()
        return PostSync(class_schools, self.target(DataType.USERS), schools.own_schools())

    def target(self, data_type: DataType) -> pl.Series:
        if data_type not in self.targets:
            self.targets[data_type] = post_keys(self.snapshot, data_type, self.rows.get(data_type))
        return self.targets[data_type]

    def _org_types_and_class_schools(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        orgs = post_values(self.snapshot, DataType.ORGS, self.rows.get(DataType.ORGS)).select(SOURCED_ID, "type")
        classes = post_values(self.snapshot, DataType.CLASSES, self.rows.get(DataType.CLASSES))
        return orgs, classes.select(SOURCED_ID, "schoolSourcedId")

    def _resolve(
        self, package: Package, type_rows: TypeRows, settled: tuple[pl.DataFrame, pl.DataFrame] | None
    ) -> None:
        data_type, severities = type_rows.data_type, self.options.severities
        references = reference_columns(type_rows, package.tables[data_type].spec.columns)
        required = [r for r in references if r[2] and r[1] is not data_type]
        optional = [r for r in references if not (r[2] and r[1] is not data_type)]
        check_references(type_rows, required, {r[1]: self.target(r[1]) for r in required}, self.not_applied,
                         severities)  # fmt: skip
        # Semantic checks read the post-sync orgs and classes, which come earlier in the order; an app may raise
        # one to HARD, so they run before this type's own post-sync keys are settled.
        org_types, class_schools = settled or self._org_types_and_class_schools()
        check_semantics(type_rows, org_types, class_schools, severities)
        self.target(data_type)
        rejected = type_rows.rejected.select(SOURCED_ID, LINE).drop_nulls(SOURCED_ID)
        if rejected.height:  # (a set of a million post-sync keys is not built for nothing)
            rejected = rejected.filter(~pl.col(SOURCED_ID).is_in(self.targets[data_type].implode()))
        self.not_applied[data_type] = rejected
        check_references(type_rows, optional, {r[1]: self.target(r[1]) for r in optional}, self.not_applied,
                         severities)  # fmt: skip


def school_map(rows: dict[DataType, TypeRows], snapshot: Snapshot) -> SchoolMap:
    return build_school_map(lambda t: post_values(snapshot, t, rows.get(t)))


def plan_type(
    type_rows: TypeRows, snapshot: Snapshot, schools: SchoolMap, unchanged: Unchanged | None = None
) -> TypePlan:
    """Attribute schools, hash and classify the records, and work out what the file deletes (the rows `unchanged`
    are records too, known NO_CHANGE already)."""
    data_type = type_rows.data_type
    current = snapshot.keys_of(data_type).drop("raw_hash", "info", strict=False).with_row_index(CURRENT_ROW)
    records = type_rows.records.with_columns(schools.attribute(data_type, type_rows.records).alias(SCHOOLS))
    prepared = prepare(data_type, records, type_rows.metadata, type_rows.findings)
    classified = classify(prepared, current if unchanged is None else _unmatched(current, unchanged))
    matched = classified[CURRENT_ROW]
    if unchanged is not None:
        matched = pl.concat([matched, unchanged.current_rows])
    renewed_raw = _stale_raw(type_rows, classified, snapshot.keys_of(data_type))
    classified = classified.drop(CURRENT_ROW)
    rejected = type_rows.rejected.with_columns(schools.attribute(data_type, type_rows.rejected).alias(SCHOOLS))
    rejected = rejected.join(issues_by_line(type_rows.findings), on=LINE, how="left")
    kept = kept_keys(snapshot, type_rows)
    if type_rows.mode is FileMode.BULK:
        deleted = _left_out(current, matched, kept).with_columns(pl.lit(None, pl.Int64).alias(LINE))
        noop = pl.DataFrame(schema={SOURCED_ID: pl.String, LINE: pl.Int64})
    else:
        is_live = pl.col(SOURCED_ID).is_in(snapshot.live_keys(data_type).implode())
        deleted = type_rows.deletions.filter(is_live)
        noop = type_rows.deletions.filter(~is_live)
        type_rows.add_findings(noop.select(
            pl.col(LINE).alias("line"), pl.lit("row.delete_unknown").alias("code"), pl.lit("INFO").alias("severity"),
            pl.lit("status").alias("column"),
            pl.format("sourcedId '{}' is not a current record, so there was nothing to delete", pl.col(SOURCED_ID))
            .alias("message"), pl.col(SOURCED_ID).alias("sourced_id"),
        ))  # fmt: skip
    known = snapshot.keys_of(data_type)[SOURCED_ID]
    return TypePlan(type_rows, classified, rejected, kept, deleted.sort(SOURCED_ID), noop,
                    snapshot.live_count(data_type), known, unchanged=unchanged, renewed_raw=renewed_raw)  # fmt: skip


def _stale_raw(type_rows: TypeRows, records: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame | None:
    """Of a bulk file's records whose current keys carry raw hashes (those `unchanged` reads): the NO_CHANGE ones
    that get no version, whose row now has a raw hash its version would keep (`apply.version_frame`) but whose
    version has none or another (written before raw hashes, or under older rules). Renewed, the next import takes
    their rows as unchanged; left, they would be validated in full at every import until their records change.
    `records` carry the row of `current` each matched (`CURRENT_ROW`): a NO_CHANGE record always has one."""
    if type_rows.mode is not FileMode.BULK or "raw_hash" not in current.columns or RAW_HASH not in records.columns:
        return None
    data_type = type_rows.data_type
    keeps = (pl.col(OUTCOME) == int(Outcome.NO_CHANGE)) & ~pl.col(WRITE) & pl.col(RAW_HASH).is_not_null()
    kept = records.filter(keeps & pl.col(ISSUES).is_null() & just_own_school(data_type))
    if kept.height == 0:
        return None
    stored = current.select("raw_hash", "kind")[kept[CURRENT_ROW]]
    stale = pl.col("kind").is_in(RAW_KINDS) & (pl.col("raw_hash").is_null() | (pl.col("raw_hash") != pl.col(RAW_HASH)))
    return (
        kept.select(SOURCED_ID, RAW_HASH, INFO_KEYS)
        .hstack(stored)
        .filter(stale)
        .select(SOURCED_ID, pl.col(RAW_HASH).alias("raw_hash"), pl.col(INFO_KEYS).alias("info"))
    )


def _unmatched(current: pl.DataFrame, unchanged: Unchanged) -> pl.DataFrame:
    """The current keys no row taken as unchanged matched: the only ones the file's other records can match (were
    one of theirs named by another row, `unchanged.conflicts` would have sent the file through validation), a few
    thousand to look the records up in instead of a million."""
    return current.filter(~marked(unchanged.current_rows, current.height))


def _left_out(current: pl.DataFrame, matched: pl.Series, kept: pl.Series) -> pl.DataFrame:
    """Bulk file: the live current entities that no record matched (`matched`: the current row of each record) and
    that are not kept."""
    left = unnamed_live(current, matched)
    return left.filter(~left.is_in(kept.implode())).to_frame()


def deleted_schools(plan: TypePlan) -> pl.DataFrame:
    """sourcedId and schools of the entities the sync deletes (their current versions' schools)."""
    if plan.deleted_schools is not None:
        return plan.deleted_schools
    return plan.deleted.select(SOURCED_ID).with_columns(pl.lit([], pl.List(pl.String)).alias(SCHOOLS))


def planned_items(plan: TypePlan) -> pl.DataFrame:
    """Rows of data_type, outcome, invalid, schools and `_n`, the number of the sync's records they stand for: one
    per record, but one per school for the rows known unchanged (counted already) — what the summaries count, but
    for the deletions (`deletion_items`)."""
    parts = [
        plan.records.select(pl.col(OUTCOME), pl.col(INVALID), pl.col(SCHOOLS)),
        plan.delete_noop.with_columns(  # with_columns: a select of literals alone would yield one row
            pl.lit(int(Outcome.NO_CHANGE), pl.Int16).alias(OUTCOME),
            pl.lit(False).alias(INVALID),
            pl.lit([], pl.List(pl.String)).alias(SCHOOLS),
        ).select(OUTCOME, INVALID, SCHOOLS),
        plan.rejected.select(pl.col(OUTCOME), pl.lit(False).alias(INVALID), pl.col(SCHOOLS)),
    ]
    parts = [p.with_columns(pl.col(OUTCOME).cast(pl.Int16), pl.lit(1, pl.UInt32).alias("_n")) for p in parts]
    if plan.unchanged is not None:
        parts.append(plan.unchanged.schools.select(
            pl.lit(int(Outcome.NO_CHANGE), pl.Int16).alias(OUTCOME), pl.lit(False).alias(INVALID), SCHOOLS, "_n"
        ))  # fmt: skip
    return pl.concat(parts).with_columns(pl.lit(TYPE_CODES[plan.data_type], pl.Int16).alias("data_type"))


def deletion_items(plan: TypePlan) -> pl.DataFrame:
    """`planned_items` of the plan's deletions: counted in the schools of the versions applying it closes."""
    return deleted_schools(plan).select(
        pl.lit(int(Outcome.DELETED), pl.Int16).alias(OUTCOME),
        pl.lit(False).alias(INVALID),
        pl.col(SCHOOLS),
        pl.lit(1, pl.UInt32).alias("_n"),
        pl.lit(TYPE_CODES[plan.data_type], pl.Int16).alias("data_type"),
    )


SUMMARY_COLUMNS = {
    "no_change": Outcome.NO_CHANGE,
    "new": Outcome.NEW,
    "updated": Outcome.UPDATED,
    "deleted": Outcome.DELETED,
    "skipped": Outcome.SKIPPED,
    "merged": Outcome.MERGED,
    "excluded": Outcome.EXCLUDED,
}


def counted_items(plans: list[TypePlan], planned: list[pl.DataFrame] | None = None) -> pl.DataFrame:
    """How many records of the sync have each (data_type, outcome, invalid, schools), in `_n`: what the summaries
    and the sync's counts add up (a combination may come in several rows). Counted plan by plan: there are few
    distinct combinations, and the school lists of a million records are never gathered into one frame. `planned`:
    the plans' `planned_counts` if counted already; their deletions are counted here."""
    planned = planned_counts(plans) if planned is None else planned
    return pl.concat([*planned, *(_counted(deletion_items(p)) for p in plans)])


def planned_counts(plans: list[TypePlan]) -> list[pl.DataFrame]:
    """The plans' `counted_items` but for their deletions: counted before the plans are applied (a million records
    take a worker 0.1-0.2 s, spent while PostgreSQL writes them)."""
    return [_counted(planned_items(p)) for p in plans]


def _counted(items: pl.DataFrame) -> pl.DataFrame:
    return items.group_by("data_type", OUTCOME, INVALID, SCHOOLS).agg(pl.col("_n").sum())


def summarize(grouped: pl.DataFrame, data_types: list[int]) -> pl.DataFrame:
    """Counts per (school_id, data_type) from `counted_items`: the sync-wide row has school_id '' and each school its
    own rows.

    Every supplied type has a sync-wide row, zeros included (an empty bulk file is still a file of the sync).
    """
    # Few distinct (type, outcome, flag, schools) combinations, counted already: spread them over schools.
    per_school = grouped.explode(SCHOOLS).filter(pl.col(SCHOOLS).is_not_null()).rename({SCHOOLS: "school_id"})
    everything = pl.concat(
        [grouped.drop(SCHOOLS).with_columns(pl.lit("").alias("school_id")), per_school], how="diagonal"
    )
    weight = pl.col("_n").cast(pl.Int64)
    counts = [weight.filter(pl.col(OUTCOME) == int(o)).sum().alias(name) for name, o in SUMMARY_COLUMNS.items()]
    found = everything.group_by("school_id", "data_type").agg(
        weight.sum().alias("total"), *counts, weight.filter(pl.col(INVALID)).sum().alias("invalid")
    )
    missing = sorted(set(data_types) - set(found.filter(pl.col("school_id") == "")["data_type"].to_list()))
    zeros = pl.DataFrame(
        {"school_id": [""] * len(missing), "data_type": missing}, schema={"school_id": pl.String, "data_type": pl.Int16}
    ).with_columns(pl.lit(0, pl.Int64).alias(c) for c in found.columns[2:])
    return pl.concat([found, zeros.select(found.columns)]).sort("school_id", "data_type")


def hold_for(plans: list[TypePlan], options: ImportOptions) -> dict[str, Any] | None:
    """The mass-deletion hold (§4): the type deleting the largest share above the threshold, if any."""
    worst: dict[str, Any] | None = None
    for plan in plans:
        count, current = plan.deleted.height, plan.current_count
        if current == 0 or count < options.hold_delete_minimum:
            continue
        share = 100.0 * count / current
        if share > options.hold_delete_percent and (worst is None or share > worst["_share"]):
            worst = {"dataType": plan.data_type.name, "currentCount": current, "deleteCount": count,
                     "thresholdPercent": options.hold_delete_percent, "_share": share}  # fmt: skip
    if worst is not None:
        worst.pop("_share")
    return worst
