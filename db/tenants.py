"""Tenants (school districts) and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from db.apps import DEFAULT_PROVIDERS, install_app
from db.pool import Connection, Executor

ROLES = ("admin", "operator", "viewer")
TOKEN_PREFIX = "ors"


class TenantExists(ValueError):
    pass


class UnknownTenant(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant every query is scoped to, and the token's role."""

    tenant_id: int
    role: str


def _hash_secret(secret: str) -> bytes:
    # Tokens carry 256 random bits, so a plain sha256 is enough (no need for a slow password hash).
    return hashlib.sha256(secret.encode()).digest()


async def create_tenant(conn: Connection, name: str) -> int:
    """Create the tenant with its default apps; return its id."""
    async with conn.transaction():
        try:
            tenant_id: int = await conn.fetchval("INSERT INTO tenants (name) VALUES ($1) RETURNING id", name)
        except asyncpg.UniqueViolationError as exc:
            raise TenantExists(f"a tenant named {name!r} already exists") from exc
        for provider in DEFAULT_PROVIDERS:
            await install_app(conn, tenant_id, provider, provider)
    return tenant_id


async def tenant_id_by_name(conn: Connection, name: str) -> int:
    tenant_id: int | None = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", name)
    if tenant_id is None:
        raise UnknownTenant(f"no tenant named {name!r}")
    return tenant_id


async def create_token(conn: Connection, tenant_id: int, role: str) -> str:
    """Store a new token's hash and return the token, which is shown this once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    secret = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_tokens (tenant_id, token_hash, role) VALUES ($1, $2, $3)",
        tenant_id, _hash_secret(secret), role,
    )  # fmt: skip
    return f"{TOKEN_PREFIX}_{tenant_id}_{secret}"


async def authenticate(conn: Executor, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, or None. The tenant id in the token scopes the lookup."""
    prefix, _, rest = token.partition("_")
    tenant_part, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not tenant_part.isdigit() or not secret or len(tenant_part) > 18:
        return None
    tenant_id = int(tenant_part)
    role: str | None = await conn.fetchval(
        "SELECT role FROM api_tokens WHERE tenant_id = $1 AND token_hash = $2 AND revoked_at IS NULL",
        tenant_id, _hash_secret(secret),
    )  # fmt: skip
    return None if role is None else Principal(tenant_id=tenant_id, role=role)


class TokenCache:
    """Principals of recently authenticated tokens, per process, keyed by the token's hash: a burst of requests
    looks its token up once per `ttl` seconds instead of once per request. A revoked token keeps working for at
    most `ttl` seconds more; unknown tokens are never cached (each try is looked up)."""

    def __init__(self, ttl: float = 5.0, maxsize: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._maxsize, self._clock = ttl, maxsize, clock
        self._known: dict[bytes, tuple[float, Principal]] = {}

    async def authenticate(self, conn: Executor, token: str) -> Principal | None:
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        known = self._known.get(key)
        if known is not None and known[0] > now:
            return known[1]
        principal = await authenticate(conn, token)
        if principal is None:
            self._known.pop(key, None)
            return None
        if len(self._known) >= self._maxsize:  # a bound, not an LRU: expired entries go first, else all
            self._known = {k: v for k, v in self._known.items() if v[0] > now}
            if len(self._known) >= self._maxsize:
                self._known.clear()
        self._known[key] = (now + self._ttl, principal)
        return principal
