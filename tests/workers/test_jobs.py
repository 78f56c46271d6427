"""What a worker does with one delivery of a sync message, on real PostgreSQL and Redis: at-least-once delivery is
harmless, a tenant's imports run in order, leases, attempts and the time limit end syncs cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import dramatiq
import pytest
import redis.asyncio as aioredis
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from db.imports import lock_tenant_imports
from db.syncs import insert_sync
from oneroster_sync.settings import Endpoints
from tests.conftest import make_tenant
from tests.workers.imports.conftest import District
from tests.workers.imports.packages import base_pkg
from tests.workers.services import orgs, queued_messages, redis_client, worker_services, zip_package
from workers import jobs
from workers.actors import EXHAUSTED_ACTOR, declare_actors
from workers.config import WorkerConfig
from workers.imports.key_cache import KeyCache
from workers.jobs import ComeBackLater, WorkerServices, run_export_message, run_import_message
from workers.queue import EXPORT_ACTOR, EXPORTS_QUEUE, IMPORT_ACTOR, IMPORTS_QUEUE


@pytest.fixture(scope="module")
async def redis(endpoints: Endpoints) -> AsyncIterator[aioredis.Redis]:
    async with redis_client(endpoints) as client:
        yield client


@pytest.fixture
def uploads_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def services(pool: asyncpg.Pool, endpoints: Endpoints, uploads_dir: Path, redis: aioredis.Redis) -> WorkerServices:
    return worker_services(pool, endpoints, uploads_dir, redis)


@pytest.fixture
async def district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))


async def queue_import(district: District, services: WorkerServices, package: bytes) -> int:
    """A QUEUED import of a staged package, as importStart leaves it (the message itself is delivered by hand)."""
    key = services.uploads.stage_stream(district.tenant.id, io.BytesIO(package), 1 << 20)
    row = await insert_sync(district.pool, district.tenant.id, await district.app_id(), upload_key=key, kind="IMPORT")
    return row.id


async def sync_state(district: District, sync_id: int) -> dict[str, Any]:
    record = await district.pool.fetchrow(
        "SELECT status, attempts, failure_code, applied_seq, upload_key FROM syncs WHERE tenant_id = $1 AND id = $2",
        district.tenant.id, sync_id,
    )  # fmt: skip
    assert record is not None
    return dict(record)


def staged(services: WorkerServices, district: District, key: str | None) -> bool:
    return key is not None and services.uploads.path(district.tenant.id, key).exists()


async def set_running(district: District, sync_id: int, *, attempts: int, silent_for: float) -> None:
    """As if a worker had started the sync `attempts` times, the last heartbeat `silent_for` seconds ago."""
    await district.pool.execute(
        """UPDATE syncs SET status = 'RUNNING', attempts = $3, started_at = clock_timestamp(),
                  progress_phase = 'parsing', progress_at = clock_timestamp() - make_interval(secs => $4)
           WHERE tenant_id = $1 AND id = $2""",
        district.tenant.id, sync_id, attempts, silent_for,
    )  # fmt: skip


async def test_a_redelivered_message_for_a_finished_sync_does_nothing(
    district: District, services: WorkerServices
) -> None:
    sync_id = await queue_import(district, services, zip_package({"orgs": orgs(4)}))
    key = (await sync_state(district, sync_id))["upload_key"]
    assert await run_import_message(services, district.tenant.id, sync_id) == "SUCCEEDED"
    done = await sync_state(district, sync_id)
    versions = await district.all_versions()
    assert len(versions["orgs_versions"]) == 4 and done["attempts"] == 1
    assert not staged(services, district, key), "the package of a finished sync is removed"

    for _ in range(2):
        assert await run_import_message(services, district.tenant.id, sync_id) == "SUCCEEDED"
    assert await sync_state(district, sync_id) == done
    assert await district.all_versions() == versions


async def test_imports_of_a_tenant_run_in_the_order_they_were_queued(
    district: District, services: WorkerServices, pool: asyncpg.Pool
) -> None:
    first = await queue_import(district, services, zip_package({"orgs": orgs(3, "First")}))
    second = await queue_import(district, services, zip_package({"orgs": orgs(5, "Second")}))
    tenant_id = district.tenant.id

    with pytest.raises(ComeBackLater):
        await run_import_message(services, tenant_id, second)
    assert (await sync_state(district, second))["status"] == "QUEUED"
    assert (await sync_state(district, second))["attempts"] == 0
    assert await district.current() == {table: [] for table in await district.current()}

    other = District(pool, await make_tenant(pool))  # another tenant is not held up by this one's queue
    other_sync = await queue_import(other, services, zip_package({"orgs": orgs(2)}))
    assert await run_import_message(services, other.tenant.id, other_sync) == "SUCCEEDED"

    assert await run_import_message(services, tenant_id, first) == "SUCCEEDED"
    assert await run_import_message(services, tenant_id, second) == "SUCCEEDED"
    first_seq, second_seq = [(await sync_state(district, s))["applied_seq"] for s in (first, second)]
    assert first_seq < second_seq
    names = await district.pool.fetch(
        "SELECT name FROM orgs_versions WHERE tenant_id = $1 AND valid_to IS NULL AND kind <> 4", tenant_id
    )
    assert sorted(r["name"] for r in names) == [f"Second {i}" for i in range(5)]


async def test_a_waiting_import_sends_the_lost_message_of_an_earlier_one_again(
    district: District, services: WorkerServices, redis: aioredis.Redis, endpoints: Endpoints
) -> None:
    first = await queue_import(district, services, zip_package({"orgs": orgs(1)}))
    second = await queue_import(district, services, zip_package({"orgs": orgs(2)}))
    await district.pool.execute(
        "UPDATE syncs SET initiated_at = clock_timestamp() - interval '1 hour' WHERE tenant_id = $1 AND id = $2",
        district.tenant.id, first,
    )  # fmt: skip
    with pytest.raises(ComeBackLater):
        await run_import_message(services, district.tenant.id, second)
    assert [district.tenant.id, first] in await queued_messages(redis, endpoints.redis_namespace, IMPORTS_QUEUE)


async def test_a_sync_with_a_live_lease_comes_back_later(district: District, services: WorkerServices) -> None:
    sync_id = await queue_import(district, services, zip_package({"orgs": orgs(2)}))
    await set_running(district, sync_id, attempts=1, silent_for=0)
    with pytest.raises(ComeBackLater):
        await run_import_message(services, district.tenant.id, sync_id)
    state = await sync_state(district, sync_id)
    assert (state["status"], state["attempts"]) == ("RUNNING", 1)
    assert staged(services, district, state["upload_key"])


async def test_a_sync_whose_worker_died_is_taken_over_and_applied_exactly_once(
    district: District, services: WorkerServices, pool: asyncpg.Pool
) -> None:
    package = zip_package({"orgs": orgs(6), "academicSessions": (
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
        "t1,,,Fall,term,2024-08-01,2024-12-20,,2025\n")})  # fmt: skip
    sync_id = await queue_import(district, services, package)
    await set_running(district, sync_id, attempts=1, silent_for=services.config.lease_seconds + 60)

    assert await run_import_message(services, district.tenant.id, sync_id) == "SUCCEEDED"
    state = await sync_state(district, sync_id)
    assert (state["status"], state["attempts"]) == ("SUCCEEDED", 2)
    versions = await district.all_versions()
    assert await run_import_message(services, district.tenant.id, sync_id) == "SUCCEEDED"
    assert await district.all_versions() == versions, "a later delivery applies nothing more"

    uninterrupted = District(pool, await make_tenant(pool))
    clean = await queue_import(uninterrupted, services, package)
    assert await run_import_message(services, uninterrupted.tenant.id, clean) == "SUCCEEDED"
    assert await district.current() == await uninterrupted.current()
    assert {t: len(v) for t, v in versions.items()} == {
        t: len(v) for t, v in (await uninterrupted.all_versions()).items()
    }


async def test_a_sync_interrupted_too_often_fails_with_nothing_applied(
    district: District, services: WorkerServices
) -> None:
    sync_id = await queue_import(district, services, zip_package({"orgs": orgs(3)}))
    await set_running(district, sync_id, attempts=services.config.max_attempts, silent_for=3600)
    assert await run_import_message(services, district.tenant.id, sync_id) == "FAILED"
    state = await sync_state(district, sync_id)
    assert (state["status"], state["failure_code"], state["attempts"]) == ("FAILED", "import.interrupted", 3)
    assert not any((await district.all_versions()).values())
    assert not staged(services, district, state["upload_key"]), "a failed sync's package is not kept"


async def test_an_import_over_the_time_limit_fails_and_changes_nothing(
    district: District, pool: asyncpg.Pool, endpoints: Endpoints, uploads_dir: Path, redis: aioredis.Redis
) -> None:
    services = worker_services(pool, endpoints, uploads_dir, redis)
    first = await queue_import(district, services, zip_package({"orgs": orgs(5)}))
    assert await run_import_message(services, district.tenant.id, first) == "SUCCEEDED"
    before = await district.all_versions()

    hurried = worker_services(pool, endpoints, uploads_dir, redis, time_limit_seconds=0.3)
    sync_id = await queue_import(district, hurried, zip_package({"orgs": orgs(9, "Renamed")}))
    # The import is held up on the tenant's import lock past its limit, so the limit is what stops it (a cancellation
    # landing in a progress report's Redis publish is kept too: test_events.py).
    async with pool.acquire() as blocker, blocker.transaction():
        await lock_tenant_imports(blocker, district.tenant.id)
        assert await run_import_message(hurried, district.tenant.id, sync_id) == "FAILED"
    state = await sync_state(district, sync_id)
    assert (state["status"], state["failure_code"], state["applied_seq"]) == ("FAILED", "import.time_limit_exceeded",
                                                                             None)  # fmt: skip
    await asyncio.sleep(0.2)  # progress reports still on their way from the engine's threads change nothing either
    assert await district.all_versions() == before
    assert (await sync_state(district, sync_id))["status"] == "FAILED"


@pytest.mark.parametrize("key", ["missing", None])
async def test_a_sync_without_its_staged_package_fails(
    district: District, services: WorkerServices, key: str | None
) -> None:
    upload_key = f"{district.tenant.id}/{'0' * 32}.zip" if key else None
    row = await insert_sync(district.pool, district.tenant.id, await district.app_id(), upload_key=upload_key)
    assert await run_import_message(services, district.tenant.id, row.id) == "FAILED"
    state = await sync_state(district, row.id)
    assert (state["status"], state["failure_code"]) == ("FAILED", "import.package_missing")


async def test_an_export_message_fails_its_sync_as_unavailable(district: District, services: WorkerServices) -> None:
    row = await insert_sync(district.pool, district.tenant.id, await district.app_id("amplify"), kind="EXPORT")
    assert await run_export_message(services, district.tenant.id, row.id) == "FAILED"
    failed = await district.pool.fetchrow("SELECT status, failure_code, finished_at FROM syncs WHERE id = $1", row.id)
    assert failed is not None and (failed["status"], failed["failure_code"]) == ("FAILED", "export.unavailable")
    assert await run_export_message(services, district.tenant.id, row.id) == "FAILED"  # redelivered: unchanged
    again = await district.pool.fetchrow("SELECT status, failure_code, finished_at FROM syncs WHERE id = $1", row.id)
    assert again == failed
    assert await run_import_message(services, district.tenant.id, row.id) == "UNKNOWN"  # not an import


def test_declared_actors_retry_come_back_later_always_and_failures_a_few_times(tmp_path: Path) -> None:
    config = WorkerConfig("postgresql://unused", "redis://unused", "ns", tmp_path, max_retries=4, time_limit_seconds=10)
    broker = StubBroker()
    middleware = declare_actors(broker, config)
    assert middleware in broker.middleware
    assert set(broker.get_declared_actors()) == {IMPORT_ACTOR, EXPORT_ACTOR, EXHAUSTED_ACTOR}
    assert broker.get_actor(IMPORT_ACTOR).queue_name == IMPORTS_QUEUE
    assert broker.get_actor(EXPORT_ACTOR).queue_name == EXPORTS_QUEUE
    for name in (IMPORT_ACTOR, EXPORT_ACTOR):
        options = broker.get_actor(name).options
        retry_when = options["retry_when"]
        assert retry_when(10_000, ComeBackLater("not yet", delay=10)) is True
        assert retry_when(10_000, dramatiq.Retry("again")) is True
        assert retry_when(3, RuntimeError("database down")) is True
        assert retry_when(4, RuntimeError("database down")) is False
        assert options["on_retry_exhausted"] == EXHAUSTED_ACTOR
        assert options["time_limit"] == 70_000  # the job's own limit comes first
    with pytest.raises(RuntimeError):
        _ = middleware.services  # only once a worker booted


async def test_an_import_message_runs_through_the_actor_on_a_worker(
    district: District, services: WorkerServices, endpoints: Endpoints, uploads_dir: Path
) -> None:
    sync_id = await queue_import(district, services, zip_package({"orgs": orgs(3)}))
    config = WorkerConfig(endpoints.database_url, endpoints.redis_url, endpoints.redis_namespace, uploads_dir)
    broker = StubBroker()
    broker.add_middleware(AsyncIO())
    declare_actors(broker, config)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.get_actor(IMPORT_ACTOR).send(district.tenant.id, sync_id)
        await asyncio.to_thread(broker.join, IMPORTS_QUEUE, timeout=30_000)
        await asyncio.to_thread(worker.join)
    finally:
        await asyncio.to_thread(worker.stop)
    assert (await sync_state(district, sync_id))["status"] == "SUCCEEDED"
    assert len((await district.current())["orgs_versions"]) == 3


async def test_a_worker_keeps_the_enrollments_keys_where_its_config_says(
    district: District, services: WorkerServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "KeyCache", functools.partial(KeyCache, min_rows=0))  # (a test district is small)
    keeping = dataclasses.replace(services, config=dataclasses.replace(services.config, key_cache_dir=tmp_path))
    sync_id = await queue_import(district, keeping, base_pkg().zip())
    assert await run_import_message(keeping, district.tenant.id, sync_id) == "SUCCEEDED"
    token = await district.pool.fetchval("SELECT data_token FROM tenants WHERE id = $1", district.tenant.id)
    assert [p.name for p in tmp_path.glob("*.arrow")] == [f"{district.tenant.id}-enrollments-{token}.arrow"]
