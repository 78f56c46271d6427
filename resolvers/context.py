"""The per-request context: the pool, the caller and the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from db.tenants import Principal
from resolvers.errors import AuthenticationError, ForbiddenError
from resolvers.loaders import Loaders
from resolvers.shared_reads import SharedSyncReads
from workers.events import EventHub
from workers.submit import SyncSubmitter
from workers.uploads import UploadStore

# Each role can do everything the roles after it can.
ROLE_RANK = {"viewer": 0, "operator": 1, "admin": 2}


@dataclass(frozen=True)
class ApiServices:
    """What the API process uses besides the database: staging, the queue and the sync events."""

    submitter: SyncSubmitter
    uploads: UploadStore
    hub: EventHub
    max_upload_bytes: int
    shared_reads: SharedSyncReads = field(default_factory=SharedSyncReads)


@dataclass
class Context:
    pool: asyncpg.Pool
    principal: Principal | None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    services: ApiServices | None = None
    _loaders: Loaders | None = field(default=None, repr=False)

    @property
    def api(self) -> ApiServices:
        if self.services is None:
            raise RuntimeError("the API services are not running (the app's lifespan has not started)")
        return self.services

    def fresh_loaders(self) -> None:
        """Forget cached rows: a WebSocket context lives as long as its connection, but each subscription event
        must read the current state."""
        self._loaders = None

    def require(self, role: str = "viewer") -> Principal:
        """The caller, provided they are authenticated with at least `role`."""
        if self.principal is None:
            raise AuthenticationError("Authentication required: send 'Authorization: Bearer <token>'.")
        if ROLE_RANK[self.principal.role] < ROLE_RANK[role]:
            raise ForbiddenError(f"This needs the {role} role; your token has the {self.principal.role} role.")
        return self.principal

    @property
    def loaders(self) -> Loaders:
        """Loaders bound to the caller's tenant, created on first use."""
        if self._loaders is None:
            self._loaders = Loaders(self.pool, self.require().tenant_id)
        return self._loaders
