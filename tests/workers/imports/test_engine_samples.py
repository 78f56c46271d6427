"""The real third-party packages import with the outcomes their quirks call for, and re-import as NO_CHANGE."""

from __future__ import annotations

from pathlib import Path

from oneroster_csv.model import DataType
from tests.workers.imports.conftest import District, summary


async def test_rosterhub_imports_clean_and_reimports_as_no_change(district: District, shared_samples: Path) -> None:
    first = await district.run(shared_samples / "rosterhub-en")
    assert first.status == "SUCCEEDED"
    assert first.counts == {"records": 62, "errors": 0, "warnings": 0}
    assert summary(first, DataType.USERS)["new"] == 20
    assert summary(first, DataType.ENROLLMENTS)["new"] == 30
    state = await district.current()

    again = await district.run(shared_samples / "rosterhub-en")
    assert again.status == "SUCCEEDED"
    for data_type in (DataType.ORGS, DataType.USERS, DataType.ENROLLMENTS, DataType.CLASSES):
        row = summary(again, data_type)
        assert row["total"] == row["no_change"] > 0, (data_type, row)
    assert await district.current() == state


async def test_moodle_full_set_skips_what_it_must_and_cascades(district: District, shared_samples: Path) -> None:
    result = await district.run(shared_samples / "moodle-Test_full_data_set" / "Test_full_data_set.zip")
    assert result.status == "SUCCEEDED"
    classes = summary(result, DataType.CLASSES)
    enrollments = summary(result, DataType.ENROLLMENTS)
    # no courses.csv: both classes reference a course that does not exist, and every enrollment names a skipped class
    assert classes["skipped"] == classes["total"] == 2
    assert enrollments["skipped"] == enrollments["total"] == 6


async def test_a_package_that_fails_changes_nothing(district: District, shared_samples: Path, tmp_path: Path) -> None:
    await district.run(shared_samples / "rosterhub-en")
    before = await district.all_versions()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 definitely not a zip")
    result = await district.run(broken)
    assert result.status == "FAILED"
    assert result.failure is not None and result.failure[0].startswith("package.")
    assert await district.all_versions() == before


async def test_a_held_sync_is_approved_exactly_or_discarded(district: District, tmp_path: Path) -> None:
    from db.imports import discard_held, request_approval
    from tests.workers.imports.conftest import write_package
    from workers.imports.engine import run_import
    from workers.imports.model import ImportOptions

    header = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    many = header + "".join(f"o{i},,,Org {i},school,,\n" for i in range(40))
    few = header + "".join(f"o{i},,,Org {i},school,,\n" for i in range(5))
    options = ImportOptions(hold_delete_percent=10, hold_delete_minimum=25)
    assert (await district.run(write_package(tmp_path / "a", {"orgs": many}), options)).status == "SUCCEEDED"
    before = await district.all_versions()

    held = await district.run(write_package(tmp_path / "b", {"orgs": few}), options)
    assert held.status == "HELD"
    assert held.hold == {"dataType": "ORGS", "currentCount": 40, "deleteCount": 35, "thresholdPercent": 10.0}
    assert await district.all_versions() == before, "a held sync applies nothing"

    async with district.pool.acquire() as conn:
        assert await request_approval(conn, district.tenant.id, held.sync_id) is None  # queued again
    approved = await run_import(district.pool, district.tenant.id, held.sync_id, tmp_path / "b", options,
                                approving=True)  # fmt: skip
    assert approved.status == "SUCCEEDED"
    assert summary(approved, DataType.ORGS) == summary(held, DataType.ORGS)
    assert len([r for r in (await district.current())["orgs_versions"] if r[1] != 4]) == 5

    again = await district.run(write_package(tmp_path / "c", {"orgs": many}), options)  # brings 35 back: no hold
    assert again.status == "SUCCEEDED"
    held_again = await district.run(write_package(tmp_path / "d", {"orgs": few}), options)
    assert held_again.status == "HELD"
    await district.run(write_package(tmp_path / "e", {"orgs": many}), options)  # another import applies meanwhile
    async with district.pool.acquire() as conn:
        assert await request_approval(conn, district.tenant.id, held_again.sync_id) == "HOLD_STALE"
        assert await discard_held(conn, district.tenant.id, held_again.sync_id)
        assert not await discard_held(conn, district.tenant.id, held_again.sync_id)

    # Approved, then overtaken before a worker applies it: the engine's own check refuses it and applies nothing.
    held_last = await district.run(write_package(tmp_path / "f", {"orgs": few}), options)
    assert held_last.status == "HELD"
    async with district.pool.acquire() as conn:
        assert await request_approval(conn, district.tenant.id, held_last.sync_id) is None
    await district.run(write_package(tmp_path / "g", {"orgs": many}), options)
    before_stale = await district.all_versions()
    stale = await run_import(district.pool, district.tenant.id, held_last.sync_id, tmp_path / "f", options,
                             approving=True)  # fmt: skip
    assert stale.status == "FAILED" and stale.failure is not None and stale.failure[0] == "HOLD_STALE"
    assert await district.all_versions() == before_stale, "a stale hold must not be applied"


async def test_official_vrd118_is_a_clean_12_delta_of_one_record_per_type(
    district: District, shared_samples: Path
) -> None:
    result = await district.run(shared_samples / "official-1.2-VRd118" / "VRd118.zip")
    assert result.status == "SUCCEEDED"
    assert result.counts == {"records": 9, "errors": 0, "warnings": 0}
    for data_type in DataType:
        assert summary(result, data_type) == {**dict.fromkeys(summary(result, data_type), 0), "total": 1, "new": 1}


async def test_oat_sample_keeps_legacy_names_and_counts_empty_bulk_files(
    district: District, shared_samples: Path
) -> None:
    result = await district.run(shared_samples / "oat-1.1-base")
    assert result.status == "SUCCEEDED"
    # header-only bulk files are files of the sync: a row of zeros each
    for data_type in (DataType.ACADEMIC_SESSIONS, DataType.COURSES, DataType.DEMOGRAPHICS):
        assert summary(result, data_type)["total"] == 0
    assert summary(result, DataType.USERS)["new"] == 2
    assert summary(result, DataType.CLASSES)["skipped"] == 3  # blank or dangling course references
    assert summary(result, DataType.ENROLLMENTS)["skipped"] == 3  # their classes were skipped


async def test_a_zip_and_its_extracted_folder_import_alike(district: District, shared_samples: Path) -> None:
    folder = shared_samples / "moodle-v1p2_full_dataset"
    zipped = await district.run(folder / "v1p2_full_dataset.zip")
    extracted = await district.run(folder / "v1p2_full_dataset")
    assert zipped.summaries is not None and extracted.summaries is not None
    assert zipped.counts == extracted.counts
    # the second import of the same data: what was NEW is now NO_CHANGE, the rest identical
    for data_type in (DataType.USERS, DataType.ROLES, DataType.ENROLLMENTS):
        first, second = summary(zipped, data_type), summary(extracted, data_type)
        assert second["no_change"] == first["new"] and second["skipped"] == first["skipped"]


async def test_imports_of_one_tenant_apply_one_at_a_time_in_order(district: District, shared_samples: Path) -> None:
    import asyncio

    package = shared_samples / "rosterhub-en"
    first, second, third = await asyncio.gather(*(district.run(package) for _ in range(3)))
    assert [r.status for r in (first, second, third)] == ["SUCCEEDED"] * 3
    rows = await district.pool.fetch(
        "SELECT applied_seq, base_seq FROM syncs WHERE tenant_id = $1 ORDER BY applied_seq", district.tenant.id
    )
    # each import computed on top of the one applied just before it: none saw a half-applied state
    assert [r["base_seq"] for r in rows[1:]] == [r["applied_seq"] for r in rows[:-1]]
    new_counts = sorted(summary(r, DataType.USERS)["new"] for r in (first, second, third))
    assert new_counts == [0, 0, 20], "exactly one of them created the users; the others found them"
