"""The Dramatiq Redis broker, set up per process with the actors it serves."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO


def create_broker(redis_url: str, namespace: str, actors: Iterable[dramatiq.Actor[Any, Any]] = ()) -> RedisBroker:
    """A Redis broker running async actors on one event loop per process, made the global broker.

    Actors are bound here rather than at import time, so a process can build its broker from settings first.
    """
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())  # an instance, not the class (dramatiq#643)
    dramatiq.set_broker(broker)
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
    return broker
