"""The `syncs` history connection: newest first, keyset pages that stay stable while syncs arrive, app filters."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from db.syncs import insert_sync
from tests.conftest import GraphQLClient, Tenant, data, error_codes, make_tenant

PAGE = """query($first: Int!, $after: String, $apps: [ID!], $kind: AppKind, $status: [SyncStatus!]) {
  syncs(first: $first, after: $after, appIds: $apps, kind: $kind, status: $status) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id status kind initiatedAt app { name } } } } }"""


async def _app_ids(pool: asyncpg.Pool, tenant: Tenant) -> dict[str, int]:
    rows = await pool.fetch("SELECT name, id FROM apps WHERE tenant_id = $1", tenant.id)
    return {r["name"]: r["id"] for r in rows}


async def _page(gql: GraphQLClient, tenant: Tenant, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = data(await gql(PAGE, variables, headers=tenant.headers("viewer")))["syncs"]
    return result


async def _walk(gql: GraphQLClient, tenant: Tenant, first: int, **variables: Any) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = await _page(gql, tenant, first=first, after=after, **variables)
        ids += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        after = page["pageInfo"]["endCursor"]


async def test_newest_first_with_stable_pages_while_syncs_are_inserted(
    gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    apps = await _app_ids(pool, tenant)
    existing = [await insert_sync(pool, tenant.id, apps["csv-upload"]) for _ in range(7)]
    expected = [to_base64("Sync", s.id) for s in reversed(existing)]

    seen: list[str] = []
    after = None
    while True:
        page = await _page(gql, tenant, first=3, after=after)
        seen += [e["node"]["id"] for e in page["edges"]]
        await insert_sync(pool, tenant.id, apps["sftp"])  # a new sync arrives between every two pages
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected, "each existing sync exactly once, newest first, none shifted by the new arrivals"

    fresh = await _page(gql, tenant, first=100)
    times = [e["node"]["initiatedAt"] for e in fresh["edges"]]
    assert times == sorted(times, reverse=True)
    assert fresh["totalCount"] == 7 + 3


async def test_filter_by_several_apps_kind_and_status(gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant) -> None:
    apps = await _app_ids(pool, tenant)
    made = {name: [await insert_sync(pool, tenant.id, app_id) for _ in range(2)] for name, app_id in apps.items()}
    await pool.execute(
        "UPDATE syncs SET status = 'FAILED' WHERE tenant_id = $1 AND id = $2", tenant.id, made["amplify"][0].id
    )

    two = [to_base64("App", apps["csv-upload"]), to_base64("App", apps["amplify"])]
    page = await _page(gql, tenant, first=100, apps=two)
    assert page["totalCount"] == 4
    assert {e["node"]["app"]["name"] for e in page["edges"]} == {"csv-upload", "amplify"}

    exports = await _page(gql, tenant, first=100, kind="EXPORT")
    assert {e["node"]["app"]["name"] for e in exports["edges"]} == {"amplify", "amplify-mclass"}
    assert all(e["node"]["kind"] == "EXPORT" for e in exports["edges"])

    failed = await _page(gql, tenant, first=100, status=["FAILED"])
    assert [e["node"]["id"] for e in failed["edges"]] == [to_base64("Sync", made["amplify"][0].id)]

    app_syncs = data(
        await gql(
            "query($id: ID!) { node(id: $id) { ... on App { syncs(first: 10) { totalCount } } } }",
            {"id": to_base64("App", apps["sftp"])},
            headers=tenant.headers(),
        )
    )
    assert app_syncs["node"]["syncs"]["totalCount"] == 2


@pytest.mark.parametrize("first", [0, -1, 101, 1000])
async def test_first_outside_1_to_100_is_rejected(gql: GraphQLClient, tenant: Tenant, first: int) -> None:
    body = await gql(PAGE, {"first": first}, headers=tenant.headers())
    assert body["data"] is None
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_a_foreign_cursor_is_rejected(gql: GraphQLClient, tenant: Tenant) -> None:
    body = await gql(PAGE, {"first": 5, "after": "garbage"}, headers=tenant.headers())
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_uninstalled_apps_leave_the_history_and_come_back_on_reinstall(
    gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    apps = await _app_ids(pool, tenant)
    await insert_sync(pool, tenant.id, apps["sftp"])
    await insert_sync(pool, tenant.id, apps["csv-upload"])
    uninstall = "mutation($id: ID!) { appUninstall(appId: $id) { app { name } userErrors { code } } }"
    assert data(await gql(uninstall, {"id": to_base64("App", apps["sftp"])}, headers=tenant.headers()))
    assert [e["node"]["app"]["name"] for e in (await _page(gql, tenant, first=10))["edges"]] == ["csv-upload"]

    body = await gql(
        'mutation { appInstall(provider: "sftp") { app { id } userErrors { code } } }', headers=tenant.headers()
    )
    assert data(body)["appInstall"]["app"]["id"] == to_base64("App", apps["sftp"])
    assert (await _page(gql, tenant, first=10))["totalCount"] == 2


async def test_sync_previous_is_the_same_apps_earlier_sync(
    gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    apps = await _app_ids(pool, tenant)
    first = await insert_sync(pool, tenant.id, apps["csv-upload"])
    await insert_sync(pool, tenant.id, apps["sftp"])
    second = await insert_sync(pool, tenant.id, apps["csv-upload"])
    query = "query($id: ID!) { node(id: $id) { ... on Sync { previous { id previous { id } } } } }"
    body = data(await gql(query, {"id": to_base64("Sync", second.id)}, headers=tenant.headers()))
    assert body["node"]["previous"] == {"id": to_base64("Sync", first.id), "previous": None}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.integers(min_value=0, max_value=12),
    page_size=st.integers(min_value=1, max_value=5),
    arrivals=st.lists(st.integers(min_value=0, max_value=3), max_size=8),
    app_choice=st.lists(st.sampled_from(["csv-upload", "sftp", "amplify"]), min_size=1, max_size=3, unique=True),
)
async def test_paging_to_the_end_yields_exactly_the_syncs_that_existed(
    gql: GraphQLClient, pool: asyncpg.Pool, initial: int, page_size: int, arrivals: list[int], app_choice: list[str]
) -> None:
    tenant = await make_tenant(pool)
    apps = await _app_ids(pool, tenant)
    names = list(apps)
    existing = [await insert_sync(pool, tenant.id, apps[names[i % 3]]) for i in range(initial)]
    wanted = {apps[name] for name in app_choice}
    expected = [to_base64("Sync", s.id) for s in reversed(existing) if s.app_id in wanted]

    seen: list[str] = []
    after = None
    for page_number in range(100):
        page = await _page(gql, tenant, first=page_size, after=after, apps=[to_base64("App", a) for a in wanted])
        seen += [e["node"]["id"] for e in page["edges"]]
        new = arrivals[page_number] if page_number < len(arrivals) else 0
        for i in range(new):
            await insert_sync(pool, tenant.id, apps[names[i % 3]])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
