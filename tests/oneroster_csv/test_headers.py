from __future__ import annotations

import pytest

from oneroster_csv import DataType, FileMode, PackageError
from oneroster_csv.headers import map_header

from .helpers import header, note_codes, read_one


def hm(names: str, data_type: DataType, version: str = "1.1", strict: bool = False, has_rows: bool = True):  # type: ignore[no-untyped-def]
    return map_header(tuple(names.split(",")), data_type, version, FileMode.BULK, strict=strict, file="f.csv",
                      has_rows=has_rows)  # fmt: skip


def test_exact_header_maps_in_order() -> None:
    m = hm(header(DataType.ORGS), DataType.ORGS)
    assert list(m.sources) == list(m.spec.names)
    assert m.notes == ()


def test_legacy_names_case_order_and_extensions() -> None:
    names = "userSourcedId,status,dataLastModified,birthdate,Sex,metadata.x,ext_y"
    m = hm(names, DataType.DEMOGRAPHICS)
    assert m.sources["sourcedId"] == 0 and m.sources["dateLastModified"] == 2
    assert m.sources["birthDate"] == 3 and m.sources["sex"] == 4
    assert m.metadata == (("metadata.x", 5), ("metadata.ext_y", 6))
    codes = {n.code for n in m.notes}
    assert {"schema.column_renamed", "schema.unknown_column", "schema.missing_column"} <= codes
    assert "white" in m.missing


def test_out_of_order_and_metadata_first_are_notes() -> None:
    m = hm("sourcedId,metadata.a,name,type,status,dateLastModified,identifier,parentSourcedId", DataType.ORGS)
    assert {"schema.column_order", "schema.metadata_position"} <= {n.code for n in m.notes}


def test_missing_required_column_fails_the_package() -> None:
    with pytest.raises(PackageError) as exc:
        hm("sourcedId,status,dateLastModified,type,identifier,parentSourcedId", DataType.ORGS)
    assert exc.value.code == "schema.missing_header"
    # A header-only file with a missing required column has nothing to apply: a note only.
    m = hm("sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId", DataType.ACADEMIC_SESSIONS,
           has_rows=False)  # fmt: skip
    assert "schoolYear" in m.missing


def test_duplicate_column() -> None:
    with pytest.raises(PackageError) as exc:
        hm("sourcedId,status,dateLastModified,name,name,type,identifier,parentSourcedId", DataType.ORGS)
    assert exc.value.code == "schema.duplicate_header"


@pytest.mark.parametrize(
    ("version", "layout"),
    [("1.1", "1.1"), ("1.2", "1.2"), ("1.2", "1.2+resourceSourcedIds")],
)
def test_users_layouts_detected(version: str, layout: str) -> None:
    m = hm(header(DataType.USERS, version, layout), DataType.USERS, version)
    assert m.layout == layout
    assert m.notes == ()
    strict = hm(header(DataType.USERS, version, layout), DataType.USERS, version, strict=True)
    assert strict.layout == layout


def test_users_layout_mismatching_manifest_is_read_by_header() -> None:
    m = hm(header(DataType.USERS, "1.1"), DataType.USERS, "1.2")
    assert m.layout == "1.1"
    assert "schema.version_mismatch" in {n.code for n in m.notes}


def test_strict_rejects_any_deviation() -> None:
    exact = header(DataType.ENROLLMENTS)
    assert hm(exact + ",metadata.a", DataType.ENROLLMENTS, strict=True).metadata == (("metadata.a", 10),)
    for bad in (exact.replace("role", "Role"), exact.replace("primary,", ""), exact + ",ext_x",
                "status," + exact.replace("status,", "")):  # fmt: skip
        with pytest.raises(PackageError) as exc:
            hm(bad, DataType.ENROLLMENTS, strict=True)
        assert exc.value.code == "schema.invalid_header"


def test_frame_has_canonical_then_metadata_then_flags() -> None:
    text = "sourcedId,name,type,metadata.z,ext_q\no1,School,school,zz,qq\n"
    t = read_one(DataType.ORGS, text)
    assert t.frame.columns == [
        "sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId",
        "metadata.z", "metadata.ext_q", "_line", "_hard", "_soft", "_raw_hash", "_info",
    ]  # fmt: skip
    assert t.frame.row(0)[:-2] == ("o1", None, None, "School", "school", None, None, "zz", "qq", 2, False, False)
    assert isinstance(t.frame.row(0)[-2], int)  # read exactly as written: its raw hash is kept
    assert t.frame.row(0)[-1] is None  # no INFO finding
    assert t.missing_columns == ("status", "dateLastModified", "identifier", "parentSourcedId")
    assert "schema.missing_column" in note_codes(t)
