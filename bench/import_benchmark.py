"""Import-engine benchmark: day 1 and day 2 of a large district against the PostgreSQL COPY floor.

    python -m bench.import_benchmark [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--data /tmp/ors-bench]
                                     [--rounds 3]

In each round, on the same server and a database of the round's own (so the rounds are the same trial): the floor
(`\\copy` of the day-1 and day-2 CSV files into UNLOGGED text tables, bench/floor.py), then a day-1 import into a new
tenant, a day-2 import and a re-import of day 2, each in a fresh worker process (so its peak memory is its own)
keeping the enrollments' current keys between imports in a folder of the round's, as a deployed worker does in its
data folder (workers/imports/key_cache.py: day 1 writes them, day 2 reads them and writes its own, and so on; the
folder's size is printed beside the database's).
Every timed step, floor and imports alike, starts after a CHECKPOINT: a day-1 import writes about half of
`max_wal_size` in WAL, so without it the next steps ran during a checkpoint that the previous step's writes had
started (flushing its data while they wait on their own WAL flushes), and each step's time depended on what ran before
it. For the same reason (day 2 comes a day after day 1), the database is vacuumed after each import, as autovacuum
does within a minute of one: without it, day 2's first read of day 1's rows would set their hint bits and write their
pages back, a cost production imports never meet. Prints per-round times, the median ratios over the rounds, the
workers' peak memory, the storage each import added, and the CPU each import took in the worker and in PostgreSQL
(with two cores, half their sum is the least wall time the import's own work allows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bench.floor import copy_floor
from bench.generate_district import generate_district

# The version tables' partitions (one per tenant, migration 0006) and the tables a sync's history is kept in.
DATA_TABLES = """SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c
                 WHERE c.relkind = 'r' AND (c.relname LIKE '%\\_versions\\_t%' OR c.relname IN
                       ('record_outcomes', 'sync_summaries', 'syncs'))"""


def ensure_packages(data: Path) -> tuple[Path, Path]:
    day1, day2 = data / "day1", data / "day2"
    if not (day1 / "manifest.csv").exists():
        generate_district(day1, seed=1, day=1)
    if not (day2 / "manifest.csv").exists():
        generate_district(day2, seed=1, day=2)
    return day1, day2


def run_worker(database_url: str, tenant: str, package: Path, key_cache: Path | None = None) -> dict[str, Any]:
    """One import in a fresh process: its wall time, status, counts and peak RSS."""
    cache = [] if key_cache is None else [str(key_cache)]
    out = subprocess.run(
        [sys.executable, "-m", "bench.import_once", database_url, tenant, str(package), *cache],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def vacuum(database_url: str) -> None:
    """What autovacuum does within a minute of a large import (its insert threshold), long before the tenant's next
    import: set the new rows' hint bits and visibility and gather statistics. Without it the next import's first
    read of them, its current keys, sets the hint bits of a million rows and writes their pages back."""
    await _execute(database_url, "VACUUM (ANALYZE)")


async def checkpoint(dsn: str) -> None:
    """Flush what earlier steps left dirty, so the next timed step starts from the same state every time."""
    await _execute(dsn, "CHECKPOINT")


async def _execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def storage(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        size: int = await conn.fetchval(DATA_TABLES)
        return size
    finally:
        await conn.close()


async def prepare_database(admin_dsn: str) -> str:
    from db.migrate import migrate
    from oneroster_sync.embedded import ensure_database

    url = await ensure_database(admin_dsn, f"bench_import_{uuid.uuid4().hex[:8]}")
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


async def create_tenant(database_url: str) -> str:
    from db.pool import connect
    from db.tenants import create_tenant as create

    name = f"bench-{uuid.uuid4().hex[:8]}"
    conn = await connect(database_url)
    try:
        await create(conn, name)
    finally:
        await conn.close()
    return name


async def drop_database(admin_dsn: str, url: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def run_round(dsn: str, number: int, day1: Path, day2: Path) -> dict[str, Any]:
    """One round on a database of its own, dropped afterwards: the rounds are the same trial (in a shared one, each
    round's day 2 would also scan the earlier rounds' districts for its current keys)."""
    database_url = await prepare_database(dsn)
    key_cache = Path(tempfile.mkdtemp(prefix="ors-bench-keys-"))
    try:
        await checkpoint(dsn)
        floor1 = await copy_floor(dsn, day1)
        await checkpoint(dsn)
        floor2 = await copy_floor(dsn, day2)
        tenant = await create_tenant(database_url)
        imports, sizes = {}, [await storage(database_url)]
        for name, package in (("day1", day1), ("day2", day2), ("reimport", day2)):
            await checkpoint(dsn)
            imports[name] = run_worker(database_url, tenant, package, key_cache)
            await vacuum(database_url)
            sizes.append(await storage(database_url))
        first, second, again = imports["day1"], imports["day2"], imports["reimport"]
        row = {
            "round": number, "floor_day1": floor1, "floor_day2": floor2, **imports,
            "ratio_day1": first["seconds"] / floor1, "ratio_day2": second["seconds"] / floor2,
            "ratio_reimport": again["seconds"] / floor2,
            "storage_day1": sizes[1] - sizes[0], "storage_day2": sizes[2] - sizes[1],
            "storage_reimport": sizes[3] - sizes[2],
            "key_cache": sum(f.stat().st_size for f in key_cache.iterdir()),
        }  # fmt: skip
        print(
            f"round {number}: floor {floor1:.2f}s / {floor2:.2f}s | day 1 {first['seconds']:.2f}s "
            f"({row['ratio_day1']:.2f}x, {first['status']}, peak {first['peak_mib']:.0f} MiB) | day 2 "
            f"{second['seconds']:.2f}s ({row['ratio_day2']:.2f}x, peak {second['peak_mib']:.0f} MiB) | re-import "
            f"{again['seconds']:.2f}s ({row['ratio_reimport']:.2f}x) | storage "
            f"+{row['storage_day1'] / 2**20:.0f} / +{row['storage_day2'] / 2**20:.1f} / "
            f"+{row['storage_reimport'] / 2**20:.1f} MiB",
            flush=True,
        )
        return row
    finally:
        await drop_database(dsn, database_url)
        shutil.rmtree(key_cache, ignore_errors=True)


def cpu_line(imports: list[dict[str, Any]]) -> str:
    """The median CPU seconds of the imports in the worker and in PostgreSQL, and what their sum allows at best on
    this machine's cores (both busy throughout): how far the import is from being bound by its own work."""
    worker = statistics.median(i["cpu"] for i in imports)
    servers = [i["server_cpu"] for i in imports if i.get("server_cpu") is not None]
    wall = statistics.median(i["seconds"] for i in imports)
    if not servers:
        return f"worker {worker:.2f}s (PostgreSQL's not readable here), wall {wall:.2f}s"
    server, cores = statistics.median(servers), os.cpu_count() or 1
    return (f"worker {worker:.2f}s + PostgreSQL {server:.2f}s = {worker + server:.2f}s, at best "
            f"{(worker + server) / cores:.2f}s on {cores} cores; wall {wall:.2f}s")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=Path("/tmp/ors-bench"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    day1, day2 = ensure_packages(args.data)
    rounds = [await run_round(args.dsn, number, day1, day2) for number in range(1, args.rounds + 1)]

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    peak = max(max(r[k]["peak_mib"] for k in ("day1", "day2", "reimport")) for r in rounds)
    print(f"median ratio day 1 / floor: {median('ratio_day1'):.2f} (target <= 3)")
    print(f"median ratio day 2 / floor: {median('ratio_day2'):.2f} (target <= 1.5)")
    print(f"median ratio re-import of day 2 / floor: {median('ratio_reimport'):.2f}")
    print(f"worker peak memory: {peak:.0f} MiB (target < 1024)")
    for name, key in (("day 1", "day1"), ("day 2", "day2"), ("re-import", "reimport")):
        print(f"CPU of {name}: {cpu_line([r[key] for r in rounds])}")
    day1_storage = median("storage_day1")
    print(f"storage added: day 1 {day1_storage / 2**20:.0f} MiB, day 2 {median('storage_day2') / 2**20:.1f} MiB "
          f"({100 * median('storage_day2') / day1_storage:.1f}%), re-import of day 2 "
          f"{median('storage_reimport') / 2**20:.1f} MiB ({100 * median('storage_reimport') / day1_storage:.1f}%) "
          "(target < 10%)")  # fmt: skip
    print(f"the worker's copy of the enrollments' current keys: {median('key_cache') / 2**20:.0f} MiB on its disk")


if __name__ == "__main__":
    asyncio.run(main())
