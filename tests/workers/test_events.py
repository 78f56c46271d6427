"""The sync events hub: one Redis subscription per process, fanned out by tenant and sync, surviving Redis restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.e2e.stack import RedisServer
from workers.events import RESYNC, EventHub, EventPublisher, Subscription, SyncEvent, keeping_cancellation


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def event(tenant: int, sync: int, processed: int = 0, status: str = "RUNNING") -> SyncEvent:
    return SyncEvent(tenant, sync, 1, status, "parsing", processed, 100, 10.0, published_at=1.0)


async def next_event(subscription: Subscription) -> SyncEvent | None:
    return await asyncio.wait_for(subscription.next(), 5)


async def test_events_reach_only_their_tenant_and_sync(redis_server: RedisServer) -> None:
    hub = EventHub(redis_server.url, "t")
    publisher = EventPublisher(aioredis.Redis.from_url(redis_server.url), "t")
    try:
        async with hub.subscribe(1, 10) as one_sync, hub.subscribe(1) as whole_tenant, hub.subscribe(2) as other:
            for sent in (event(1, 11), event(2, 10), event(1, 10, 5)):
                await publisher.publish(sent)
            assert await next_event(one_sync) == event(1, 10, 5)
            assert [await next_event(whole_tenant) for _ in range(2)] == [event(1, 11), event(1, 10, 5)]
            assert await next_event(other) == event(2, 10)
            assert one_sync.queue.empty() and whole_tenant.queue.empty() and other.queue.empty()
            assert hub.subscriber_count == 3
        assert hub.subscriber_count == 0
    finally:
        await hub.stop()
        await publisher.close()


async def test_a_slow_subscriber_keeps_the_newest_snapshots() -> None:
    subscription = Subscription(1, 10, size=3)
    for processed in range(10):
        subscription.offer(event(1, 10, processed))
    assert await subscription.latest() == event(1, 10, 9)
    for processed in range(3):
        subscription.offer(event(1, 10, processed))
    subscription.offer(RESYNC)
    assert await subscription.latest() is RESYNC, "a missed-events marker is never skipped"


async def test_the_hub_reconnects_after_redis_restarts_and_asks_for_a_resync(redis_server: RedisServer) -> None:
    hub = EventHub(redis_server.url, "t", reconnect_delay=0.1)
    try:
        async with hub.subscribe(1, 10) as subscription:
            redis_server.stop()
            await asyncio.sleep(0.5)
            redis_server.start()
            assert await asyncio.wait_for(subscription.next(), 15) is RESYNC
            publisher = EventPublisher(aioredis.Redis.from_url(redis_server.url), "t")
            await publisher.publish(event(1, 10, 42))
            assert await next_event(subscription) == event(1, 10, 42)
            await publisher.close()
    finally:
        await hub.stop()


async def _swallowing(started: asyncio.Event) -> str:
    """Returns normally when cancelled, as redis-py's publish could."""
    started.set()
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        return "swallowed"
    return "slept"


async def test_a_cancellation_swallowed_by_an_awaited_call_is_raised_again() -> None:
    started = asyncio.Event()
    bare = asyncio.create_task(_swallowing(started))
    await started.wait()
    bare.cancel()
    assert await bare == "swallowed", "the call on its own loses the cancellation"

    started.clear()
    guarded = asyncio.create_task(keeping_cancellation(_swallowing(started)))
    await started.wait()
    guarded.cancel()
    with pytest.raises(asyncio.CancelledError):
        await guarded
    assert await keeping_cancellation(asyncio.sleep(0, result="done")) == "done", "without a cancel: its result"
