"""The import benchmark's floor: the fastest plain load of a package into PostgreSQL.

For every data CSV of the package: an UNLOGGED table with one `text` column per header column, filled with
`COPY ... FROM STDIN (FORMAT csv, HEADER true)` -- the equivalent of psql `\\copy` into unlogged text tables,
all in one transaction. No parsing, validation or diffing, so no importer can beat it.

    python -m bench.floor DSN PACKAGE_DIR [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg


def data_files(package_dir: Path) -> list[Path]:
    """Every CSV of the package except the manifest, in a stable order."""
    return sorted(p for p in package_dir.glob("*.csv") if p.name != "manifest.csv")


def read_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def copy_floor(dsn: str, package_dir: Path) -> float:
    """Seconds to COPY all data files of `package_dir` into fresh unlogged text tables and commit.

    Table creation happens before the clock starts; the scratch schema is dropped afterwards.
    """
    schema = f"bench_floor_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    files = data_files(Path(package_dir))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"CREATE SCHEMA {quote_ident(schema)}")
        try:
            transaction = connection.transaction()
            await transaction.start()
            try:
                for path in files:
                    columns = ", ".join(f"{quote_ident(c)} text" for c in read_header(path))
                    await connection.execute(
                        f"CREATE UNLOGGED TABLE {quote_ident(schema)}.{quote_ident(path.stem)} ({columns})"
                    )
                started = time.perf_counter()
                for path in files:
                    await connection.copy_to_table(
                        path.stem, source=path, schema_name=schema, format="csv", header=True
                    )
            except BaseException:
                await transaction.rollback()
                raise
            await transaction.commit()
            return time.perf_counter() - started
        finally:
            await connection.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
    finally:
        await connection.close()


async def _run(dsn: str, package_dir: Path, runs: int) -> list[float]:
    return [await copy_floor(dsn, package_dir) for _ in range(runs)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description="COPY floor for a package")
    parser.add_argument("dsn")
    parser.add_argument("package_dir", type=Path)
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median")
    args = parser.parse_args(argv)
    timings = asyncio.run(_run(args.dsn, args.package_dir, args.runs))
    size = sum(p.stat().st_size for p in data_files(args.package_dir))
    print(" ".join(f"{t:.2f}" for t in timings) + " s")
    median = statistics.median(timings)
    print(f"floor {median:.2f} s (median of {len(timings)}) for {size / 1e6:.1f} MB -> {size / 1e6 / median:.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
