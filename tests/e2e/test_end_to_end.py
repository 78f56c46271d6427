"""End to end, as deployed: uvicorn, a worker process and the Redis broker. A district uploads a package over the
GraphQL multipart spec, watches it live over graphql-transport-ws, and reads its summary."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.e2e.conftest import new_tenant
from tests.e2e.stack import Stack
from workers.progress import PHASES

pytestmark = pytest.mark.timeout(300)

PROGRESS = """subscription($id: ID!) { syncProgress(syncId: $id) {
    status phase processed total percent done sync { id status recordCount } } }"""
SUMMARY = """query($id: ID!) { node(id: $id) { ... on Sync { status recordCount errorCount
    summaries { dataType total records(first: 1) { totalCount } } } } }"""


async def test_an_upload_is_imported_by_a_worker_while_the_district_watches(stack: Stack, district_zip: Path) -> None:
    stack.start_worker()
    client = new_tenant(stack).client
    sync_id = await client.start_import(await client.app_id("csv-upload"), district_zip)

    events = [event["data"]["syncProgress"] async for event in client.subscribe(PROGRESS, id=sync_id)]

    assert events[0]["sync"]["id"] == sync_id and events[0]["status"] in ("QUEUED", "RUNNING")
    assert events[-1]["status"] == "SUCCEEDED" and events[-1]["done"] and events[-1]["percent"] == 100.0
    assert all(not e["done"] for e in events[:-1])
    percents = [e["percent"] for e in events]
    assert percents == sorted(percents), "progress never goes back"
    running = [(PHASES.index(e["phase"]), e["processed"]) for e in events if e["status"] == "RUNNING"]
    assert running == sorted(running), "phases come in order and each phase's count only grows"
    assert {"parsing", "applying"} <= {e["phase"] for e in events}

    sync = (await client.query(SUMMARY, id=sync_id))["node"]
    assert sync["status"] == "SUCCEEDED" and sync["errorCount"] == 0
    totals = {s["dataType"]: s["total"] for s in sync["summaries"]}
    assert totals["ENROLLMENTS"] == 60_000
    assert sum(totals.values()) == sync["recordCount"] == events[-1]["sync"]["recordCount"]
    assert all(s["records"]["totalCount"] == s["total"] for s in sync["summaries"])


async def test_an_upload_without_the_preflight_header_is_refused(stack: Stack, district_zip: Path) -> None:
    client = new_tenant(stack).client
    response = await client.upload(await client.app_id("csv-upload"), district_zip, preflight=False)
    assert response.status_code == 400
    assert "GraphQL-Require-Preflight" in response.json()["errors"][0]["message"]
    history = await client.query("{ syncs(first: 5) { totalCount } }")
    assert history["syncs"]["totalCount"] == 0, "nothing was queued"


@pytest.mark.parametrize("init", [{}, {"authorization": "Bearer ors_1_not-a-real-token"}])
async def test_a_subscription_without_a_valid_token_is_refused(stack: Stack, init: dict[str, str]) -> None:
    ws_url = stack.url.replace("http://", "ws://")
    async with websockets.connect(ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": init}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_the_history_updates_itself(stack: Stack, district_zip: Path) -> None:
    stack.start_worker()
    client = new_tenant(stack).client
    app_id = await client.app_id("csv-upload")
    seen: list[tuple[str, str]] = []

    async def watch() -> None:
        async for event in client.subscribe("subscription($apps: [ID!]) { syncUpdates(appIds: $apps) { id status } }",
                                            apps=[app_id]):  # fmt: skip
            update = event["data"]["syncUpdates"]
            seen.append((update["id"], update["status"]))
            if update["status"] == "SUCCEEDED":
                return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(1)  # the subscription is established
    sync_id = await client.start_import(app_id, district_zip)
    await asyncio.wait_for(watcher, 180)
    statuses = [status for sid, status in seen if sid == sync_id]
    # Each state once, in order; a state already left when its event is read is skipped (the next one follows).
    assert statuses[-1] == "SUCCEEDED" and statuses[0] in ("QUEUED", "RUNNING")
    assert statuses == sorted(set(statuses), key=["QUEUED", "RUNNING", "SUCCEEDED"].index)


def test_the_import_command_waits_for_the_queued_import(stack: Stack, district_zip: Path) -> None:
    stack.start_worker()
    district = new_tenant(stack)
    output = stack.cli("import", str(district_zip), "--tenant", district.name, "--wait")
    lines = output.splitlines()
    assert lines[0].endswith(": SUCCEEDED"), output
    enrollments = next(line.split() for line in lines if line.strip().startswith("enrollments"))
    assert enrollments[1:4] == ["60000", "0", "60000"], "total, no change, new"


def test_the_import_command_queues_without_waiting(stack: Stack, district_zip: Path) -> None:
    district = new_tenant(stack)
    queued = json.loads(stack.cli("import", str(district_zip), "--tenant", district.name))
    assert queued["status"] == "QUEUED" and queued["sync"] > 0
