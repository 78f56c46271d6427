"""Tenant scoping: a token never sees another tenant's data, on any path."""

from __future__ import annotations

import asyncpg
import pytest
from strawberry.relay import to_base64

from db.syncs import insert_sync
from tests.conftest import GraphQLClient, Tenant, data, make_tenant

NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Sync { status app { name } } ... on App { name } } }"


async def _first_app_id(pool: asyncpg.Pool, tenant: Tenant) -> int:
    app_id: int = await pool.fetchval("SELECT min(id) FROM apps WHERE tenant_id = $1", tenant.id)
    return app_id


async def test_node_round_trips_own_objects_and_is_null_for_another_tenants(
    gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    other = await make_tenant(pool)
    mine = await insert_sync(pool, tenant.id, await _first_app_id(pool, tenant))
    theirs = await insert_sync(pool, other.id, await _first_app_id(pool, other))

    sync_id = to_base64("Sync", mine.id)
    own = data(await gql(NODE, {"id": sync_id}, headers=tenant.headers("viewer")))["node"]
    assert own == {"__typename": "Sync", "id": sync_id, "status": "QUEUED", "app": {"name": "csv-upload"}}

    for type_name, local_id in (("Sync", theirs.id), ("App", theirs.app_id)):
        body = await gql(NODE, {"id": to_base64(type_name, local_id)}, headers=tenant.headers())
        assert data(body)["node"] is None, f"{type_name} of another tenant must resolve to null"

    app = data(await gql(NODE, {"id": to_base64("App", mine.app_id)}, headers=tenant.headers()))["node"]
    assert app["name"] == "csv-upload"


async def test_syncs_filtered_by_another_tenants_app_show_nothing(
    gql: GraphQLClient, pool: asyncpg.Pool, tenant: Tenant
) -> None:
    other = await make_tenant(pool)
    their_app = await _first_app_id(pool, other)
    await insert_sync(pool, other.id, their_app)
    body = await gql(
        "query($a: [ID!]) { syncs(first: 10, appIds: $a) { totalCount edges { node { id } } } }",
        {"a": [to_base64("App", their_app)]},
        headers=tenant.headers(),
    )
    assert data(body)["syncs"] == {"totalCount": 0, "edges": []}


@pytest.mark.parametrize("bad_id", ["not-base64!", to_base64("Nope", 1), to_base64("Sync", "abc")])
async def test_malformed_node_ids_do_not_leak(gql: GraphQLClient, tenant: Tenant, bad_id: str) -> None:
    body = await gql(NODE, {"id": bad_id}, headers=tenant.headers())
    assert body.get("data") is None or body["data"]["node"] is None
