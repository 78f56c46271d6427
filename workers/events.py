"""Sync events on Redis pub/sub: workers publish progress snapshots and status changes, API processes fan them out.

Pub/sub is fire-and-forget, so every event is a full snapshot (never a delta): a subscriber that misses one is
corrected by the next. Each API process holds one Redis subscription (`EventHub`) whatever its number of
subscribers, and hands each event to the local queues of the subscribers of its tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import asdict, dataclass, field
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RESYNC = None  # put in subscriber queues after a reconnect: events may have been missed, re-read the state


def channel(namespace: str) -> str:
    return f"{namespace}:sync-events"


@dataclass(frozen=True, slots=True)
class SyncEvent:
    tenant_id: int
    sync_id: int
    app_id: int
    status: str
    phase: str
    processed: int
    total: int | None
    percent: float | None
    # The sync was created or changed status (syncUpdates); otherwise a progress snapshot only (syncProgress).
    status_changed: bool = False
    published_at: float = field(default_factory=time.time)

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, payload: str | bytes) -> SyncEvent:
        return cls(**json.loads(payload))


class EventPublisher:
    """Publishes events; a failure to publish is logged, never raised: progress must not fail an import."""

    def __init__(self, client: aioredis.Redis, namespace: str) -> None:
        self._client = client
        self._channel = channel(namespace)

    async def close(self) -> None:
        await self._client.aclose()

    async def publish(self, event: SyncEvent) -> None:
        try:
            await keeping_cancellation(self._client.publish(self._channel, event.encode()))
        except (RedisError, OSError) as error:
            log.warning("could not publish the event of sync %s: %s", event.sync_id, error)


Result = TypeVar("Result")


async def keeping_cancellation(awaitable: Awaitable[Result]) -> Result:
    """`await awaitable`, raising CancelledError if the task was cancelled meanwhile and the awaitable swallowed it.

    redis-py can return normally from a command during which its task was cancelled: an import's time limit or a
    worker's shutdown would then be lost at a progress report, and the import would run on to its end.
    """
    task = asyncio.current_task()
    requested = task.cancelling() if task is not None else 0
    result = await awaitable
    if task is not None and task.cancelling() > requested:
        raise asyncio.CancelledError
    return result


class Subscription:
    """One subscriber's queue of events (or RESYNC markers). Only the latest snapshots matter, so when a slow
    subscriber's queue is full its oldest event is dropped."""

    def __init__(self, tenant_id: int, sync_id: int | None, size: int = 64) -> None:
        self.tenant_id = tenant_id
        self.sync_id = sync_id
        self.queue: asyncio.Queue[SyncEvent | None] = asyncio.Queue(size)

    def offer(self, event: SyncEvent | None) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def next(self) -> SyncEvent | None:
        return await self.queue.get()

    async def latest(self) -> SyncEvent | None:
        """The newest event waiting (a subscriber that fell behind skips superseded snapshots); RESYNC if one of
        those waiting was a RESYNC."""
        event = await self.queue.get()
        resync = event is RESYNC
        while not self.queue.empty():
            event = self.queue.get_nowait()
            resync = resync or event is RESYNC
        return RESYNC if resync else event


class EventHub:
    """The process's single Redis subscription, started on first use and reconnecting after Redis restarts."""

    def __init__(self, redis_url: str, namespace: str, *, reconnect_delay: float = 0.5) -> None:
        self._url = redis_url
        self._channel = channel(namespace)
        self._reconnect_delay = reconnect_delay
        # By (tenant, sync), and (tenant, None) for those of every sync of the tenant: an event touches only its own.
        self._subscribers: dict[tuple[int, int | None], set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def start(self, timeout: float = 5.0) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="sync-event-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: int, sync_id: int | None = None) -> AsyncIterator[Subscription]:
        """Events of one tenant (and one sync, if given) from now on; listening has started when this returns."""
        subscription = Subscription(tenant_id, sync_id)
        key = (tenant_id, sync_id)
        self._subscribers.setdefault(key, set()).add(subscription)
        try:
            await self.start()
            yield subscription
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[key]

    def dispatch(self, payload: str | bytes) -> None:
        try:
            event = SyncEvent.decode(payload)
        except (ValueError, TypeError):
            log.warning("ignored a malformed sync event")
            return
        for key in ((event.tenant_id, event.sync_id), (event.tenant_id, None)):
            for subscription in self._subscribers.get(key, ()):
                subscription.offer(event)

    def _resync_all(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.offer(RESYNC)

    async def _listen(self) -> None:
        reconnecting = False
        while True:
            client = aioredis.Redis.from_url(self._url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._connected.set()
                if reconnecting:
                    self._resync_all()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.dispatch(message["data"])
            except (RedisError, OSError) as error:
                log.warning("sync events: Redis subscription lost (%s); reconnecting", error)
            finally:
                self._connected.clear()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):  # aclose() can hang (redis-py#3941)
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
                        await client.aclose()
            reconnecting = True
            await asyncio.sleep(self._reconnect_delay)
