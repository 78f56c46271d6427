"""Progress latency: 1,000 syncProgress subscribers on one API process, from publish to receive.

    python -m bench.progress_latency [--dsn postgresql://postgres@127.0.0.1:5432/postgres]
                                     [--redis redis://127.0.0.1:6379/0] [--subscribers 1000] [--syncs 1 100]
                                     [--rate 4] [--seconds 15] [--clients 4] [--py-spy FILE.svg]

The API runs as `oneroster-sync serve --workers 0` (uvicorn) in a process of its own, on a fresh database and Redis
namespace; a viewer tenant comes from `oneroster-sync tenants create`. The syncs are inserted and marked RUNNING in
SQL, so their syncProgress streams stay open. For each --syncs count, --clients processes (bench/_progress_clients.py)
open the subscribers over graphql-transport-ws, spread round-robin over that many syncs; then this process publishes
SyncEvents with EventPublisher on the API's channel, --rate per sync per second (the worker's reporter sends at most
4/s) with the syncs staggered over the period, for --seconds, and finally a SUCCEEDED event that completes every
stream. Latency = the client's time.time() on receipt - the event's published_at (same host, same clock), over every
(subscriber, event) pair delivered; a subscriber that falls behind skips to the newest snapshot, and those skipped
superseded updates are counted (every stream must still end with the final state). Also printed: the API process's Redis
connections (its TCP connections to Redis, matched in CLIENT LIST) before and with the subscribers, PUBSUB NUMSUB of
the channel, and the API process's CPU use (per delivered update: the cost that does not depend on the machine's
load). --py-spy records the API while publishing (`pip install py-spy` first). Target: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

from bench._proc import cpu_seconds, stop, tcp_connections_to
from bench.import_benchmark import drop_database
from oneroster_sync.embedded import ensure_database
from workers.events import EventPublisher, SyncEvent, channel
from workers.progress import overall_percent

TOTAL = 1_000_000  # the `total` of the published snapshots; `processed` carries the event's sequence number


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "oneroster_sync.cli", *args], env=env, check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


async def start_api(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # uvicorn logs every WebSocket: keep it off a pipe nobody reads
        api = subprocess.Popen([sys.executable, "-m", "oneroster_sync.cli", "serve", "--workers", "0", "--port",
                                str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if api.poll() is not None:
                raise RuntimeError(f"the API exited ({api.returncode}): {log.read_text()[-2000:]}")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return api
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    api.terminate()
    raise RuntimeError("the API did not answer /health within 30 s")


async def running_syncs(database_url: str, tenant_id: int, count: int) -> tuple[int, list[int]]:
    """`count` syncs of the tenant's csv-upload app, RUNNING (so their syncProgress streams stay open)."""
    conn = await asyncpg.connect(database_url)
    try:
        app_id: int = await conn.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND name = 'csv-upload'", tenant_id)
        rows = await conn.fetch(
            """INSERT INTO syncs (tenant_id, app_id, kind, status, started_at)
               SELECT $1, $2, 'IMPORT', 'RUNNING', now() FROM generate_series(1, $3) RETURNING id""",
            tenant_id, app_id, count,
        )  # fmt: skip
    finally:
        await conn.close()
    return app_id, sorted(r["id"] for r in rows)


async def redis_connections(redis: aioredis.Redis, pid: int, name: str) -> str:
    """The process's TCP connections to Redis, as CLIENT LIST sees them, and the channel's subscriber count."""
    port = redis.connection_pool.connection_kwargs.get("port", 6379)
    mine = tcp_connections_to(pid, port)
    clients = [c for c in await redis.client_list() if c["addr"] in mine]
    kinds = ", ".join(f"{c['cmd']} sub={c['sub']}" for c in clients)
    numsub = dict(await redis.pubsub_numsub(name))
    return f"{len(clients)} Redis connection(s) [{kinds}]; PUBSUB NUMSUB = {numsub.get(name.encode(), 0)}"


async def publish(publisher: EventPublisher, tenant_id: int, app_id: int, syncs: list[int], rate: float,
                  seconds: float) -> tuple[dict[tuple[int, int], float], float]:  # fmt: skip
    """Publish `rate` snapshots per sync per second, the syncs evenly staggered; returns published_at per
    (sync, sequence number) and the worst delay behind schedule (the publisher must keep up for the rate to hold)."""
    period, count = 1.0 / rate, int(seconds * rate)
    published: dict[tuple[int, int], float] = {}
    worst = 0.0
    start = time.perf_counter() + 0.05
    for seq in range(1, count + 1):
        for position, sync_id in enumerate(syncs):
            due = start + (seq - 1) * period + position * period / len(syncs)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            worst = max(worst, -delay)
            # `processed` is the sequence number (the clients report it back); the percent rises as in a real sync.
            percent = overall_percent("RUNNING", "applying", seq * TOTAL // (count + 1), TOTAL)
            event = SyncEvent(tenant_id, sync_id, app_id, "RUNNING", "applying", seq, TOTAL, percent,
                              published_at=time.time())  # fmt: skip
            published[(sync_id, seq)] = event.published_at
            await publisher.publish(event)
    for sync_id in syncs:  # completes every stream (the row stays RUNNING for the next scenario)
        await publisher.publish(SyncEvent(tenant_id, sync_id, app_id, "SUCCEEDED", "applying", TOTAL, TOTAL, 100.0))
    return published, worst


@dataclass(frozen=True)
class Outcome:
    latencies: list[float]  # seconds, sorted
    expected: int
    errors: list[str]
    connections: str
    api_cpu: tuple[float, ...]  # user, system CPU seconds, from the first event published to the last one received
    clients_cpu: float  # the same for the client processes together
    wall: float
    publisher_behind: float
    rate: float


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def scenario(args: argparse.Namespace, api: subprocess.Popen[bytes], url: str, token: str, tenant_id: int,
                   app_id: int, syncs: list[int], redis: aioredis.Redis, namespace: str) -> Outcome:  # fmt: skip
    assignment = [syncs[n % len(syncs)] for n in range(args.subscribers)]
    groups = [assignment[n :: args.clients] for n in range(args.clients)]
    clients = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._progress_clients", url, token, ",".join(map(str, group)),
            stdout=asyncio.subprocess.PIPE, limit=1 << 28,
        )
        for group in groups
    ]  # fmt: skip
    profiler = None
    try:
        for client in clients:
            assert client.stdout is not None
            line = await asyncio.wait_for(client.stdout.readline(), 300)
            if line.strip() != b"ready":
                raise RuntimeError(f"a client process failed to open its subscribers: {line[:500]!r}")
        connections = await redis_connections(redis, api.pid, channel(namespace))
        cpu_before, wall_before = cpu_seconds(api.pid), time.perf_counter()
        profiler = start_py_spy(args.py_spy, len(syncs), api.pid, args.seconds)
        publisher = EventPublisher(aioredis.Redis.from_url(args.redis), namespace)
        try:
            published, behind = await publish(publisher, tenant_id, app_id, syncs, args.rate, args.seconds)
        finally:
            await publisher.close()
        publishing = time.perf_counter() - wall_before
        reports: list[dict[str, Any]] = []
        for client in clients:
            assert client.stdout is not None
            reports.append(json.loads(await asyncio.wait_for(client.stdout.readline(), args.seconds + 120)))
        wall = time.perf_counter() - wall_before  # until the last update arrived: the API's backlog included
        api_cpu = tuple(after - before for after, before in zip(cpu_seconds(api.pid), cpu_before, strict=True))
        for client in clients:
            await client.wait()
    finally:
        for client in clients:
            if client.returncode is None:
                client.kill()
                await client.wait()
        if profiler is not None:
            profiler.wait()
    latencies: list[float] = []
    for report in reports:
        for sync_id, received in report["received"]:
            latencies.extend(at - published[(sync_id, seq)] for seq, at in received)
    per_sync = int(args.seconds * args.rate)
    errors = [e for r in reports for e in r["errors"]]
    clients_cpu = sum(r["cpu"] for r in reports)
    return Outcome(sorted(latencies), per_sync * args.subscribers, errors, connections, api_cpu, clients_cpu, wall,
                   behind, len(published) / publishing)  # fmt: skip


def start_py_spy(target: str | None, syncs: int, pid: int, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy on the API process while publishing: FILE-<syncs>.svg (flame graph) or .txt (collapsed stacks)."""
    if target is None:
        return None
    path = Path(target)
    output = path.with_name(f"{path.stem}-{syncs}{path.suffix}")
    fmt = "raw" if path.suffix == ".txt" else "flamegraph"
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate",
                             "200", "--nonblocking", "--format", fmt, "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def summary(syncs: int, subscribers: int, outcome: Outcome) -> str:
    ms = [1000 * percentile(outcome.latencies, q) for q in (0.5, 0.95, 0.99, 1.0)]
    # Every stream completes with the final state (a client raises otherwise), so an update a subscriber did not get
    # was superseded by a newer one it did get: snapshots, by design, skipped by a subscriber that fell behind.
    skipped = outcome.expected - len(outcome.latencies)
    per = [1e6 * seconds / max(1, len(outcome.latencies)) for seconds in outcome.api_cpu]
    verdict = "ok" if ms[1] < 100 and not outcome.errors else "MISSED (target p95 < 100 ms, every stream complete)"
    lines = [
        f"{subscribers:,} subscribers on {syncs} sync(s): p50 {ms[0]:.1f} ms, p95 {ms[1]:.1f} ms, p99 {ms[2]:.1f} ms, "
        f"max {ms[3]:.1f} ms | received {len(outcome.latencies):,} of {outcome.expected:,} ({skipped:,} superseded "
        f"snapshots skipped) "
        f"{verdict}",
        f"  published {outcome.rate:.0f} events/s (publisher at most {1000 * outcome.publisher_behind:.1f} ms behind "
        f"schedule); mean latency {1000 * statistics.fmean(outcome.latencies or [0]):.1f} ms",
        f"  CPU: API process {100 * sum(outcome.api_cpu) / outcome.wall:.0f}% of a core ({per[0] + per[1]:.0f} us per "
        f"delivered update: user {per[0]:.0f}, system {per[1]:.0f}), client processes "
        f"{100 * outcome.clients_cpu / outcome.wall:.0f}%",
        f"  API process with the subscribers open: {outcome.connections}",
    ]
    lines += [f"  client error: {e}" for e in outcome.errors[:5]]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--syncs", type=int, nargs="+", default=[1, 100], help="one scenario per count")
    parser.add_argument("--rate", type=float, default=4.0, help="events per sync per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=4, help="client processes sharing the subscribers")
    parser.add_argument("--py-spy", metavar="FILE", help="profile the API while publishing (.svg or .txt)")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    namespace = f"bench-progress-{suffix}"
    database_url = await ensure_database(args.dsn, f"bench_progress_{suffix}")
    redis = aioredis.Redis.from_url(args.redis)
    try:
        with tempfile.TemporaryDirectory(prefix="ors-progress-") as data_dir:
            env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": args.redis,
                   "ONEROSTER_SYNC_DATA_DIR": data_dir, "ONEROSTER_SYNC_REDIS_NAMESPACE": namespace}  # fmt: skip
            tenant = json.loads(cli(env, "tenants", "create", f"bench-{suffix}", "--role", "viewer"))
            app_id, syncs = await running_syncs(database_url, tenant["tenantId"], max(args.syncs))
            port = free_port()
            api = await start_api(env, port, Path(data_dir) / "api.log")
            try:
                idle = await redis_connections(redis, api.pid, channel(namespace))
                load = " ".join(f"{n:.1f}" for n in os.getloadavg())
                print(f"API process (pid {api.pid}) before any subscriber: {idle}; load average {load}", flush=True)
                for count in args.syncs:
                    outcome = await scenario(args, api, f"ws://127.0.0.1:{port}/graphql", tenant["token"],
                                             tenant["tenantId"], app_id, syncs[:count], redis, namespace)  # fmt: skip
                    print(summary(count, args.subscribers, outcome), flush=True)
            finally:
                stop(api)
    finally:
        await redis.aclose()
        await drop_database(args.dsn, database_url)


if __name__ == "__main__":
    asyncio.run(main())
