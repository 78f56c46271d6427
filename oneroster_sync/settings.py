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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("ONEROSTER_SYNC_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            redis_namespace=env.get("ONEROSTER_SYNC_REDIS_NAMESPACE") or "oneroster-sync",
        )

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


@dataclass(frozen=True)
class Endpoints:
    """The concrete servers a process talks to, embedded or external."""

    database_url: str
    redis_url: str
    redis_namespace: str
