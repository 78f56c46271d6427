"""The Dramatiq actors and the middleware that gives them their per-process services.

Actors are declared on a broker at start rather than at import time, so each process builds them from its settings;
they are thin: every decision is in `workers.jobs`.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis.asyncio as aioredis
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import Broker

from db.pool import create_pool
from workers.config import WorkerConfig
from workers.events import EventPublisher
from workers.jobs import WorkerServices, fail_exhausted, run_export_message, run_import_message
from workers.queue import EXPORT_ACTOR, EXPORTS_QUEUE, IMPORT_ACTOR, IMPORTS_QUEUE, SyncQueue
from workers.uploads import UploadStore

EXHAUSTED_ACTOR = "sync_retries_exhausted"


async def open_services(config: WorkerConfig, broker: Broker) -> WorkerServices:
    pool = await create_pool(config.database_url, min_size=1, max_size=8)
    client = aioredis.Redis.from_url(config.redis_url)
    return WorkerServices(config, pool, EventPublisher(client, config.namespace), UploadStore(config.uploads_dir),
                          SyncQueue(broker))  # fmt: skip


async def close_services(services: WorkerServices) -> None:
    await services.pool.close()
    await services.publisher.close()


class WorkerServicesMiddleware(dramatiq.Middleware):
    """Opens the database pool and Redis client on the worker's event loop at boot and closes them at shutdown."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._services: WorkerServices | None = None

    @property
    def services(self) -> WorkerServices:
        if self._services is None:
            raise RuntimeError("worker services are not open (the worker has not booted)")
        return self._services

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        loop = get_event_loop_thread()
        assert loop is not None, "the AsyncIO middleware must come first"
        self._services = loop.run_coroutine(open_services(self.config, broker))

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        loop = get_event_loop_thread()
        if self._services is not None and loop is not None:
            loop.run_coroutine(close_services(self._services))
            self._services = None


def declare_actors(broker: Broker, config: WorkerConfig) -> WorkerServicesMiddleware:
    """Declare the sync actors on `broker`, with the middleware holding their services (added to the broker)."""
    middleware = WorkerServicesMiddleware(config)
    broker.add_middleware(middleware)
    time_limit_ms = int(config.time_limit_seconds * 1000) + 60_000  # the jobs stop themselves first, cleanly

    def retry_when(retries: int, error: Exception) -> bool:
        return isinstance(error, dramatiq.Retry) or retries < config.max_retries

    async def import_sync(tenant_id: int, sync_id: int) -> None:
        await run_import_message(middleware.services, tenant_id, sync_id)

    async def export_sync(tenant_id: int, sync_id: int) -> None:
        await run_export_message(middleware.services, tenant_id, sync_id)

    async def sync_retries_exhausted(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
        tenant_id, sync_id = message["args"]
        await fail_exhausted(middleware.services, tenant_id, sync_id)

    options: dict[str, Any] = {"broker": broker, "retry_when": retry_when, "min_backoff": config.min_backoff_ms,
                               "time_limit": time_limit_ms, "on_retry_exhausted": EXHAUSTED_ACTOR}  # fmt: skip
    dramatiq.actor(actor_name=IMPORT_ACTOR, queue_name=IMPORTS_QUEUE, **options)(import_sync)
    dramatiq.actor(actor_name=EXPORT_ACTOR, queue_name=EXPORTS_QUEUE, **options)(export_sync)
    dramatiq.actor(actor_name=EXHAUSTED_ACTOR, queue_name=IMPORTS_QUEUE, broker=broker,
                   max_retries=config.max_retries)(sync_retries_exhausted)  # fmt: skip
    return middleware
