"""Faults a deployment meets: a worker killed mid-import, Redis restarted, the database connection cut. The sync ends
exactly once, with the district's data either fully applied or untouched, and the service keeps serving."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from db.entities import TABLES
from db.imports import IMPORT_LOCK_NAMESPACE
from tests.e2e.conftest import District, new_tenant
from tests.e2e.stack import RedisServer, Stack

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def large_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough that an import spends seconds inside its transaction: a window to kill it in."""
    from bench.generate_district import generate_district

    out = tmp_path_factory.mktemp("large") / "day1"
    generate_district(out, users=20_000, classes=1_000, enrollments=250_000, make_zip=True)
    return out.with_suffix(".zip")


@pytest.fixture
async def db(stack: Stack) -> Any:
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    yield conn
    await conn.close()


async def current_data(db: asyncpg.Connection, tenant_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every type's current entities by content hash: what the district's data is, whichever sync wrote it."""
    data = {}
    for table in TABLES.values():
        rows = await db.fetch(f'SELECT "sourcedId", content_hash, kind = 4 FROM {table} WHERE tenant_id = $1 '
                              f'AND valid_to IS NULL ORDER BY 1', tenant_id)  # fmt: skip
        data[table] = [tuple(r) for r in rows]
    return data


async def all_versions(db: asyncpg.Connection, tenant_id: int) -> dict[str, int]:
    return {t: await db.fetchval(f"SELECT count(*) FROM {t} WHERE tenant_id = $1", tenant_id) for t in TABLES.values()}


async def wait_for_phase(db: asyncpg.Connection, tenant_id: int, phases: set[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        phase = await db.fetchval("SELECT progress_phase FROM syncs WHERE tenant_id = $1 AND status = 'RUNNING'",
                                  tenant_id)  # fmt: skip
        if phase in phases:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the import never reached {phases}")


async def test_a_worker_killed_mid_import_is_replaced_and_the_sync_completes_once(
    stack: Stack, db: asyncpg.Connection, large_zip: Path
) -> None:
    district = new_tenant(stack)
    stack.start_worker()
    sync_id = await district.client.start_import(await district.client.app_id("csv-upload"), large_zip)
    await wait_for_phase(db, district.id, {"diffing", "applying"})
    stack.kill_workers()  # kill -9, in the middle of the import's transaction
    assert await db.fetchval("SELECT status FROM syncs WHERE tenant_id = $1", district.id) == "RUNNING"

    stack.start_worker()  # the broker hands the dead worker's message to it once its heartbeat is stale
    sync = await district.client.wait_for(sync_id, timeout=300)
    assert sync["status"] == "SUCCEEDED", sync
    row = await db.fetchrow("SELECT attempts, applied_seq FROM syncs WHERE tenant_id = $1", district.id)
    assert row is not None
    assert row["attempts"] == 2 and row["applied_seq"] is not None, "restarted once, applied once"

    reference = new_tenant(stack)  # the same package, imported without interruption
    stack.cli("import", str(large_zip), "--tenant", reference.name, "--in-process")
    assert await current_data(db, district.id) == await current_data(db, reference.id)
    assert await all_versions(db, district.id) == await all_versions(db, reference.id), "nothing written twice"


async def test_imports_still_run_after_redis_restarts(
    stack: Stack, redis_server: RedisServer, district_zip: Path
) -> None:
    stack.start_worker()
    district = new_tenant(stack)
    redis_server.stop()
    await asyncio.sleep(1)
    redis_server.start()
    await asyncio.sleep(2)  # the API's event subscription and the worker's consumer reconnect

    sync_id = await district.client.start_import(await district.client.app_id("csv-upload"), district_zip)
    query = "subscription($id: ID!) { syncProgress(syncId: $id) { status done } }"
    events = [e["data"]["syncProgress"] async for e in district.client.subscribe(query, id=sync_id)]
    assert events[-1] == {"status": "SUCCEEDED", "done": True}


async def test_a_broken_database_connection_fails_the_sync_and_changes_nothing(
    stack: Stack, db: asyncpg.Connection, large_zip: Path, district_zip: Path
) -> None:
    stack.start_worker()
    district = new_tenant(stack)
    app_id = await district.client.app_id("csv-upload")
    first = await district.client.wait_for(await district.client.start_import(app_id, district_zip))
    assert first["status"] == "SUCCEEDED"
    before = await current_data(db, district.id), await all_versions(db, district.id)

    sync_id = await district.client.start_import(app_id, large_zip)
    await wait_for_phase(db, district.id, {"diffing", "applying"})
    cut = await _cut_import_connection(db, district)
    assert cut, "found the import's connection"

    sync = await district.client.wait_for(sync_id)
    assert sync["status"] == "FAILED" and sync["failure"]["code"] == "import.database_error", sync
    assert "nothing was applied" in sync["failure"]["message"]
    assert (await current_data(db, district.id), await all_versions(db, district.id)) == before
    history = await district.client.query("{ syncs(first: 5) { totalCount } }")  # the API keeps answering
    assert history["syncs"]["totalCount"] == 2


async def _cut_import_connection(db: asyncpg.Connection, district: District) -> bool:
    """Terminate the backend holding the tenant's import lock (the import's transaction)."""
    cut: bool = await db.fetchval(
        """SELECT bool_or(pg_terminate_backend(pid)) FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2""",
        IMPORT_LOCK_NAMESPACE, district.id,
    )  # fmt: skip
    return cut


@pytest.fixture(autouse=True)
def _no_leftover_workers(stack: Stack) -> Iterator[None]:
    yield
    stack.kill_workers()
