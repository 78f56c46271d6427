from __future__ import annotations

from collections.abc import Callable

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from oneroster_csv import normalize as nz


def s(*values: str | None) -> pl.Series:
    return pl.Series("v", list(values), dtype=pl.String)


def test_trim_and_blank_to_null() -> None:
    frame = pl.DataFrame({"a": ["  x ", "", "\ty"], "b": ["1", "2", ""]})
    assert nz.trim_columns(frame).rows() == [("x", "1"), (None, "2"), ("y", None)]


def test_enum_case_is_normalised_leniently() -> None:
    n = nz.enum(s("Scheduled", "homeroom", "bogus", None, "EXT:lab"), ("homeroom", "scheduled"), True, False)
    assert n.value.to_list() == ["scheduled", "homeroom", "bogus", None, "ext:lab"]
    assert n.changed.to_list() == [True, False, False, False, True]
    assert n.invalid.to_list() == [False, False, True, False, False]
    strict = nz.enum(s("Scheduled", "homeroom"), ("homeroom", "scheduled"), True, True)
    assert strict.invalid.to_list() == [True, False]


def test_boolean() -> None:
    n = nz.boolean(s("TRUE", "False", "true", "yes"), False)
    assert n.value.to_list() == ["true", "false", "true", "yes"]
    assert n.invalid.to_list() == [False, False, False, True]


def test_dates_lenient_formats() -> None:
    n = nz.date(s("2023-05-01", "2023/5/1", "2023-02-30", "13/05/2023", "2017-05-06 08:01:05", None), False)
    assert n.value.to_list() == ["2023-05-01", "2023-05-01", "2023-02-30", "2023-05-13", "2017-05-06", None]
    assert n.invalid.to_list() == [False, False, True, False, False, False]


def test_slash_dates_month_first_when_undecidable_and_flagged_ambiguous() -> None:
    n = nz.date(s("1/05/2023", "12/12/2023"), False)
    assert n.value.to_list() == ["2023-01-05", "2023-12-12"]
    assert n.ambiguous is not None
    assert n.ambiguous.to_list() == [True, False]


def test_slash_dates_day_first_when_a_value_proves_it() -> None:
    n = nz.date(s("1/05/2023", "25/12/2023"), False)
    assert n.value.to_list() == ["2023-05-01", "2023-12-25"]
    assert n.ambiguous is not None
    assert n.ambiguous.to_list() == [False, False]


def test_strict_dates_accept_only_iso() -> None:
    n = nz.date(s("2023-05-01", "2023/05/01"), True)
    assert n.invalid.to_list() == [False, True]


def test_datetimes() -> None:
    n = nz.datetime(
        s("2023-05-01T18:25:43.511Z", "2023-05-01", "2017-05-06 08:01:05", "2023-10-02T02:00:00+02:00",
          "2023-10-02T00:00:00Z", "1/05/2023", "garbage", None),
        False,
    )  # fmt: skip
    assert n.value.to_list() == [
        "2023-05-01T18:25:43.511Z", "2023-05-01T00:00:00.000Z", "2017-05-06T08:01:05.000Z",
        "2023-10-02T00:00:00.000Z", "2023-10-02T00:00:00.000Z", "2023-01-05T00:00:00.000Z", "garbage", None,
    ]  # fmt: skip
    assert n.invalid.to_list() == [False] * 6 + [True, False]


def test_lists() -> None:
    n = nz.list_items(s("Science, Physics, Biology", "a,,b,", "[]", '["x", "y"]', "one"), False)
    assert n.value.to_list() == ["Science,Physics,Biology", "a,b", None, "x,y", "one"]
    assert n.changed.to_list() == [True, True, True, True, False]
    assert nz.list_items(s("a, b"), True).invalid.to_list() == [True]


def test_grades() -> None:
    n = nz.grades(s("09,10,11", "9,K", "3rd", "kg"), False)
    assert n.value.to_list() == ["09,10,11", "09,KG", "3rd", "KG"]
    assert n.invalid.to_list() == [False, False, True, False]
    assert n.changed.to_list() == [False, True, False, True]


def test_user_ids() -> None:
    n = nz.user_ids(s("{LDAP:12},{LTI:15}", "abc", "[{LDAP:1}]"), False)
    assert n.value.to_list() == ["{LDAP:12},{LTI:15}", "abc", "{LDAP:1}"]
    assert n.invalid.to_list() == [False, True, False]


def test_guid_lenient_and_strict() -> None:
    values = s("abc-1", "a b", "ü-1", "x" * 256)
    lenient = nz.guid(values, False)
    assert lenient.invalid.to_list() == [False, True, False, True]
    assert lenient.changed.to_list() == [False, False, True, False]
    assert nz.guid(values, True).invalid.to_list() == [False, True, True, True]


def test_email() -> None:
    assert nz.email(s("a@b.org", "nope", None)).invalid.to_list() == [False, True, False]


_DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f"{d.month}/{d.day}/{d.year:04d}"),
    st.dates().map(lambda d: f"{d.year:04d}/{d.month}/{d.day}"),
    st.text(max_size=6),
)
_DATETIMES = st.one_of(
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.dates().map(lambda d: d.isoformat()),
    st.text(max_size=6),
)
_LISTS = st.lists(st.sampled_from(["a", " b", "c ", "", "9", "K", "KG", "{X:1}", "[", "]"]), max_size=5).map(
    lambda items: ",".join(items)
)


def _idempotent(fn: object, values: list[str]) -> None:
    assert callable(fn)
    series = nz.trim(s(*values))
    once = fn(series, False).value
    twice = fn(nz.trim(once), False).value
    assert once.to_list() == twice.to_list()


@settings(max_examples=60, deadline=None)
@given(st.lists(_DATES, min_size=1, max_size=8))
def test_date_normalisation_is_idempotent(values: list[str]) -> None:
    _idempotent(nz.date, values)


@settings(max_examples=60, deadline=None)
@given(st.lists(_DATETIMES, min_size=1, max_size=8))
def test_datetime_normalisation_is_idempotent(values: list[str]) -> None:
    _idempotent(nz.datetime, values)


@settings(max_examples=60, deadline=None)
@given(st.lists(_LISTS, min_size=1, max_size=8))
def test_list_normalisation_is_idempotent(values: list[str]) -> None:
    for fn in (nz.list_items, nz.grades, nz.guid_list, nz.user_ids):
        _idempotent(fn, values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["true", "TRUE", "False", "x", ""]), min_size=1, max_size=8))
def test_boolean_normalisation_is_idempotent(values: list[str]) -> None:
    _idempotent(nz.boolean, values)


def _fields(norm: nz.Norm) -> tuple[list[object], ...]:
    ambiguous = None if norm.ambiguous is None else norm.ambiguous.to_list()
    return norm.value.to_list(), norm.changed.to_list(), norm.invalid.to_list(), [ambiguous]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), _DATES, _DATETIMES), min_size=1, max_size=4),
       st.lists(st.integers(0, 5), max_size=30), st.booleans())  # fmt: skip
def test_values_worked_out_on_their_distinct_values_are_those_of_every_row(
    pool: list[str | None], picks: list[int], strict: bool
) -> None:
    """A column of few distinct values (an export's one timestamp, a role in another case) is normalised on those
    (`on_distinct`): the result is the row-by-row one, column-wide decisions (day or month first) and flags included."""
    dates = s(*(pool[i % len(pool)] for i in picks))
    roles = s(*(("Student", "TEACHER", "ext:Aide", "ext:", "x", None)[i % 6] for i in picks))
    normalisers: list[tuple[Callable[[pl.Series], nz.Norm], pl.Series]] = [
        (lambda v: nz._date(v, strict), dates),
        (lambda v: nz._datetime(v, strict), dates),
        *((lambda v, ext=ext: nz._enum(v, ("student", "teacher"), ext, strict), roles) for ext in (False, True)),
    ]
    for normalise, column in normalisers:
        assert _fields(nz.on_distinct(column, normalise)) == _fields(normalise(column))
