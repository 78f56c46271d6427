"""Shared helpers for the oneroster_csv tests (not a test module)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from oneroster_csv import DataType, FileMode, FileTable, read_raw
from oneroster_csv.spec import file_spec

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
SAMPLES = SHARED / "data" / "oneroster-samples"

ENROLLMENT_HEADER = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate"
)


def header(data_type: DataType, version: str = "1.1", layout: str | None = None) -> str:
    return ",".join(file_spec(data_type, version, layout).names)


def manifest(version: str = "1.1", **modes: str) -> str:
    rows = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    rows += [f"file.{name},{mode}" for name, mode in modes.items()]
    return "\n".join(rows) + "\n"


def make_zip(files: Mapping[str, str | bytes], *, deflate: bool = True) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, content in files.items():
            zf.writestr(name, content.encode() if isinstance(content, str) else content)
    return buf.getvalue()


def read_one(
    data_type: DataType,
    text: str | bytes,
    *,
    version: str = "1.1",
    mode: FileMode = FileMode.BULK,
    strict: bool = False,
    severities: Mapping[str, str] | None = None,
) -> FileTable:
    data = text.encode() if isinstance(text, str) else text
    return read_raw(data, data_type, version=version, mode=mode, strict=strict, severities=severities).validated()


def found(table: FileTable) -> set[tuple[str, int | None, str | None]]:
    """(code, line, column) of every HARD/SOFT finding."""
    return {(r["code"], r["line"], r["column"]) for r in table.findings.iter_rows(named=True)}


def note_codes(table: FileTable) -> set[str]:
    return {n.code for n in table.notes}


def enrollments(*rows: str, head: str = ENROLLMENT_HEADER) -> str:
    return "\n".join([head, *rows]) + "\n"
