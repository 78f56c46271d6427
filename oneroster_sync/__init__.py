"""App assembly, configuration, embedded servers and the `oneroster-sync` command."""

import os

# polars allocates through jemalloc, which keeps the pages of freed memory for 10 s by default before returning them:
# an import's short-lived columns (a file's bytes while parsed, columns dropped after a step) then add up to its peak
# while both of its parts are read and planned at once. Returned after 200 ms instead, a day-2 import of a large
# district peaks at 890-930 MiB instead of 960-980 MiB, in the same time. jemalloc reads this once, when polars first
# allocates: every process of the service imports this package before polars (the benchmarks too, bench/__init__.py).
# An operator's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:200,muzzy_decay_ms:0")
