"""The ASGI application: GraphQL on /graphql, a health probe, the pool opened and migrations applied at start."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route, WebSocketRoute

from db.migrate import migrate
from db.pool import create_pool
from oneroster_sync.graphql_view import GraphQLView
from oneroster_sync.settings import Endpoints
from schema.schema import schema


class _PoolHolder:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None

    def __call__(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the database pool is not open (the app's lifespan has not started)")
        return self.pool


def create_app(endpoints: Endpoints, *, max_body_size: int = 512 * 1024 * 1024) -> Starlette:
    holder = _PoolHolder()
    view = GraphQLView(schema, holder)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await create_pool(endpoints.database_url)
        async with pool.acquire() as conn:
            await migrate(conn)
        holder.pool = pool
        try:
            yield
        finally:
            holder.pool = None
            await pool.close()

    async def health(request: Request) -> JSONResponse:
        await holder().fetchval("SELECT 1")
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
        max_body_size=max_body_size,
    )
