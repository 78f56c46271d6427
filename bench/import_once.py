"""One import, as a worker runs it, in a process of its own: `python -m bench.import_once DATABASE_URL TENANT PATH`.

Prints one JSON line: seconds (wall time of run_import), status, counts and the process's peak RSS in MiB.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

from db.pool import create_pool
from db.syncs import insert_sync
from db.tenants import tenant_id_by_name
from workers.imports.engine import run_import
from workers.imports.model import ImportOptions


async def main(database_url: str, tenant: str, path: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=3)
    try:
        async with pool.acquire() as conn:
            tenant_id = await tenant_id_by_name(conn, tenant)
            app_id = await conn.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND name = 'csv-upload'", tenant_id)
        sync = await insert_sync(pool, tenant_id, app_id)
        started = time.perf_counter()
        result = await run_import(pool, tenant_id, sync.id, path, ImportOptions())
        seconds = time.perf_counter() - started
    finally:
        await pool.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "status": result.status, "counts": result.counts, "peak_mib": peak_mib}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
