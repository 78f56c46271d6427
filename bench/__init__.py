"""Benchmarks and the large-district generator; run as the service's processes run (its allocator setting)."""

import oneroster_sync  # noqa: F401  (sets the allocator's configuration before polars loads)
