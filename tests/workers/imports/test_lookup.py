"""diff.lookup: the current keys' columns for each record, exact whether it joins hashes or the keys themselves."""

from __future__ import annotations

import polars as pl

from workers.imports.diff import _lookup_by_hash, lookup


def test_each_key_gets_its_row_in_order_and_null_when_unknown() -> None:
    keys = pl.DataFrame({"sourcedId": ["b", "x", "a", None]})
    table = pl.DataFrame({"sourcedId": ["a", "b", "c"], "row_hash": [1, 2, 3]})
    assert lookup(keys, table, "sourcedId")["row_hash"].to_list() == [2, None, 1, None]


def test_hashes_shared_by_two_keys_fall_back_to_the_keys() -> None:
    # A key twice in the table stands for two keys sharing a hash: the hashed join must give up, not guess.
    keys = pl.DataFrame({"sourcedId": ["a"]})
    table = pl.DataFrame({"sourcedId": ["a", "a"], "row_hash": [1, 2]})
    assert _lookup_by_hash(keys, table, "sourcedId") is None


def test_an_empty_table_gives_typed_nulls() -> None:
    keys = pl.DataFrame({"sourcedId": ["a", "b"]})
    table = pl.DataFrame(schema={"sourcedId": pl.String, "row_hash": pl.Int64})
    found = lookup(keys, table, "sourcedId")
    assert found.schema == pl.Schema({"row_hash": pl.Int64}) and found["row_hash"].null_count() == 2
