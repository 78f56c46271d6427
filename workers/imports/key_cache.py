"""A worker's copy of a tenant's current keys of a type between two imports: read from a file instead of streamed.

A daily bulk import of a large district starts by reading the million current keys of its enrollments, the longest
read of the import: a core's work in PostgreSQL and much of another's in the worker. The day before, the worker held
them already: what that import read, less what it closed, plus what it wrote (`post_sync_keys`). It writes that
state to a file while PostgreSQL applies the import, names the file by the tenant's new data token once the import
commits (db.imports.renew_data_token, in the import's transaction), and the next import that finds the same token
reads the file: the state the token names is the tenant's data exactly. Any other token (another worker's import, a
restored database, a file never written) only means the keys are streamed from PostgreSQL, as without a cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import polars as pl

from db.entities import RAW_KEY_SCHEMA, RAW_KINDS, VersionKind
from oneroster_csv.model import DataType
from workers.imports.apply import Versions
from workers.imports.model import SOURCED_ID
from workers.imports.plan import TypePlan
from workers.imports.timing import timed

log = logging.getLogger(__name__)

# The keys as `db.entities.current_keys(..., raw=True)` reads them: the only form kept.
CACHED_SCHEMA: dict[str, pl.DataType] = RAW_KEY_SCHEMA


@dataclass(frozen=True)
class KeyCache:
    """Key files in `directory`, one per tenant and type (the latest state only); `min_rows`: fewer keys stream
    out of PostgreSQL quickly enough, and are not worth a file."""

    directory: Path
    min_rows: int = 100_000

    def load(self, tenant_id: int, data_type: DataType, token: UUID | None) -> pl.DataFrame | None:
        """The keys of the state `token` names, if this worker kept them; else None."""
        if token is None:
            return None
        try:
            frame = pl.read_ipc(self._path(tenant_id, data_type, token))
        except (OSError, pl.exceptions.PolarsError):  # (absent, removed meanwhile, unreadable: read them again)
            return None
        return frame if frame.schema == pl.Schema(CACHED_SCHEMA) else None

    def stage(self, tenant_id: int, data_type: DataType, keys: pl.DataFrame) -> Path | None:
        """Write `keys` (the state an import is applying) to a file not yet named by a token; None when too few."""
        if keys.height < self.min_rows:
            return None
        staged = self.directory / f".{tenant_id}-{data_type.value}-{uuid.uuid4()}.staged"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            keys.select(*CACHED_SCHEMA).write_ipc(staged)
        except (OSError, pl.exceptions.PolarsError) as error:  # (a full disk: the next import streams its keys)
            self._give_up(staged, error)
            return None
        return staged

    def publish(self, staged: Path, tenant_id: int, data_type: DataType, token: UUID) -> None:
        """Name a staged file by the token its import committed, and drop the tenant's older file of the type; a
        failure only costs the next import its copy (the import itself is committed)."""
        final = self._path(tenant_id, data_type, token)
        try:
            os.replace(staged, final)
        except OSError as error:
            self._give_up(staged, error)
            return
        for older in self.directory.glob(f"{tenant_id}-{data_type.value}-*.arrow"):
            if older != final:
                with contextlib.suppress(OSError):
                    older.unlink()

    def _give_up(self, staged: Path, error: Exception) -> None:
        log.warning("could not keep the current keys in %s: %s", self.directory, error)
        self.discard(staged)

    @staticmethod
    def discard(staged: Path | None) -> None:
        if staged is not None:
            with contextlib.suppress(OSError):
                staged.unlink()

    def _path(self, tenant_id: int, data_type: DataType, token: UUID) -> Path:
        return self.directory / f"{tenant_id}-{data_type.value}-{token}.arrow"


def post_sync_keys(
    current: pl.DataFrame, written: pl.DataFrame, carried: pl.DataFrame, renewed: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The current keys once an import is applied: those of `current` (in CACHED_SCHEMA) less the ones it closes,
    plus the versions it writes (`written`, in the table's columns) and the closed versions it carries on as new
    ones (`carried`: sourcedId and kind, tombstones and kept entities, copies of their closed versions), with the
    raw hashes it `renewed` (sourcedId, raw_hash, info: versions it keeps)."""
    # (a carried key is never written: tombstones and kept entities are keys no record of the sync has; and a
    # tenant's first import closes nothing: no set of its million keys is built for nothing)
    stays = current
    if current.height:
        closed = pl.concat([written[SOURCED_ID], carried[SOURCED_ID]])
        stays = current.filter(~pl.col(SOURCED_ID).is_in(closed.implode()))
    if renewed is not None and renewed.height:
        found = stays.select(SOURCED_ID).join(renewed, on=SOURCED_ID, how="left", maintain_order="left")
        renews = found["raw_hash"].is_not_null()
        stays = stays.with_columns(
            pl.when(renews).then(found["raw_hash"]).otherwise(pl.col("raw_hash")).alias("raw_hash"),
            pl.when(renews).then(found["info"]).otherwise(pl.col("info")).alias("info"),
        )
    # (db.entities.UNCHANGED_RAW, UNCHANGED_INFO)
    unchanged = pl.col("kind").is_in(RAW_KINDS) & pl.col("schools").is_null()
    new = written.select(
        SOURCED_ID, "content_hash", "row_hash", "kind", pl.when(unchanged).then(pl.col("raw_hash")).alias("raw_hash"),
        pl.when(unchanged).then(pl.col("info")).alias("info"),
    )  # fmt: skip
    copies = carried.join(current.drop("kind", "raw_hash", "info"), on=SOURCED_ID, how="inner").select(
        SOURCED_ID, "content_hash", "row_hash", "kind", pl.lit(None, pl.Int64).alias("raw_hash"),
        pl.lit(None, pl.String).alias("info"),
    )  # fmt: skip
    schema = {name: pl.col(name).cast(dtype) for name, dtype in CACHED_SCHEMA.items()}
    return pl.concat([stays, new.select(**schema), copies.select(**schema)])


class KeptKeys:
    """One import's use of a key cache: the keys of the state it started from, if kept (`load`), and the state it
    applies, written while it applies (`stage`) and named by its new token once committed (`publish`)."""

    def __init__(self, cache: KeyCache, tenant_id: int, data_type: DataType) -> None:
        self.cache, self.tenant_id, self.data_type = cache, tenant_id, data_type
        self.renewed: UUID | None = None  # the token the import's transaction sets, once it has set it
        self._staging: asyncio.Task[Path | None] | None = None

    async def load(self, token: UUID | None) -> pl.DataFrame | None:
        keys = await asyncio.to_thread(self.cache.load, self.tenant_id, self.data_type, token)
        log.debug("tenant %s, %s current keys: %s", self.tenant_id, self.data_type.value,
                  "kept" if keys is not None else "not kept")  # fmt: skip
        return keys

    def stage(self, current: pl.DataFrame, plan: TypePlan, versions: Versions) -> None:
        """Start writing the keys `plan` leaves (from `current`, read with their raw hashes) in a thread."""
        kinds = [(plan.deleted, VersionKind.DELETED), (plan.kept.to_frame(SOURCED_ID), VersionKind.KEPT)]
        carried = pl.concat([keys.select(SOURCED_ID, pl.lit(int(k), pl.Int16).alias("kind")) for keys, k in kinds])

        def write() -> Path | None:
            with timed("stage keys"):
                keys = post_sync_keys(current, versions.frame, carried, plan.renewed_raw)
                return self.cache.stage(self.tenant_id, self.data_type, keys)

        self._staging = asyncio.create_task(asyncio.to_thread(write))

    async def publish(self) -> None:
        """After the import's transaction: the staged keys named by its token (or let go, if it applied nothing)."""
        staged = await self._staged()
        if staged is not None and self.renewed is not None:
            await asyncio.to_thread(self.cache.publish, staged, self.tenant_id, self.data_type, self.renewed)
        else:
            self.cache.discard(staged)

    async def discard(self) -> None:
        self.cache.discard(await self._staged())

    async def _staged(self) -> Path | None:
        if self._staging is None:
            return None
        await asyncio.wait([self._staging])
        if self._staging.cancelled():
            return None
        if self._staging.exception() is not None:  # (the next import streams the keys: this one is not at fault)
            log.warning("could not keep the current keys", exc_info=self._staging.exception())
            return None
        return self._staging.result()
