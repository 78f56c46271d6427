"""workers/imports/key_cache.py: a worker's copy of the last file's current keys gives exactly what streaming them
gives, is the tenant's data after every import that applies, and is used only for the state it was written for."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import asyncpg
import polars as pl
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from db import imports as db_imports
from db.entities import current_keys
from oneroster_csv.model import DataType
from tests.conftest import make_tenant
from tests.workers.imports.conftest import District
from tests.workers.imports.packages import Generated, base_pkg, content_state, enrollment, packages, run, summary_table
from tests.workers.imports.test_engine_properties import PROPERTY
from tests.workers.imports.test_unchanged import successors
from workers.imports.key_cache import CACHED_SCHEMA, KeyCache
from workers.imports.model import ImportOptions

CACHE_LOG = "workers.imports.key_cache"


def _cache(folder: Path) -> KeyCache:
    return KeyCache(folder, min_rows=0)  # (every test district is small)


async def _stored_keys(district: District) -> pl.DataFrame:
    async with district.pool.acquire() as conn:
        return await current_keys(conn, district.tenant.id, DataType.ENROLLMENTS, raw=True)


async def _token(district: District) -> uuid.UUID | None:
    token: uuid.UUID | None = await district.pool.fetchval("SELECT data_token FROM tenants WHERE id = $1",
                                                           district.tenant.id)  # fmt: skip
    return token


async def _kept_keys(district: District, cache: KeyCache) -> pl.DataFrame | None:
    return cache.load(district.tenant.id, DataType.ENROLLMENTS, await _token(district))


async def _assert_kept_is_stored(district: District, cache: KeyCache, required: bool = True) -> None:
    """The copy named by the tenant's data token, if any (`required`: there must be one), is its current keys."""
    kept = await _kept_keys(district, cache)
    assert kept is not None or not required, "no copy for the tenant's current data token"
    if kept is not None:
        assert kept.sort("sourcedId").equals((await _stored_keys(district)).sort("sourcedId"))


def _reads(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = [r.getMessage().rsplit(": ", 1)[1] for r in caplog.records if r.name == CACHE_LOG]
    caplog.clear()
    return found


@PROPERTY
@given(data=st.data(), day1=packages(), held=st.booleans())
async def test_a_kept_copy_gives_what_streaming_the_keys_gives(
    pool: asyncpg.Pool, tmp_path: Path, data: st.DataObject, day1: Generated, held: bool
) -> None:
    cache = _cache(tmp_path)
    kept, streamed = District(pool, await make_tenant(pool)), District(pool, await make_tenant(pool))
    day2 = data.draw(successors(day1.pkg))
    day3 = data.draw(st.sampled_from([day2, day1.pkg]))  # a re-import, or day 1 again: much of day 2 undone
    options = ImportOptions(hold_delete_percent=0.0, hold_delete_minimum=1) if held else ImportOptions()
    for day, (pkg, day_options) in enumerate(((day1.pkg, None), (day2, options), (day3, None)), start=1):
        (a, a_records), (b, b_records) = (
            await run(kept, pkg, day_options, key_cache=cache),
            await run(streamed, pkg, day_options),
        )
        note(f"day {day}: {a.status} {a.counts}")
        assert (a.status, a.counts, a.hold) == (b.status, b.counts, b.hold)
        assert summary_table(a) == summary_table(b)
        assert sorted(a_records, key=repr) == sorted(b_records, key=repr)
        assert await content_state(kept) == await content_state(streamed)
        # (a sync without the file leaves a copy of an earlier state, named by an older token: none is current)
        supplied = pkg.mode("enrollments") != "absent" and bool(pkg.rows["enrollments"])
        await _assert_kept_is_stored(kept, cache, required=a.status == "SUCCEEDED" and supplied)
    assert not list(tmp_path.glob(".*")), "a staged file was left behind"


def _day1() -> bytes:
    return base_pkg().zip()


def _day2() -> bytes:
    pkg = base_pkg()
    enrollments = pkg.rows["enrollments"]
    enrollments[0]["role"] = "teacher" if enrollments[0]["role"] == "student" else "student"
    enrollments.pop()
    enrollments.append(enrollment("e-new", enrollments[1]["classSourcedId"], enrollments[1]["schoolSourcedId"],
                                  enrollments[1]["userSourcedId"]))  # fmt: skip
    return pkg.zip()


@pytest.fixture
def cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> KeyCache:
    caplog.set_level(logging.DEBUG, CACHE_LOG)
    return _cache(tmp_path)


async def test_the_copy_is_read_for_the_state_it_was_written_for_and_only_that(
    district: District, cache: KeyCache, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await district.run(_day1(), key_cache=cache)
    assert _reads(caplog) == ["not kept"]  # (no token yet)
    await _assert_kept_is_stored(district, cache)
    await district.run(_day2(), key_cache=cache)
    assert _reads(caplog) == ["kept"]
    await _assert_kept_is_stored(district, cache)
    assert len(list(tmp_path.iterdir())) == 1, "the older copy is dropped"
    # Another worker (without this copy) applies day 1 again: the copy names a state that is gone.
    await district.run(_day1())
    assert await _kept_keys(district, cache) is None
    result = await district.run(_day2(), key_cache=cache)
    assert _reads(caplog) == ["not kept"]
    assert result.counts["records"] > 0 and result.status == "SUCCEEDED"
    await _assert_kept_is_stored(district, cache)


async def test_a_sync_that_applies_nothing_leaves_the_copy_the_current_one(
    district: District, cache: KeyCache, caplog: pytest.LogCaptureFixture
) -> None:
    await district.run(_day1(), key_cache=cache)
    held = ImportOptions(hold_delete_percent=0.0, hold_delete_minimum=1)
    for options in (ImportOptions(dry_run=True), held):
        token = await _token(district)
        result = await district.run(_day2(), options, key_cache=cache)
        assert result.status in ("SUCCEEDED", "HELD")
        assert await _token(district) == token
        await _assert_kept_is_stored(district, cache)
    caplog.clear()
    await district.run(_day2(), key_cache=cache)
    assert _reads(caplog) == ["kept"]
    await _assert_kept_is_stored(district, cache)


async def test_an_import_failing_after_it_staged_its_keys_leaves_the_copy_as_it_was(
    district: District, cache: KeyCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await district.run(_day1(), key_cache=cache)
    before = await _kept_keys(district, cache)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away while the sync was recorded")

    monkeypatch.setattr(db_imports, "write_summaries", broken)
    result = await district.run(_day2(), key_cache=cache)
    assert result.status == "FAILED"
    assert not list(tmp_path.glob(".*")), "the staged keys are let go"
    kept = await _kept_keys(district, cache)
    assert before is not None and kept is not None and kept.equals(before)
    await _assert_kept_is_stored(district, cache)


def test_a_small_state_gets_no_file_and_a_file_of_another_shape_is_not_read(tmp_path: Path) -> None:
    keys = pl.DataFrame({"sourcedId": ["a", "b"], "content_hash": [1, 2], "row_hash": [3, 4], "kind": [1, 1],
                         "raw_hash": [5, None], "info": ["row.enum_case:role", None]},
                        schema=CACHED_SCHEMA)  # fmt: skip
    assert KeyCache(tmp_path, min_rows=3).stage(1, DataType.ENROLLMENTS, keys) is None
    cache = KeyCache(tmp_path, min_rows=2)
    token = uuid.uuid4()
    staged = cache.stage(1, DataType.ENROLLMENTS, keys)
    assert staged is not None
    cache.publish(staged, 1, DataType.ENROLLMENTS, token)
    loaded = cache.load(1, DataType.ENROLLMENTS, token)
    assert loaded is not None and loaded.equals(keys)
    assert cache.load(1, DataType.ENROLLMENTS, None) is None
    assert cache.load(2, DataType.ENROLLMENTS, token) is None
    for older in ("raw_hash", "info"):  # (files of earlier releases)
        keys.drop(older).write_ipc(next(tmp_path.glob("*.arrow")))
        assert cache.load(1, DataType.ENROLLMENTS, token) is None
    next(tmp_path.glob("*.arrow")).write_bytes(b"not arrow")
    assert cache.load(1, DataType.ENROLLMENTS, token) is None


async def test_raw_hashes_renewed_by_an_import_are_in_its_copy(
    district: District, cache: KeyCache, caplog: pytest.LogCaptureFixture
) -> None:
    await district.run(_day1(), key_cache=cache)
    # Versions without raw hashes (as before migration 0005); whatever changes entity data renews the token.
    await district.pool.execute("UPDATE enrollments_versions SET raw_hash = NULL WHERE tenant_id = $1",
                                district.tenant.id)  # fmt: skip
    await district.pool.execute("UPDATE tenants SET data_token = gen_random_uuid() WHERE id = $1", district.tenant.id)
    await district.run(_day1(), key_cache=cache)
    assert _reads(caplog)[-1] == "not kept"
    kept = await _kept_keys(district, cache)
    assert kept is not None and kept["raw_hash"].null_count() == 0
    await _assert_kept_is_stored(district, cache)


def test_a_folder_that_cannot_be_written_costs_only_the_copy(tmp_path: Path) -> None:
    keys = pl.DataFrame({"sourcedId": ["a"], "content_hash": [1], "row_hash": [2], "kind": [1], "raw_hash": [3],
                         "info": [None]}, schema=CACHED_SCHEMA)  # fmt: skip
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    assert KeyCache(blocked, min_rows=0).stage(1, DataType.ENROLLMENTS, keys) is None
    cache = KeyCache(tmp_path / "keys", min_rows=0)
    staged = cache.stage(1, DataType.ENROLLMENTS, keys)
    assert staged is not None
    staged.unlink()  # (gone before it is named: as on a disk that failed meanwhile)
    cache.publish(staged, 1, DataType.ENROLLMENTS, uuid.uuid4())
    assert list((tmp_path / "keys").iterdir()) == []
