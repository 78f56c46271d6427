"""manifest.csv: OneRoster version and the processing mode of every file."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import FileMode, Finding, PackageError, Severity
from .reader import CsvTable, cell_name, read_csv_bytes
from .spec import KNOWN_FILES

FILE = "manifest.csv"
_BY_LOWER = {name.lower(): name for name in KNOWN_FILES}
_TYPO_PREFIX = re.compile(r"^(fiel|flie|fille|files|file_|file-)[.]?", re.IGNORECASE)
_MODES = {m.value: m for m in FileMode}


@dataclass(frozen=True)
class Manifest:
    version: str  # "1.1" or "1.2"
    modes: dict[str, FileMode]  # file stem -> mode, for every file.* row (absent included)
    properties: dict[str, str]  # every property as written (after lenient key mapping)
    notes: tuple[Finding, ...]


def _version(value: str, strict: bool) -> str | None:
    if value in ("1.1", "1.2"):
        return value
    if strict:
        return None
    m = re.match(r"^v?(1\.[12])(\.\d+)*$", value.strip().lower())
    return m.group(1) if m else None


def _rows(table: CsvTable, strict: bool) -> list[tuple[int, str, str]]:
    header = [h.strip().lower() for h in table.header]
    if strict and list(table.header) != ["propertyName", "value"]:
        raise PackageError("manifest.invalid_header", "the header must be exactly 'propertyName,value'", FILE, 1)
    if header != ["propertyname", "value"]:
        raise PackageError("manifest.invalid_header", "the header must be 'propertyName,value'", FILE, 1)
    if strict and not table.problems.is_empty():
        line = int(table.problems["line"][0])
        raise PackageError("manifest.invalid_row", "every row must have exactly two values", FILE, line)
    out: list[tuple[int, str, str]] = []
    key_col, value_col = cell_name(0), cell_name(1)
    for row in table.cells.iter_rows(named=True):
        out.append((int(row["_line"]), (row[key_col] or "").strip(), (row[value_col] or "").strip()))
    return out


def parse_manifest(data: bytes, *, strict: bool) -> Manifest:
    table = read_csv_bytes(data, FILE, strict=False)
    notes: list[Finding] = [n for n in table.notes if n.code != "table.no_data_rows"]

    def note(code: str, message: str, line: int, severity: Severity = Severity.INFO) -> None:
        notes.append(Finding(code, severity, FILE, line, None, message))

    props: dict[str, str] = {}
    lines: dict[str, int] = {}
    modes: dict[str, FileMode] = {}
    for line, key, value in _rows(table, strict):
        if not key:
            continue
        fixed = _TYPO_PREFIX.sub("file.", key) if not key.startswith("file.") else key
        if fixed != key:
            if strict:
                raise PackageError("manifest.unknown_property", f"unknown property '{key}'", FILE, line)
            note("manifest.property_typo", f"property '{key}' was read as '{fixed}'", line)
        key = fixed
        if key in props:
            if props[key] != value:
                raise PackageError("manifest.duplicate_property", f"property '{key}' appears twice with different "
                                   f"values (lines {lines[key]} and {line})", FILE, line)  # fmt: skip
            note("manifest.duplicate_property", f"property '{key}' appears twice", line)
            continue
        props[key] = value
        lines[key] = line
        if key.startswith("file."):
            stem = key[len("file.") :]
            canonical = _BY_LOWER.get(stem.lower())
            if canonical is None:
                if strict:
                    raise PackageError("manifest.unknown_property", f"unknown file property '{key}'", FILE, line)
                note("manifest.unknown_property", f"unknown file property '{key}' was ignored", line)
                continue
            if canonical != stem:
                if strict:
                    raise PackageError("manifest.unknown_property", f"'{key}' must be 'file.{canonical}'", FILE, line)
                note("manifest.property_case", f"property '{key}' was read as 'file.{canonical}'", line)
            if not value and not strict:
                note("manifest.empty_mode", f"'{key}' has no value; the file is treated as absent", line)
                modes[canonical] = FileMode.ABSENT
                continue
            mode = _MODES.get(value) if strict else _MODES.get(value.lower())
            if mode is None:
                raise PackageError("manifest.invalid_mode", f"'{key}' has mode '{value}'; expected absent, bulk or "
                                   "delta", FILE, line)  # fmt: skip
            if mode.value != value:
                note("manifest.mode_case", f"mode '{value}' of '{key}' was read as '{mode.value}'", line)
            modes[canonical] = mode
        elif key not in ("manifest.version", "oneroster.version") and not key.startswith("source."):
            if strict:
                raise PackageError("manifest.unknown_property", f"unknown property '{key}'", FILE, line)
            note("manifest.unknown_property", f"unknown property '{key}' was ignored", line)

    raw_version = props.get("oneroster.version")
    if raw_version is None:
        raise PackageError("manifest.invalid_version", "the manifest has no oneroster.version row", FILE)
    version = _version(raw_version, strict)
    if version is None:
        raise PackageError("manifest.invalid_version", f"oneroster.version '{raw_version}' is not supported; "
                           "expected 1.1 or 1.2", FILE, lines["oneroster.version"])  # fmt: skip
    if version != raw_version:
        note("manifest.version_format", f"oneroster.version '{raw_version}' was read as {version}",
             lines["oneroster.version"])  # fmt: skip
    manifest_version = props.get("manifest.version")
    if manifest_version != "1.0":
        if strict:
            raise PackageError("manifest.invalid_manifest_version", "manifest.version must be 1.0", FILE)
        note("manifest.invalid_manifest_version", f"manifest.version is {manifest_version!r}, not 1.0 (ignored)",
             lines.get("manifest.version", 1))  # fmt: skip
    if strict and version == "1.2":
        missing = [name for name in KNOWN_FILES if name not in modes]
        if missing:
            raise PackageError("manifest.missing_property", f"the manifest must name every file; missing: "
                               f"{', '.join('file.' + m for m in missing)}", FILE)  # fmt: skip
    return Manifest(version, modes, props, tuple(notes))
