"""Row-level stages of one file: hard-rule skips, delta deletions, duplicate groups and uniqueness domains (§2).

Columnar for the common case (no duplicates); only the rows of duplicate groups, which are few, are folded in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from oneroster_csv import HARD_FLAG, INFO_KEYS, RAW_HASH
from oneroster_csv.api import FileTable
from oneroster_csv.model import FileMode
from oneroster_csv.reader import LINE
from workers.imports.model import OUTCOME, SOURCED_ID, Outcome, TypeRows, empty_findings

# Fields that never make two rows disagree: they say when and how a row was sent, not what the record is.
IGNORED_IN_COMPARISON = frozenset({"dateLastModified"})


def fold_rows(table: FileTable, domains: Sequence[str]) -> TypeRows:
    """Split a file into records, delta deletions and rejected rows (SKIPPED, MERGED, EXCLUDED)."""
    columns = list(table.spec.names)
    metadata = table.metadata_columns
    keep = [*columns, *metadata, LINE, RAW_HASH, INFO_KEYS]
    frame = table.frame
    rows = TypeRows(
        data_type=table.data_type,
        mode=table.mode,
        file_name=table.file_name,
        columns=columns,
        metadata=metadata,
        # without hard findings (the common case) the columns are shared with the file's frame, not copied
        records=frame.filter(~pl.col(HARD_FLAG)).select(keep) if frame[HARD_FLAG].any() else frame.select(keep),
        deletions=pl.DataFrame(schema={SOURCED_ID: pl.String, LINE: pl.Int64}),
        rejected=frame.filter(pl.col(HARD_FLAG))
        .select(keep)
        .with_columns(pl.lit(int(Outcome.SKIPPED), pl.Int16).alias(OUTCOME)),
        findings=table.findings,
    )
    list_columns = {c.name for c in table.spec.columns if c.is_list}
    _fold_duplicates(rows, list_columns)
    for domain in domains:
        data_type, _, column = domain.partition(".")
        if data_type == table.data_type.value and column in rows.records.columns:
            _exclude_domain_clashes(rows, column)
    if table.mode is FileMode.DELTA:
        deleting = rows.records.filter(pl.col("status") == "tobedeleted")
        rows.deletions = deleting.select(SOURCED_ID, LINE)
        rows.records = rows.records.filter(pl.col("status") != "tobedeleted")
    return rows


def _fold_duplicates(rows: TypeRows, list_columns: set[str]) -> None:
    if _all_distinct(rows.records[SOURCED_ID]):
        return  # the common case, without building a million-row frame of counts
    counts = rows.records.group_by(SOURCED_ID).len()
    duplicated = counts.filter(pl.col("len") > 1)[SOURCED_ID]
    if duplicated.len() == 0:
        return
    in_groups = pl.col(SOURCED_ID).is_in(duplicated.implode())
    groups = rows.records.filter(in_groups).sort(LINE)
    rows.records = rows.records.filter(~in_groups)
    merged_records: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    compared = [c for c in groups.columns
                if c not in (SOURCED_ID, LINE, RAW_HASH, INFO_KEYS) and c not in IGNORED_IN_COMPARISON]  # fmt: skip
    for group in groups.partition_by(SOURCED_ID, maintain_order=True):
        members = group.to_dicts()
        conflicts = _conflicts(members, [c for c in compared if c not in list_columns])
        sourced_id = members[0][SOURCED_ID]
        lines = ", ".join(str(m[LINE]) for m in members)
        if conflicts:
            detail = "; ".join(f"{c}: {' vs '.join(repr(v) for v in values)}" for c, values in conflicts.items())
            for member in members:
                rejected.append({**member, OUTCOME: int(Outcome.EXCLUDED)})
                findings.append(_finding(member[LINE], "duplicate.conflict", "HARD", next(iter(conflicts)), sourced_id,
                                         f"sourcedId {sourced_id!r} appears on lines {lines} with different values "
                                         f"({detail}); none of these rows was applied and the current record, if "
                                         "any, was kept"))  # fmt: skip
            continue
        # (a record of several rows is no one row read as written: no raw hash)
        merged_records.append({**_merge(members, list_columns), RAW_HASH: None, INFO_KEYS: None})
        for member in members[1:]:
            rejected.append({**member, OUTCOME: int(Outcome.MERGED)})
            findings.append(_finding(member[LINE], "duplicate.merged", "INFO", None, sourced_id,
                                     f"sourcedId {sourced_id!r} repeats line {members[0][LINE]}; the rows agree and "
                                     "were merged into one record"))  # fmt: skip
    schema = rows.records.schema
    if merged_records:
        rows.records = pl.concat([rows.records, pl.DataFrame(merged_records, schema=schema)]).sort(LINE)
    if rejected:
        frame = pl.DataFrame(rejected, schema={**schema, OUTCOME: pl.Int16})
        rows.rejected = pl.concat([rows.rejected, frame], how="diagonal_relaxed")
    rows.add_findings(_findings_frame(findings))


def _all_distinct(keys: pl.Series) -> bool:
    """Whether no key repeats. Equal keys hash equal, so as many distinct 64-bit hashes as keys proves the keys
    distinct: counting a million hashes takes a third of counting a million strings, which only a repeated hash (a
    duplicate key, nearly always) falls back to."""
    return keys.hash(0x5EED).n_unique() == keys.len() or keys.n_unique() == keys.len()


def _conflicts(members: list[dict[str, Any]], columns: Iterable[str]) -> dict[str, list[Any]]:
    """Single-valued columns on which the rows disagree once blanks are filled from each other."""
    found: dict[str, list[Any]] = {}
    for column in columns:
        values = list(dict.fromkeys(m[column] for m in members if m[column] is not None))
        if len(values) > 1:
            found[column] = values
    return found


def _merge(members: list[dict[str, Any]], list_columns: set[str]) -> dict[str, Any]:
    """The first row, blanks filled from the others, list columns unioned in first-seen order."""
    merged = dict(members[0])
    for column in merged:
        if column in list_columns:
            items: dict[str, None] = {}
            for member in members:
                if member[column]:
                    items.update(dict.fromkeys(member[column].split(",")))
            merged[column] = ",".join(items) or None
        elif merged[column] is None:
            merged[column] = next((m[column] for m in members if m[column] is not None), None)
    return merged


def _exclude_domain_clashes(rows: TypeRows, column: str) -> None:
    """Records of different sourcedIds sharing a value that must be unique (case-insensitive) are excluded whole."""
    key = pl.col(column).str.to_lowercase()
    clashing = (
        rows.records.filter(pl.col(column).is_not_null())
        .group_by(key.alias("_value"))
        .agg(pl.col(SOURCED_ID).n_unique().alias("_ids"))
        .filter(pl.col("_ids") > 1)["_value"]
    )
    if clashing.len() == 0:
        return
    hit = rows.records.filter(key.is_in(clashing.implode()))
    ids = hit[SOURCED_ID].unique()
    by_value = hit.group_by(key.alias("_value")).agg(pl.col(LINE).sort().cast(pl.String).str.join(", ").alias("_lines"))
    hit = hit.join(by_value, left_on=key, right_on="_value")
    findings = hit.select(
        pl.col(LINE).alias("line"),
        pl.lit(f"duplicate.{column}").alias("code"),
        pl.lit("HARD").alias("severity"),
        pl.lit(column).alias("column"),
        pl.format(
            "{} {} is used by several records (lines {}) and must be unique; these records were not applied and the "
            "current ones, if any, were kept",
            pl.lit(column),
            pl.lit("'") + pl.col(column) + pl.lit("'"),
            pl.col("_lines"),
        ).alias("message"),
        pl.col(SOURCED_ID).alias("sourced_id"),
    )
    rows.add_findings(findings)
    # The whole group of each clashing sourcedId goes: its record and the rows merged into it, which now carry
    # the clash instead of the merge.
    merged = rows.rejected.filter((pl.col(OUTCOME) == int(Outcome.MERGED)) & pl.col(SOURCED_ID).is_in(ids.implode()))
    if merged.height:
        lines = merged[LINE].implode()
        rows.findings = rows.findings.filter(~((pl.col("code") == "duplicate.merged") & pl.col("line").is_in(lines)))
        clash = findings.unique("sourced_id", keep="first").drop("line")
        rows.add_findings(
            merged.select(LINE, SOURCED_ID)
            .join(clash, left_on=SOURCED_ID, right_on="sourced_id", how="inner")
            .select(pl.col(LINE).alias("line"), "code", "severity", "column", "message",
                    pl.col(SOURCED_ID).alias("sourced_id"))
        )  # fmt: skip
    rows.rejected = pl.concat(
        [
            rows.rejected.filter(~((pl.col(OUTCOME) == int(Outcome.MERGED)) & pl.col(SOURCED_ID).is_in(ids.implode()))),
            merged.with_columns(pl.lit(int(Outcome.EXCLUDED), pl.Int16).alias(OUTCOME)),
        ],
        how="diagonal_relaxed",
    )
    rows.reject(rows.records.filter(pl.col(SOURCED_ID).is_in(ids.implode()))[LINE], Outcome.EXCLUDED)


def _finding(line: int, code: str, severity: str, column: str | None, sourced_id: str, message: str) -> dict[str, Any]:
    return {"line": line, "code": code, "severity": severity, "column": column, "message": message,
            "sourced_id": sourced_id}  # fmt: skip


def _findings_frame(findings: list[dict[str, Any]]) -> pl.DataFrame:
    frame = empty_findings()
    return pl.concat([frame, pl.DataFrame(findings, schema=frame.schema)]) if findings else frame
