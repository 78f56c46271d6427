"""oneroster_csv: a pure, columnar reader and validator for OneRoster CSV 1.1 / 1.2 packages.

No database, no network: a zip file, zip bytes or a folder goes in; per-file polars tables of normalised string
columns plus findings come out. Package-level failures raise ``PackageError``.
"""

from __future__ import annotations

from .api import FileTable, Package, PackageReader, RawFile, read_package, read_raw
from .manifest import Manifest, parse_manifest
from .model import DataType, FileMode, Finding, PackageError, Severity
from .package import PackageLimits, open_package
from .raw_hash import RAW_HASH
from .spec import SUPPORTED_TYPES, ColumnSpec, FileSpec, Kind, Req, file_spec
from .validate import FINDING_SCHEMA, HARD_FLAG, INFO_KEYS, SOFT_FLAG, STRUCTURAL, apply_overrides

__all__ = [
    "FINDING_SCHEMA",
    "HARD_FLAG",
    "INFO_KEYS",
    "RAW_HASH",
    "SOFT_FLAG",
    "STRUCTURAL",
    "SUPPORTED_TYPES",
    "ColumnSpec",
    "DataType",
    "FileMode",
    "FileSpec",
    "FileTable",
    "Finding",
    "Kind",
    "Manifest",
    "Package",
    "PackageError",
    "PackageLimits",
    "PackageReader",
    "RawFile",
    "Req",
    "Severity",
    "apply_overrides",
    "file_spec",
    "open_package",
    "parse_manifest",
    "read_package",
    "read_raw",
]
