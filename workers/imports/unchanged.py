"""Rows unchanged since their record's version, told by their raw hash: NO_CHANGE without validating or planning them.

A version keeps the raw hash of the row it was read from where that row was read exactly as written and its record had
no finding but INFO ones (migration 0005), and those as keys (migration 0010). A row of this sync with the same hash
validates to the same values and findings (`oneroster_csv.raw_hash`): its INFO findings count in the file's notes by the
keys kept (`RawFile.validated`). What else decides its outcome comes from other rows and files, and is checked here
against the post-sync state: its references resolve, its school is still its own and only school, the checks between
files pass, and no other row shares its sourcedId or takes part in a check across rows with it. Such a row is NO_CHANGE,
counts in its school, and nothing is written for it: most rows of a daily bulk file.

Only the last file (enrollments: referenced by no other file, so its outcomes change no other file's) in bulk mode
goes this way; checking the rows across the whole file needs the other rows validated first (`conflicts`), and any
doubt sends the whole file through validation as usual.

The same match tells, before any row is validated, which live entities no row of the file names at all (`absent`):
the file deletes them whatever its rows validate to, so the engine can close them while the rest is planned.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from oneroster_csv import INFO_KEYS, RAW_HASH, RawFile
from oneroster_csv.reader import LINE
from workers.imports.model import CURRENT_ROW, SCHOOLS, SOURCED_ID
from workers.imports.references import CLASS_SCHOOL, ENROLLMENT_PAIR, PRIMARY_TEACHER, repeated_values
from workers.imports.state import unnamed_live

_CLASS, _SCHOOL, _USER = "classSourcedId", "schoolSourcedId", "userSourcedId"
_COLUMNS = (SOURCED_ID, _CLASS, _SCHOOL, _USER, "role", "primary")
_SEED = 0x5C00
_FOLDED_COLUMNS = ("role", "primary")
_FOLDED = tuple(pl.col(name).str.to_lowercase() for name in _FOLDED_COLUMNS)


@dataclass(frozen=True)
class PostSync:
    """What the checks between files read of the other files' post-sync state."""

    classes: pl.DataFrame  # sourcedId, schoolSourcedId of every class after the sync
    users: pl.Series  # sourcedIds of the users after the sync
    own_schools: pl.Series  # orgs a record naming them counts in exactly: schools, each its own (SchoolMap)


@dataclass(frozen=True)
class Unchanged:
    """The rows of a file taken as unchanged: where they are (`mask` over the file's rows, `lines`), the current row
    each one matched, and how many count in each school (`_schools`, `_n`): what a sync needs of them."""

    mask: pl.Series
    lines: pl.Series
    current_rows: pl.Series
    schools: pl.DataFrame
    stored_ids: pl.Series  # a hash of the sourcedId of each current key (`key_hash`), by current row
    info: pl.Series  # the INFO findings of each row (INFO_KEYS), kept with the version it matched
    absent: pl.Series | None = None  # sourcedIds of the live entities on no row of the file (`_absent`)

    def taken(self) -> pl.DataFrame:
        """The rows' lines and INFO findings, which count in the file's notes (`RawFile.validated`)."""
        return pl.DataFrame({LINE: self.lines, INFO_KEYS: self.info})

    @property
    def count(self) -> int:
        return self.current_rows.len()


def candidates(raw: RawFile, current: pl.DataFrame, post: PostSync) -> Unchanged | None:
    """The rows whose own hash and the post-sync state make them NO_CHANGE, unless another row of the file says
    otherwise (`conflicts`); None when no row can be (no stored raw hash, a column missing)."""
    stored = current.select(  # (a null hash joins nothing)
        pl.col("raw_hash").alias(RAW_HASH), key_hash(pl.col(SOURCED_ID)).alias("_stored_id"), "info"
    ).with_row_index(CURRENT_ROW)
    if stored[RAW_HASH].null_count() == stored.height or not set(_COLUMNS[:-1]) <= raw.header.sources.keys():
        return None
    classes = post.classes
    if classes[SOURCED_ID].is_duplicated().any():  # (never: each post-sync class once)
        return None
    cells = raw.cells(_COLUMNS)
    # Joined by raw hash, which covers the sourcedId cell, then checked against the sourcedId, so only a row and its
    # own record's version can be taken for each other. Integers throughout: they join and compare faster than
    # text, and no column of a million strings is built.
    found = cells.select(RAW_HASH).join(stored, on=RAW_HASH, how="left", maintain_order="left")
    if found.height != cells.height:  # (two versions with one raw hash: never, short of a collision)
        return None
    own = cells.select((found["_stored_id"] == key_hash(pl.col(SOURCED_ID))).fill_null(False)).to_series()
    # The class is there, in the same school, which is its own school: the row's (class, school) pair is one of the
    # post-sync classes' in such a school. Compared as a hash of the pair: a lookup of a million class strings
    # among a few thousand takes four times as long.
    in_school = classes.filter(pl.col(_SCHOOL).is_in(post.own_schools.implode())).rename({SOURCED_ID: _CLASS})
    pairs = in_school.select(CLASS_SCHOOL).to_series()
    same = pl.lit(own) & pl.col(_USER).is_in(post.users.implode()) & CLASS_SCHOOL.is_in(pairs.implode())
    mask = cells.select(same.alias("_same")).to_series()
    if not mask.any():
        return None
    # (counted per school here, over the whole column: a list of one school for each of a million rows would only be
    # counted later, and the rows' schools filtered out first would be a million strings copied)
    schools = cells.select(_SCHOOL, mask).group_by(_SCHOOL).agg(pl.col("_same").sum().alias("_n"))
    counted = pl.col("_n").cast(pl.UInt32)
    schools = schools.filter(pl.col("_n") > 0).select(pl.concat_list(_SCHOOL).alias(SCHOOLS), counted)
    absent = _absent(raw, cells[SOURCED_ID].filter(~own), found[CURRENT_ROW].filter(own), current)
    return Unchanged(mask, cells[LINE].filter(mask), found[CURRENT_ROW].filter(mask), schools, stored["_stored_id"],
                     found["info"].filter(mask), absent)  # fmt: skip


def key_hash(sourced_ids: pl.Expr) -> pl.Expr:
    """A 64-bit hash of sourcedIds: rows and versions compared as integers (equal strings, equal hashes; a
    collision of unequal ones is caught where it would matter)."""
    return sourced_ids.hash(_SEED)


def _absent(raw: RawFile, others: pl.Series, named: pl.Series, current: pl.DataFrame) -> pl.Series | None:
    """The live current entities that no row of the file names: neither a row matched to its own version by raw
    hash (`named`: those versions' rows in `current`) nor any other row (`others`: their sourcedId cells). None
    when a row's sourcedId may not be its cell as read (a cell to trim, a row with a structural problem).

    A bulk file deletes exactly these, whatever its rows validate to (a rejected row still keeps its entity): the
    engine closes them while the rest of the file is planned, and checks them against the plan's deletions."""
    if raw.table.needs_trim or raw.table.problems.height:
        return None
    left = unnamed_live(current, named)
    return left.filter(~left.is_in(others.drop_nulls().implode()))


def conflicts(unchanged: Unchanged, raw: RawFile, others: pl.DataFrame) -> bool:
    """Whether any row taken as unchanged shares a check across rows with another row of the file: a sourcedId, an
    enrollment's class, user and role, a class's primary teacher. `others`: the rest of `raw` validated (the
    values a check compares; the rows taken as unchanged compare as read, which is how they validate but for the
    case of an enum: see below). Equal values hash equal, so where no hash repeats no value does; a repeated hash
    (nearly always a real repeat) counts as a conflict without a closer look."""
    rows = unchanged.current_rows
    # Each row taken as unchanged has its own record's version: a sourcedId repeats among them if a version does,
    # and another row has one of their sourcedIds if it names one of those versions (by hash: a collision only
    # sends the file through validation).
    if rows.n_unique() != rows.len():
        return True
    named = others.select(key_hash(pl.col(SOURCED_ID).drop_nulls())).to_series()
    if unchanged.stored_ids.gather(rows).is_in(named.implode()).any():
        return True
    cells, mask = raw.cells(_COLUMNS), unchanged.mask
    if "primary" not in cells.columns:
        cells = cells.with_columns(pl.lit(None, pl.String).alias("primary"))
    theirs = others.select(*_COLUMNS)
    if _rewritten(unchanged.info, _FOLDED_COLUMNS):
        # A row taken as unchanged was read leniently, its role or primary in another case: both sides compare
        # case-folded, as validation compares them normalised (folding more than that can only send the file through
        # validation). Else every such cell is as validation left it, and folding a million would cost 50 ms.
        cells, theirs = cells.with_columns(*_FOLDED), theirs.with_columns(*_FOLDED)
    for key, kept in ((ENROLLMENT_PAIR, pl.lit(True)), (pl.col(_CLASS).hash(4), PRIMARY_TEACHER)):
        # (hashed over every row, then filtered: the rows' strings are not copied)
        mine = cells.select(key.filter(kept.fill_null(False) & pl.lit(mask))).to_series()
        if _shared(mine, theirs.select(key.filter(kept.fill_null(False))).to_series()):
            return True
    return False


def _rewritten(info: pl.Series, columns: tuple[str, ...]) -> bool:
    """Whether validation rewrote a cell of `columns` on a row taken as unchanged: it notes every value it rewrites
    with an INFO finding on its column, which `info` (the rows' INFO_KEYS, `code:column` joined by "|") keeps."""
    keys = info.drop_nulls().unique().cast(pl.String)
    return bool(keys.str.contains(f":({'|'.join(columns)})(\\||$)").any())


def _shared(mine: pl.Series, theirs: pl.Series) -> bool:
    """Whether a value of `mine` occurs twice over both."""
    return bool(mine.is_in(repeated_values(pl.concat([mine, theirs])).implode()).any())
