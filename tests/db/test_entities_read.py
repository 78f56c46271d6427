"""db/entities_read.py: current entities, references, referrers, an entity's history and stored summaries, read
straight from storage after real imports, always within one tenant."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from db.entities_read import (
    EntityFilter,
    count_entities,
    count_schools,
    entities_by_keys,
    page_entities,
    reference_columns,
    references_of,
    school_summaries_page,
    sync_wide_summaries,
)
from db.entity_history import HistoryCursor, count_history, history_page
from oneroster_csv.model import DataType
from tests.conftest import make_tenant
from tests.resolvers.history import day_one, day_two
from tests.workers.imports.conftest import District


@pytest.fixture
async def district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))


def test_reference_columns_cover_every_layout() -> None:
    users = {r.field: (r.target, r.is_list) for r in reference_columns(DataType.USERS)}
    assert users["orgSourcedIds"] == (DataType.ORGS, True)  # 1.1
    assert users["primaryOrgSourcedId"] == (DataType.ORGS, False)  # 1.2
    assert users["agentSourcedIds"] == (DataType.USERS, True)
    demographics = reference_columns(DataType.DEMOGRAPHICS)
    assert [(r.field, r.target) for r in demographics] == [("sourcedId", DataType.USERS)]
    classes = {r.field for r in reference_columns(DataType.CLASSES)}
    assert classes == {"courseSourcedId", "schoolSourcedId", "termSourcedIds"}
    assert references_of(DataType.CLASSES, {"termSourcedIds": "t1, t2", "schoolSourcedId": "s1"}) == [
        ("schoolSourcedId", DataType.ORGS, "s1"), ("termSourcedIds", DataType.ACADEMIC_SESSIONS, "t1"),
        ("termSourcedIds", DataType.ACADEMIC_SESSIONS, "t2"),
    ]  # fmt: skip


async def test_entities_by_keys_reads_current_versions_of_several_types_in_one_tenant(
    pool: asyncpg.Pool, district: District, tmp_path: Path
) -> None:
    await district.run(day_one(tmp_path / "1"))
    await district.run(day_two(tmp_path / "2"))
    other = District(pool, await make_tenant(pool))
    await other.run(day_one(tmp_path / "other"))
    keys = [(DataType.USERS, "u1"), (DataType.USERS, "u3"), (DataType.ORGS, "s1"), (DataType.USERS, "u7"),
            (DataType.USERS, "nope")]  # fmt: skip
    found = await entities_by_keys(pool, district.tenant.id, keys)
    assert set(found) == set(keys[:4])
    assert found[(DataType.USERS, "u1")].attributes["givenName"] == "Augusta Ada"
    assert found[(DataType.USERS, "u3")].deleted is True
    assert found[(DataType.ORGS, "s1")].attributes == {"sourcedId": "s1", "name": "North High", "type": "school",
                                                        "identifier": "N1", "parentSourcedId": "d1"}  # fmt: skip
    theirs = await entities_by_keys(pool, other.tenant.id, keys)
    assert theirs[(DataType.USERS, "u1")].attributes["givenName"] == "Ada"
    assert (DataType.USERS, "u7") not in theirs
    assert await entities_by_keys(pool, district.tenant.id, []) == {}


async def test_entity_pages_are_keyset_and_counted(pool: asyncpg.Pool, district: District, tmp_path: Path) -> None:
    await district.run(day_one(tmp_path / "1"))
    tenant_id = district.tenant.id

    async def walk(where: EntityFilter, limit: int = 2) -> list[str]:
        found: list[str] = []
        after = None
        while True:
            page = await page_entities(pool, where, after=after, limit=limit)
            found += [e.sourced_id for e in page]
            if len(page) < limit:
                assert await count_entities(pool, where) == len(found)
                return found
            after = page[-1].sourced_id

    assert await walk(EntityFilter(tenant_id, DataType.USERS)) == ["u1", "u2", "u3", "u5"]
    assert await walk(EntityFilter(tenant_id, DataType.USERS, search="E")) == ["u1", "u2", "u3", "u5"]
    assert await walk(EntityFilter(tenant_id, DataType.USERS, search="NOETH")) == ["u5"]
    assert await walk(EntityFilter(tenant_id, DataType.USERS, search="_")) == []
    assert await walk(EntityFilter(tenant_id, DataType.USERS, school_id="s2")) == ["u2", "u3"]
    referrers = EntityFilter(tenant_id, DataType.ENROLLMENTS, referenced=(DataType.CLASSES, "k1"))
    assert await walk(referrers) == ["e1", "e2"]
    nothing = EntityFilter(tenant_id, DataType.ORGS, referenced=(DataType.USERS, "u1"))
    assert await walk(nothing) == []
    assert await walk(EntityFilter(tenant_id + 10_000, DataType.USERS)) == []


async def test_history_pages_add_up_to_the_whole_history(
    pool: asyncpg.Pool, district: District, tmp_path: Path
) -> None:
    syncs = [
        (await district.run(package(tmp_path / str(i)))).sync_id
        for i, package in enumerate((day_one, day_two, day_two))
    ]
    tenant_id = district.tenant.id
    whole = await history_page(pool, tenant_id, DataType.USERS, "u5", limit=100)
    assert [(e.sync_id, e.record.outcome, e.record.line) for e in whole] == [
        (syncs[2], "NO_CHANGE", None), (syncs[1], "NO_CHANGE", None), (syncs[0], "NEW", 6), (syncs[0], "MERGED", 7),
    ]  # fmt: skip
    assert await count_history(pool, tenant_id, DataType.USERS, "u5") == 4
    paged = []
    after: HistoryCursor | None = None
    while True:
        page = await history_page(pool, tenant_id, DataType.USERS, "u5", after=after, limit=1)
        if not page:
            break
        paged += page
        after = HistoryCursor.decode(page[-1].cursor.encode())
    assert paged == whole
    assert await history_page(pool, tenant_id + 10_000, DataType.USERS, "u5") == []
    with pytest.raises(ValueError):
        HistoryCursor.decode('["a", 1, 2]')


async def test_summaries_sync_wide_and_per_school(pool: asyncpg.Pool, district: District, tmp_path: Path) -> None:
    result = await district.run(day_one(tmp_path / "1"))
    tenant_id = district.tenant.id
    rows = await sync_wide_summaries(pool, tenant_id, [result.sync_id])
    assert [r.data_type for r in rows] == [DataType.ORGS, DataType.ACADEMIC_SESSIONS, DataType.COURSES,
                                           DataType.CLASSES, DataType.USERS, DataType.ENROLLMENTS]  # fmt: skip
    users = rows[4].counts
    assert (users["total"], users["new"], users["skipped"], users["merged"], users["excluded"]) == (8, 4, 1, 1, 2)
    assert await count_schools(pool, tenant_id, result.sync_id) == 2
    first = await school_summaries_page(pool, tenant_id, result.sync_id, after=None, limit=1)
    rest = await school_summaries_page(pool, tenant_id, result.sync_id, after=first[0][0], limit=5)
    assert [school for school, _ in first + rest] == ["s1", "s2"]
    assert all(r.school_id == school for school, summary in first + rest for r in summary)
    assert await sync_wide_summaries(pool, tenant_id + 10_000, [result.sync_id]) == []
