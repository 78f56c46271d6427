"""Benchmark (not collected by pytest): parse + validate a generated 1,000,000-row enrollments.csv.

Run: python -m tests.oneroster_csv.bench_enrollments [rows]
"""

from __future__ import annotations

import sys
import time

from oneroster_csv import DataType, FileMode, read_raw

HEADER = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate"


def generate(rows: int) -> bytes:
    lines = [HEADER]
    for i in range(rows):
        role = "teacher" if i % 20 == 0 else "student"
        primary = "true" if i % 20 == 0 else "false"
        lines.append(
            f"enrollment-{i:08d}-abcdef,,,class-{i % 40000:06d}-section-xyz,school-{i % 50:04d}-district,"
            f"user-{i % 300000:08d}-person,{role},{primary},2023-08-{1 + i % 28:02d},2024-06-{1 + i % 28:02d}"
        )
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    data = generate(rows)
    print(f"{rows} rows, {len(data) / 1e6:.0f} MB")
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        table = read_raw(data, DataType.ENROLLMENTS, version="1.1", mode=FileMode.BULK).validated()
        timings.append(time.perf_counter() - start)
        assert table.frame.height == rows and table.findings.is_empty()
    print("parse+validate seconds:", ", ".join(f"{t:.3f}" for t in timings), f"(best {min(timings):.3f})")


if __name__ == "__main__":
    main()
