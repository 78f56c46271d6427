"""Shared fixtures: real PostgreSQL and Redis, from DATABASE_URL / REDIS_URL or embedded when those are unset.

Each test session works in a database of its own (created and dropped here) and a Redis namespace of its own, so
the suite can run against a shared server without touching anything else on it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from db.migrate import migrate
from db.pool import create_pool
from db.tenants import create_tenant, create_token
from oneroster_sync.app import create_app
from oneroster_sync.embedded import ensure_database, with_database
from oneroster_sync.services import resolve_endpoints
from oneroster_sync.settings import Endpoints, Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
async def server_endpoints(tmp_path_factory: pytest.TempPathFactory) -> Endpoints:
    """The servers under test: the configured ones, or embedded ones under a temporary data directory."""
    data_dir = Path(os.environ.get("ONEROSTER_SYNC_TEST_DATA_DIR") or tmp_path_factory.mktemp("data"))
    settings = Settings.from_env()
    settings = Settings(data_dir=data_dir, database_url=settings.database_url, redis_url=settings.redis_url)
    return await resolve_endpoints(settings)


async def fresh_database(server_url: str) -> str:
    return await ensure_database(server_url, f"ors_test_{uuid.uuid4().hex[:12]}")


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def endpoints(server_endpoints: Endpoints) -> AsyncIterator[Endpoints]:
    """A fresh, migrated database and a Redis namespace for this test session."""
    database_url = await fresh_database(server_endpoints.database_url)
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield Endpoints(database_url, server_endpoints.redis_url, f"ors-test-{uuid.uuid4().hex[:8]}")
    await drop_database(database_url)


@pytest.fixture(scope="session")
async def pool(endpoints: Endpoints) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(endpoints.database_url)
    yield pool
    await pool.close()


class Tenant:
    """A tenant created for one test, with a token per role."""

    def __init__(self, tenant_id: int, name: str, tokens: dict[str, str]) -> None:
        self.id = tenant_id
        self.name = name
        self.tokens = tokens

    def headers(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


async def make_tenant(pool: asyncpg.Pool) -> Tenant:
    name = f"district-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        tenant_id = await create_tenant(conn, name)
        tokens = {role: await create_token(conn, tenant_id, role) for role in ("admin", "operator", "viewer")}
    return Tenant(tenant_id, name, tokens)


@pytest.fixture
async def tenant(pool: asyncpg.Pool) -> Tenant:
    return await make_tenant(pool)


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory, endpoints: Endpoints) -> Settings:
    """Settings of the app under test: the session's servers and a data directory of its own."""
    return Settings(data_dir=tmp_path_factory.mktemp("app-data"), database_url=endpoints.database_url,
                    redis_url=endpoints.redis_url, redis_namespace=endpoints.redis_namespace)  # fmt: skip


@pytest.fixture(scope="session")
async def api(endpoints: Endpoints, app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real ASGI app (lifespan run: pool opened, migrations applied)."""
    app = create_app(endpoints, app_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


class GraphQLClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def gql(api: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(api)


def data(body: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a response that must have no errors."""
    assert not body.get("errors"), body.get("errors")
    result: dict[str, Any] = body["data"]
    return result


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code", "") for e in body.get("errors", [])]


@pytest.fixture
def shared_samples() -> Iterator[Path]:
    samples = SHARED / "data" / "oneroster-samples"
    if not samples.is_dir():
        pytest.skip("../shared/data/oneroster-samples is not present")
    yield samples


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
