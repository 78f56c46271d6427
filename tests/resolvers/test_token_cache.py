"""The bearer-token cache: a token is looked up once per TTL, and a revoked one stops working once its TTL ends."""

from __future__ import annotations

import asyncpg

from db.tenants import Principal, TokenCache
from tests.conftest import Tenant


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_revoked_token_stops_working_after_the_ttl(pool: asyncpg.Pool, tenant: Tenant) -> None:
    clock = Clock()
    cache = TokenCache(ttl=5.0, clock=clock)
    token = tenant.tokens["viewer"]
    assert await cache.authenticate(pool, token) == Principal(tenant.id, "viewer")
    await pool.execute("UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND role = 'viewer'", tenant.id)
    clock.now += 4.9
    assert await cache.authenticate(pool, token) == Principal(tenant.id, "viewer"), "cached within the TTL"
    clock.now += 0.2
    assert await cache.authenticate(pool, token) is None, "revoked: looked up again after the TTL"
    assert await cache.authenticate(pool, tenant.tokens["admin"]) == Principal(tenant.id, "admin")


async def test_unknown_tokens_are_not_cached_and_the_cache_stays_bounded(pool: asyncpg.Pool, tenant: Tenant) -> None:
    cache = TokenCache(ttl=5.0, maxsize=2)
    assert await cache.authenticate(pool, tenant.tokens["admin"][:-1] + "x") is None
    for role in ("admin", "operator", "viewer", "admin"):
        assert await cache.authenticate(pool, tenant.tokens[role]) == Principal(tenant.id, role)
    assert len(cache._known) <= 2
