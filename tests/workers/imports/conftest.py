"""Helpers for import-engine tests: run an import into a tenant and read back its summaries and current data."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import polars as pl
import pytest

from db.entities import TABLES, TYPE_CODES
from db.syncs import insert_sync
from oneroster_csv.model import DataType
from tests.conftest import Tenant, make_tenant
from workers.imports.engine import ImportResult, run_import
from workers.imports.model import ImportOptions

TYPE_OF_CODE = {code: data_type for data_type, code in TYPE_CODES.items()}


class District:
    """A tenant plus helpers to import into it."""

    def __init__(self, pool: asyncpg.Pool, tenant: Tenant) -> None:
        self.pool = pool
        self.tenant = tenant

    async def app_id(self, name: str = "csv-upload") -> int:
        app_id: int = await self.pool.fetchval(
            "SELECT id FROM apps WHERE tenant_id = $1 AND name = $2", self.tenant.id, name
        )
        return app_id

    async def run(self, source: str | os.PathLike[str] | bytes, options: ImportOptions | None = None,
                  **kwargs: object) -> ImportResult:  # fmt: skip
        options = options or ImportOptions()
        sync = await insert_sync(self.pool, self.tenant.id, await self.app_id(), dry_run=options.dry_run)
        return await run_import(self.pool, self.tenant.id, sync.id, source, options, **kwargs)  # type: ignore[arg-type]

    async def current(self) -> dict[str, list[tuple[object, ...]]]:
        """Every current version's content (deleted ones as tombstones), per table: the district's data."""
        state: dict[str, list[tuple[object, ...]]] = {}
        async with self.pool.acquire() as conn:
            for table in TABLES.values():
                rows = await conn.fetch(
                    f'SELECT * FROM {table} WHERE tenant_id = $1 AND valid_to IS NULL ORDER BY "sourcedId"',
                    self.tenant.id,
                )
                drop = {"tenant_id", "valid_from", "valid_to", "line"}
                state[table] = [tuple(v for k, v in r.items() if k not in drop) for r in rows]
        return state

    async def all_versions(self) -> dict[str, list[tuple[object, ...]]]:
        """Every stored version, byte for byte: what a sync that applies nothing must leave untouched."""
        state: dict[str, list[tuple[object, ...]]] = {}
        async with self.pool.acquire() as conn:
            for table in TABLES.values():
                rows = await conn.fetch(f"SELECT * FROM {table} WHERE tenant_id = $1 ORDER BY 2, 3", self.tenant.id)
                state[table] = [tuple(r.values()) for r in rows]
        return state


def summary(result: ImportResult, data_type: DataType, school: str = "") -> dict[str, int]:
    assert result.summaries is not None
    rows = result.summaries.filter((pl.col("school_id") == school) & (pl.col("data_type") == TYPE_CODES[data_type]))
    return rows.drop("school_id", "data_type").to_dicts()[0] if rows.height else {}


@pytest.fixture
async def district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))


def write_package(folder: Path, files: dict[str, str], manifest: dict[str, str] | None = None,
                  version: str = "1.1") -> Path:  # fmt: skip
    """A package folder: `files` maps a file stem to its CSV text; the manifest declares them bulk by default."""
    folder.mkdir(parents=True, exist_ok=True)
    modes = manifest or {stem: "bulk" for stem in files}
    lines = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    lines += [f"file.{stem},{mode}" for stem, mode in modes.items()]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n")
    for stem, text in files.items():
        (folder / f"{stem}.csv").write_text(text)
    return folder
