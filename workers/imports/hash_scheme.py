"""The hash scheme: a fingerprint of the hash functions behind the hashes a version stores (content, row, raw).

polars guarantees `hash_rows` only within one version. A worker whose hashes differ from those that computed the
stored ones would find every record's content hash changed and count it UPDATED: a wrong history, and a million
versions rewritten. So the database's first import records this fingerprint (migration 0007), and every import
compares its own with it before it reads anything, and fails with `import.hash_scheme_changed` on a mismatch.
"""

from __future__ import annotations

import hashlib
from functools import cache

import polars as pl

from db.imports import recorded_hash_scheme
from db.pool import Connection
from workers.imports.diff import HASH_SEED
from workers.imports.failures import HashSchemeChanged

SCHEME = "record_hashes"


@cache
def fingerprint() -> int:
    """The hashes of a fixed sample, as the engine computes them (rows of text, and of an integer beside text),
    digested into one signed 64-bit integer: equal as long as polars hashes alike."""
    sample = pl.DataFrame(
        {"text": ["", None, "a,b", "é ß 東", "x" * 40], "number": [0, -1, 2**62, None, 7]},
        schema={"text": pl.String, "number": pl.Int64},
    )
    hashes = [sample.hash_rows(seed=HASH_SEED), sample.select("text").hash_rows(seed=2**62 + 1)]
    digest = hashlib.blake2b(repr([h.to_list() for h in hashes]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def check_hash_scheme(conn: Connection) -> None:
    """Record the scheme if the database has none yet; fail if it has another."""
    stored, polars_version = await recorded_hash_scheme(conn, SCHEME, fingerprint(), pl.__version__)
    if stored != fingerprint():
        raise HashSchemeChanged(recorded=polars_version, running=pl.__version__)
