"""The `oneroster-sync` command: tenants and tokens printed as JSON, usable against the API."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from db.tenants import authenticate
from oneroster_sync.settings import Endpoints


def _run(endpoints: Endpoints, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": endpoints.database_url, "REDIS_URL": endpoints.redis_url, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "oneroster_sync.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_tenants_and_tokens_create(endpoints: Endpoints, pool) -> None:  # type: ignore[no-untyped-def]
    name = f"cli-{uuid.uuid4().hex[:6]}"
    created = _run(endpoints, "tenants", "create", name)
    assert created.returncode == 0, created.stderr
    tenant = json.loads(created.stdout)
    assert tenant["tenant"] == name and tenant["role"] == "admin"
    principal = await authenticate(pool, tenant["token"])
    assert principal is not None and principal.role == "admin"
    apps = await pool.fetch("SELECT name FROM apps WHERE tenant_id = $1 ORDER BY id", principal.tenant_id)
    assert [a["name"] for a in apps] == ["csv-upload", "sftp", "amplify", "amplify-mclass"]

    viewer = json.loads(_run(endpoints, "tokens", "create", name, "--role", "viewer").stdout)
    viewer_principal = await authenticate(pool, viewer["token"])
    assert viewer_principal is not None
    assert (viewer_principal.tenant_id, viewer_principal.role) == (principal.tenant_id, "viewer")

    again = _run(endpoints, "tenants", "create", name)
    assert again.returncode == 1 and "already exists" in again.stderr
    missing = _run(endpoints, "tokens", "create", "no-such-district", "--role", "viewer")
    assert missing.returncode == 1 and "no tenant named" in missing.stderr
    bad_role = _run(endpoints, "tokens", "create", name, "--role", "root")
    assert bad_role.returncode == 2
