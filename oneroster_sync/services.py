"""Resolve the servers a process talks to: the configured URLs, or the embedded servers for those left unset."""

from __future__ import annotations

import asyncio

from oneroster_sync.embedded import EmbeddedPostgres, EmbeddedRedis, ensure_database
from oneroster_sync.settings import Endpoints, Settings
from workers.config import WorkerConfig

EMBEDDED_DATABASE = "oneroster"


async def resolve_endpoints(settings: Settings) -> Endpoints:
    """Same code path either way: the rest of the service only ever sees two URLs."""
    database_url = settings.database_url
    if database_url is None:
        admin_url = await asyncio.to_thread(EmbeddedPostgres(settings.data_dir / "postgres").acquire)
        database_url = await ensure_database(admin_url, EMBEDDED_DATABASE)
    redis_url = settings.redis_url
    if redis_url is None:
        redis_url = await asyncio.to_thread(EmbeddedRedis(settings.data_dir / "redis").acquire)
    return Endpoints(database_url=database_url, redis_url=redis_url, redis_namespace=settings.redis_namespace)


def worker_config(settings: Settings, endpoints: Endpoints) -> WorkerConfig:
    return WorkerConfig(
        database_url=endpoints.database_url, redis_url=endpoints.redis_url, namespace=endpoints.redis_namespace,
        uploads_dir=settings.uploads_dir, key_cache_dir=settings.key_cache_dir,
        time_limit_seconds=settings.import_time_limit_seconds, lease_seconds=settings.lease_seconds,
        heartbeat_timeout_ms=settings.broker_heartbeat_ms,
        maintenance_chance=settings.broker_maintenance_chance,
    )  # fmt: skip
