"""run_import: one import sync from a package to stored outcomes, all-or-nothing.

Parsing and row-level work happen before the tenant's import lock is taken; the snapshot of current data, the diff
and every write happen in one transaction holding it, so imports of a tenant apply one at a time, in order, and a
crash or a retry never leaves half a sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
import polars as pl

from db import imports as db_imports
from db.entities import TYPE_CODES, current_schools, current_values
from db.pool import Connection
from oneroster_csv import PackageError, read_package
from oneroster_csv.api import Package
from oneroster_csv.model import DataType
from workers.imports.apply import apply_versions, write_all_outcomes, write_rejected
from workers.imports.diff import INVALID, content_columns, field_changes
from workers.imports.model import OUTCOME, SCHOOLS, SOURCED_ID, ImportOptions, Outcome, TypeRows
from workers.imports.plan import (
    TypePlan,
    finish,
    fold_package,
    hold_for,
    outcome_items,
    plan_type,
    resolve_references,
    school_map,
    summarize,
)
from workers.imports.references import reference_columns
from workers.imports.state import Snapshot, load_snapshot

log = logging.getLogger(__name__)
timing = logging.getLogger("oneroster_sync.timing")


@contextlib.contextmanager
def _timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timing.debug("%s: %.3fs", step, time.perf_counter() - started)


Progress = Callable[[str, int, int | None], Awaitable[None]]


async def _no_progress(phase: str, processed: int, total: int | None) -> None:
    return None


@dataclass(frozen=True)
class ImportResult:
    sync_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    summaries: pl.DataFrame | None = None
    hold: dict[str, Any] | None = None
    failure: tuple[str, str] | None = None


async def run_import(
    pool: asyncpg.Pool,
    tenant_id: int,
    sync_id: int,
    source: str | os.PathLike[str] | bytes,
    options: ImportOptions,
    *,
    progress: Progress = _no_progress,
    ignore_hold: bool = False,
) -> ImportResult:
    """Run a QUEUED (or interrupted RUNNING) import sync to SUCCEEDED, HELD or FAILED; a finished one is left alone."""
    async with pool.acquire() as conn:
        snapshot_options = {**asdict(options), "limits": asdict(options.limits)}
        if not await db_imports.mark_running(conn, tenant_id, sync_id, snapshot_options):
            status = await conn.fetchval(
                "SELECT status FROM syncs WHERE tenant_id = $1 AND id = $2", tenant_id, sync_id
            )
            return ImportResult(sync_id, str(status))
    try:
        await progress("parsing", 0, None)
        with _timed("read package"):
            package = await asyncio.to_thread(
                read_package, source, strict=options.strict, limits=options.limits, severities=options.severities
            )
        await progress("validating", 0, None)
        with _timed("fold rows"):
            rows = await asyncio.to_thread(fold_package, package, options)
        async with pool.acquire() as conn, conn.transaction():
            return await _diff_and_apply(conn, tenant_id, sync_id, package, rows, options, progress, ignore_hold)
    except PackageError as error:
        return await _fail(pool, tenant_id, sync_id, error.code, _package_message(error))
    except Exception:
        log.exception("import sync %s of tenant %s failed", sync_id, tenant_id)
        return await _fail(
            pool,
            tenant_id,
            sync_id,
            "import.internal_error",
            "The import failed unexpectedly and changed nothing; please try again or contact support.",
        )


def _package_message(error: PackageError) -> str:
    where = f"{error.file}: " if error.file else ""
    line = f"line {error.line}: " if error.line is not None else ""
    return f"{where}{line}{error.message}. Nothing was applied; the district's data is unchanged."


async def _fail(pool: asyncpg.Pool, tenant_id: int, sync_id: int, code: str, message: str) -> ImportResult:
    async with pool.acquire() as conn:
        await db_imports.fail_sync(conn, tenant_id, sync_id, code, message)
    return ImportResult(sync_id, "FAILED", failure=(code, message))


def _needed_types(package: Package, rows: dict[DataType, TypeRows]) -> set[DataType]:
    """The types whose current keys the import reads: its own, and those its files reference."""
    needed = set(rows)
    for data_type, type_rows in rows.items():
        needed |= {target for _, target, _, _ in reference_columns(type_rows, package.tables[data_type].spec.columns)}
    return needed


def _plan(
    package: Package, rows: dict[DataType, TypeRows], snapshot: Snapshot, options: ImportOptions
) -> list[TypePlan]:
    resolve_references(package, rows, snapshot, options)
    schools = school_map(rows, snapshot)
    return [plan_type(type_rows, snapshot, schools) for type_rows in rows.values()]


async def _diff_and_apply(
    conn: Connection,
    tenant_id: int,
    sync_id: int,
    package: Package,
    rows: dict[DataType, TypeRows],
    options: ImportOptions,
    progress: Progress,
    ignore_hold: bool,
) -> ImportResult:
    await db_imports.lock_tenant_imports(conn, tenant_id)
    base_seq = await db_imports.last_applied_seq(conn, tenant_id)
    with _timed("load snapshot"):
        snapshot = await load_snapshot(conn, tenant_id, _needed_types(package, rows))
    total = sum(r.records.height + r.rejected.height + r.deletions.height for r in rows.values())
    await progress("diffing", 0, total)
    with _timed("plan"):
        plans = await asyncio.to_thread(_plan, package, rows, snapshot, options)
    with _timed("settle"):
        for plan in plans:
            await _settle(conn, tenant_id, plan)
    items = pl.concat([outcome_items(p) for p in plans]) if plans else None
    summaries = summarize(items) if items is not None else pl.DataFrame()
    counts = _counts(items)
    hold = None if (ignore_hold or options.dry_run) else hold_for(plans, options)
    await progress("applying", 0, total)
    applied_seq = None
    if options.dry_run or hold is not None:
        for plan in plans:
            await write_all_outcomes(conn, plan, tenant_id, sync_id)
    else:
        applied_seq = await db_imports.next_applied_seq(conn)
        await db_imports.delete_explicit_outcomes(conn, tenant_id, sync_id)  # an approved hold's explicit rows
        for plan in plans:
            with _timed(f"apply {plan.data_type.value}"):
                await apply_versions(conn, plan, tenant_id, applied_seq, snapshot.keys[plan.data_type][SOURCED_ID])
                await write_rejected(conn, plan, tenant_id, sync_id)
    modes = {TYPE_CODES[p.data_type]: p.mode.value for p in plans}
    if summaries.height:
        await db_imports.write_summaries(conn, tenant_id, sync_id, summaries, modes)
    status = "HELD" if hold is not None else "SUCCEEDED"
    findings = [_finding_dict(n) for n in package.all_notes()]
    await db_imports.finish_sync(conn, tenant_id, sync_id, status=status, counts=counts, applied_seq=applied_seq,
                                 base_seq=base_seq, hold=hold, findings=findings)  # fmt: skip
    return ImportResult(sync_id, status, counts, summaries, hold)


async def _settle(conn: Connection, tenant_id: int, plan: TypePlan) -> None:
    """Fetch what the plan could not know from hashes: the stored content of changed records, deleted schools."""
    pending = plan.pending_diff()
    if pending:
        columns = [*content_columns(plan.data_type), "metadata"]
        stored = await current_values(conn, tenant_id, plan.data_type, columns, pending)
        records = plan.records.filter(pl.col(SOURCED_ID).is_in(pending))
        finish(plan, field_changes(plan.data_type, records, stored))
    if plan.deleted.height:
        schools = await current_schools(conn, tenant_id, plan.data_type, plan.deleted[SOURCED_ID].to_list())
        plan.deleted_schools = schools.rename({"schools": SCHOOLS})


def _counts(items: pl.DataFrame | None) -> dict[str, int]:
    if items is None or items.height == 0:
        return {"records": 0, "errors": 0, "warnings": 0}
    errors = items.filter(pl.col(OUTCOME).is_in([int(Outcome.SKIPPED), int(Outcome.EXCLUDED)])).height
    return {"records": items.height, "errors": errors, "warnings": int(items[INVALID].sum())}


def _finding_dict(note: Any) -> dict[str, Any]:
    return {"code": note.code, "severity": note.severity.value, "file": note.file, "line": note.line,
            "column": note.column, "message": note.message, "count": getattr(note, "count", 1)}  # fmt: skip
