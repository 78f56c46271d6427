"""apply.key_order: the versions' write order is exactly the byte order of their keys, whatever the keys look like."""

from __future__ import annotations

import uuid

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.imports.apply import key_order


def _byte_order(keys: list[str]) -> list[int]:
    return sorted(range(len(keys)), key=lambda i: keys[i].encode())


def _check(keys: list[str]) -> None:
    order = key_order(pl.Series("sourcedId", keys, dtype=pl.String)).to_list()
    assert [keys[i] for i in order] == [keys[i] for i in _byte_order(keys)]
    assert sorted(order) == list(range(len(keys)))


def test_uuids() -> None:
    _check([str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128)) for i in range(2000)])


def test_a_long_shared_prefix_and_numbers() -> None:
    _check([f"https://sis.example.org/enrollments/{i * 7919 % 5000:06d}" for i in range(5000)])


def test_prefixes_that_tie_too_often_use_the_plain_sort() -> None:
    _check([f"{'ab' if i % 2 else 'ac'}{'x' * 10}{i % 97}" for i in range(3000)])


def test_short_empty_and_non_ascii_keys() -> None:
    _check(["", "a", "ab", "a\u00e9", "\u00e9", "zz", "a b", "\U0001f600", "a"])
    _check([])
    _check(["only"])


@settings(max_examples=200)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\0"), max_size=12)))
def test_any_keys(keys: list[str]) -> None:
    _check(keys)
