"""Deterministic, vectorised pseudo-randomness for the district generator.

numpy is not available, and polars' own RNG is not guaranteed stable across versions, so every random
value is a hash of (seed, stream label, row index): lowbias32 is a bijection on 32-bit integers, which
also makes ids derived from distinct row indices distinct by construction.
"""

from __future__ import annotations

import zlib

import polars as pl

MASK32 = 0xFFFFFFFF
_TWO32 = float(1 << 32)
_HEX4 = pl.Series("hex4", [f"{i:04x}" for i in range(1 << 16)])


def mix32_int(x: int) -> int:
    """lowbias32 on a Python int (same function as `mix32`)."""
    x &= MASK32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK32
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x >> 16)


def mix32(x: pl.Series) -> pl.Series:
    """lowbias32 on a UInt64 series; masking before each multiply keeps products below 2**64."""
    x = x.cast(pl.UInt64) & MASK32
    x = x ^ (x // 65536)
    x = (x * 0x7FEB352D) & MASK32
    x = x ^ (x // 32768)
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x // 65536)


def stream_key(seed: int, label: str) -> int:
    """A 32-bit key for one named random stream (crc32, because Python's str hash is salted)."""
    return mix32_int(mix32_int(seed) ^ zlib.crc32(label.encode()))


def rand_u32(idx: pl.Series, key: int) -> pl.Series:
    """32-bit hash of each index; a bijection of idx for idx < 2**32."""
    return mix32(mix32(idx.cast(pl.UInt64) ^ key) ^ mix32_int(key ^ 0x9E3779B9))


def uniform(idx: pl.Series, key: int) -> pl.Series:
    """Floats in [0, 1)."""
    return rand_u32(idx, key).cast(pl.Float64) / _TWO32


def below(idx: pl.Series, key: int, n: int | pl.Series) -> pl.Series:
    """Integers in [0, n) (n may vary per row); the modulo bias is negligible for small n."""
    return (rand_u32(idx, key) % n).cast(pl.Int64)


def uuids(idx: pl.Series, key: int) -> pl.Series:
    """UUID-v4-shaped 36-char ids; unique for distinct idx because the first 32 bits are a bijection."""
    h = [rand_u32(idx, mix32_int(key + k)) for k in range(4)]
    hi = [w // 65536 for w in h]
    lo = [w & 0xFFFF for w in h]
    words = [hi[0], lo[0], hi[1], (lo[1] & 0x0FFF) | 0x4000, (hi[2] & 0x3FFF) | 0x8000, lo[2], hi[3], lo[3]]
    parts = pl.DataFrame({f"w{k}": _HEX4.gather(w) for k, w in enumerate(words)})
    dash = pl.lit("-")
    return parts.select(
        pl.concat_str(["w0", "w1", dash, "w2", dash, "w3", dash, "w4", dash, "w5", "w6", "w7"]).alias("id")
    )["id"]


def id_range(n: int, key: int, start: int = 0) -> pl.Series:
    """`n` ids for row indices start..start+n-1 of one entity stream."""
    return uuids(pl.int_range(start, start + n, eager=True), key)
