"""The SFTP import app: districts' SIS drop packages over SFTP, each tenant into a root folder of its own.

A `.zip` (any case) that is fully written -- closed by the client after writing, or renamed to that name, as clients
that upload `x.zip.part` and then rename do -- is moved into staging and becomes a QUEUED import of the tenant's
`sftp` app, exactly as an API upload would. A drop that cannot be started stays where it was with `<name>.error`
beside it saying why; the server logs it and keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import asyncpg
import asyncssh

from db.sftp import SftpAccount, account_by_username
from oneroster_sync.sftp_auth import authorized_keys, verify_password
from workers.submit import QueueUnavailable, SyncSubmitter
from workers.uploads import UploadStore

log = logging.getLogger(__name__)

MAX_BYTES = 512 * 1024 * 1024
_ACCOUNT = "sftp_account"  # the connection's extra-info key for the authenticated account


class _Refused(Exception):
    """A drop that is not started; the message is written to the `.error` note for the district to read."""


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's ed25519 host key, generated on first start and kept (0600) so clients can pin it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.export_private_key())
        try:
            os.link(temporary, path)  # atomic and never overwrites: two processes starting at once agree on one key
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return asyncssh.read_private_key(path)


def _regular_file_size(path: Path) -> int | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _write_note(path: Path, reason: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.with_name(f"{path.name}.error").write_text(f"{stamp} {path.name}: {reason}\n")


class _Drops:
    """What every session shares: staging, the submitter and the limits."""

    def __init__(self, uploads: UploadStore, submitter: SyncSubmitter, root: Path, max_bytes: int) -> None:
        self.uploads = uploads
        self.submitter = submitter
        self.root = root
        self.max_bytes = max_bytes

    def too_large(self) -> str:
        return f"the upload was refused: files larger than {self.max_bytes} bytes are not accepted"

    async def refuse(self, tenant_id: int, path: Path, reason: str) -> None:
        """An upload cut off at the size limit: the partial file is removed and the note says why."""
        log.warning("tenant %s: SFTP upload %s: %s", tenant_id, path.name, reason)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            await asyncio.to_thread(_write_note, path, reason)
        except OSError as error:
            log.error("tenant %s: could not clean up the refused upload %s: %s", tenant_id, path, error)

    async def note(self, tenant_id: int, path: Path, reason: str) -> None:
        try:
            await asyncio.to_thread(_write_note, path, reason)
        except OSError as error:
            log.error("tenant %s: could not write the error note of %s: %s", tenant_id, path, error)

    async def drop(self, account: SftpAccount, path: Path) -> bool:
        """Stage a fully written package and start its import; never raises (a session must outlive any drop)."""
        tenant_id = account.tenant_id
        try:
            size = await asyncio.to_thread(_regular_file_size, path)
            # A folder renamed to x.zip, a file gone meanwhile, or an empty placeholder some clients create first.
            if not size:
                return False
            if size > self.max_bytes:
                raise _Refused(self.too_large())
            if account.app_id is None:
                raise _Refused("the sftp app is not set up for this district")
            key = await asyncio.to_thread(self.uploads.stage_path, tenant_id, path, move=True)
        except (_Refused, OSError) as error:
            log.error("tenant %s: SFTP drop %s not staged: %s", tenant_id, path.name, error)
            reason = str(error) if isinstance(error, _Refused) else "the file could not be read"
            await self.note(tenant_id, path, reason)
            return False
        try:
            sync = await self.submitter.start_import(tenant_id, account.app_id, key)
        except Exception as error:  # any failure: the package goes back where the district put it
            log.exception("tenant %s: SFTP drop %s: the import could not be started", tenant_id, path.name)
            await self._unstage(tenant_id, key, path)
            await self.note(tenant_id, path, _reason(error))
            return False
        log.info("tenant %s: SFTP drop %s started import sync %s", tenant_id, path.name, sync.id)
        with contextlib.suppress(OSError):
            await asyncio.to_thread(path.with_name(f"{path.name}.error").unlink, missing_ok=True)  # a stale note
        return True

    async def _unstage(self, tenant_id: int, key: str, path: Path) -> None:
        try:
            await asyncio.to_thread(shutil.move, self.uploads.path(tenant_id, key), path)
        except OSError as error:
            log.error("tenant %s: could not move staged %s back to %s: %s", tenant_id, key, path, error)


def _reason(error: Exception) -> str:
    if isinstance(error, LookupError):
        return "the sftp app is not installed for this district; install it, then upload or rename the file again"
    if isinstance(error, QueueUnavailable):
        return "the import queue is unavailable; upload or rename the file again later"
    return f"the import could not be started ({type(error).__name__}); upload or rename the file again later"


class _Login(asyncssh.SSHServer):
    """Password and public-key logins against sftp_accounts; one instance per connection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncssh.SSHServerConnection | None = None
        self._account: SftpAccount | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn

    async def begin_auth(self, username: str) -> bool:
        try:
            self._account = await account_by_username(self._pool, username)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            log.error("SFTP login of %r: the account could not be read: %s", username, error)
            self._account = None
        assert self._conn is not None
        # Unknown users go through the same steps and fail, so a login cannot probe which usernames exist.
        self._conn.set_authorized_keys(authorized_keys(self._account.authorized_keys) if self._account else None)
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        account = self._account
        # scrypt takes tens of milliseconds: off the event loop, so logins don't stall transfers.
        valid = await asyncio.to_thread(verify_password, password, account.password_hash if account else None)
        return valid and account is not None

    def public_key_auth_supported(self) -> bool:
        return True  # keys are matched against the account's authorized keys set in begin_auth

    def auth_completed(self) -> None:
        # Synchronous on purpose: asyncssh accepts session requests as soon as it has sent the auth success, so
        # the account must be on the connection before any await.
        assert self._conn is not None and self._account is not None
        self._conn.set_extra_info(**{_ACCOUNT: self._account})
        log.info("tenant %s: SFTP login as %s", self._account.tenant_id, self._account.username)


@dataclass(slots=True)
class _Upload:
    path: Path  # follows renames while the file is open
    append: bool
    refused: bool = False


class _DropFolder(asyncssh.SFTPServer):
    """One SFTP session, chrooted to its tenant's folder: `..` and absolute paths resolve inside it."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], drops: _Drops, account: SftpAccount) -> None:
        super().__init__(chan, chroot=os.fsencode(drops.root / str(account.tenant_id)))
        self._account = account
        self._drops = drops
        self._uploads: dict[object, _Upload] = {}
        self._dropped: set[Path] = set()

    def _local(self, path: bytes) -> Path:
        return Path(os.fsdecode(self.map_path(path)))

    def _track(self, file_obj: object, path: bytes, *, append: bool) -> None:
        self._uploads[file_obj] = _Upload(self._local(path), append)

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        file_obj = super().open(path, pflags, attrs)
        if pflags & asyncssh.FXF_WRITE:
            self._track(file_obj, path, append=bool(pflags & asyncssh.FXF_APPEND))
        return file_obj

    def open56(self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs) -> object:
        file_obj = super().open56(path, desired_access, flags, attrs)
        append = bool(desired_access & asyncssh.ACE4_APPEND_DATA or flags & asyncssh.FXF_APPEND_DATA)
        if desired_access & asyncssh.ACE4_WRITE_DATA or append:
            self._track(file_obj, path, append=append)
        return file_obj

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        upload = self._uploads.get(file_obj)
        if upload is not None:
            start = os.fstat(cast(io.RawIOBase, file_obj).fileno()).st_size if upload.append else offset
            if upload.refused or start + len(data) > self._drops.max_bytes:
                upload.refused = True
                raise asyncssh.SFTPFailure(self._drops.too_large())
        return cast(int, super().write(file_obj, offset, data))

    async def close(self, file_obj: object) -> None:
        super().close(file_obj)
        upload = self._uploads.pop(file_obj, None)
        if upload is None:
            return
        if upload.refused:
            await self._drops.refuse(self._account.tenant_id, upload.path, self._drops.too_large())
        elif self.channel.is_closing():
            # Closed by the session ending, not by the client: the upload was cut off, so it is not a package.
            log.warning("tenant %s: SFTP upload %s interrupted", self._account.tenant_id, upload.path.name)
        else:
            await self._drop(upload.path)

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().rename(oldpath, newpath)
        await self._renamed(oldpath, newpath)

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        super().posix_rename(oldpath, newpath)
        await self._renamed(oldpath, newpath)

    async def _renamed(self, oldpath: bytes, newpath: bytes) -> None:
        old, new = self._local(oldpath), self._local(newpath)
        for upload in self._uploads.values():
            if upload.path == old:  # still being written: its close drops it
                upload.path = new
                return
        await self._drop(new)

    async def _drop(self, path: Path) -> None:
        if path.name.lower().endswith(".zip") and await self._drops.drop(self._account, path):
            self._dropped.add(path)

    def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        # Clients that set times after closing (or renaming) would fail on a package already moved into staging.
        try:
            super().setstat(path, attrs)
        except FileNotFoundError:
            if self._local(path) not in self._dropped:
                raise

    # Links are refused so that nothing in a tenant's folder can point outside of it.
    def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("links are not supported")

    def link(self, oldpath: bytes, newpath: bytes) -> None:
        raise asyncssh.SFTPOpUnsupported("links are not supported")


async def _open_session(chan: asyncssh.SSHServerChannel[bytes], drops: _Drops) -> _DropFolder:
    account = chan.get_connection().get_extra_info(_ACCOUNT)
    assert isinstance(account, SftpAccount)  # sessions open only after auth_completed
    home = drops.root / str(account.tenant_id)
    await asyncio.to_thread(home.mkdir, mode=0o700, parents=True, exist_ok=True)
    return _DropFolder(chan, drops, account)


async def start_sftp_server(
    *,
    pool: asyncpg.Pool,
    uploads: UploadStore,
    submitter: SyncSubmitter,
    root: Path,
    host: str,
    port: int,
    host_key_path: Path,
    max_bytes: int = MAX_BYTES,
) -> asyncssh.SSHAcceptor:
    """Listen for SFTP logins (port 0: an ephemeral port, see `.get_port()`); `.close()` stops it."""
    host_key = await asyncio.to_thread(load_or_create_host_key, host_key_path)
    await asyncio.to_thread(root.mkdir, mode=0o700, parents=True, exist_ok=True)
    drops = _Drops(uploads, submitter, root, max_bytes)
    acceptor = await asyncssh.listen(
        host,
        port,
        server_factory=lambda: _Login(pool),
        server_host_keys=[host_key],
        sftp_factory=lambda chan: _open_session(cast(asyncssh.SSHServerChannel[bytes], chan), drops),
        allow_scp=False,
        agent_forwarding=False,
        authorized_client_keys=None,  # never the keys of the user running the service
        config=None,
    )
    log.info("SFTP drop folders under %s on %s:%s", root, host, acceptor.get_port())
    return acceptor
