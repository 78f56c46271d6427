"""One import, as a worker runs it, in a process of its own:
`python -m bench.import_once DATABASE_URL TENANT PATH [KEY_CACHE_DIR]` (a worker keeps the enrollments' current keys
between imports there: workers/imports/key_cache.py).

Prints one JSON line: seconds (wall time of run_import), status, counts, the process's peak RSS in MiB, and the CPU
seconds the import took in this process (all its threads) and in the PostgreSQL backends serving it (null when the
server runs on another machine: they are read from /proc).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import asyncpg

from db.pool import create_pool
from db.syncs import insert_sync
from db.tenants import tenant_id_by_name
from workers.imports.engine import run_import
from workers.imports.key_cache import KeyCache
from workers.imports.model import ImportOptions

POOL_SIZE = 3  # every connection the import may use is opened before the clock starts, so its backend is counted


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backends_cpu(pids: Iterable[int]) -> float | None:
    """User and system CPU seconds of the PostgreSQL backends `pids` so far; None when /proc does not show them."""
    total = 0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    except (OSError, IndexError, ValueError):
        return None
    return total / os.sysconf("SC_CLK_TCK")


async def backend_pids(pool: asyncpg.Pool) -> list[int]:
    """The server process of each of the pool's connections (all acquired at once, so all opened)."""
    connections = [await pool.acquire() for _ in range(POOL_SIZE)]
    try:
        return [await connection.fetchval("SELECT pg_backend_pid()") for connection in connections]
    finally:
        for connection in connections:
            await pool.release(connection)


async def main(database_url: str, tenant: str, path: str, key_cache: str | None = None) -> None:
    pool = await create_pool(database_url, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        async with pool.acquire() as conn:
            tenant_id = await tenant_id_by_name(conn, tenant)
            app_id = await conn.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND name = 'csv-upload'", tenant_id)
        sync = await insert_sync(pool, tenant_id, app_id)
        pids = await backend_pids(pool)
        started, cpu, server = time.perf_counter(), process_cpu(), backends_cpu(pids)
        cache = None if key_cache is None else KeyCache(Path(key_cache))
        result = await run_import(pool, tenant_id, sync.id, path, ImportOptions(), key_cache=cache)
        seconds, cpu, server_after = time.perf_counter() - started, process_cpu() - cpu, backends_cpu(pids)
    finally:
        await pool.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server_cpu = None if server is None or server_after is None else server_after - server
    print(json.dumps({"seconds": seconds, "status": result.status, "counts": result.counts, "peak_mib": peak_mib,
                      "cpu": cpu, "server_cpu": server_cpu}))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
