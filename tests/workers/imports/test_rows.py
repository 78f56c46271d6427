"""rows: the duplicate check that spares folding a file of distinct sourcedIds."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from workers.imports.rows import _all_distinct


@given(st.lists(st.text(alphabet="ab1-", max_size=3), max_size=40))
def test_all_distinct_says_whether_any_key_repeats(keys: list[str]) -> None:
    assert _all_distinct(pl.Series(keys, dtype=pl.String)) == (len(set(keys)) == len(keys))
