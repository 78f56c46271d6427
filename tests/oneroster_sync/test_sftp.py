"""The SFTP import app on real PostgreSQL and Redis: logins, per-tenant roots, and drops that queue imports."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import subprocess
import sys
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import asyncssh
import pytest
import redis.asyncio as aioredis

from db.apps import install_app, uninstall_app
from db.sftp import set_account
from oneroster_sync.settings import Endpoints
from oneroster_sync.sftp import start_sftp_server
from oneroster_sync.sftp_auth import hash_password
from tests.conftest import Tenant, make_tenant
from workers.broker import create_broker
from workers.events import EventPublisher
from workers.queue import IMPORTS_QUEUE, SyncQueue
from workers.submit import SyncSubmitter
from workers.uploads import UploadStore

PASSWORD = "correct horse battery staple"


@dataclass
class Server:
    port: int
    root: Path
    uploads: UploadStore
    namespace: str
    redis: aioredis.Redis
    submitter: SyncSubmitter


async def _start(pool: asyncpg.Pool, server: Server, tmp: Path, **kwargs: int) -> asyncssh.SSHAcceptor:
    return await start_sftp_server(
        pool=pool, uploads=server.uploads, submitter=server.submitter, root=server.root, host="127.0.0.1", port=0,
        host_key_path=tmp / "host_ed25519_key", **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def server(
    endpoints: Endpoints, pool: asyncpg.Pool, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    tmp = tmp_path_factory.mktemp("sftp")
    namespace = f"{endpoints.redis_namespace}-sftp-{uuid.uuid4().hex[:6]}"  # no worker consumes this queue
    broker = create_broker(endpoints.redis_url, namespace)
    client = aioredis.Redis.from_url(endpoints.redis_url)
    submitter = SyncSubmitter(pool, SyncQueue(broker), EventPublisher(client, namespace))
    state = Server(0, tmp / "sftp", UploadStore(tmp / "uploads"), namespace, client, submitter)
    acceptor = await _start(pool, state, tmp)
    state.port = acceptor.get_port()
    yield state
    acceptor.close()
    await acceptor.wait_closed()
    keys = [key async for key in client.scan_iter(f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    broker.close()


@contextlib.asynccontextmanager
async def connect(
    port: int, username: str, password: str | None = None, key: asyncssh.SSHKey | None = None
) -> AsyncIterator[asyncssh.SSHClientConnection]:
    async with asyncssh.connect(
        "127.0.0.1", port, username=username, password=password, client_keys=[key] if key else None,
        known_hosts=None, agent_path=None, config=None, preferred_auth="publickey,password",
    ) as conn:  # fmt: skip
        yield conn


async def account(pool: asyncpg.Pool, tenant: Tenant, keys: list[str] | None = None) -> str:
    username = f"sis-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await set_account(conn, tenant.id, username, password_hash=hash_password(PASSWORD), authorized_keys=keys or [])
    return username


def tiny_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.csv", "propertyName,value\nmanifest.version,1.0\n")
        archive.writestr("orgs.csv", f"sourcedId,status,dateLastModified,name,type\n{uuid.uuid4()},,,School,school\n")
    return buffer.getvalue()


async def syncs_of(pool: asyncpg.Pool, tenant: Tenant) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT s.id, s.status, s.kind, s.upload_key, a.provider FROM syncs s
           JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id WHERE s.tenant_id = $1 ORDER BY s.id""",
        tenant.id,
    )


async def queued_messages(server: Server) -> list[list[int]]:
    """The (tenant id, sync id) arguments of the import messages waiting in this module's Redis queue."""
    ids = await server.redis.lrange(f"{server.namespace}:{IMPORTS_QUEUE}", 0, -1)
    bodies = await server.redis.hmget(f"{server.namespace}:{IMPORTS_QUEUE}.msgs", ids) if ids else []
    return [json.loads(body)["args"] for body in bodies if body is not None]


async def put(port: int, username: str, name: str, data: bytes) -> None:
    async with (
        connect(port, username, PASSWORD) as conn,
        conn.start_sftp_client() as sftp,
        sftp.open(name, "wb") as remote,
    ):
        await remote.write(data)


async def test_a_wrong_password_or_unknown_user_is_refused(server: Server, pool: asyncpg.Pool, tenant: Tenant) -> None:
    username = await account(pool, tenant)
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server.port, username, "wrong"):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server.port, f"nobody-{uuid.uuid4().hex[:6]}", PASSWORD):
            pass


async def test_a_zip_put_queues_exactly_one_import_of_the_sftp_app(
    server: Server, pool: asyncpg.Pool, tenant: Tenant, tmp_path: Path
) -> None:
    username = await account(pool, tenant)
    package = tiny_zip()
    (tmp_path / "roster.ZIP").write_bytes(package)
    async with connect(server.port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        await sftp.put(str(tmp_path / "roster.ZIP"), "roster.ZIP")  # the close answers once the sync is queued
        assert await sftp.listdir(".") == [".", ".."]  # moved into staging
    [sync] = await syncs_of(pool, tenant)
    assert (sync["status"], sync["kind"], sync["provider"]) == ("QUEUED", "IMPORT", "sftp")
    assert server.uploads.path(tenant.id, sync["upload_key"]).read_bytes() == package
    assert [tenant.id, sync["id"]] in await queued_messages(server)


async def test_a_real_sample_package_is_staged_byte_for_byte(
    server: Server, pool: asyncpg.Pool, tenant: Tenant, shared_samples: Path
) -> None:
    sample = shared_samples / "moodle-Test_minimal_data_set" / "Test_minimal_data_set.zip"
    if not sample.is_file():
        pytest.skip(f"{sample} is not present")
    username = await account(pool, tenant)
    async with connect(server.port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        await sftp.put(str(sample), "nightly.zip")
    [sync] = await syncs_of(pool, tenant)
    assert server.uploads.path(tenant.id, sync["upload_key"]).read_bytes() == sample.read_bytes()


async def test_upload_then_rename_starts_the_import(server: Server, pool: asyncpg.Pool, tenant: Tenant) -> None:
    username = await account(pool, tenant)
    package = tiny_zip()
    async with connect(server.port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        await sftp.mkdir("incoming")
        async with sftp.open("incoming/roster.zip.part", "wb") as remote:
            await remote.write(package)
        assert await syncs_of(pool, tenant) == []  # not a package yet
        await sftp.rename("incoming/roster.zip.part", "incoming/roster.zip")
        [sync] = await syncs_of(pool, tenant)
        assert server.uploads.path(tenant.id, sync["upload_key"]).read_bytes() == package
        async with sftp.open("second.part", "wb") as remote:
            await remote.write(package)
        await sftp.posix_rename("second.part", "second.zip")
        assert len(await syncs_of(pool, tenant)) == 2
        assert sorted(await sftp.listdir("incoming")) == [".", ".."]


async def test_a_file_renamed_while_still_open_is_dropped_when_closed(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    username = await account(pool, tenant)
    async with connect(server.port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        remote = await sftp.open("x.tmp", "wb")
        await remote.write(b"PK")
        await sftp.rename("x.tmp", "x.zip")
        assert await syncs_of(pool, tenant) == []  # still being written
        await remote.write(tiny_zip()[2:], 2)
        await remote.close()
        assert len(await syncs_of(pool, tenant)) == 1


async def test_a_non_zip_file_starts_nothing(server: Server, pool: asyncpg.Pool, tenant: Tenant) -> None:
    username = await account(pool, tenant)
    await put(server.port, username, "users.csv", b"sourcedId\n1\n")
    await put(server.port, username, "placeholder.zip", b"")  # some clients create the file before writing it
    assert await syncs_of(pool, tenant) == []
    assert (server.root / str(tenant.id) / "users.csv").read_bytes() == b"sourcedId\n1\n"


async def test_an_interrupted_upload_starts_nothing(server: Server, pool: asyncpg.Pool, tenant: Tenant) -> None:
    username = await account(pool, tenant)
    async with connect(server.port, username, PASSWORD) as conn:
        sftp = await conn.start_sftp_client()
        remote = await sftp.open("cut.zip", "wb")
        await remote.write(tiny_zip()[:40])
        conn.abort()  # the client goes away without closing the file
        await conn.wait_closed()
    await asyncio.sleep(0.5)  # the server closes the file when it notices the session is gone
    assert await syncs_of(pool, tenant) == []
    assert (server.root / str(tenant.id) / "cut.zip").stat().st_size == 40  # left for the client to upload again


async def test_tenants_cannot_see_each_other_and_dotdot_stays_inside(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    other = await make_tenant(pool)
    mine, theirs = await account(pool, tenant), await account(pool, other)
    await put(server.port, theirs, "secret.csv", b"their data")
    async with connect(server.port, mine, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        assert await sftp.realpath("..") == "/"
        assert await sftp.realpath("/../..") == "/"
        for folder in ("/", "..", "../.."):
            assert await sftp.listdir(folder) == [".", ".."]
        for path in (f"../{other.id}/secret.csv", f"/../{other.id}/secret.csv", "../../secret.csv"):
            with pytest.raises(asyncssh.SFTPNoSuchFile):
                async with sftp.open(path, "rb") as remote:
                    await remote.read()
        with pytest.raises(asyncssh.SFTPNoSuchFile):
            await sftp.listdir(f"../{other.id}")
        with pytest.raises(asyncssh.SFTPOpUnsupported):
            await sftp.symlink(f"/../{other.id}/secret.csv", "link")
        assert await sftp.listdir("/") == [".", ".."]  # the session is still usable after the refusals
    assert (server.root / str(other.id) / "secret.csv").read_bytes() == b"their data"


async def test_public_key_auth(server: Server, pool: asyncpg.Pool, tenant: Tenant) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519", comment="sis@district")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    username = await account(pool, tenant, keys=[key.export_public_key().decode().strip()])
    async with (
        connect(server.port, username, key=key) as conn,
        conn.start_sftp_client() as sftp,
        sftp.open("by-key.zip", "wb") as remote,
    ):
        await remote.write(tiny_zip())
    assert len(await syncs_of(pool, tenant)) == 1
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server.port, username, key=stranger):
            pass


async def test_shell_and_exec_are_refused(server: Server, pool: asyncpg.Pool, tenant: Tenant) -> None:
    username = await account(pool, tenant)
    async with connect(server.port, username, PASSWORD) as conn:
        with pytest.raises((asyncssh.ChannelOpenError, asyncssh.ProcessError)):
            await conn.run("id", check=True)


async def test_an_upload_over_the_limit_is_refused_with_an_error_note(
    server: Server, pool: asyncpg.Pool, tenant: Tenant, tmp_path: Path
) -> None:
    small = await _start(pool, server, tmp_path, max_bytes=1000)
    try:
        username = await account(pool, tenant)
        async with connect(small.get_port(), username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            with pytest.raises(asyncssh.SFTPFailure, match="larger than 1000 bytes"):
                async with sftp.open("huge.zip", "wb") as remote:
                    await remote.write(b"x" * 600)
                    await remote.write(b"x" * 600)
            assert sorted(await sftp.listdir(".")) == [".", "..", "huge.zip.error"]
            async with sftp.open("huge.zip.error") as note:
                assert "larger than 1000 bytes" in await note.read()
    finally:
        small.close()
    assert await syncs_of(pool, tenant) == []


async def test_a_failed_start_leaves_the_file_with_an_error_note(
    server: Server, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    username = await account(pool, tenant)
    async with pool.acquire() as db:
        app_id = await db.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND provider = 'sftp'", tenant.id)
        await uninstall_app(db, tenant.id, app_id)
    package = tiny_zip()
    home = server.root / str(tenant.id)
    async with connect(server.port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        async with sftp.open("roster.zip", "wb") as remote:
            await remote.write(package)
        assert (home / "roster.zip").read_bytes() == package
        assert "not installed" in (home / "roster.zip.error").read_text()
        assert list((server.uploads.root / str(tenant.id)).glob("*")) == []
        async with pool.acquire() as db:
            await install_app(db, tenant.id, "sftp")  # reinstalled: the same app comes back
        await sftp.rename("roster.zip", "again.zip")  # the way to retry
        assert sorted(await sftp.listdir(".")) == [".", "..", "roster.zip.error"]
    [sync] = await syncs_of(pool, tenant)
    assert sync["status"] == "QUEUED"


async def test_the_host_key_is_kept(server: Server, tmp_path: Path) -> None:
    from oneroster_sync.sftp import load_or_create_host_key

    path = tmp_path / "keys" / "host"
    first = load_or_create_host_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_host_key(path).public_data == first.public_data


async def test_cli_set_then_login(
    server: Server, endpoints: Endpoints, pool: asyncpg.Pool, tenant: Tenant, tmp_path: Path
) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "id.pub").write_bytes(key.export_public_key())
    env = {"DATABASE_URL": endpoints.database_url, "REDIS_URL": endpoints.redis_url, "PATH": "/usr/bin:/bin",
           "ONEROSTER_SYNC_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    username = f"cli-{uuid.uuid4().hex[:8]}"

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "oneroster_sync.cli", "sftp", *args], env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    made = cli("set", tenant.name, "--username", username, "--password-stdin",
               "--authorized-key", str(tmp_path / "id.pub"), stdin=f"{PASSWORD}\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {
        "tenant": tenant.name, "username": username, "root": str(tmp_path / "data" / "sftp" / str(tenant.id))
    }  # fmt: skip
    async with connect(server.port, username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
        assert await sftp.listdir(".") == [".", ".."]
    async with connect(server.port, username, key=key):
        pass
    shown = json.loads(cli("show", tenant.name).stdout)
    assert shown["password"] is True and shown["authorizedKeys"][0].startswith("ssh-ed25519 SHA256:")

    other = await make_tenant(pool)
    taken = cli("set", other.name, "--username", username, "--password-stdin", stdin="x\n")
    assert taken.returncode == 1 and "another tenant" in taken.stderr
    assert cli("set", other.name, "--username", "no spaces", "--password-stdin", stdin="x\n").returncode == 1
    assert cli("set", other.name, "--username", "nocredentials").returncode == 2

    assert json.loads(cli("delete", tenant.name).stdout) == {"tenant": tenant.name, "deleted": True}
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server.port, username, PASSWORD):
            pass
    assert cli("show", tenant.name).returncode == 1
