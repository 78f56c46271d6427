"""syncProgress and syncUpdates over a real WebSocket (uvicorn, graphql-transport-ws) on PostgreSQL and Redis pub/sub:
snapshot first, then events, tenant isolation, and one Redis subscription per process whatever the subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
import redis.asyncio as aioredis
import uvicorn
from dramatiq.brokers.redis import RedisBroker
from starlette.routing import WebSocketRoute
from strawberry.relay import to_base64
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from db.imports import request_cancel
from db.syncs import insert_sync, sync_row
from oneroster_sync.app import create_app
from oneroster_sync.graphql_view import GraphQLView
from oneroster_sync.settings import Endpoints, Settings
from resolvers import shared_reads
from tests.conftest import Tenant, make_tenant
from tests.workers.services import eventually, orgs, worker_services, zip_package
from workers.events import EventHub, EventPublisher, SyncEvent, channel
from workers.jobs import run_import_message
from workers.progress import publish_status
from workers.queue import SyncQueue
from workers.submit import SyncSubmitter

PROTOCOL = "graphql-transport-ws"
PROGRESS = """subscription($id: ID!) { syncProgress(syncId: $id) {
  status phase processed total percent done sync { id status } } }"""
UPDATES = "subscription($apps: [ID!]) { syncUpdates(appIds: $apps) { id status kind } }"


@dataclass
class Server:
    url: str
    namespace: str
    endpoints: Endpoints
    hub: EventHub
    publisher: EventPublisher
    redis: aioredis.Redis
    uploads: Path


@pytest.fixture(scope="module")
async def server(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    """The app under uvicorn on a namespace of its own, so its hub is the only subscriber of its channel."""
    namespace = f"{endpoints.redis_namespace}-ws-{uuid.uuid4().hex[:6]}"
    own = replace(endpoints, redis_namespace=namespace)
    data_dir = tmp_path_factory.mktemp("ws-app")
    settings = Settings(data_dir=data_dir, database_url=own.database_url, redis_url=own.redis_url,
                        redis_namespace=namespace)  # fmt: skip
    app = create_app(own, settings)
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(uvicorn_server.serve())

    async def started() -> bool:
        assert not task.done(), task
        return uvicorn_server.started

    await eventually(started, timeout=30)
    port = uvicorn_server.servers[0].sockets[0].getsockname()[1]
    view = cast(GraphQLView, next(r.endpoint for r in app.routes if isinstance(r, WebSocketRoute)))
    assert view._runtime.services is not None
    hub = view._runtime.services.hub  # the process's hub, to count its subscribers
    client = aioredis.Redis.from_url(own.redis_url)
    yield Server(f"ws://127.0.0.1:{port}/graphql", namespace, own, hub, EventPublisher(client, namespace), client,
                 settings.uploads_dir)  # fmt: skip
    uvicorn_server.should_exit = True
    await task
    keys = [key async for key in client.scan_iter(f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@contextlib.asynccontextmanager
async def session(server: Server, token: str) -> AsyncIterator[ClientConnection]:
    async with connect(server.url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert (await receive(ws))["type"] == "connection_ack"
        yield ws


async def subscribe(ws: ClientConnection, op_id: str, query: str, variables: dict[str, Any]) -> None:
    await ws.send(json.dumps({"type": "subscribe", "id": op_id, "payload": {"query": query, "variables": variables}}))


async def receive(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        return message


async def subscribed(
    stack: contextlib.AsyncExitStack,
    server: Server,
    tenant: Tenant,
    connections: int,
    per_connection: int,
    query: str,
    variables: dict[str, Any],
) -> list[ClientConnection]:
    """`connections` sessions of the tenant's viewer, each with `per_connection` subscriptions (ids "0", "1", ...)."""
    sockets = [await stack.enter_async_context(session(server, tenant.tokens["viewer"])) for _ in range(connections)]
    for ws in sockets:
        for i in range(per_connection):
            await subscribe(ws, str(i), query, variables)
    return sockets


async def nothing_more(ws: ClientConnection, within: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await receive(ws, within)


async def subscribers(server: Server, count: int) -> None:
    async def reached() -> bool:
        return server.hub.subscriber_count == count

    await eventually(reached)


async def app_id(pool: asyncpg.Pool, tenant: Tenant, name: str) -> int:
    found: int = await pool.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND name = $2", tenant.id, name)
    return found


def event(sync: Any, status: str, phase: str, processed: int, total: int | None, **kwargs: Any) -> SyncEvent:
    return SyncEvent(sync.tenant_id, sync.id, sync.app_id, status, phase, processed, total, None, **kwargs)


async def test_sync_progress_sends_the_snapshot_then_the_sync_events_and_completes(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    sync = await insert_sync(pool, tenant.id, await app_id(pool, tenant, "csv-upload"))
    neighbour = await insert_sync(pool, tenant.id, await app_id(pool, tenant, "sftp"))
    other = await make_tenant(pool)
    async with session(server, tenant.tokens["viewer"]) as ws:
        await subscribe(ws, "p", PROGRESS, {"id": to_base64("Sync", sync.id)})
        first = await receive(ws)
        assert first["id"] == "p" and first["type"] == "next"
        progress = first["payload"]["data"]["syncProgress"]
        assert progress == {"status": "QUEUED", "phase": "queued", "processed": 0, "total": None, "percent": 0.0,
                            "done": False, "sync": {"id": to_base64("Sync", sync.id), "status": "QUEUED"}}  # fmt: skip

        await server.publisher.publish(event(neighbour, "RUNNING", "parsing", 1, 2))  # another sync
        await server.publisher.publish(replace(event(sync, "RUNNING", "leak", 1, 2), tenant_id=other.id))
        await server.publisher.publish(event(sync, "RUNNING", "parsing", 30, 120))
        running = (await receive(ws))["payload"]["data"]["syncProgress"]
        assert (running["status"], running["phase"], running["processed"], running["total"]) == ("RUNNING", "parsing",
                                                                                                 30, 120)  # fmt: skip
        assert running["done"] is False

        await pool.execute("UPDATE syncs SET status = 'SUCCEEDED' WHERE id = $1", sync.id)
        await server.publisher.publish(event(sync, "SUCCEEDED", "succeeded", 120, 120, status_changed=True))
        last = await receive(ws)
        assert last["payload"]["data"]["syncProgress"]["done"] is True
        assert last["payload"]["data"]["syncProgress"]["sync"]["status"] == "SUCCEEDED"
        assert await receive(ws) == {"type": "complete", "id": "p"}
    await subscribers(server, 0)


async def test_sync_progress_follows_a_real_import_to_its_end(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    services = worker_services(pool, server.endpoints, server.uploads, server.redis, progress_interval_seconds=0)
    key = services.uploads.stage_stream(tenant.id, io.BytesIO(zip_package({"orgs": orgs(50)})), 1 << 20)
    sync = await insert_sync(pool, tenant.id, await app_id(pool, tenant, "csv-upload"), upload_key=key)
    async with session(server, tenant.tokens["viewer"]) as ws:
        await subscribe(ws, "p", PROGRESS, {"id": to_base64("Sync", sync.id)})
        assert (await receive(ws))["payload"]["data"]["syncProgress"]["status"] == "QUEUED"
        assert await run_import_message(services, tenant.id, sync.id) == "SUCCEEDED"
        seen: list[dict[str, Any]] = []
        while (message := await receive(ws))["type"] == "next":
            seen.append(message["payload"]["data"]["syncProgress"])
        assert message == {"type": "complete", "id": "p"}
    assert {p["phase"] for p in seen} >= {"receiving", "parsing", "applying"}
    percents = [p["percent"] for p in seen]
    assert percents == sorted(percents), "progress never goes backwards"
    assert seen[-1]["status"] == "SUCCEEDED" and seen[-1]["done"] and seen[-1]["percent"] == 100.0
    assert all(p["status"] == "RUNNING" and not p["done"] for p in seen[:-1])


async def test_another_tenants_sync_is_not_found_and_its_events_never_sent(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    sync = await insert_sync(pool, tenant.id, await app_id(pool, tenant, "csv-upload"))
    intruder = await make_tenant(pool)
    async with session(server, intruder.tokens["admin"]) as ws:
        await subscribe(ws, "x", PROGRESS, {"id": to_base64("Sync", sync.id)})
        refused = await receive(ws)
        assert refused["type"] == "next" and refused["payload"]["data"] is None
        assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["NOT_FOUND"]
        assert await receive(ws) == {"type": "complete", "id": "x"}
        await server.publisher.publish(event(sync, "RUNNING", "parsing", 1, 2))
        await nothing_more(ws)
    await subscribers(server, 0)


async def test_sync_updates_sends_the_tenants_new_and_changed_syncs(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    broker = RedisBroker(url=server.endpoints.redis_url, namespace=server.namespace)  # type: ignore[no-untyped-call]
    submitter = SyncSubmitter(pool, SyncQueue(broker), server.publisher)
    other = await make_tenant(pool)
    csv_upload, amplify = await app_id(pool, tenant, "csv-upload"), await app_id(pool, tenant, "amplify")
    async with session(server, tenant.tokens["viewer"]) as ws:
        await subscribe(ws, "all", UPDATES, {})
        await subscribe(ws, "csv", UPDATES, {"apps": [to_base64("App", csv_upload)]})
        await subscribers(server, 2)

        await submitter.start_export(other.id, await app_id(pool, other, "amplify"))  # another tenant's
        export = await submitter.start_export(tenant.id, amplify)
        upload = await submitter.start_import(tenant.id, csv_upload, f"{tenant.id}/{'0' * 32}.zip")
        export_id, upload_id = to_base64("Sync", export.id), to_base64("Sync", upload.id)
        assert await updates(ws, all=2, csv=1) == {
            "all": [(export_id, "EXPORT", "QUEUED"), (upload_id, "IMPORT", "QUEUED")],
            "csv": [(upload_id, "IMPORT", "QUEUED")],
        }

        await server.publisher.publish(event(upload, "RUNNING", "parsing", 1, 9))  # progress only: not an update
        async with pool.acquire() as conn:
            assert await request_cancel(conn, tenant.id, upload.id) is None
        await publish_status(pool, server.publisher, tenant.id, upload.id)
        cancelled = [(upload_id, "IMPORT", "CANCELLED")]
        assert await updates(ws, all=1, csv=1) == {"all": cancelled, "csv": cancelled}

        # An event arriving after the sync moved on (a slow subscriber) does not repeat its current state.
        await server.publisher.publish(event(upload, "QUEUED", "queued", 0, None, status_changed=True))
        await nothing_more(ws)
    await subscribers(server, 0)
    broker.close()


async def updates(ws: ClientConnection, **counts: int) -> dict[str, list[tuple[str, str, str]]]:
    """The next syncUpdates of each operation id, `counts[id]` of them."""
    received: dict[str, list[tuple[str, str, str]]] = {op_id: [] for op_id in counts}
    while any(len(received[op_id]) < count for op_id, count in counts.items()):
        message = await receive(ws)
        update = message["payload"]["data"]["syncUpdates"]
        received[message["id"]].append((update["id"], update["kind"], update["status"]))
    return received


async def test_a_connection_without_a_valid_token_is_closed_with_4403(server: Server) -> None:
    for payload in ({"authorization": "Bearer ors_1_nope"}, {}):
        async with connect(server.url, subprotocols=[PROTOCOL]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_many_subscribers_share_one_redis_subscription(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    sync = await insert_sync(pool, tenant.id, await app_id(pool, tenant, "csv-upload"))
    connections, per_connection = 5, 10
    async with contextlib.AsyncExitStack() as stack:
        sockets = await subscribed(stack, server, tenant, connections, per_connection, PROGRESS,
                                   {"id": to_base64("Sync", sync.id)})  # fmt: skip
        for ws in sockets:
            firsts = [await receive(ws) for _ in range(per_connection)]
            assert {m["id"] for m in firsts} == {str(i) for i in range(per_connection)}
        assert server.hub.subscriber_count == connections * per_connection
        name = channel(server.namespace)
        assert dict(await server.redis.pubsub_numsub(name)) == {name.encode(): 1}

        await server.publisher.publish(event(sync, "RUNNING", "parsing", 5, 10))
        for ws in sockets:
            updates = [await receive(ws) for _ in range(per_connection)]
            assert {m["payload"]["data"]["syncProgress"]["processed"] for m in updates} == {5}
    await subscribers(server, 0)
    name = channel(server.namespace)
    assert dict(await server.redis.pubsub_numsub(name)) == {name.encode(): 1}, "kept for the next subscribers"


async def test_a_status_change_is_read_once_for_all_its_subscribers(
    server: Server, pool: asyncpg.Pool, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = await insert_sync(pool, tenant.id, await app_id(pool, tenant, "csv-upload"))
    reads: list[int] = []
    original = sync_row  # the read shared_reads makes, wrapped to count its calls

    async def counting(conn: Any, tenant_id: int, sync_id: int) -> Any:
        reads.append(sync_id)
        return await original(conn, tenant_id, sync_id)

    monkeypatch.setattr(shared_reads, "sync_row", counting)
    connections, per_connection = 4, 5
    async with contextlib.AsyncExitStack() as stack:
        sockets = await subscribed(stack, server, tenant, connections, per_connection, UPDATES, {})
        await subscribers(server, connections * per_connection)
        await server.publisher.publish(event(sync, "QUEUED", "queued", 0, None, status_changed=True))
        for ws in sockets:
            received = [await receive(ws) for _ in range(per_connection)]
            assert {m["payload"]["data"]["syncUpdates"]["id"] for m in received} == {to_base64("Sync", sync.id)}
    assert reads == [sync.id], "one read for the 20 subscribers"
    await subscribers(server, 0)
