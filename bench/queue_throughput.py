"""Import throughput through the queue against the engine called directly, on the same package and server.

    python -m bench.queue_throughput [--dsn postgresql://postgres@127.0.0.1:5432/postgres]
                                     [--redis redis://127.0.0.1:6379/0] [--data /tmp/ors-bench]
                                     [--size medium|large] [--rounds 3] [--no-cli]

The package is the generated district as a zip (what an upload stages): `medium` (20,000 users, 800 classes, 200,000
enrollments: 239,572 records, 40 MB of CSV) or `large` (the README's 1.2 M records). A fresh database and Redis
namespace; one `oneroster-sync worker --processes 1 --threads 1` runs throughout (warmed up by a tiny import). Each
round imports the package into a fresh tenant each way, alternating which goes first:
  direct - run_import in a fresh process (bench/import_once.py): the engine alone, as bench/import_benchmark.py;
  queue  - from staging the zip (UploadStore.stage_path) and SyncSubmitter.start_import, as the API and the CLI do,
           to the SUCCEEDED event on the sync's channel; split into the wait for a worker (started_at - initiated_at)
           and the worker's run (finished_at - started_at) from the sync row;
and, unless --no-cli, the same through the command line, each a fresh process from start to exit:
  cli --in-process / cli --wait - `oneroster-sync import ZIP --tenant T --in-process` / `--wait`.
Prints the rounds, the medians and the queue/direct ratios. Target: the queue path within 1.2x the direct path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis

from bench._proc import stop
from bench.generate_district import generate_district, write_zip
from bench.graphql_benchmark import small_package
from bench.import_benchmark import drop_database, ensure_packages, run_worker
from db.migrate import migrate
from db.pool import connect, create_pool
from db.tenants import create_tenant
from oneroster_sync.embedded import ensure_database
from workers.broker import create_broker
from workers.events import RESYNC, EventHub, EventPublisher
from workers.queue import SyncQueue
from workers.submit import SyncSubmitter
from workers.uploads import UploadStore

MEDIUM = {"users": 20_000, "classes": 800, "enrollments": 200_000}
ACTIVE = ("QUEUED", "RUNNING")


def package(data: Path, size: str) -> Path:
    """The zip of the district package of this size, generated on first use."""
    folder = data / "medium" if size == "medium" else ensure_packages(data)[0]
    if size == "medium" and not (folder / "manifest.csv").exists():
        generate_district(
            folder, seed=1, users=MEDIUM["users"], classes=MEDIUM["classes"], enrollments=MEDIUM["enrollments"]
        )
    if not folder.with_suffix(".zip").exists():
        write_zip(folder)
    return folder.with_suffix(".zip")


def tiny_package(folder: Path, source: Path) -> Path:
    """A few orgs of the district zip: the worker's warm-up import."""
    with zipfile.ZipFile(source) as archive:
        lines = archive.read("orgs.csv").decode().splitlines()
    return small_package(folder, lines[0] + "\n", lines[1:4], 0)


class Queue:
    """The API's way of starting an import (staging, SyncSubmitter), and a listener for the sync's end."""

    def __init__(self, database_url: str, redis_url: str, namespace: str, uploads: Path) -> None:
        self.database_url, self.redis_url, self.namespace = database_url, redis_url, namespace
        self.uploads = UploadStore(uploads)

    async def __aenter__(self) -> Queue:
        self.pool = await create_pool(self.database_url, max_size=3)
        self.broker = create_broker(self.redis_url, self.namespace)
        publisher = EventPublisher(aioredis.Redis.from_url(self.redis_url), self.namespace)
        self.submitter = SyncSubmitter(self.pool, SyncQueue(self.broker), publisher)
        self.hub = EventHub(self.redis_url, self.namespace)
        await self.hub.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.hub.stop()
        await self.submitter.publisher.close()
        self.broker.close()
        await self.pool.close()

    async def tenant(self) -> tuple[str, int, int]:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        async with self.pool.acquire() as conn:
            tenant_id = await create_tenant(conn, name)
            app_id = await conn.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND name = 'csv-upload'", tenant_id)
        return name, tenant_id, app_id

    async def run(self, path: Path, timeout: float = 3600) -> dict[str, float | str]:
        """Submit an import of `path` into a fresh tenant and wait for it to end: wall time and the row's split."""
        _, tenant_id, app_id = await self.tenant()
        async with self.hub.subscribe(tenant_id) as subscription:  # listening before the sync exists
            started = time.perf_counter()
            key = self.uploads.stage_path(tenant_id, path)
            row = await self.submitter.start_import(tenant_id, app_id, key)
            status = row.status
            async with asyncio.timeout(timeout):
                while status in ACTIVE:
                    event = await subscription.next()
                    if event is RESYNC:  # a Redis reconnect: read the row instead
                        status = await self.pool.fetchval("SELECT status FROM syncs WHERE id = $1", row.id)
                    elif event.sync_id == row.id:
                        status = event.status
            seconds = time.perf_counter() - started
        times = await self.pool.fetchrow(
            """SELECT extract(epoch FROM started_at - initiated_at) AS waited,
                      extract(epoch FROM finished_at - started_at) AS ran FROM syncs WHERE id = $1""",
            row.id,
        )
        assert times is not None
        return {"seconds": seconds, "status": status, "waited": float(times["waited"] or 0),
                "ran": float(times["ran"] or 0)}  # fmt: skip


def cli_import(env: dict[str, str], path: Path, tenant: str, flag: str) -> float:
    """Wall time of `oneroster-sync import PATH --tenant T FLAG`, a fresh process from start to exit."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "oneroster_sync.cli", "import", str(path), "--tenant", tenant, flag],
                          env=env, capture_output=True, text=True)  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "SUCCEEDED" not in done.stdout:
        raise RuntimeError(f"import {flag} failed ({done.returncode}): {done.stdout[-1000:]} {done.stderr[-1000:]}")
    return seconds


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "oneroster_sync.cli", "worker", "--processes", "1",
                                 "--threads", "1"], env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


Step = Callable[[], Awaitable[dict[str, float]]]


def steps(queue: Queue, database_url: str, zip_path: Path, env: dict[str, str]) -> dict[str, Step]:
    """Each way of importing the package into a fresh tenant, returning its timings."""

    async def direct() -> dict[str, float]:
        result = await asyncio.to_thread(run_worker, database_url, (await queue.tenant())[0], zip_path)
        assert result["status"] == "SUCCEEDED", result
        return {"direct": result["seconds"]}

    async def queued() -> dict[str, float]:
        result = await queue.run(zip_path)
        assert result["status"] == "SUCCEEDED", result
        return {"queue": float(result["seconds"]), "waited": float(result["waited"]), "ran": float(result["ran"])}

    async def cli_direct() -> dict[str, float]:
        tenant = (await queue.tenant())[0]
        return {"cli_direct": await asyncio.to_thread(cli_import, env, zip_path, tenant, "--in-process")}

    async def cli_queue() -> dict[str, float]:
        tenant = (await queue.tenant())[0]
        return {"cli_queue": await asyncio.to_thread(cli_import, env, zip_path, tenant, "--wait")}

    return {"direct": direct, "queue": queued, "cli_direct": cli_direct, "cli_queue": cli_queue}


async def measure(args: argparse.Namespace, database_url: str, zip_path: Path, data_dir: Path, namespace: str,
                  env: dict[str, str]) -> list[dict[str, float]]:  # fmt: skip
    rounds: list[dict[str, float]] = []
    async with Queue(database_url, args.redis, namespace, data_dir / "uploads") as queue:
        warm = await queue.run(tiny_package(data_dir / "tiny", zip_path), timeout=120)
        print(f"worker warm-up (3 orgs through the queue): {warm['seconds']:.2f}s {warm['status']}", flush=True)
        ways = steps(queue, database_url, zip_path, env)
        pairs = [["direct", "queue"]] + ([] if args.no_cli else [["cli_direct", "cli_queue"]])
        for number in range(1, args.rounds + 1):
            row: dict[str, float] = {}
            for pair in pairs:
                for name in pair if number % 2 else pair[::-1]:  # alternate which goes first
                    row.update(await ways[name]())
            rounds.append(row)
            line = (f"round {number}: direct {row['direct']:.2f}s | queue {row['queue']:.2f}s "
                    f"(waited {row['waited']:.2f}s for the worker, ran {row['ran']:.2f}s) "
                    f"{row['queue'] / row['direct']:.2f}x")  # fmt: skip
            if not args.no_cli:
                line += (f" | cli --in-process {row['cli_direct']:.2f}s, --wait {row['cli_queue']:.2f}s "
                         f"{row['cli_queue'] / row['cli_direct']:.2f}x")  # fmt: skip
            print(line, flush=True)
    return rounds


def report(rounds: list[dict[str, float]], size: str, cli: bool) -> None:
    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    ratios = sorted(r["queue"] / r["direct"] for r in rounds)
    ratio = median("queue") / median("direct")
    verdict = "ok" if ratio <= 1.2 else "MISSED"
    print(f"{size} package, median of {len(rounds)} rounds: direct {median('direct'):.2f}s, queue "
          f"{median('queue'):.2f}s (worker pickup {median('waited'):.2f}s, run {median('ran'):.2f}s) -> "
          f"{ratio:.2f}x {verdict} (target <= 1.2x; per-round ratios {ratios[0]:.2f}-{ratios[-1]:.2f}x)")  # fmt: skip
    # Wall times swing with the machine's load; what the queue adds around the engine does not: the wait for a
    # worker, staging, enqueueing and the events (queue - ran), and the worker's run against the direct engine.
    overhead = statistics.median(r["queue"] - r["ran"] for r in rounds)
    in_worker = statistics.median(r["ran"] / r["direct"] for r in rounds)
    print(f"  the queue adds {overhead:.2f}s around the engine (median; {overhead / median('direct'):.0%} of the "
          f"direct time); the worker's run / direct: {in_worker:.2f}x (median of rounds)")  # fmt: skip
    if cli:
        cli_ratio = median("cli_queue") / median("cli_direct")
        print(f"command line: import --in-process {median('cli_direct'):.2f}s, import --wait "
              f"{median('cli_queue'):.2f}s -> {cli_ratio:.2f}x {'ok' if cli_ratio <= 1.2 else 'MISSED'}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--data", type=Path, default=Path("/tmp/ors-bench"))
    parser.add_argument("--size", choices=("medium", "large"), default="medium")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line pair")
    args = parser.parse_args()
    zip_path = package(args.data, args.size)
    suffix = uuid.uuid4().hex[:8]
    namespace = f"bench-queue-{suffix}"
    database_url = await ensure_database(args.dsn, f"bench_queue_{suffix}")
    conn = await connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    try:
        with tempfile.TemporaryDirectory(prefix="ors-queue-") as data:
            env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis,
                   "ONEROSTER_SYNC_DATA_DIR": data, "ONEROSTER_SYNC_REDIS_NAMESPACE": namespace}  # fmt: skip
            worker = start_worker(env, Path(data) / "worker.log")
            try:
                rounds = await measure(args, database_url, zip_path, Path(data), namespace, env)
            finally:
                stop(worker)
            report(rounds, args.size, not args.no_cli)
    finally:
        await drop_database(args.dsn, database_url)
        await forget_namespace(args.redis, namespace)


async def forget_namespace(redis_url: str, namespace: str) -> None:
    """Delete the broker's keys (queues, worker heartbeats) the run left in Redis."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
