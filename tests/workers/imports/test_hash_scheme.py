"""The hash scheme guard: no import runs where polars would hash records otherwise than the stored hashes were."""

from __future__ import annotations

from collections.abc import AsyncIterator

import polars as pl
import pytest

from tests.workers.imports.conftest import District
from tests.workers.imports.packages import base_pkg, run
from workers.imports import hash_scheme
from workers.imports.hash_scheme import SCHEME, fingerprint


@pytest.fixture
async def recorded(district: District) -> AsyncIterator[None]:
    """The database's recorded scheme put back as it was after the test (the table is shared by every tenant)."""
    before = await district.pool.fetch("SELECT * FROM hash_schemes")
    yield
    async with district.pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM hash_schemes")
        for row in before:
            await conn.execute("INSERT INTO hash_schemes VALUES ($1, $2, $3, $4)", *row.values())


def test_the_fingerprint_is_the_hashes_of_a_fixed_sample() -> None:
    fingerprint.cache_clear()
    first = fingerprint()
    fingerprint.cache_clear()
    assert fingerprint() == first and -(2**63) <= first < 2**63


async def test_an_import_records_the_scheme_once(district: District, recorded: None) -> None:
    await district.pool.execute("DELETE FROM hash_schemes")
    assert (await run(district, base_pkg()))[0].status == "SUCCEEDED"
    assert (await run(district, base_pkg()))[0].status == "SUCCEEDED"
    rows = await district.pool.fetch("SELECT name, fingerprint, polars_version FROM hash_schemes")
    assert [tuple(r.values()) for r in rows] == [(SCHEME, fingerprint(), pl.__version__)]


async def test_another_scheme_fails_the_import_and_changes_nothing(district: District, recorded: None) -> None:
    assert (await run(district, base_pkg()))[0].status == "SUCCEEDED"
    before = await district.current()
    await district.pool.execute(
        "UPDATE hash_schemes SET fingerprint = $2, polars_version = '0.20.0' WHERE name = $1", SCHEME, fingerprint() ^ 1
    )
    result, _ = await run(district, base_pkg())
    assert result.status == "FAILED"
    assert result.failure is not None and result.failure[0] == "import.hash_scheme_changed"
    assert "0.20.0" in result.failure[1] and pl.__version__ in result.failure[1]
    assert await district.current() == before


async def test_a_worker_hashing_otherwise_is_refused(
    district: District, recorded: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await run(district, base_pkg()))[0].status == "SUCCEEDED"  # the scheme is recorded by now
    monkeypatch.setattr(hash_scheme, "fingerprint", lambda: fingerprint() + 1)  # as a polars that hashes otherwise
    result, _ = await run(district, base_pkg())
    assert result.failure is not None and result.failure[0] == "import.hash_scheme_changed"
