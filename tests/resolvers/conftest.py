"""Fixtures of the GraphQL history tests: a district (tenant) to import packages into through the engine."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import make_tenant
from tests.workers.imports.conftest import District


@pytest.fixture
async def district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))
