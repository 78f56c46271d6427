"""GraphQL read benchmark: the history views of a large district through the real ASGI app, against hand-written
asyncpg queries that read the same rows and serialise them to JSON (the floor).

    python -m bench.graphql_benchmark [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--data /tmp/ors-bench]
                                      [--runs 20] [--reuse DATABASE_URL] [--keep]

Setup (skipped with --reuse of a database a --keep run left behind): a fresh database and tenant, 50 small bulk
imports of a few orgs (so the history page is full), then the day-1 and day-2 district packages (UPDATED, NEW and
DELETED records). Measured, median of --runs after warm-up, each three ways:
  graphql - the HTTP request through the app (an in-process ASGI call, bench/_asgi.py; lifespan started, bearer
            token), which is all the server does for it: Starlette, the view, the token, strawberry, the JSON answer;
  data    - the db-layer functions the resolvers call, without GraphQL (where the time goes);
  floor   - one hand-written asyncpg statement (or two) per view, rows serialised with json.dumps.
The three are measured in turns, run after run, so that a busy moment of the machine weighs on all alike.
Targets: each GraphQL view within 3x its floor; the deep drill-down within 1.5x the first page.

The floors leave out what any HTTP answer pays: the request through the ASGI app and the bearer token's lookup. That
fixed cost is measured too (`{ __typename }`, authenticated) and printed with each view's GraphQL time less it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from strawberry.relay import to_base64

from bench import _asgi as asgi
from bench.import_benchmark import drop_database, ensure_packages
from db.entities import TABLES, TYPE_CODES, attribute_columns
from db.entities_read import entities_by_keys, entity_with_targets, references_of, sync_wide_summaries
from db.migrate import migrate
from db.outcomes import NO_LINE, OUTCOME_CODES, OutcomeCursor, page_records
from db.pool import connect, create_pool
from db.syncs import SyncFilter, count_syncs, insert_sync, page_syncs
from db.tenants import create_tenant, create_token, tenant_id_by_name
from oneroster_csv.model import DataType
from oneroster_sync.app import create_app
from oneroster_sync.embedded import ensure_database
from oneroster_sync.settings import Endpoints
from resolvers.pagination import encode_cursor
from workers.imports.engine import run_import
from workers.imports.model import ImportOptions

TENANT = "graphql-bench"
SMALL_SYNCS = 50
DEEP_POSITION = 900_000
ENROLLMENTS = DataType.ENROLLMENTS
ABSENT_FILES = ("academicSessions", "categories", "classResources", "classes", "courseResources", "courses",
                "demographics", "enrollments", "lineItems", "resources", "results", "users")  # fmt: skip

HISTORY = """query { syncs(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
  id kind status initiatedAt startedAt finishedAt dryRun recordCount errorCount warningCount
  app { id name kind } progress { phase processed total percent done }
  summaries { dataType total ... on ImportTypeSummary { noChange new updated deleted skipped duplicates merged
              excluded invalid } } } } } }"""

DRILL_DOWN = """query($id: ID!, $after: String) { node(id: $id) { ... on Sync {
  records(dataType: ENROLLMENTS, first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node {
    id dataType sourcedId outcome invalid line attributes issues { code severity field message }
    entity { sourcedId } } } } } } }"""

ENTITY = """query($sid: String!) { entity(dataType: ENROLLMENTS, sourcedId: $sid) {
  id dataType sourcedId deleted attributes
  references { field dataType sourcedId entity { id dataType sourcedId deleted attributes } } } }"""

# --- setup ---------------------------------------------------------------------------------------------------------


def small_package(folder: Path, orgs_header: str, orgs: list[str], number: int) -> Path:
    """A bulk package of a few orgs (the district's own first rows), the last one renamed so each sync updates it."""
    folder.mkdir(parents=True, exist_ok=True)
    absent = "".join(f"file.{name},absent\n" for name in ABSENT_FILES)
    manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\n" + absent
    (folder / "manifest.csv").write_text(manifest)
    cells = orgs[-1].split(",")
    cells[3] = f"{cells[3]} {number}"
    (folder / "orgs.csv").write_text(orgs_header + "".join(r + "\n" for r in [*orgs[:-1], ",".join(cells)]))
    return folder


async def import_package(pool: asyncpg.Pool, tenant_id: int, app_id: int, package: Path) -> tuple[int, str]:
    sync = await insert_sync(pool, tenant_id, app_id)
    result = await run_import(pool, tenant_id, sync.id, str(package), ImportOptions(), ignore_hold=True)
    return sync.id, result.status


async def prepare(admin_dsn: str, data: Path) -> str:
    day1, day2 = ensure_packages(data)
    database_url = await ensure_database(admin_dsn, f"bench_graphql_{uuid.uuid4().hex[:8]}")
    conn = await connect(database_url)
    try:
        await migrate(conn)
        tenant_id = await create_tenant(conn, TENANT)
        app_id = await conn.fetchval("SELECT id FROM apps WHERE tenant_id = $1 AND name = 'csv-upload'", tenant_id)
    finally:
        await conn.close()
    lines = (day1 / "orgs.csv").read_text().splitlines()
    pool = await create_pool(database_url, max_size=4)
    try:
        started = time.perf_counter()
        for number in range(SMALL_SYNCS):
            package = small_package(data / "graphql-small" / str(number), lines[0] + "\n", lines[1:4], number)
            await import_package(pool, tenant_id, app_id, package)
        print(f"{SMALL_SYNCS} small imports: {time.perf_counter() - started:.1f}s", flush=True)
        for package in (day1, day2):
            started = time.perf_counter()
            sync_id, status = await import_package(pool, tenant_id, app_id, package)
            print(f"import {package.name}: sync {sync_id} {status} in {time.perf_counter() - started:.1f}s", flush=True)
    finally:
        await pool.close()
    return database_url


@dataclass(frozen=True)
class Subject:
    """What the views read: the tenant, the day-2 sync, the deep drill-down position and an enrollment."""

    tenant_id: int
    token: str
    sync_id: int
    applied_seq: int
    deep: OutcomeCursor
    enrollment: str


async def subject(database_url: str) -> Subject:
    conn = await connect(database_url)
    try:
        tenant_id = await tenant_id_by_name(conn, TENANT)
        token = await create_token(conn, tenant_id, "viewer")
        sync = await conn.fetchrow(
            "SELECT id, applied_seq FROM syncs WHERE tenant_id = $1 AND applied_seq IS NOT NULL "
            "ORDER BY applied_seq DESC LIMIT 1",
            tenant_id,
        )
        assert sync is not None, "no applied sync: run without --reuse to prepare the database"
        seq = sync["applied_seq"]
        # The record at DEEP_POSITION of the day-2 drill-down: versions the sync wrote or carried, in key order.
        deep = await conn.fetchrow(
            f"""SELECT "sourcedId", CASE WHEN valid_from = $2 THEN coalesce(line, {NO_LINE}) ELSE {NO_LINE} END AS line,
                       CASE WHEN valid_from = $2 THEN kind::int ELSE {OUTCOME_CODES["NO_CHANGE"]} END AS outcome
                FROM {TABLES[ENROLLMENTS]} WHERE tenant_id = $1 AND valid_from <= $2
                  AND (valid_to IS NULL OR valid_to > $2) ORDER BY "sourcedId" OFFSET $3 LIMIT 1""",
            tenant_id, seq, DEEP_POSITION - 1,
        )  # fmt: skip
        assert deep is not None, f"the day-2 sync has fewer than {DEEP_POSITION:,} enrollments"
        enrollment = await conn.fetchval(
            f'SELECT "sourcedId" FROM {TABLES[ENROLLMENTS]} WHERE tenant_id = $1 AND valid_to IS NULL AND kind <> 4 '
            'ORDER BY "sourcedId" OFFSET 500000 LIMIT 1',
            tenant_id,
        )
    finally:
        await conn.close()
    cursor = OutcomeCursor(TYPE_CODES[ENROLLMENTS], deep["sourcedId"], deep["line"], deep["outcome"])
    return Subject(tenant_id, token, sync["id"], seq, cursor, enrollment)


# --- floors: hand-written statements, rows serialised to JSON ------------------------------------------------------


async def history_floor(conn: asyncpg.Connection, tenant_id: int) -> bytes:
    rows = await conn.fetch(
        """SELECT s.id, s.kind, s.status, s.initiated_at, s.started_at, s.finished_at, s.dry_run, s.record_count,
                  s.error_count, s.warning_count, s.progress_phase, s.progress_processed, s.progress_total,
                  a.id AS app_id, a.name AS app_name, a.kind AS app_kind
           FROM syncs s JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id
           WHERE s.tenant_id = $1 AND a.uninstalled_at IS NULL ORDER BY s.initiated_at DESC, s.id DESC LIMIT 51""",
        tenant_id,
    )
    summaries = await conn.fetch(
        "SELECT * FROM sync_summaries WHERE tenant_id = $1 AND sync_id = ANY($2::bigint[]) AND school_id = '' "
        "ORDER BY sync_id, data_type",
        tenant_id, [r["id"] for r in rows],
    )  # fmt: skip
    total = await conn.fetchval(
        "SELECT count(*) FROM syncs s JOIN apps a ON a.tenant_id = s.tenant_id AND a.id = s.app_id "
        "WHERE s.tenant_id = $1 AND a.uninstalled_at IS NULL",
        tenant_id,
    )
    by_sync: dict[int, list[dict[str, Any]]] = {}
    for summary in summaries:
        by_sync.setdefault(summary["sync_id"], []).append(dict(summary))
    syncs = [{**dict(r), "summaries": by_sync.get(r["id"], [])} for r in rows[:50]]
    return json.dumps({"totalCount": total, "syncs": syncs}, default=str).encode()


async def drill_down_floor(conn: asyncpg.Connection, subject: Subject, after: str | None) -> bytes:
    columns = ", ".join(f'v."{c}"' for c in attribute_columns(ENROLLMENTS)[1:])
    rows = await conn.fetch(
        f"""SELECT v."sourcedId", v.valid_from, v.kind, v.line, v.invalid, v.issues, v.metadata, {columns},
                   cur."sourcedId" AS entity
            FROM {TABLES[ENROLLMENTS]} v
            LEFT JOIN {TABLES[ENROLLMENTS]} cur
              ON cur.tenant_id = v.tenant_id AND cur."sourcedId" = v."sourcedId" AND cur.valid_to IS NULL
            WHERE v.tenant_id = $1 AND v.valid_from <= $2 AND (v.valid_to IS NULL OR v.valid_to > $2)
              AND v."sourcedId" > coalesce($3, '') ORDER BY v."sourcedId" LIMIT 101""",
        subject.tenant_id, subject.applied_seq, after,
    )  # fmt: skip
    records = []
    for row in rows[:100]:
        attributes = {c: row[c] for c in attribute_columns(ENROLLMENTS)[1:] if row[c] is not None}
        records.append({
            "sourcedId": row["sourcedId"], "line": row["line"], "invalid": row["invalid"],
            "outcome": row["kind"] if row["valid_from"] == subject.applied_seq else OUTCOME_CODES["NO_CHANGE"],
            "attributes": {"sourcedId": row["sourcedId"], **attributes, **(row["metadata"] or {})},
            "issues": row["issues"] or [], "entity": None if row["entity"] is None else {"sourcedId": row["entity"]},
        })  # fmt: skip
    return json.dumps({"hasNextPage": len(rows) > 100, "records": records}).encode()


async def entity_floor(conn: asyncpg.Connection, tenant_id: int, sourced_id: str) -> bytes:
    entity = await conn.fetchrow(
        f'SELECT to_jsonb(v) AS doc FROM {TABLES[ENROLLMENTS]} v WHERE tenant_id = $1 AND "sourcedId" = $2 '
        "AND valid_to IS NULL",
        tenant_id, sourced_id,
    )  # fmt: skip
    assert entity is not None
    doc = entity["doc"]
    refs = references_of(ENROLLMENTS, doc)
    selects = [f'SELECT to_jsonb(v) AS doc FROM {TABLES[target]} v WHERE tenant_id = $1 AND "sourcedId" = ${n + 2} '
               "AND valid_to IS NULL" for n, (_, target, _) in enumerate(refs)]  # fmt: skip
    targets = await conn.fetch(" UNION ALL ".join(selects), tenant_id, *(sid for _, _, sid in refs))
    return json.dumps({"entity": doc, "references": [r["doc"] for r in targets]}).encode()


# --- the data layer the resolvers use, without GraphQL -------------------------------------------------------------


async def history_data(pool: asyncpg.Pool, tenant_id: int) -> None:
    rows = await page_syncs(pool, SyncFilter(tenant_id), limit=51)  # with their apps
    await sync_wide_summaries(pool, tenant_id, [row.id for row, _ in rows[:50]])
    await count_syncs(pool, SyncFilter(tenant_id))


async def drill_down_data(pool: asyncpg.Pool, subject: Subject, after: OutcomeCursor | None) -> None:
    async with pool.acquire() as conn:
        records = await page_records(conn, subject.tenant_id, subject.sync_id, data_type=ENROLLMENTS, after=after,
                                     limit=101)  # fmt: skip
    await entities_by_keys(pool, subject.tenant_id, [(ENROLLMENTS, r.sourced_id) for r in records[:100]])


async def entity_data(pool: asyncpg.Pool, subject: Subject) -> None:
    row, targets = await entity_with_targets(pool, subject.tenant_id, ENROLLMENTS, subject.enrollment)
    assert row is not None and len(targets) == len(references_of(ENROLLMENTS, row.attributes))


# --- measuring -----------------------------------------------------------------------------------------------------


async def median_ms(run: Callable[[], Awaitable[object]], runs: int, warmup: int = 3) -> float:
    return (await interleaved_medians_ms([run], runs, warmup))[0]


async def interleaved_medians_ms(
    calls: list[Callable[[], Awaitable[object]]], runs: int, warmup: int = 3
) -> list[float]:
    """The median time of each call, measured in turns (a, b, c, a, b, c, ...) so that a busy moment of the machine
    weighs on all of them alike, not on whichever ran then."""
    for _ in range(warmup):
        for call in calls:
            await call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for call, measured in zip(calls, times, strict=True):
            started = time.perf_counter()
            await call()
            measured.append(time.perf_counter() - started)
    return [1000 * statistics.median(measured) for measured in times]


def graphql_call(app: Any, headers: dict[str, str], query: str, **variables: Any) -> Callable[[], Awaitable[bytes]]:
    body = json.dumps({"query": query, "variables": variables}).encode()

    async def call() -> bytes:
        status, content = await asgi.post(app, "/graphql", body, headers)
        assert status == 200, (status, content[:300])
        return content

    return call


async def check(call: Callable[[], Awaitable[bytes]], path: list[str], expected: int) -> None:
    """The view answers without errors and with `expected` items (so the benchmark measures what it says)."""
    body = json.loads(await call())
    assert not body.get("errors"), body["errors"]
    found: Any = body["data"]
    for key in path:
        found = found[key]
    assert len(found) == expected, f"{'.'.join(path)}: {len(found)} items, expected {expected}"


async def measure(database_url: str, runs: int) -> None:
    subject_ = await subject(database_url)
    sync_id = to_base64("Sync", subject_.sync_id)
    deep_after = encode_cursor("r", subject_.deep.encode())
    app = create_app(Endpoints(database_url, "redis://127.0.0.1:6379/0", f"bench-{uuid.uuid4().hex[:8]}"))
    pool = await create_pool(database_url, max_size=4)
    conn = await connect(database_url)
    headers = {"Authorization": f"Bearer {subject_.token}", "Content-Type": "application/json"}
    try:
        async with app.router.lifespan_context(app):
            c = (app, headers)
            views: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]], Callable[[], Any]]] = [
                ("history page (50 syncs)", graphql_call(*c, HISTORY), lambda: history_data(pool, subject_.tenant_id),
                 lambda: history_floor(conn, subject_.tenant_id)),
                ("drill-down, first 100", graphql_call(*c, DRILL_DOWN, id=sync_id),
                 lambda: drill_down_data(pool, subject_, None), lambda: drill_down_floor(conn, subject_, None)),
                (f"drill-down after {DEEP_POSITION:,}", graphql_call(*c, DRILL_DOWN, id=sync_id, after=deep_after),
                 lambda: drill_down_data(pool, subject_, subject_.deep),
                 lambda: drill_down_floor(conn, subject_, subject_.deep.sourced_id)),
                ("entity + 3 references", graphql_call(*c, ENTITY, sid=subject_.enrollment),
                 lambda: entity_data(pool, subject_),
                 lambda: entity_floor(conn, subject_.tenant_id, subject_.enrollment)),
            ]  # fmt: skip
            await check(views[0][1], ["syncs", "edges"], 50)
            await check(views[1][1], ["node", "records", "edges"], 100)
            await check(views[2][1], ["node", "records", "edges"], 100)
            await check(views[3][1], ["entity", "references"], 3)
            fixed_ms = await median_ms(graphql_call(*c, "{ __typename }"), runs)
            print(f"fixed cost of an authenticated request ({{ __typename }}): {fixed_ms:.1f} ms")
            print(f"{'view':<28}{'graphql ms':>12}{'data ms':>10}{'floor ms':>10}{'graphql/floor':>15}"
                  f"{'(graphql - fixed)/floor':>26}")  # fmt: skip
            results: dict[str, float] = {}
            for name, graphql, data, floor in views:
                graphql_ms, data_ms, floor_ms = await interleaved_medians_ms([graphql, data, floor], runs)
                results[name] = graphql_ms
                ratio = graphql_ms / floor_ms
                print(f"{name:<28}{graphql_ms:>12.1f}{data_ms:>10.1f}{floor_ms:>10.1f}{ratio:>14.2f}x "
                      f"{(graphql_ms - fixed_ms) / floor_ms:>25.2f}x "
                      f"{'ok' if ratio <= 3 else 'MISSED (target <= 3x)'}", flush=True)  # fmt: skip
            first, deep = results["drill-down, first 100"], results[f"drill-down after {DEEP_POSITION:,}"]
            print(f"deep / first drill-down page: {deep / first:.2f}x "
                  f"{'ok' if deep / first <= 1.5 else 'MISSED'} (target <= 1.5x)")  # fmt: skip
    finally:
        await conn.close()
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data", type=Path, default=Path("/tmp/ors-bench"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", metavar="DATABASE_URL", help="measure a database a --keep run prepared")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()
    database_url = args.reuse or await prepare(args.dsn, args.data)
    try:
        await measure(database_url, args.runs)
    finally:
        if args.keep or args.reuse:
            print(f"database kept: {database_url}")
        else:
            await drop_database(args.dsn, database_url)


if __name__ == "__main__":
    asyncio.run(main())
