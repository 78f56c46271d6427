"""A client process of bench.progress_latency: syncProgress subscribers over graphql-transport-ws, one WebSocket each.

    python -m bench._progress_clients URL TOKEN SYNC_ID,SYNC_ID,...  (one database sync id per subscriber)

Prints `ready` once every subscriber has received its first snapshot (so the API's hub has it registered), then, when
every stream has completed, one JSON line: {"received": [[sync_id, [[processed, received_at], ...]], ...],
"errors": [...], "cpu": seconds} with the wall-clock time (time.time()) each RUNNING update arrived and the CPU
time the process used while receiving.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from strawberry.relay import to_base64
from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"
QUERY = "subscription($id: ID!) { syncProgress(syncId: $id) { processed status } }"
CONNECT_CONCURRENCY = 25  # each connection authenticates and reads the sync: don't queue 250 at once on the pool


async def open_stream(url: str, token: str, sync_id: int) -> ClientConnection:
    """A connection with its subscription started and the current snapshot received."""
    # No keepalive pings: a ping delayed by a busy server would close the connection mid-measurement.
    ws = await connect(url, subprotocols=[PROTOCOL], ping_interval=None, max_queue=None)  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    ack = json.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"connection_init refused: {ack}")
    variables = {"id": to_base64("Sync", sync_id)}
    await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {"query": QUERY, "variables": variables}}))
    first = json.loads(await ws.recv())
    if first.get("type") != "next" or first["payload"].get("errors"):
        raise RuntimeError(f"syncProgress did not start: {first}")
    return ws


async def follow(ws: ClientConnection) -> list[tuple[int, float]]:
    """Every RUNNING update until the stream completes: (processed, received at)."""
    received: list[tuple[int, float]] = []
    completed = False
    async for raw in ws:
        now = time.time()  # first, so the parsing below is not counted as latency
        message: dict[str, Any] = json.loads(raw)
        if message["type"] == "complete":
            completed = True
            break
        if message["type"] != "next" or message["payload"].get("errors"):
            raise RuntimeError(f"unexpected message: {message}")
        progress = message["payload"]["data"]["syncProgress"]
        if progress["status"] == "RUNNING":
            received.append((progress["processed"], now))
    await ws.close()
    if not completed:
        raise RuntimeError("the stream ended without completing (the final state never arrived)")
    return received


async def main(url: str, token: str, sync_ids: list[int]) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def opened(sync_id: int) -> ClientConnection:
        async with gate:
            return await open_stream(url, token, sync_id)

    streams = await asyncio.gather(*(opened(s) for s in sync_ids))
    print("ready", flush=True)
    cpu_at_ready = time.process_time()
    outcomes = await asyncio.gather(*(follow(ws) for ws in streams), return_exceptions=True)
    received, errors = [], []
    for sync_id, outcome in zip(sync_ids, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            errors.append(f"sync {sync_id}: {outcome!r}")
            received.append([sync_id, []])
        else:
            received.append([sync_id, outcome])
    cpu = time.process_time() - cpu_at_ready
    print(json.dumps({"received": received, "errors": errors, "cpu": cpu}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]))
