"""Helpers of the queue tests: tiny OneRoster packages as zips, and a worker's services built in the test."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

from oneroster_sync.settings import Endpoints
from workers.config import WorkerConfig
from workers.events import EventPublisher
from workers.jobs import WorkerServices
from workers.queue import SyncQueue
from workers.uploads import UploadStore

ORGS_HEADER = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"


def orgs(count: int, name: str = "Org") -> str:
    return ORGS_HEADER + "".join(f"o{i},,,{name} {i},school,,\n" for i in range(count))


def zip_package(files: dict[str, str]) -> bytes:
    """A zipped bulk package: `files` maps a file stem to its CSV text."""
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    manifest += [f"file.{stem},bulk" for stem in files]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.csv", "\n".join(manifest) + "\n")
        for stem, text in files.items():
            archive.writestr(f"{stem}.csv", text)
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def redis_client(endpoints: Endpoints) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(endpoints.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def worker_services(
    pool: asyncpg.Pool, endpoints: Endpoints, uploads_dir: Path, redis: aioredis.Redis, **config: Any
) -> WorkerServices:
    """What a worker process would open, on the test's loop: the pool, a publisher on the session's channel, the
    uploads store and a queue on a Redis broker of the session's namespace (nothing consumes it in the tests)."""
    worker_config = WorkerConfig(endpoints.database_url, endpoints.redis_url, endpoints.redis_namespace, uploads_dir,
                                 **config)  # fmt: skip
    broker = RedisBroker(url=endpoints.redis_url, namespace=endpoints.redis_namespace)  # type: ignore[no-untyped-call]
    return WorkerServices(worker_config, pool, EventPublisher(redis, endpoints.redis_namespace),
                          UploadStore(uploads_dir), SyncQueue(broker))  # fmt: skip


async def queued_messages(redis: aioredis.Redis, namespace: str, queue: str = "imports") -> list[list[int]]:
    """The (tenant id, sync id) arguments of the messages waiting in a queue, oldest first."""
    ids = await redis.lrange(f"{namespace}:{queue}", 0, -1)
    bodies = await redis.hmget(f"{namespace}:{queue}.msgs", ids) if ids else []
    return [json.loads(body)["args"] for body in bodies if body is not None]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, every: float = 0.02) -> None:
    """Poll `check` until it holds, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(every)
