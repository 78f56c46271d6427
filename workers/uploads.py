"""Staged packages: uploads and SFTP drops wait under the data directory until their sync is done.

A message carries only the staging key, never the bytes. Keys are `<tenant id>/<random>.zip`, so a key can neither
leave the staging root nor name another tenant's file.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

_KEY = re.compile(r"^(\d+)/([0-9a-f]{32})\.zip$")
_CHUNK = 1024 * 1024


class UploadTooLarge(Exception):
    """The package is larger than the configured limit."""


class UploadStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, tenant_id: int, key: str) -> Path:
        """The staged file of `key`, which must belong to `tenant_id`."""
        match = _KEY.match(key)
        if match is None or int(match.group(1)) != tenant_id:
            raise ValueError(f"not a staging key of tenant {tenant_id}: {key!r}")
        return self.root / key

    def _target(self, tenant_id: int) -> tuple[str, Path]:
        """A new key and its path, the tenant's folder made."""
        key = f"{tenant_id}/{secrets.token_hex(16)}.zip"
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        return key, target

    def stage_stream(self, tenant_id: int, source: BinaryIO, max_bytes: int) -> str:
        """Copy an open file into staging; raises UploadTooLarge (and keeps nothing) past `max_bytes`."""
        key, target = self._target(tenant_id)
        written = 0
        try:
            with open(target, "wb") as out:
                while chunk := source.read(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise UploadTooLarge(f"the package is larger than {max_bytes} bytes")
                    out.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return key

    def stage_path(self, tenant_id: int, source: Path, *, move: bool = False) -> str:
        """Stage a file already on disk (an SFTP drop is moved, a CLI import is copied); a folder is zipped."""
        key, target = self._target(tenant_id)
        if source.is_dir():
            archive = shutil.make_archive(str(target.with_suffix("")), "zip", root_dir=source)
            os.replace(archive, target)
        elif move:
            shutil.move(source, target)
        else:
            shutil.copyfile(source, target)
        return key

    def discard(self, tenant_id: int, key: str | None) -> None:
        if key:
            self.path(tenant_id, key).unlink(missing_ok=True)
