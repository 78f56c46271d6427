"""Workers consume from the real Redis broker, in-process (`serve --workers N`) and in processes of their own."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import dramatiq
import redis

from oneroster_sync.settings import Endpoints
from workers.broker import create_broker
from workers.config import WorkerConfig
from workers.runner import start_worker

MARK = "ors-test-mark"


def test_an_in_process_worker_runs_async_actors_from_redis(endpoints: Endpoints, tmp_path: Path) -> None:
    namespace = f"{endpoints.redis_namespace}-{uuid.uuid4().hex[:6]}"
    config = WorkerConfig(endpoints.database_url, endpoints.redis_url, namespace, tmp_path)
    client = redis.Redis.from_url(endpoints.redis_url)
    key = f"{MARK}:{uuid.uuid4().hex}"
    broker = create_broker(endpoints.redis_url, namespace)

    async def mark(k: str) -> None:
        client.set(k, "done", ex=60)

    actor = dramatiq.actor(queue_name=f"test-{uuid.uuid4().hex[:6]}", max_retries=0, broker=broker)(mark)
    worker = start_worker(config, threads=2, broker=broker)
    try:
        actor.send(key)
        deadline = time.monotonic() + 20
        while client.get(key) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get(key) == b"done"
    finally:
        worker.stop()
        client.close()


def test_the_worker_command_starts_and_stops_gracefully(endpoints: Endpoints, tmp_path: Path) -> None:
    env = {"DATABASE_URL": endpoints.database_url, "REDIS_URL": endpoints.redis_url, "PATH": "/usr/bin:/bin",
           "ONEROSTER_SYNC_DATA_DIR": str(tmp_path)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "oneroster_sync.cli", "worker", "--processes", "2", "--threads", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(3)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    proc.terminate()
    assert proc.wait(timeout=30) == 0
