"""Row rules of one file: normalise every column, collect findings as a columnar frame, apply severity overrides.

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

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from . import normalize as nz
from .headers import HeaderMap
from .model import FileMode, Finding, Severity
from .raw_hash import RAW_HASH, plain_hashes, raw_hashes
from .reader import LINE, CsvTable, cell_name
from .spec import ColumnSpec, Kind, Req

HARD, SOFT, INFO = Severity.HARD.value, Severity.SOFT.value, Severity.INFO.value
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


@dataclass
class _Collector:
    frame: pl.DataFrame  # trimmed values, with _line and sourcedId
    parts: list[pl.DataFrame]
    scope: pl.Series  # rows whose non-common columns are checked (not tobedeleted in delta)

    def add(self, mask: pl.Series, code: str, severity: str, column: str | None, message: pl.Expr,
            scoped: bool = True) -> None:  # fmt: skip
        if not bool(mask.any()):  # (nulls are not true: most checks find nothing, and end here)
            return
        mask = mask.fill_null(False)
        if scoped:
            mask = mask & self.scope
            if not bool(mask.any()):
                return
        rows = self.frame.filter(mask).select(
            pl.col(LINE).alias("line"),
            pl.lit(code).alias("code"),
            pl.lit(severity).alias("severity"),
            pl.lit(column, dtype=pl.String).alias("column"),
            message.cast(pl.String).alias("message"),
            pl.col("sourcedId").alias("sourced_id"),
        )
        self.parts.append(rows)


def _q(col: str) -> pl.Expr:
    return pl.lit("'") + pl.col(col).fill_null("") + pl.lit("'")


def _check_column(c: _Collector, spec: ColumnSpec, norm: nz.Norm, mode: FileMode, strict: bool) -> None:
    name = spec.name
    common = name in ("status", "dateLastModified")
    required = spec.req is Req.REQUIRED
    if common:
        return
    bad = norm.invalid
    if spec.kind is Kind.GUID and name == "sourcedId":
        c.add(
            bad,
            "row.invalid_sourced_id",
            HARD,
            name,
            pl.format("sourcedId {} is not a valid identifier: use 1-255 letters, digits or . _ / @ -", _q(name)),
            scoped=False,
        )
    elif spec.kind in (Kind.GUID, Kind.GUID_LIST):
        code, sev = ("row.invalid_reference_id", HARD) if required else ("row.invalid_optional_reference_id", SOFT)
        c.add(
            bad,
            code,
            sev,
            name,
            pl.format(
                "{} in column {} is not a valid sourcedId list: use identifiers of letters, digits or . _ / @ - "
                "separated by commas",
                _q(name),
                pl.lit(name),
            ),
        )
    elif spec.kind is Kind.ENUM:
        code, sev = ("row.invalid_enum", HARD) if required else ("row.invalid_optional_enum", SOFT)
        allowed = ", ".join(spec.tokens) + (" or ext:<name>" if spec.allow_ext else "")
        c.add(bad, code, sev, name, pl.format("{} is not a valid {}; expected one of {}", _q(name), pl.lit(name),
                                              pl.lit(allowed)))  # fmt: skip
    elif spec.kind is Kind.BOOLEAN:
        code, sev = ("row.invalid_boolean", HARD) if required else ("row.invalid_optional_boolean", SOFT)
        c.add(bad, code, sev, name, pl.format("{} in column {} must be true or false", _q(name), pl.lit(name)))
    elif spec.kind is Kind.DATE:
        code, sev = ("row.invalid_date", HARD) if required else ("row.invalid_optional_date", SOFT)
        c.add(bad, code, sev, name, pl.format("{} in column {} is not a valid date; write it as YYYY-MM-DD",
                                              _q(name), pl.lit(name)))  # fmt: skip
    elif spec.kind is Kind.YEAR:
        c.add(bad, "row.invalid_year", HARD, name, pl.format("{} in column {} is not a year; write it as YYYY",
                                                             _q(name), pl.lit(name)))  # fmt: skip
    elif spec.kind is Kind.GRADES:
        c.add(
            bad,
            "row.invalid_grade",
            SOFT,
            name,
            pl.format(
                "{} in column {} contains a grade outside the CEDS list (IT, PR, PK, TK, KG, 01-13, PS, UG, Other)",
                _q(name),
                pl.lit(name),
            ),
        )
    elif spec.kind is Kind.USER_IDS:
        c.add(
            bad,
            "row.invalid_user_ids",
            SOFT,
            name,
            pl.format(
                "{} in column userIds is not a list of {{type:id}} items such as {{LDAP:jdoe}},{{LTI:123}}", _q(name)
            ),
        )
    elif spec.kind is Kind.EMAIL:
        c.add(bad, "row.invalid_email", SOFT, name, pl.format("{} in column email is not an e-mail address", _q(name)))
    elif spec.kind is Kind.LIST:
        c.add(bad, "row.invalid_list", SOFT, name, pl.format(
            "{} in column {} is not a clean list: no spaces around commas and no empty items", _q(name),
            pl.lit(name)))  # fmt: skip
    if required:
        c.add(c.frame[name].is_null(), "row.missing_required", HARD, name,
              pl.lit(f"required column {name} is blank"), scoped=name != "sourcedId")  # fmt: skip
    if norm.ambiguous is not None:
        c.add(
            norm.ambiguous,
            "row.ambiguous_date",
            SOFT,
            name,
            pl.format(
                "{} in column {} is ambiguous (day/month); it was read as month/day/year; write dates as YYYY-MM-DD",
                _q(name),
                pl.lit(name),
            ),
        )
    _leniency(c, spec, norm, scoped=True)


_LENIENCY_CODE = {
    Kind.ENUM: "row.enum_case", Kind.BOOLEAN: "row.boolean_case", Kind.DATE: "row.date_format",
    Kind.DATETIME: "row.datetime_format", Kind.LIST: "row.list_format", Kind.GUID_LIST: "row.list_format",
    Kind.GRADES: "row.grade_format", Kind.USER_IDS: "row.list_format", Kind.GUID: "row.nonstandard_id",
}  # fmt: skip


def _leniency(c: _Collector, spec: ColumnSpec, norm: nz.Norm, scoped: bool) -> None:
    code = _LENIENCY_CODE.get(spec.kind)
    if code is None:
        return
    c.add(norm.changed, code, INFO, spec.name, pl.format("{} in column {} was read as the canonical form",
                                                          _q(spec.name), pl.lit(spec.name)), scoped=scoped)  # fmt: skip


def _status_rules(c: _Collector, values: dict[str, pl.Series], norms: dict[str, nz.Norm], mode: FileMode,
                  strict: bool) -> None:  # fmt: skip
    status, dlm = values["status"], values["dateLastModified"]
    sn, dn = norms["status"], norms["dateLastModified"]
    if mode is FileMode.BULK:
        if strict:
            for col, s in (("status", status), ("dateLastModified", dlm)):
                c.add(
                    s.is_not_null(),
                    "row.forbidden_in_bulk",
                    HARD,
                    col,
                    pl.format("{} must be blank in a bulk file (found {})", pl.lit(col), _q(col)),
                    scoped=False,
                )
            return
        deleting = _deletion_requests(status)
        c.add(deleting, "row.tobedeleted_in_bulk", HARD, "status", pl.lit(
            "status tobedeleted is not allowed in a bulk file: leave the record out of the file to delete it"),
            scoped=False)  # fmt: skip
        c.add(sn.invalid, "row.unknown_status_in_bulk", SOFT, "status", pl.format(
            "status {} is not a OneRoster status (active or tobedeleted); it was ignored as this is a bulk file",
            _q("status")), scoped=False)  # fmt: skip
        for col, s in (("status", status), ("dateLastModified", dlm)):
            keep = s.is_not_null() & ~deleting & ~sn.invalid if col == "status" else s.is_not_null()
            c.add(keep, "row.status_in_bulk", INFO, col,
                  pl.format("{} {} is ignored in a bulk file", pl.lit(col), _q(col)), scoped=False)  # fmt: skip
        c.add(dn.changed, "row.datetime_format", INFO, "dateLastModified",
              pl.format("{} in column dateLastModified was read as the canonical form", _q("dateLastModified")),
              scoped=False)  # fmt: skip
        return
    c.add(status.is_null(), "row.missing_status_in_delta", HARD, "status",
          pl.lit("status is required in a delta file: active or tobedeleted"), scoped=False)  # fmt: skip
    c.add(
        sn.invalid,
        "row.invalid_status",
        HARD,
        "status",
        pl.format("status {} is not valid in a delta file; expected active or tobedeleted", _q("status")),
        scoped=False,
    )
    c.add(dlm.is_null(), "row.missing_required", HARD, "dateLastModified",
          pl.lit("required column dateLastModified is blank (required in a delta file)"), scoped=False)  # fmt: skip
    c.add(dn.invalid, "row.invalid_datetime", HARD, "dateLastModified", pl.format(
        "{} in column dateLastModified is not a date-time; write it as YYYY-MM-DDTHH:MM:SS.sssZ",
        _q("dateLastModified")), scoped=False)  # fmt: skip
    _leniency(c, ColumnSpec("status", Kind.ENUM), sn, scoped=False)
    _leniency(c, ColumnSpec("dateLastModified", Kind.DATETIME), dn, scoped=False)


def _deletion_requests(status: pl.Series) -> pl.Series:
    """Rows whose status is tobedeleted, in any case (lenient: TOBEDELETED is a deletion request too). A status
    column left blank throughout, as bulk files mostly leave it, needs no lowercasing of a million nulls."""
    if status.null_count() == status.len():
        return nz.repeated(False, status.len(), pl.Boolean())
    return (status.str.to_lowercase() == "tobedeleted").fill_null(False)


def _semantic(c: _Collector, out: pl.DataFrame, names: tuple[str, ...], version: str,
              norms: dict[str, nz.Norm]) -> None:  # fmt: skip
    for begin, end in (("startDate", "endDate"), ("beginDate", "endDate")):
        if begin in names and end in names:
            # Valid dates are canonical YYYY-MM-DD after normalisation, so string order is date order.
            c.add(~norms[begin].invalid & ~norms[end].invalid & (out[begin] > out[end]),
                  "semantic.begin_after_end", SOFT, end,
                  pl.format("{} {} is after {} {}", pl.lit(begin), _q(begin), pl.lit(end), _q(end)))  # fmt: skip
    if "roleType" in names:
        dup = out.select(
            (pl.col("roleType") == "primary")
            & (pl.col("roleType") == "primary").cum_sum().over("userSourcedId", "orgSourcedId").gt(1)
        ).to_series()
        c.add(
            dup,
            "semantic.multiple_primary_roles",
            SOFT,
            "roleType",
            pl.format(
                "user {} already has a primary role at org {}; only one primary role per user and org is allowed",
                _q("userSourcedId"),
                _q("orgSourcedId"),
            ),
        )
    if version == "1.2" and "subjectCodes" in names:
        counts = out.select(
            pl.col("subjects").str.count_matches(",") != pl.col("subjectCodes").str.count_matches(",")
        ).to_series()
        c.add(counts, "semantic.subject_codes_mismatch", SOFT, "subjectCodes",
              pl.lit("subjects and subjectCodes must have the same number of items, in the same order"))  # fmt: skip


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


def aggregate_info(findings: pl.DataFrame, file: str) -> list[Finding]:
    """INFO findings become one note per (code, column) with a count and the first line."""
    info = findings.filter(pl.col("severity") == INFO)
    if info.height == 0:
        return []
    grouped = info.group_by("code", "column", maintain_order=True).agg(
        pl.len().alias("n"), pl.col("line").min().alias("first"), pl.col("message").first().alias("example"),
        pl.col("sourced_id").first().alias("sid"),
    )  # fmt: skip
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
    deleting = _deletion_requests(trimmed["status"])
    scope = ~deleting if mode is FileMode.DELTA else nz.repeated(True, n, pl.Boolean())
    c = _Collector(base, [], scope)
    for col in spec.columns:
        _check_column(c, col, norms[col.name], mode, strict)
    _status_rules(c, trimmed, norms, mode, strict)
    out_cols = [norms[name].value.alias(name) for name in spec.names]
    meta = [present[name] for name, _ in header.metadata]
    out = pl.DataFrame([*out_cols, *meta, lines])
    _semantic(c, out, spec.names, version, norms)
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
    plain = plain_hashes(table, hashes, findings["line"].unique())
    notes = aggregate_info(findings, table.file)
    findings = findings.filter(pl.col("severity") != INFO).sort("line", maintain_order=True)
    hard_lines = findings.filter(pl.col("severity") == HARD)["line"].unique()
    soft_lines = findings.filter(pl.col("severity") == SOFT)["line"].unique()
    out = out.with_columns(_flag(hard_lines).alias(HARD_FLAG), _flag(soft_lines).alias(SOFT_FLAG), plain)
    return Validated(out, findings, notes)
