"""The `oneroster-sync` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from db.migrate import MigrationError, migrate
from db.pool import connect
from db.tenants import ROLES, TenantExists, UnknownTenant, create_tenant, create_token, tenant_id_by_name
from oneroster_sync.services import resolve_endpoints, worker_config
from oneroster_sync.settings import Endpoints, Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oneroster-sync", description="OneRoster rostering sync service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (GraphiQL at /graphql) with in-process workers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="in-process worker threads (0: workers run apart)")

    worker = commands.add_parser("worker", help="run Dramatiq workers only (scale out on more machines)")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=2)

    commands.add_parser("migrate", help="apply database migrations")

    demo = commands.add_parser("demo", help="a demo tenant with a generated district and a few days of history")
    demo.add_argument("--tenant", default="demo", help="the new tenant's name (default demo)")
    demo.add_argument("--size", choices=("small", "medium"), default="small")

    imports = commands.add_parser("import", help="import a OneRoster package (zip or folder) and print its summary")
    imports.add_argument("path")
    imports.add_argument("--tenant", required=True)
    imports.add_argument("--app", default="csv-upload", help="the import app's name (default csv-upload)")
    imports.add_argument("--dry-run", action="store_true", help="compute the whole summary, apply nothing")
    imports.add_argument("--wait", action="store_true", help="follow the import live, then print its summary")
    imports.add_argument("--in-process", action="store_true", help="run the engine here instead of on a worker")

    tenants = commands.add_parser("tenants", help="manage tenants").add_subparsers(dest="action", required=True)
    create = tenants.add_parser("create", help="create a tenant with its default apps and an API token")
    create.add_argument("name")
    create.add_argument("--role", choices=ROLES, default="admin")

    tokens = commands.add_parser("tokens", help="manage API tokens").add_subparsers(dest="action", required=True)
    token = tokens.add_parser("create", help="create another API token for a tenant")
    token.add_argument("tenant")
    token.add_argument("--role", choices=ROLES, required=True)

    from oneroster_sync.sftp_command import add_sftp_parser

    add_sftp_parser(commands)
    return parser


async def _with_database(endpoints: Endpoints, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """Run `work` on a connection to a migrated database (migrations are applied first, as at every start)."""
    conn = await connect(endpoints.database_url)
    try:
        applied = await migrate(conn)
        return applied if work is migrate else await work(conn)
    finally:
        await conn.close()


async def _create_tenant(conn: asyncpg.Connection, name: str, role: str) -> dict[str, Any]:
    tenant_id = await create_tenant(conn, name)
    return {"tenant": name, "tenantId": tenant_id, "role": role, "token": await create_token(conn, tenant_id, role)}


async def _create_token(conn: asyncpg.Connection, tenant: str, role: str) -> dict[str, Any]:
    tenant_id = await tenant_id_by_name(conn, tenant)
    return {"tenant": tenant, "tenantId": tenant_id, "role": role, "token": await create_token(conn, tenant_id, role)}


def _serve(settings: Settings, endpoints: Endpoints, args: argparse.Namespace) -> int:
    import uvicorn

    from oneroster_sync.app import create_app
    from workers.broker import broker_for
    from workers.runner import start_worker

    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through SystemExit instead lets the atexit hooks
    # stop the embedded servers when this was their last user.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config = worker_config(settings, endpoints)
    broker = broker_for(config)
    worker = start_worker(config, args.workers, broker) if args.workers > 0 else None
    try:
        # Progress frames are ~100 bytes: compressing each one for every subscriber costs CPU and saves nothing.
        uvicorn.run(create_app(endpoints, settings, broker=broker), host=args.host, port=args.port, log_level="info",
                    ws_per_message_deflate=False)  # fmt: skip
    finally:
        if worker is not None:
            worker.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    endpoints = asyncio.run(resolve_endpoints(settings))
    try:
        if args.command == "serve":
            return _serve(settings, endpoints, args)
        if args.command == "worker":
            from workers.runner import run_worker_processes

            return run_worker_processes(
                worker_config(settings, endpoints), processes=args.processes, threads=args.threads
            )
        if args.command == "migrate":
            applied = asyncio.run(_with_database(endpoints, migrate))
            print(json.dumps({"applied": applied}))
        elif args.command == "tenants":
            print(json.dumps(asyncio.run(_with_database(endpoints, lambda c: _create_tenant(c, args.name, args.role)))))
        elif args.command == "import":
            from oneroster_sync.import_command import ImportRequest, run_import_command

            request = ImportRequest(args.path, args.tenant, args.app, dry_run=args.dry_run, wait=args.wait,
                                    in_process=args.in_process)  # fmt: skip
            return asyncio.run(run_import_command(settings, endpoints, request))
        elif args.command == "demo":
            from oneroster_sync.demo import run_demo

            print(json.dumps(asyncio.run(run_demo(endpoints.database_url, args.tenant, args.size))))
        elif args.command == "tokens":
            print(
                json.dumps(asyncio.run(_with_database(endpoints, lambda c: _create_token(c, args.tenant, args.role))))
            )
        elif args.command == "sftp":
            from oneroster_sync.sftp_command import run_sftp_command

            return asyncio.run(run_sftp_command(endpoints.database_url, args))
    except (TenantExists, UnknownTenant, MigrationError) as exc:
        print(f"oneroster-sync: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
