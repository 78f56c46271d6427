"""The history page and a drill-down page run a small constant number of SQL statements, whatever their size:
every relation of a listed object is loaded by a DataLoader (one statement per relation), never one per row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from strawberry.relay import to_base64

from db.syncs import insert_sync
from tests.conftest import GraphQLClient, Tenant, data
from tests.resolvers.history import ENROLLMENTS, ORGS, SUMMARY_FIELDS, USERS
from tests.workers.imports.conftest import District, write_package

HISTORY_PAGE = f"""query($first: Int!) {{ syncs(first: $first) {{ totalCount pageInfo {{ hasNextPage endCursor }}
  edges {{ cursor node {{ id kind status initiatedAt startedAt finishedAt dryRun recordCount errorCount warningCount
    app {{ id name kind }} progress {{ status phase processed total percent done }}
    summaries {{ {SUMMARY_FIELDS} }} }} }} }} }}"""

DRILL_DOWN = """query($id: ID!, $first: Int!, $column: SummaryColumn, $school: ID) { node(id: $id) { ... on Sync {
  records(dataType: USERS, column: $column, schoolId: $school, first: $first) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id dataType sourcedId outcome invalid line attributes changes { field before after }
      issues { code severity field message } sync { id status app { name } }
      entity { id sourcedId deleted attributes schools { sourcedId } references { field entity { id sourcedId } } }
} } } } } }"""

ENTITIES = """query($first: Int!) { entities(dataType: USERS, first: $first) { totalCount
  edges { node { id attributes schools { sourcedId } references { field entity { sourcedId attributes } } } } } }"""


@contextmanager
def counted_statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent through asyncpg (fetch, fetchrow, fetchval and execute with arguments all go through
    `Connection._execute`), in order."""
    statements: list[str] = []
    original = asyncpg.connection.Connection._execute  # type: ignore[attr-defined]

    async def counting(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        return await original(self, query, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(asyncpg.connection.Connection, "_execute", counting)
        yield statements


async def _statements(
    gql: GraphQLClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch, text: str, **variables: Any
) -> tuple[int, dict[str, Any]]:
    await gql(text, variables, headers=tenant.headers("viewer"))  # warm up: the pool's connections exist
    with counted_statements(monkeypatch) as statements:
        result = data(await gql(text, variables, headers=tenant.headers("viewer")))
    return len(statements), result


def _users(count: int, renamed: range = range(0), start: int = 0) -> str:
    rows = []
    for i in range(start, start + count):
        given = f"Renamed{i}" if i in renamed else f"Given{i}"
        school = "s1" if i % 2 else "s2"
        email = "broken" if i % 7 == 0 else f"user{i}@example.org"
        rows.append(f"u{i:04d},,,true,{school},student,user{i},,{given},Family{i},,,{email},,,,09,\n")
    return USERS + "".join(rows)


async def _district_with_history(district: District, tmp_path: Path) -> tuple[int, int]:
    """60 syncs for the history page (two real imports, 58 with stored summaries); returns the real sync ids."""
    orgs = ORGS + "d1,,,District,district,,\ns1,,,North,school,,d1\ns2,,,South,school,,d1\n"
    enrollments = ENROLLMENTS + "".join(f"e{i},,,k{i},s1,u{i:04d},student,,,\n" for i in range(3))
    first = await district.run(write_package(tmp_path / "a", {"orgs": orgs, "users": _users(150)}))
    # day two: 60 renamed (UPDATED), 10 gone (DELETED), 10 new, the rest NO_CHANGE; a few skipped enrollments
    second = await district.run(write_package(tmp_path / "b", {
        "orgs": orgs, "users": _users(140, renamed=range(0, 120, 2)) + _users(10, start=500)[len(USERS):],
        "enrollments": enrollments,
    }))  # fmt: skip
    assert first.status == second.status == "SUCCEEDED", (first, second)
    tenant_id = district.tenant.id
    app_id = await district.app_id()
    for _ in range(58):
        sync = await insert_sync(district.pool, tenant_id, app_id)
        await district.pool.execute(
            """INSERT INTO sync_summaries (tenant_id, sync_id, school_id, data_type, total, new)
               SELECT $1, $2, school, t, 3, 3 FROM unnest(ARRAY['', 's1']) AS school, generate_series(0, 5) AS t""",
            tenant_id, sync.id,
        )  # fmt: skip
    return first.sync_id, second.sync_id


async def test_statement_counts_do_not_grow_with_the_page(
    gql: GraphQLClient, district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, second = await _district_with_history(district, tmp_path)
    tenant = district.tenant
    sync = to_base64("Sync", second)
    measured: dict[str, dict[int, int]] = {}

    for first in (5, 50):
        count, result = await _statements(gql, tenant, monkeypatch, HISTORY_PAGE, first=first)
        assert len(result["syncs"]["edges"]) == first
        assert all(e["node"]["summaries"] for e in result["syncs"]["edges"])
        measured.setdefault("history page", {})[first] = count

    for column in ("TOTAL", "UPDATED", "NO_CHANGE"):
        for first in (5, 50):
            count, result = await _statements(gql, tenant, monkeypatch, DRILL_DOWN, id=sync, first=first,
                                              column=column)  # fmt: skip
            records = [e["node"] for e in result["node"]["records"]["edges"]]
            assert len(records) == first
            assert all(r["entity"] is not None for r in records)
            measured.setdefault(f"drill-down {column}", {})[first] = count

    school = to_base64("Entity", "ORGS:s1")
    for first in (5, 50):
        count, result = await _statements(gql, tenant, monkeypatch, DRILL_DOWN, id=sync, first=first, school=school)
        assert len(result["node"]["records"]["edges"]) == first
        measured.setdefault("drill-down of a school", {})[first] = count

    for first in (5, 50):
        count, result = await _statements(gql, tenant, monkeypatch, ENTITIES, first=first)
        assert len(result["entities"]["edges"]) == first
        measured.setdefault("entities with references", {})[first] = count

    print("\nSQL statements per request (page size: count):", measured)
    for name, counts in measured.items():
        assert len(set(counts.values())) == 1, (name, counts)
    assert measured["history page"][50] <= 3, measured  # the syncs with their apps, the summaries, the count
    assert max(c[50] for n, c in measured.items() if n.startswith("drill-down")) <= 8, measured


SELECTED_RECORDS = """query($id: ID!) { node(id: $id) { ... on Sync {
  records(dataType: USERS, column: UPDATED, first: 20) { edges { node { sourcedId %s } } } } } }"""


async def test_a_drill_down_page_reads_only_the_relations_it_selects(
    gql: GraphQLClient, district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, second = await _district_with_history(district, tmp_path)
    tenant, sync = district.tenant, to_base64("Sync", second)
    bare, bare_result = await _statements(gql, tenant, monkeypatch, SELECTED_RECORDS % "", id=sync)
    assert len(bare_result["node"]["records"]["edges"]) == 20
    total, _ = await _statements(gql, tenant, monkeypatch, SELECTED_RECORDS.replace("UPDATED", "TOTAL") % "", id=sync)
    assert total == 2, "the sync by id (with its scope), then the page of a bulk type in one statement"
    queries = {
        "changes": SELECTED_RECORDS % "changes { field before after }",
        "entity": SELECTED_RECORDS % "...linked" + " fragment linked on RecordOutcome { entity { sourcedId } }",
        "sync": SELECTED_RECORDS % "sync { id }",
    }
    counts: dict[str, int] = {}
    for name, text in queries.items():
        counts[name], result = await _statements(gql, tenant, monkeypatch, text, id=sync)
        records = [e["node"] for e in result["node"]["records"]["edges"]]
        assert len(records) == 20
        if name == "changes":
            assert all(r["changes"] for r in records), "every UPDATED record has its field changes"
        elif name == "entity":
            assert all(r["entity"] == {"sourcedId": r["sourcedId"]} for r in records), "through a named fragment"
        else:
            assert {r["sync"]["id"] for r in records} == {sync}
    # each relation costs one statement for the whole page, nothing unselected; none for the sync (node(id:) loaded
    # it) and none for the entities of the latest sync's records (read from their current versions, they are them)
    assert counts == {"changes": bare + 1, "entity": bare, "sync": bare}, (bare, counts)
    # an earlier sync's records whose entities changed since load them: one statement for the page
    first = to_base64("Sync", (await district.pool.fetchval(
        "SELECT min(id) FROM syncs WHERE tenant_id = $1 AND applied_seq IS NOT NULL", tenant.id)))  # fmt: skip
    older = SELECTED_RECORDS.replace("column: UPDATED", "column: NEW")
    count, result = await _statements(gql, tenant, monkeypatch, older % "", id=first)
    linked, result = await _statements(gql, tenant, monkeypatch, older % "entity { sourcedId }", id=first)
    assert linked == count + 1
    assert all(e["node"]["entity"] == {"sourcedId": e["node"]["sourcedId"]} for e in result["node"]["records"]["edges"])


ENTITY_PAGE = """query($sid: String!) { entity(dataType: USERS, sourcedId: $sid) { id sourcedId attributes
  references { field dataType sourcedId entity { id sourcedId deleted attributes } } } }"""


async def test_an_entity_page_is_one_statement_and_answers_as_its_parts_do(
    gql: GraphQLClient, district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entity and the entities it references are read together; each referenced entity is what
    `entity(dataType:, sourcedId:)` answers on its own."""
    await _district_with_history(district, tmp_path)
    tenant = district.tenant
    count, result = await _statements(gql, tenant, monkeypatch, ENTITY_PAGE, sid="u0001")
    assert count == 1
    references = result["entity"]["references"]
    assert [r["field"] for r in references] == ["orgSourcedIds"] and references[0]["entity"]["sourcedId"] == "s1"
    alone = (
        "query($t: DataType!, $s: String!) { entity(dataType: $t, sourcedId: $s) { id sourcedId deleted attributes } }"
    )
    for reference in references:
        own = data(await gql(alone, {"t": reference["dataType"], "s": reference["sourcedId"]},
                             headers=tenant.headers("viewer")))  # fmt: skip
        assert reference["entity"] == own["entity"]
