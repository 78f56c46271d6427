"""Embedded servers: real PostgreSQL and Redis under the data directory, shared by every process using it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import redis

from oneroster_sync.embedded import EmbeddedPostgres, EmbeddedRedis, ensure_database


def test_embedded_redis_is_shared_and_stopped_by_the_last_process(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path / "redis")
    url = first.acquire()
    client = redis.Redis.from_url(url)
    client.set("key", "value")

    # another process of the same data directory finds the running server instead of starting one
    script = (
        "import sys; from pathlib import Path; from oneroster_sync.embedded import EmbeddedRedis; "
        f"print(EmbeddedRedis(Path({str(tmp_path / 'redis')!r})).acquire())"
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == url
    assert client.get("key") == b"value", "the other process's exit must not stop a server still in use"

    pid = int((tmp_path / "redis" / "redis.pid").read_text())
    first.release()
    client.close()
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        import time

        time.sleep(0.05)
    else:
        raise AssertionError("the last release must stop the embedded Redis")


async def test_embedded_postgres_serves_a_real_database(tmp_path: Path) -> None:
    admin_url = EmbeddedPostgres(tmp_path / "postgres").acquire()
    url = await ensure_database(admin_url, "oneroster")
    assert url == await ensure_database(admin_url, "oneroster"), "creating the database is idempotent"
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_database()") == "oneroster"
        assert await conn.fetchval("SHOW server_version_num") >= "150000"
    finally:
        await conn.close()
