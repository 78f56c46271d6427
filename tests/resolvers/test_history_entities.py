"""Data Browsing through the API: an entity's attributes, schools, references, referrers and history across syncs;
`entities` search; `node(id:)` round trips of every Node type, and another tenant's ids resolving to null."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from strawberry.relay import to_base64

from tests.conftest import GraphQLClient, data, make_tenant
from tests.resolvers.history import RECORD_FIELDS, day_one, day_two, page_entity_history, page_sync_records, query
from tests.workers.imports.conftest import District
from workers.imports.model import ImportOptions

ENTITY = """query($dataType: DataType!, $sid: String!) { entity(dataType: $dataType, sourcedId: $sid) {
  id dataType sourcedId deleted attributes schools { sourcedId attributes }
  references { field dataType sourcedId entity { id sourcedId dataType } } } }"""

NODE = f"""query($id: ID!) {{ node(id: $id) {{ __typename id
  ... on App {{ name }} ... on Sync {{ status }}
  ... on Entity {{ dataType sourcedId deleted attributes }}
  ... on RecordOutcome {{ {RECORD_FIELDS} sync {{ id }} entity {{ id }} }} }} }}"""


async def _entity(gql: GraphQLClient, district: District, data_type: str, sid: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await query(gql, district.tenant, ENTITY, dataType=data_type, sid=sid))["entity"]
    return found


async def _imported(district: District, tmp_path: Path) -> list[int]:
    """sync ids: day one, day two, day two again (bulk NO_CHANGE), a dry run of day one (explicit outcomes)."""
    ids = [(await district.run(day_one(tmp_path / "1"))).sync_id, (await district.run(day_two(tmp_path / "2"))).sync_id]
    ids.append((await district.run(day_two(tmp_path / "3"))).sync_id)
    ids.append((await district.run(day_one(tmp_path / "4"), ImportOptions(dry_run=True))).sync_id)
    return ids


async def test_entity_attributes_schools_and_references(gql: GraphQLClient, district: District, tmp_path: Path) -> None:
    await district.run(day_one(tmp_path / "1"))
    u2 = await _entity(gql, district, "USERS", "u2")
    assert u2 is not None and u2["deleted"] is False
    assert u2["attributes"]["givenName"] == "Alan" and u2["attributes"]["orgSourcedIds"] == "s1,s2"
    assert [s["sourcedId"] for s in u2["schools"]] == ["s1", "s2"]
    assert u2["schools"][0]["attributes"]["name"] == "North High"
    assert [(r["field"], r["dataType"], r["sourcedId"], r["entity"]["sourcedId"]) for r in u2["references"]] == [
        ("orgSourcedIds", "ORGS", "s1", "s1"), ("orgSourcedIds", "ORGS", "s2", "s2"),
    ]  # fmt: skip

    e1 = await _entity(gql, district, "ENROLLMENTS", "e1")
    assert e1 is not None
    refs = {(r["field"], r["entity"]["dataType"], r["entity"]["sourcedId"]) for r in e1["references"]}
    assert refs == {("classSourcedId", "CLASSES", "k1"), ("schoolSourcedId", "ORGS", "s1"),
                    ("userSourcedId", "USERS", "u1")}  # fmt: skip
    k1 = await _entity(gql, district, "CLASSES", "k1")
    assert k1 is not None
    assert {(r["field"], r["sourcedId"]) for r in k1["references"]} == {
        ("courseSourcedId", "c1"), ("schoolSourcedId", "s1"), ("termSourcedIds", "t1")}  # fmt: skip
    assert await _entity(gql, district, "USERS", "u4") is None, "a skipped row never became an entity"
    assert await _entity(gql, district, "USERS", "u6") is None, "an excluded group never became an entity"


async def test_referenced_by_pages_the_referrers(gql: GraphQLClient, district: District, tmp_path: Path) -> None:
    await district.run(day_one(tmp_path / "1"))
    text = """query($dataType: DataType!, $sid: String!, $by: DataType!, $first: Int!, $after: String) {
      entity(dataType: $dataType, sourcedId: $sid) { referencedBy(dataType: $by, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { sourcedId } } } } }"""

    async def referrers(data_type: str, sid: str, by: str) -> list[str]:
        found: list[str] = []
        after = None
        while True:
            page = await query(gql, district.tenant, text, dataType=data_type, sid=sid, by=by, first=1, after=after)
            conn = page["entity"]["referencedBy"]
            found += [e["node"]["sourcedId"] for e in conn["edges"]]
            if not conn["pageInfo"]["hasNextPage"]:
                assert conn["totalCount"] == len(found)
                return found
            after = conn["pageInfo"]["endCursor"]

    assert await referrers("USERS", "u2", "ENROLLMENTS") == ["e2", "e4"]
    assert await referrers("ORGS", "s1", "USERS") == ["u1", "u2", "u5"]  # orgSourcedIds lists
    assert await referrers("ORGS", "s2", "CLASSES") == ["k2"]
    assert await referrers("ORGS", "d1", "ORGS") == ["s1", "s2"]
    assert await referrers("ACADEMIC_SESSIONS", "t1", "CLASSES") == ["k1", "k2"]  # termSourcedIds
    assert await referrers("USERS", "u2", "ORGS") == [], "orgs never point to users"


async def test_history_across_syncs_newest_first(gql: GraphQLClient, district: District, tmp_path: Path) -> None:
    one, two, three, dry = (to_base64("Sync", i) for i in await _imported(district, tmp_path))

    async def history(data_type: str, sid: str) -> list[tuple[str, str, int | None]]:
        total, records = await page_entity_history(gql, district.tenant, data_type, sid, first=1)
        assert total == len(records)
        return [(r["sync"]["id"], r["outcome"], r["line"]) for r in records]

    assert await history("USERS", "u1") == [(dry, "UPDATED", 2), (three, "NO_CHANGE", None), (two, "UPDATED", 2),
                                            (one, "NEW", 2)]  # fmt: skip
    assert await history("USERS", "u5") == [(dry, "NO_CHANGE", 6), (dry, "MERGED", 7), (three, "NO_CHANGE", None),
                                            (two, "NO_CHANGE", None), (one, "NEW", 6), (one, "MERGED", 7)]  # fmt: skip
    assert await history("USERS", "u3") == [(dry, "NEW", 4), (two, "DELETED", None), (one, "NEW", 4)]
    u3 = await _entity(gql, district, "USERS", "u3")
    assert u3 is not None and u3["deleted"] is True and u3["attributes"]["givenName"] == "Grace"

    _, records = await page_entity_history(gql, district.tenant, "USERS", "u1", first=10)
    updated = records[2]
    assert updated["changes"] == [{"field": "givenName", "before": "Ada", "after": "Augusta Ada"}]
    assert records[0]["changes"] == [{"field": "givenName", "before": "Augusta Ada", "after": "Ada"}]
    _, u3_records = await page_entity_history(gql, district.tenant, "USERS", "u3", first=10)
    assert [i["code"] for i in u3_records[-1]["issues"]], "the soft finding (email) is on the record"
    assert u3_records[-1]["invalid"] is True


async def test_entities_search_school_and_deleted(gql: GraphQLClient, district: District, tmp_path: Path) -> None:
    await district.run(day_one(tmp_path / "1"))
    await district.run(day_two(tmp_path / "2"))
    text = """query($search: String, $school: ID, $deleted: Boolean!, $dataType: DataType!) {
      entities(dataType: $dataType, search: $search, schoolId: $school, first: 100, includeDeleted: $deleted) {
        totalCount edges { node { sourcedId deleted } } } }"""

    async def ids(search: str | None = None, school: str | None = None, deleted: bool = False,
                  data_type: str = "USERS") -> list[str]:  # fmt: skip
        found = (await query(gql, district.tenant, text, search=search, school=school, deleted=deleted,
                             dataType=data_type))["entities"]  # fmt: skip
        assert found["totalCount"] == len(found["edges"])
        return [e["node"]["sourcedId"] for e in found["edges"]]

    assert await ids() == ["u1", "u2", "u5", "u7"]
    assert await ids(deleted=True) == ["u1", "u2", "u3", "u5", "u7"]
    assert await ids("TURING") == ["u2"]
    assert await ids("alan t") == ["u2"], "given and family name together"
    assert await ids("U7") == ["u7"]
    assert await ids("%") == [], "wildcards are taken literally"
    assert await ids("north", data_type="ORGS") == ["s1"]
    s2 = to_base64("Entity", "ORGS:s2")
    assert await ids(school=s2) == ["u2", "u7"]
    assert await ids(school="s2", deleted=True) == ["u2", "u3", "u7"]
    assert await ids(school=s2, data_type="ENROLLMENTS") == ["e4", "e6"]


async def test_node_round_trips_every_node_type(gql: GraphQLClient, district: District, tmp_path: Path) -> None:
    sync_ids = await _imported(district, tmp_path)
    app_id = await district.app_id()
    ids = [to_base64("App", app_id), to_base64("Sync", sync_ids[0])]
    for sync_id in sync_ids:  # every record of every sync, written, carried and explicit ones alike
        _, records = await page_sync_records(gql, district.tenant, to_base64("Sync", sync_id), first=100)
        ids += [r["id"] for r in records]
    _, history = await page_entity_history(gql, district.tenant, "USERS", "u1", first=10)
    ids += [r["id"] for r in history]
    entities = (await query(gql, district.tenant, "{ entities(dataType: USERS, first: 100, includeDeleted: true) "
                            "{ edges { node { id } } } }"))["entities"]  # fmt: skip
    ids += [e["node"]["id"] for e in entities["edges"]]
    assert len(ids) > 60
    seen_types: set[str] = set()
    for gid in ids:
        node = (await query(gql, district.tenant, NODE, id=gid))["node"]
        assert node is not None and node["id"] == gid, gid
        seen_types.add(node["__typename"])
    assert seen_types == {"App", "Sync", "RecordOutcome", "Entity"}

    # a record found again by its id is the same record
    again = (await query(gql, district.tenant, NODE, id=history[1]["id"]))["node"]
    assert {k: again[k] for k in history[1] if k != "sync"} == {k: v for k, v in history[1].items() if k != "sync"}
    assert again["sync"]["id"] == history[1]["sync"]["id"]


RECORD_ENTITY = "dataType sourcedId outcome entity { id dataType sourcedId deleted attributes schools { sourcedId } }"


async def test_a_records_entity_is_the_entity_data_browsing_shows(
    gql: GraphQLClient, district: District, tmp_path: Path
) -> None:
    """Records read from their entity's current version carry it (no statement); older and explicit ones load it:
    either way `entity` answers what `entity(dataType:, sourcedId:)` answers, deleted entities included."""
    sync_ids = await _imported(district, tmp_path)
    checked: set[str] = set()
    for sync_id in sync_ids:
        _, records = await page_sync_records(gql, district.tenant, to_base64("Sync", sync_id), first=100,
                                             fields=RECORD_ENTITY)  # fmt: skip
        for record in records:
            if not record["sourcedId"]:
                continue
            found = await query(gql, district.tenant, ENTITY_FIELDS, dataType=record["dataType"],
                                sid=record["sourcedId"])  # fmt: skip
            assert record["entity"] == found["entity"], record
            checked.add(record["outcome"] + ("-deleted" if record["entity"] and record["entity"]["deleted"] else ""))
    assert {"NEW", "UPDATED", "NO_CHANGE", "DELETED-deleted", "SKIPPED"} <= checked, checked


ENTITY_FIELDS = """query($dataType: DataType!, $sid: String!) { entity(dataType: $dataType, sourcedId: $sid) {
  id dataType sourcedId deleted attributes schools { sourcedId } } }"""


async def test_another_tenants_ids_resolve_to_null(
    gql: GraphQLClient, pool: asyncpg.Pool, district: District, tmp_path: Path
) -> None:
    sync_ids = await _imported(district, tmp_path)
    other = District(pool, await make_tenant(pool))
    await other.run(day_one(tmp_path / "other"))  # the same sourcedIds exist there too
    _, records = await page_sync_records(gql, district.tenant, to_base64("Sync", sync_ids[0]), first=100)
    assert records
    ids = [to_base64("Sync", sync_ids[0]), to_base64("App", await district.app_id()), *(r["id"] for r in records)]
    for gid in ids:
        body = await gql(NODE, {"id": gid}, headers=other.tenant.headers("admin"))
        assert data(body)["node"] is None, gid
    # entities are keyed by sourcedId: the other tenant sees its own u1, never this tenant's renamed one
    theirs = await _entity(gql, other, "USERS", "u1")
    assert theirs is not None and theirs["attributes"]["givenName"] == "Ada"
    body = await gql("query($id: ID!) { node(id: $id) { ... on Entity { attributes } } }",
                     {"id": to_base64("Entity", "USERS:u7")}, headers=other.tenant.headers())  # fmt: skip
    assert data(body)["node"] is None, "u7 exists only in the first tenant"
    body = await gql("query($id: ID!) { node(id: $id) { ... on Sync { records(first: 5) { totalCount } } } }",
                     {"id": to_base64("Sync", sync_ids[0])}, headers=other.tenant.headers())  # fmt: skip
    assert data(body)["node"] is None
