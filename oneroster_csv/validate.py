"""Row rules of one file: normalise every column, collect findings as a columnar frame (the checks themselves:
oneroster_csv/rules.py), apply severity overrides.

Rule codes (default severity):
  HARD  row.invalid_width, csv.line_break_in_field, csv.unterminated_quote (reader, structural)
  HARD  row.missing_required, row.invalid_sourced_id (structural), row.invalid_reference_id, row.invalid_enum,
        row.invalid_boolean, row.invalid_date, row.invalid_year, row.invalid_datetime (delta),
        row.tobedeleted_in_bulk, row.forbidden_in_bulk (strict), row.missing_status_in_delta, row.invalid_status
  SOFT  row.unknown_status_in_bulk, row.invalid_email, row.invalid_grade, row.invalid_optional_date,
        row.invalid_optional_enum, row.invalid_optional_boolean, row.invalid_optional_reference_id,
        row.invalid_user_ids, row.invalid_list, row.ambiguous_date, semantic.begin_after_end,
        semantic.multiple_primary_roles, semantic.subject_codes_mismatch
  INFO  (aggregated per column) row.status_in_bulk, row.enum_case, row.boolean_case, row.date_format,
        row.datetime_format, row.list_format, row.grade_format, row.nonstandard_id

Decisions where the spec is silent:
* bulk, lenient: status/dateLastModified values are ignored (INFO), except ``tobedeleted`` (HARD: deleting is done by
  leaving the record out) and unknown tokens such as the legacy ``inactive`` (SOFT, still ignored). Strict: any
  value is HARD ``row.forbidden_in_bulk``.
* delta: ``inactive`` is HARD ``row.invalid_status`` in both modes: the row is skipped and the stored record kept,
  rather than guessing a deletion. ``tobedeleted`` rows only need sourcedId, status and dateLastModified.
* strict mode: every value that lenient mode would rewrite (case, date format, list spacing) is invalid instead.
* ``row.missing_required`` on sourcedId and the structural codes cannot be lowered by severity overrides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from . import normalize as nz
from .headers import HeaderMap
from .model import FileMode, Finding, Severity
from .raw_hash import RAW_HASH, plain_hashes, raw_hashes
from .reader import LINE, CsvTable, cell_name
from .rules import HARD, INFO, SOFT, Collector, check_column, deletion_requests, semantic_rules, status_rules
from .spec import ColumnSpec, Kind

STRUCTURAL = frozenset({"row.invalid_width", "row.invalid_sourced_id", "csv.line_break_in_field",
                        "csv.unterminated_quote"})  # fmt: skip
FINDING_SCHEMA = {
    "line": pl.Int64,
    "code": pl.String,
    "severity": pl.String,
    "column": pl.String,
    "message": pl.String,
    "sourced_id": pl.String,
}
HARD_FLAG, SOFT_FLAG = "_hard", "_soft"
# Each row's INFO findings as sorted `code:column` keys joined by "|" (null: none). A row whose findings are all INFO
# keeps its raw hash (unless a date of it is read by its column, `nz.read_by_column`): a later read of the same row,
# taken as unchanged without being validated, still counts in the file's notes by these keys, kept with its version
# (`merge_info_notes`).
INFO_KEYS = "_info"


_NORMALISERS = {
    Kind.GUID: nz.guid, Kind.GUID_LIST: nz.guid_list, Kind.DATE: nz.date, Kind.DATETIME: nz.datetime,
    Kind.LIST: nz.list_items, Kind.GRADES: nz.grades, Kind.USER_IDS: nz.user_ids, Kind.BOOLEAN: nz.boolean,
}  # fmt: skip


def _fast_check(spec: ColumnSpec) -> pl.Expr | None:
    """An aggregate expression that is true when the whole column is canonical and valid (the common case)."""
    col = pl.col(spec.name)
    if spec.kind is Kind.GUID:
        # per value, not over the column joined into one string: as fast, without a copy of the column
        return (col.str.len_chars().max().fill_null(0) <= 255) & ~col.str.contains(r"[^0-9A-Za-z._/@-]").any()
    if spec.kind is Kind.ENUM:
        ok = col.is_in(list(spec.tokens)) | col.is_null()
        if spec.allow_ext:
            ok = ok | col.str.contains(r"^ext:\S+$").fill_null(False)
        return ok.all()
    if spec.kind is Kind.BOOLEAN:
        return (col.is_in(["true", "false"]) | col.is_null()).all()
    if spec.kind is Kind.DATE:
        return (((col.str.len_bytes() == 10) & col.str.to_date("%Y-%m-%d", strict=False).is_not_null())
                | col.is_null()).all()  # fmt: skip
    if spec.kind is Kind.DATETIME:
        return (
            (
                (col.str.len_bytes() == 24)
                & col.str.ends_with("Z")
                & col.str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", strict=False).is_not_null()
            )
            | col.is_null()
        ).all()
    return None


def _prechecks(frame: pl.DataFrame, columns: tuple[ColumnSpec, ...]) -> dict[str, bool]:
    exprs = {c.name: _fast_check(c) for c in columns if c.name in frame.columns}
    wanted = [e.alias(name) for name, e in exprs.items() if e is not None]
    if not wanted or frame.height == 0:
        return {}
    return {k: bool(v) for k, v in frame.select(wanted).row(0, named=True).items()}


def _normalise(spec: ColumnSpec, t: pl.Series, strict: bool) -> nz.Norm:
    if spec.kind is Kind.ENUM:
        return nz.enum(t, spec.tokens, spec.allow_ext, strict)
    if spec.kind is Kind.YEAR:
        return nz.year(t)
    if spec.kind is Kind.EMAIL:
        return nz.email(t)
    fn = _NORMALISERS.get(spec.kind)
    if fn is None:
        n = len(t)
        return nz.Norm(t, nz._false(n), nz._false(n))
    return fn(t, strict)


def apply_overrides(findings: pl.DataFrame, severities: Mapping[str, str]) -> pl.DataFrame:
    """Raise or lower rule severities per code; structural rules can never be lowered."""
    if not severities:
        return findings
    for code, sev in severities.items():
        if sev not in ("HARD", "SOFT", "OFF"):
            raise ValueError(f"severity override for {code} must be HARD, SOFT or OFF, not {sev!r}")
    structural = pl.col("code").is_in(list(STRUCTURAL)) | (
        (pl.col("code") == "row.missing_required") & (pl.col("column") == "sourcedId")
    )
    override = pl.col("code").replace_strict(dict(severities), default=None, return_dtype=pl.String)
    new = pl.when(structural | override.is_null()).then(pl.col("severity")).otherwise(override)
    return findings.with_columns(severity=new).filter(pl.col("severity") != "OFF")


def _noted(findings: pl.DataFrame, base: pl.DataFrame, columns: tuple[ColumnSpec, ...], clean: dict[str, bool]
           ) -> pl.Series:  # fmt: skip
    """The lines whose rows keep no raw hash: those with a finding above INFO, and those with a date or time read by
    its column (what such a row validates to depends on other rows; a column all canonical has none)."""
    dates = [c.name for c in columns if c.kind in (Kind.DATE, Kind.DATETIME) and not clean.get(c.name)]
    lines = findings.filter(pl.col("severity") != INFO)["line"]
    if dates:  # (only the lines are taken, not the rows)
        by_column = pl.select(pl.any_horizontal(nz.read_by_column(base[name]) for name in dates)).to_series()
        lines = pl.concat([lines, base[LINE].filter(by_column).cast(lines.dtype)])
    return lines.unique()


def _info_keys(findings: pl.DataFrame) -> pl.DataFrame:
    """`INFO_KEYS` of each line with INFO findings, as categories. Worked out on integers: each (code, column) a
    bit, each line the sum of its bits; only the few distinct sums become key strings (a file with dateLastModified
    has two INFO findings on every row: two million findings, whose keys as strings took some 300 MB)."""
    info = findings.filter(pl.col("severity") == INFO)
    pairs = info.select("code", "column").unique().sort("code", "column", nulls_last=True)
    if pairs.height > 62:  # (never: a handful of INFO codes, each in a few columns)
        raise ValueError(f"{pairs.height} kinds of INFO findings in one file")
    bits = pairs.with_columns(pl.Series("_bit", [1 << i for i in range(pairs.height)], dtype=pl.Int64))
    sums = (info.select("line", "code", "column").join(bits, on=["code", "column"], how="inner", nulls_equal=True)
            .group_by("line").agg(pl.col("_bit").sum()))  # fmt: skip
    keys = [f"{code}:{column or ''}" for code, column in pairs.iter_rows()]
    distinct = sums["_bit"].unique().to_list()
    names = ["|".join(key for i, key in enumerate(keys) if mask >> i & 1) for mask in distinct]
    return sums.select(
        pl.col("line").cast(pl.Int64).alias(LINE),
        pl.col("_bit").replace_strict(distinct, names, return_dtype=pl.String).cast(pl.Categorical).alias(INFO_KEYS),
    )


def _by_line(lines: pl.Series, info_keys: pl.DataFrame) -> pl.Series:
    """`INFO_KEYS` of each of `lines` (null where none): only the lines are joined, not the rows' other columns; as
    categories, a few distinct strings however many rows (dateLastModified in a bulk file: every row)."""
    if info_keys.height == 0:
        return nz.repeated(None, lines.len(), pl.Categorical()).alias(INFO_KEYS)
    return lines.to_frame().join(info_keys, on=LINE, how="left", maintain_order="left")[INFO_KEYS]


def first_info_lines(taken: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """`INFO_KEYS` key -> (rows, first line) over `taken` (lines and INFO_KEYS of rows not validated)."""
    counted = (taken.filter(pl.col(INFO_KEYS).is_not_null())
               .select(LINE, pl.col(INFO_KEYS).cast(pl.String).str.split("|")).explode(INFO_KEYS)
               .group_by(INFO_KEYS).agg(pl.len().alias("n"), pl.col(LINE).min().alias("first")))  # fmt: skip
    return {key: (int(n), int(first)) for key, n, first in counted.iter_rows()}


def info_key(note: Finding) -> str:
    return f"{note.code}:{note.column or ''}"


def merge_info_notes(
    notes: Sequence[Finding], taken: dict[str, tuple[int, int]], examples: Sequence[Finding]
) -> list[Finding]:
    """The INFO `notes` of the rows validated, with those of rows taken as unchanged counted in (`taken`:
    `first_info_lines` of theirs), as if every row had been validated. `examples`: the notes of the first row taken of
    each key, validated alone, for a note whose first line is one of theirs."""
    left = dict(taken)
    example_of = {info_key(n): n for n in examples}
    merged: list[Finding] = []
    for note in notes:
        key = info_key(note)
        if key not in left:
            merged.append(note)
            continue
        n, first = left.pop(key)
        shown = note if note.line is not None and note.line < first else example_of[key]
        merged.append(_counted(shown, note.count + n, min(first, note.line if note.line is not None else first)))
    merged += [_counted(example_of[key], n, first) for key, (n, first) in left.items()]
    return sorted(merged, key=lambda note: (note.code, note.column is None, note.column or ""))


def _counted(example: Finding, count: int, first: int) -> Finding:
    """An aggregated INFO note (as `aggregate_info` words it) for `count` rows, its example `example`'s."""
    text = example.message.split(": ", 1)[1]
    return Finding(example.code, Severity.INFO, example.file, first, example.column,
                   f"{count} row(s), first at line {first}: {text}", example.sourced_id, count)  # fmt: skip


def aggregate_info(findings: pl.DataFrame, file: str) -> list[Finding]:
    """INFO findings become one note per (code, column) with a count and the first line, in (code, column) order
    (whichever rows are validated: `merge_info_notes` keeps it)."""
    info = findings.filter(pl.col("severity") == INFO)
    if info.height == 0:
        return []
    grouped = info.group_by("code", "column", maintain_order=True).agg(
        pl.len().alias("n"), pl.col("line").min().alias("first"), pl.col("message").first().alias("example"),
        pl.col("sourced_id").first().alias("sid"),
    ).sort("code", "column", nulls_last=True)  # fmt: skip
    return [
        Finding(r["code"], Severity.INFO, file, r["first"], r["column"],
                f"{r['n']} row(s), first at line {r['first']}: {r['example']}", r["sid"], r["n"])
        for r in grouped.iter_rows(named=True)
    ]  # fmt: skip


def _flag(lines: pl.Series) -> pl.Expr:
    return pl.col(LINE).is_in(lines.implode()) if len(lines) else pl.lit(False)


@dataclass(frozen=True)
class Validated:
    frame: pl.DataFrame
    findings: pl.DataFrame
    notes: list[Finding]


def validate(
    table: CsvTable, header: HeaderMap, mode: FileMode, version: str, *, strict: bool,
    severities: Mapping[str, str] | None = None,
) -> Validated:  # fmt: skip
    """Normalise and validate the rows of one file (findings sorted by line). The rows' raw hashes come from the
    cells' `_raw_hash` column when it is there (`raw_hashes`, computed before), else are computed here."""
    cells = table.cells
    n = cells.height
    spec = header.spec
    present = cells.select(
        [pl.col(cell_name(i)).alias(name) for name, i in header.sources.items()]
        + [pl.col(cell_name(i)).alias(name) for name, i in header.metadata]
    )
    present = nz.trim_columns(present) if table.needs_trim else nz.blank_to_null(present)
    clean = _prechecks(present, spec.columns)
    trimmed: dict[str, pl.Series] = {}
    for col in spec.columns:
        if col.name in header.sources:
            trimmed[col.name] = present[col.name]
        else:
            trimmed[col.name] = pl.Series(col.name, [None] * n, dtype=pl.String)
    lines = cells[LINE]
    base = pl.DataFrame([*trimmed.values(), lines])
    norms = {
        name: nz.unchanged(s) if clean.get(name) else _normalise(spec.column(name), s, strict)
        for name, s in trimmed.items()
    }
    deleting = deletion_requests(trimmed["status"])
    scope = ~deleting if mode is FileMode.DELTA else nz.repeated(True, n, pl.Boolean())
    c = Collector(base, [], scope)
    for col in spec.columns:
        check_column(c, col, norms[col.name], mode, strict)
    status_rules(c, trimmed, norms, mode, strict)
    out_cols = [norms[name].value.alias(name) for name in spec.names]
    meta = [present[name] for name, _ in header.metadata]
    out = pl.DataFrame([*out_cols, *meta, lines])
    semantic_rules(c, out, spec.names, version, norms)
    if not table.problems.is_empty():
        sid = base.select(LINE, pl.col("sourcedId").alias("sourced_id"))
        c.parts.append(
            table.problems.join(sid, left_on="line", right_on=LINE, how="left").select(
                "line", "code", pl.lit(HARD).alias("severity"), pl.lit(None, dtype=pl.String).alias("column"),
                "message", "sourced_id",
            )
        )  # fmt: skip
    findings = pl.concat(c.parts, how="vertical") if c.parts else pl.DataFrame(schema=FINDING_SCHEMA)
    findings = apply_overrides(findings, severities or {})
    hashes = cells[RAW_HASH] if RAW_HASH in cells.columns else raw_hashes(
        table, header, mode, version, strict=strict, severities=severities)  # fmt: skip
    plain = plain_hashes(table, hashes, _noted(findings, base, spec.columns, clean))
    notes = aggregate_info(findings, table.file)
    info_keys = _info_keys(findings)
    findings = findings.filter(pl.col("severity") != INFO).sort("line", maintain_order=True)
    hard_lines = findings.filter(pl.col("severity") == HARD)["line"].unique()
    soft_lines = findings.filter(pl.col("severity") == SOFT)["line"].unique()
    out = out.with_columns(_flag(hard_lines).alias(HARD_FLAG), _flag(soft_lines).alias(SOFT_FLAG), plain)
    return Validated(out.with_columns(_by_line(out[LINE], info_keys)), findings, notes)
