"""importStart, exportStart, syncCancel, syncApprove and syncDiscard through the real ASGI app on PostgreSQL and Redis;
the queued messages are then handled as a worker would (run_import_message)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from strawberry.relay import from_base64, to_base64

from oneroster_sync.app import create_app
from oneroster_sync.settings import Endpoints, Settings
from tests.conftest import GraphQLClient, Tenant, data, error_codes, make_tenant
from tests.workers.services import orgs, queued_messages, redis_client, worker_services, zip_package
from workers.jobs import WorkerServices, run_import_message

IMPORT_START = """mutation($appId: ID!, $file: Upload!, $dryRun: Boolean) {
  importStart(appId: $appId, file: $file, dryRun: $dryRun) {
    sync { id status kind dryRun } userErrors { code message } } }"""
SYNC_FIELDS = """id status kind failure { code } hold { dataType currentCount deleteCount thresholdPercent }
  summaries { dataType total ... on ImportTypeSummary { noChange new updated deleted } }"""
PREFLIGHT = {"GraphQL-Require-Preflight": "1"}


@pytest.fixture(scope="module")
async def redis(endpoints: Endpoints) -> AsyncIterator[aioredis.Redis]:
    async with redis_client(endpoints) as client:
        yield client


@pytest.fixture
def worker(pool: asyncpg.Pool, endpoints: Endpoints, app_settings: Settings, redis: aioredis.Redis) -> WorkerServices:
    """A worker's services reading the packages the app under test stages."""
    return worker_services(pool, endpoints, app_settings.uploads_dir, redis)


async def app_ids(pool: asyncpg.Pool, tenant: Tenant) -> dict[str, str]:
    rows = await pool.fetch("SELECT id, name FROM apps WHERE tenant_id = $1", tenant.id)
    return {r["name"]: to_base64("App", r["id"]) for r in rows}


async def upload(
    api: httpx.AsyncClient, tenant: Tenant, app_id: str, package: bytes, *, role: str = "operator",
    headers: dict[str, str] | None = None, copies: int = 1, dry_run: bool = False,
) -> httpx.Response:  # fmt: skip
    """importStart over the GraphQL multipart request spec."""
    operations = {"query": IMPORT_START, "variables": {"appId": app_id, "file": None, "dryRun": dry_run}}
    files = {str(i): (f"package{i}.zip", package, "application/zip") for i in range(copies)}
    form = {"operations": json.dumps(operations), "map": json.dumps({i: ["variables.file"] for i in files})}
    return await api.post(
        "/graphql", data=form, files=files, headers={**tenant.headers(role), **(headers or PREFLIGHT)}
    )


async def start(api: httpx.AsyncClient, tenant: Tenant, app_id: str, package: bytes) -> int:
    """Upload a package that must be queued; the sync's local id."""
    payload = data((await upload(api, tenant, app_id, package)).json())["importStart"]
    assert payload["userErrors"] == [] and payload["sync"]["status"] == "QUEUED"
    return int(from_base64(payload["sync"]["id"])[1])


async def syncs_of(pool: asyncpg.Pool, tenant: Tenant) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT id, kind, status, upload_key FROM syncs WHERE tenant_id = $1 ORDER BY id", tenant.id
    )
    return [dict(r) for r in rows]


def staged_files(settings: Settings, tenant: Tenant) -> list[Path]:
    folder = settings.uploads_dir / str(tenant.id)
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def act(gql: GraphQLClient, tenant: Tenant, mutation: str, sync_id: int, role: str = "admin") -> dict[str, Any]:
    query = f"mutation($id: ID!) {{ {mutation}(syncId: $id) {{ sync {{ {SYNC_FIELDS} }} userErrors {{ code }} }} }}"
    return await gql(query, {"id": to_base64("Sync", sync_id)}, headers=tenant.headers(role))


async def read_sync(gql: GraphQLClient, tenant: Tenant, sync_id: int) -> dict[str, Any]:
    query = f"query($id: ID!) {{ node(id: $id) {{ ... on Sync {{ {SYNC_FIELDS} }} }} }}"
    node: dict[str, Any] = data(await gql(query, {"id": to_base64("Sync", sync_id)}, headers=tenant.headers()))["node"]
    return node


async def test_import_start_stages_the_package_and_queues_the_sync(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, app_settings: Settings,
    redis: aioredis.Redis, endpoints: Endpoints, worker: WorkerServices,
) -> None:  # fmt: skip
    package = zip_package({"orgs": orgs(3)})
    sync_id = await start(api, tenant, (await app_ids(pool, tenant))["csv-upload"], package)
    [row] = await syncs_of(pool, tenant)
    assert (row["id"], row["kind"], row["status"]) == (sync_id, "IMPORT", "QUEUED")
    assert (app_settings.uploads_dir / row["upload_key"]).read_bytes() == package
    assert [tenant.id, sync_id] in await queued_messages(redis, endpoints.redis_namespace, "imports")

    assert await run_import_message(worker, tenant.id, sync_id) == "SUCCEEDED"
    summaries = (await read_sync(gql, tenant, sync_id))["summaries"]
    assert [(s["dataType"], s["new"]) for s in summaries] == [("ORGS", 3)]
    assert staged_files(app_settings, tenant) == []


async def test_a_dry_run_is_queued_and_applies_nothing(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices
) -> None:
    app_id = (await app_ids(pool, tenant))["csv-upload"]
    response = await upload(api, tenant, app_id, zip_package({"orgs": orgs(4)}), dry_run=True)
    sync = data(response.json())["importStart"]["sync"]
    assert (sync["status"], sync["dryRun"]) == ("QUEUED", True)
    sync_id = int(from_base64(sync["id"])[1])
    assert await run_import_message(worker, tenant.id, sync_id) == "SUCCEEDED"
    assert [s["new"] for s in (await read_sync(gql, tenant, sync_id))["summaries"]] == [4]
    assert await pool.fetchval("SELECT count(*) FROM orgs_versions WHERE tenant_id = $1", tenant.id) == 0


@pytest.mark.parametrize("headers", [{"X-Other": "1"}, {"GraphQL-Require-Preflight": ""}])
async def test_an_upload_without_the_preflight_header_is_refused(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, app_settings: Settings, headers: dict[str, str]
) -> None:
    response = await upload(api, tenant, (await app_ids(pool, tenant))["csv-upload"], b"PK", headers=headers)
    assert response.status_code == 400
    assert "Preflight" in response.json()["errors"][0]["message"]
    assert await syncs_of(pool, tenant) == [] and staged_files(app_settings, tenant) == []


async def test_the_apollo_preflight_header_is_accepted(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    apps = await app_ids(pool, tenant)
    response = await upload(api, tenant, apps["csv-upload"], b"PK", headers={"Apollo-Require-Preflight": "true"})
    assert data(response.json())["importStart"]["sync"]["status"] == "QUEUED"


async def test_two_files_are_refused(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, app_settings: Settings
) -> None:
    response = await upload(api, tenant, (await app_ids(pool, tenant))["csv-upload"], b"PK", copies=2)
    assert response.status_code == 400
    assert await syncs_of(pool, tenant) == [] and staged_files(app_settings, tenant) == []


async def test_a_package_over_the_limit_is_refused(
    endpoints: Endpoints, pool: asyncpg.Pool, tenant: Tenant, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=endpoints.database_url, redis_url=endpoints.redis_url,
                        redis_namespace=endpoints.redis_namespace, max_upload_bytes=1000)  # fmt: skip
    app = create_app(endpoints, settings)
    apps = await app_ids(pool, tenant)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        fits = await upload(client, tenant, apps["csv-upload"], zip_package({"orgs": orgs(2)}))
        assert data(fits.json())["importStart"]["sync"]["status"] == "QUEUED"
        large = zip_package({"orgs": orgs(100)})
        assert 1000 < len(large) < 1024 * 1024
        payload = data((await upload(client, tenant, apps["csv-upload"], large)).json())["importStart"]
        assert payload["sync"] is None
        assert [e["code"] for e in payload["userErrors"]] == ["PACKAGE_TOO_LARGE"]
        huge = await upload(client, tenant, apps["csv-upload"], b"0" * (2 * 1024 * 1024))
        assert huge.status_code == 413  # past the body limit (the package limit plus the envelope)
    assert len(await syncs_of(pool, tenant)) == 1
    assert len(staged_files(settings, tenant)) == 1, "refused packages leave nothing staged"


async def test_a_viewer_cannot_start_imports_or_exports(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, app_settings: Settings
) -> None:
    apps = await app_ids(pool, tenant)
    response = await upload(api, tenant, apps["csv-upload"], zip_package({"orgs": orgs(1)}), role="viewer")
    assert error_codes(response.json()) == ["FORBIDDEN"]
    body = await gql("mutation($a: ID!) { exportStart(appId: $a) { sync { id } } }", {"a": apps["amplify"]},
                     headers=tenant.headers("viewer"))  # fmt: skip
    assert error_codes(body) == ["FORBIDDEN"]
    assert await syncs_of(pool, tenant) == [] and staged_files(app_settings, tenant) == []


async def test_import_start_finds_only_the_tenants_import_apps(
    api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, app_settings: Settings
) -> None:
    other = await make_tenant(pool)
    package = zip_package({"orgs": orgs(1)})
    for app_id in ((await app_ids(pool, tenant))["amplify"], (await app_ids(pool, other))["csv-upload"]):
        payload = data((await upload(api, tenant, app_id, package)).json())["importStart"]
        assert payload["sync"] is None and [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    assert await syncs_of(pool, tenant) == [] and await syncs_of(pool, other) == []
    assert staged_files(app_settings, tenant) == []


async def test_export_start_queues_an_export_sync(
    gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, redis: aioredis.Redis, endpoints: Endpoints
) -> None:
    apps = await app_ids(pool, tenant)
    query = "mutation($a: ID!) { exportStart(appId: $a) { sync { id status kind } userErrors { code } } }"
    payload = data(await gql(query, {"a": apps["amplify"]}, headers=tenant.headers("operator")))["exportStart"]
    assert payload["userErrors"] == [] and (payload["sync"]["status"], payload["sync"]["kind"]) == ("QUEUED", "EXPORT")
    [row] = await syncs_of(pool, tenant)
    assert [tenant.id, row["id"]] in await queued_messages(redis, endpoints.redis_namespace, "exports")
    refused = data(await gql(query, {"a": apps["csv-upload"]}, headers=tenant.headers("operator")))["exportStart"]
    assert [e["code"] for e in refused["userErrors"]] == ["NOT_FOUND"]


async def test_cancelling_a_queued_sync_ends_it_and_its_message_does_nothing(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices,
    app_settings: Settings,
) -> None:  # fmt: skip
    sync_id = await start(api, tenant, (await app_ids(pool, tenant))["csv-upload"], zip_package({"orgs": orgs(2)}))
    payload = data(await act(gql, tenant, "syncCancel", sync_id, role="operator"))["syncCancel"]
    assert payload["userErrors"] == [] and payload["sync"]["status"] == "CANCELLED"
    assert staged_files(app_settings, tenant) == [], "a cancelled sync's package is not kept"
    assert await run_import_message(worker, tenant.id, sync_id) == "CANCELLED"
    assert await pool.fetchval("SELECT attempts FROM syncs WHERE id = $1", sync_id) == 0
    assert await pool.fetchval("SELECT count(*) FROM orgs_versions WHERE tenant_id = $1", tenant.id) == 0
    again = data(await act(gql, tenant, "syncCancel", sync_id, role="operator"))["syncCancel"]
    assert [e["code"] for e in again["userErrors"]] == ["SYNC_FINISHED"]


async def test_cancelling_a_running_sync_stops_the_engine_before_it_applies(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices,
    app_settings: Settings,
) -> None:  # fmt: skip
    sync_id = await start(api, tenant, (await app_ids(pool, tenant))["csv-upload"], zip_package({"orgs": orgs(2)}))
    await pool.execute(  # its worker died while running it: the next delivery takes it over
        """UPDATE syncs SET status = 'RUNNING', attempts = 1, progress_at = clock_timestamp() - interval '1 hour'
           WHERE id = $1""", sync_id)  # fmt: skip
    payload = data(await act(gql, tenant, "syncCancel", sync_id, role="operator"))["syncCancel"]
    assert payload["userErrors"] == [] and payload["sync"]["status"] == "RUNNING"
    assert await pool.fetchval("SELECT cancel_requested_at IS NOT NULL FROM syncs WHERE id = $1", sync_id)

    assert await run_import_message(worker, tenant.id, sync_id) == "CANCELLED"
    assert (await read_sync(gql, tenant, sync_id))["status"] == "CANCELLED"
    assert await pool.fetchval("SELECT count(*) FROM orgs_versions WHERE tenant_id = $1", tenant.id) == 0
    assert staged_files(app_settings, tenant) == []


async def held(api: httpx.AsyncClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices) -> int:
    """40 orgs imported, then a package keeping 5 of them: a delete of 35 (87.5%) is held."""
    app_id = (await app_ids(pool, tenant))["csv-upload"]
    if not await pool.fetchval("SELECT count(*) FROM syncs WHERE tenant_id = $1 AND status = 'SUCCEEDED'", tenant.id):
        first = await start(api, tenant, app_id, zip_package({"orgs": orgs(40)}))
        assert await run_import_message(worker, tenant.id, first) == "SUCCEEDED"
    sync_id = await start(api, tenant, app_id, zip_package({"orgs": orgs(5)}))
    assert await run_import_message(worker, tenant.id, sync_id) == "HELD"
    return sync_id


async def test_only_admins_approve_or_discard_and_only_held_syncs(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices
) -> None:
    sync_id = await held(api, pool, tenant, worker)
    for mutation in ("syncApprove", "syncDiscard"):
        assert error_codes(await act(gql, tenant, mutation, sync_id, role="operator")) == ["FORBIDDEN"]
    assert (await read_sync(gql, tenant, sync_id))["status"] == "HELD"
    finished = await pool.fetchval("SELECT id FROM syncs WHERE tenant_id = $1 AND status = 'SUCCEEDED'", tenant.id)
    for mutation in ("syncApprove", "syncDiscard"):
        payload = data(await act(gql, tenant, mutation, finished))[mutation]
        assert payload["sync"] is None and [e["code"] for e in payload["userErrors"]] == ["SYNC_NOT_HELD"]
    cancel = data(await act(gql, tenant, "syncCancel", sync_id))["syncCancel"]
    assert [e["code"] for e in cancel["userErrors"]] == ["SYNC_HELD"]
    assert error_codes(await act(gql, tenant, "syncCancel", sync_id, role="viewer")) == ["FORBIDDEN"]
    other = await make_tenant(pool)  # another tenant's admin finds no such sync
    for mutation in ("syncApprove", "syncDiscard", "syncCancel"):
        payload = data(await act(gql, other, mutation, sync_id))[mutation]
        assert payload["sync"] is None and [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    assert (await read_sync(gql, tenant, sync_id))["status"] == "HELD"


async def test_an_approved_hold_is_queued_again_and_applied_as_computed(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices,
    redis: aioredis.Redis, endpoints: Endpoints, app_settings: Settings,
) -> None:  # fmt: skip
    sync_id = await held(api, pool, tenant, worker)
    on_hold = await read_sync(gql, tenant, sync_id)
    assert on_hold["hold"] == {"dataType": "ORGS", "currentCount": 40, "deleteCount": 35, "thresholdPercent": 10.0}
    assert await pool.fetchval("SELECT count(*) FROM orgs_versions WHERE tenant_id = $1", tenant.id) == 40

    payload = data(await act(gql, tenant, "syncApprove", sync_id))["syncApprove"]
    assert payload["userErrors"] == [] and payload["sync"]["status"] == "QUEUED"
    assert [tenant.id, sync_id] in await queued_messages(redis, endpoints.redis_namespace, "imports")
    assert await run_import_message(worker, tenant.id, sync_id) == "SUCCEEDED"
    done = await read_sync(gql, tenant, sync_id)
    assert done["status"] == "SUCCEEDED" and done["summaries"] == on_hold["summaries"]
    assert [(s["new"], s["noChange"], s["deleted"]) for s in done["summaries"]] == [(0, 5, 35)]
    live = "SELECT count(*) FROM orgs_versions WHERE tenant_id = $1 AND valid_to IS NULL AND kind <> 4"
    assert await pool.fetchval(live, tenant.id) == 5
    assert staged_files(app_settings, tenant) == []


async def test_a_discarded_hold_applies_nothing_and_drops_its_package(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices,
    app_settings: Settings,
) -> None:  # fmt: skip
    sync_id = await held(api, pool, tenant, worker)
    assert len(staged_files(app_settings, tenant)) == 1, "a hold keeps its package for an approval"
    payload = data(await act(gql, tenant, "syncDiscard", sync_id))["syncDiscard"]
    assert payload["userErrors"] == [] and payload["sync"]["status"] == "DISCARDED"
    assert payload["sync"]["summaries"][0]["deleted"] == 35, "its summary stays readable"
    assert staged_files(app_settings, tenant) == []
    assert await pool.fetchval("SELECT count(*) FROM orgs_versions WHERE tenant_id = $1", tenant.id) == 40
    again = data(await act(gql, tenant, "syncApprove", sync_id))["syncApprove"]
    assert [e["code"] for e in again["userErrors"]] == ["SYNC_NOT_HELD"]


async def test_a_hold_overtaken_by_another_import_is_stale(
    api: httpx.AsyncClient, gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant, worker: WorkerServices
) -> None:
    sync_id = await held(api, pool, tenant, worker)
    later = await start(api, tenant, (await app_ids(pool, tenant))["csv-upload"], zip_package({"orgs": orgs(41)}))
    assert await run_import_message(worker, tenant.id, later) == "SUCCEEDED"
    payload = data(await act(gql, tenant, "syncApprove", sync_id))["syncApprove"]
    assert payload["sync"] is None and [e["code"] for e in payload["userErrors"]] == ["HOLD_STALE"]
    assert (await read_sync(gql, tenant, sync_id))["status"] == "HELD"
    discarded = data(await act(gql, tenant, "syncDiscard", sync_id))["syncDiscard"]
    assert discarded["sync"]["status"] == "DISCARDED"
