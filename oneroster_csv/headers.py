"""Map a file's header row onto the canonical columns of its spec (lenient name mapping or strict conformance)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import DataType, FileMode, Finding, PackageError, Severity
from .spec import HEADER_ALIASES, USERS_11, USERS_12, USERS_12_RESOURCES, FileSpec, Req, file_spec

METADATA_PREFIX = "metadata."


@dataclass(frozen=True)
class HeaderMap:
    spec: FileSpec
    sources: dict[str, int]  # canonical column -> cell index in the file
    metadata: tuple[tuple[str, int], ...]  # (output column name, cell index), in file order
    missing: tuple[str, ...]  # canonical columns absent from the file (filled with nulls)
    notes: tuple[Finding, ...]

    @property
    def layout(self) -> str:
        return self.spec.layout


def detect_users_layout(names: list[str], version: str) -> str:
    """1.1 has orgSourcedIds/role; 1.2 (2022, Japan Profile) has resourceSourcedIds; else the 1.2.1 layout."""
    lower = {n.strip().lower() for n in names}
    if lower & {"orgsourcedids", "orgsourcedid", "role"}:
        return USERS_11.layout
    if "resourcesourcedids" in lower:
        return USERS_12_RESOURCES.layout
    if lower & {"usermasteridentifier", "primaryorgsourcedid", "pronouns", "preferredgivenname"}:
        return USERS_12.layout
    return version


def _strict(header: list[str], data_type: DataType, version: str, file: str) -> HeaderMap:
    if data_type is DataType.USERS:
        candidates = [USERS_11] if version == "1.1" else [USERS_12, USERS_12_RESOURCES]
    else:
        candidates = [file_spec(data_type, version)]
    for spec in candidates:
        n = len(spec.columns)
        extra = header[n:]
        if tuple(header[:n]) == spec.names and all(h.startswith(METADATA_PREFIX) for h in extra):
            if len(set(extra)) != len(extra):
                raise PackageError("schema.duplicate_header", "a metadata column name appears twice", file, 1)
            sources = {name: i for i, name in enumerate(spec.names)}
            return HeaderMap(spec, sources, tuple((h, n + i) for i, h in enumerate(extra)), (), ())
    expected = ",".join(candidates[0].names)
    raise PackageError(
        "schema.invalid_header",
        f"the header does not match OneRoster {version}; expected exactly: {expected} "
        "(then optional metadata.* columns)",
        file,
        1,
    )


def map_header(
    header: tuple[str, ...],
    data_type: DataType,
    version: str,
    mode: FileMode,
    *,
    strict: bool,
    file: str,
    has_rows: bool = True,
) -> HeaderMap:
    names = [h.replace("\ufeff", "").strip() for h in header]
    if strict:
        return _strict(list(header), data_type, version, file)
    notes: list[Finding] = []

    def note(code: str, message: str, column: str | None = None, severity: Severity = Severity.INFO) -> None:
        notes.append(Finding(code, severity, file, 1, column, message))

    layout = detect_users_layout(names, version) if data_type is DataType.USERS else None
    spec = file_spec(data_type, version, layout)
    if layout is not None and layout[:3] != version:
        note("schema.version_mismatch", f"users.csv has the OneRoster {layout} layout although the manifest says "
             f"{version}; it was read as {layout}", severity=Severity.SOFT)  # fmt: skip
    if data_type in (DataType.ROLES, DataType.USER_PROFILES) and version == "1.1":
        note("schema.version_mismatch", f"{data_type.file_name} exists only in OneRoster 1.2; it was read as 1.2",
             severity=Severity.SOFT)  # fmt: skip

    by_lower = {c.name.lower(): c.name for c in spec.columns}
    aliases = {**HEADER_ALIASES["*"], **HEADER_ALIASES.get(data_type.value, {})}
    sources: dict[str, int] = {}
    metadata: list[tuple[str, int]] = []
    for i, (raw, name) in enumerate(zip(header, names, strict=True)):
        if not name:
            note("schema.empty_header", f"column {i + 1} has no name; its values were dropped")
            continue
        if name.lower().startswith(METADATA_PREFIX) or name in by_lower.values():
            out = name
        elif name.lower() in by_lower:
            out = by_lower[name.lower()]
            note("schema.column_renamed", f"column '{raw}' was read as '{out}' (names are case-sensitive)", out)
        elif name.lower() in aliases and aliases[name.lower()] in spec.names:
            out = aliases[name.lower()]
            note("schema.column_renamed", f"legacy or misspelt column '{raw}' was read as '{out}'", out)
        else:
            out = METADATA_PREFIX + name
            note("schema.unknown_column", f"unknown column '{raw}' was kept as extension column '{out}'", out)
        if out.startswith(METADATA_PREFIX) or out.lower().startswith(METADATA_PREFIX):
            if any(out == m for m, _ in metadata):
                raise PackageError("schema.duplicate_header", f"column '{raw}' appears twice in the header", file, 1)
            metadata.append((out, i))
            continue
        if out in sources:
            raise PackageError("schema.duplicate_header", f"column '{out}' appears twice in the header", file, 1)
        sources[out] = i

    mapped_order = sorted(sources, key=lambda n: sources[n])
    expected_order = [n for n in spec.names if n in sources]
    last_defined = max(sources.values(), default=-1)
    if mapped_order != expected_order:
        note("schema.column_order", "the columns are not in the order the specification defines (read by name)")
    if any(i < last_defined for _, i in metadata):
        note("schema.metadata_position", "extension columns appear before defined columns (read by name)")

    missing: list[str] = []
    for col in spec.columns:
        if col.name in sources:
            continue
        required = col.req is Req.REQUIRED or (col.req is Req.DELTA and mode is FileMode.DELTA)
        if required and has_rows:
            raise PackageError(
                "schema.missing_header",
                f"required column '{col.name}' is missing from the header of {data_type.file_name} "
                f"(OneRoster {spec.layout})",
                file,
                1,
            )
        missing.append(col.name)
        severity = Severity.SOFT if required or col.req is Req.OPTIONAL else Severity.INFO
        note("schema.missing_column", f"column '{col.name}' is missing from the header; its values are blank",
             col.name, severity)  # fmt: skip
    return HeaderMap(spec, sources, tuple(metadata), tuple(missing), tuple(notes))
