"""`oneroster-sync demo`: a tenant whose history shows each kind of sync a district meets."""

from __future__ import annotations

import uuid
from typing import cast

import asyncpg

from oneroster_sync.demo import STEPS, run_demo
from oneroster_sync.settings import Endpoints


async def test_the_demo_tenant_has_a_week_of_varied_history(endpoints: Endpoints, pool: asyncpg.Pool) -> None:
    name = f"demo-{uuid.uuid4().hex[:6]}"
    result = await run_demo(endpoints.database_url, name)

    syncs = cast(list[dict[str, object]], result["syncs"])
    assert [s["status"] for s in syncs] == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "HELD",
                                                      "FAILED"]  # fmt: skip
    assert str(result["token"]).startswith(f"ors_{result['tenantId']}_")
    rows = await pool.fetch(
        """SELECT s.error_count, s.dry_run, a.provider, s.initiated_at::date AS day FROM syncs s
           JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id WHERE s.tenant_id = $1 ORDER BY s.id""",
        result["tenantId"],
    )  # fmt: skip
    assert [(r["provider"], r["dry_run"]) for r in rows] == [(app, dry) for _, app, dry in STEPS]
    assert len({r["day"] for r in rows}) == len(STEPS), "one sync a day"
    assert rows[2]["error_count"] >= 3, "the rejects package has rows rejected with their rule codes"
