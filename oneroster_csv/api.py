"""Entry point: a package path (zip or folder) or zip bytes -> per-file normalised tables and findings."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

import polars as pl

from .headers import HeaderMap, map_header
from .manifest import Manifest, parse_manifest
from .model import DataType, FileMode, Finding, PackageError, Severity
from .package import MANIFEST, PackageLimits, open_package
from .raw_hash import RAW_HASH, raw_hashes
from .reader import LINE, CsvTable, cell_name, read_csv_bytes
from .spec import KNOWN_FILES, FileSpec
from .validate import HARD_FLAG, Validated, first_info_lines, info_key, merge_info_notes, validate

__all__ = ["FileTable", "Package", "PackageReader", "RawFile", "read_package", "read_raw"]


@dataclass(frozen=True)
class FileTable:
    """One supplied file, normalised.

    ``frame``: the canonical columns in spec order (String, normalised, null = blank), then extension columns
    (``metadata.*``, named as in the file; unknown columns get a ``metadata.`` prefix), then ``_line`` (Int64, the
    row's physical line, header = 1), ``_hard`` (Boolean: a HARD finding, the row must be SKIPPED), ``_soft``
    (Boolean: a SOFT finding, the record is flagged INVALID) and ``_raw_hash`` (Int64: the row's raw hash, see
    ``raw_hash.raw_hashes``, where the row was read exactly as written, with no finding of any severity; else null).
    ``findings``: one row per HARD/SOFT finding with columns line, code, severity, column, message, sourced_id.
    ``notes``: file-level findings (header mapping, aggregated INFO leniencies with a count and first line).
    """

    data_type: DataType
    mode: FileMode
    layout: str
    spec: FileSpec
    file_name: str
    frame: pl.DataFrame
    findings: pl.DataFrame
    notes: tuple[Finding, ...]
    missing_columns: tuple[str, ...] = ()

    @property
    def metadata_columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in self.spec.names and not c.startswith("_")]

    @property
    def hard_lines(self) -> set[int]:
        return set(self.frame.filter(pl.col(HARD_FLAG))[LINE].to_list())

    @property
    def valid_rows(self) -> pl.DataFrame:
        return self.frame.filter(~pl.col(HARD_FLAG))


@dataclass(frozen=True)
class Package:
    version: str
    modes: dict[DataType, FileMode]  # every supported type; ABSENT when not supplied
    tables: dict[DataType, FileTable]  # supplied (bulk/delta) files only
    findings: tuple[Finding, ...]  # package-level notes (layout, manifest, ignored files)
    source: dict[str, str] = field(default_factory=dict)  # source.systemName / source.systemCode

    def all_notes(self) -> list[Finding]:
        return [*self.findings, *(n for t in self.tables.values() for n in t.notes)]

    def merge(self, other: Package) -> Package:
        """This package with the files of `other`, read from the same reader (the files in the manifest's order)."""
        tables = {t: self.tables.get(t) or other.tables[t] for t in self.modes if t in self.tables or t in other.tables}
        return dataclasses.replace(self, tables=tables)


@dataclass
class RawFile:
    """One supplied file parsed into raw cells, its header mapped and each row's raw hash in the cells' `_raw_hash`
    column (`raw_hash.raw_hashes`), not yet validated: a caller can tell the rows it knows unchanged by their hash
    and `validated` only the others, then `release` the cells."""

    data_type: DataType
    mode: FileMode
    version: str
    file_name: str
    table: CsvTable
    header: HeaderMap
    strict: bool
    severities: Mapping[str, str] | None
    # The cells of the columns empty on every row, kept out of `table` (a million empty cells take 16 MB) and put
    # back as the rows are validated.
    blank: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return self.table.cells.height

    def cells(self, columns: Collection[str]) -> pl.DataFrame:
        """The raw cells of the canonical `columns` the file has, so named, with `_line` and `_raw_hash`."""
        found = [self._cell(i).alias(c) for c, i in self.header.sources.items() if c in columns]
        return self.table.cells.select(*found, LINE, RAW_HASH)

    def _cell(self, i: int) -> pl.Expr:
        name = cell_name(i)
        return pl.lit("", pl.String) if name in self.blank else pl.col(name)

    def release(self) -> None:
        """Let the cells go (what a caller took from them stays): a million rows' worth of memory."""
        self.table = dataclasses.replace(self.table, cells=self.table.cells.clear())

    def validated(self, rows: pl.Series | None = None, taken: pl.DataFrame | None = None) -> FileTable:
        """The file normalised and validated, or only the rows where the mask `rows` is true: the other rows'
        findings are then left out, and their notes too unless `taken` gives their lines and `INFO_KEYS` (rows taken
        as unchanged since a version that kept these: counted in the notes as if validated)."""
        checked = self._checked(rows)
        info = checked.notes
        if taken is not None and taken.height:
            info = self._with_taken(info, taken)
        notes = (*self.table.notes, *self.header.notes, *info)
        return FileTable(self.data_type, self.mode, self.header.layout, self.header.spec, self.file_name,
                         checked.frame, checked.findings, notes, self.header.missing)  # fmt: skip

    def _with_taken(self, notes: list[Finding], taken: pl.DataFrame) -> list[Finding]:
        """`notes` with the rows `taken` counted in; the first row taken of a note that starts with one is validated
        (alone with the others such: a few rows), for the note's example."""
        counted = first_info_lines(taken)
        validated_first = {info_key(n): n.line for n in notes if n.line is not None}
        needed = [first for key, (_, first) in counted.items() if validated_first.get(key, first + 1) > first]
        examples = self._checked(self.table.cells[LINE].is_in(needed)).notes if needed else []
        return merge_info_notes(notes, counted, examples)

    def _checked(self, rows: pl.Series | None) -> Validated:
        cells = self.table.cells if rows is None else self.table.cells.filter(rows)
        if self.blank:  # put back, in their places
            names = [cell_name(i) for i in range(len(self.table.header))]
            cells = cells.with_columns(pl.lit("", pl.String).alias(c) for c in self.blank)
            cells = cells.select(*names, LINE, RAW_HASH)
        table = dataclasses.replace(self.table, cells=cells)
        return validate(table, self.header, self.mode, self.version, strict=self.strict, severities=self.severities)


def read_raw(
    data: bytes,
    data_type: DataType,
    *,
    version: str,
    mode: FileMode,
    strict: bool = False,
    severities: Mapping[str, str] | None = None,
    file_name: str | None = None,
) -> RawFile:
    """Parse one CSV file of a package whose manifest has been read, without validating its rows."""
    name = file_name or data_type.file_name
    table = read_csv_bytes(data, name, strict=strict)
    del data  # the cells hold the file now: the raw bytes would only add to the peak while validating
    header = map_header(table.header, data_type, version, mode, strict=strict, file=name,
                        has_rows=table.cells.height > 0)  # fmt: skip
    hashes = raw_hashes(table, header, mode, version, strict=strict, severities=severities)
    blank = _blank_cells(table)
    table = dataclasses.replace(table, cells=table.cells.drop(blank).with_columns(hashes))
    return RawFile(data_type, mode, version, name, table, header, strict, severities, blank)


def _blank_cells(table: CsvTable) -> tuple[str, ...]:
    """The cells of the columns empty on every row (not null: a missing cell stays missing)."""
    if table.cells.height == 0:
        return ()
    names = [cell_name(i) for i in range(len(table.header))]
    empty = table.cells.select(pl.col(names).str.len_bytes().fill_null(1).max() == 0).row(0)
    return tuple(name for name, is_empty in zip(names, empty, strict=True) if is_empty)


def _consistency(manifest: Manifest, present: dict[str, str], strict: bool) -> list[Finding]:
    notes: list[Finding] = []
    for stem in KNOWN_FILES:
        mode = manifest.modes.get(stem)
        if mode in (FileMode.BULK, FileMode.DELTA) and stem not in present:
            raise PackageError("manifest.file_missing", f"the manifest declares {stem}.csv as {mode.value} but the "
                               "package does not contain it", f"{stem}.csv")  # fmt: skip
        if stem in present and mode in (None, FileMode.ABSENT):
            why = "declared absent" if mode is FileMode.ABSENT else "not named in the manifest"
            if strict:
                raise PackageError("manifest.file_unexpected", f"{present[stem]} is in the package but {why}",
                                   present[stem])  # fmt: skip
            notes.append(
                Finding(
                    "manifest.file_ignored",
                    Severity.SOFT,
                    present[stem],
                    None,
                    None,
                    f"{present[stem]} is in the package but {why} in manifest.csv; it was ignored",
                )
            )
        supported = {t.value for t in DataType}
        if stem in present and mode in (FileMode.BULK, FileMode.DELTA) and stem not in supported:
            notes.append(
                Finding(
                    "package.unsupported_file",
                    Severity.INFO,
                    present[stem],
                    None,
                    None,
                    f"{present[stem]} ({mode.value}) is not a rostering file and was ignored",
                )
            )
    return notes


class PackageReader:
    """A package opened and its manifest read (cheap), with the CSV files still to parse (`read`, the costly part).

    The split lets a caller act on the manifest — which files come, in which mode — while the files are parsed.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        strict: bool = False,
        limits: PackageLimits | None = None,
        severities: Mapping[str, str] | None = None,
    ) -> None:
        self.strict = strict
        self.severities = severities
        self.files = open_package(source, strict=strict, limits=limits)
        self.manifest = parse_manifest(self.files.files[MANIFEST].load(), strict=strict)
        self.present = {stem: self.files.names[stem] for stem in self.files.files if stem != MANIFEST}
        self.notes = [*self.files.notes, *self.manifest.notes, *_consistency(self.manifest, self.present, strict)]

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def modes(self) -> dict[DataType, FileMode]:
        """Every supported type's mode; ABSENT when the package does not supply it."""
        return {t: self.manifest.modes.get(t.value, FileMode.ABSENT) for t in DataType}

    @property
    def csv_bytes(self) -> int:
        """Bytes of the supplied files still to parse (the unit of `read`'s progress)."""
        return sum(self.files.files[t.value].size for t, mode in self.modes.items() if mode is not FileMode.ABSENT)

    def read(self, on_file: Callable[[int], None] | None = None, types: Collection[DataType] | None = None) -> Package:
        """Parse the supplied files (of `types` only, if given); each file's raw bytes are released once it is
        parsed, so each file can be read once (`Package.merge` joins packages read in parts).

        `on_file` is told the size in bytes of each file once it is parsed.
        """
        tables: dict[DataType, FileTable] = {}
        for data_type, mode in self.modes.items():
            if mode is not FileMode.ABSENT and (types is None or data_type in types):
                tables[data_type] = self.read_raw(data_type, on_file).validated()
        return self.package(tables)

    def read_raw(self, data_type: DataType, on_file: Callable[[int], None] | None = None) -> RawFile:
        """Parse one supplied file, not yet validated; like `read`, once."""
        entry = self.files.files.pop(data_type.value)
        raw = read_raw(
            entry.load(),  # read here, in the parsing thread; read_raw holds the only reference and frees it early
            data_type,
            version=self.manifest.version,
            mode=self.modes[data_type],
            strict=self.strict,
            severities=self.severities,
            file_name=self.present[data_type.value],
        )
        if on_file is not None:
            on_file(entry.size)
        return raw

    def package(self, tables: dict[DataType, FileTable]) -> Package:
        """The package of these files read from this reader."""
        source_props = {k: v for k, v in self.manifest.properties.items() if k.startswith("source.")}
        return Package(self.manifest.version, self.modes, tables, tuple(self.notes), source_props)


def read_package(
    source: str | os.PathLike[str] | bytes,
    *,
    strict: bool = False,
    limits: PackageLimits | None = None,
    severities: Mapping[str, str] | None = None,
) -> Package:
    """Read a OneRoster CSV package. Package-level failures raise ``PackageError``."""
    return PackageReader(source, strict=strict, limits=limits, severities=severities).read()
