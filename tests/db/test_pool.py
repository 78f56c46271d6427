"""The pool returns connections without asyncpg's reset round trip: safe only because nothing leaves session state
behind, which these tests hold the code to."""

from __future__ import annotations

import re
from pathlib import Path

from db.pool import create_pool
from oneroster_sync.settings import Endpoints

ROOT = Path(__file__).resolve().parents[2]
# Statements that change a session beyond its transaction: SET without LOCAL, session advisory locks, LISTEN.
SESSION_STATE = re.compile(r"""["']\s*(?:SET\s+(?!LOCAL\b)|RESET\b|LISTEN\b)|pg_(?:try_)?advisory_lock(?:_shared)?\(""")


async def test_a_released_connection_has_no_transaction_and_no_local_settings(endpoints: Endpoints) -> None:
    pool = await create_pool(endpoints.database_url, min_size=1, max_size=1)
    try:
        conn = await pool.acquire()
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("SET LOCAL work_mem = '7MB'")
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS left_open (x int)")
        await pool.release(conn)  # without committing: the pool rolls back

        async with pool.acquire() as again:
            assert await again.fetchval("SELECT pg_backend_pid()") == backend, "the same session, reused"
            assert await again.fetchval("SHOW work_mem") != "7MB"
            assert await again.fetchval("SELECT to_regclass('pg_temp.left_open')") is None, "rolled back"
            assert not again.is_in_transaction()
    finally:
        await pool.close()


def test_no_code_changes_session_state_outside_a_transaction() -> None:
    found = []
    for folder in ("db", "workers", "resolvers", "schema", "oneroster_sync"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if SESSION_STATE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "session state would outlive the borrow (the pool does not reset it):\n" + "\n".join(found)


def test_the_session_state_pattern_catches_what_it_must() -> None:
    assert SESSION_STATE.search('await conn.execute("SET work_mem = 1")')
    assert SESSION_STATE.search("await conn.execute('LISTEN events')")
    assert SESSION_STATE.search('conn.fetchval("SELECT pg_advisory_lock(1)")')
    assert not SESSION_STATE.search('await conn.execute("SET LOCAL jit = off")')
    assert not SESSION_STATE.search('"UPDATE syncs SET status = $3"')
    assert not SESSION_STATE.search('conn.execute("SELECT pg_advisory_xact_lock($1)")')
