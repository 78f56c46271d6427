"""The real public sample packages under shared/data/oneroster-samples (skipped when shared/ is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneroster_csv import DataType, FileMode, Package, read_package

from .helpers import SAMPLES, found

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared sample packages not available")

ZIPPED = {
    "VRd118": ("official-1.2-VRd118", "VRd118"),
    "Test_full_data_set": ("moodle-Test_full_data_set", "Test_full_data_set"),
    "Test_minimal_data_set": ("moodle-Test_minimal_data_set", "Test_minimal_data_set"),
    "v1p2_full_dataset": ("moodle-v1p2_full_dataset", "v1p2_full_dataset"),
}


def sample(name: str) -> Package:
    folder, inner = ZIPPED[name]
    return read_package(SAMPLES / folder / f"{inner}.zip")


def pkg_codes(pkg: Package) -> set[str]:
    return {f.code for f in pkg.findings}


def notes(pkg: Package, dt: DataType) -> dict[tuple[str, str | None], str]:
    return {(n.code, n.column): n.message for n in pkg.tables[dt].notes}


@pytest.mark.parametrize("name", sorted(ZIPPED))
def test_zip_and_folder_read_the_same(name: str) -> None:
    folder, inner = ZIPPED[name]
    a = read_package(SAMPLES / folder / f"{inner}.zip")
    b = read_package(SAMPLES / folder / inner)
    assert a.version == b.version and a.modes == b.modes
    assert a.tables.keys() == b.tables.keys()
    for dt, table in a.tables.items():
        assert table.frame.equals(b.tables[dt].frame)
        assert table.findings.equals(b.tables[dt].findings)
        assert table.notes == b.tables[dt].notes


def test_vrd118_is_a_clean_12_delta() -> None:
    pkg = sample("VRd118")
    assert pkg.version == "1.2"
    assert set(pkg.tables) == set(DataType)
    assert all(m is FileMode.DELTA for m in pkg.modes.values())
    for table in pkg.tables.values():
        assert table.findings.is_empty(), table.findings
        assert table.frame.height == 1
    assert pkg.tables[DataType.USERS].layout == "1.2"
    assert pkg.source == {"source.systemName": "DataGen", "source.systemCode": "DataGen"}


def test_vrd118_passes_strict_mode() -> None:
    folder, inner = ZIPPED["VRd118"]
    pkg = read_package(SAMPLES / folder / f"{inner}.zip", strict=True)
    assert pkg.findings == ()
    assert all(t.findings.is_empty() and t.notes == () for t in pkg.tables.values())


def test_moodle_full_bulk_status_quirks() -> None:
    pkg = sample("Test_full_data_set")
    sessions = pkg.tables[DataType.ACADEMIC_SESSIONS]
    assert found(sessions) == {("row.tobedeleted_in_bulk", 2, "status"), ("row.unknown_status_in_bulk", 4, "status")}
    assert ("row.tobedeleted_in_bulk", 3, "status") in found(pkg.tables[DataType.CLASSES])
    classes = pkg.tables[DataType.CLASSES].frame
    assert classes["classType"].to_list() == ["scheduled", "homeroom"]
    assert classes["subjects"].to_list()[0] == "Science,Physics,Biology"
    assert classes["termSourcedIds"].to_list()[1] == "as-trm-222-1234,as-trm-222-1235"
    assert ("row.enum_case", "classType") in notes(pkg, DataType.CLASSES)
    users = pkg.tables[DataType.USERS]
    assert users.frame["enabledUser"].unique().to_list() == ["true"]
    assert users.frame["dateLastModified"].to_list()[0] == "2023-05-01T00:00:00.000Z"
    assert users.findings.is_empty()
    assert pkg.tables[DataType.USERS].frame["_line"].to_list() == [2, 3, 4, 5, 6, 7]


def test_moodle_minimal_reads_with_notes_only() -> None:
    pkg = sample("Test_minimal_data_set")
    assert all(not t.frame["_hard"].any() for t in pkg.tables.values())
    assert ("row.boolean_case", "enabledUser") in notes(pkg, DataType.USERS)


def test_moodle_v1p2_typos_dates_and_ignored_userprofiles() -> None:
    pkg = sample("v1p2_full_dataset")
    assert {"package.file_name_case", "manifest.empty_mode", "manifest.file_ignored"} <= pkg_codes(pkg)
    assert DataType.USER_PROFILES not in pkg.tables
    users = pkg.tables[DataType.USERS]
    renamed = [n for n in users.notes if n.code == "schema.column_renamed"]
    assert {n.column for n in renamed} == {"preferredGivenName", "preferredMiddleName", "preferredFamilyName"}
    assert users.frame["preferredMiddleName"].to_list()[0] == "Mick"
    # The column also holds 15/06/2023, which proves day-first order, so 1/05/2023 is 1 May 2023.
    assert users.frame["dateLastModified"].to_list()[0] == "2023-05-01T00:00:00.000Z"
    assert users.frame["dateLastModified"].to_list()[-1] == "2023-06-15T00:00:00.000Z"
    assert "1/05/2023" in notes(pkg, DataType.USERS)[("row.datetime_format", "dateLastModified")]
    roles = pkg.tables[DataType.ROLES]
    assert {("schema.column_renamed", "dateLastModified"), ("schema.missing_column", "userProfileSourcedId"),
            ("schema.empty_header", None)} <= set(notes(pkg, DataType.ROLES))  # fmt: skip
    assert roles.frame.height == 7 and not roles.frame["_hard"].any()


def test_rosterhub_metadata_and_manifest_typo() -> None:
    pkg = read_package(SAMPLES / "rosterhub-en")
    assert "manifest.property_typo" in pkg_codes(pkg)
    users = pkg.tables[DataType.USERS]
    assert users.metadata_columns == ["metadata.phoneticGivenName", "metadata.phoneticFamilyName"]
    assert users.frame["metadata.phoneticGivenName"].to_list()[0] == "PGN 01"
    assert users.frame.height == 20 and pkg.tables[DataType.ENROLLMENTS].frame.height == 30
    for table in pkg.tables.values():
        assert table.findings.is_empty()


def test_oat_legacy_names_and_extension_columns() -> None:
    pkg = read_package(SAMPLES / "oat-1.1-base")
    users = pkg.tables[DataType.USERS]
    assert users.frame["userIds"].to_list() == ["abc", "abc"]
    assert "metadata.ext_tao_userMotherName" in users.metadata_columns
    assert users.frame["metadata.ext_tao_userMotherName"].to_list() == ["metadata.value1", None]
    assert ("row.invalid_user_ids", 2, "userIds") in found(users)
    orgs = pkg.tables[DataType.ORGS]
    assert orgs.metadata_columns == ["metadata.classification", "metadata.gender", "metadata.boarding",
                                     "metadata.ext_imagineLearning_databaseId"]  # fmt: skip
    classes = pkg.tables[DataType.CLASSES]
    assert found(classes) == {("row.missing_required", line, "courseSourcedId") for line in (2, 3, 4)}
    assert classes.frame["grades"].to_list() == ["02", None, None]
    demo = pkg.tables[DataType.DEMOGRAPHICS]
    assert demo.frame.height == 0
    assert {"table.no_data_rows", "schema.column_renamed"} <= {n.code for n in demo.notes}
    enr = pkg.tables[DataType.ENROLLMENTS]
    assert enr.frame["status"].to_list() == ["active", None, "active"]
    assert ("schema.column_order", None) in notes(pkg, DataType.ENROLLMENTS)


def test_samples_path_is_beside_the_repo() -> None:
    assert Path(SAMPLES).resolve().parent.name == "data"
