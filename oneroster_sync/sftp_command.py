"""`oneroster-sync sftp set|show|delete TENANT`: a tenant's SFTP drop-folder account."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from db.migrate import migrate
from db.pool import connect
from db.sftp import NoSftpApp, SftpAccount, UsernameTaken, account_of_tenant, delete_account, set_account
from db.tenants import UnknownTenant, tenant_id_by_name
from oneroster_sync.settings import Settings
from oneroster_sync.sftp_auth import hash_password, key_summary, normalize_authorized_keys


def add_sftp_parser(subparsers: Any) -> None:
    """Register `sftp` on the command's subparsers (argparse's subparsers action has no public type)."""
    sftp = subparsers.add_parser("sftp", help="manage a tenant's SFTP drop-folder account")
    actions = sftp.add_subparsers(dest="action", required=True)
    set_ = actions.add_parser("set", help="create or replace the account (credentials not given are removed)")
    set_.add_argument("tenant")
    set_.add_argument("--username", required=True, help="unique across tenants: letters, digits, . _ -")
    set_.add_argument("--password-stdin", action="store_true", help="read the password from stdin (first line)")
    set_.add_argument("--authorized-key", action="append", default=[], metavar="PATH",
                      help="an OpenSSH public key or authorized_keys file; may be repeated")  # fmt: skip
    show = actions.add_parser("show", help="print the account (never the password)")
    show.add_argument("tenant")
    delete = actions.add_parser("delete", help="remove the account; the folder's files stay")
    delete.add_argument("tenant")


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("SFTP password: ")
    return sys.stdin.readline().rstrip("\r\n")


def _describe(tenant: str, account: SftpAccount, root: Path) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "tenantId": account.tenant_id,
        "username": account.username,
        "root": str(root / str(account.tenant_id)),
        "password": account.password_hash is not None,
        "authorizedKeys": [key_summary(key) for key in account.authorized_keys],
        "appId": account.app_id,
        "updatedAt": account.updated_at.isoformat(),
    }


async def run_sftp_command(database_url: str, args: argparse.Namespace) -> int:
    root = Settings.from_env().sftp_root
    password_hash: str | None = None
    keys: list[str] = []
    try:
        if args.action == "set":
            # Credentials are read and checked before touching the database, so a typo changes nothing.
            if args.password_stdin:
                password_hash = hash_password(_read_password())
            for path in args.authorized_key:
                keys += normalize_authorized_keys(Path(path).read_text().splitlines())
            if password_hash is None and not keys:
                raise ValueError("give --password-stdin, --authorized-key PATH, or both")
    except (ValueError, OSError) as exc:
        print(f"oneroster-sync: {exc}", file=sys.stderr)
        return 2
    conn = await connect(database_url)
    try:
        await migrate(conn)
        tenant_id = await tenant_id_by_name(conn, args.tenant)
        if args.action == "set":
            account = await set_account(conn, tenant_id, args.username, password_hash=password_hash,
                                        authorized_keys=keys)  # fmt: skip
            out = {"tenant": args.tenant, "username": account.username, "root": str(root / str(tenant_id))}
        elif args.action == "show":
            found = await account_of_tenant(conn, tenant_id)
            if found is None:
                print(f"oneroster-sync: {args.tenant} has no SFTP account", file=sys.stderr)
                return 1
            out = _describe(args.tenant, found, root)
        else:
            out = {"tenant": args.tenant, "deleted": await delete_account(conn, tenant_id)}
    except (UnknownTenant, NoSftpApp, UsernameTaken, ValueError) as exc:
        print(f"oneroster-sync: {exc}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    print(json.dumps(out))
    return 0
