"""Configuration read once from the environment and then passed down as values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = ".oneroster-sync"


@dataclass(frozen=True)
class Settings:
    """Where the service keeps its state.

    `database_url` / `redis_url` are None when the embedded servers should be used.
    """

    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    redis_namespace: str = "oneroster-sync"
    max_upload_bytes: int = 512 * 1024 * 1024
    sftp_host: str = "127.0.0.1"
    sftp_port: int | None = None  # the SFTP drop server runs with `serve` when a port is set
    import_time_limit_seconds: float = 4 * 3600
    lease_seconds: float = 30.0  # a running sync silent for longer is taken over by another delivery of its message
    broker_heartbeat_ms: int = 60_000  # a worker silent for longer loses its messages to other workers
    broker_maintenance_chance: int = 1_000  # per million broker calls: how often dead workers' messages are requeued

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("ONEROSTER_SYNC_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            redis_namespace=env.get("ONEROSTER_SYNC_REDIS_NAMESPACE") or "oneroster-sync",
            max_upload_bytes=int(env.get("ONEROSTER_SYNC_MAX_UPLOAD_BYTES") or 512 * 1024 * 1024),
            sftp_host=env.get("ONEROSTER_SYNC_SFTP_HOST") or "127.0.0.1",
            sftp_port=int(env["ONEROSTER_SYNC_SFTP_PORT"]) if env.get("ONEROSTER_SYNC_SFTP_PORT") else None,
            import_time_limit_seconds=float(env.get("ONEROSTER_SYNC_IMPORT_TIME_LIMIT") or 4 * 3600),
            lease_seconds=float(env.get("ONEROSTER_SYNC_LEASE_SECONDS") or 30),
            broker_heartbeat_ms=int(env.get("ONEROSTER_SYNC_BROKER_HEARTBEAT_MS") or 60_000),
            broker_maintenance_chance=int(env.get("ONEROSTER_SYNC_BROKER_MAINTENANCE_CHANCE") or 1_000),
        )

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def key_cache_dir(self) -> Path:
        """Where a worker keeps the current keys of a tenant's largest file between imports (a copy it may lose)."""
        return self.data_dir / "key-cache"

    @property
    def sftp_root(self) -> Path:
        """Each tenant's SFTP home is a folder of its own under this one."""
        return self.data_dir / "sftp"


@dataclass(frozen=True)
class Endpoints:
    """The concrete servers a process talks to, embedded or external."""

    database_url: str
    redis_url: str
    redis_namespace: str
