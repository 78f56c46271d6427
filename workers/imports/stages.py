"""The stages between an opened package and its written versions, and how they overlap.

A package is read in two parts, each in a thread of its own (`Threads`): every file but the last one (enrollments:
the largest, and referenced by no other file), then the last, read while the first part is planned (and its current
keys come from the worker's copy or stream out of PostgreSQL), and planned while the first part's versions are
written: PostgreSQL's share of an import is mostly reading keys and writing versions, the engine's mostly parsing,
and done in turn one of the two cores would wait for the other.

When the tenant has the last file's records already and the file is bulk, the last file is only parsed at first;
once the other files are planned, its rows unchanged since their versions are told by their raw hash
(workers/imports/unchanged.py) and only the others are validated, folded and planned. The entities no row names,
known then too, are handed over (`on_absent`) to be closed while that goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

from db.pool import Connection
from oneroster_csv import PackageReader, RawFile
from oneroster_csv.api import FileTable, Package
from oneroster_csv.model import DataType
from workers.imports.apply import Versions, apply_versions, close_deleted, prepared_in_turn, write_rejected
from workers.imports.model import ImportOptions, TypeRows
from workers.imports.plan import (
    References,
    TypePlan,
    counted_items,
    fold_package,
    plan_type,
    planned_counts,
    school_map,
)
from workers.imports.schools import SchoolMap
from workers.imports.timing import timed
from workers.imports.unchanged import Unchanged, candidates, conflicts

LAST = DataType.ENROLLMENTS
log = logging.getLogger(__name__)

T = TypeVar("T")

ThreadProgress = Callable[[str, int, int | None], None]
Absent = Callable[[pl.Series | None], None]  # hears, from the planning thread, the last file's absent entities


def _silent(phase: str, processed: int, total: int | None) -> None:
    return None


class Parsing:
    """Progress through the package's bytes, over the reads of its parts."""

    def __init__(self, reader: PackageReader, step: ThreadProgress) -> None:
        self.total, self.done, self._step = reader.csv_bytes, 0, step

    def on_file(self, size: int) -> None:
        self.done += size
        self._step("parsing", self.done, self.total)


def first_types(reader: PackageReader) -> list[DataType]:
    return [t for t in reader.modes if t is not LAST]


Folded = tuple[Package, dict[DataType, TypeRows]]


def read_and_fold(
    reader: PackageReader, options: ImportOptions, parsing: Parsing, types: Collection[DataType]
) -> Folded:
    with timed(f"read {len(types)} types"):
        package = reader.read(parsing.on_file, types)
    return _fold(package, options)


def _fold(package: Package, options: ImportOptions) -> Folded:
    with timed("fold rows"):
        rows = fold_package(package, options)
    # The folded rows are what the import works on; the parsed frames would only double the memory.
    tables = {t: dataclasses.replace(table, frame=table.frame.clear()) for t, table in package.tables.items()}
    return dataclasses.replace(package, tables=tables), rows


def read_raw(reader: PackageReader, parsing: Parsing, data_type: DataType) -> RawFile:
    with timed(f"read {data_type.value} raw"):
        return reader.read_raw(data_type, parsing.on_file)


def fold_changed(
    raw: RawFile,
    reader: PackageReader,
    options: ImportOptions,
    references: References,
    schools: SchoolMap,
    on_absent: Absent,
) -> tuple[Folded, Unchanged | None]:
    """A file read raw, folded without the rows its current versions' raw hashes show unchanged (those validated
    only, and folded, when a check across rows ties them to another row: workers/imports/unchanged.py); the
    entities on no row go to `on_absent` as soon as they are known (None when they are not)."""
    current = references.snapshot.keys_of(raw.data_type)
    with timed("unchanged rows"):
        unchanged = candidates(raw, current, references.post_sync(schools))
    on_absent(None if unchanged is None else unchanged.absent)
    table: FileTable = raw.validated() if unchanged is None else raw.validated(~unchanged.mask, unchanged.taken())
    if unchanged is not None and conflicts(unchanged, raw, table.frame):
        unchanged, table = None, raw.validated()
    taken = 0 if unchanged is None else unchanged.count
    log.debug("%s: %d of %d rows unchanged since their versions", raw.file_name, taken, raw.rows)
    raw.release()
    return _fold(reader.package({raw.data_type: table}), options), unchanged


def plan_files(
    package: Package,
    rows: dict[DataType, TypeRows],
    references: References,
    schools: SchoolMap | None,
    step: ThreadProgress = _silent,
    unchanged: Unchanged | None = None,
) -> tuple[list[TypePlan], SchoolMap]:
    """Resolve and plan the folded files (after those of earlier calls), with the school map (built on the first
    call: the files the map reads all come first) and the last file's rows known unchanged, if any."""
    total = row_count(rows)
    step("validating", total // 2, total)  # folding the rows was the first half
    references.resolve(package, rows)
    step("diffing", 0, total)
    schools = schools or school_map(rows, references.snapshot)
    plans, done = [], 0
    for type_rows in rows.values():
        done += row_count({None: type_rows})
        plans.append(plan_type(type_rows, references.snapshot, schools, unchanged if type_rows.data_type is LAST
                               else None))  # fmt: skip
        type_rows.records = type_rows.records.clear()  # the plan holds the records now: one copy in memory
        step("diffing", done, total)
    return plans, schools


class Threads:
    """Where the parts of the package are read and planned, a thread for each: the last file is read while the
    first part is planned, and planned while the first part is written. All the work on a part's data happens in
    its thread, so the memory it frees is reused by its next step (the allocator keeps freed memory a while, per
    thread; see oneroster_sync/__init__.py for how long)."""

    def __init__(self) -> None:
        self._first = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="import-first")
        self._last = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="import-last")

    async def first(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._first, fn, *args)

    async def last(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._last, fn, *args)

    def close(self) -> None:
        self._first.shutdown(wait=False)
        self._last.shutdown(wait=False)


def read_first(
    reader: PackageReader, options: ImportOptions, parsing: Parsing, threads: Threads
) -> asyncio.Task[Folded]:
    """A task reading and folding every file but the last."""
    return asyncio.create_task(threads.first(read_and_fold, reader, options, parsing, first_types(reader)))


def read_last(
    reader: PackageReader, options: ImportOptions, parsing: Parsing, threads: Threads, raw: bool
) -> asyncio.Task[Folded | RawFile]:
    """A task reading and folding the last file, or with `raw` only parsing it (`fold_changed` comes once the
    other files are planned)."""
    if raw:
        return asyncio.create_task(threads.last(read_raw, reader, parsing, LAST))
    return asyncio.create_task(threads.last(read_and_fold, reader, options, parsing, [LAST]))


async def wait_out(task: asyncio.Task[Any]) -> None:
    """Let a task's thread finish (a thread cannot be stopped) without telling its failure: another is told."""
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()


class AbsentKeys:
    """The last file's entities on no row, handed over from its planning thread (`hear` is `plan_last`'s
    `on_absent`) to be closed while the thread plans on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._keys: asyncio.Future[pl.Series | None] = loop.create_future()

    def hear(self, keys: pl.Series | None) -> None:
        self._loop.call_soon_threadsafe(self._settle, keys)

    def _settle(self, keys: pl.Series | None) -> None:
        if not self._keys.done():
            self._keys.set_result(keys)

    async def close(
        self, conn: Connection, tenant_id: int, applied_seq: int, planning: asyncio.Task[Any]
    ) -> pl.DataFrame | None:
        """Close them once known (None when there are none to close, or planning ended without telling them)."""
        await asyncio.wait([self._keys, planning], return_when=asyncio.FIRST_COMPLETED)
        keys = self._keys.result() if self._keys.done() else None
        if keys is None or keys.len() == 0:
            return None
        return await close_deleted(conn, tenant_id, LAST, applied_seq, keys)


@dataclass
class Last:
    """The last file's part of the package, planned, with its first plan's versions when they will be written."""

    package: Package
    plans: list[TypePlan]
    versions: Versions | None


async def plan_last(
    reading: Awaitable[Folded | RawFile],
    reader: PackageReader,
    options: ImportOptions,
    references: References,
    schools: SchoolMap,
    step: ThreadProgress,
    versions_of: Callable[[TypePlan], Versions] | None,
    threads: Threads,
    on_absent: Absent = lambda keys: None,
) -> Last:
    """Plan the last file once read; `versions_of` (when the sync applies what it plans) prepares its versions in
    the same thread, so they are ready to write when the other files' are written. `on_absent` is called from that
    thread (`fold_changed`), with None when the file is not read raw."""
    read = await reading
    step("validating", 0, None)

    def plan() -> Last:
        unchanged = None
        if isinstance(read, RawFile):
            (package, rows), unchanged = fold_changed(read, reader, options, references, schools, on_absent)
        else:
            on_absent(None)
            package, rows = read
        plans, _ = plan_files(package, rows, references, schools, step, unchanged)
        versions = versions_of(plans[0]) if plans and versions_of is not None else None
        return Last(package, plans, versions)

    with timed("plan last"):
        return await threads.last(plan)


class PlannedCounts:
    """The plans' `planned_counts`, made in a thread once `start`ed (else when asked for): counting a million
    records while PostgreSQL writes them."""

    def __init__(self, plans: list[TypePlan]) -> None:
        self._plans = plans
        self._task: asyncio.Task[list[pl.DataFrame]] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(asyncio.to_thread(planned_counts, self._plans))

    async def items(self) -> pl.DataFrame:
        """The sync's `counted_items`, once its plans are applied (their deletions counted now)."""
        self.start()
        assert self._task is not None
        return counted_items(self._plans, await self._task)

    async def wait_out(self) -> None:
        if self._task is not None:
            await wait_out(self._task)


def row_count(rows: Mapping[Any, TypeRows]) -> int:
    return sum(r.records.height + r.rejected.height + r.deletions.height for r in rows.values())


def plan_rows(plan: TypePlan) -> int:
    unchanged = 0 if plan.unchanged is None else plan.unchanged.count
    return plan.records.height + plan.rejected.height + plan.deleted.height + unchanged


async def apply_plans(
    conn: Connection,
    plans: list[TypePlan],
    tenant_id: int,
    sync_id: int,
    applied_seq: int,
    sent: Callable[[int], Awaitable[None]] | None = None,
    first: Versions | None = None,
    copied: Callable[[TypePlan], None] | None = None,
) -> None:
    """Write the plans' versions (the first plan's given if prepared already) and rejected rows; `sent` hears the
    rows written so far (after each COPY chunk), `copied` each plan whose new versions are in."""
    applied = 0
    async for plan, versions in prepared_in_turn(plans, tenant_id, applied_seq, first):

        async def on_rows(rows: int, before: int = applied) -> None:
            if sent is not None:
                await sent(before + rows)

        with timed(f"apply {plan.data_type.value}"):
            await apply_versions(conn, plan, versions, tenant_id, applied_seq, on_rows=on_rows, copied=copied)
            await write_rejected(conn, plan, tenant_id, sync_id)
        applied += plan_rows(plan)
        if sent is not None:
            await sent(applied)
