"""Columnar normalisation of OneRoster values.

Every normaliser takes a trimmed String Series (blank = null) and returns a ``Norm``: the normalised values,
``changed`` (a lenient rewrite happened, e.g. ``TRUE`` -> ``true``) and ``invalid`` (a value that cannot be read;
the trimmed original is kept so it can be shown). Fast paths skip the costly parsing when a column is already
canonical, which is the common case for large files.

Decisions where the spec is silent:
* slash dates: ``D/M/YYYY`` vs ``M/D/YYYY`` is decided per column: if some value has a first part > 12 the column is
  day-first, if some value has a second part > 12 it is month-first; otherwise month-first (OneRoster is a US
  standard) and values whose day and month differ are reported ``ambiguous``. ``1/05/2023`` -> ``2023-01-05``.
* datetimes without an offset are taken as UTC; offsets are converted to UTC; output ``YYYY-MM-DDTHH:MM:SS.sssZ``.
* sourcedIds: strict = ``[0-9A-Za-z._/@-]{1,255}``; lenient also accepts any other non-space printable characters
  except ``,`` and ``"`` (they would break lists), reported as a leniency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from .spec import CEDS_GRADES

GUID_RE = r"^[0-9A-Za-z._/@-]{1,255}$"
LENIENT_GUID_RE = r'^[^\s,"\x00-\x1f\x7f]{1,255}$'
_GUID_ITEM = r"[0-9A-Za-z._/@-]{1,255}"
_LENIENT_GUID_ITEM = r'[^\s,"\x00-\x1f\x7f]{1,255}'
USER_ID_ITEM = r"\{[^{}:,]+:[^{}]*\}"
EMAIL_RE = r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_CANON_DT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
_STRICT_DT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$"
_YMD = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
_DMY = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})"
_TIME = r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"


@dataclass(frozen=True)
class Norm:
    value: pl.Series
    changed: pl.Series
    invalid: pl.Series
    ambiguous: pl.Series | None = None


def repeated(value: bool | int | None, n: int, dtype: pl.DataType) -> pl.Series:
    """`n` times `value`, a fresh series (callers may scatter into it). Built directly: `pl.repeat` runs a query
    each time, 0.13 ms a call, and validating a small file takes some two hundred such columns."""
    return pl.Series("literal", [value], dtype).new_from_index(0, n)


def _false(n: int) -> pl.Series:
    return repeated(False, n, pl.Boolean())


def unchanged(t: pl.Series) -> Norm:
    """The column is already canonical and valid."""
    n = len(t)
    return Norm(t, _false(n), _false(n))


_WS = " \t"


def blank_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank cells become null; columns without a blank pass through uncopied (most of a large file's columns)."""
    if frame.width == 0 or frame.height == 0:
        return frame
    has_blank = frame.select((pl.col(c) == "").any() for c in frame.columns).row(0)
    return frame.with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
        for c, blank in zip(frame.columns, has_blank, strict=True)
        if blank
    )


def edged_columns(frame: pl.DataFrame) -> tuple[bool, ...]:
    """For each column, whether a value starts or ends with a space or tab (one regex over the joined column, the
    columns in parallel)."""
    edge = r"\n[ \t]|[ \t]\n|^[ \t]|[ \t]$"
    return tuple(frame.select(pl.all().fill_null("").str.join("\n").str.contains(edge)).row(0))


def trim_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Strip leading/trailing spaces and tabs; blank becomes null.

    Stripping allocates new strings, so columns are first checked (`edged_columns`) and only columns that need it
    are stripped.
    """
    if frame.width == 0 or frame.height == 0:
        return frame
    flags = edged_columns(frame)
    exprs: list[pl.Expr] = []
    for name, needs_strip in zip(frame.columns, flags, strict=True):
        col = pl.col(name).str.strip_chars(_WS) if needs_strip else pl.col(name)
        exprs.append(pl.when(col.str.len_bytes() == 0).then(None).otherwise(col).alias(name))
    return frame.select(exprs)


def trim(s: pl.Series) -> pl.Series:
    return trim_columns(s.to_frame()).to_series()


def _finish(t: pl.Series, value: pl.Series, invalid: pl.Series, strict: bool) -> Norm:
    changed = (value != t).fill_null(False) & ~invalid
    if strict:
        # Strict mode accepts canonical values only: anything that needed a rewrite is invalid (kept as written).
        return Norm(t, _false(len(t)), (invalid | changed).fill_null(False))
    return Norm(pl.select(pl.when(invalid).then(t).otherwise(value)).to_series().alias(t.name), changed, invalid)


def enum(t: pl.Series, tokens: tuple[str, ...], allow_ext: bool, strict: bool) -> Norm:
    exact = t.is_in(list(tokens)) | t.is_null()
    if allow_ext:
        exact = exact | t.str.starts_with("ext:").fill_null(False)
    if bool(exact.all()):
        return Norm(t, _false(len(t)), _false(len(t)))
    return on_distinct(t, lambda values: _enum(values, tokens, allow_ext, strict))


def _enum(t: pl.Series, tokens: tuple[str, ...], allow_ext: bool, strict: bool) -> Norm:
    mapping = {tok.lower(): tok for tok in tokens}
    lower = t.str.to_lowercase()
    mapped = lower.replace_strict(mapping, default=None, return_dtype=pl.String)
    is_ext = lower.str.contains(r"^ext:\S+$").fill_null(False) if allow_ext else _false(len(t))
    value = pl.select(pl.when(is_ext).then(pl.lit("ext:") + t.str.slice(4)).otherwise(mapped)).to_series()
    invalid = (t.is_not_null() & value.is_null()).fill_null(False)
    return _finish(t, value, invalid, strict)


def boolean(t: pl.Series, strict: bool) -> Norm:
    return enum(t, ("true", "false"), False, strict)


def _pad(s: pl.Series) -> pl.Series:
    return s.str.zfill(2)


def _ymd_string(y: pl.Series, m: pl.Series, d: pl.Series) -> pl.Series:
    return pl.select(pl.concat_str([y, pl.lit("-"), _pad(m), pl.lit("-"), _pad(d)])).to_series()


def _slash_order(a: pl.Series, b: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Return (month, day, ambiguous) for D/M vs M/D numbers, deciding the order per column."""
    ai, bi = a.cast(pl.Int32, strict=False), b.cast(pl.Int32, strict=False)
    day_first = bool((ai > 12).any()) and not bool((bi > 12).any())
    if day_first:
        return b, a, _false(len(a))
    month_first_proven = bool((bi > 12).any())
    ambiguous = ((ai <= 12) & (bi <= 12) & (ai != bi)).fill_null(False)
    per_row_dm = (ai > 12).fill_null(False)  # mixed column: a value can only be D/M when its first part > 12
    month = pl.select(pl.when(per_row_dm).then(b).otherwise(a)).to_series()
    day = pl.select(pl.when(per_row_dm).then(a).otherwise(b)).to_series()
    return month, day, (ambiguous if not month_first_proven else _false(len(a)))


def read_by_column(t: pl.Series) -> pl.Series:
    """Whether each date or time value is written with its day and month as two small numbers (05/06/2024): which
    is which is decided over the whole column (`_slash_order`), so what the value reads as depends on other rows."""
    return t.str.contains(_DMY).fill_null(False)


def on_distinct(t: pl.Series, normalise: Callable[[pl.Series], Norm]) -> Norm:
    """`normalise(t)`, worked out on the distinct values of `t` and spread over its rows: an export's dates, times and
    enumerations repeat (one timestamp on every row is common, a role in another case on every row too) and their
    lenient parsing costs up to a microsecond a value. For normalisers whose column-wide decisions (`_slash_order`)
    are the same over the distinct values."""
    distinct = t.unique()
    if distinct.len() * 2 > t.len():  # (mostly distinct: spreading would cost more than it saves)
        return normalise(t)
    norm = normalise(distinct)
    rows = t.to_frame("v").join(distinct.to_frame("v").with_row_index("i"), on="v", how="left", nulls_equal=True,
                                maintain_order="left")["i"]  # fmt: skip
    ambiguous = None if norm.ambiguous is None else norm.ambiguous.gather(rows)
    return Norm(norm.value.gather(rows), norm.changed.gather(rows), norm.invalid.gather(rows), ambiguous)


def date(t: pl.Series, strict: bool) -> Norm:
    n = len(t)
    if bool(((t.str.len_bytes() == 10) & t.str.to_date("%Y-%m-%d", strict=False).is_not_null()).fill_null(True).all()):
        return Norm(t, _false(n), _false(n))
    return on_distinct(t, lambda values: _date(values, strict))


def _date(t: pl.Series, strict: bool) -> Norm:
    n = len(t)
    canon = t.str.contains(_ISO_DATE).fill_null(True)
    if strict:
        ok = t.str.to_date("%Y-%m-%d", strict=False).is_not_null()
        invalid = (t.is_not_null() & ~(canon & ok)).fill_null(False)
        return Norm(t, _false(n), invalid)
    ymd = t.str.extract_groups(_YMD + r"(?:[T ].*)?$").struct.unnest()
    dmy = t.str.extract_groups(_DMY + r"$").struct.unnest()
    month, day, ambiguous = _slash_order(dmy[dmy.columns[0]], dmy[dmy.columns[1]])
    y = ymd[ymd.columns[0]].fill_null(dmy[dmy.columns[2]])
    m = ymd[ymd.columns[1]].fill_null(month)
    d = ymd[ymd.columns[2]].fill_null(day)
    candidate = _ymd_string(y, m, d)
    parsed = candidate.str.to_date("%Y-%m-%d", strict=False)
    value = parsed.dt.to_string("%Y-%m-%d")
    invalid = (t.is_not_null() & parsed.is_null()).fill_null(False)
    amb = (ambiguous & dmy[dmy.columns[0]].is_not_null() & ~invalid).fill_null(False)
    out = _finish(t, value, invalid, strict)
    return Norm(out.value, out.changed, out.invalid, amb)


def datetime(t: pl.Series, strict: bool) -> Norm:
    n = len(t)
    canon = t.str.contains(_CANON_DT).fill_null(True)
    if bool(canon.all()):
        ok = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", strict=False).is_not_null() | t.is_null()
        return Norm(t, _false(n), ~ok)
    return on_distinct(t, lambda values: _datetime(values, strict))


def _datetime(t: pl.Series, strict: bool) -> Norm:
    n = len(t)
    if strict:
        shaped = t.str.contains(_STRICT_DT).fill_null(False)
        parsed = t.str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", strict=False)
        value = parsed.dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ")
        invalid = (t.is_not_null() & ~(shaped & parsed.is_not_null())).fill_null(False)
        return Norm(pl.select(pl.when(invalid).then(t).otherwise(value)).to_series().alias(t.name), _false(n), invalid)
    g = t.str.extract_groups(_YMD + _TIME).struct.unnest()
    cols = g.columns
    dmy = t.str.extract_groups(_DMY + _TIME).struct.unnest()
    dcols = dmy.columns
    month, day, ambiguous = _slash_order(dmy[dcols[0]], dmy[dcols[1]])
    y = g[cols[0]].fill_null(dmy[dcols[2]])
    m = g[cols[1]].fill_null(month)
    d = g[cols[2]].fill_null(day)

    def part(i: int) -> pl.Series:
        return g[cols[i]].fill_null(dmy[dcols[i]])

    hh, mi, ss, frac, zone = part(3), part(4), part(5), part(6), part(7)
    zone_norm = pl.select(
        pl.when(zone.is_null() | zone.is_in(["Z", "z", "UTC", "GMT"]))
        .then(pl.lit("+00:00"))
        .otherwise(zone.str.replace(r"^([+-]\d{2}):?(\d{2})$", "$1:$2").str.replace(r"^([+-]\d{2})$", "$1:00"))
    ).to_series()
    candidate = pl.select(
        pl.concat_str([
            _ymd_string(y, m, d), pl.lit("T"),
            _pad(hh.fill_null("0")), pl.lit(":"), mi.fill_null("00"), pl.lit(":"), ss.fill_null("00"), pl.lit("."),
            frac.fill_null("0").str.slice(0, 9).str.pad_end(9, "0"), zone_norm,
        ])
    ).to_series()  # fmt: skip
    parsed = candidate.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_zone="UTC")
    value = parsed.dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ")
    invalid = (t.is_not_null() & parsed.is_null()).fill_null(False)
    amb = (ambiguous & dmy[dcols[0]].is_not_null() & ~invalid).fill_null(False)
    out = _finish(t, value, invalid, strict)
    return Norm(out.value, out.changed, out.invalid, amb)


def year(t: pl.Series) -> Norm:
    invalid = (t.is_not_null() & ~t.str.contains(r"^\d{4}$")).fill_null(False)
    return Norm(t, _false(len(t)), invalid)


_LIST_ODD = r'(^\[|\]$|\s,|,\s|,,|^,|,$|^"|"$)'


def list_items(t: pl.Series, strict: bool) -> Norm:
    """Lists: items trimmed, empty items dropped, JSON-ish brackets/quotes removed, joined with ','."""
    n = len(t)
    odd = t.str.contains(_LIST_ODD).fill_null(False)
    if not bool(odd.any()):
        return Norm(t, _false(n), _false(n))
    inner = pl.select(
        pl.when(t.str.starts_with("[") & t.str.ends_with("]")).then(t.str.slice(1, t.str.len_chars() - 2)).otherwise(t)
    ).to_series()
    # Brackets and quotes around items are JSON-ish wrapping, never part of an identifier or grade: strip them all,
    # so normalising a normalised value changes nothing.
    items = (
        inner.str.split(",")
        .list.eval(pl.element().str.strip_chars(" \t\"'[]"))
        .list.eval(pl.element().filter(pl.element().str.len_bytes() > 0))  # filter the stripped items, not the raw
    )
    value = items.list.join(",")
    value = pl.select(pl.when(value.str.len_bytes() == 0).then(None).otherwise(value)).to_series()
    value = pl.select(pl.when(odd).then(value).otherwise(t)).to_series()
    changed = (value != t).fill_null(True) & t.is_not_null()
    if strict:
        return Norm(t, _false(n), changed)
    return Norm(value, changed, _false(n))


def _all_match_class(t: pl.Series, negated_class: str) -> bool:
    """True when no value contains a character of ``negated_class`` (one regex over the joined column)."""
    joined = t.drop_nulls().str.join("")
    return not bool(joined.str.contains(negated_class).item())


def guid(t: pl.Series, strict: bool) -> Norm:
    n = len(t)
    too_long = bool((t.str.len_chars() > 255).any())
    if not too_long and _all_match_class(t, r"[^0-9A-Za-z._/@-]"):
        return Norm(t, _false(n), _false(n))
    ok = t.str.contains(GUID_RE).fill_null(True)
    if strict:
        return Norm(t, _false(n), ~ok)
    lenient_ok = t.str.contains(LENIENT_GUID_RE).fill_null(True)
    return Norm(t, ~ok & lenient_ok, ~lenient_ok)


def guid_list(t: pl.Series, strict: bool) -> Norm:
    base = list_items(t, strict)
    v = base.value
    strict_re = f"^{_GUID_ITEM}(?:,{_GUID_ITEM})*$"
    ok = v.str.contains(strict_re).fill_null(True)
    if strict or bool(ok.all()):
        return Norm(v, base.changed, (base.invalid | ~ok).fill_null(False))
    lenient_ok = v.str.contains(f"^{_LENIENT_GUID_ITEM}(?:,{_LENIENT_GUID_ITEM})*$").fill_null(True)
    return Norm(v, base.changed | (~ok & lenient_ok), ~lenient_ok)


def _grade_map() -> dict[str, str]:
    m = {g.lower(): g for g in CEDS_GRADES}
    for i in range(1, 14):
        for raw in (str(i), f"{i:02d}", f"{i}.0", f"{i:02d}.0", f"grade {i}"):
            m[raw] = f"{i:02d}"
    m.update({"k": "KG", "0": "KG", "00": "KG", "kindergarten": "KG", "pre-k": "PK", "prek": "PK"})
    return m


_GRADES = _grade_map()
_CEDS_LIST = "|".join(CEDS_GRADES)


def grades(t: pl.Series, strict: bool) -> Norm:
    base = list_items(t, strict)
    v = base.value
    ok = v.str.contains(f"^(?:{_CEDS_LIST})(?:,(?:{_CEDS_LIST}))*$").fill_null(True)
    if strict or bool(ok.all()):
        return Norm(v, base.changed, (base.invalid | ~ok).fill_null(False))
    mapped = (
        v.str.split(",")
        .list.eval(
            pl.element().str.to_lowercase().replace_strict(_GRADES, default=pl.element(), return_dtype=pl.String)
        )
        .list.join(",")
    )
    mapped = pl.select(pl.when(ok).then(v).otherwise(mapped)).to_series()
    still_bad = ~mapped.str.contains(f"^(?:{_CEDS_LIST})(?:,(?:{_CEDS_LIST}))*$").fill_null(True)
    changed = base.changed | ((mapped != v).fill_null(False) & ~still_bad)
    # An unknown grade keeps the producer's spelling so the admin sees what was sent.
    value = pl.select(pl.when(still_bad).then(v).otherwise(mapped)).to_series()
    return Norm(value, changed, still_bad)


def user_ids(t: pl.Series, strict: bool) -> Norm:
    base = list_items(t, strict)
    v = base.value
    ok = v.str.contains(f"^{USER_ID_ITEM}(?:,{USER_ID_ITEM})*$").fill_null(True)
    return Norm(v, base.changed, (base.invalid | ~ok).fill_null(False))


def email(t: pl.Series) -> Norm:
    invalid = ~t.str.contains(EMAIL_RE).fill_null(True)
    return Norm(t, _false(len(t)), invalid)
