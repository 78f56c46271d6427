"""How list values compare in the content hash: as sets of items, in any order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.imports.diff import _as_set

items = st.text(st.characters(codec="utf-8", blacklist_characters=","), max_size=6)  # (no surrogates)
values = st.one_of(st.none(), st.lists(items, min_size=1, max_size=5).map(",".join))


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=40))
def test_a_list_value_becomes_its_items_in_sorted_order(column: list[str | None]) -> None:
    expected = [v if v is None or "," not in v else ",".join(sorted(v.split(","))) for v in column]
    assert _as_set(pl.Series(column, dtype=pl.String)).to_list() == expected


def test_the_lists_of_a_large_column_compare_equal_in_either_order() -> None:
    ids = pl.Series([f"{{LDAP:u{i}}},{{SIS:{i}}}" if i % 2 else f"{{SIS:{i}}},{{LDAP:u{i}}}" for i in range(100_000)])
    same = _as_set(ids)
    assert same.str.starts_with("{LDAP:").all()
    assert same[0] == "{LDAP:u0},{SIS:0}" and same[1] == "{LDAP:u1},{SIS:1}"
