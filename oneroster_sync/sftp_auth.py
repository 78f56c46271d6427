"""SFTP credentials: scrypt password hashes and OpenSSH authorized keys, as pure functions (no I/O)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import asyncssh

# scrypt cost: about 16 MiB and tens of milliseconds per check, which makes guessing slow and logins still quick.
_N, _R, _P = 2**14, 8, 1
_MAX_N = 2**20  # refuse absurd stored parameters rather than exhaust memory on a login
_SALT_BYTES = 16
_HASH_BYTES = 32
_DUMMY = ""  # filled on first use: a hash to verify against when the user is unknown, so timing reveals nothing


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=_HASH_BYTES, maxmem=256 * 1024 * 1024)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (hex), the format of sftp_accounts.password_hash."""
    if not password:
        raise ValueError("the password is empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; constant time in the digest compare. None (keys only) never matches,
    but costs the same as a real check so that a login cannot tell which accounts have a password."""
    global _DUMMY
    if stored is None:
        if not _DUMMY:
            _DUMMY = hash_password(secrets.token_hex(8))
        verify_password(password, _DUMMY)
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or int(n) > _MAX_N:
            return False
        expected = bytes.fromhex(digest)
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def normalize_authorized_keys(lines: list[str]) -> list[str]:
    """One OpenSSH public key per entry (comments and blank lines dropped); ValueError names a malformed line."""
    keys: list[str] = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            asyncssh.import_authorized_keys(text)
        except (asyncssh.KeyImportError, ValueError) as error:
            raise ValueError(f"not an OpenSSH public key: {text[:40]!r} ({error})") from error
        keys.append(text)
    return keys


def authorized_keys(entries: list[str]) -> asyncssh.SSHAuthorizedKeys | None:
    """The stored keys as asyncssh checks them (key options such as `from=` included), or None when there are none."""
    return asyncssh.import_authorized_keys("\n".join(entries)) if entries else None


def key_summary(entry: str) -> str:
    """`<algorithm> <SHA256 fingerprint> [comment]` of a stored entry, for display (options are skipped)."""
    tokens = entry.split()
    for i in range(len(tokens) - 1):
        try:
            key = asyncssh.import_public_key(f"{tokens[i]} {tokens[i + 1]}")
        except (asyncssh.KeyImportError, ValueError):
            continue
        return " ".join([key.get_algorithm(), key.get_fingerprint(), *tokens[i + 2 :]])
    return "(unreadable key)"
