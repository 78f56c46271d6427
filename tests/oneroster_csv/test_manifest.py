from __future__ import annotations

import pytest

from oneroster_csv import DataType, FileMode, PackageError, parse_manifest, read_package

from .helpers import ENROLLMENT_HEADER, make_zip, manifest


def codes(text: str, strict: bool = False) -> set[str]:
    return {n.code for n in parse_manifest(text.encode(), strict=strict).notes}


def fails(text: str, strict: bool = False) -> str:
    with pytest.raises(PackageError) as exc:
        parse_manifest(text.encode(), strict=strict)
    return exc.value.code


def test_version_and_modes() -> None:
    m = parse_manifest(manifest("1.2", users="bulk", orgs="delta", courses="absent").encode(), strict=False)
    assert m.version == "1.2"
    assert m.modes == {"users": FileMode.BULK, "orgs": FileMode.DELTA, "courses": FileMode.ABSENT}


def test_lenient_manifest_quirks() -> None:
    text = manifest("1.1", users="Bulk", userprofiles="absent") + "fiel.demographics,absent\nfile.scoreScales,\n"
    m = parse_manifest(text.encode(), strict=False)
    assert m.modes["users"] is FileMode.BULK
    assert m.modes["demographics"] is FileMode.ABSENT
    assert m.modes["scoreScales"] is FileMode.ABSENT
    assert m.modes["userProfiles"] is FileMode.ABSENT
    assert {"manifest.mode_case", "manifest.property_typo", "manifest.empty_mode", "manifest.property_case"} <= codes(
        text
    )
    assert fails(text, strict=True) in {"manifest.invalid_mode", "manifest.unknown_property"}


def test_manifest_failures() -> None:
    assert fails("name,value\noneroster.version,1.1\n") == "manifest.invalid_header"
    assert fails(manifest("2.0")) == "manifest.invalid_version"
    assert fails("propertyName,value\nmanifest.version,1.0\n") == "manifest.invalid_version"
    assert fails(manifest("1.1", users="full")) == "manifest.invalid_mode"
    assert fails(manifest("1.1", users="bulk") + "file.users,delta\n") == "manifest.duplicate_property"
    assert fails(manifest("1.2", users="bulk"), strict=True) == "manifest.missing_property"


def test_missing_manifest_and_declared_file_missing() -> None:
    with pytest.raises(PackageError) as exc:
        read_package(make_zip({"users.csv": "x"}))
    assert exc.value.code == "manifest.missing"
    with pytest.raises(PackageError) as exc:
        read_package(make_zip({"manifest.csv": manifest("1.1", enrollments="bulk")}))
    assert (exc.value.code, exc.value.file) == ("manifest.file_missing", "enrollments.csv")


def test_present_but_absent_or_unnamed_files_are_ignored() -> None:
    files = {
        "manifest.csv": manifest("1.1", enrollments="absent"),
        "enrollments.csv": ENROLLMENT_HEADER + "\n",
        "orgs.csv": "sourcedId\n",
    }
    pkg = read_package(make_zip(files))
    assert pkg.tables == {}
    assert pkg.modes[DataType.ENROLLMENTS] is FileMode.ABSENT
    ignored = [f for f in pkg.findings if f.code == "manifest.file_ignored"]
    assert {f.file for f in ignored} == {"enrollments.csv", "orgs.csv"}
    with pytest.raises(PackageError) as exc:
        read_package(make_zip(files), strict=True)
    assert exc.value.code == "manifest.file_unexpected"


def test_unsupported_declared_files_are_noted() -> None:
    files = {"manifest.csv": manifest("1.1", lineItems="bulk"), "lineItems.csv": "sourcedId\nx\n"}
    pkg = read_package(make_zip(files))
    assert [f.code for f in pkg.findings] == ["package.unsupported_file"]
