"""A running stack per module: its own database, Redis server and data directory."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from oneroster_sync.settings import Endpoints
from tests.conftest import drop_database, fresh_database
from tests.e2e.stack import Client, RedisServer, Stack


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def stack_database(server_endpoints: Endpoints) -> AsyncIterator[str]:
    url = await fresh_database(server_endpoints.database_url)
    yield url
    await drop_database(url)


@pytest.fixture(scope="module")
def stack(stack_database: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(stack_database, redis_server.url, tmp_path_factory.mktemp("stack"))
    running.start_api()
    yield running
    running.stop()


class District(NamedTuple):
    id: int
    name: str
    client: Client


def new_tenant(stack: Stack) -> District:
    """A tenant created through the CLI, as an operator would, with its admin client."""
    created = json.loads(stack.cli("tenants", "create", f"district-{uuid.uuid4().hex[:8]}"))
    return District(int(created["tenantId"]), created["tenant"], Client(stack.url, created["token"]))


@pytest.fixture(scope="session")
def district_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated district (OneRoster 1.1 bulk zip) big enough to take a few seconds to import."""
    from bench.generate_district import generate_district

    out = tmp_path_factory.mktemp("district") / "day1"
    generate_district(out, users=6_000, classes=300, enrollments=60_000, make_zip=True)
    return out.with_suffix(".zip")
