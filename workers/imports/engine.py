"""run_import: one import sync from a package to stored outcomes, all-or-nothing.

The snapshot of current data, the diff and every write happen in one transaction holding the tenant's import lock,
so imports of a tenant apply one at a time, in order, and a crash or a retry never leaves half a sync. The files
parse while the snapshot loads, and the last, largest file while the others are written (workers/imports/stages.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import polars as pl

from db import imports as db_imports
from db.entities import TYPE_CODES, current_keys, has_current
from db.pool import Connection, plan_for_values
from oneroster_csv import PackageReader, RawFile
from oneroster_csv.api import Package
from oneroster_csv.model import DataType, FileMode
from workers.imports.apply import prepare_versions, write_all_outcomes
from workers.imports.diff import INVALID
from workers.imports.failures import failure_of
from workers.imports.hash_scheme import check_hash_scheme
from workers.imports.holds import check_held, explain, same_as_held, type_codes
from workers.imports.key_cache import KeptKeys, KeyCache
from workers.imports.model import OUTCOME, ImportOptions, Outcome, TypeRows
from workers.imports.plan import References, TypePlan, hold_for, needed_types, summarize
from workers.imports.schools import SchoolMap
from workers.imports.stages import (
    LAST,
    AbsentKeys,
    Folded,
    Last,
    Parsing,
    PlannedCounts,
    ThreadProgress,
    Threads,
    apply_plans,
    plan_files,
    plan_last,
    plan_rows,
    read_first,
    read_last,
    wait_out,
)
from workers.imports.state import Snapshot, load_snapshot
from workers.imports.timing import timed
from workers.progress import SyncCancelled

log = logging.getLogger(__name__)


Progress = Callable[[str, int, int | None], Coroutine[Any, Any, None]]


async def _no_progress(phase: str, processed: int, total: int | None) -> None:
    return None


def _thread_progress(progress: Progress, loop: asyncio.AbstractEventLoop) -> ThreadProgress:
    """A progress callback for code running in a worker thread: reports go to the loop without being waited for
    (a cancel is noticed at the next report the engine itself awaits)."""

    def report(phase: str, processed: int, total: int | None) -> None:
        future = asyncio.run_coroutine_threadsafe(progress(phase, processed, total), loop)
        future.add_done_callback(_ignore_outcome)

    return report


def _ignore_outcome(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved, so a cancel raised from a thread's report is not logged as lost


def _source_size(source: str | os.PathLike[str] | bytes) -> int | None:
    if isinstance(source, bytes):
        return len(source)
    path = Path(os.fspath(source))
    return path.stat().st_size if path.is_file() else None


@dataclass(frozen=True)
class ImportResult:
    sync_id: int
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    summaries: pl.DataFrame | None = None
    hold: dict[str, Any] | None = None
    failure: tuple[str, str] | None = None


class AlreadyFinished(Exception):
    """Another delivery of the sync's message finished it while this one waited for the tenant's lock."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def run_import(
    pool: asyncpg.Pool,
    tenant_id: int,
    sync_id: int,
    source: str | os.PathLike[str] | bytes,
    options: ImportOptions,
    *,
    progress: Progress = _no_progress,
    ignore_hold: bool = False,
    approving: bool = False,
    key_cache: KeyCache | None = None,
) -> ImportResult:
    """Run a QUEUED (or interrupted RUNNING) import sync to SUCCEEDED, HELD, FAILED or CANCELLED; a finished one is
    left alone. `approving`: the sync is an approved hold queued again, applied only exactly as it was computed.
    `key_cache`: where this worker keeps the last file's current keys between imports (workers/imports/key_cache.py).

    Raises only when the outcome cannot even be recorded (the database unreachable): the message is then retried.
    """
    async with pool.acquire() as conn:
        snapshot_options = {**asdict(options), "limits": asdict(options.limits)}
        if not await db_imports.mark_running(conn, tenant_id, sync_id, snapshot_options):
            return ImportResult(sync_id, await db_imports.sync_status(conn, tenant_id, sync_id))
    try:
        kept = None if key_cache is None else KeptKeys(key_cache, tenant_id, LAST)
        try:
            result = await _run(pool, tenant_id, sync_id, source, options, progress, kept,
                                ignore_hold=ignore_hold or approving, approving=approving)  # fmt: skip
        except BaseException:
            if kept is not None:
                await kept.discard()
            raise
        if kept is not None:
            await kept.publish()  # (committed: the keys it staged are the tenant's now)
        return result
    except AlreadyFinished as finished:
        return ImportResult(sync_id, finished.status)
    except SyncCancelled:
        async with pool.acquire() as conn:
            await db_imports.mark_cancelled(conn, tenant_id, sync_id)
        return ImportResult(sync_id, "CANCELLED")
    except Exception as error:
        code, message = failure_of(error)
        if code == "import.internal_error":
            log.exception("import sync %s of tenant %s failed", sync_id, tenant_id)
        return await fail_import(pool, tenant_id, sync_id, code, message)


async def _run(
    pool: asyncpg.Pool,
    tenant_id: int,
    sync_id: int,
    source: str | os.PathLike[str] | bytes,
    options: ImportOptions,
    progress: Progress,
    kept: KeptKeys | None,
    *,
    ignore_hold: bool,
    approving: bool = False,
) -> ImportResult:
    async with pool.acquire() as conn:  # (in a statement of its own: the first recording commits at once)
        await check_hash_scheme(conn)
    size = _source_size(source)
    await progress("receiving", 0, size)
    with timed("open package"):
        reader = await asyncio.to_thread(
            PackageReader, source, strict=options.strict, limits=options.limits, severities=options.severities
        )
    await progress("receiving", size or 0, size)
    step = _thread_progress(progress, asyncio.get_running_loop())
    async with pool.acquire() as conn, conn.transaction():
        await db_imports.lock_tenant_imports(conn, tenant_id)
        await plan_for_values(conn)  # (each statement locks the tenant's partitions only)
        status = await db_imports.sync_status(conn, tenant_id, sync_id)
        if status != "RUNNING":
            raise AlreadyFinished(status)
        held = await check_held(conn, tenant_id, sync_id) if approving else None
        # The files parse in a thread while PostgreSQL streams out the current data: two cores, both busy. The last
        # file's keys come later, while the first part is planned (from the worker's copy, when it has one).
        parsing = Parsing(reader, step)
        step("parsing", 0, parsing.total)
        has_last = await has_current(conn, tenant_id, LAST)
        threads = Threads()
        reading = read_first(reader, options, parsing, threads)
        needed = needed_types(reader.modes)
        raw_last = has_last and _skips_unchanged(reader, options)
        first, last_keys = None, None
        try:
            try:
                with timed("load snapshot"):
                    snapshot = await load_snapshot(conn, tenant_id, needed - {LAST})
                if LAST in needed:
                    # The longest read of all: it starts as soon as the connection is free, while the files parse.
                    last_keys = asyncio.create_task(_load_last_keys(conn, tenant_id, raw_last, kept))
            finally:
                package, rows = await reading
            first = _First(package, rows, snapshot, reader, parsing, threads, last_keys, raw_last, kept)
            return await _diff_and_apply(conn, tenant_id, sync_id, first, options, progress, ignore_hold, held)
        finally:
            for task in (last_keys, None if first is None else first.reading_last):
                if task is not None:
                    await wait_out(task)
            threads.close()


async def _load_last_keys(conn: Connection, tenant_id: int, raw: bool, kept: KeptKeys | None) -> pl.DataFrame:
    """The last file's current keys: this worker's copy when it has the tenant's current state, else streamed;
    with their raw hashes when `raw` or kept (the copy keeps them: plans that do not read them drop them)."""
    with timed("load last keys"):
        if kept is not None:
            keys = await kept.load(await db_imports.data_token(conn, tenant_id))
            if keys is not None:
                return keys
        return await current_keys(conn, tenant_id, LAST, raw=raw or kept is not None)


async def fail_import(pool: asyncpg.Pool, tenant_id: int, sync_id: int, code: str, message: str) -> ImportResult:
    """End the sync FAILED with `code` and the message an administrator reads (nothing is applied)."""
    async with pool.acquire() as conn:
        await db_imports.fail_sync(conn, tenant_id, sync_id, code, message)
    return ImportResult(sync_id, "FAILED", failure=(code, message))


@dataclass
class _First:
    """The package's first part, read and folded, and what reading its last file needs."""

    package: Package
    rows: dict[DataType, TypeRows]
    snapshot: Snapshot
    reader: PackageReader
    parsing: Parsing
    threads: Threads
    last_keys: asyncio.Task[pl.DataFrame] | None  # the last file's current keys, loading, if the package has the file
    raw_last: bool  # whether the last file's rows unchanged since their versions are told by their raw hash
    kept: KeptKeys | None  # the worker's copy of the last file's keys, if it keeps one
    reading_last: asyncio.Task[Folded | RawFile] | None = None


def _skips_unchanged(reader: PackageReader, options: ImportOptions) -> bool:
    """Whether the last file's rows unchanged since their current versions can be told by their raw hash
    (workers/imports/unchanged.py): a bulk file, of a sync that applies what it computes, with no uniqueness domain
    of its own (a check across rows the shortcut does not make)."""
    own_domain = any(domain.partition(".")[0] == LAST.value for domain in options.uniqueness_domains)
    return reader.modes[LAST] is FileMode.BULK and not options.dry_run and not own_domain


async def _diff_and_apply(
    conn: Connection,
    tenant_id: int,
    sync_id: int,
    first: _First,
    options: ImportOptions,
    progress: Progress,
    ignore_hold: bool,
    held: pl.DataFrame | None = None,
) -> ImportResult:
    step = _thread_progress(progress, asyncio.get_running_loop())
    references = References(first.snapshot, options)
    plans, schools = await _plan_first(first, references, options)  # the connection is free once it returns
    base_seq = await db_imports.last_applied_seq(conn, tenant_id)
    # The first part is written while the last file is read and planned, in a savepoint: should the last file hold
    # the sync after all (a mass deletion), what the first part wrote is rolled back.
    early = not options.dry_run and (ignore_hold or hold_for(plans, options) is None)
    early_seq = await db_imports.next_applied_seq(conn) if early else None
    versions_of = None if early_seq is None else functools.partial(prepare_versions, tenant_id=tenant_id,
                                                                    applied_seq=early_seq)  # fmt: skip
    assert first.reading_last is not None, "started with the first part's planning"
    absent = AbsentKeys(asyncio.get_running_loop())
    last = asyncio.create_task(plan_last(first.reading_last, first.reader, options, references, schools, step,
                                         versions_of, first.threads, absent.hear))  # fmt: skip
    savepoint, closed = None, None
    try:
        if early_seq is not None:
            savepoint = conn.transaction()
            await savepoint.start()
            await db_imports.delete_explicit_outcomes(conn, tenant_id, sync_id)  # an approved hold's explicit rows
            await apply_plans(conn, plans, tenant_id, sync_id, early_seq)
            closed = await absent.close(conn, tenant_id, early_seq, last)
        await progress("parsing", first.parsing.done, first.parsing.total)  # a cancel's checkpoint
    except BaseException:
        await wait_out(last)
        raise
    planned = await last
    package, plans, written = first.package.merge(planned.package), [*plans, *planned.plans], plans
    total = sum(plan_rows(p) for p in plans)
    hold = None if (ignore_hold or options.dry_run) else hold_for(plans, options)
    if held is not None:
        same_as_held(plans, held)
    if savepoint is not None:
        await (savepoint.commit() if hold is None else savepoint.rollback())
    await progress("applying", 0, total)
    applied_seq: int | None = None
    counting = PlannedCounts(plans)
    try:
        if options.dry_run or hold is not None:
            for plan in plans:
                await explain(conn, tenant_id, plan)
                await write_all_outcomes(conn, plan, tenant_id, sync_id)
        elif early_seq is None:
            applied_seq = await db_imports.next_applied_seq(conn)
            await db_imports.delete_explicit_outcomes(conn, tenant_id, sync_id)  # an approved hold's explicit rows
            await apply_plans(conn, plans, tenant_id, sync_id, applied_seq, _applying(progress, 0, total))
        else:
            applied_seq, done = early_seq, sum(plan_rows(p) for p in written)
            for plan in planned.plans:
                plan.closed = closed if plan.data_type is LAST else None

            def copied(plan: TypePlan) -> None:
                _stage_keys(first, planned, plan)
                counting.start()  # (while PostgreSQL builds the indexes of a new partition or closes old versions)

            await apply_plans(conn, planned.plans, tenant_id, sync_id, applied_seq,
                              _applying(progress, done, total), planned.versions, copied)  # fmt: skip
        items = await counting.items() if plans else None
    finally:
        await counting.wait_out()
    await progress("applying", total, total)  # the last checkpoint: a cancel requested until now still stops it
    if applied_seq is not None:
        renewed = await db_imports.renew_data_token(conn, tenant_id)  # (whether this worker keeps keys or not)
        if first.kept is not None:
            first.kept.renewed = renewed
    summaries = summarize(items, type_codes(plans)) if items is not None else pl.DataFrame()
    counts = _counts(items)
    modes = {TYPE_CODES[p.data_type]: p.mode.value for p in plans}
    if summaries.height:
        await db_imports.write_summaries(conn, tenant_id, sync_id, summaries, modes)
    status = "HELD" if hold is not None else "SUCCEEDED"
    findings = [_finding_dict(n) for n in package.all_notes()]
    await db_imports.finish_sync(conn, tenant_id, sync_id, status=status, counts=counts, applied_seq=applied_seq,
                                 base_seq=base_seq, hold=hold, findings=findings)  # fmt: skip
    return ImportResult(sync_id, status, counts, summaries, hold)


async def _plan_first(
    first: _First, references: References, options: ImportOptions
) -> tuple[list[TypePlan], SchoolMap]:
    """Start reading the last file, and plan the first part (after that read, when both share a thread: the last
    file's rows and the first part's plans are then not both being made at once) while PostgreSQL streams out the
    last file's current keys; return once they are in."""
    first.reading_last = read_last(first.reader, options, first.parsing, first.threads, first.raw_last)
    planning = asyncio.create_task(first.threads.first(plan_files, first.package, first.rows, references, None))
    keys = None
    try:
        if first.last_keys is not None:
            keys = await first.last_keys
    finally:
        await wait_out(planning)
    if keys is not None:
        first.snapshot.keys[LAST] = keys  # once planned: the planning thread reads the snapshot
    return planning.result()


def _stage_keys(first: _First, planned: Last, plan: TypePlan) -> None:
    """Have the worker's copy of the last file's keys follow what this import applies, once its new versions are
    in: while PostgreSQL closes the old ones, or builds the indexes of a tenant's first (staged during the COPY, the
    keys slowed it by half)."""
    current = first.snapshot.keys.get(LAST)  # (with raw hashes: a worker keeping keys reads them so)
    if first.kept is None or current is None or plan.data_type is not LAST:
        return
    if planned.versions is not None:
        first.kept.stage(current, plan, planned.versions)


def _applying(progress: Progress, done: int, total: int) -> Callable[[int], Coroutine[Any, Any, None]]:
    """The progress of writing, `done` rows written before."""

    async def sent(rows: int) -> None:
        await progress("applying", min(done + rows, total), total)

    return sent


def _counts(items: pl.DataFrame | None) -> dict[str, int]:
    """The sync's record, error and warning counts from `counted_items`."""
    if items is None or items.height == 0:
        return {"records": 0, "errors": 0, "warnings": 0}
    count = pl.col("_n").cast(pl.Int64)
    errors = count.filter(pl.col(OUTCOME).is_in([int(Outcome.SKIPPED), int(Outcome.EXCLUDED)])).sum()
    totals = items.select(count.sum().alias("records"), errors.alias("errors"), count.filter(INVALID).sum())
    return {"records": int(totals[0, 0]), "errors": int(totals[0, 1]), "warnings": int(totals[0, 2])}


def _finding_dict(note: Any) -> dict[str, Any]:
    return {"code": note.code, "severity": note.severity.value, "file": note.file, "line": note.line,
            "column": note.column, "message": note.message, "count": getattr(note, "count", 1)}  # fmt: skip
