"""The Dramatiq Redis broker of a process."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from workers.config import WorkerConfig


def create_broker(
    redis_url: str, namespace: str, *, heartbeat_timeout_ms: int = 60_000, maintenance_chance: int = 1_000
) -> RedisBroker:
    """A Redis broker running async actors on one event loop per process, made the global broker.

    Actors are declared on it afterwards (`workers.actors.declare_actors`), so a process builds it from its settings.
    """
    broker = RedisBroker(url=redis_url, namespace=namespace, heartbeat_timeout=heartbeat_timeout_ms,
                         maintenance_chance=maintenance_chance)  # type: ignore[no-untyped-call]  # fmt: skip
    broker.add_middleware(AsyncIO())  # an instance, not the class (dramatiq#643)
    dramatiq.set_broker(broker)
    return broker


def broker_for(config: WorkerConfig) -> RedisBroker:
    return create_broker(config.redis_url, config.namespace, heartbeat_timeout_ms=config.heartbeat_timeout_ms,
                         maintenance_chance=config.maintenance_chance)  # fmt: skip
