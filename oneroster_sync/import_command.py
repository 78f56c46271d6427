"""`oneroster-sync import`: run an import in this process and print its summary table."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from db.apps import AppRow
from db.entities import TYPE_CODES
from db.migrate import migrate
from db.pool import create_pool
from db.syncs import insert_sync
from db.tenants import UnknownTenant, tenant_id_by_name
from workers.imports.engine import ImportResult, run_import
from workers.imports.model import ImportOptions

COLUMNS = ("total", "no_change", "new", "updated", "deleted", "skipped", "merged", "excluded", "invalid")


async def run_import_command(database_url: str, path: str, tenant: str, app_name: str, *, dry_run: bool) -> int:
    if not Path(path).exists():
        print(f"oneroster-sync: {path} does not exist", file=sys.stderr)
        return 2
    pool = await create_pool(database_url, min_size=1, max_size=3)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            try:
                tenant_id = await tenant_id_by_name(conn, tenant)
            except UnknownTenant as exc:
                print(f"oneroster-sync: {exc}", file=sys.stderr)
                return 1
            record = await conn.fetchrow(
                "SELECT * FROM apps WHERE tenant_id = $1 AND name = $2 AND kind = 'IMPORT' AND uninstalled_at IS NULL",
                tenant_id, app_name,
            )  # fmt: skip
        if record is None:
            print(f"oneroster-sync: {tenant} has no installed import app named {app_name!r}", file=sys.stderr)
            return 1
        app = AppRow(**dict(record))
        sync = await insert_sync(pool, tenant_id, app.id, dry_run=dry_run)
        result = await run_import(
            pool, tenant_id, sync.id, path, ImportOptions.from_settings(app.settings, dry_run=dry_run)
        )
        print(render_summary(result))
        return 0 if result.status in ("SUCCEEDED", "HELD") else 1
    finally:
        await pool.close()


def render_summary(result: ImportResult) -> str:
    """The sync's per-type summary as a plain-text table."""
    lines = [f"sync {result.sync_id}: {result.status}"]
    if result.failure:
        lines.append(f"  {result.failure[0]}: {result.failure[1]}")
    if result.hold:
        hold = result.hold
        lines.append(f"  held: {hold['deleteCount']} of {hold['currentCount']} {hold['dataType']} would be deleted "
                     f"(more than {hold['thresholdPercent']}%); approve or discard it")  # fmt: skip
    summaries = result.summaries
    if summaries is None or summaries.height == 0:
        return "\n".join(lines)
    names = {code: data_type.value for data_type, code in TYPE_CODES.items()}
    rows = summaries.filter(pl.col("school_id") == "").sort("data_type")
    header = f"  {'data type':<18}" + "".join(f"{c:>10}" for c in COLUMNS)
    lines.append(header)
    for row in rows.iter_rows(named=True):
        lines.append(f"  {names[row['data_type']]:<18}" + "".join(f"{row[c]:>10}" for c in COLUMNS))
    counts = result.counts
    lines.append(f"  records {counts.get('records', 0)}, errors {counts.get('errors', 0)}, "
                 f"warnings {counts.get('warnings', 0)}")  # fmt: skip
    return "\n".join(lines)
