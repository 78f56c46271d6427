"""`oneroster-sync demo`: a tenant with a generated district and a few days of history to explore.

The history shows what a district meets: a first full import, a clean day 2 over SFTP, a day with rejected rows
(a missing required value, conflicting duplicates, an enrollment of an unknown class), a dry run, an export of a
deletion-heavy file held for approval, and a broken package that failed. Imports run in this process through the
engine (no worker needed); the syncs are then spread over the past days.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg
import polars as pl

from bench.generate_district import generate_district, write_zip
from db.apps import AppRow
from db.migrate import migrate
from db.pool import create_pool
from db.syncs import insert_sync
from db.tenants import create_tenant, create_token
from workers.imports.engine import run_import
from workers.imports.model import ImportOptions

# (package, app, dry run), oldest first.
STEPS = [("day1", "csv-upload", False), ("day2", "sftp", False), ("rejects", "csv-upload", False),
         ("rejects", "csv-upload", True), ("held", "csv-upload", False), ("broken", "csv-upload", False)]  # fmt: skip
SIZES = {"small": (1_500, 80, 15_000), "medium": (10_000, 400, 100_000)}


async def run_demo(database_url: str, tenant: str, size: str = "small") -> dict[str, object]:
    users, classes, enrollments = SIZES[size]
    pool = await create_pool(database_url, min_size=1, max_size=3)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
            tenant_id = await create_tenant(conn, tenant)
            token = await create_token(conn, tenant_id, "admin")
            apps = {r["provider"]: AppRow(**dict(r)) for r in await conn.fetch(
                "SELECT * FROM apps WHERE tenant_id = $1", tenant_id)}  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="oneroster-demo-") as scratch:
            packages = _packages(Path(scratch), users, classes, enrollments)
            statuses = []
            for name, provider, dry_run in STEPS:
                app = apps[provider]
                sync = await insert_sync(pool, tenant_id, app.id, dry_run=dry_run)
                options = ImportOptions.from_settings(app.settings, dry_run=dry_run)
                result = await run_import(pool, tenant_id, sync.id, packages[name], options)
                statuses.append({"package": name, "app": provider, "dryRun": dry_run, "status": result.status})
        await _spread_over_days(pool, tenant_id)
        return {"tenant": tenant, "tenantId": tenant_id, "token": token, "syncs": statuses}
    finally:
        await pool.close()


def _packages(root: Path, users: int, classes: int, enrollments: int) -> dict[str, Path]:
    day1, day2 = root / "day1", root / "day2"
    generate_district(day1, users=users, classes=classes, enrollments=enrollments, make_zip=True)
    generate_district(day2, users=users, classes=classes, enrollments=enrollments, day=2, make_zip=True)
    rejects = _copy(day2, root / "rejects")
    _add_rejected_rows(rejects)
    held = _copy(day2, root / "held")
    users_file = held / "users.csv"
    frame = pl.read_csv(users_file, infer_schema=False)
    frame.head(int(frame.height * 0.8)).write_csv(users_file)  # 20 % of the users gone: over the hold threshold
    broken = root / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this upload was cut off")
    return {"day1": day1.with_suffix(".zip"), "day2": day2.with_suffix(".zip"), "rejects": write_zip(rejects),
            "held": write_zip(held), "broken": broken}  # fmt: skip


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("expected.json"))
    return target


def _add_rejected_rows(folder: Path) -> None:
    """Rows an administrator has to act on: each is rejected with its own rule code."""
    users = pl.read_csv(folder / "users.csv", infer_schema=False)
    broken_user = users.head(1).with_columns(pl.lit("demo-no-role").alias("sourcedId"), pl.lit(None).alias("role"))
    twin = users.slice(1, 1).with_columns(pl.lit("Someone Else").alias("givenName"))  # same sourcedId, conflicting
    pl.concat([users, broken_user, twin]).write_csv(folder / "users.csv")
    enrollments = pl.read_csv(folder / "enrollments.csv", infer_schema=False)
    orphan = enrollments.head(1).with_columns(pl.lit("demo-orphan").alias("sourcedId"),
                                              pl.lit("class-that-does-not-exist").alias("classSourcedId"))  # fmt: skip
    pl.concat([enrollments, orphan]).write_csv(folder / "enrollments.csv")


async def _spread_over_days(pool: asyncpg.Pool, tenant_id: int) -> None:
    """One sync a day, the newest today, each keeping its own duration."""
    await pool.execute(
        """WITH ranked AS (
               SELECT id, (count(*) OVER () - row_number() OVER (ORDER BY id)) AS days_ago FROM syncs
               WHERE tenant_id = $1)
           UPDATE syncs s SET initiated_at = s.initiated_at - make_interval(days => r.days_ago::int),
                  started_at = s.started_at - make_interval(days => r.days_ago::int),
                  finished_at = s.finished_at - make_interval(days => r.days_ago::int)
           FROM ranked r WHERE s.tenant_id = $1 AND s.id = r.id""",
        tenant_id,
    )  # fmt: skip
