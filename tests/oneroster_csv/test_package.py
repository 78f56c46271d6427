from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from oneroster_csv import DataType, PackageError, PackageLimits, PackageReader, open_package, read_package

from .helpers import ENROLLMENT_HEADER, make_zip, manifest

OK = {
    "manifest.csv": manifest("1.1", enrollments="bulk"),
    "enrollments.csv": ENROLLMENT_HEADER + "\ne1,,,c1,s1,u1,student,,,\n",
}


def code_of(data: bytes, **kw: object) -> str:
    with pytest.raises(PackageError) as exc:
        open_package(data, **kw)  # type: ignore[arg-type]
    return exc.value.code


def test_path_traversal_and_absolute_paths() -> None:
    assert code_of(make_zip({**OK, "../evil.csv": "x"})) == "package.unsafe_zip"
    assert code_of(make_zip({**OK, "/etc/evil.csv": "x"})) == "package.unsafe_zip"
    assert code_of(make_zip({**OK, "C:/evil.csv": "x"})) == "package.unsafe_zip"


def test_symlink_entry() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in OK.items():
            zf.writestr(name, content)
        info = zipfile.ZipInfo("users.csv")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    assert code_of(buf.getvalue()) == "package.unsafe_zip"


def test_zip_bomb_ratio_too_many_files_and_too_large() -> None:
    assert code_of(make_zip({**OK, "results.csv": b"\0" * (4 * 1024 * 1024)})) == "package.unsafe_zip"
    many = {**OK, **{f"extra{i}.txt": "x" for i in range(10)}}
    assert code_of(make_zip(many), limits=PackageLimits(max_files=5)) == "package.too_many_files"
    assert code_of(make_zip(OK), limits=PackageLimits(max_total_bytes=50)) == "package.too_large"


def test_not_a_package() -> None:
    assert code_of(b"this is not a zip") == "package.not_a_package"


def test_nested_folder_and_system_files_are_lenient() -> None:
    files = {f"export/{k}": v for k, v in OK.items()}
    files["__MACOSX/export/._users.csv"] = "junk"
    files["export/users.csv:Zone.Identifier"] = "[ZoneTransfer]"
    pkg = read_package(make_zip(files))
    assert pkg.tables[DataType.ENROLLMENTS].frame.height == 1
    assert {"package.nested_folder", "package.ignored_entry"} <= {f.code for f in pkg.findings}
    assert code_of(make_zip(files), strict=True) == "package.invalid_layout"


def test_file_name_case() -> None:
    files = {"manifest.csv": OK["manifest.csv"], "Enrollments.csv": OK["enrollments.csv"]}
    pkg = read_package(make_zip(files))
    assert pkg.tables[DataType.ENROLLMENTS].file_name == "Enrollments.csv"
    assert "package.file_name_case" in {f.code for f in pkg.findings}
    assert code_of(make_zip(files), strict=True) == "package.file_name_case"
    dup = {**OK, "Enrollments.csv": OK["enrollments.csv"]}
    assert code_of(make_zip(dup)) == "package.duplicate_file"


def test_folder_and_zip_give_the_same_result(tmp_path: Path) -> None:
    for name, content in OK.items():
        (tmp_path / name).write_text(content)
    a = read_package(tmp_path)
    b = read_package(make_zip(OK))
    assert a.tables[DataType.ENROLLMENTS].frame.equals(b.tables[DataType.ENROLLMENTS].frame)


def test_folder_symlink_rejected(tmp_path: Path) -> None:
    for name, content in OK.items():
        (tmp_path / name).write_text(content)
    (tmp_path / "users.csv").symlink_to("/etc/hostname")
    with pytest.raises(PackageError) as exc:
        read_package(tmp_path)
    assert exc.value.code == "package.unsafe_path"


def test_files_are_read_when_parsed_and_must_not_grow_after_opening(tmp_path: Path) -> None:
    for name, content in OK.items():
        (tmp_path / name).write_text(content)
    reader = PackageReader(tmp_path)  # lists and sizes the files; only the manifest is read
    (tmp_path / "enrollments.csv").write_text(OK["enrollments.csv"] + "e2,,,c1,s1,u2,student,,,\n")
    with pytest.raises(PackageError) as exc:
        reader.read()
    assert (exc.value.code, exc.value.file) == ("package.too_large", "enrollments.csv")


def test_a_corrupt_zip_member_fails_when_it_is_read() -> None:
    data = bytearray(make_zip(OK, deflate=False))
    at = data.index(b"e1,,,c1")  # the stored enrollments row: its CRC no longer matches
    data[at] = ord("f")
    reader = PackageReader(bytes(data))
    with pytest.raises(PackageError) as exc:
        reader.read()
    assert exc.value.code == "package.not_a_package" and "CRC" in exc.value.message
