"""Writing a planned import: new versions, tombstones, kept entities, explicit outcomes and summaries.

Applied syncs store only what versions cannot say (rows that never became records); a dry run or a held sync stores
every outcome explicitly, with the values it would have written, and changes no entity.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import polars as pl

from db.entities import (
    OWN_SCHOOL,
    TYPE_CODES,
    RowsSent,
    VersionKind,
    copy_frame,
    copy_versions,
    current_values,
    renew_raw_hashes,
    supersede,
)
from db.pool import Connection
from oneroster_csv import INFO_KEYS, RAW_HASH
from oneroster_csv.model import DataType, FileMode
from oneroster_csv.reader import LINE
from workers.imports.diff import CONTENT_HASH, HASH, INVALID, ISSUES, META, WRITE, content_columns, issues_by_line
from workers.imports.model import OUTCOME, SCHOOLS, SOURCED_ID, Outcome
from workers.imports.plan import TypePlan, deleted_schools
from workers.imports.schools import just_own_school
from workers.imports.timing import timed

_KIND_OF = {int(Outcome.NEW): int(VersionKind.NEW), int(Outcome.UPDATED): int(VersionKind.UPDATED),
            int(Outcome.NO_CHANGE): int(VersionKind.NO_CHANGE)}  # fmt: skip


def version_frame(plan: TypePlan, tenant_id: int, applied_seq: int) -> pl.DataFrame:
    """The records that get a version in this sync, in the table's columns."""
    records = plan.records
    if plan.mode is not FileMode.DELTA and not plan.records[WRITE].all():
        records = records.filter(pl.col(WRITE))  # delta NO_CHANGE rows are re-stated so drill-downs can list them
    attributes = [c for c in plan.rows.columns if c != SOURCED_ID] + [
        c for c in content_columns(plan.data_type) if c not in plan.rows.columns
    ]
    return records.select(
        pl.lit(tenant_id).alias("tenant_id"),
        pl.col(SOURCED_ID),
        pl.lit(applied_seq).alias("valid_from"),
        pl.col(OUTCOME).replace_strict(_KIND_OF, return_dtype=pl.Int16).alias("kind"),
        pl.col(CONTENT_HASH),
        pl.col(HASH),
        _stored_schools(plan.data_type).alias("schools"),
        pl.col(LINE).alias("line"),
        pl.col(INVALID).alias("invalid"),
        pl.col(ISSUES).alias("issues"),
        *(pl.col(c) for c in dict.fromkeys(attributes)),
        pl.col(META).alias("metadata"),
        # the raw hash of the row each record was read from, kept only for records without any finding but INFO
        # ones: one raised after validation (a reference, a semantic check, a duplicate) clears it too; and the
        # row's INFO findings with it, for the notes of a later read taking the row as unchanged
        pl.when(pl.col(ISSUES).is_null()).then(pl.col(RAW_HASH)).otherwise(None).alias("raw_hash"),
        pl.when(pl.col(ISSUES).is_null()).then(pl.col(INFO_KEYS)).otherwise(None).alias("info"),
    ).rechunk()  # one chunk per column: each COPY chunk gathers its rows from it (several times faster)


def _stored_schools(data_type: DataType) -> pl.Expr:
    """The schools as stored: NULL where they are just the record's own school (db.entities.OWN_SCHOOL)."""
    return pl.when(just_own_school(data_type)).then(None).otherwise(pl.col(SCHOOLS))


@dataclass(frozen=True)
class Versions:
    """A plan's new versions in the table's columns, and the order to write them in (primary-key order)."""

    frame: pl.DataFrame
    order: pl.Series


def prepare_versions(plan: TypePlan, tenant_id: int, applied_seq: int) -> Versions:
    frame = version_frame(plan, tenant_id, applied_seq)
    # In primary-key order, index inserts append instead of landing on random pages (twice as fast).
    return Versions(frame, key_order(frame[SOURCED_ID]))


_PREFIX, _KEY = "_prefix", "_key"


def key_order(keys: pl.Series) -> pl.Series:
    """The row indices of `keys` in byte order (the primary key's: sourcedId is COLLATE "C", migration 0004).

    Sorting a million strings compares them again and again: this sorts 8 bytes of each key as an integer, past the
    prefix all keys share, and then sorts by the keys themselves only the runs of rows whose 8 bytes tie (a few, for
    random ids). When they tie too often, the plain sort of the keys is faster.
    """
    if keys.len() < 2:
        return pl.int_range(keys.len(), dtype=pl.UInt32, eager=True)
    low, high = keys.min(), keys.max()
    assert isinstance(low, str) and isinstance(high, str)
    shared = next((i for i, (a, b) in enumerate(zip(low, high, strict=False)) if a != b), min(len(low), len(high)))
    prefix = keys.to_frame(_KEY).select(
        pl.col(_KEY).str.slice(shared).str.pad_end(8, "\0").cast(pl.Binary).bin.head(8)
        .bin.reinterpret(dtype=pl.UInt64, endianness="big")
    ).to_series()  # fmt: skip
    order = prefix.arg_sort()
    ranked = prefix.gather(order)
    tied = ((ranked == ranked.shift(1)) | (ranked == ranked.shift(-1))).fill_null(False).arg_true()
    if tied.len() > keys.len() // 10:
        return keys.arg_sort()
    if tied.len():
        # Each run of equal prefixes sits at consecutive positions, the runs in prefix order: sorting their rows by
        # (prefix, key) and putting them back at those positions orders each run by key.
        rows = order.gather(tied)
        runs = pl.DataFrame({_PREFIX: prefix.gather(rows), _KEY: keys.gather(rows)})
        order = order.scatter(tied, rows.gather(runs.select(pl.arg_sort_by(_PREFIX, _KEY)).to_series()))
    return order


async def prepared_in_turn(
    plans: Sequence[TypePlan], tenant_id: int, applied_seq: int, first: Versions | None = None
) -> AsyncIterator[tuple[TypePlan, Versions]]:
    """Each plan with its versions (the first plan's given, if they were prepared already); the next plan's are
    prepared in a thread while the caller writes these (sorting a million keys takes longer than PostgreSQL needs
    for a small type)."""
    upcoming = None
    try:
        for i, plan in enumerate(plans):
            if i == 0 and first is not None:
                versions = first
            else:
                versions = await upcoming if upcoming is not None else prepare_versions(plan, tenant_id, applied_seq)
            upcoming = None
            if i + 1 < len(plans):
                upcoming = asyncio.create_task(
                    asyncio.to_thread(prepare_versions, plans[i + 1], tenant_id, applied_seq)
                )
            yield plan, versions
    finally:
        if upcoming is not None:
            upcoming.cancel()


async def apply_versions(
    conn: Connection,
    plan: TypePlan,
    versions: Versions,
    tenant_id: int,
    applied_seq: int,
    on_rows: RowsSent | None = None,
    copied: Callable[[TypePlan], None] | None = None,
) -> None:
    """New versions, then one statement closing what they replace and writing tombstones and kept copies;
    `on_rows` hears how many versions were sent, chunk by chunk (progress, and a cancel's checkpoint), and `copied`
    that they are in (work for the worker while PostgreSQL closes the old versions, or builds a new partition's
    indexes).

    Fills `plan.deleted_schools` from the tombstones written (the schools the deleted records counted in).
    """
    # Each COPY chunk is gathered in key order on its own, so the versions are never copied whole.
    with timed(f"  copy {versions.frame.height} versions"):
        await copy_versions(conn, tenant_id, plan.data_type, versions.frame, order=versions.order, on_rows=on_rows,
                            loaded=None if copied is None else functools.partial(copied, plan))  # fmt: skip
    # Only keys that had a current version need closing: brand-new sourcedIds (most of a first import) have none.
    # The known keys are looked up among the written ones: a set of the few written, not of every known key (and
    # none at all for a type the tenant never had).
    written = versions.frame[SOURCED_ID]
    replaced = plan.known.filter(plan.known.is_in(written.implode())).to_list() if plan.known.len() else []
    deleted = plan.deleted if plan.closed is None else _closed_apart(plan, plan.closed)
    carried = [(key, VersionKind.DELETED, line) for key, line in deleted.select(SOURCED_ID, LINE).iter_rows()]
    carried += [(key, VersionKind.KEPT, None) for key in plan.kept.to_list()]
    with timed(f"  close {len(replaced) + len(carried)} versions"):
        schools = await supersede(conn, tenant_id, plan.data_type, applied_seq, replaced, carried)
    if plan.renewed_raw is not None and plan.renewed_raw.height:
        renewed = plan.renewed_raw
        await renew_raw_hashes(conn, tenant_id, plan.data_type, renewed[SOURCED_ID].to_list(),
                               renewed["raw_hash"].to_list(), renewed["info"].to_list())  # fmt: skip
    if plan.closed is not None:
        schools = pl.concat([plan.closed, schools])
    plan.deleted_schools = schools.filter(pl.col(SOURCED_ID).is_in(plan.deleted[SOURCED_ID].implode())).rename(
        {"schools": SCHOOLS}
    )


async def close_deleted(
    conn: Connection, tenant_id: int, data_type: DataType, applied_seq: int, keys: pl.Series
) -> pl.DataFrame:
    """Close the current versions of `keys` with tombstones ahead of the rest of their plan (which must then delete
    exactly these and more: `_closed_apart`); their sourcedIds and schools, for the plan's `closed`."""
    with timed(f"  close {keys.len()} deleted early"):
        return await supersede(conn, tenant_id, data_type, applied_seq, [],
                               [(key, VersionKind.DELETED, None) for key in keys.to_list()])  # fmt: skip


def _closed_apart(plan: TypePlan, closed: pl.DataFrame) -> pl.DataFrame:
    """The plan's deletions not closed already; fails the sync if one closed is not a deletion of the plan (the
    transaction then rolls back: nothing is applied)."""
    early = closed[SOURCED_ID]
    deletions = plan.deleted.filter(pl.col(LINE).is_null())[SOURCED_ID]
    if not early.is_in(deletions.implode()).all():
        raise RuntimeError(f"{plan.data_type.value}: an entity closed as absent is not among the file's deletions")
    return plan.deleted.filter(~pl.col(SOURCED_ID).is_in(early.implode()))


def _attributes(frame: pl.DataFrame, columns: list[str]) -> pl.Expr:
    present = [c for c in columns if c in frame.columns]
    return pl.struct(present).struct.json_encode() if present else pl.lit("{}")


def _outcome_rows(frame: pl.DataFrame, tenant_id: int, sync_id: int, code: int, columns: list[str]) -> pl.DataFrame:
    return frame.select(
        pl.lit(tenant_id).alias("tenant_id"),
        pl.lit(sync_id).alias("sync_id"),
        pl.lit(code).alias("data_type"),
        pl.col(OUTCOME).cast(pl.Int16).alias("outcome"),
        pl.col(SOURCED_ID).fill_null("").alias(SOURCED_ID),
        pl.col(LINE).fill_null(0).alias("line"),
        # the INVALID flag belongs to applied records only (§2); a skipped row's findings are in its issues
        (
            pl.col(INVALID).fill_null(False) & pl.col(OUTCOME).is_in([1, 2, 3])
            if INVALID in frame.columns
            else pl.lit(False)
        ).alias("invalid"),
        pl.col(SCHOOLS).alias("schools"),
        _attributes(frame, columns).alias("attributes"),
        (pl.col("_changes") if "_changes" in frame.columns else pl.lit(None, pl.String)).alias("changes"),
        (pl.col(ISSUES) if ISSUES in frame.columns else pl.lit(None, pl.String)).alias("issues"),
    )


async def write_rejected(conn: Connection, plan: TypePlan, tenant_id: int, sync_id: int) -> None:
    """SKIPPED, MERGED and EXCLUDED rows, and delta deletions of records the tenant does not have (NO_CHANGE)."""
    code = TYPE_CODES[plan.data_type]
    columns = plan.rows.value_columns
    noop = plan.delete_noop.with_columns(
        pl.lit(int(Outcome.NO_CHANGE), pl.Int16).alias(OUTCOME), pl.lit([], pl.List(pl.String)).alias(SCHOOLS)
    )
    noop = noop.join(_issues(plan), on=LINE, how="left")
    frames = [_outcome_rows(plan.rejected, tenant_id, sync_id, code, columns),
              _outcome_rows(noop, tenant_id, sync_id, code, [SOURCED_ID])]  # fmt: skip
    await copy_frame(conn, "record_outcomes", pl.concat(frames, how="vertical_relaxed"))


def _issues(plan: TypePlan) -> pl.DataFrame:
    return issues_by_line(plan.rows.findings).drop(INVALID)


async def write_all_outcomes(conn: Connection, plan: TypePlan, tenant_id: int, sync_id: int) -> None:
    """A sync that applies nothing (dry run, held) keeps every outcome explicitly, with its values and changes."""
    await write_rejected(conn, plan, tenant_id, sync_id)
    code = TYPE_CODES[plan.data_type]
    changes = pl.DataFrame(
        {SOURCED_ID: list(plan.changes), "_changes": [json.dumps(v) for v in plan.changes.values()]},
        schema={SOURCED_ID: pl.String, "_changes": pl.String},
    )
    records = plan.records.join(changes, on=SOURCED_ID, how="left")
    columns = plan.rows.value_columns
    frames = [_outcome_rows(records, tenant_id, sync_id, code, columns)]
    if plan.unchanged is not None:
        frames.append(_outcome_rows(await _unchanged_values(conn, plan, tenant_id), tenant_id, sync_id, code, columns))
    if plan.deleted.height:
        content = list(content_columns(plan.data_type))
        stored = await current_values(conn, tenant_id, plan.data_type, content, plan.deleted[SOURCED_ID].to_list())
        deleted = plan.deleted.join(stored, on=SOURCED_ID, how="left").join(
            deleted_schools(plan), on=SOURCED_ID, how="left"
        )
        deleted = deleted.with_columns(
            pl.lit(int(Outcome.DELETED), pl.Int16).alias(OUTCOME),
            pl.col(SCHOOLS).fill_null(pl.lit([], pl.List(pl.String))),
        )
        frames.append(_outcome_rows(deleted, tenant_id, sync_id, code, [SOURCED_ID, *content]))
    await copy_frame(conn, "record_outcomes", pl.concat(frames, how="vertical_relaxed"))


async def _unchanged_values(conn: Connection, plan: TypePlan, tenant_id: int) -> pl.DataFrame:
    """The rows known unchanged, as records with the values they validate to: their current versions' (what makes
    them unchanged), the metadata columns spread out again, each in its own school."""
    unchanged = plan.unchanged
    assert unchanged is not None
    rows = pl.DataFrame({SOURCED_ID: plan.known.gather(unchanged.current_rows), LINE: unchanged.lines})
    attributes = [c for c in plan.rows.columns if c != SOURCED_ID]
    stored = await current_values(
        conn, tenant_id, plan.data_type, [*attributes, "metadata"], rows[SOURCED_ID].to_list()
    )
    if plan.rows.metadata:
        fields = pl.Struct({name: pl.String for name in plan.rows.metadata})
        stored = stored.with_columns(pl.col("metadata").str.json_decode(fields)).unnest("metadata")
    own = OWN_SCHOOL[plan.data_type]
    return rows.join(stored.drop("metadata", strict=False), on=SOURCED_ID, how="left").with_columns(
        pl.concat_list(own).alias(SCHOOLS), pl.lit(int(Outcome.NO_CHANGE), pl.Int16).alias(OUTCOME)
    )
