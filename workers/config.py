"""What a worker process needs to know, passed down as values from the process's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WorkerConfig:
    database_url: str
    redis_url: str
    namespace: str
    uploads_dir: Path
    # Where the worker keeps the enrollments' current keys between a tenant's imports (None: always read them).
    key_cache_dir: Path | None = None
    # An import running longer than this ends FAILED (import.time_limit_exceeded); a retry would only time out again.
    time_limit_seconds: float = 4 * 3600
    # Runs of one sync that may start before it ends FAILED: a worker killed while running it (OOM, kill -9) makes
    # the broker deliver it again, and a package that kills every worker must not loop forever.
    max_attempts: int = 3
    # Retries of a message whose handling failed outright (the database unreachable even to record the failure).
    max_retries: int = 5
    min_backoff_ms: int = 5_000
    # How long a silent worker's messages stay with it before the broker hands them to another worker.
    heartbeat_timeout_ms: int = 60_000
    # Out of a million broker calls, how many run the maintenance that requeues dead workers' messages.
    maintenance_chance: int = 1_000
    # A running sync renews its lease this often / 3; a delivery finding it older takes the sync over (restart).
    lease_seconds: float = 30.0
    # Progress is stored and published at most this often per sync (phase changes always go out).
    progress_interval_seconds: float = 0.25
