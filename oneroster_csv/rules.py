"""The rules of a file's rows, column by column: each check a mask of rows, each finding its code, severity, column
and a message a district admin can act on (the codes and the decisions behind them: oneroster_csv/validate.py)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from . import normalize as nz
from .model import FileMode, Severity
from .reader import LINE
from .spec import ColumnSpec, Kind, Req

HARD, SOFT, INFO = Severity.HARD.value, Severity.SOFT.value, Severity.INFO.value


@dataclass
class Collector:
    """The findings of one file, gathered check by check: each `add` keeps the rows of its mask as findings."""

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


def quoted(col: str) -> pl.Expr:
    """A column's values in single quotes, for a message."""
    return pl.lit("'") + pl.col(col).fill_null("") + pl.lit("'")


def check_column(c: Collector, spec: ColumnSpec, norm: nz.Norm, mode: FileMode, strict: bool) -> None:
    """The findings of one column of the file's own kind (status and dateLastModified: `status_rules`)."""
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
            pl.format("sourcedId {} is not a valid identifier: use 1-255 letters, digits or . _ / @ -", quoted(name)),
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
                quoted(name),
                pl.lit(name),
            ),
        )
    elif spec.kind is Kind.ENUM:
        code, sev = ("row.invalid_enum", HARD) if required else ("row.invalid_optional_enum", SOFT)
        allowed = ", ".join(spec.tokens) + (" or ext:<name>" if spec.allow_ext else "")
        c.add(bad, code, sev, name, pl.format("{} is not a valid {}; expected one of {}", quoted(name), pl.lit(name),
                                              pl.lit(allowed)))  # fmt: skip
    elif spec.kind is Kind.BOOLEAN:
        code, sev = ("row.invalid_boolean", HARD) if required else ("row.invalid_optional_boolean", SOFT)
        c.add(bad, code, sev, name, pl.format("{} in column {} must be true or false", quoted(name), pl.lit(name)))
    elif spec.kind is Kind.DATE:
        code, sev = ("row.invalid_date", HARD) if required else ("row.invalid_optional_date", SOFT)
        c.add(bad, code, sev, name, pl.format("{} in column {} is not a valid date; write it as YYYY-MM-DD",
                                              quoted(name), pl.lit(name)))  # fmt: skip
    elif spec.kind is Kind.YEAR:
        c.add(bad, "row.invalid_year", HARD, name, pl.format("{} in column {} is not a year; write it as YYYY",
                                                             quoted(name), pl.lit(name)))  # fmt: skip
    elif spec.kind is Kind.GRADES:
        c.add(
            bad,
            "row.invalid_grade",
            SOFT,
            name,
            pl.format(
                "{} in column {} contains a grade outside the CEDS list (IT, PR, PK, TK, KG, 01-13, PS, UG, Other)",
                quoted(name),
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
                "{} in column userIds is not a list of {{type:id}} items such as {{LDAP:jdoe}},{{LTI:123}}",
                quoted(name),
            ),
        )
    elif spec.kind is Kind.EMAIL:
        message = pl.format("{} in column email is not an e-mail address", quoted(name))
        c.add(bad, "row.invalid_email", SOFT, name, message)
    elif spec.kind is Kind.LIST:
        c.add(bad, "row.invalid_list", SOFT, name, pl.format(
            "{} in column {} is not a clean list: no spaces around commas and no empty items", quoted(name),
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
                quoted(name),
                pl.lit(name),
            ),
        )
    leniency(c, spec, norm, scoped=True)


_LENIENCY_CODE = {
    Kind.ENUM: "row.enum_case", Kind.BOOLEAN: "row.boolean_case", Kind.DATE: "row.date_format",
    Kind.DATETIME: "row.datetime_format", Kind.LIST: "row.list_format", Kind.GUID_LIST: "row.list_format",
    Kind.GRADES: "row.grade_format", Kind.USER_IDS: "row.list_format", Kind.GUID: "row.nonstandard_id",
}  # fmt: skip


def leniency(c: Collector, spec: ColumnSpec, norm: nz.Norm, scoped: bool) -> None:
    """INFO findings for the values lenient reading rewrote to their canonical form."""
    code = _LENIENCY_CODE.get(spec.kind)
    if code is None:
        return
    message = pl.format("{} in column {} was read as the canonical form", quoted(spec.name), pl.lit(spec.name))
    c.add(norm.changed, code, INFO, spec.name, message, scoped=scoped)


def status_rules(c: Collector, values: dict[str, pl.Series], norms: dict[str, nz.Norm], mode: FileMode,
                  strict: bool) -> None:  # fmt: skip
    """status and dateLastModified, as a bulk or a delta file takes them (see oneroster_csv/validate.py)."""
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
                    pl.format("{} must be blank in a bulk file (found {})", pl.lit(col), quoted(col)),
                    scoped=False,
                )
            return
        deleting = deletion_requests(status)
        c.add(deleting, "row.tobedeleted_in_bulk", HARD, "status", pl.lit(
            "status tobedeleted is not allowed in a bulk file: leave the record out of the file to delete it"),
            scoped=False)  # fmt: skip
        c.add(sn.invalid, "row.unknown_status_in_bulk", SOFT, "status", pl.format(
            "status {} is not a OneRoster status (active or tobedeleted); it was ignored as this is a bulk file",
            quoted("status")), scoped=False)  # fmt: skip
        for col, s in (("status", status), ("dateLastModified", dlm)):
            keep = s.is_not_null() & ~deleting & ~sn.invalid if col == "status" else s.is_not_null()
            c.add(keep, "row.status_in_bulk", INFO, col,
                  pl.format("{} {} is ignored in a bulk file", pl.lit(col), quoted(col)), scoped=False)  # fmt: skip
        c.add(dn.changed, "row.datetime_format", INFO, "dateLastModified",
              pl.format("{} in column dateLastModified was read as the canonical form", quoted("dateLastModified")),
              scoped=False)  # fmt: skip
        return
    c.add(status.is_null(), "row.missing_status_in_delta", HARD, "status",
          pl.lit("status is required in a delta file: active or tobedeleted"), scoped=False)  # fmt: skip
    c.add(
        sn.invalid,
        "row.invalid_status",
        HARD,
        "status",
        pl.format("status {} is not valid in a delta file; expected active or tobedeleted", quoted("status")),
        scoped=False,
    )
    c.add(dlm.is_null(), "row.missing_required", HARD, "dateLastModified",
          pl.lit("required column dateLastModified is blank (required in a delta file)"), scoped=False)  # fmt: skip
    c.add(dn.invalid, "row.invalid_datetime", HARD, "dateLastModified", pl.format(
        "{} in column dateLastModified is not a date-time; write it as YYYY-MM-DDTHH:MM:SS.sssZ",
        quoted("dateLastModified")), scoped=False)  # fmt: skip
    leniency(c, ColumnSpec("status", Kind.ENUM), sn, scoped=False)
    leniency(c, ColumnSpec("dateLastModified", Kind.DATETIME), dn, scoped=False)


def deletion_requests(status: pl.Series) -> pl.Series:
    """Rows whose status is tobedeleted, in any case (lenient: TOBEDELETED is a deletion request too). A status
    column left blank throughout, as bulk files mostly leave it, needs no lowercasing of a million nulls."""
    if status.null_count() == status.len():
        return nz.repeated(False, status.len(), pl.Boolean())
    return (status.str.to_lowercase() == "tobedeleted").fill_null(False)


def semantic_rules(c: Collector, out: pl.DataFrame, names: tuple[str, ...], version: str,
                   norms: dict[str, nz.Norm]) -> None:  # fmt: skip
    """Checks between the columns of a row or the rows of a file: dates in order, one primary role, as many subject
    codes as subjects."""
    for begin, end in (("startDate", "endDate"), ("beginDate", "endDate")):
        if begin in names and end in names:
            # Valid dates are canonical YYYY-MM-DD after normalisation, so string order is date order.
            c.add(~norms[begin].invalid & ~norms[end].invalid & (out[begin] > out[end]),
                  "semantic.begin_after_end", SOFT, end,
                  pl.format("{} {} is after {} {}", pl.lit(begin), quoted(begin), pl.lit(end),
                            quoted(end)))  # fmt: skip
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
                quoted("userSourcedId"),
                quoted("orgSourcedId"),
            ),
        )
    if version == "1.2" and "subjectCodes" in names:
        counts = out.select(
            pl.col("subjects").str.count_matches(",") != pl.col("subjectCodes").str.count_matches(",")
        ).to_series()
        c.add(counts, "semantic.subject_codes_mismatch", SOFT, "subjectCodes",
              pl.lit("subjects and subjectCodes must have the same number of items, in the same order"))  # fmt: skip
