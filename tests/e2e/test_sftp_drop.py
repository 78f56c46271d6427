"""The SFTP import app end to end: a district's SIS drops a package over SFTP and a worker imports it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from oneroster_sync.embedded import free_port
from tests.e2e.conftest import new_tenant
from tests.e2e.stack import RedisServer, Stack

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sftp_stack(stack_database: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Stack]:  # fmt: skip
    running = Stack(stack_database, redis_server.url, tmp_path_factory.mktemp("sftp-stack"),
                    ONEROSTER_SYNC_SFTP_PORT=str(free_port()))  # fmt: skip
    running.start_api()
    running.start_worker()
    yield running
    running.stop()


async def test_a_package_dropped_over_sftp_is_imported(sftp_stack: Stack, district_zip: Path) -> None:
    district = new_tenant(sftp_stack)
    client = district.client
    username, password = f"sis-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    sftp_stack.cli("sftp", "set", district.name, "--username", username, "--password-stdin",
                   stdin=password + "\n")  # fmt: skip
    port = int(sftp_stack.env["ONEROSTER_SYNC_SFTP_PORT"])
    ssh = await asyncssh.connect("127.0.0.1", port, username=username, password=password, known_hosts=None)
    async with ssh, ssh.start_sftp_client() as sftp:
        await sftp.put(str(district_zip), "roster.zip.part")
        await sftp.rename("roster.zip.part", "roster.zip")  # what SIS clients do: upload, then rename

    app_id = await client.app_id("sftp")
    query = "query($app: [ID!]) { syncs(appIds: $app, first: 5) { edges { node { id status } } } }"
    for _ in range(300):
        edges = (await client.query(query, app=[app_id]))["syncs"]["edges"]
        if edges:
            break
        await asyncio.sleep(0.1)
    assert len(edges) == 1, "one drop, one import"
    sync = await client.wait_for(edges[0]["node"]["id"])
    assert sync["status"] == "SUCCEEDED" and sync["recordCount"] > 60_000
