"""The ASGI application: GraphQL on /graphql, a health probe; the pool, the queue, the event hub (and the SFTP drop
server, when configured) opened at start, and migrations applied."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Iterator

import asyncpg
import asyncssh
import redis.asyncio as aioredis
from dramatiq.broker import Broker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route, WebSocketRoute

from db.migrate import migrate
from db.pool import create_pool
from oneroster_sync.graphql_view import GraphQLView, Runtime
from oneroster_sync.settings import Endpoints, Settings
from resolvers.context import ApiServices
from schema.schema import schema
from workers.broker import create_broker
from workers.events import EventHub, EventPublisher
from workers.queue import SyncQueue
from workers.submit import SyncSubmitter
from workers.uploads import UploadStore


async def _open_services(
    endpoints: Endpoints, settings: Settings, pool: asyncpg.Pool, broker: Broker | None
) -> ApiServices:
    broker = broker or create_broker(endpoints.redis_url, endpoints.redis_namespace)
    publisher = EventPublisher(aioredis.Redis.from_url(endpoints.redis_url), endpoints.redis_namespace)
    hub = EventHub(endpoints.redis_url, endpoints.redis_namespace)
    uploads = UploadStore(settings.uploads_dir)
    return ApiServices(SyncSubmitter(pool, SyncQueue(broker), publisher), uploads, hub, settings.max_upload_bytes)


@contextlib.contextmanager
def _long_lived_frozen() -> Iterator[None]:
    """What is alive once the app has started (modules, the schema, the pool: ~110,000 objects) is kept out of the
    garbage collector's full passes, which otherwise walk all of it again every few requests: about 1 ms of each
    drill-down page. And the youngest generation is collected every 10,000 new objects instead of 700, so that a
    page's objects, alive until it is answered, are not walked three times while it is built."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def create_app(endpoints: Endpoints, settings: Settings | None = None, *, broker: Broker | None = None) -> Starlette:
    """`broker`: the process's broker when it also runs workers (`serve --workers N`); the API only sends on it."""
    settings = settings or Settings.from_env()
    runtime = Runtime()
    view = GraphQLView(schema, runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await create_pool(endpoints.database_url)
        async with pool.acquire() as conn:
            await migrate(conn)
        services = await _open_services(endpoints, settings, pool, broker)
        await services.hub.start()
        sftp = await _start_sftp(settings, pool, services)
        runtime.pool, runtime.services = pool, services
        try:
            with _long_lived_frozen():
                yield
        finally:
            runtime.pool = runtime.services = None
            if sftp is not None:
                sftp.close()
                await sftp.wait_closed()
            await services.hub.stop()
            await services.submitter.publisher.close()
            await pool.close()

    async def health(request: Request) -> JSONResponse:
        await runtime.require_pool().fetchval("SELECT 1")
        return JSONResponse({"status": "ok"})

    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse("/graphql")

    return Starlette(
        routes=[
            Route("/", root),
            Route("/health", health),
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
        ],
        lifespan=lifespan,
        max_body_size=settings.max_upload_bytes + 1024 * 1024,  # the package plus the multipart envelope
    )


async def _start_sftp(settings: Settings, pool: asyncpg.Pool, services: ApiServices) -> asyncssh.SSHAcceptor | None:
    """The SFTP drop server, when a port is configured."""
    if settings.sftp_port is None:
        return None
    from oneroster_sync.sftp import start_sftp_server

    return await start_sftp_server(
        pool=pool, uploads=services.uploads, submitter=services.submitter, root=settings.sftp_root,
        host=settings.sftp_host, port=settings.sftp_port, host_key_path=settings.data_dir / "sftp_host_ed25519_key",
        max_bytes=settings.max_upload_bytes,
    )  # fmt: skip
