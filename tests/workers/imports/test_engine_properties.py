"""Properties of the import engine on generated districts, against the real PostgreSQL (§2, §4).

Each example works in a tenant of its own, so examples never see each other's data. The packages come from
`packages.packages()`: orgs with a district, schools and departments, sessions, courses, classes, users,
enrollments and demographics, with random faults (hard and soft rule breaks, dangling references, mergeable and
conflicting duplicates, username clashes, row width), random quoting, CRLF, BOM and file order.
"""

from __future__ import annotations

import os

import asyncpg
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from tests.conftest import make_tenant
from tests.workers.imports.conftest import District
from tests.workers.imports.packages import (
    OUTCOME_COLUMNS,
    Generated,
    content_state,
    drilldown_counts,
    packages,
    run,
    summary_table,
    zip_bytes,
)
from workers.imports.engine import ImportResult
from workers.imports.model import ImportOptions

# An import costs about 0.3 s of fixed engine overhead, so 20 examples a property keep this file near a minute;
# ENGINE_PROPERTY_EXAMPLES raises it for a longer hunt.
PROPERTY = settings(
    max_examples=int(os.environ.get("ENGINE_PROPERTY_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def _district(pool: asyncpg.Pool) -> District:
    return District(pool, await make_tenant(pool))


def _show(label: str, generated: Generated) -> None:
    note(f"{label} faults: {generated.faults}")
    for stem, text in generated.pkg.files().items():
        note(f"{label} {stem}.csv ({generated.pkg.mode(stem)}):\n{text}")


def _check_counts(result: ImportResult) -> None:
    """§2: every column sum, sync-wide and per school, and the sync-level figures."""
    assert result.status in ("SUCCEEDED", "HELD"), result.failure
    table = summary_table(result)
    for key, row in table.items():
        parts = sum(row[c] for c in OUTCOME_COLUMNS)
        assert row["total"] == parts, (key, row)
        assert row["invalid"] <= row["no_change"] + row["new"] + row["updated"], (key, row)
        assert min(row.values()) >= 0, (key, row)
    sync_wide = [row for (school, _), row in table.items() if school == ""]
    assert result.counts == {
        "records": sum(r["total"] for r in sync_wide),
        "errors": sum(r["skipped"] + r["excluded"] for r in sync_wide),
        "warnings": sum(r["invalid"] for r in sync_wide),
    }
    # a school's table never counts more than the sync-wide one
    for (school, code), row in table.items():
        if school:
            whole = table[("", code)]
            assert all(row[c] <= whole[c] for c in row), (school, code, row, whole)


@PROPERTY
@given(day1=packages(), day2=packages(deltas=True), dry_run=st.booleans())
async def test_summary_columns_add_up_and_match_the_records_listed(
    pool: asyncpg.Pool, day1: Generated, day2: Generated, dry_run: bool
) -> None:
    """(a) The §2 sums hold for every type, sync-wide and per school, on a first import and on a second one (bulk,
    delta and absent files) that updates, deletes and skips; and the records behind the numbers (what drill-downs
    list) are exactly as many."""
    _show("day1", day1)
    _show("day2", day2)
    district = await _district(pool)
    first, records = await run(district, day1.pkg)
    _check_counts(first)
    assert drilldown_counts(records) == summary_table(first)
    second, records = await run(district, day2.pkg, ImportOptions(dry_run=dry_run))
    _check_counts(second)
    assert drilldown_counts(records) == summary_table(second)
    # duplicates = merged + excluded are exactly the rows that share a sourcedId with an earlier row or clash
    for row in summary_table(second).values():
        assert row["merged"] + row["excluded"] <= row["total"]


@PROPERTY
@given(generated=packages())
async def test_reimporting_the_same_bulk_package_changes_nothing(pool: asyncpg.Pool, generated: Generated) -> None:
    """(b) The same package again: every applied record is NO_CHANGE (invalid ones flagged again), nothing is new,
    updated or deleted, and skipped, merged and excluded rows stay so."""
    _show("package", generated)
    district = await _district(pool)
    first, _ = await run(district, generated.pkg)
    state = await district.current()
    again, records = await run(district, generated.pkg)
    _check_counts(again)
    before, after = summary_table(first), summary_table(again)
    assert set(before) == set(after)
    for key, row in after.items():
        was = before[key]
        assert (row["new"], row["updated"], row["deleted"]) == (0, 0, 0), (key, was, row)
        assert row["no_change"] == was["new"], (key, was, row)
        for column in ("skipped", "merged", "excluded", "invalid", "total"):
            assert row[column] == was[column], (key, column, was, row)
    assert drilldown_counts(records) == after
    assert await district.current() == state  # nothing written at all


def _corrupt(generated: Generated, how: str) -> bytes:
    pkg = generated.pkg
    if how == "truncated zip":
        return pkg.zip()[: len(pkg.zip()) // 2]
    files: dict[str, str | bytes] = dict(pkg.files())
    modes = {stem: pkg.mode(stem) for stem in pkg.rows}
    stem = next(s for s, mode in modes.items() if mode != "absent")
    if how == "declared file missing":
        del files[stem]
    else:  # a header no mapping can read
        files[stem] = "id,name\n1,x\n"
    return zip_bytes(files, modes)


@PROPERTY
@given(
    day1=packages(),
    day2=packages(prefix="n", deltas=True),
    how=st.sampled_from(["truncated zip", "declared file missing", "unreadable header", "held", "dry run"]),
)
async def test_a_failed_held_or_dry_run_sync_leaves_every_version_as_it_was(
    pool: asyncpg.Pool, day1: Generated, day2: Generated, how: str
) -> None:
    """(c) Nothing is applied unless the sync succeeds for real: every stored version stays byte for byte."""
    _show("day1", day1)
    _show("day2", day2)
    district = await _district(pool)
    await run(district, day1.pkg)
    before = await district.all_versions()
    if how == "held":
        # day 2's ids all differ from day 1's (prefix "n"), so it deletes the schools, at least: held at any share
        result, _ = await run(district, day2.pkg, ImportOptions(hold_delete_percent=0.0, hold_delete_minimum=1))
        if result.status != "HELD":  # day 1's faults left nothing that day 2 could delete (rare)
            assert all(row["deleted"] == 0 for row in summary_table(result).values()), result.failure
            assume(False)
        assert result.hold is not None and result.hold["deleteCount"] >= 1
        _check_counts(result)
    elif how == "dry run":
        result, _ = await run(district, day2.pkg, ImportOptions(dry_run=True))
        assert result.status == "SUCCEEDED", result.failure
        _check_counts(result)
    else:
        result, records = await run(district, _corrupt(day2, how))
        assert result.status == "FAILED"
        assert records == []
    assert await district.all_versions() == before


@PROPERTY
@given(day1=packages(), day2=packages(clean=True))
async def test_a_clean_bulk_day_2_gives_the_same_data_as_importing_it_alone(
    pool: asyncpg.Pool, day1: Generated, day2: Generated
) -> None:
    """(d) A bulk package that replaces every type and has no skipped or excluded rows leaves the tenant with the
    same data (content, schools, findings, hashes) whatever it had before."""
    _show("day1", day1)
    _show("day2", day2)
    history = await _district(pool)
    await run(history, day1.pkg)
    applied, _ = await run(history, day2.pkg)
    assert applied.status == "SUCCEEDED", applied.failure
    assert applied.counts["errors"] == 0, summary_table(applied)
    alone = await _district(pool)
    fresh, _ = await run(alone, day2.pkg)
    assert fresh.counts == applied.counts | {"records": fresh.counts["records"]}
    assert await content_state(history) == await content_state(alone)
