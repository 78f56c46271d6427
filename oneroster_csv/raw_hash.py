"""Raw hashes: a 64-bit hash of each CSV row's cells exactly as read, so a row read again can be known unchanged.

Seeded with everything else a row's validation depends on (the header, the mode, the settings, the rules' version):
two rows with equal hashes validate to the same values and findings, except for a date whose day and month order
its column decides (`normalize.read_by_column`). A validated row keeps its hash only where it was read exactly as
written (`plain_hashes`), has no finding but INFO ones and no such date (`validate`), which is what lets a caller that
stored it skip validating it again (counting its INFO findings by the keys stored with it, `validate.INFO_KEYS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import polars as pl

from .headers import HeaderMap
from .model import FileMode
from .normalize import repeated
from .reader import LINE, CsvTable, cell_name

RAW_HASH = "_raw_hash"
# Part of every raw hash: bump it with any change to what a row's cells normalise to or which findings they raise,
# so that rows read under older rules are validated again instead of being taken as unchanged.
RULES_VERSION = 1


def raw_hashes(table: CsvTable, header: HeaderMap, mode: FileMode, version: str, *, strict: bool,
               severities: Mapping[str, str] | None = None) -> pl.Series:  # fmt: skip
    """A 64-bit hash of each row's cells exactly as read, seeded with everything else its validation depends on (the
    header, the mode, the settings, the rules' version): two rows with equal hashes validate to the same values and
    findings, so a row whose hash is stored with its record needs no validating again."""
    context = (RULES_VERSION, header.spec.data_type.value, header.layout, table.header, mode.value, version, strict,
               sorted((severities or {}).items()))  # fmt: skip
    seed = int.from_bytes(hashlib.blake2b(repr(context).encode(), digest_size=8).digest(), "big") >> 1
    cells = table.cells.select(cell_name(i) for i in range(len(table.header)))
    hashes = cells.hash_rows(seed=seed).reinterpret(signed=True).alias(RAW_HASH)
    # A row with a structural problem (too wide, a line break in a value) has cells that do not show it: no hash.
    return _without(hashes, table.cells[LINE], table.problems["line"])


def plain_hashes(table: CsvTable, hashes: pl.Series, noted: pl.Series) -> pl.Series:
    """The raw hashes of the rows read exactly as written: none on the lines `noted` and no blank trimmed off a cell;
    null for the others, whose values or findings a later read must work out again."""
    if table.needs_trim:  # (whether a cell was trimmed is not known per row)
        return repeated(None, hashes.len(), pl.Int64()).alias(RAW_HASH)
    return _without(hashes, table.cells[LINE], noted)


def _without(hashes: pl.Series, lines: pl.Series, dropped: pl.Series) -> pl.Series:
    """`hashes` (of the rows on `lines`) with those of the `dropped` lines null."""
    if dropped.len() == 0:
        return hashes
    return pl.select(pl.when(lines.is_in(dropped.implode())).then(None).otherwise(hashes).alias(RAW_HASH)).to_series()
